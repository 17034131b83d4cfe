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

import "slices"

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

// visibleRole is a role as one organization sees it: the role and its index
// in the organization's order (0 is the highest priority).
type visibleRole struct {
	role *roleData
	prio int
}
