package authz

import (
	"net/http"
)

// IdentifyFunc extracts the organization (name or external id) and the user id
// of a request, typically from an authenticated session or token. An error
// means the request carries no usable identity.
type IdentifyFunc func(r *http.Request) (org, user string, err error)

// Middleware guards handlers with a permission: the request goes through only
// when d says the request's user holds permission in the request's
// organization. Otherwise it answers 401 when identify fails, 403 when the
// permission is denied, and 503 when d cannot decide (fail closed).
func Middleware(d Decider, permission string, identify IdentifyFunc) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			org, user, err := identify(r)
			if err != nil {
				http.Error(w, http.StatusText(http.StatusUnauthorized), http.StatusUnauthorized)
				return
			}
			allowed, err := d.Check(r.Context(), org, user, permission)
			switch {
			case err != nil:
				http.Error(w, http.StatusText(http.StatusServiceUnavailable), http.StatusServiceUnavailable)
			case !allowed:
				http.Error(w, http.StatusText(http.StatusForbidden), http.StatusForbidden)
			default:
				next.ServeHTTP(w, r)
			}
		})
	}
}
