package api

import (
	"net/http"

	"github.com/orgrbac/orgrbac/internal/api/store"
	"github.com/orgrbac/orgrbac/internal/workos"
)

// The WorkOS authorization check of one organization membership.

// maxWorkOSCheckBody bounds the body of POST
// /authorization/organization_memberships/{id}/check: one permission slug
// and one resource, with room to spare.
const maxWorkOSCheckBody = 16 << 10

// checkResult is the answer of the WorkOS authorization check.
type checkResult struct {
	Authorized bool `json:"authorized"`
}

// workosCheckRequest is the body of the WorkOS authorization check.
type workosCheckRequest struct {
	Namespace            string `json:"namespace"`
	PermissionSlug       string `json:"permission_slug"`
	ResourceID           string `json:"resource_id"`
	ResourceExternalID   string `json:"resource_external_id"`
	ResourceTypeSlugName string `json:"resource_type_slug"`
}

func (s *Server) workosCheck(w http.ResponseWriter, r *http.Request, u caller) {
	var req workosCheckRequest
	e := s.bodyEnvironment(w, r, u, maxWorkOSCheckBody, &req, func() string { return req.Namespace })
	if e == nil {
		return
	}
	switch {
	case req.PermissionSlug == "":
		writeInvalid(w, "permission_slug", "permission_slug is required")
		return
	case req.ResourceID != "" && (req.ResourceExternalID != "" || req.ResourceTypeSlugName != ""):
		writeInvalid(w, "resource_id", "use either resource_id or resource_external_id with resource_type_slug")
		return
	case req.ResourceExternalID != "" && req.ResourceTypeSlugName == "":
		writeInvalid(w, "resource_type_slug", "resource_type_slug is required with resource_external_id")
		return
	case req.ResourceTypeSlugName != "" && req.ResourceExternalID == "":
		writeInvalid(w, "resource_external_id", "resource_external_id is required with resource_type_slug")
		return
	}
	answer(w, e, func(c *store.Content) (int, any) {
		m := c.Membership(r.PathValue("id"))
		if m == nil {
			return notFound("Organization membership", r.PathValue("id"))
		}
		// The one resource of this model is the membership's organization (type
		// "organization", its WorkOS id as external id or id): any other
		// resource does not exist for it.
		org := c.OrganizationOf(m)
		switch {
		case req.ResourceTypeSlugName != "" && req.ResourceTypeSlugName != workos.RoleResourceType:
			return notFound("Resource type", req.ResourceTypeSlugName)
		case req.ResourceExternalID != "" && req.ResourceExternalID != org.ID():
			return notFound("Resource", req.ResourceExternalID)
		case req.ResourceID != "" && req.ResourceID != org.ID():
			return notFound("Resource", req.ResourceID)
		}
		d := store.Decide(org, m, []string{req.PermissionSlug})
		countDecision("workos", d.Allowed)
		return http.StatusOK, checkResult{Authorized: d.Allowed}
	})
}
