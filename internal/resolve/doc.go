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

// Package resolve computes a Membership's effective roles and permissions from the
// objects of one environment (one namespace). It is pure: no I/O, no clock, no
// shared state, only plain Go values in and out.
//
// Use it in two steps. [Compile] turns the environment's objects into an
// immutable [Env] (safe for concurrent use); [Env.Resolve] then resolves one
// Membership against it cheaply, so one Env serves any number of memberships.
//
// The rule (docs: api.md "Resolution"), for a Membership M of organization O:
//
//  1. Order: O.rolePriority (slugs visible to O), then O's other
//     OrganizationRoles oldest first (name breaks ties), then the environment
//     order: E.rolePriority, then the other Roles oldest first. Unknown slugs
//     in a priority list are ignored and reported.
//  2. Default role: O.defaultRole, else E.defaultRole, else the Role with slug
//     "member"; a default naming no role visible to O is skipped (and reported).
//  3. Candidates: Directory = roles of O's Directory GroupMappings whose group is
//     in M.directoryGroups; SSO likewise with M.ssoGroups; Manual = M.roles.
//     Slugs naming no role visible to O are dropped (RoleNotFound).
//  4. Chosen source: Directory if it has a role, else SSO, else Manual, else
//     Default. Only the chosen source's roles count. When the Default source is
//     chosen and no default resolves, M is not Ready (DefaultRoleMissing) and
//     gets nothing (fail closed).
//  5. Single-role environments keep the highest-priority chosen role; extra
//     valid slugs in M.roles are reported (TooManyRoles). Multiple-roles
//     environments keep every chosen role.
//  6. Permissions: sorted, de-duplicated union of the effective roles'
//     permissions, matched literally ("*" is not a wildcard).
//  7. Inactive and Pending memberships keep their roles but get no permissions.
//  8. Duplicates (Environments, Roles with one slug, OrganizationRoles with one
//     slug in one organization, Memberships for one organization and user):
//     the oldest wins (Created ascending, then Name); the losers are invisible
//     and grant nothing.
//
// Decisions where the contract is silent:
//
//   - Empty strings (a "" slug, group, permission or mapping field) name
//     nothing and are ignored everywhere.
//   - A role is visible to O when it is an environment Role or one of O's own
//     OrganizationRoles. If an OrganizationRole has the slug of an environment
//     Role (invalid by contract: organization role slugs start with "org-" or
//     "org_"), the environment Role wins and the OrganizationRole is reported as
//     shadowed ([OrgView.Shadowed]).
//   - E.defaultRole counts for O when it names a role visible to O.
//   - Only State "" and "Active" are active; any other value gets no
//     permissions (fail closed).
//   - [Result.Extra] (TooManyRoles) lists the valid slugs of M.roles after the
//     highest-priority one, in a single-role environment, whatever source is
//     chosen: a single-role environment allows one hand-assigned role.
//   - When two objects tie on creation time and name (impossible in a real
//     cluster), the remaining fields break the tie, so results never depend on
//     input order.
package resolve
