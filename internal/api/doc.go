// Package api serves the HTTP decision API: orgrbac's own endpoints under /v1
// and WorkOS-compatible ones under /user_management and /authorization, so code
// written against the official WorkOS SDKs works against the cluster.
//
// Answers come from an in-memory index built from the manager's informer cache
// (Membership statuses, Roles, OrganizationRoles, Organizations, Environments),
// which runs on every replica: the read model of internal/api/store, whose HTTP
// face this package is (routes, authentication and authorization, wire formats,
// writes, access tokens). Requests never reach the API server except to
// authenticate (TokenReview) and authorize (SubjectAccessReview) callers, and
// those results are cached. See docs/decision-api.md.
package api
