package api

import "net/http"

// Organization-role writes through the WorkOS routes: each is a write of an
// OrganizationRole object in the caller's environment.

func (s *Server) createOrganizationRole(w http.ResponseWriter, r *http.Request, u caller) {
	notImplemented(w)
}

func (s *Server) updateOrganizationRole(w http.ResponseWriter, r *http.Request, u caller) {
	notImplemented(w)
}

func (s *Server) deleteOrganizationRole(w http.ResponseWriter, r *http.Request, u caller) {
	notImplemented(w)
}

func (s *Server) addOrganizationRolePermission(w http.ResponseWriter, r *http.Request, u caller) {
	notImplemented(w)
}

func (s *Server) setOrganizationRolePermissions(w http.ResponseWriter, r *http.Request, u caller) {
	notImplemented(w)
}

func (s *Server) removeOrganizationRolePermission(w http.ResponseWriter, r *http.Request, u caller) {
	notImplemented(w)
}
