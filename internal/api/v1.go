package api

import (
	"fmt"
	"net/http"
	"slices"

	"github.com/orgrbac/orgrbac/internal/api/store"
	"github.com/orgrbac/orgrbac/internal/apiview"
)

// orgrbac's own endpoints under /v1: the check, one member's resolved view,
// and the holders of a permission.

// maxCheckBody bounds the body of POST /v1/check by what the largest valid
// request needs, with room to spare: a check of 100 permissions of 128
// characters is about 14 KiB.
const maxCheckBody = 64 << 10

// maxPermissions bounds the permissions of one check.
const maxPermissions = 100

// checkRequest is the body of POST /v1/check.
type checkRequest struct {
	Namespace    string   `json:"namespace"`
	Organization string   `json:"organization"`
	User         string   `json:"user"`
	Permission   string   `json:"permission"`
	Permissions  []string `json:"permissions"`
}

// checkResponse is the answer of POST /v1/check.
type checkResponse struct {
	Allowed bool     `json:"allowed"`
	Role    string   `json:"role"`
	Roles   []string `json:"roles"`
	Reason  string   `json:"reason"`
	Missing []string `json:"missing,omitempty"`
}

// requireMember answers 422 unless a body names both the organization and the
// user of the member it is about (POST /v1/check, POST /v1/tokens).
func requireMember(w http.ResponseWriter, organization, user string) bool {
	switch {
	case organization == "":
		writeInvalid(w, "organization", "organization is required")
		return false
	case user == "":
		writeInvalid(w, "user", "user is required")
		return false
	}
	return true
}

func (s *Server) v1Check(w http.ResponseWriter, r *http.Request, u caller) {
	var req checkRequest
	e := s.bodyEnvironment(w, r, u, maxCheckBody, &req, func() string { return req.Namespace })
	if e == nil {
		return
	}
	perms := req.Permissions
	if req.Permission != "" {
		perms = append([]string{req.Permission}, perms...)
	}
	switch {
	case !requireMember(w, req.Organization, req.User):
		return
	case len(perms) == 0:
		writeInvalid(w, "permission", "permission or permissions is required")
		return
	case len(perms) > maxPermissions:
		writeInvalid(w, "permissions", fmt.Sprintf("at most %d permissions can be checked at once", maxPermissions))
		return
	case slices.Contains(perms, ""):
		writeInvalid(w, "permissions", "permissions must not be empty strings")
		return
	}
	var d store.Decision
	// d.Roles is an interned value: immutable, safe to read after the lock.
	setRevision(w, e.Read(func(c *store.Content) { d = c.Check(req.Organization, req.User, perms) }))
	countDecision("v1", d.Allowed)
	roles := d.Roles
	if roles == nil {
		roles = []string{}
	}
	writeJSON(w, http.StatusOK, checkResponse{Allowed: d.Allowed, Role: d.Role, Roles: roles, Reason: d.Reason, Missing: d.Missing})
}

func (s *Server) v1Membership(w http.ResponseWriter, r *http.Request, u caller) {
	s.answerOrg(w, r, u, "org", func(c *store.Content, org *store.Organization) (int, any) {
		m := c.Member(org, r.PathValue("user"))
		if m == nil {
			return notFound("Organization membership of user", r.PathValue("user"))
		}
		v := apiview.Membership{Namespace: c.Namespace(), Organization: org.Name(), OrganizationID: org.ID(), User: m.User(),
			Email: m.Email(), Membership: m.Name(), State: string(m.State()), Ready: m.Ready(), Reason: m.Reason(),
			Active: m.Grants(), Role: m.Role(), Roles: append([]string{}, m.Roles()...), Source: string(m.Source())}
		v.SetGrants(org, m.Assignments(), m.Permissions())
		return http.StatusOK, v
	})
}

func (s *Server) v1Members(w http.ResponseWriter, r *http.Request, u caller) {
	s.answerOrg(w, r, u, "org", func(c *store.Content, org *store.Organization) (int, any) {
		p := r.PathValue("permission")
		v := apiview.Holders{Namespace: c.Namespace(), Organization: org.Name(), OrganizationID: org.ID(), Permission: p,
			Members: []apiview.Holder{}}
		for _, m := range c.Holders(org, p) {
			v.Members = append(v.Members, apiview.NewHolder(org, m.User(), m.Name(), m.Roles(), p))
		}
		return http.StatusOK, v
	})
}
