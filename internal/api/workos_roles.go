package api

import (
	"encoding/json"
	"net/http"

	"github.com/orgrbac/orgrbac/internal/api/store"
	"github.com/orgrbac/orgrbac/internal/resolve"
)

// The WorkOS role reads: the environment's roles and an organization's (the
// environment roles it sees and its own), listed or one by slug.

// roleObject is WorkOS's role object. Its JSON (MarshalJSON) also carries
// WorkOS's resource_type_slug, and a null description when it has none.
type roleObject struct {
	Object      string   `json:"object"`
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Slug        string   `json:"slug"`
	Description string   `json:"description"`
	Permissions []string `json:"permissions"`
	Type        string   `json:"type"`
	CreatedAt   string   `json:"created_at"`
	UpdatedAt   string   `json:"updated_at"`
}

// roleResourceType is the resource type of every role: organization roles
// and environment roles are all scoped to organizations, as WorkOS's default.
const roleResourceType = "organization"

// MarshalJSON writes the role as WorkOS does: description null when empty,
// and the resource type slug.
func (r roleObject) MarshalJSON() ([]byte, error) {
	var desc *string
	if r.Description != "" {
		desc = &r.Description
	}
	return json.Marshal(struct {
		Object           string   `json:"object"`
		ID               string   `json:"id"`
		Name             string   `json:"name"`
		Slug             string   `json:"slug"`
		Description      *string  `json:"description"`
		Permissions      []string `json:"permissions"`
		ResourceTypeSlug string   `json:"resource_type_slug"`
		Type             string   `json:"type"`
		CreatedAt        string   `json:"created_at"`
		UpdatedAt        string   `json:"updated_at"`
	}{r.Object, r.ID, r.Name, r.Slug, desc, r.Permissions, roleResourceType, r.Type, r.CreatedAt, r.UpdatedAt})
}

func roleObjectOf(r *store.Role) roleObject {
	name := r.DisplayName()
	if name == "" {
		name = r.Slug()
	}
	typ := string(r.Type())
	if typ == "" {
		typ = string(resolve.RoleTypeEnvironment)
	}
	return roleObject{Object: "role", ID: r.Name(), Name: name, Slug: r.Slug(), Description: r.Description(),
		Permissions: append(make([]string, 0, len(r.Permissions())), r.Permissions()...), Type: typ,
		CreatedAt: formatTime(r.Created()), UpdatedAt: formatTime(r.Updated())}
}

func roleList(roles []*store.Role) listObject[roleObject] {
	out := listObject[roleObject]{Object: "list", Data: make([]roleObject, 0, len(roles))}
	for _, r := range roles {
		out.Data = append(out.Data, roleObjectOf(r))
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
		return http.StatusOK, roleObjectOf(role)
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
		return http.StatusOK, roleObjectOf(role)
	})
}
