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
	"maps"
	"slices"
	"strings"
)

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

// compareRoleData orders roles oldest first (R8); the other fields break ties,
// so that the winners never depend on the order of the input.
func compareRoleData(a, b *roleData) int {
	return cmp.Or(
		CompareMeta(a.meta, b.meta),
		strings.Compare(a.org, b.org),
		strings.Compare(a.slug, b.slug),
		slices.Compare(a.perms, b.perms),
	)
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

// cloneOrNil copies s; an empty s gives nil.
func cloneOrNil(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return slices.Clone(s)
}
