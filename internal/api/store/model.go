package store

import (
	"cmp"
	"iter"
	"maps"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/resolve"
)

// structure is the part of an environment's view built from its Environments,
// Roles, OrganizationRoles, Organizations and GroupMappings. It is small (one
// entry per role and organization), immutable once built, and rebuilt whole
// when one of those objects changes in a way the API shows.
type structure struct {
	// env is the environment compiled by the resolver, group mappings
	// included: the writes resolve the memberships they write with it, by the
	// rule the Membership controller applies (resolve.Env.Resolve).
	env *resolve.Env
	// envRoles are the environment Roles in environment priority order.
	envRoles []*Role
	// envRoleBySlug indexes envRoles.
	envRoleBySlug map[string]*Role
	// orgs are the organizations by name, without the duplicates of
	// resolve.IndexOrganizations: a duplicate organization grants nothing.
	orgs map[string]*Organization
	// orgIDs are the organizations by the ids callers give (externalID or
	// name), as resolve.IndexOrganizations settles them.
	orgIDs map[string]*Organization
	// published is the highest Environment status.revision in the namespace.
	published int64
	// objects counts the objects the structure was built from.
	objects int
}

// Content is what requests read: one environment's structure and memberships.
// It is guarded by its EnvIndex's lock (EnvIndex.Read), and changed in place
// by the store's writer, membership by membership: what it returns must not be
// kept beyond the read, except interned values (roles, permissions, ...),
// which never change.
type Content struct {
	// namespace is the environment's namespace.
	namespace string
	// revision is the highest published revision (Environment status.revision)
	// seen in this namespace; 0 before the first publication.
	revision int64
	*structure
	// members are the memberships by name (the WorkOS membership id).
	members map[string]*Member
	// sorted are the memberships, oldest first (creation time, then name).
	sorted []*Member
	// byOrg are the memberships of each organization name, whether or not the
	// organization exists.
	byOrg map[string]*orgMembers
}

// Organization finds the organization a caller's id (externalID or name) names,
// by resolve.IndexOrganizations's rule; nil when it names none.
func (c *Content) Organization(key string) *Organization { return c.orgIDs[key] }

// Member returns the membership of user in organization o (resolve.Elect's),
// nil when there is none.
func (c *Content) Member(o *Organization, user string) *Member {
	if om := c.byOrg[o.name]; om != nil {
		return om.users[user]
	}
	return nil
}

// Holders returns the members of organization o that are granted permission p
// (active and Ready), sorted by user.
func (c *Content) Holders(o *Organization, p string) []*Member {
	om := c.byOrg[o.name]
	if om == nil {
		return nil
	}
	var out []*Member
	for _, m := range om.users {
		if m.Grants() && m.holds(o, p) {
			out = append(out, m)
		}
	}
	slices.SortFunc(out, func(a, b *Member) int { return strings.Compare(a.user, b.user) })
	return out
}

// Membership returns the membership with that id (its name) as the WorkOS
// membership routes serve it, nil when there is none or when its organization
// is not one of c.orgs: it does not exist, or it is a duplicate
// (resolve.IndexOrganizations), which answers to no id. Such a membership is
// served nowhere: its organization has no id to show, and its raw name may be
// another organization's id (a duplicate named after an older organization's
// externalID), under which it would pass for one of that organization's
// members. The Membership controller resolves it Ready=False, with no roles.
func (c *Content) Membership(id string) *Member {
	m := c.members[id]
	if m == nil || c.orgs[m.organization] == nil {
		return nil
	}
	return m
}

// OrgID is the WorkOS organization id of a membership's organization (its
// externalID when set, else its name) and its display name. A membership of
// no organization in c.orgs is never served (see Membership): it gets "", never
// its organization's raw name.
func (c *Content) OrgID(m *Member) (id, name string) {
	o := c.orgs[m.organization]
	if o == nil {
		return "", ""
	}
	name = o.displayName
	if name == "" {
		name = o.name
	}
	return o.id, name
}

// OrganizationOf returns the organization of a served membership (see
// Membership): nil for a membership whose organization is not served.
func (c *Content) OrganizationOf(m *Member) *Organization { return c.orgs[m.organization] }

// Organizations returns the served organizations (without the duplicates of
// resolve.IndexOrganizations), in no order.
func (c *Content) Organizations() iter.Seq[*Organization] { return maps.Values(c.orgs) }

// Memberships returns every membership, served or not, oldest first
// (CompareMembers). The slice is never changed: the writer replaces it.
func (c *Content) Memberships() []*Member { return c.sorted }

// EnvironmentRoles returns the environment Roles in environment priority order.
func (c *Content) EnvironmentRoles() []*Role { return c.envRoles }

// EnvironmentRole returns the environment Role with that slug, nil when there
// is none.
func (c *Content) EnvironmentRole(slug string) *Role { return c.envRoleBySlug[slug] }

// Env returns the environment compiled by the resolver, group mappings
// included: the writes resolve the memberships they write with it
// (resolve.Env.Resolve). It is immutable, and may be kept.
func (c *Content) Env() *resolve.Env { return c.env }

// Namespace is the environment's namespace.
func (c *Content) Namespace() string { return c.namespace }

// Role is one role (environment Role or OrganizationRole).
type Role struct {
	name, slug, displayName, description string
	typ                                  resolve.RoleType
	permissions                          []string // sorted, unique
	created, updated                     time.Time
}

// Name is the role's object name (its WorkOS id).
func (r *Role) Name() string { return r.name }

// Slug is the role's slug.
func (r *Role) Slug() string { return r.slug }

// DisplayName is the role's spec.displayName, "" when unset.
func (r *Role) DisplayName() string { return r.displayName }

// Description is the role's spec.description.
func (r *Role) Description() string { return r.description }

// Type tells an environment Role from an OrganizationRole.
func (r *Role) Type() resolve.RoleType { return r.typ }

// Permissions are the role's permissions, sorted and unique (interned: they
// may be kept, not changed).
func (r *Role) Permissions() []string { return r.permissions }

// Created is the role's creation time (UTC).
func (r *Role) Created() time.Time { return r.created }

// Updated is the last time the role is known to have changed (UTC).
func (r *Role) Updated() time.Time { return r.updated }

// RoleOf is the Role of an OrganizationRole object as written, before the
// store sees it: the answer of a write.
func RoleOf(o *orgrbacv1alpha1.OrganizationRole) *Role {
	return &Role{name: o.Name, slug: o.Spec.Slug, displayName: o.Spec.DisplayName,
		description: o.Spec.Description, typ: resolve.RoleTypeOrganization,
		permissions: SortedSet(o.Spec.Permissions), created: o.CreationTimestamp.UTC(),
		updated: updatedAt(o, o.Status.Conditions)}
}

// Organization is one organization with the roles it sees.
type Organization struct {
	name, id, displayName string
	created, updated      time.Time
	// roles are the roles visible to the organization, in its priority order.
	roles      []*Role
	roleBySlug map[string]*Role
}

// Name is the Organization's object name.
func (o *Organization) Name() string { return o.name }

// ID is the organization's WorkOS id: its externalID when set, else its name.
func (o *Organization) ID() string { return o.id }

// DisplayName is the organization's spec.displayName, "" when unset.
func (o *Organization) DisplayName() string { return o.displayName }

// Created is the organization's creation time (UTC).
func (o *Organization) Created() time.Time { return o.created }

// Updated is the last time the organization is known to have changed (UTC).
func (o *Organization) Updated() time.Time { return o.updated }

// Roles are the roles the organization sees, in its priority order.
func (o *Organization) Roles() []*Role { return o.roles }

// RoleBySlug returns the role with that slug the organization sees, nil when
// it sees none.
func (o *Organization) RoleBySlug(slug string) *Role { return o.roleBySlug[slug] }

// Role implements resolve.RoleSet: the permissions of a role the organization
// sees.
func (o *Organization) Role(slug string) ([]string, bool) {
	if r := o.roleBySlug[slug]; r != nil {
		return r.permissions, true
	}
	return nil, false
}

// Defines implements resolve.RoleSet: whether the organization sees the role.
func (o *Organization) Defines(slug string) bool { return o.roleBySlug[slug] != nil }

// orgMembers are the memberships of one organization, by user.
type orgMembers struct {
	// users maps a user id to the user's membership, as resolve.Elect elects
	// it (rule R10).
	users map[string]*Member
	// multi holds every membership of the users that have more than one in the
	// organization (duplicates), from which users' winner is elected.
	multi map[string][]*Member
}

// Member is one Membership as its status resolves it. Its strings come from
// the cached object; its status is interned: shared, read only, by every entry
// that resolves to the same. The store's writer replaces an entry's value in
// place, under the lock.
type Member struct {
	name, organization, user, email string
	state                           orgrbacv1alpha1.MembershipState // never empty
	*status
	created, updated int64 // Unix nanoseconds
}

// Name is the Membership's object name (its WorkOS id).
func (m *Member) Name() string { return m.name }

// Organization is the name of the Membership's organization (spec.organization).
func (m *Member) Organization() string { return m.organization }

// User is the member's user id.
func (m *Member) User() string { return m.user }

// Email is the member's email, "" when unset.
func (m *Member) Email() string { return m.email }

// State is the membership's state, never empty (Active when unset).
func (m *Member) State() orgrbacv1alpha1.MembershipState { return m.state }

// Ready reports whether the membership's Ready condition is True.
func (m *Member) Ready() bool { return m.ready }

// Reason is the reason of the membership's Ready condition.
func (m *Member) Reason() string { return m.reason }

// Role is status.role.
func (m *Member) Role() string { return m.role }

// Roles are status.roles, highest priority first (interned).
func (m *Member) Roles() []string { return m.roles }

// Source is status.source: where the roles come from.
func (m *Member) Source() orgrbacv1alpha1.RoleSource { return m.source }

// Assignments are status.assignments (interned).
func (m *Member) Assignments() []orgrbacv1alpha1.RoleAssignment { return m.assignments }

// Permissions are status.permissions, sorted and unique (interned).
func (m *Member) Permissions() []string { return m.permissions }

// Created is the membership's creation time.
func (m *Member) Created() time.Time { return time.Unix(0, m.created) }

// Updated is the last time the membership is known to have changed.
func (m *Member) Updated() time.Time { return time.Unix(0, m.updated) }

// resolved is the membership as resolve.Decide reads it.
func (m *Member) resolved() resolve.Resolved {
	return resolve.Resolved{State: resolve.State(m.state), Ready: m.ready, Role: m.role, Roles: m.roles,
		Permissions: m.permissions}
}

// Grants reports whether the membership grants its permissions (resolve.Resolved.Grants).
func (m *Member) Grants() bool {
	r := m.resolved()
	return r.Grants()
}

// holds reports whether the membership holds p in organization o
// (resolve.Resolved.Holds).
func (m *Member) holds(o *Organization, p string) bool {
	if o == nil {
		return false
	}
	r := m.resolved()
	return r.Holds(o, p)
}

// PrimaryRole is the membership's role as WorkOS shows it: status.role, else
// the first of its roles; never empty on a membership with roles.
func (m *Member) PrimaryRole() string {
	if m.role == "" && len(m.roles) > 0 {
		return m.roles[0]
	}
	return m.role
}

// HeldPermissions returns the permissions the membership holds in
// organization o now (resolve.Resolved.Held, rule R11).
func (m *Member) HeldPermissions(o *Organization) []string {
	r := m.resolved()
	if o == nil {
		return r.Held(nil)
	}
	return r.Held(o)
}

// candidate is the membership as the election reads it (resolve.Elect).
func (m *Member) candidate() resolve.Candidate {
	return resolve.Candidate{Meta: resolve.Meta{Name: m.name, Created: time.Unix(0, m.created)}, Ready: m.ready}
}

// CompareMembers orders memberships oldest first, then by name: the order of
// Content.Memberships.
func CompareMembers(a, b *Member) int {
	return cmp.Or(cmp.Compare(a.created, b.created), strings.Compare(a.name, b.name))
}

// updatedAt is the newest of the creation time and the conditions' transition
// times: the last time the object's observable state is known to have changed.
func updatedAt(o metav1.Object, conds []metav1.Condition) time.Time {
	t := o.GetCreationTimestamp().Time
	for _, c := range conds {
		if c.LastTransitionTime.After(t) {
			t = c.LastTransitionTime.Time
		}
	}
	return t.UTC()
}

// SortedSet returns the sorted, unique, non-empty strings of s as a new slice:
// the form the store keeps permissions in, and the API writes them in.
func SortedSet(s []string) []string {
	out := make([]string, 0, len(s))
	for _, v := range s {
		if v != "" {
			out = append(out, v)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// isSortedSet reports whether s is already sorted, unique and without empty
// strings (as the Membership controller writes status.permissions).
func isSortedSet(s []string) bool {
	for i, v := range s {
		if v == "" || (i > 0 && s[i-1] >= v) {
			return false
		}
	}
	return true
}
