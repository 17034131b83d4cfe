package controller

import (
	"cmp"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/model"
	"github.com/orgrbac/orgrbac/internal/publish"
	"github.com/orgrbac/orgrbac/internal/resolve"
	"github.com/orgrbac/orgrbac/internal/testobj"
)

// snapBytes reads a fuzz input; past its end every read is 0.
type snapBytes []byte

func (b *snapBytes) pick(n int) int {
	if len(*b) == 0 {
		return 0
	}
	v := (*b)[0]
	*b = (*b)[1:]
	return int(v) % n
}

func (b *snapBytes) subset(pool ...string) []string {
	bits := b.pick(256)
	var out []string
	for i, s := range pool {
		if bits&(1<<i) != 0 {
			out = append(out, s)
		}
	}
	return out
}

// snapWorld is one namespace as the publisher gathers it: the objects the
// environment compiles from, the live Organizations and every Membership.
type snapWorld struct {
	objs    model.Objects
	members []orgrbacv1alpha1.Membership
}

var snapT0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func at(minutes int) time.Time { return snapT0.Add(time.Duration(minutes) * time.Minute) }

// drawWorld draws a namespace from b: up to four organizations whose
// externalIDs may collide with each other or with another's name (duplicates),
// environment Roles, organization roles, and up to twelve Memberships of few
// users (duplicates, equal ages, deleted ones, unknown organizations and roles).
func drawWorld(b *snapBytes) snapWorld {
	var w snapWorld
	w.objs.Environments = []orgrbacv1alpha1.Environment{*testobj.MakeEnvironment("env").Created(at(0)).
		Priority(b.subset("admin", "editor", "org-x")...).MultipleRoles(b.pick(2) == 0).Obj()}
	w.objs.Roles = []orgrbacv1alpha1.Role{
		*testobj.MakeRole("admin").Created(at(b.pick(3))).Perms("videos:delete", "videos:edit", "videos:view").Obj(),
		*testobj.MakeRole("editor").Created(at(b.pick(3))).Perms(b.subset("videos:edit", "videos:view")...).Obj(),
	}
	ids := []string{"", "", "org_1", "acme", "globex"}
	for _, name := range []string{"acme", "globex", "initech", "umbrella"} {
		if b.pick(4) == 0 {
			continue
		}
		w.objs.Organizations = append(w.objs.Organizations, *testobj.MakeOrganization(name).Created(at(b.pick(3))).
			ExternalID(ids[b.pick(len(ids))]).Obj())
		if b.pick(2) == 0 {
			w.objs.OrganizationRoles = append(w.objs.OrganizationRoles, *testobj.MakeOrganizationRole(name + "-x").
				Created(at(b.pick(3))).Org(name).Slug("org-x").Perms("videos:create").Obj())
		}
	}
	orgs := []string{"acme", "globex", "initech", "umbrella", "nowhere"}
	states := []orgrbacv1alpha1.MembershipState{"", orgrbacv1alpha1.MembershipActive,
		orgrbacv1alpha1.MembershipInactive, orgrbacv1alpha1.MembershipPending}
	for i := range b.pick(13) {
		mb := testobj.MakeMembership(fmt.Sprintf("m%02d", i)).Created(at(b.pick(4))).
			Org(orgs[b.pick(len(orgs))]).User(fmt.Sprintf("u%d", b.pick(3))).State(states[b.pick(len(states))]).
			Resolved(b.subset("org-x", "admin", "editor", "gone")...)
		switch b.pick(4) {
		case 0:
			mb.Ready(false, orgrbacv1alpha1.ReasonDuplicate, at(5))
		case 1: // no condition yet
		default:
			mb.Ready(true, orgrbacv1alpha1.ReasonResolved, at(5))
		}
		if b.pick(8) == 0 {
			mb.Deleting(at(9))
		}
		w.members = append(w.members, *mb.Obj())
	}
	return w
}

// permuted returns w with every list in another order, drawn from b.
func (w snapWorld) permuted(b *snapBytes) snapWorld {
	shuffle := func(n int, swap func(i, j int)) {
		for i := n - 1; i > 0; i-- {
			swap(i, b.pick(i+1))
		}
	}
	p := snapWorld{objs: model.Objects{Environments: w.objs.Environments,
		Roles:             slices.Clone(w.objs.Roles),
		Organizations:     slices.Clone(w.objs.Organizations),
		OrganizationRoles: slices.Clone(w.objs.OrganizationRoles)},
		members: slices.Clone(w.members)}
	shuffle(len(p.objs.Roles), func(i, j int) { p.objs.Roles[i], p.objs.Roles[j] = p.objs.Roles[j], p.objs.Roles[i] })
	shuffle(len(p.objs.Organizations), func(i, j int) {
		p.objs.Organizations[i], p.objs.Organizations[j] = p.objs.Organizations[j], p.objs.Organizations[i]
	})
	shuffle(len(p.objs.OrganizationRoles), func(i, j int) {
		p.objs.OrganizationRoles[i], p.objs.OrganizationRoles[j] = p.objs.OrganizationRoles[j], p.objs.OrganizationRoles[i]
	})
	shuffle(len(p.members), func(i, j int) { p.members[i], p.members[j] = p.members[j], p.members[i] })
	return p
}

func (w snapWorld) snapshot() (*resolve.Env, *publish.Snapshot) {
	env := model.Compile(w.objs)
	return env, buildSnapshot(env, w.objs.Organizations, w.members)
}

// expectedMembers is the brute-force model of an organization's members: per
// user, the Membership that a Ready one before one that is not, then the
// oldest, then the first name, elects; listed when it is active and Ready and
// holds a role its organization defines, oldest Membership first.
func expectedMembers(env *resolve.Env, org string, members []orgrbacv1alpha1.Membership) []publish.Member {
	elected := map[string]*orgrbacv1alpha1.Membership{}
	ready := func(m *orgrbacv1alpha1.Membership) bool {
		return meta.IsStatusConditionTrue(m.Status.Conditions, orgrbacv1alpha1.ConditionReady)
	}
	for i := range members {
		m := &members[i]
		if m.DeletionTimestamp != nil || m.Spec.Organization != org {
			continue
		}
		w := elected[m.Spec.User]
		if w == nil || cmp.Or(-cmp.Compare(boolInt(ready(m)), boolInt(ready(w))),
			m.CreationTimestamp.Compare(w.CreationTimestamp.Time), cmp.Compare(m.Name, w.Name)) < 0 {
			elected[m.Spec.User] = m
		}
	}
	var winners []*orgrbacv1alpha1.Membership
	for _, m := range elected {
		active := m.Spec.State == "" || m.Spec.State == orgrbacv1alpha1.MembershipActive
		if active && ready(m) {
			winners = append(winners, m)
		}
	}
	slices.SortFunc(winners, func(a, b *orgrbacv1alpha1.Membership) int {
		return cmp.Or(a.CreationTimestamp.Compare(b.CreationTimestamp.Time), cmp.Compare(a.Name, b.Name))
	})
	view := env.Organization(org)
	var out []publish.Member
	for _, m := range winners {
		var roles []string
		for _, r := range m.Status.Roles {
			if _, ok := view.Role(r); ok {
				roles = append(roles, r)
			}
		}
		if len(roles) > 0 {
			out = append(out, publish.Member{User: m.Spec.User, Membership: m.Name, Roles: roles})
		}
	}
	return out
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// FuzzBuildSnapshot checks the publisher's snapshot (buildSnapshot) of random
// namespaces: the same for the objects in any order; every organization but the
// duplicates, with its roles, and no role or member of a duplicate; in each,
// exactly the members the brute-force model elects (active and Ready, with the
// roles still defined), each once; and a round trip through publish.Encode
// (whole or in shards) and publish.Decode gives it back.
func FuzzBuildSnapshot(f *testing.F) {
	f.Add([]byte{}, []byte{})
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20}, []byte{3, 1, 2})
	f.Add([]byte("two users twice in acme, one of them not Ready, and a deleted third"), []byte("shuffle"))
	f.Add([]byte{3, 0, 0, 3, 3, 1, 3, 3, 1, 3, 2, 1, 3, 4, 1, 12, 0, 0, 0, 1, 0xff, 2, 0, 1, 0, 0, 0, 0xff, 2}, []byte{9, 9, 9})
	// acme with two members: u0 Ready and active but holding only a role that is
	// gone (left out), u1 an admin.
	f.Add([]byte{0, 0, 0, 0, 3, 1, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 8, 2, 1, 1, 0, 1, 1, 2, 2, 1}, []byte{1})
	for seed := range 6 {
		b := make([]byte, 160)
		for i := range b {
			b[i] = byte((i*97 + seed*61 + i*i*(seed+1)) % 253)
		}
		f.Add(b, b[seed*7:seed*7+20])
	}
	f.Fuzz(func(t *testing.T, data, order []byte) {
		b := snapBytes(data)
		w := drawWorld(&b)
		env, s := w.snapshot()

		// The same objects in another order give the same snapshot.
		ob := snapBytes(order)
		if _, again := w.permuted(&ob).snapshot(); !reflect.DeepEqual(s, again) {
			t.Fatalf("the snapshot depends on the order of the objects:\n%+v\n%+v", s, again)
		}

		// Organizations: every live one but the duplicates, in the compiled order.
		refs := make([]resolve.OrganizationRef, len(w.objs.Organizations))
		for i, o := range w.objs.Organizations {
			refs[i] = resolve.OrganizationRef{Meta: metaOf(&o), ExternalID: o.Spec.ExternalID}
		}
		ids := resolve.IndexOrganizations(refs)
		var wantOrgs []string
		for _, name := range env.OrganizationNames() {
			if _, dup := ids.Duplicate(name); !dup {
				wantOrgs = append(wantOrgs, name)
			}
		}
		var gotOrgs []string
		for _, o := range s.Organizations {
			gotOrgs = append(gotOrgs, o.Name)
		}
		if !slices.Equal(gotOrgs, wantOrgs) {
			t.Fatalf("organizations %v, want %v (the live ones but the duplicates)", gotOrgs, wantOrgs)
		}
		for _, r := range s.Roles {
			if r.Type == publish.RoleTypeOrganization && !slices.Contains(wantOrgs, r.Organization) {
				t.Fatalf("role %s of %s, which is not published", r.Slug, r.Organization)
			}
		}

		// Members: the model's, each user once.
		for _, o := range s.Organizations {
			want := expectedMembers(env, o.Name, w.members)
			if !reflect.DeepEqual(o.Members, want) {
				t.Fatalf("members of %s:\n got %+v\nwant %+v", o.Name, o.Members, want)
			}
			seen := map[string]bool{}
			for _, m := range o.Members {
				if seen[m.User] {
					t.Fatalf("user %s twice in %s", m.User, o.Name)
				}
				seen[m.User] = true
			}
		}

		// Round trip: whole (the default limit) and in shards (a small one).
		n := publish.Normalize(s)
		if err := publish.Validate(n); err != nil {
			t.Fatalf("the snapshot is invalid: %v\n%+v", err, s)
		}
		for _, limit := range []int{0, 300 + 50*b.pick(20)} {
			cms, err := publish.Encode(s, limit)
			if errors.Is(err, publish.ErrTooLarge) && limit != 0 {
				continue
			}
			if err != nil {
				t.Fatalf("encoding with limit %d: %v", limit, err)
			}
			files := map[string][]byte{}
			for _, cm := range cms {
				for k, v := range cm.Data {
					files[k] = []byte(v)
				}
			}
			back, err := publish.Decode(files)
			if err != nil {
				t.Fatalf("decoding %d ConfigMaps (limit %d): %v", len(cms), limit, err)
			}
			if !reflect.DeepEqual(back, n) {
				t.Fatalf("round trip (limit %d, %d ConfigMaps):\n got %+v\nwant %+v", limit, len(cms), back, n)
			}
		}
	})
}
