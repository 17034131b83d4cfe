package events

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/api/store"
	"github.com/orgrbac/orgrbac/internal/resolve"
	"github.com/orgrbac/orgrbac/internal/workos"
)

// hasher is 64-bit FNV-1a, fed field by field (each string length-prefixed,
// so fields cannot run into each other). Digests are stored: the hash must
// not change between releases without reason.
type hasher uint64

const (
	fnvOffset hasher = 14695981039346656037
	fnvPrime  hasher = 1099511628211
)

func (h hasher) num(n uint64) hasher {
	for i := range 8 {
		h ^= hasher(n>>(8*i)) & 0xff
		h *= fnvPrime
	}
	return h
}

func (h hasher) str(s string) hasher {
	h = h.num(uint64(len(s)))
	for i := 0; i < len(s); i++ {
		h ^= hasher(s[i])
		h *= fnvPrime
	}
	return h
}

func (h hasher) strs(s []string) hasher {
	h = h.num(uint64(len(s)))
	for _, v := range s {
		h = h.str(v)
	}
	return h
}

func (h hasher) flag(b bool) hasher {
	if b {
		return h.num(1)
	}
	return h.num(0)
}

// The digests: what a WorkOS client sees of an object that matters. Times
// (updated_at) are left out, and so is what another object's event says (a
// membership's organization_name: an organization rename is one
// organization.updated; a role's permissions: a role edit is one role.updated).

// MembershipDigest is the digest of a membership: its id, user, organization
// id, status, role and roles, and whether its directory manages it.
func MembershipDigest(id, user, orgID, status, role string, roles []string, directory bool) uint64 {
	return uint64(fnvOffset.num(uint64(KindMembership)).str(id).str(user).str(orgID).str(status).str(role).
		strs(roles).flag(directory))
}

// RoleDigest is the digest of a role (orgID "" for an environment role): its
// organization id, slug, name, description and sorted permissions.
func RoleDigest(orgID, slug, name, description string, sortedPerms []string) uint64 {
	return uint64(fnvOffset.num(uint64(KindRole)).str(orgID).str(slug).str(name).str(description).strs(sortedPerms))
}

// OrganizationDigest is the digest of an organization: its id, name and
// external id.
func OrganizationDigest(id, name, externalID string) uint64 {
	return uint64(fnvOffset.num(uint64(KindOrganization)).str(id).str(name).str(externalID))
}

// PermissionDigest is the digest of a permission: its id, slug, name and
// description.
func PermissionDigest(id, slug, name, description string) uint64 {
	return uint64(fnvOffset.num(uint64(KindPermission)).str(id).str(slug).str(name).str(description))
}

// View is what a WorkOS client sees of one environment now: the digest of
// every key, and the objects to build events from. Built from a store's
// Content, it is valid only during that EnvIndex.Read.
type View struct {
	// Digests are the current digest of every key.
	Digests map[string]uint64

	c     *store.Content
	orgs  map[string]*store.Organization
	perms map[string]*orgrbacv1alpha1.Permission
}

// Counts reports a membership: one whose organization is served (the API
// serves no other) and whose status the controller has computed (it has a
// Ready condition), so a new membership is one created event with its
// resolved roles, never created then updated.
func Counts(c *store.Content, m *store.Member) bool {
	return c.OrganizationOf(m) != nil && (m.Ready() || m.Reason() != "")
}

// NewView computes the view of content c (nil: an empty namespace) and the
// environment's Permission objects. Of Permissions with the same slug, the
// oldest is the one shown (rule R8); Permissions being deleted are gone.
func NewView(c *store.Content, perms []orgrbacv1alpha1.Permission) *View {
	v := &View{Digests: map[string]uint64{}, c: c, orgs: map[string]*store.Organization{},
		perms: map[string]*orgrbacv1alpha1.Permission{}}
	for i := range perms {
		p := &perms[i]
		if p.DeletionTimestamp != nil {
			continue
		}
		slug := p.EffectiveSlug()
		if o := v.perms[slug]; o == nil || older(p, o) {
			v.perms[slug] = p
		}
	}
	for slug, p := range v.perms {
		w := workos.PermissionOf(p)
		v.Digests[PermissionKey(slug)] = PermissionDigest(w.ID, w.Slug, w.Name, deref(w.Description))
	}
	if c == nil {
		return v
	}
	for _, r := range c.EnvironmentRoles() {
		v.Digests[RoleKey(r.Slug())] = RoleDigest("", r.Slug(), roleName(r), r.Description(), r.Permissions())
	}
	for o := range c.Organizations() {
		v.orgs[o.Name()] = o
		w := workos.OrganizationOf(o)
		v.Digests[OrganizationKey(o.Name())] = OrganizationDigest(w.ID, w.Name, workos.ExternalID(o))
		for _, r := range o.Roles() {
			if r.Type() != resolve.RoleTypeOrganization {
				continue
			}
			v.Digests[OrganizationRoleKey(o.Name(), r.Slug())] = RoleDigest(o.ID(), r.Slug(), roleName(r),
				r.Description(), r.Permissions())
		}
	}
	for _, m := range c.Memberships() {
		if !Counts(c, m) {
			continue
		}
		id, _ := c.OrgID(m)
		v.Digests[MembershipKey(m.Name())] = MembershipDigest(m.Name(), m.User(), id, workos.Status(m.State()),
			m.PrimaryRole(), m.Roles(), m.Source() == orgrbacv1alpha1.SourceDirectory)
	}
	return v
}

func older(a, b *orgrbacv1alpha1.Permission) bool {
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return a.CreationTimestamp.Before(&b.CreationTimestamp)
	}
	return a.Name < b.Name
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func roleName(r *store.Role) string {
	if n := r.DisplayName(); n != "" {
		return n
	}
	return r.Slug()
}

// Data returns the event data of key as it is now (the object the API
// serves, or WorkOS's event data of its kind) and the WorkOS id of the
// organization it concerns ("" when none). The key must be in v.Digests.
func (v *View) Data(key string) (json.RawMessage, string, error) {
	k, _ := KindOf(key)
	name := strings.TrimPrefix(key, keyPrefix[k])
	var (
		obj   any
		orgID string
	)
	switch k {
	case KindPermission:
		if p := v.perms[name]; p != nil {
			obj = workos.PermissionOf(p)
		}
	case KindRole:
		if r := v.c.EnvironmentRole(name); r != nil {
			obj = workos.RoleEventOf(r)
		}
	case KindOrganization:
		if o := v.orgs[name]; o != nil {
			obj, orgID = workos.OrganizationOf(o), o.ID()
		}
	case KindOrganizationRole:
		orgName, slug, _ := strings.Cut(name, "/")
		if o := v.orgs[orgName]; o != nil {
			if r := o.RoleBySlug(slug); r != nil && r.Type() == resolve.RoleTypeOrganization {
				obj, orgID = workos.OrganizationRoleEventOf(o.ID(), r), o.ID()
			}
		}
	case KindMembership:
		if m := v.c.Membership(name); m != nil {
			w := workos.MembershipOf(v.c, m)
			obj, orgID = w, w.OrganizationID
		}
	}
	if obj == nil {
		return nil, "", fmt.Errorf("no object for key %s", key)
	}
	raw, err := json.Marshal(obj)
	if err != nil {
		return nil, "", fmt.Errorf("encoding the data of %s: %w", key, err)
	}
	return raw, orgID, nil
}

// Created returns the creation time of the object of key (zero when v has
// none).
func (v *View) Created(key string) time.Time {
	k, _ := KindOf(key)
	name := strings.TrimPrefix(key, keyPrefix[k])
	switch k {
	case KindPermission:
		if p := v.perms[name]; p != nil {
			return p.CreationTimestamp.Time
		}
	case KindRole:
		if r := v.c.EnvironmentRole(name); r != nil {
			return r.Created()
		}
	case KindOrganization:
		if o := v.orgs[name]; o != nil {
			return o.Created()
		}
	case KindOrganizationRole:
		orgName, slug, _ := strings.Cut(name, "/")
		if o := v.orgs[orgName]; o != nil {
			if r := o.RoleBySlug(slug); r != nil {
				return r.Created()
			}
		}
	case KindMembership:
		if m := v.c.Membership(name); m != nil {
			return m.Created()
		}
	}
	return time.Time{}
}

// TombstoneData is the data of the deletion of key when the log no longer
// holds an event about it (retention pruned it): the object's type and the
// identifier its key holds.
func TombstoneData(key string) json.RawMessage {
	k, _ := KindOf(key)
	name := strings.TrimPrefix(key, keyPrefix[k])
	var obj map[string]string
	switch k {
	case KindPermission:
		obj = map[string]string{"object": "permission", "slug": name}
	case KindRole:
		obj = map[string]string{"object": "role", "slug": name, "resource_type_slug": workos.RoleResourceType}
	case KindOrganization:
		obj = map[string]string{"object": "organization", "id": name}
	case KindOrganizationRole:
		_, slug, _ := strings.Cut(name, "/")
		obj = map[string]string{"object": "organization_role", "slug": slug,
			"resource_type_slug": workos.RoleResourceType}
	default:
		obj = map[string]string{"object": "organization_membership", "id": name}
	}
	raw, _ := json.Marshal(obj) //nolint:errchkjson // a map of strings always encodes
	return raw
}
