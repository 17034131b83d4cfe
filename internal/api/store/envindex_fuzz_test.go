package store

import (
	"cmp"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/api/store/storetest"
	"github.com/orgrbac/orgrbac/internal/model"
	"github.com/orgrbac/orgrbac/internal/resolve"
	"github.com/orgrbac/orgrbac/internal/testobj"
)

// The pools the fuzzer draws from: few enough that duplicates (one user twice in
// one organization), equal creation times, recreations under one name and
// organizations colliding by id all occur.
var (
	fuzzOrgs  = []string{"acme", "globex", "initech"}
	fuzzIDs   = []string{"", "org_1", "globex", "acme"} // an externalID may be another organization's name
	fuzzUsers = []string{"u0", "u1", "u2"}
	fuzzRoles = []string{"admin", "editor", "member", "org-producer", "gone"}
	fuzzPerms = []string{"videos:view", "videos:edit", "videos:delete", "videos:create"}
	fuzzState = []orgrbacv1alpha1.MembershipState{"", orgrbacv1alpha1.MembershipActive,
		orgrbacv1alpha1.MembershipInactive, orgrbacv1alpha1.MembershipPending}
)

// fuzzBytes reads a fuzz input; past its end every read is 0.
type fuzzBytes []byte

func (b *fuzzBytes) next() byte {
	if len(*b) == 0 {
		return 0
	}
	v := (*b)[0]
	*b = (*b)[1:]
	return v
}

func (b *fuzzBytes) pick(n int) int { return int(b.next()) % n }

// subset picks the elements of pool whose bit is set in the next byte.
func (b *fuzzBytes) subset(pool []string) []string {
	bits := b.next()
	var out []string
	for i, s := range pool {
		if bits&(1<<i) != 0 {
			out = append(out, s)
		}
	}
	return out
}

// fuzzWorld is the namespace the fuzzer edits: its structure objects and its
// memberships by name, as the cache would hold them.
type fuzzWorld struct {
	orgPresent  [3]bool
	orgID       [3]int // index in fuzzIDs
	orgAge      [3]int
	rolePerms   map[string][]string
	orgRole     bool // acme's OrganizationRole org-producer exists
	priority    []string
	revision    int64
	memberships map[string]*orgrbacv1alpha1.Membership
}

func newFuzzWorld() *fuzzWorld {
	return &fuzzWorld{orgPresent: [3]bool{true, true, false}, orgID: [3]int{1, 0, 0},
		rolePerms: map[string][]string{"admin": fuzzPerms[:3], "editor": fuzzPerms[:2], "member": fuzzPerms[:1]},
		orgRole:   true, priority: []string{"admin", "editor"},
		memberships: map[string]*orgrbacv1alpha1.Membership{}}
}

func (w *fuzzWorld) input() *storetest.Objects {
	in := &storetest.Objects{Objects: model.Objects{Environments: []orgrbacv1alpha1.Environment{
		*testobj.MakeEnvironment("env").Namespace("videos").Created(storetest.T0).Priority(w.priority...).Revision(w.revision).Obj()}}}
	for i, r := range []string{"admin", "editor", "member"} {
		in.Roles = append(in.Roles, *testobj.MakeRole(r).Namespace("videos").Created(storetest.T0.Add(time.Duration(i) * time.Minute)).
			Perms(w.rolePerms[r]...).Obj())
	}
	for i, name := range fuzzOrgs {
		if w.orgPresent[i] {
			in.Organizations = append(in.Organizations, *testobj.MakeOrganization(name).Namespace("videos").
				Created(storetest.T0.Add(time.Duration(w.orgAge[i]) * time.Minute)).ExternalID(fuzzIDs[w.orgID[i]]).Obj())
		}
	}
	if w.orgRole {
		in.OrganizationRoles = append(in.OrganizationRoles, *testobj.MakeOrganizationRole("acme-producer").
			Namespace("videos").Created(storetest.T0).Org("acme").Slug("org-producer").Perms("videos:create").Obj())
	}
	for _, name := range slices.Sorted(maps.Keys(w.memberships)) {
		in.Memberships = append(in.Memberships, *w.memberships[name])
	}
	return in
}

// member draws a Membership named name.
func (b *fuzzBytes) member(name string) *orgrbacv1alpha1.Membership {
	age := time.Duration(b.pick(4)) * time.Minute
	mb := testobj.MakeMembership(name).Namespace("videos").Created(storetest.T0.Add(age)).
		Org(fuzzOrgs[b.pick(len(fuzzOrgs))]).User(fuzzUsers[b.pick(len(fuzzUsers))]).
		State(fuzzState[b.pick(len(fuzzState))]).Resolved(b.subset(fuzzRoles)...).Permissions(b.subset(fuzzPerms)...)
	if b.pick(2) == 0 {
		mb.Email("a@example.com")
	}
	ready := b.pick(3) > 0
	reason := orgrbacv1alpha1.ReasonResolved
	if !ready {
		reason = orgrbacv1alpha1.ReasonDuplicate
	}
	mb.Ready(ready, reason, storetest.T0.Add(age+time.Duration(b.pick(3))*time.Hour))
	if b.pick(8) == 0 {
		mb.Deleting(storetest.T0)
	}
	return mb.Obj()
}

// step applies one change drawn from b to w and to e, the index under test.
func (w *fuzzWorld) step(b *fuzzBytes, e *EnvIndex) string {
	switch op := b.pick(5); op {
	case 0, 1: // a batch of membership changes and deletions
		batch := map[string]*orgrbacv1alpha1.Membership{}
		var names []string
		for range 1 + b.pick(3) {
			name := fmt.Sprintf("m%d", b.pick(6))
			if b.pick(4) == 0 {
				delete(w.memberships, name)
				batch[name] = nil
				names = append(names, "-"+name)
				continue
			}
			m := b.member(name)
			w.memberships[name], batch[name] = m, m
			names = append(names, name)
		}
		e.update(nil, 0, batch)
		return "members " + strings.Join(names, ",")
	case 2: // a status-only change: the same membership, readiness flipped
		name := fmt.Sprintf("m%d", b.pick(6))
		old := w.memberships[name]
		if old == nil {
			return "nothing"
		}
		m := old.DeepCopy()
		c := meta.FindStatusCondition(m.Status.Conditions, orgrbacv1alpha1.ConditionReady)
		if c.Status == "True" {
			c.Status = "False"
		} else {
			c.Status = "True"
		}
		w.memberships[name] = m
		e.update(nil, 0, map[string]*orgrbacv1alpha1.Membership{name: m})
		return "flip " + name
	default: // a structure change, sometimes with a new published revision
		switch b.pick(5) {
		case 0:
			i := b.pick(3)
			w.orgPresent[i] = !w.orgPresent[i]
		case 1:
			w.orgID[b.pick(3)] = b.pick(len(fuzzIDs))
		case 2:
			w.orgAge[b.pick(3)] = b.pick(3)
		case 3:
			r := []string{"admin", "editor", "member"}[b.pick(3)]
			w.rolePerms[r] = b.subset(fuzzPerms)
		case 4:
			w.orgRole = !w.orgRole
			w.priority = b.subset(fuzzRoles)
		}
		if b.pick(2) == 0 {
			w.revision += int64(b.pick(3))
		}
		in := w.input()
		st := buildStructure(&in.Objects)
		e.update(st, st.published, nil)
		return "structure"
	}
}

// modelResolved is a Membership as the decision reads it, straight from the object.
func modelResolved(m *orgrbacv1alpha1.Membership) resolve.Resolved {
	state := m.Spec.State
	if state == "" {
		state = orgrbacv1alpha1.MembershipActive
	}
	return resolve.Resolved{State: resolve.State(state),
		Ready: meta.IsStatusConditionTrue(m.Status.Conditions, orgrbacv1alpha1.ConditionReady),
		Role:  m.Status.Role, Roles: m.Status.Roles, Permissions: SortedSet(m.Status.Permissions)}
}

// modelElect is the brute-force election (rule R10): of the live Memberships of
// user in org, a Ready one before one that is not, then the oldest, then the
// first name.
func modelElect(ms map[string]*orgrbacv1alpha1.Membership, org, user string) *orgrbacv1alpha1.Membership {
	var best *orgrbacv1alpha1.Membership
	for _, m := range ms {
		if m.DeletionTimestamp != nil || m.Spec.Organization != org || m.Spec.User != user {
			continue
		}
		if best == nil {
			best = m
			continue
		}
		mr, br := modelResolved(m).Ready, modelResolved(best).Ready
		if c := cmp.Or(-cmp.Compare(b2i(mr), b2i(br)), m.CreationTimestamp.Compare(best.CreationTimestamp.Time),
			cmp.Compare(m.Name, best.Name)); c < 0 {
			best = m
		}
	}
	return best
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// compareToModel checks every answer of the index against the model recomputed
// from w: the content of a fresh index, the elections, decisions, holders,
// served memberships and list order.
func compareToModel(t *testing.T, w *fuzzWorld, e *EnvIndex, step int, what string) {
	t.Helper()
	in := w.input()
	fresh := newEnvIndex("videos")
	st := buildStructure(&in.Objects)
	fresh.update(st, st.published, membersOf(in))
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("step %d (%s): "+format, append([]any{step, what}, args...)...)
	}
	if got, want := dump(&e.c), dump(&fresh.c); !reflect.DeepEqual(got, want) {
		fail("the incremental content differs from a fresh build\n got %+v\nwant %+v", got, want)
	}
	if n := distinct(&e.c); e.statuses.len() != n {
		fail("the status table holds %d statuses, the entries use %d", e.statuses.len(), n)
	}
	c := &e.c

	// List order: every live membership, oldest first, then by name.
	var live []*orgrbacv1alpha1.Membership
	for _, m := range w.memberships {
		if m.DeletionTimestamp == nil {
			live = append(live, m)
		}
	}
	slices.SortFunc(live, func(a, b *orgrbacv1alpha1.Membership) int {
		return cmp.Or(a.CreationTimestamp.Compare(b.CreationTimestamp.Time), cmp.Compare(a.Name, b.Name))
	})
	var gotOrder, wantOrder []string
	for _, m := range c.sorted {
		gotOrder = append(gotOrder, m.name)
	}
	for _, m := range live {
		wantOrder = append(wantOrder, m.Name)
	}
	if !slices.Equal(gotOrder, wantOrder) {
		fail("list order %v, want %v", gotOrder, wantOrder)
	}

	// A membership is served by id when it is live and its organization is not
	// a duplicate.
	for i := range 6 {
		name := fmt.Sprintf("m%d", i)
		m := w.memberships[name]
		want := m != nil && m.DeletionTimestamp == nil && c.orgs[m.Spec.Organization] != nil
		if got := c.Membership(name) != nil; got != want {
			fail("membership(%s) served = %v, want %v", name, got, want)
		}
	}

	keys := append(slices.Clone(fuzzOrgs), "org_1", "nope")
	for _, key := range keys {
		o := c.Organization(key)
		for _, user := range fuzzUsers {
			var elected *orgrbacv1alpha1.Membership
			if o != nil {
				elected = modelElect(w.memberships, o.name, user)
				got := c.Member(o, user)
				if (got == nil) != (elected == nil) || (got != nil && got.name != elected.Name) {
					fail("storetest.Member(%s, %s) = %v, want %v", key, user, got, elected)
				}
			}
			for _, perms := range [][]string{{"videos:view"}, {"videos:create"}, {"videos:edit", "videos:delete"}} {
				want := Decision{Reason: ReasonOrganizationNotFound}
				switch {
				case o == nil:
				case elected == nil:
					want = Decision{Reason: ReasonMembershipNotFound}
				default:
					r := modelResolved(elected)
					d := resolve.Decide(o, &r, perms)
					want = Decision{Allowed: d.Allowed, Role: d.Role, Roles: d.Roles, Reason: d.Reason, Missing: d.Missing}
				}
				if got := e.check(key, user, perms); !reflect.DeepEqual(got, want) {
					fail("check(%s, %s, %v) = %+v, want %+v", key, user, perms, got, want)
				}
			}
		}
		if o == nil {
			continue
		}
		for _, p := range fuzzPerms {
			var want []string
			for _, user := range fuzzUsers {
				if m := modelElect(w.memberships, o.name, user); m != nil {
					if r := modelResolved(m); r.Grants() && r.Holds(o, p) {
						want = append(want, user)
					}
				}
			}
			var got []string
			for _, m := range c.Holders(o, p) {
				got = append(got, m.user)
			}
			if !slices.Equal(got, want) {
				fail("holders(%s, %s) = %v, want %v", key, p, got, want)
			}
		}
	}
}

// FuzzIndexUpdate applies random sequences of membership adds, changes,
// recreations and deletions, readiness flips and structure changes to an
// environment's index, one batch at a time (EnvIndex.update), and after each
// compares the index with a model recomputed from the objects: a fresh index
// built from them, and brute-force elections, decisions, holders, served
// memberships and list order.
func FuzzIndexUpdate(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0, 1, 0, 1, 1, 0, 0xff, 0x0f, 1, 1, 0, 0})
	f.Add([]byte("the same user twice in one organization, then a deletion"))
	f.Add([]byte{0, 2, 3, 0, 0, 1, 1, 3, 3, 2, 1, 0, 0, 3, 0, 0, 1, 1, 3, 3, 2, 1, 0, 2, 3})
	f.Add([]byte{4, 0, 2, 1, 4, 1, 0, 3, 1, 0, 4, 2, 0, 0, 3, 4, 4, 1, 0, 0xaa, 0})
	for seed := range 6 {
		b := make([]byte, 200)
		for i := range b {
			b[i] = byte((i*131 + seed*57 + i*i*seed) % 251)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 600 {
			data = data[:600]
		}
		b := fuzzBytes(data)
		w := newFuzzWorld()
		e := newEnvIndex("videos")
		st := buildStructure(&w.input().Objects)
		e.update(st, st.published, nil)
		compareToModel(t, w, e, 0, "start")
		for step := 1; len(b) > 0; step++ {
			what := w.step(&b, e)
			compareToModel(t, w, e, step, what)
		}
	})
}
