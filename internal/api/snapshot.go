package api

import (
	"cmp"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/model"
	"github.com/orgrbac/orgrbac/internal/resolve"
)

// input is what an environment's structure is built from: the cached objects of
// one namespace. The index only reads it.
type input struct {
	Environments      []orgrbacv1alpha1.Environment
	Roles             []orgrbacv1alpha1.Role
	Organizations     []orgrbacv1alpha1.Organization
	OrganizationRoles []orgrbacv1alpha1.OrganizationRole
	GroupMappings     []orgrbacv1alpha1.GroupMapping
	Memberships       []orgrbacv1alpha1.Membership
}

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
	envRoles []*roleEntry
	// envRoleBySlug indexes envRoles.
	envRoleBySlug map[string]*roleEntry
	// orgs are the organizations by name, without the duplicates of
	// resolve.IndexOrganizations: a duplicate organization grants nothing.
	orgs map[string]*orgEntry
	// orgIDs are the organizations by the ids callers give (externalID or
	// name), as resolve.IndexOrganizations settles them.
	orgIDs map[string]*orgEntry
	// published is the highest Environment status.revision in the namespace.
	published int64
	// objects counts the objects the structure was built from.
	objects int
}

// content is what requests read: one environment's structure and memberships.
// It is guarded by its envIndex's lock, and changed in place by the index's
// writer, membership by membership.
type content struct {
	// namespace is the environment's namespace.
	namespace string
	// revision is the highest published revision (Environment status.revision)
	// seen in this namespace; 0 before the first publication.
	revision int64
	*structure
	// members are the memberships by name (the WorkOS membership id).
	members map[string]*memberEntry
	// sorted are the memberships, oldest first (creation time, then name).
	sorted []*memberEntry
	// byOrg are the memberships of each organization name, whether or not the
	// organization exists.
	byOrg map[string]*orgMembers
}

// roleEntry is one role (environment Role or OrganizationRole).
type roleEntry struct {
	name, slug, displayName, description string
	typ                                  resolve.RoleType
	permissions                          []string // sorted, unique
	created, updated                     time.Time
}

// orgEntry is one organization with the roles it sees.
type orgEntry struct {
	name, id, displayName string
	created, updated      time.Time
	// roles are the roles visible to the organization, in its priority order.
	roles      []*roleEntry
	roleBySlug map[string]*roleEntry
}

// orgMembers are the memberships of one organization, by user.
type orgMembers struct {
	// users maps a user id to the user's membership, as resolve.Elect elects
	// it (rule R10).
	users map[string]*memberEntry
	// multi holds every membership of the users that have more than one in the
	// organization (duplicates), from which users' winner is elected.
	multi map[string][]*memberEntry
}

// memberEntry is one Membership as its status resolves it. Its strings come
// from the cached object; its status is interned: shared, read only, by every
// entry that resolves to the same. The index's writer replaces an entry's value
// in place, under the lock.
type memberEntry struct {
	name, organization, user, email string
	state                           orgrbacv1alpha1.MembershipState // never empty
	*status
	created, updated int64 // Unix nanoseconds
}

// resolved is the membership as resolve.Decide reads it.
func (m *memberEntry) resolved() resolve.Resolved {
	return resolve.Resolved{State: resolve.State(m.state), Ready: m.ready, Role: m.role, Roles: m.roles,
		Permissions: m.permissions}
}

// grants reports whether the membership grants its permissions (resolve.Resolved.Grants).
func (m *memberEntry) grants() bool {
	r := m.resolved()
	return r.Grants()
}

// holds reports whether the membership holds p in organization o
// (resolve.Resolved.Holds).
func (m *memberEntry) holds(o *orgEntry, p string) bool {
	if o == nil {
		return false
	}
	r := m.resolved()
	return r.Holds(o, p)
}

// primaryRole is the membership's role as WorkOS shows it: status.role, else
// the first of its roles; never empty on a membership with roles.
func (m *memberEntry) primaryRole() string {
	if m.role == "" && len(m.roles) > 0 {
		return m.roles[0]
	}
	return m.role
}

// heldPermissions returns the permissions the membership holds in
// organization o now (resolve.Resolved.Held, rule R11).
func (m *memberEntry) heldPermissions(o *orgEntry) []string {
	r := m.resolved()
	if o == nil {
		return r.Held(nil)
	}
	return r.Held(o)
}

// Role implements resolve.RoleSet: the permissions of a role the organization
// sees.
func (o *orgEntry) Role(slug string) ([]string, bool) {
	if r := o.roleBySlug[slug]; r != nil {
		return r.permissions, true
	}
	return nil, false
}

// Defines implements resolve.RoleSet: whether the organization sees the role.
func (o *orgEntry) Defines(slug string) bool { return o.roleBySlug[slug] != nil }

// compareMembers orders memberships oldest first, then by name.
func compareMembers(a, b *memberEntry) int {
	return cmp.Or(cmp.Compare(a.created, b.created), strings.Compare(a.name, b.name))
}

// candidate is the membership as the election reads it (resolve.Elect).
func (m *memberEntry) candidate() resolve.Candidate {
	return resolve.Candidate{Meta: resolve.Meta{Name: m.name, Created: time.Unix(0, m.created)}, Ready: m.ready}
}

func deleting(o metav1.Object) bool { return model.Deleting(o) }

func metaOf(o metav1.Object) resolve.Meta { return model.Meta(o) }

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

// sortedSet returns the sorted, unique, non-empty strings of s as a new slice.
func sortedSet(s []string) []string {
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

// buildStructure computes the roles and organizations of one namespace. It is
// pure: the roles' orders come from model.Compile, which it keeps (with the
// group mappings) for the writes. Memberships are ignored.
func buildStructure(in *input) *structure {
	roleObjs := map[string]*orgrbacv1alpha1.Role{}
	orgRoleObjs := map[string]*orgrbacv1alpha1.OrganizationRole{}
	orgObjs := map[string]*orgrbacv1alpha1.Organization{}
	st := &structure{
		envRoleBySlug: map[string]*roleEntry{},
		orgs:          map[string]*orgEntry{},
		orgIDs:        map[string]*orgEntry{},
		objects: len(in.Environments) + len(in.Roles) + len(in.Organizations) + len(in.OrganizationRoles) +
			len(in.GroupMappings),
	}
	for i := range in.Environments {
		// The revision is the publisher's: deleting Environments count too.
		st.published = max(st.published, in.Environments[i].Status.Revision)
	}
	for i := range in.Roles {
		if r := &in.Roles[i]; !deleting(r) {
			roleObjs[r.Name] = r
		}
	}
	for i := range in.OrganizationRoles {
		if r := &in.OrganizationRoles[i]; !deleting(r) {
			orgRoleObjs[r.Name] = r
		}
	}
	for i := range in.Organizations {
		if o := &in.Organizations[i]; !deleting(o) {
			orgObjs[o.Name] = o
		}
	}
	env := model.Compile(model.Objects{Environments: in.Environments, Roles: in.Roles, Organizations: in.Organizations,
		OrganizationRoles: in.OrganizationRoles, GroupMappings: in.GroupMappings})
	st.env = env

	// One entry per role object, shared between organizations; keyed by type
	// and object name.
	type entryKey struct {
		typ  resolve.RoleType
		name string
	}
	entries := map[entryKey]*roleEntry{}
	entry := func(info resolve.RoleInfo) *roleEntry {
		key := entryKey{info.Type, info.Name}
		if e, ok := entries[key]; ok {
			return e
		}
		e := &roleEntry{name: info.Name, slug: info.Slug, typ: info.Type, permissions: sortedSet(info.Permissions)}
		switch info.Type {
		case resolve.RoleTypeOrganization:
			if o := orgRoleObjs[info.Name]; o != nil {
				e.displayName, e.description = o.Spec.DisplayName, o.Spec.Description
				e.created, e.updated = o.CreationTimestamp.UTC(), updatedAt(o, o.Status.Conditions)
			}
		default:
			if o := roleObjs[info.Name]; o != nil {
				e.displayName, e.description = o.Spec.DisplayName, o.Spec.Description
				e.created, e.updated = o.CreationTimestamp.UTC(), updatedAt(o, o.Status.Conditions)
			}
		}
		entries[key] = e
		return e
	}
	for _, info := range env.Roles() {
		e := entry(info)
		st.envRoles = append(st.envRoles, e)
		st.envRoleBySlug[e.slug] = e
	}

	// The rule of resolve.IndexOrganizations, as the compiled environment (and
	// so the Membership controller) applies it.
	ids := env.OrganizationIDs()
	for _, name := range env.OrganizationNames() {
		if _, dup := ids.Duplicate(name); dup {
			continue
		}
		view, obj := env.Organization(name), orgObjs[name]
		o := &orgEntry{name: name, id: name, displayName: obj.Spec.DisplayName,
			created: obj.CreationTimestamp.UTC(), updated: updatedAt(obj, obj.Status.Conditions),
			roleBySlug: map[string]*roleEntry{}}
		if obj.Spec.ExternalID != "" {
			o.id = obj.Spec.ExternalID
		}
		// RoleRefs, not Roles: each organization sees every environment role,
		// and copying their permissions for 1,000 organizations cost 33 MB of
		// garbage per role edit; an entry's permissions are read once.
		for ref := range view.RoleRefs() {
			e := entries[entryKey{ref.Type, ref.Name}]
			if e == nil {
				info, _ := view.RoleInfo(ref.Slug)
				e = entry(info)
			}
			o.roles = append(o.roles, e)
			o.roleBySlug[e.slug] = e
		}
		st.orgs[name] = o
		// An organization answers to those of its keys the rule gives it.
		for _, key := range [2]string{name, obj.Spec.ExternalID} {
			if owner, ok := ids.Lookup(key); ok && owner == name {
				st.orgIDs[key] = o
			}
		}
	}
	return st
}

// noStructure is the structure of a namespace without roles or organizations,
// shared (structures are never modified).
var noStructure = buildStructure(&input{})

// organization finds the organization a caller's id (externalID or name) names,
// by resolve.IndexOrganizations's rule; nil when it names none.
func (c *content) organization(key string) *orgEntry { return c.orgIDs[key] }

// member returns the membership of user in organization o (resolve.Elect's),
// nil when there is none.
func (c *content) member(o *orgEntry, user string) *memberEntry {
	if om := c.byOrg[o.name]; om != nil {
		return om.users[user]
	}
	return nil
}

// holders returns the members of organization o that are granted permission p
// (active and Ready), sorted by user.
func (c *content) holders(o *orgEntry, p string) []*memberEntry {
	om := c.byOrg[o.name]
	if om == nil {
		return nil
	}
	var out []*memberEntry
	for _, m := range om.users {
		if m.grants() && m.holds(o, p) {
			out = append(out, m)
		}
	}
	slices.SortFunc(out, func(a, b *memberEntry) int { return strings.Compare(a.user, b.user) })
	return out
}

// membership returns the membership with that id (its name) as the WorkOS
// membership routes serve it, nil when there is none or when its organization
// is not one of c.orgs: it does not exist, or it is a duplicate
// (resolve.IndexOrganizations), which answers to no id. Such a membership is
// served nowhere: its organization has no id to show, and its raw name may be
// another organization's id (a duplicate named after an older organization's
// externalID), under which it would pass for one of that organization's
// members. The Membership controller resolves it Ready=False, with no roles.
func (c *content) membership(id string) *memberEntry {
	m := c.members[id]
	if m == nil || c.orgs[m.organization] == nil {
		return nil
	}
	return m
}

// orgID is the WorkOS organization id of a membership's organization (its
// externalID when set, else its name) and its display name. A membership of
// no organization in c.orgs is never served (see membership): it gets "", never
// its organization's raw name.
func (c *content) orgID(m *memberEntry) (id, name string) {
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

// decision is the answer to "may this member do all of these?".
type decision struct {
	allowed bool
	role    string
	roles   []string
	reason  string
	missing []string
}

// decide answers for a membership (nil when there is none) of organization o
// (nil when it does not exist) and a non-empty permission list, with
// resolve.Decide: the rule kubectl orgrbac applies too.
func decide(o *orgEntry, m *memberEntry, perms []string) decision {
	if m == nil {
		return decision{reason: ReasonMembershipNotFound}
	}
	r := m.resolved()
	var set resolve.RoleSet
	if o != nil {
		set = o
	}
	d := resolve.Decide(set, &r, perms)
	return decision{allowed: d.Allowed, role: d.Role, roles: d.Roles, reason: d.Reason, missing: d.Missing}
}

// check answers for a user of an organization (by id or name).
func (c *content) check(org, user string, perms []string) decision {
	o := c.organization(org)
	if o == nil {
		return decision{reason: ReasonOrganizationNotFound}
	}
	return decide(o, c.member(o, user), perms)
}
