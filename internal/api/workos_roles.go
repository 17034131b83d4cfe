package api

import (
	"net/http"

	"github.com/orgrbac/orgrbac/internal/api/store"
	"github.com/orgrbac/orgrbac/internal/workos"
)

// The WorkOS role reads: the environment's roles and an organization's (the
// environment roles it sees and its own), listed or one by slug.

func roleList(roles []*store.Role) listObject[workos.Role] {
	out := listObject[workos.Role]{Object: "list", Data: make([]workos.Role, 0, len(roles))}
	for _, r := range roles {
		out.Data = append(out.Data, workos.RoleOf(r))
	}
	return out
}

func (s *Server) listEnvironmentRoles(w http.ResponseWriter, r *http.Request, u caller) {
	s.answerEnv(w, r, u, func(c *store.Content) (int, any) { return http.StatusOK, roleList(c.EnvironmentRoles()) })
}

func (s *Server) getEnvironmentRole(w http.ResponseWriter, r *http.Request, u caller) {
	s.answerEnv(w, r, u, func(c *store.Content) (int, any) {
		role := c.EnvironmentRole(r.PathValue("slug"))
		if role == nil {
			return notFound("Role", r.PathValue("slug"))
		}
		return http.StatusOK, workos.RoleOf(role)
	})
}

func (s *Server) listOrganizationRoles(w http.ResponseWriter, r *http.Request, u caller) {
	s.answerOrg(w, r, u, "id", func(_ *store.Content, org *store.Organization) (int, any) {
		return http.StatusOK, roleList(org.Roles())
	})
}

func (s *Server) getOrganizationRole(w http.ResponseWriter, r *http.Request, u caller) {
	s.answerOrg(w, r, u, "id", func(_ *store.Content, org *store.Organization) (int, any) {
		role := org.RoleBySlug(r.PathValue("slug"))
		if role == nil {
			return notFound("Role", r.PathValue("slug"))
		}
		return http.StatusOK, workos.RoleOf(role)
	})
}
