package api

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/go-logr/logr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
)

// membersOf returns the memberships of in by name, as the index receives them.
func membersOf(in *input) map[string]*orgrbacv1alpha1.Membership {
	out := make(map[string]*orgrbacv1alpha1.Membership, len(in.Memberships))
	for i := range in.Memberships {
		out[in.Memberships[i].Name] = &in.Memberships[i]
	}
	return out
}

// buildEnv indexes in from scratch, as the index's first batch does.
func buildEnv(in *input) *envIndex {
	e := newEnvIndex("videos")
	st := buildStructure(in)
	e.update(st, st.published, membersOf(in))
	return e
}

func buildContent(in *input) *content { return &buildEnv(in).c }

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

func dump(c *content) contentView {
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
	m := member(name, pick("acme", "globex", "initech"), pick("u1", "u2", "u3"), rng.IntN(3),
		orgrbacv1alpha1.MembershipState(pick("", "Active", "Inactive", "Pending")), rng.IntN(3) > 0, roles, perms...)
	m.Spec.Email = pick("", "a@example.com")
	m.Status.Conditions[0].LastTransitionTime = metav1.NewTime(t0.Add(time.Duration(rng.IntN(3)) * time.Hour))
	if rng.IntN(10) == 0 {
		m.DeletionTimestamp = new(metav1.NewTime(t0))
	}
	return m
}

// distinct counts the distinct statuses the entries of c use.
func distinct(c *content) int {
	seen := map[string]bool{}
	for _, m := range c.members {
		seen[fmt.Sprintf("%q %q %q %v %q %v %q", m.role, m.roles, m.source, m.assignments, m.permissions, m.ready, m.reason)] = true
	}
	return len(seen)
}

func TestIncrementalUpdatesMatchAFullBuild(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	base := sampleInput()
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

		in := sampleInput()
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
	in := sampleInput()
	e := buildEnv(in)
	if e.update(nil, 0, membersOf(in)) {
		t.Error("re-applying the same memberships changed the content")
	}
	if e.update(buildStructure(sampleInput()), 0, nil) {
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
	if got := e.check("acme", "u_bob", []string{"videos:create"}); got.allowed || got.reason != ReasonPermissionNotGranted {
		t.Errorf("after the removal, bob's check answered %+v", got)
	}
	in.Roles[0].Spec.Permissions = []string{"videos:view", "videos:share"}
	if !e.update(buildStructure(in), 0, nil) {
		t.Error("a role's new permission did not change the content")
	}
	if got := e.c.envRoleBySlug["member"].permissions; !slices.Equal(got, []string{"videos:share", "videos:view"}) {
		t.Errorf("the member role's permissions are %v", got)
	}
}

func TestCheckAllocatesNothing(t *testing.T) {
	e := buildEnv(sampleInput())
	perms := []string{"videos:edit", "videos:view"}
	if n := testing.AllocsPerRun(100, func() {
		if d := e.check("org_acme", "u_alice", perms); !d.allowed {
			t.Fatal("denied")
		}
	}); n != 0 {
		t.Errorf("a check allocates %v times", n)
	}
}

func TestMemberDiffers(t *testing.T) {
	base := member("m", "acme", "u", 1, "", true, []string{"admin"}, "videos:view")
	for name, tc := range map[string]struct {
		change func(m *orgrbacv1alpha1.Membership) // applied to a copy of base
		want   bool                                // whether the index must hear of it
	}{
		"nothing":             {func(*orgrbacv1alpha1.Membership) {}, false},
		"resource version":    {func(m *orgrbacv1alpha1.Membership) { m.ResourceVersion = "2" }, false},
		"observed generation": {func(m *orgrbacv1alpha1.Membership) { m.Status.ObservedGeneration = 4 }, false},
		"desired roles":       {func(m *orgrbacv1alpha1.Membership) { m.Spec.Roles = []string{"editor"} }, false},
		"older condition": {func(m *orgrbacv1alpha1.Membership) {
			m.Status.Conditions = append(m.Status.Conditions, metav1.Condition{Type: "Other", LastTransitionTime: metav1.NewTime(t0)})
		}, false},
		"state":        {func(m *orgrbacv1alpha1.Membership) { m.Spec.State = orgrbacv1alpha1.MembershipInactive }, true},
		"email":        {func(m *orgrbacv1alpha1.Membership) { m.Spec.Email = "e@example.com" }, true},
		"organization": {func(m *orgrbacv1alpha1.Membership) { m.Spec.Organization = "globex" }, true},
		"permissions":  {func(m *orgrbacv1alpha1.Membership) { m.Status.Permissions = nil }, true},
		"roles":        {func(m *orgrbacv1alpha1.Membership) { m.Status.Roles = []string{"admin", "member"} }, true},
		"source":       {func(m *orgrbacv1alpha1.Membership) { m.Status.Source = orgrbacv1alpha1.SourceSSO }, true},
		"assignments":  {func(m *orgrbacv1alpha1.Membership) { m.Status.Assignments[0].Group = "g" }, true},
		"ready":        {func(m *orgrbacv1alpha1.Membership) { m.Status.Conditions[0].Status = metav1.ConditionFalse }, true},
		"reason":       {func(m *orgrbacv1alpha1.Membership) { m.Status.Conditions[0].Reason = "Other" }, true},
		"updated at": {func(m *orgrbacv1alpha1.Membership) {
			m.Status.Conditions[0].LastTransitionTime = metav1.NewTime(t0.Add(time.Hour))
		}, true},
		"deletion": {func(m *orgrbacv1alpha1.Membership) { m.DeletionTimestamp = new(metav1.NewTime(t0)) }, true},
		"creation": {func(m *orgrbacv1alpha1.Membership) { m.CreationTimestamp = metav1.NewTime(t0) }, true},
	} {
		t.Run(name, func(t *testing.T) {
			m := *base.DeepCopy()
			tc.change(&m)
			if got := memberDiffers(&base, &m); got != tc.want {
				t.Errorf("memberDiffers = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestStructureDiffers(t *testing.T) {
	in := sampleInput()
	env, role, org, orgRole := &in.Environments[0], &in.Roles[0], &in.Organizations[0], &in.OrganizationRoles[0]
	for name, tc := range map[string]struct {
		old, obj any // the update
		want     int // its kind
	}{
		"environment counts": {env, with(env, func(e *orgrbacv1alpha1.Environment) { e.Status.Memberships = 9 }), noChange},
		"environment revision": {env, with(env, func(e *orgrbacv1alpha1.Environment) { e.Status.Revision = 9 }),
			revisionChange},
		"environment spec": {env, with(env, func(e *orgrbacv1alpha1.Environment) { e.Spec.MultipleRoles = true }),
			structureChange},
		"role member count": {role, with(role, func(r *orgrbacv1alpha1.Role) { r.Status.MemberCount = 9 }), noChange},
		"role permissions": {role, with(role, func(r *orgrbacv1alpha1.Role) { r.Spec.Permissions = nil }),
			structureChange},
		"role deletion": {role, with(role, func(r *orgrbacv1alpha1.Role) { r.DeletionTimestamp = new(metav1.NewTime(t0)) }),
			structureChange},
		"organization member count": {org, with(org, func(o *orgrbacv1alpha1.Organization) { o.Status.MemberCount = 9 }),
			noChange},
		"organization condition": {org, with(org, func(o *orgrbacv1alpha1.Organization) {
			o.Status.Conditions = readyCond(true, "Ready", t0.Add(time.Hour))
		}), structureChange},
		"organization role spec": {orgRole, with(orgRole, func(r *orgrbacv1alpha1.OrganizationRole) {
			r.Spec.DisplayName = "Producer"
		}), structureChange},
		"organization role labels": {orgRole, with(orgRole, func(r *orgrbacv1alpha1.OrganizationRole) {
			r.Labels = map[string]string{"a": "b"}
		}), noChange},
	} {
		t.Run(name, func(t *testing.T) {
			if got := structureDiffers(tc.old, tc.obj); got != tc.want {
				t.Errorf("structureDiffers = %d, want %d", got, tc.want)
			}
		})
	}
}

// with returns a deep copy of o changed by f.
func with[T interface{ DeepCopy() T }](o T, f func(T)) T {
	c := o.DeepCopy()
	f(c)
	return c
}

func TestRequeueKeepsNewerChanges(t *testing.T) {
	clk := clocktesting.NewFakeClock(t0)
	x := newIndex(nil, clk, logr.Discard())
	older, newer := member("a", "acme", "u", 1, "", true, nil), member("a", "acme", "u", 1, "", false, nil)
	b := member("b", "acme", "v", 1, "", true, nil)
	failed := &pending{since: t0, structure: true, members: map[string]*orgrbacv1alpha1.Membership{"a": &older, "b": &b}}
	clk.Step(time.Second)
	x.memberChanged("videos", "a", &newer)
	x.requeue("videos", failed)
	p := x.dirty["videos"]
	if !p.structure || !p.since.Equal(t0) || p.members["a"] != &newer || p.members["b"] != &b {
		t.Errorf("requeued changes %+v: want the structure flag, the older time, a's newer state and b", p)
	}
}

func TestMemberOnlyBatchesNeedNoCache(t *testing.T) {
	// A batch of Membership changes is applied from the objects the events
	// carried: the cache (nil here) is only read when roles or organizations change.
	x := newIndex(nil, clocktesting.NewFakeClock(t0), logr.Discard())
	in := sampleInput()
	for i := range in.Memberships {
		x.memberChanged("videos", in.Memberships[i].Name, &in.Memberships[i])
	}
	if err := x.flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	// No Organization was seen: look the members up by organization name, with
	// the role definition the decision also requires.
	acme := &orgEntry{name: "acme", roleBySlug: map[string]*roleEntry{"admin": {slug: "admin", permissions: []string{"videos:delete"}}}}
	alice := func() decision {
		return decide(acme, x.get("videos").c.member(acme, "u_alice"), []string{"videos:delete"})
	}
	if d := alice(); !d.allowed {
		t.Errorf("alice was denied: %+v", d)
	}
	x.memberChanged("videos", "alice", nil)
	if err := x.flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if d := alice(); d.allowed || d.reason != ReasonMembershipNotReady {
		t.Errorf("after alice's Ready membership was deleted, her not-Ready duplicate answered %+v", d)
	}
	if n := x.count(); n != 1 {
		t.Errorf("count = %d, want 1", n)
	}
}

// The benchmarks run on the environment of `make bench-100k`: 100,000
// memberships, 1,000 organizations, 200 roles.

// BenchmarkIndexApplyStatusChange100k applies one Membership status change
// (a permission added or removed, and a new Ready transition time), as the
// index's writer does after an informer event.
func BenchmarkIndexApplyStatusChange100k(b *testing.B) {
	in := scaleInput(scale100k)
	x := newIndex(nil, clocktesting.NewFakeClock(t0), logr.Discard())
	x.envs["videos"] = buildEnv(in)
	before := &in.Memberships[500]
	after := before.DeepCopy()
	after.Status.Permissions = append(slices.Clone(after.Status.Permissions), "zz:extra")
	after.Status.Conditions[0].LastTransitionTime = metav1.NewTime(t0.Add(time.Hour))
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		old, m := before, after
		if i%2 == 1 {
			old, m = after, before
		}
		i++
		if !memberDiffers(old, m) {
			b.Fatal("no change")
		}
		x.memberChanged("videos", m.Name, m)
		if err := x.flush(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkIndexBuild100k builds the whole index of one environment, as the
// first batch after the caches synced does.
func BenchmarkIndexBuild100k(b *testing.B) {
	in := scaleInput(scale100k)
	b.ReportAllocs()
	for b.Loop() {
		_ = buildEnv(in)
	}
}

// BenchmarkIndexCheck100k answers one allowed check.
func BenchmarkIndexCheck100k(b *testing.B) {
	in := scaleInput(scale100k)
	e := buildEnv(in)
	m := in.Memberships[500]
	perms := []string{m.Status.Permissions[0]}
	b.ReportAllocs()
	for b.Loop() {
		if d := e.check(m.Spec.Organization, m.Spec.User, perms); !d.allowed {
			b.Fatal("denied")
		}
	}
}

// BenchmarkIndexMemory100k reports the heap the index of the 100k environment
// keeps, per membership. The cached objects it reads from exist before and
// after: the figure is what the index adds to the informer cache.
func BenchmarkIndexMemory100k(b *testing.B) {
	in := scaleInput(scale100k)
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
	in := scaleInput(scale100k)
	e := buildEnv(in)
	role := &in.Roles[1]
	perms := [2][]string{role.Spec.Permissions, append(slices.Clone(role.Spec.Permissions), "zz:extra")}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		role.Spec.Permissions = perms[i%2]
		if !e.update(buildStructure(in), 0, nil) {
			b.Fatal("no change")
		}
	}
}
