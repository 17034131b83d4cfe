package authz

import (
	"slices"
	"testing"

	"github.com/orgrbac/orgrbac/internal/publish"
	"github.com/orgrbac/orgrbac/internal/resolve"
)

// snapshotRoles is the roles an organization of a snapshot sees, as a
// resolve.RoleSet: the environment roles and its own.
type snapshotRoles struct {
	s   *Snapshot
	org string
}

func (r snapshotRoles) Role(slug string) ([]string, bool) {
	for _, x := range r.s.Roles {
		if x.Slug == slug && (x.Type == publish.RoleTypeEnvironment || x.Organization == r.org) {
			return x.Permissions, true
		}
	}
	return nil, false
}

func (r snapshotRoles) Defines(slug string) bool {
	_, ok := r.Role(slug)
	return ok
}

// FuzzAllowedIsRuleR11 pins the compiled lookups to resolve's rule R11 as the
// published snapshot carries it: a member (the publisher's elected, granting
// Membership, with resolve.CurrentRoles of its status) holds a permission when
// one of its roles, as the snapshot defines it, grants it (resolve.RoleGrants).
// The bit sets are that rule, compiled so a check allocates nothing.
func FuzzAllowedIsRuleR11(f *testing.F) {
	f.Add([]byte{0x13, 0x25, 0x07, 0x31, 0x02, 0x13})
	f.Add([]byte{0xff, 0xfe, 0x10, 0x20, 0x30})
	f.Fuzz(func(t *testing.T, data []byte) {
		next := func() byte {
			if len(data) == 0 {
				return 0
			}
			b := data[0]
			data = data[1:]
			return b
		}
		perms := []string{"p0", "p1", "p2", "p3"}
		subset := func(b byte) []string {
			var out []string
			for i, p := range perms {
				if b&(1<<i) != 0 {
					out = append(out, p)
				}
			}
			return out
		}
		s := &Snapshot{Revision: 1}
		for _, slug := range []string{"admin", "member"} {
			if b := next(); b&0x80 == 0 {
				s.Roles = append(s.Roles, Role{Slug: slug, Type: publish.RoleTypeEnvironment, Permissions: subset(b)})
			}
		}
		orgs := []string{"acme", "globex"}
		for _, org := range orgs {
			if b := next(); b&0x80 == 0 {
				s.Roles = append(s.Roles, Role{Slug: "org-x", Type: publish.RoleTypeOrganization, Organization: org, Permissions: subset(b)})
			}
		}
		for _, org := range orgs {
			o := Organization{Name: org}
			for _, user := range []string{"u0", "u1"} {
				var roles []string
				for b := next(); b != 0; b >>= 2 {
					if slug := []string{"admin", "member", "org-x", ""}[b&3]; slug != "" &&
						(snapshotRoles{s, org}).Defines(slug) && !slices.Contains(roles, slug) {
						roles = append(roles, slug)
					}
				}
				if len(roles) > 0 {
					o.Members = append(o.Members, Member{User: user, Membership: org + "-" + user, Roles: roles})
				}
			}
			s.Organizations = append(s.Organizations, o)
		}
		n := publish.Normalize(s)
		if err := publish.Validate(n); err != nil {
			t.Skip(err)
		}
		d := compile(n)
		for _, org := range orgs {
			set := snapshotRoles{n, org}
			for _, user := range []string{"u0", "u1", "nobody"} {
				var roles []string
				for _, o := range n.Organizations {
					for _, m := range o.Members {
						if o.Name == org && m.User == user {
							roles = m.Roles
						}
					}
				}
				for _, p := range append(perms, "p9") {
					want := len(resolve.GrantingRoles(set, resolve.CurrentRoles(set, roles), p)) > 0
					if got := d.allowed(org, user, p); got != want {
						t.Fatalf("allowed(%s, %s, %s) = %v, rule R11 says %v; snapshot %+v", org, user, p, got, want, n)
					}
				}
			}
		}
	})
}
