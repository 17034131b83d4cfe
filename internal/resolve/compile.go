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
	"cmp"
	"iter"
	"maps"
	"slices"
	"strings"
)

// RoleType says whether a role belongs to the environment or to one
// organization. The values are WorkOS's role "type" field.
type RoleType string

const (
	// RoleTypeEnvironment is an environment Role, visible to every organization.
	RoleTypeEnvironment RoleType = "EnvironmentRole"
	// RoleTypeOrganization is an OrganizationRole, visible to its organization.
	RoleTypeOrganization RoleType = "OrganizationRole"
)

// RoleInfo describes one role visible to an organization or environment.
type RoleInfo struct {
	// Slug is the role's slug.
	Slug string
	// Name is the name of the Role or OrganizationRole object.
	Name string
	// Type says which kind of object defines the role.
	Type RoleType
	// Permissions is the role's sorted, unique permission set.
	Permissions []string
}

// roleData is a winning role, shared read-only by every view that sees it.
type roleData struct {
	meta  Meta
	org   string // "" for environment roles
	slug  string
	typ   RoleType
	perms []string // sorted, unique, non-empty
}

func (r *roleData) info() RoleInfo {
	return RoleInfo{Slug: r.slug, Name: r.meta.Name, Type: r.typ, Permissions: slices.Clone(r.perms)}
}

func compareRoleData(a, b *roleData) int {
	return cmp.Or(
		CompareMeta(a.meta, b.meta),
		strings.Compare(a.org, b.org),
		strings.Compare(a.slug, b.slug),
		slices.Compare(a.perms, b.perms),
	)
}

// visibleRole is a role as one organization sees it: the role and its index
// in the organization's order (0 is the highest priority).
type visibleRole struct {
	role *roleData
	prio int
}

// target is one role a mapped group grants: the visible role with its
// priority index in the organization's order, or a nil role when the slug
// names no visible role.
type target struct {
	slug string
	role *roleData
	prio int
}

// mapping sources, as indexes into OrgView.mappings.
const (
	mapDirectory = iota
	mapSSO
	mapSources
)

// Env is an environment compiled for resolution: every duplicate settled,
// every order, default and mapping lookup precomputed. It is immutable and safe
// for concurrent use; its methods return copies the caller may modify.
type Env struct {
	env          *Environment // winning Environment, nil when none
	envLosers    []string
	multiple     bool
	envRoles     map[string]visibleRole // environment roles with their env order index
	envOrder     []string
	envUnknown   []string
	envUnknownDf string
	orgs         map[string]*OrgView
	orgNames     []string
	orgIDs       *OrganizationIndex // the ids of the winning organizations
}

// OrgView is one organization as compiled in an Env: the roles it sees, their
// order, its default role and its group mappings. It is immutable and safe for
// concurrent use; its methods return copies the caller may modify.
//
// Its order is a head (O.rolePriority, then O's other OrganizationRoles)
// followed by the environment order without the head's slugs. Only the head is
// stored; the index of an environment Role in the tail is derived from its
// environment index, so an organization costs memory in proportion to its own
// settings, not to the number of environment Roles.
type OrgView struct {
	name           string
	env            *Env
	head           []string               // the head of the order
	own            map[string]visibleRole // the head's roles, with their index
	headEnv        []int                  // sorted environment indexes of the environment Roles in the head
	unknown        []string
	defaultRole    string
	unknownDefault string
	mappings       [mapSources]map[string][]target
}

// Compile settles duplicates and precomputes everything Resolve needs. It never
// modifies in and never keeps references to its slices.
func Compile(in Input) *Env {
	e := &Env{}
	e.compileEnvironment(in.Environments)
	e.compileRoles(in.Roles)

	orgs := winningOrganizations(in.Organizations)
	refs := make([]OrganizationRef, 0, len(orgs))
	for _, o := range orgs {
		refs = append(refs, OrganizationRef{Meta: o.Meta, ExternalID: o.ExternalID})
	}
	e.orgIDs = IndexOrganizations(refs)
	orgRoles := e.compileOrganizationRoles(in.OrganizationRoles, orgs)
	mappings := collectMappings(in.GroupMappings, orgs)

	e.orgs = make(map[string]*OrgView, len(orgs))
	for name, o := range orgs {
		e.orgs[name] = e.compileOrganization(o, orgRoles[name], mappings[name])
	}
	e.orgNames = slices.Sorted(maps.Keys(e.orgs))
	return e
}

func (e *Env) compileEnvironment(envs []Environment) {
	var win *Environment
	for i := range envs {
		if win == nil || compareEnvironment(&envs[i], win) < 0 {
			win = &envs[i]
		}
	}
	if win == nil {
		return
	}
	cp := *win
	cp.RolePriority = cloneOrNil(win.RolePriority)
	e.env = &cp
	e.multiple = cp.MultipleRoles
	var losers []string
	for i := range envs {
		if envs[i].Name != cp.Name {
			losers = append(losers, envs[i].Name)
		}
	}
	slices.Sort(losers)
	e.envLosers = slices.Compact(losers)
}

func (e *Env) compileRoles(roles []Role) {
	all := make([]*roleData, 0, len(roles))
	for i := range roles {
		r := &roles[i]
		if r.Slug == "" {
			continue
		}
		all = append(all, &roleData{meta: r.Meta, slug: r.Slug, typ: RoleTypeEnvironment, perms: normSet(r.Permissions)})
	}
	slices.SortFunc(all, compareRoleData)

	winners := make(map[string]*roleData, len(all))
	var byAge []*roleData // winners, oldest first
	for _, r := range all {
		if _, ok := winners[r.slug]; ok {
			continue // a younger duplicate (R8): invisible
		}
		winners[r.slug] = r
		byAge = append(byAge, r)
	}

	var priority []string
	if e.env != nil {
		priority = e.env.RolePriority
	}
	e.envOrder, e.envUnknown = buildOrder(priority, func(s string) bool { return winners[s] != nil }, byAge, nil)
	e.envRoles = make(map[string]visibleRole, len(e.envOrder))
	for i, s := range e.envOrder {
		e.envRoles[s] = visibleRole{role: winners[s], prio: i}
	}

	if e.env != nil && e.env.DefaultRole != "" {
		if _, ok := e.envRoles[e.env.DefaultRole]; !ok {
			e.envUnknownDf = e.env.DefaultRole
		}
	}
}

// buildOrder lists the known slugs of priority (first occurrence only), then
// the slugs of rest, then those of tail, each once. It also returns the sorted
// unique unknown slugs of priority.
func buildOrder(priority []string, known func(string) bool, rest []*roleData, tail []string) (order, unknown []string) {
	seen := make(map[string]struct{}, len(rest)+len(tail)+len(priority))
	order = make([]string, 0, len(rest)+len(tail))
	add := func(s string) {
		if _, dup := seen[s]; !dup {
			seen[s] = struct{}{}
			order = append(order, s)
		}
	}
	for _, s := range priority {
		switch {
		case s == "":
		case known(s):
			add(s)
		default:
			unknown = append(unknown, s)
		}
	}
	for _, r := range rest {
		add(r.slug)
	}
	for _, s := range tail {
		add(s)
	}
	slices.Sort(unknown)
	unknown = slices.Clip(slices.Compact(unknown))
	if len(order) == 0 {
		order = nil
	}
	return order, unknown
}

// winningOrganizations returns the organizations by name; when a name is listed
// twice, the oldest object wins.
func winningOrganizations(orgs []Organization) map[string]*Organization {
	out := make(map[string]*Organization, len(orgs))
	for i := range orgs {
		o := &orgs[i]
		if w, ok := out[o.Name]; !ok || compareOrganization(o, w) < 0 {
			out[o.Name] = o
		}
	}
	return out
}

// compileOrganizationRoles returns, per organization, its winning
// OrganizationRoles oldest first, without those an environment Role shadows.
func (e *Env) compileOrganizationRoles(roles []OrganizationRole, orgs map[string]*Organization) map[string][]*roleData {
	all := make([]*roleData, 0, len(roles))
	for i := range roles {
		r := &roles[i]
		if r.Slug == "" || orgs[r.Organization] == nil {
			continue
		}
		all = append(all, &roleData{meta: r.Meta, org: r.Organization, slug: r.Slug, typ: RoleTypeOrganization, perms: normSet(r.Permissions)})
	}
	slices.SortFunc(all, compareRoleData)

	type key struct{ org, slug string }
	winners := make(map[key]*roleData, len(all))
	out := map[string][]*roleData{}
	for _, r := range all {
		k := key{r.org, r.slug}
		if _, ok := winners[k]; ok {
			continue // a younger duplicate (R8): invisible
		}
		winners[k] = r
		if _, env := e.envRoles[r.slug]; env {
			continue // shadowed by the environment Role: invisible
		}
		out[r.org] = append(out[r.org], r)
	}
	return out
}

// collectMappings returns, per organization and source, group -> role slugs.
func collectMappings(gms []GroupMapping, orgs map[string]*Organization) map[string]*[mapSources]map[string][]string {
	out := map[string]*[mapSources]map[string][]string{}
	for i := range gms {
		gm := &gms[i]
		var src int
		switch gm.Source {
		case SourceDirectory:
			src = mapDirectory
		case SourceSSO:
			src = mapSSO
		default:
			continue
		}
		if gm.Group == "" || gm.Role == "" || orgs[gm.Organization] == nil {
			continue
		}
		m := out[gm.Organization]
		if m == nil {
			m = &[mapSources]map[string][]string{}
			out[gm.Organization] = m
		}
		if m[src] == nil {
			m[src] = map[string][]string{}
		}
		m[src][gm.Group] = append(m[src][gm.Group], gm.Role)
	}
	return out
}

func (e *Env) compileOrganization(o *Organization, ownRoles []*roleData, mappings *[mapSources]map[string][]string) *OrgView {
	v := &OrgView{name: o.Name, env: e}
	ownBySlug := make(map[string]*roleData, len(ownRoles))
	for _, r := range ownRoles {
		ownBySlug[r.slug] = r
	}
	known := func(s string) bool {
		_, env := e.envRoles[s]
		return env || ownBySlug[s] != nil
	}
	v.head, v.unknown = buildOrder(o.RolePriority, known, ownRoles, nil)
	if len(v.head) > 0 {
		v.own = make(map[string]visibleRole, len(v.head))
		for i, s := range v.head {
			r := ownBySlug[s]
			if r == nil {
				er := e.envRoles[s]
				r = er.role
				v.headEnv = append(v.headEnv, er.prio)
			}
			v.own[s] = visibleRole{role: r, prio: i}
		}
		slices.Sort(v.headEnv)
	}

	// Rule 2: O.defaultRole, else E.defaultRole, else the Role "member".
	if o.DefaultRole != "" {
		if _, ok := v.lookup(o.DefaultRole); ok {
			v.defaultRole = o.DefaultRole
		} else {
			v.unknownDefault = o.DefaultRole
		}
	}
	if v.defaultRole == "" && e.env != nil && e.env.DefaultRole != "" {
		if _, ok := v.lookup(e.env.DefaultRole); ok {
			v.defaultRole = e.env.DefaultRole
		}
	}
	if v.defaultRole == "" {
		if _, ok := e.envRoles["member"]; ok {
			v.defaultRole = "member"
		}
	}

	if mappings != nil {
		for src, groups := range mappings {
			if groups == nil {
				continue
			}
			v.mappings[src] = make(map[string][]target, len(groups))
			for g, slugs := range groups {
				slugs = normSet(slugs)
				ts := make([]target, len(slugs))
				for i, s := range slugs {
					ts[i] = target{slug: s, prio: -1}
					if r, ok := v.lookup(s); ok {
						ts[i].role, ts[i].prio = r.role, r.prio
					}
				}
				v.mappings[src][g] = ts
			}
		}
	}
	return v
}

// lookup returns a role visible to the organization with its index in the
// organization's order.
func (o *OrgView) lookup(slug string) (visibleRole, bool) {
	if r, ok := o.own[slug]; ok {
		return r, true
	}
	r, ok := o.env.envRoles[slug]
	if !ok {
		return visibleRole{}, false
	}
	// In the tail: after the head, minus the head's environment Roles that
	// come earlier in the environment order.
	before, _ := slices.BinarySearch(o.headEnv, r.prio)
	return visibleRole{role: r.role, prio: len(o.head) + r.prio - before}, true
}

// cloneOrNil copies s; an empty s gives nil.
func cloneOrNil(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return slices.Clone(s)
}

// Environment returns the winning (oldest) Environment, nil when there is none,
// and the sorted names of the losing duplicates.
func (e *Env) Environment() (winner *Environment, duplicates []string) {
	if e.env == nil {
		return nil, nil
	}
	cp := *e.env
	cp.RolePriority = cloneOrNil(e.env.RolePriority)
	return &cp, slices.Clone(e.envLosers)
}

// MultipleRoles reports the winning Environment's multipleRoles (false when
// there is no Environment).
func (e *Env) MultipleRoles() bool { return e.multiple }

// UnknownEnvironmentPriority returns the sorted, unique slugs of
// E.rolePriority that name no Role.
func (e *Env) UnknownEnvironmentPriority() []string { return slices.Clone(e.envUnknown) }

// UnknownDefault returns E.defaultRole when it is set but names no Role, else "".
func (e *Env) UnknownDefault() string { return e.envUnknownDf }

// Roles returns the winning environment Roles in environment order.
func (e *Env) Roles() []RoleInfo {
	if len(e.envOrder) == 0 {
		return nil
	}
	out := make([]RoleInfo, len(e.envOrder))
	for i, s := range e.envOrder {
		out[i] = e.envRoles[s].role.info()
	}
	return out
}

// Organization returns the compiled organization, nil when it was not in the
// Input.
func (e *Env) Organization(name string) *OrgView { return e.orgs[name] }

// OrganizationNames returns the sorted names of the compiled organizations.
func (e *Env) OrganizationNames() []string { return slices.Clone(e.orgNames) }

// OrganizationIDs is IndexOrganizations of the compiled organizations: which
// organization each id names, and which organizations are duplicates. Resolve
// gives the members of a duplicate no roles (ReasonOrganizationDuplicate).
func (e *Env) OrganizationIDs() *OrganizationIndex { return e.orgIDs }

// Name returns the organization's name.
func (o *OrgView) Name() string { return o.name }

// UnknownPriority returns the sorted, unique slugs of O.rolePriority that name
// no role visible to the organization.
func (o *OrgView) UnknownPriority() []string { return slices.Clone(o.unknown) }

// UnknownDefault returns O.defaultRole when it is set but names no role visible
// to the organization, else "".
func (o *OrgView) UnknownDefault() string { return o.unknownDefault }

// Role returns the sorted permission set of a role visible to the
// organization; ok is false when the slug names no visible role.
func (o *OrgView) Role(slug string) (permissions []string, ok bool) {
	r, ok := o.lookup(slug)
	if !ok {
		return nil, false
	}
	return slices.Clone(r.role.perms), true
}

// Defines reports whether the slug names a role visible to the organization.
func (o *OrgView) Defines(slug string) bool {
	_, ok := o.lookup(slug)
	return ok
}

// RoleInfo describes a visible role; ok is false when the slug names none.
func (o *OrgView) RoleInfo(slug string) (info RoleInfo, ok bool) {
	r, ok := o.lookup(slug)
	if !ok {
		return RoleInfo{}, false
	}
	return r.role.info(), true
}

// RoleRef names a role visible to an organization, without its permissions.
type RoleRef struct {
	// Slug is the role's slug.
	Slug string
	// Name is the name of the Role or OrganizationRole object.
	Name string
	// Type says which kind of object defines the role.
	Type RoleType
}

// RoleRefs yields every role visible to the organization, in its order, as
// Roles does but without copying permission sets: a caller that builds one
// entry per role object for many organizations asks RoleInfo only for the
// roles it has not seen.
func (o *OrgView) RoleRefs() iter.Seq[RoleRef] {
	return func(yield func(RoleRef) bool) {
		for r := range o.ordered() {
			if !yield(RoleRef{Slug: r.slug, Name: r.meta.Name, Type: r.typ}) {
				return
			}
		}
	}
}

// Roles returns every role visible to the organization, in its order.
func (o *OrgView) Roles() []RoleInfo {
	n := len(o.head) + len(o.env.envOrder) - len(o.headEnv)
	if n == 0 {
		return nil
	}
	out := make([]RoleInfo, 0, n)
	for r := range o.ordered() {
		out = append(out, r.info())
	}
	return out
}

// ordered yields every role visible to the organization in its order (R1),
// highest priority first: the head (the known slugs of O.rolePriority, then O's
// other OrganizationRoles oldest first), then the environment order without the
// head's slugs.
func (o *OrgView) ordered() iter.Seq[*roleData] {
	return func(yield func(*roleData) bool) {
		for _, s := range o.head {
			if !yield(o.own[s].role) {
				return
			}
		}
		for _, s := range o.env.envOrder {
			if _, inHead := o.own[s]; !inHead && !yield(o.env.envRoles[s].role) {
				return
			}
		}
	}
}
