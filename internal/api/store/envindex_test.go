package store

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"runtime"
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/api/store/storetest"
)

// membersOf returns the memberships of in by name, as the index receives them.
func membersOf(in *storetest.Objects) map[string]*orgrbacv1alpha1.Membership {
	out := make(map[string]*orgrbacv1alpha1.Membership, len(in.Memberships))
	for i := range in.Memberships {
		out[in.Memberships[i].Name] = &in.Memberships[i]
	}
	return out
}

// buildEnv indexes in from scratch, as the index's first batch does.
func buildEnv(in *storetest.Objects) *EnvIndex {
	e := newEnvIndex("videos")
	st := buildStructure(&in.Objects)
	e.update(st, st.published, membersOf(in))
	return e
}

func buildContent(in *storetest.Objects) *Content { return &buildEnv(in).c }

// entryView is a memberEntry with its interned values resolved.
type entryView struct {
	Name, Organization, User, Email, State, Reason, Role, Source string
	Ready                                                        bool
	Roles, Permissions                                           []string
	Assignments                                                  []orgrbacv1alpha1.RoleAssignment
	Created, Updated                                             time.Time
}

// contentView is everything a content answers from, in comparable form.
type contentView struct {
	Revision  int64
	Structure *structure
	Members   map[string]entryView
	Sorted    []string
	Users     map[string]map[string]string // organization -> user -> membership
}

func nilIfEmpty[S ~[]E, E any](s S) S {
	if len(s) == 0 {
		return nil
	}
	return s
}

func dump(c *Content) contentView {
	v := contentView{Revision: c.revision, Structure: c.structure, Members: map[string]entryView{},
		Users: map[string]map[string]string{}}
	for name, m := range c.members {
		v.Members[name] = entryView{Name: m.name, Organization: m.organization, User: m.user, Email: m.email,
			State: string(m.state), Reason: m.reason, Role: m.role, Source: string(m.source), Ready: m.ready,
			Roles: nilIfEmpty(m.roles), Permissions: nilIfEmpty(m.permissions),
			Assignments: nilIfEmpty(m.assignments), Created: time.Unix(0, m.created).UTC(), Updated: time.Unix(0, m.updated).UTC()}
	}
	for _, m := range c.sorted {
		v.Sorted = append(v.Sorted, m.name)
	}
	for org, om := range c.byOrg {
		v.Users[org] = map[string]string{}
		for user, m := range om.users {
			v.Users[org][user] = m.name
		}
	}
	return v
}

// randomMember is a membership of one of a few organizations and users (so
// that duplicates occur), with random state, readiness, roles and creation.
func randomMember(rng *rand.Rand, name string) orgrbacv1alpha1.Membership {
	pick := func(s ...string) string { return s[rng.IntN(len(s))] }
	var roles, perms []string
	for _, r := range []string{"admin", "editor", "member", "org-producer"} {
		if rng.IntN(3) == 0 {
			roles = append(roles, r)
		}
	}
	for _, p := range []string{"videos:view", "videos:edit", "videos:delete", "videos:create"} {
		if rng.IntN(2) == 0 {
			perms = append(perms, p)
		}
	}
	m := storetest.Member(name, pick("acme", "globex", "initech"), pick("u1", "u2", "u3"), rng.IntN(3),
		orgrbacv1alpha1.MembershipState(pick("", "Active", "Inactive", "Pending")), rng.IntN(3) > 0, roles, perms...)
	m.Spec.Email = pick("", "a@example.com")
	m.Status.Conditions[0].LastTransitionTime = metav1.NewTime(storetest.T0.Add(time.Duration(rng.IntN(3)) * time.Hour))
	if rng.IntN(10) == 0 {
		m.DeletionTimestamp = new(metav1.NewTime(storetest.T0))
	}
	return m
}

// distinct counts the distinct statuses the entries of c use.
func distinct(c *Content) int {
	seen := map[string]bool{}
	for _, m := range c.members {
		seen[fmt.Sprintf("%q %q %q %v %q %v %q", m.role, m.roles, m.source, m.assignments, m.permissions, m.ready, m.reason)] = true
	}
	return len(seen)
}

func TestIncrementalUpdatesMatchAFullBuild(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	base := storetest.Sample()
	current := map[string]orgrbacv1alpha1.Membership{}
	for _, m := range base.Memberships {
		current[m.Name] = m
	}
	e := buildEnv(base)
	for step := range 400 {
		batch := map[string]*orgrbacv1alpha1.Membership{}
		for range 1 + rng.IntN(4) {
			name := fmt.Sprintf("m%d", rng.IntN(10))
			if rng.IntN(5) == 0 {
				delete(current, name)
				batch[name] = nil
				continue
			}
			m := randomMember(rng, name)
			current[name] = m
			batch[name] = &m
		}
		e.update(nil, 0, batch)

		in := storetest.Sample()
		in.Memberships = slices.Collect(maps.Values(current))
		if got, want := dump(&e.c), dump(buildContent(in)); !reflect.DeepEqual(got, want) {
			t.Fatalf("step %d: the incremental content differs from a full build\n got %+v\nwant %+v", step, got, want)
		}
		if n := distinct(&e.c); e.statuses.len() != n {
			t.Fatalf("step %d: the status table holds %d statuses, the entries use %d", step, e.statuses.len(), n)
		}
	}
	gone := map[string]*orgrbacv1alpha1.Membership{}
	for name := range e.c.members {
		gone[name] = nil
	}
	e.update(nil, 0, gone)
	if len(e.c.members) != 0 || len(e.c.sorted) != 0 || len(e.c.byOrg) != 0 || e.statuses.len() != 0 {
		t.Errorf("deleting every membership left %d members, %d sorted, %d organizations, %d statuses",
			len(e.c.members), len(e.c.sorted), len(e.c.byOrg), e.statuses.len())
	}
}

func TestUpdateReportsChanges(t *testing.T) {
	in := storetest.Sample()
	e := buildEnv(in)
	if e.update(nil, 0, membersOf(in)) {
		t.Error("re-applying the same memberships changed the content")
	}
	if e.update(buildStructure(&storetest.Sample().Objects), 0, nil) {
		t.Error("an equal structure changed the content")
	}
	if !e.update(nil, 3, nil) || e.c.revision != 3 {
		t.Errorf("a new published revision did not change the content (revision %d)", e.c.revision)
	}
	if e.update(nil, 2, nil) || e.c.revision != 3 {
		t.Errorf("an older published revision changed the content (revision %d)", e.c.revision)
	}
	bob := in.Memberships[1]
	bob.Status.Permissions = []string{"videos:view"}
	if !e.update(nil, 0, map[string]*orgrbacv1alpha1.Membership{"bob": &bob}) {
		t.Error("a permission removed from a status did not change the content")
	}
	if got := e.check("acme", "u_bob", []string{"videos:create"}); got.Allowed || got.Reason != ReasonPermissionNotGranted {
		t.Errorf("after the removal, bob's check answered %+v", got)
	}
	in.Roles[0].Spec.Permissions = []string{"videos:view", "videos:share"}
	if !e.update(buildStructure(&in.Objects), 0, nil) {
		t.Error("a role's new permission did not change the content")
	}
	if got := e.c.envRoleBySlug["member"].permissions; !slices.Equal(got, []string{"videos:share", "videos:view"}) {
		t.Errorf("the member role's permissions are %v", got)
	}
}

func TestCheckAllocatesNothing(t *testing.T) {
	e := buildEnv(storetest.Sample())
	perms := []string{"videos:edit", "videos:view"}
	if n := testing.AllocsPerRun(100, func() {
		if d := e.check("org_acme", "u_alice", perms); !d.Allowed {
			t.Fatal("denied")
		}
	}); n != 0 {
		t.Errorf("a check allocates %v times", n)
	}
}

// The benchmarks run on the environment of `make bench-100k`: 100,000
// memberships, 1,000 organizations, 200 roles.

// BenchmarkIndexBuild100k builds the whole index of one environment, as the
// first batch after the caches synced does.
func BenchmarkIndexBuild100k(b *testing.B) {
	in := storetest.ScaleObjects(storetest.Scale100k)
	b.ReportAllocs()
	for b.Loop() {
		_ = buildEnv(in)
	}
}

// BenchmarkIndexCheck100k answers one allowed check.
func BenchmarkIndexCheck100k(b *testing.B) {
	in := storetest.ScaleObjects(storetest.Scale100k)
	e := buildEnv(in)
	m := in.Memberships[500]
	perms := []string{m.Status.Permissions[0]}
	b.ReportAllocs()
	for b.Loop() {
		if d := e.check(m.Spec.Organization, m.Spec.User, perms); !d.Allowed {
			b.Fatal("denied")
		}
	}
}

// BenchmarkIndexMemory100k reports the heap the index of the 100k environment
// keeps, per membership. The cached objects it reads from exist before and
// after: the figure is what the index adds to the informer cache.
func BenchmarkIndexMemory100k(b *testing.B) {
	in := storetest.ScaleObjects(storetest.Scale100k)
	var before, after runtime.MemStats
	for b.Loop() {
		runtime.GC()
		runtime.ReadMemStats(&before)
		e := buildEnv(in)
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/float64(len(in.Memberships)), "B/membership")
		runtime.KeepAlive(e)
	}
	runtime.KeepAlive(in)
}

// BenchmarkIndexRoleChange100k applies a change of one Role's permissions: the
// roles and organizations (200 roles, 1,000 organizations, 2,500 organization
// roles) are rebuilt, no membership is touched.
func BenchmarkIndexRoleChange100k(b *testing.B) {
	in := storetest.ScaleObjects(storetest.Scale100k)
	e := buildEnv(in)
	role := &in.Roles[1]
	perms := [2][]string{role.Spec.Permissions, append(slices.Clone(role.Spec.Permissions), "zz:extra")}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		role.Spec.Permissions = perms[i%2]
		if !e.update(buildStructure(&in.Objects), 0, nil) {
			b.Fatal("no change")
		}
	}
}
