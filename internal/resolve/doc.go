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
// The package owns every rule below; no other package codes one of them. R1-R8
// are the resolution rule (docs: api.md "Resolution", steps 1-8), for a
// Membership M of organization O ([Compile], [Env.Resolve]):
//
//   - R1 Order: O.rolePriority (slugs visible to O), then O's other
//     OrganizationRoles oldest first (name breaks ties), then the environment
//     order: E.rolePriority, then the other Roles oldest first. Unknown slugs
//     in a priority list are ignored and reported (the order: [OrgView.Roles];
//     the unknown slugs: [OrgView.UnknownPriority]).
//   - R2 Default role: O.defaultRole, else E.defaultRole, else the Role with
//     slug "member"; a default naming no role visible to O is skipped (and
//     reported) ([Compile], [OrgView.UnknownDefault]).
//   - R3 Candidates: Directory = roles of O's Directory GroupMappings whose
//     group is in M.directoryGroups; SSO likewise with M.ssoGroups; Manual =
//     M.roles. Slugs naming no role visible to O are dropped
//     ([ReasonRoleNotFound], [Result.Dropped]).
//   - R4 Chosen source: Directory if it has a role, else SSO, else Manual,
//     else Default. Only the chosen source's roles count. When the Default
//     source is chosen and no default resolves, M is not Ready
//     ([ReasonDefaultRoleMissing]) and gets nothing (fail closed).
//   - R5 Single-role environments keep the highest-priority chosen role;
//     extra valid slugs in M.roles are reported ([ReasonTooManyRoles],
//     [Result.Extra]). Multiple-roles environments keep every chosen role.
//   - R6 Permissions: sorted, de-duplicated union of the effective roles'
//     permissions, matched literally ("*" is not a wildcard).
//   - R7 Inactive and Pending memberships keep their roles but get no
//     permissions ([State.IsActive]).
//   - R8 Duplicates: of several Environments, Roles with one slug,
//     OrganizationRoles with one slug in one organization, or Memberships for
//     one organization and user, the oldest wins ([CompareMeta]: Created
//     ascending, then Name); the losers are invisible and grant nothing
//     ([ReasonDuplicate]). [Oldest] picks the winner for a caller holding
//     objects (the controllers, the webhook, the decision API's writes);
//     [Compile] settles Environments and roles, [DuplicateMemberships] and
//     [DuplicateResult] memberships. Objects being deleted take no part.
//   - R9 Organization ids: an organization's name and externalID are one key
//     space; a key belongs to its oldest claimant, and an organization an
//     older one takes a key from answers to no id, grants nothing, and its
//     members resolve to nothing ([ReasonOrganizationDuplicate])
//     ([IndexOrganizations], [Env.OrganizationIDs]; the rule in full in
//     orgid.go).
//   - R10 Election: of several Memberships of one user in one organization
//     (none being deleted), the one that answers for the user is a Ready one
//     over one that is not, else the oldest ([Prefer], [Elect]). R8 makes the
//     oldest the only Ready one; preferring a Ready one keeps answering while a
//     younger duplicate is not yet marked. The elected Membership grants only
//     when it is Ready and active ([Resolved.Grants]); the others never do.
//     The decision API, the publisher and kubectl orgrbac elect by it.
//   - R11 Granted now: a membership's status is an upper bound, not the
//     answer. It holds permission p in O now when it grants (R10), p is in
//     its status.permissions, and one of its status.roles lists p as O
//     defines that role now ([Resolved.Holds], [Resolved.Held], [RoleGrants],
//     [GrantingRoles]): a role that loses p, or is deleted, stops granting it
//     at once, before the statuses of its holders are rewritten. The
//     published snapshot carries, per member, the status roles O defines now
//     ([CurrentRoles]) and no permissions; its readers (pkg/authz) grant p
//     when one of those roles lists p as the snapshot defines it.
//   - R12 Decision: "may this member do all of these?" is [Decide]: not a
//     member, Inactive, Pending, not Ready, else allowed when R11 holds for
//     every permission ([DecisionGranted] and the other Decision* reasons).
//   - R13 Reasons: a [Result] says why with a typed [Reason]; the Membership
//     controller maps it to the Ready condition's reason in one place.
//
// Decisions where the contract is silent:
//
//   - Empty strings (a "" slug, group, permission or mapping field) name
//     nothing and are ignored everywhere.
//   - A role is visible to O when it is an environment Role or one of O's own
//     OrganizationRoles. If an OrganizationRole has the slug of an environment
//     Role (invalid by contract: organization role slugs start with "org-" or
//     "org_"), the environment Role wins and the OrganizationRole is invisible
//     to O, as a duplicate loser is.
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
