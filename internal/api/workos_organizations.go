package api

import "net/http"

// The WorkOS organization reads.

func (s *Server) listOrganizations(w http.ResponseWriter, r *http.Request, u caller) {
	notImplemented(w)
}

func (s *Server) getOrganization(w http.ResponseWriter, r *http.Request, u caller) { notImplemented(w) }

func (s *Server) getOrganizationByExternalID(w http.ResponseWriter, r *http.Request, u caller) {
	notImplemented(w)
}
