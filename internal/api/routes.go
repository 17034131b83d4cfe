package api

import (
	"fmt"
	"net/http"
)

// What each route of the decision API requires of its caller: the one place
// where routes and their permissions are decided. docs/decision-api.md and
// config/rbac (api_caller_role.yaml, api_reader_role.yaml) follow this table,
// and TestRouteTableMatchesTheDocs keeps the documentation in step.
//
// The rule: answering "allowed or not" needs `create permissionchecks`;
// anything that returns orgrbac objects needs the verb kubectl would need to
// read them (list for lists, get for one object), so the API never shows more
// than `kubectl get` would show the same caller.

// The API group and the resources callers need RBAC on, in the environment's
// namespace, checked with SubjectAccessReviews.
const (
	// CheckGroup is the API group of every resource below.
	CheckGroup = "orgrbac.dev"
	// CheckResource is the virtual resource that authorizes checks: nothing
	// stores it, RBAC grants it.
	CheckResource = "permissionchecks"
	// CheckVerb is the verb checks need on CheckResource.
	CheckVerb = "create"
	// MembershipResource is the resource the membership reads need get or list on.
	MembershipResource = "memberships"
	// RoleResource is the resource of environment roles.
	RoleResource = "roles"
	// OrganizationRoleResource is the resource of organization roles.
	OrganizationRoleResource = "organizationroles"
	// OrganizationResource is the resource of organizations.
	OrganizationResource = "organizations"
	// AccessTokenResource is the virtual resource that authorizes minting
	// access tokens: nothing stores it, RBAC grants it (create) to the few
	// trusted callers, such as an application's login service, that may mint
	// a token for any member.
	AccessTokenResource = "accesstokens"
	// EventResource is the virtual resource that authorizes reading the
	// environment's change events (GET /events): nothing stores it (the log is
	// in EventSegments, which callers never read), RBAC grants it (list).
	EventResource = "events"
)

// access is one verb on one resource of CheckGroup.
type access struct {
	verb, resource string
}

func (a access) String() string { return fmt.Sprintf("%s %s.%s", a.verb, a.resource, CheckGroup) }

var (
	mayCheck           = access{CheckVerb, CheckResource}
	mayGetMembership   = access{"get", MembershipResource}
	mayListMemberships = access{"list", MembershipResource}
	mayGetRole         = access{"get", RoleResource}
	mayListRoles       = access{"list", RoleResource}
	mayGetOrgRole      = access{"get", OrganizationRoleResource}
	mayListOrgRoles    = access{"list", OrganizationRoleResource}
	mayGetOrg          = access{"get", OrganizationResource}
	mayListOrgs        = access{"list", OrganizationResource}
	mayListEvents      = access{"list", EventResource}
	// Writes need the verb kubectl would need for the same write: the API
	// never writes what its caller could not write itself.
	mayCreateMembership = access{"create", MembershipResource}
	mayUpdateMembership = access{"update", MembershipResource}
	mayDeleteMembership = access{"delete", MembershipResource}
	mayCreateOrgRole    = access{"create", OrganizationRoleResource}
	mayUpdateOrgRole    = access{"update", OrganizationRoleResource}
	mayDeleteOrgRole    = access{"delete", OrganizationRoleResource}
	mayMintToken        = access{"create", AccessTokenResource}
)

// handler serves a route for an authenticated caller.
type handler func(s *Server, w http.ResponseWriter, r *http.Request, c caller)

// route is a route of the API and what its callers need, all of it, in the
// namespace of the environment it answers from.
type route struct {
	pattern string
	needs   []access
	serve   handler
}

// routeTable lists every route of the API.
var routeTable = []route{
	// Checks answer allowed or not (with the roles and reason that explain it,
	// for the user the caller names): no member list, no email.
	{"POST /v1/check", []access{mayCheck}, (*Server).v1Check},
	{"POST /authorization/organization_memberships/{id}/check", []access{mayCheck}, (*Server).workosCheck},
	// One member's resolved view, with its email.
	{"GET /v1/organizations/{org}/memberships/{user}", []access{mayGetMembership}, (*Server).v1Membership},
	// Who holds a permission: a list of members.
	{"GET /v1/organizations/{org}/permissions/{permission}/members", []access{mayListMemberships}, (*Server).v1Members},
	{"GET /user_management/organization_memberships", []access{mayListMemberships}, (*Server).listMemberships},
	{"GET /user_management/organization_memberships/{id}", []access{mayGetMembership}, (*Server).getMembership},
	// The role catalog. An organization's roles include the environment roles
	// it sees, so those routes need the reads of both kinds.
	{"GET /authorization/roles", []access{mayListRoles}, (*Server).listEnvironmentRoles},
	{"GET /authorization/roles/{slug}", []access{mayGetRole}, (*Server).getEnvironmentRole},
	{"GET /authorization/organizations/{id}/roles", []access{mayListOrgRoles, mayListRoles}, (*Server).listOrganizationRoles},
	{"GET /authorization/organizations/{id}/roles/{slug}", []access{mayGetOrgRole, mayGetRole}, (*Server).getOrganizationRole},
	// The legacy route of older SDKs for an organization's roles.
	{"GET /organizations/{id}/roles", []access{mayListOrgRoles, mayListRoles}, (*Server).listOrganizationRoles},
	// Organizations. The path /organizations/external_id/roles matches this
	// route and the legacy one above: it is this one (see sharedPatterns).
	{"GET /organizations", []access{mayListOrgs}, (*Server).listOrganizations},
	{"GET /organizations/{id}", []access{mayGetOrg}, (*Server).getOrganization},
	{"GET /organizations/external_id/{external_id}", []access{mayGetOrg}, (*Server).getOrganizationByExternalID},

	// The change events (workos_events.go): every change of the objects the
	// reads above serve, with the objects, so a read of its own.
	{"GET /events", []access{mayListEvents}, (*Server).listEvents},

	// Membership writes (workos_membership_writes.go): each is a write of a
	// Membership object, with the verb kubectl would need for it.
	{"POST /user_management/organization_memberships", []access{mayCreateMembership}, (*Server).createMembership},
	{"PUT /user_management/organization_memberships/{id}", []access{mayUpdateMembership}, (*Server).updateMembership},
	{"DELETE /user_management/organization_memberships/{id}", []access{mayDeleteMembership}, (*Server).deleteMembership},
	{"PUT /user_management/organization_memberships/{id}/deactivate", []access{mayUpdateMembership}, (*Server).deactivateMembership},
	{"PUT /user_management/organization_memberships/{id}/reactivate", []access{mayUpdateMembership}, (*Server).reactivateMembership},

	// Organization-role writes (workos_orgrole_writes.go): each is a write of
	// an OrganizationRole object.
	{"POST /authorization/organizations/{id}/roles", []access{mayCreateOrgRole}, (*Server).createOrganizationRole},
	{"PATCH /authorization/organizations/{id}/roles/{slug}", []access{mayUpdateOrgRole}, (*Server).updateOrganizationRole},
	{"DELETE /authorization/organizations/{id}/roles/{slug}", []access{mayDeleteOrgRole}, (*Server).deleteOrganizationRole},
	{"POST /authorization/organizations/{id}/roles/{slug}/permissions", []access{mayUpdateOrgRole}, (*Server).addOrganizationRolePermission},
	{"PUT /authorization/organizations/{id}/roles/{slug}/permissions", []access{mayUpdateOrgRole}, (*Server).setOrganizationRolePermissions},
	{"DELETE /authorization/organizations/{id}/roles/{slug}/permissions/{permission}", []access{mayUpdateOrgRole}, (*Server).removeOrganizationRolePermission},

	// Access tokens (tokens.go): a signed JWT in WorkOS's access-token shape
	// for one member, verifiable offline against the public key set.
	{"POST /v1/tokens", []access{mayMintToken}, (*Server).mintToken},
}

// publicRoute is a route served to anyone, authenticated or not: only the
// public key set that verifies access tokens, which is public by design (the
// SDKs fetch it without credentials). Nothing else may be public.
type publicRoute struct {
	pattern string
	serve   http.HandlerFunc
}

// publicRoutes lists the public routes (tokens.go).
func (s *Server) publicRoutes() []publicRoute {
	return []publicRoute{
		// The URL the SDKs build with getJwksUrl(clientId); the client id is the
		// environment's namespace, and every environment shares the key set.
		{"GET /sso/jwks/{clientId}", s.serveJWKS},
		{"GET /.well-known/jwks.json", s.serveJWKS},
	}
}

// caller is an authenticated caller and what the route it calls needs.
type caller struct {
	*userInfo
	needs []access
}

// sharedPattern serves routes of routeTable whose patterns overlap, which
// http.ServeMux refuses, under one pattern: pick returns the route of a
// request (its pattern in routeTable) and sets the path values that route's
// handler reads; "" when none serves it (404).
type sharedPattern struct {
	pattern string
	routes  []string
	pick    func(r *http.Request) string
}

// sharedPatterns lists the overlapping routes. WorkOS organization ids are
// never "external_id", so /organizations/external_id/X is always the lookup by
// external id, and the legacy roles route serves every other id.
var sharedPatterns = []sharedPattern{{
	pattern: "GET /organizations/{id}/{child}",
	routes:  []string{"GET /organizations/external_id/{external_id}", "GET /organizations/{id}/roles"},
	pick: func(r *http.Request) string {
		switch {
		case r.PathValue("id") == "external_id":
			r.SetPathValue("external_id", r.PathValue("child"))
			return "GET /organizations/external_id/{external_id}"
		case r.PathValue("child") == "roles":
			return "GET /organizations/{id}/roles"
		}
		return ""
	},
}}

// handleRoutes registers every route of routeTable on mux, each behind the
// authentication and the authorization of what it needs.
func (s *Server) handleRoutes(mux *http.ServeMux) {
	served := map[string]http.Handler{}
	for _, rt := range routeTable {
		if len(rt.needs) == 0 {
			panic("api: route " + rt.pattern + " names no access: every route needs at least one (routes.go)")
		}
		served[rt.pattern] = s.authed(rt.needs, rt.serve)
	}
	for _, sp := range sharedPatterns {
		handlers := map[string]http.Handler{}
		for _, p := range sp.routes {
			if served[p] == nil {
				panic("api: shared pattern " + sp.pattern + " names " + p + ", which is not in routeTable")
			}
			handlers[p], served[p] = served[p], nil
		}
		notFound := s.authed(nil, serveNotFound)
		mux.Handle(sp.pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if h := handlers[sp.pick(r)]; h != nil {
				h.ServeHTTP(w, r)
				return
			}
			notFound.ServeHTTP(w, r)
		}))
	}
	for _, rt := range routeTable {
		if h := served[rt.pattern]; h != nil {
			mux.Handle(rt.pattern, h)
		}
	}
}

// serveNotFound answers 404 for a path no route serves.
func serveNotFound(_ *Server, w http.ResponseWriter, r *http.Request, _ caller) {
	writeError(w, http.StatusNotFound, codeNotFound, fmt.Sprintf("The requested path '%s' could not be found.", r.URL.Path))
}

// routes builds the server's mux (every route of routeTable behind its gate,
// the public routes, and a 404 for the rest) and the bounds ServeHTTP applies.
func (s *Server) routes() {
	mux := http.NewServeMux()
	s.handleRoutes(mux)
	for _, rt := range s.publicRoutes() {
		mux.Handle(rt.pattern, rt.serve)
	}
	// Unknown paths: authenticated callers only, so that they leak nothing.
	mux.Handle("/", s.authed(nil, serveNotFound))
	s.mux = mux
	limit := s.opts.MaxRequestsInFlight
	if limit == 0 {
		limit = DefaultMaxRequestsInFlight
	}
	if limit > 0 {
		s.inflight = make(chan struct{}, limit)
	}
	bodies := maxUnauthorizedBodies
	if limit > 0 {
		bodies = min(limit, bodies)
	}
	s.unauthorizedBodies = make(chan struct{}, bodies)
}
