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
	"slices"
	"strings"
	"time"
)

// Meta identifies an object for ordering: older first (Created ascending),
// Name breaks ties.
type Meta struct {
	// Name is the object's metadata.name.
	Name string
	// Created is the object's metadata.creationTimestamp.
	Created time.Time
}

// CompareMeta orders a before b when a is older, or equally old with a smaller
// name. It returns -1, 0 or +1.
func CompareMeta(a, b Meta) int {
	if c := a.Created.Compare(b.Created); c != 0 {
		return c
	}
	return strings.Compare(a.Name, b.Name)
}

// Source says where an effective role comes from.
type Source string

const (
	// SourceDirectory is a Directory GroupMapping matching one of the
	// membership's directory groups.
	SourceDirectory Source = "Directory"
	// SourceSSO is an SSO GroupMapping matching one of the membership's SSO
	// groups.
	SourceSSO Source = "SSO"
	// SourceManual is the membership's own spec.roles.
	SourceManual Source = "Manual"
	// SourceDefault is the organization's or environment's default role.
	SourceDefault Source = "Default"
)

// State is a membership's lifecycle state.
type State string

const (
	// StateActive is an active membership; the empty State means Active too.
	StateActive State = "Active"
	// StateInactive is a deactivated membership: roles, no permissions.
	StateInactive State = "Inactive"
	// StatePending is an invited membership: roles, no permissions.
	StatePending State = "Pending"
)

// IsActive reports whether s grants permissions: only "" and Active do.
func (s State) IsActive() bool {
	return s == "" || s == StateActive
}

// Environment is the spec of an Environment object.
type Environment struct {
	Meta
	// DefaultRole is spec.defaultRole (a slug), "" when unset.
	DefaultRole string
	// RolePriority is spec.rolePriority, highest priority first.
	RolePriority []string
	// MultipleRoles is spec.multipleRoles.
	MultipleRoles bool
}

// Role is an environment Role.
type Role struct {
	Meta
	// Slug is spec.slug.
	Slug string
	// Permissions is spec.permissions, a set of permission slugs.
	Permissions []string
}

// Organization is the spec of an Organization object.
type Organization struct {
	Meta
	// ExternalID is spec.externalID, "" when unset. With the name, it is one
	// of the organization's ids: see IndexOrganizations.
	ExternalID string
	// DefaultRole is spec.defaultRole (a slug), "" when unset.
	DefaultRole string
	// RolePriority is spec.rolePriority, highest priority first.
	RolePriority []string
}

// OrganizationRole is a role that only its organization sees.
type OrganizationRole struct {
	Meta
	// Organization is spec.organization, the Organization's name.
	Organization string
	// Slug is spec.slug.
	Slug string
	// Permissions is spec.permissions, a set of permission slugs.
	Permissions []string
}

// GroupMapping maps an identity-provider group of one organization to a role.
type GroupMapping struct {
	Meta
	// Organization is spec.organization, the Organization's name.
	Organization string
	// Source is SourceDirectory or SourceSSO; other values are ignored.
	Source Source
	// Group is the IdP group id.
	Group string
	// Role is the role slug granted to the group's members.
	Role string
}

// Membership is a user's membership of one organization.
type Membership struct {
	Meta
	// Organization is spec.organization, the Organization's name.
	Organization string
	// User is spec.user, the user id.
	User string
	// Roles is spec.roles, the slugs assigned by hand.
	Roles []string
	// DirectoryGroups is spec.directoryGroups.
	DirectoryGroups []string
	// SSOGroups is spec.ssoGroups.
	SSOGroups []string
	// State is spec.state; "" means Active.
	State State
}

// Input is everything Compile needs about one environment.
type Input struct {
	// Environments holds all Environments of the namespace (0, 1 or duplicates).
	Environments []Environment
	// Roles holds all environment Roles of the namespace.
	Roles []Role
	// Organizations holds the organizations to compile.
	Organizations []Organization
	// OrganizationRoles holds organization roles; those of organizations not
	// in Organizations are ignored.
	OrganizationRoles []OrganizationRole
	// GroupMappings holds group mappings; those of organizations not in
	// Organizations are ignored.
	GroupMappings []GroupMapping
}

// Reason says why a Result is what it is. The Membership controller maps it to
// its Ready condition's reason (api/v1alpha1), in one place.
type Reason string

// Reasons of a Result.
const (
	// ReasonResolved means the membership resolved to at least one role.
	ReasonResolved Reason = "Resolved"
	// ReasonDefaultRoleMissing means no source gave a role and no default role
	// resolves; the membership gets nothing (fail closed).
	ReasonDefaultRoleMissing Reason = "DefaultRoleMissing"
	// ReasonOrganizationNotFound means the membership's organization is not
	// compiled.
	ReasonOrganizationNotFound Reason = "OrganizationNotFound"
	// ReasonRoleNotFound means a candidate slug names no role visible to the
	// organization. Resolve reports it in Result.Dropped; the membership may
	// still be Ready.
	ReasonRoleNotFound Reason = "RoleNotFound"
	// ReasonTooManyRoles means a single-role environment and several valid
	// slugs in spec.roles. Resolve reports it in Result.Extra; the membership
	// may still be Ready.
	ReasonTooManyRoles Reason = "TooManyRoles"
	// ReasonDuplicate means another, older object has the same identity; this
	// one grants nothing (see DuplicateResult).
	ReasonDuplicate Reason = "Duplicate"
	// ReasonOrganizationDuplicate means the membership's organization is a
	// duplicate (IndexOrganizations): an older organization claims one of its
	// ids, so it answers to no id and its members get no roles and no
	// permissions.
	ReasonOrganizationDuplicate Reason = "OrganizationDuplicate"
)

// Assignment is the provenance of one effective role.
type Assignment struct {
	// Role is the role slug.
	Role string
	// Source is where the role comes from.
	Source Source
	// Group is the mapped group when Source is Directory or SSO (the first in
	// sorted order when several groups map to the role), "" otherwise.
	Group string
}

// Dropped is a candidate slug that names no role visible to the organization.
type Dropped struct {
	// Role is the unknown slug.
	Role string
	// Source is the source that proposed it.
	Source Source
	// Group is the mapped group for Directory and SSO, "" for Manual.
	Group string
}

// Result is the resolution of one membership.
type Result struct {
	// Ready is true when the membership resolved to at least one role.
	Ready bool
	// Reason is one of the Reason* constants: ReasonResolved when Ready.
	Reason Reason
	// Message is a human-readable, deterministic explanation.
	Message string
	// Role is Roles[0], or "" when Roles is empty.
	Role string
	// Roles are the effective roles, highest priority first.
	Roles []string
	// Source is the chosen source, "" when not Ready.
	Source Source
	// Assignments hold one entry per effective role, in the order of Roles.
	Assignments []Assignment
	// Permissions is the sorted, unique union of the effective roles'
	// permissions; empty when not Ready or not Active.
	Permissions []string
	// Dropped lists the RoleNotFound candidates of every source, sorted by
	// (Source, Group, Role), unique.
	Dropped []Dropped
	// Extra lists, in a single-role environment holding several valid slugs
	// in spec.roles, the ones after the highest-priority one (TooManyRoles),
	// in priority order.
	Extra []string
	// Active reports whether the membership's state grants permissions.
	Active bool
}

// normSet returns the sorted, unique, non-empty strings of s, nil when none.
// It never modifies s.
func normSet(s []string) []string {
	n := 0
	for _, v := range s {
		if v != "" {
			n++
		}
	}
	if n == 0 {
		return nil
	}
	out := make([]string, 0, n)
	for _, v := range s {
		if v != "" {
			out = append(out, v)
		}
	}
	slices.Sort(out)
	return slices.Clip(slices.Compact(out))
}

// compareBool orders false before true.
func compareBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	default:
		return 1
	}
}

// Total orders used to pick winners among duplicates. The Meta comes first (the
// contract); the remaining fields only matter for identical Metas, which a real
// cluster never holds, and exist so results never depend on input order.

func compareEnvironment(a, b *Environment) int {
	return cmp.Or(
		CompareMeta(a.Meta, b.Meta),
		strings.Compare(a.DefaultRole, b.DefaultRole),
		compareBool(a.MultipleRoles, b.MultipleRoles),
		slices.Compare(a.RolePriority, b.RolePriority),
	)
}

func compareOrganization(a, b *Organization) int {
	return cmp.Or(
		CompareMeta(a.Meta, b.Meta),
		strings.Compare(a.ExternalID, b.ExternalID),
		strings.Compare(a.DefaultRole, b.DefaultRole),
		slices.Compare(a.RolePriority, b.RolePriority),
	)
}
