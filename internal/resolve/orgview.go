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
	"iter"
	"slices"
)

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
