package authz

import (
	"time"

	"github.com/orgrbac/orgrbac/internal/publish"
	"github.com/orgrbac/orgrbac/internal/resolve"
)

// decisions is a snapshot compiled for lookups: permission slugs interned to bit
// positions, each role a bit set, each organization (by name and by external
// id) a map from user to the user's roles. It is immutable once built.
type decisions struct {
	snapshot *Snapshot
	// publishedAt is when the publisher last confirmed the snapshot current
	// (zero when unknown).
	publishedAt time.Time
	perms       map[string]int
	orgs        map[string]map[string][]roleBits
}

// roleBits is a role's permission set, one bit per interned permission.
type roleBits []uint64

// compile builds the decisions of a valid snapshot.
func compile(s *Snapshot) *decisions {
	d := &decisions{snapshot: s, perms: map[string]int{}, orgs: make(map[string]map[string][]roleBits, 2*len(s.Organizations))}
	for _, r := range s.Roles {
		for _, p := range r.Permissions {
			if _, ok := d.perms[p]; !ok {
				d.perms[p] = len(d.perms)
			}
		}
	}
	words := (len(d.perms) + 63) / 64
	envRoles := map[string]roleBits{}
	orgRoles := map[[2]string]roleBits{}
	for _, r := range s.Roles {
		bits := make(roleBits, words)
		for _, p := range r.Permissions {
			i := d.perms[p]
			bits[i/64] |= 1 << (i % 64)
		}
		if r.Type == publish.RoleTypeEnvironment {
			envRoles[r.Slug] = bits
		} else {
			orgRoles[[2]string{r.Organization, r.Slug}] = bits
		}
	}
	// An id (externalID or name) names the organization
	// resolve.IndexOrganizations gives it, the decision API's rule. A valid
	// snapshot has no colliding ids (publish.Validate refuses them, and the
	// publisher leaves duplicate organizations out), so the snapshot carries no
	// creation times: the rule only has to agree on collision-free input.
	refs := make([]resolve.OrganizationRef, len(s.Organizations))
	for i, o := range s.Organizations {
		refs[i] = resolve.OrganizationRef{Meta: resolve.Meta{Name: o.Name}, ExternalID: o.ExternalID}
	}
	ids := resolve.IndexOrganizations(refs)
	for _, o := range s.Organizations {
		members := make(map[string][]roleBits, len(o.Members))
		for _, m := range o.Members {
			roles := make([]roleBits, 0, len(m.Roles))
			for _, slug := range m.Roles {
				if bits, ok := envRoles[slug]; ok {
					roles = append(roles, bits)
				} else if bits, ok := orgRoles[[2]string{o.Name, slug}]; ok {
					roles = append(roles, bits)
				}
			}
			members[m.User] = roles
		}
		for _, key := range [2]string{o.Name, o.ExternalID} {
			if owner, ok := ids.Lookup(key); ok && owner == o.Name {
				d.orgs[key] = members
			}
		}
	}
	return d
}

// allowed reports whether user of org holds permission. It does not allocate.
func (d *decisions) allowed(org, user, permission string) bool {
	members, ok := d.orgs[org]
	if !ok {
		return false
	}
	roles, ok := members[user]
	if !ok {
		return false
	}
	p, ok := d.perms[permission]
	if !ok {
		return false
	}
	word, bit := p/64, uint64(1)<<(p%64)
	for _, r := range roles {
		if r[word]&bit != 0 {
			return true
		}
	}
	return false
}
