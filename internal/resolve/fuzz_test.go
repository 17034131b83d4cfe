/*
Copyright 2026 The orgrbac Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package resolve

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"
)

// Small alphabets, so that slugs, names, groups and times collide often.
var (
	fuzzEnvSlugs = []string{"member", "admin", "editor", "viewer", "a", "org-x", ""}
	fuzzOrgSlugs = []string{"org-a", "org-b", "org-c", "org-x", "admin", ""}
	fuzzAnySlugs = []string{"member", "admin", "editor", "viewer", "org-a", "org-b", "org-x", "ghost", ""}
	fuzzPerms    = []string{"p1", "p2", "p3", "videos:*", "*", ""}
	fuzzNames    = []string{"n0", "n1", "n2", "n3", "n4"}
	fuzzOrgs     = []string{"acme", "acme", "globex", ""}
	fuzzMemOrgs  = []string{"acme", "acme", "acme", "globex", "", "missing"}
	fuzzGroups   = []string{"g1", "g2", "g3", ""}
	fuzzSources  = []Source{SourceDirectory, SourceSSO, SourceDirectory, SourceSSO, SourceManual, ""}
	fuzzStates   = []State{"", StateActive, StateInactive, StatePending, "junk"}
)

// fuzzBytes reads the fuzz input; past its end it reads zeros.
type fuzzBytes struct {
	data []byte
}

func (b *fuzzBytes) next() byte {
	if len(b.data) == 0 {
		return 0
	}
	c := b.data[0]
	b.data = b.data[1:]
	return c
}

// n returns a number in [0, max).
func (b *fuzzBytes) n(max int) int { return int(b.next()) % max }

func pick[T any](b *fuzzBytes, from []T) T { return from[b.n(len(from))] }

// list returns up to max items of from; nil for an empty list now and then.
func (b *fuzzBytes) list(from []string, max int) []string {
	n := b.n(max + 2)
	if n > max {
		return nil
	}
	out := make([]string, n)
	for i := range out {
		out[i] = pick(b, from)
	}
	return out
}

func (b *fuzzBytes) meta(names []string) Meta {
	return Meta{Name: pick(b, names), Created: t0.Add(time.Duration(b.n(4)) * time.Minute)}
}

// fuzzInput builds an Input and a Membership from the fuzz bytes.
func fuzzInput(b *fuzzBytes) (Input, Membership, []Membership) {
	var in Input
	for range b.n(3) {
		in.Environments = append(in.Environments, Environment{
			Meta:          b.meta(fuzzNames),
			DefaultRole:   pick(b, fuzzAnySlugs),
			RolePriority:  b.list(fuzzAnySlugs, 5),
			MultipleRoles: b.n(2) == 1,
		})
	}
	for range b.n(9) {
		in.Roles = append(in.Roles, Role{Meta: b.meta(fuzzNames), Slug: pick(b, fuzzEnvSlugs), Permissions: b.list(fuzzPerms, 4)})
	}
	for i := range 1 + b.n(3) {
		in.Organizations = append(in.Organizations, Organization{
			Meta:         b.meta(fuzzOrgs),
			DefaultRole:  pick(b, fuzzAnySlugs),
			RolePriority: b.list(fuzzAnySlugs, 5),
		})
		if i == 0 {
			in.Organizations[0].Name = "acme" // most memberships find their organization
		}
	}
	for range b.n(7) {
		in.OrganizationRoles = append(in.OrganizationRoles, OrganizationRole{
			Meta: b.meta(fuzzNames), Organization: pick(b, fuzzOrgs), Slug: pick(b, fuzzOrgSlugs), Permissions: b.list(fuzzPerms, 4),
		})
	}
	for range b.n(12) {
		in.GroupMappings = append(in.GroupMappings, GroupMapping{
			Meta: b.meta(fuzzNames), Organization: pick(b, fuzzOrgs), Source: pick(b, fuzzSources),
			Group: pick(b, fuzzGroups), Role: pick(b, fuzzAnySlugs),
		})
	}
	m := fuzzMembership(b)
	var others []Membership
	for range b.n(4) {
		others = append(others, fuzzMembership(b))
	}
	return in, m, others
}

func fuzzMembership(b *fuzzBytes) Membership {
	return Membership{
		Meta:            b.meta(fuzzNames),
		Organization:    pick(b, fuzzMemOrgs),
		User:            pick(b, []string{"alice", "bob"}),
		Roles:           b.list(fuzzAnySlugs, 4),
		DirectoryGroups: b.list(fuzzGroups, 3),
		SSOGroups:       b.list(fuzzGroups, 3),
		State:           pick(b, fuzzStates),
	}
}

// shuffled returns a deep copy of in and m with every order-insensitive list
// shuffled by rng. Priority lists keep their order: it is meaningful.
func shuffled(rng *rand.Rand, in Input, m Membership) (Input, Membership) {
	mix := func(s []string) []string {
		s = slices.Clone(s)
		rng.Shuffle(len(s), func(i, j int) { s[i], s[j] = s[j], s[i] })
		return s
	}
	out := Input{
		Environments:      slices.Clone(in.Environments),
		Roles:             slices.Clone(in.Roles),
		Organizations:     slices.Clone(in.Organizations),
		OrganizationRoles: slices.Clone(in.OrganizationRoles),
		GroupMappings:     slices.Clone(in.GroupMappings),
	}
	rng.Shuffle(len(out.Environments), func(i, j int) { out.Environments[i], out.Environments[j] = out.Environments[j], out.Environments[i] })
	rng.Shuffle(len(out.Roles), func(i, j int) { out.Roles[i], out.Roles[j] = out.Roles[j], out.Roles[i] })
	rng.Shuffle(len(out.Organizations), func(i, j int) {
		out.Organizations[i], out.Organizations[j] = out.Organizations[j], out.Organizations[i]
	})
	rng.Shuffle(len(out.OrganizationRoles), func(i, j int) {
		out.OrganizationRoles[i], out.OrganizationRoles[j] = out.OrganizationRoles[j], out.OrganizationRoles[i]
	})
	rng.Shuffle(len(out.GroupMappings), func(i, j int) {
		out.GroupMappings[i], out.GroupMappings[j] = out.GroupMappings[j], out.GroupMappings[i]
	})
	for i := range out.Environments {
		out.Environments[i].RolePriority = slices.Clone(out.Environments[i].RolePriority)
	}
	for i := range out.Organizations {
		out.Organizations[i].RolePriority = slices.Clone(out.Organizations[i].RolePriority)
	}
	for i := range out.Roles {
		out.Roles[i].Permissions = mix(out.Roles[i].Permissions)
	}
	for i := range out.OrganizationRoles {
		out.OrganizationRoles[i].Permissions = mix(out.OrganizationRoles[i].Permissions)
	}
	m.Roles, m.DirectoryGroups, m.SSOGroups = mix(m.Roles), mix(m.DirectoryGroups), mix(m.SSOGroups)
	return out, m
}

func FuzzResolve(f *testing.F) {
	f.Add([]byte{}, uint64(0))
	f.Add([]byte("\x01\x00\x00\x01\x04\x05\x03\x01\x02\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a"), uint64(1))
	f.Add([]byte("resolve every membership of the environment, deterministically"), uint64(7))
	f.Add([]byte{2, 1, 1, 3, 2, 1, 0, 1, 8, 1, 2, 3, 1, 2, 1, 1, 0, 2, 3, 1, 3, 2, 1, 1, 0, 3, 9, 0, 1, 1, 2, 0, 1, 3, 1, 0, 2}, uint64(42))
	f.Fuzz(func(t *testing.T, data []byte, seed uint64) {
		in, m, others := fuzzInput(&fuzzBytes{data: data})
		pristine := copyInput(in)

		env := Compile(in)
		got := env.Resolve(m)
		if !reflect.DeepEqual(in, pristine) {
			t.Fatalf("Compile or Resolve modified the input")
		}
		checkInvariants(t, env, in, m, got)

		// Deterministic: a shuffled copy of the input gives the same answers.
		rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
		sin, sm := shuffled(rng, in, m)
		senv := Compile(sin)
		if again := senv.Resolve(sm); !reflect.DeepEqual(again, got) {
			t.Fatalf("shuffled input changed the result\nfirst:    %+v\nshuffled: %+v", got, again)
		}
		compareEnvs(t, env, senv)

		ms := append([]Membership{m}, others...)
		sms := slices.Clone(ms)
		rng.Shuffle(len(sms), func(i, j int) { sms[i], sms[j] = sms[j], sms[i] })
		if a, b := DuplicateMemberships(ms), DuplicateMemberships(sms); !reflect.DeepEqual(a, b) {
			t.Fatalf("DuplicateMemberships depends on order: %v vs %v", a, b)
		}
	})
}

func copyInput(in Input) Input {
	out := Input{
		Environments:      slices.Clone(in.Environments),
		Roles:             slices.Clone(in.Roles),
		Organizations:     slices.Clone(in.Organizations),
		OrganizationRoles: slices.Clone(in.OrganizationRoles),
		GroupMappings:     slices.Clone(in.GroupMappings),
	}
	for i := range out.Environments {
		out.Environments[i].RolePriority = slices.Clone(out.Environments[i].RolePriority)
	}
	for i := range out.Organizations {
		out.Organizations[i].RolePriority = slices.Clone(out.Organizations[i].RolePriority)
	}
	for i := range out.Roles {
		out.Roles[i].Permissions = slices.Clone(out.Roles[i].Permissions)
	}
	for i := range out.OrganizationRoles {
		out.OrganizationRoles[i].Permissions = slices.Clone(out.OrganizationRoles[i].Permissions)
	}
	return out
}

func isSortedUnique(s []string) bool {
	for i := 1; i < len(s); i++ {
		if s[i-1] >= s[i] {
			return false
		}
	}
	return true
}

// checkInvariants checks what must hold for every Result, and compares the
// chosen roles with a naive reading of the rule over the raw input.
func checkInvariants(t *testing.T, env *Env, in Input, m Membership, r Result) {
	t.Helper()
	if r.Message == "" {
		t.Errorf("empty Message")
	}
	if r.Active != m.State.IsActive() {
		t.Errorf("Active = %v for state %q", r.Active, m.State)
	}
	if !isSortedUnique(r.Permissions) {
		t.Errorf("Permissions not sorted and unique: %q", r.Permissions)
	}
	if len(r.Roles) > 0 && r.Role != r.Roles[0] || len(r.Roles) == 0 && r.Role != "" {
		t.Errorf("Role %q does not match Roles %q", r.Role, r.Roles)
	}
	if !env.MultipleRoles() && len(r.Roles) > 1 {
		t.Errorf("single-role environment with roles %q", r.Roles)
	}
	if !r.Active && r.Permissions != nil {
		t.Errorf("not active but permissions %q", r.Permissions)
	}
	if !r.Ready && (r.Roles != nil || r.Permissions != nil || r.Assignments != nil || r.Source != "" || r.Role != "") {
		t.Errorf("not Ready but roles or permissions: %+v", r)
	}
	if r.Ready != (r.Reason == ReasonResolved) || r.Ready && len(r.Roles) == 0 {
		t.Errorf("Ready %v with reason %q and roles %q", r.Ready, r.Reason, r.Roles)
	}
	if !slices.IsSortedFunc(r.Dropped, compareDropped) || len(slices.CompactFunc(slices.Clone(r.Dropped), func(a, b Dropped) bool { return a == b })) != len(r.Dropped) {
		t.Errorf("Dropped not sorted and unique: %+v", r.Dropped)
	}
	if len(r.Extra) > 0 && env.MultipleRoles() {
		t.Errorf("Extra %q in a multiple-roles environment", r.Extra)
	}

	o := env.Organization(m.Organization)
	if o == nil {
		if r.Reason != ReasonOrganizationNotFound {
			t.Errorf("organization %q not compiled but reason %q", m.Organization, r.Reason)
		}
		return
	}
	order := slugsOf(o.Roles())
	index := map[string]int{}
	for i, s := range order {
		if _, dup := index[s]; dup {
			t.Errorf("the order repeats %q: %q", s, order)
		}
		index[s] = i
		if r, ok := o.lookup(s); !ok || r.prio != i || r.role.slug != s {
			t.Errorf("lookup(%q) = %+v, %v; want index %d in %q", s, r, ok, i, order)
		}
	}
	for _, s := range fuzzAnySlugs {
		if _, ok := o.lookup(s); ok != (index[s] != 0 || len(order) > 0 && order[0] == s) {
			t.Errorf("lookup(%q) = %v, but the order is %q", s, ok, order)
		}
	}
	if n := len(slices.Collect(o.RoleRefs())); n != len(order) {
		t.Errorf("%d RoleRefs but the order is %q", n, order)
	}
	var refs []RoleInfo
	for ref := range o.RoleRefs() {
		info, _ := o.RoleInfo(ref.Slug)
		refs = append(refs, RoleInfo{Slug: ref.Slug, Name: ref.Name, Type: ref.Type, Permissions: info.Permissions})
	}
	if roles := o.Roles(); !reflect.DeepEqual(refs, roles) && len(roles) > 0 {
		t.Errorf("RoleRefs %+v and Roles %+v disagree", refs, roles)
	}
	if !isSortedUnique(o.UnknownPriority()) {
		t.Errorf("UnknownPriority not sorted and unique: %q", o.UnknownPriority())
	}
	for _, s := range o.UnknownPriority() {
		if _, ok := index[s]; ok {
			t.Errorf("UnknownPriority lists visible role %q", s)
		}
	}
	if d := o.defaultRole; d != "" {
		if _, vis := index[d]; !vis {
			t.Errorf("default %q is not visible", d)
		}
	}
	for _, d := range r.Dropped {
		if _, vis := index[d.Role]; vis {
			t.Errorf("dropped %q is visible", d.Role)
		}
	}

	granted := map[string]bool{}
	for i, role := range r.Roles {
		if r.Assignments[i].Role != role || r.Assignments[i].Source != r.Source {
			t.Errorf("Assignments %+v do not match Roles %q", r.Assignments, r.Roles)
		}
		if i > 0 && index[r.Roles[i-1]] >= index[role] {
			t.Errorf("Roles %q not in priority order %q", r.Roles, order)
		}
		perms, ok := o.Role(role)
		if !ok {
			t.Errorf("effective role %q is not visible", role)
		}
		for _, p := range perms {
			granted[p] = true
		}
	}
	for _, p := range r.Permissions {
		if !granted[p] {
			t.Errorf("permission %q granted by none of %q", p, r.Roles)
		}
	}
	if r.Ready && r.Active && len(granted) != len(r.Permissions) {
		t.Errorf("permissions %q miss some of %v", r.Permissions, granted)
	}

	// A naive reading of rules 3-5 over the raw input.
	memberOf := func(groups []string, g string) bool { return g != "" && slices.Contains(groups, g) }
	var dir, sso, man []string
	for _, gm := range in.GroupMappings {
		if _, vis := index[gm.Role]; !vis || gm.Organization != m.Organization {
			continue
		}
		if gm.Source == SourceDirectory && memberOf(m.DirectoryGroups, gm.Group) {
			dir = append(dir, gm.Role)
		}
		if gm.Source == SourceSSO && memberOf(m.SSOGroups, gm.Group) {
			sso = append(sso, gm.Role)
		}
	}
	for _, s := range m.Roles {
		if _, vis := index[s]; vis {
			man = append(man, s)
		}
	}
	var want []string
	var src Source
	switch {
	case len(dir) > 0:
		want, src = dir, SourceDirectory
	case len(sso) > 0:
		want, src = sso, SourceSSO
	case len(man) > 0:
		want, src = man, SourceManual
	default:
		if d := o.defaultRole; d != "" {
			want, src = []string{d}, SourceDefault
		}
	}
	slices.SortFunc(want, func(a, b string) int { return index[a] - index[b] })
	want = slices.Compact(want)
	if !env.MultipleRoles() && len(want) > 1 {
		want = want[:1]
	}
	if !slices.Equal(r.Roles, want) || r.Source != src {
		t.Errorf("roles %q from %q; the rule read naively gives %q from %q", r.Roles, r.Source, want, src)
	}
}

// compareEnvs checks that two compilations of the same objects agree.
func compareEnvs(t *testing.T, a, b *Env) {
	t.Helper()
	wa, da := a.Environment()
	wb, db := b.Environment()
	equal(t, "Environment()", []any{wa, da}, []any{wb, db})
	equal(t, "UnknownEnvironmentPriority", a.UnknownEnvironmentPriority(), b.UnknownEnvironmentPriority())
	// Roles, here and per organization, lists the winning objects in order: equal
	// Roles mean the same environment order, the same duplicates lost and the
	// same OrganizationRoles were shadowed.
	equal(t, "Roles", a.Roles(), b.Roles())
	equal(t, "OrganizationNames", a.OrganizationNames(), b.OrganizationNames())
	for _, name := range a.OrganizationNames() {
		oa, ob := a.Organization(name), b.Organization(name)
		equal(t, "Org Roles", oa.Roles(), ob.Roles())
		equal(t, "Org UnknownPriority", oa.UnknownPriority(), ob.UnknownPriority())
		equal(t, "Org UnknownDefault", oa.UnknownDefault(), ob.UnknownDefault())
		equal(t, "Org default role", oa.defaultRole, ob.defaultRole)
	}
}
