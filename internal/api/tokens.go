package api

import (
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/orgrbac/orgrbac/internal/api/store"
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
	DefaultTokenIssuer = "https://orgrbac-api.orgrbac-system.svc" //nolint:gosec // G101: a URL, not a credential
	// DefaultFieldManager is the field manager of the API's writes.
	DefaultFieldManager = "orgrbac-decision-api"
)

// maxTokenBody bounds the body of POST /v1/tokens: a namespace, an
// organization id and a user id, with room to spare.
const maxTokenBody = 4 << 10

// jwksMaxAge is how long clients may cache the key set: short, so that a new
// signing key is fetched soon after it is published (it is published before
// it signs: internal/tokens).
const jwksMaxAge = "max-age=60"

// Error codes of POST /v1/tokens for a membership that grants nothing now:
// only an active, Ready membership gets a token.
const (
	codeMembershipInactive = "organization_membership_inactive"
	codeMembershipPending  = "organization_membership_pending"
	codeMembershipNotReady = "organization_membership_not_ready"
)

// tokenRequest is the body of POST /v1/tokens.
type tokenRequest struct {
	Namespace    string `json:"namespace"`
	Organization string `json:"organization"`
	User         string `json:"user"`
}

// tokenResponse is the answer of POST /v1/tokens.
type tokenResponse struct {
	AccessToken    string `json:"access_token"`
	TokenType      string `json:"token_type"`
	ExpiresIn      int64  `json:"expires_in"`
	OrganizationID string `json:"organization_id"`
}

// mintToken serves POST /v1/tokens: a signed access token for the member
// (user) of organization, carrying what the membership grants now, by the
// rule of the checks (decide and holds).
func (s *Server) mintToken(w http.ResponseWriter, r *http.Request, u caller) {
	var req tokenRequest
	e := s.bodyEnvironment(w, r, u, maxTokenBody, &req, func() string { return req.Namespace })
	if e == nil {
		return
	}
	if s.opts.Tokens == nil {
		writeError(w, http.StatusNotImplemented, "not_implemented", "This decision API mints no access tokens.")
		return
	}
	if !requireMember(w, req.Organization, req.User) {
		return
	}
	now := s.opts.Clock.Now()
	ttl := s.opts.TokenTTL
	if ttl <= 0 {
		ttl = DefaultTokenTTL
	}
	issuer := s.opts.TokenIssuerURL
	if issuer == "" {
		issuer = DefaultTokenIssuer
	}
	claims := &authz.AccessTokenClaims{Issuer: issuer, Subject: req.User, Audience: e.Namespace(),
		SessionID: randomID("session_"), ID: randomID("tok_"), IssuedAt: now.Unix(), Expiry: now.Add(ttl).Unix()}
	var (
		code int
		fail errorObject
	)
	setRevision(w, e.Read(func(c *store.Content) {
		o := c.Organization(req.Organization)
		if o == nil {
			code, fail = http.StatusNotFound, errorObject{Code: codeNotFound,
				Message: fmt.Sprintf("Organization not found: '%s'.", req.Organization)}
			return
		}
		m := c.Member(o, req.User)
		switch d := store.Decide(o, m, nil); d.Reason {
		case store.ReasonGranted:
		case store.ReasonMembershipNotFound:
			code, fail = http.StatusNotFound, errorObject{Code: codeNotFound, Message: fmt.Sprintf(
				"Organization membership of user '%s' in organization '%s' not found.", req.User, o.ID())}
			return
		case store.ReasonMembershipInactive:
			code, fail = http.StatusUnprocessableEntity, errorObject{Code: codeMembershipInactive, Message: fmt.Sprintf(
				"The organization membership '%s' is inactive: it gets no access token.", m.Name())}
			return
		case store.ReasonMembershipPending:
			code, fail = http.StatusUnprocessableEntity, errorObject{Code: codeMembershipPending, Message: fmt.Sprintf(
				"The organization membership '%s' is pending: it gets no access token.", m.Name())}
			return
		default:
			code, fail = http.StatusUnprocessableEntity, errorObject{Code: codeMembershipNotReady, Message: fmt.Sprintf(
				"The organization membership '%s' is not Ready (%s): it gets no access token.", m.Name(), m.Reason())}
			return
		}
		claims.OrgID = o.ID()
		claims.Roles = append([]string{}, m.Roles()...)
		claims.Role = m.PrimaryRole()
		claims.Permissions = m.HeldPermissions(o)
	}))
	if code != 0 {
		writeJSON(w, code, fail)
		return
	}
	token, err := s.opts.Tokens.Sign(claims)
	if err != nil {
		s.log.Error(err, "Signing an access token", "namespace", e.Namespace())
		writeError(w, http.StatusServiceUnavailable, codeUnavailable, "The access token could not be signed; try again.")
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, tokenResponse{AccessToken: token, TokenType: "Bearer",
		ExpiresIn: claims.Expiry - claims.IssuedAt, OrganizationID: claims.OrgID})
}

// randomID returns prefix and 26 random lower-case base32 characters.
func randomID(prefix string) string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return prefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}

// serveJWKS serves the public key set, to anyone: 404 when the API mints no
// tokens, 503 while no key is known yet.
func (s *Server) serveJWKS(w http.ResponseWriter, _ *http.Request) {
	if s.opts.Tokens == nil {
		writeError(w, http.StatusNotFound, codeNotFound, "This decision API serves no key set: it mints no access tokens.")
		return
	}
	doc, ok := s.opts.Tokens.JWKS()
	if !ok {
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, codeUnavailable, "The key set is not known yet; try again.")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", jwksMaxAge)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(doc)
}
