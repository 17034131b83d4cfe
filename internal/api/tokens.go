package api

import (
	"net/http"
	"time"

	"github.com/orgrbac/orgrbac/pkg/authz"
)

// Access tokens: POST /v1/tokens mints a short-lived JWT in WorkOS's
// access-token shape for one member, and the public key set that verifies it
// is served to anyone at the URLs the SDKs build.

// TokenIssuer signs access tokens and serves the public keys that verify them
// (internal/tokens implements it from the signing keys' Secret).
type TokenIssuer interface {
	// Sign returns the claims as a compact JWS (RS256) signed with the current
	// signing key.
	Sign(claims *authz.AccessTokenClaims) (string, error)
	// JWKS returns the public key set (RFC 7517 JSON) of every key that may
	// still verify a token; ok is false while no key is known yet.
	JWKS() (doc []byte, ok bool)
}

// Defaults of the access tokens.
const (
	// DefaultTokenTTL is an access token's lifetime, as WorkOS's.
	DefaultTokenTTL = 5 * time.Minute
	// DefaultTokenIssuer is the iss claim when none is configured.
	DefaultTokenIssuer = "https://orgrbac-api.orgrbac-system.svc"
	// DefaultFieldManager is the field manager of the API's writes.
	DefaultFieldManager = "orgrbac-decision-api"
)

// mintToken serves POST /v1/tokens.
func (s *Server) mintToken(w http.ResponseWriter, r *http.Request, u caller) {
	notImplemented(w)
}

// serveJWKS serves the public key set.
func (s *Server) serveJWKS(w http.ResponseWriter, r *http.Request) {
	writeError(w, http.StatusNotFound, codeNotFound, "No key set is served.")
}

// notImplemented answers a route this build does not serve yet.
func notImplemented(w http.ResponseWriter) {
	writeError(w, http.StatusNotImplemented, "not_implemented", "This route is not implemented.")
}
