package api

import "net/http"

// Membership writes through the WorkOS routes: each is a write of a Membership
// object in the caller's environment.

func (s *Server) createMembership(w http.ResponseWriter, r *http.Request, u caller) {
	notImplemented(w)
}

func (s *Server) updateMembership(w http.ResponseWriter, r *http.Request, u caller) {
	notImplemented(w)
}

func (s *Server) deleteMembership(w http.ResponseWriter, r *http.Request, u caller) {
	notImplemented(w)
}

func (s *Server) deactivateMembership(w http.ResponseWriter, r *http.Request, u caller) {
	notImplemented(w)
}

func (s *Server) reactivateMembership(w http.ResponseWriter, r *http.Request, u caller) {
	notImplemented(w)
}
