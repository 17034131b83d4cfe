package resolve

import (
	"slices"
)

// Deciding: answering "may this member do all of these?" from what the Membership
// controller resolved (a membership's status) and the roles as they are defined
// now. The decision API (internal/api) and kubectl orgrbac both decide with the
// functions below, so that they never disagree.

// Reasons of a Decision.
const (
	// DecisionGranted means the membership is active, Ready and holds every
	// requested permission.
	DecisionGranted = "Granted"
	// DecisionPermissionNotGranted means at least one requested permission is
	// not held.
	DecisionPermissionNotGranted = "PermissionNotGranted"
	// DecisionOrganizationNotFound means no organization has that id or name.
	DecisionOrganizationNotFound = "OrganizationNotFound"
	// DecisionMembershipNotFound means the user is not a member of the
	// organization.
	DecisionMembershipNotFound = "MembershipNotFound"
	// DecisionMembershipInactive means the membership's state is Inactive.
	DecisionMembershipInactive = "MembershipInactive"
	// DecisionMembershipPending means the membership's state is Pending.
	DecisionMembershipPending = "MembershipPending"
	// DecisionMembershipNotReady means the membership did not resolve (for
	// instance no default role, or a duplicate).
	DecisionMembershipNotReady = "MembershipNotReady"
)

// RoleSet is the roles an organization sees, as they are defined now.
// [*OrgView] is one.
type RoleSet interface {
	// Role returns the sorted permission set of the role slug; ok is false when
	// the organization sees no such role. The caller does not modify it.
	Role(slug string) (permissions []string, ok bool)
	// Defines reports whether the organization sees the role slug: Role's ok,
	// without the permissions.
	Defines(slug string) bool
}

// Resolved is a membership as a decision reads it: its spec's state and its
// resolved status.
type Resolved struct {
	// State is spec.state ("" means Active).
	State State
	// Ready is true when the status' Ready condition is True.
	Ready bool
	// Role is status.role.
	Role string
	// Roles is status.roles, highest priority first.
	Roles []string
	// Permissions is status.permissions, sorted and unique.
	Permissions []string
}

// Grants reports whether the membership grants its permissions: Ready and
// Active. Inactive and Pending memberships never grant anything.
func (m *Resolved) Grants() bool { return m.Ready && m.State.IsActive() }

// RoleGrants reports whether the role slug, as o defines it now, grants p.
func RoleGrants(o RoleSet, slug, p string) bool {
	if o == nil {
		return false
	}
	perms, ok := o.Role(slug)
	if !ok {
		return false
	}
	_, found := slices.BinarySearch(perms, p)
	return found
}

// Holds reports whether the membership holds p in organization o: p is among
// its resolved permissions and one of its effective roles grants p as o defines
// the role now. Requiring both means that a permission removed from a role, or a
// role deleted, is denied as soon as the role changes, without waiting for the
// statuses of its holders to be rewritten, and that nothing is granted before the
// membership's status says so. It does not look at the state: see Grants.
func (m *Resolved) Holds(o RoleSet, p string) bool {
	if o == nil {
		return false
	}
	if _, ok := slices.BinarySearch(m.Permissions, p); !ok {
		return false
	}
	for _, slug := range m.Roles {
		if RoleGrants(o, slug, p) {
			return true
		}
	}
	return false
}

// CurrentRoles returns the roles among roles (a membership's status.roles)
// that o defines now, in their order, each once; nil when none (rule R11). It
// is what the published snapshot carries for a member: its readers grant a
// permission when one of these roles, as the snapshot defines it, lists it.
func CurrentRoles(o RoleSet, roles []string) []string {
	if o == nil {
		return nil
	}
	var out []string
	for _, slug := range roles {
		if o.Defines(slug) && !slices.Contains(out, slug) {
			out = append(out, slug)
		}
	}
	return out
}

// Held returns the permissions the membership holds in o now (rule R11),
// sorted: those of its status that Holds grants; none (an empty, non-nil
// slice) unless it Grants.
func (m *Resolved) Held(o RoleSet) []string {
	out := []string{}
	if !m.Grants() {
		return out
	}
	for _, p := range m.Permissions {
		if m.Holds(o, p) {
			out = append(out, p)
		}
	}
	return out
}

// GrantingRoles returns the roles among roles (kept in their order) that grant p
// in o.
func GrantingRoles(o RoleSet, roles []string, p string) []string {
	var out []string
	for _, slug := range roles {
		if RoleGrants(o, slug, p) {
			out = append(out, slug)
		}
	}
	return out
}

// Decision is the answer to "may this member do all of these?".
type Decision struct {
	// Allowed is true when every requested permission holds.
	Allowed bool
	// Role is the membership's primary role, "" when there is no membership.
	Role string
	// Roles are the membership's effective roles (shared with the input: do
	// not modify).
	Roles []string
	// Reason is one of the Decision* constants.
	Reason string
	// Missing lists the requested permissions not held, in request order,
	// when the reason is DecisionPermissionNotGranted.
	Missing []string
}

// Decide answers for membership m (nil when the user has none) of organization o
// and a non-empty permission list; every permission must hold. It allocates
// nothing when the answer is allowed.
func Decide(o RoleSet, m *Resolved, perms []string) Decision {
	if m == nil {
		return Decision{Reason: DecisionMembershipNotFound}
	}
	d := Decision{Role: m.Role, Roles: m.Roles}
	switch {
	case m.State == StateInactive:
		d.Reason = DecisionMembershipInactive
	case m.State == StatePending:
		d.Reason = DecisionMembershipPending
	case !m.Grants():
		d.Reason = DecisionMembershipNotReady
	default:
		for _, p := range perms {
			if !m.Holds(o, p) {
				d.Missing = append(d.Missing, p)
			}
		}
		d.Allowed = len(d.Missing) == 0
		d.Reason = DecisionGranted
		if !d.Allowed {
			d.Reason = DecisionPermissionNotGranted
		}
	}
	return d
}

var _ RoleSet = (*OrgView)(nil)
