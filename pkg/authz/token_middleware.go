package authz

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
)

// claimsKey is the context key of the verified claims.
type claimsKey struct{}

// The codes of the JSON errors the token middlewares answer, the decision
// API's.
const (
	codeUnauthorized = "unauthorized"
	codeForbidden    = "forbidden"
	codeUnavailable  = "service_unavailable"
)

// Middleware verifies the request's "Authorization: Bearer <token>" and passes
// the request on with the claims in its context (ClaimsFromContext). It
// answers 401 when the token is missing or invalid and 503 when the key set
// cannot be fetched, with a JSON body {"code", "message"}.
func (v *TokenVerifier) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := bearerToken(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer`)
			writeTokenError(w, http.StatusUnauthorized, codeUnauthorized, "An access token is required.")
			return
		}
		claims, err := v.Verify(r.Context(), token)
		switch {
		case errors.Is(err, ErrKeySetUnavailable):
			writeTokenError(w, http.StatusServiceUnavailable, codeUnavailable, "The access token cannot be verified now.")
		case err != nil:
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			writeTokenError(w, http.StatusUnauthorized, codeUnauthorized, "The access token is invalid or expired.")
		default:
			next.ServeHTTP(w, r.WithContext(ContextWithClaims(r.Context(), claims)))
		}
	})
}

// RequirePermission passes the request on when the verified claims in its
// context (put there by TokenVerifier.Middleware) grant permission; it
// answers 403 when they do not and 401 when there are none.
func RequirePermission(permission string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, ok := ClaimsFromContext(r.Context())
		switch {
		case !ok:
			w.Header().Set("WWW-Authenticate", `Bearer`)
			writeTokenError(w, http.StatusUnauthorized, codeUnauthorized, "An access token is required.")
		case !claims.HasPermission(permission):
			writeTokenError(w, http.StatusForbidden, codeForbidden, "The access token does not grant this permission.")
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// ContextWithClaims returns ctx carrying verified claims.
func ContextWithClaims(ctx context.Context, claims *AccessTokenClaims) context.Context {
	return context.WithValue(ctx, claimsKey{}, claims)
}

// ClaimsFromContext returns the verified claims TokenVerifier.Middleware put
// in the request's context.
func ClaimsFromContext(ctx context.Context) (*AccessTokenClaims, bool) {
	claims, ok := ctx.Value(claimsKey{}).(*AccessTokenClaims)
	return claims, ok && claims != nil
}

// bearerToken is the token of an "Authorization: Bearer <token>" header.
func bearerToken(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

func writeTokenError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}{code, message})
}
