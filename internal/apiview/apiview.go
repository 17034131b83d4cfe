// Package apiview holds the decision API's answers that kubectl orgrbac prints
// too, and builds them in one place: what a membership holds, which of its roles
// grants each permission, and who holds a permission. It is pure: its inputs are
// resolved statuses and the roles as an organization sees them now.
package apiview

import (
	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/resolve"
)

// Grant is one effective role with its provenance.
type Grant struct {
	Role   string `json:"role"`
	Source string `json:"source"`
	Group  string `json:"group,omitempty"`
}

// PermissionGrant says which effective roles grant a permission.
type PermissionGrant struct {
	Permission string  `json:"permission"`
	GrantedBy  []Grant `json:"grantedBy"`
}

// Membership is the answer of GET /v1/organizations/{org}/memberships/{user}
// and of kubectl orgrbac explain.
type Membership struct {
	Namespace      string            `json:"namespace"`
	Organization   string            `json:"organization"`
	OrganizationID string            `json:"organizationId"`
	User           string            `json:"user"`
	Email          string            `json:"email,omitempty"`
	Membership     string            `json:"membership"`
	State          string            `json:"state"`
	Ready          bool              `json:"ready"`
	Reason         string            `json:"reason"`
	Active         bool              `json:"active"`
	Role           string            `json:"role"`
	Roles          []string          `json:"roles"`
	Source         string            `json:"source"`
	Assignments    []Grant           `json:"assignments"`
	Permissions    []PermissionGrant `json:"permissions"`
	// RemovedRoles are the roles the role-cleanup finalizer removed from the
	// membership's spec (kubectl orgrbac explain only).
	RemovedRoles []string `json:"removedRoles,omitempty"`
}

// SetGrants fills Assignments from the membership's resolved assignments and,
// when the membership grants (Active), Permissions: each permission it holds
// with the assignments whose role grants it as o defines the role now.
func (v *Membership) SetGrants(o resolve.RoleSet, assignments []orgrbacv1alpha1.RoleAssignment, permissions []string) {
	v.Assignments = make([]Grant, 0, len(assignments))
	for _, a := range assignments {
		v.Assignments = append(v.Assignments, Grant{Role: a.Role, Source: string(a.Source), Group: a.Group})
	}
	v.Permissions = []PermissionGrant{}
	if !v.Active {
		return
	}
	for _, p := range permissions {
		pg := PermissionGrant{Permission: p, GrantedBy: []Grant{}}
		for _, a := range v.Assignments {
			if resolve.RoleGrants(o, a.Role, p) {
				pg.GrantedBy = append(pg.GrantedBy, a)
			}
		}
		v.Permissions = append(v.Permissions, pg)
	}
}

// Holder is a member holding a permission, with the roles that grant it
// (highest priority first) and, for kubectl orgrbac who-can, where the first
// one comes from.
type Holder struct {
	User       string   `json:"user"`
	Membership string   `json:"membership"`
	Role       string   `json:"role"`
	Roles      []string `json:"roles"`
	Source     string   `json:"source,omitempty"`
	Group      string   `json:"group,omitempty"`
}

// NewHolder is the holder of permission p among a membership's effective roles,
// as o defines them now.
func NewHolder(o resolve.RoleSet, user, membership string, roles []string, p string) Holder {
	h := Holder{User: user, Membership: membership, Roles: []string{}}
	h.Roles = append(h.Roles, resolve.GrantingRoles(o, roles, p)...)
	if len(h.Roles) > 0 {
		h.Role = h.Roles[0]
	}
	return h
}

// Holders is the answer of GET
// /v1/organizations/{org}/permissions/{permission}/members and of kubectl
// orgrbac who-can.
type Holders struct {
	Namespace      string   `json:"namespace"`
	Organization   string   `json:"organization"`
	OrganizationID string   `json:"organizationId"`
	Permission     string   `json:"permission"`
	Members        []Holder `json:"members"`
}
