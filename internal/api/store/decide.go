package store

import "github.com/orgrbac/orgrbac/internal/resolve"

// Reasons of a decision (resolve.Decide's).
const (
	// ReasonGranted means the membership is active, Ready and holds every
	// requested permission.
	ReasonGranted = resolve.DecisionGranted
	// ReasonPermissionNotGranted means at least one requested permission is not
	// among the membership's permissions.
	ReasonPermissionNotGranted = resolve.DecisionPermissionNotGranted
	// ReasonOrganizationNotFound means no organization has that id or name.
	ReasonOrganizationNotFound = resolve.DecisionOrganizationNotFound
	// ReasonMembershipNotFound means the user is not a member of the organization.
	ReasonMembershipNotFound = resolve.DecisionMembershipNotFound
	// ReasonMembershipInactive means the membership's state is Inactive.
	ReasonMembershipInactive = resolve.DecisionMembershipInactive
	// ReasonMembershipPending means the membership's state is Pending.
	ReasonMembershipPending = resolve.DecisionMembershipPending
	// ReasonMembershipNotReady means the membership did not resolve (for
	// instance no default role, or a duplicate).
	ReasonMembershipNotReady = resolve.DecisionMembershipNotReady
)

// Decision is the answer to "may this member do all of these?": resolve.Decide's.
// Roles is an interned value, immutable: it may be read after the read lock
// is released.
type Decision struct {
	Allowed bool
	Role    string
	Roles   []string
	Reason  string
	Missing []string
}

// Decide answers for a membership (nil when there is none) of organization o
// (nil when it does not exist) and a non-empty permission list, with
// resolve.Decide: the rule kubectl orgrbac applies too.
func Decide(o *Organization, m *Member, perms []string) Decision {
	if m == nil {
		return Decision{Reason: ReasonMembershipNotFound}
	}
	r := m.resolved()
	var set resolve.RoleSet
	if o != nil {
		set = o
	}
	d := resolve.Decide(set, &r, perms)
	return Decision{Allowed: d.Allowed, Role: d.Role, Roles: d.Roles, Reason: d.Reason, Missing: d.Missing}
}

// Check answers for a user of an organization (by id or name), allocating
// nothing when the answer is allowed.
func (c *Content) Check(org, user string, perms []string) Decision {
	o := c.Organization(org)
	if o == nil {
		return Decision{Reason: ReasonOrganizationNotFound}
	}
	return Decide(o, c.Member(o, user), perms)
}
