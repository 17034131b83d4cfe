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
}

// caller is an authenticated caller and what the route it calls needs.
type caller struct {
	*userInfo
	needs []access
}
