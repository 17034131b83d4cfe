package authz_test

import (
	"fmt"
	"log"
	"net/http"

	"github.com/orgrbac/orgrbac/pkg/authz"
)

// A workload verifies orgrbac access tokens offline: it fetches the public key
// set once (and again on a new key id), then checks every request's token
// without calling the decision API.
func ExampleTokenVerifier_Middleware() {
	verifier, err := authz.NewTokenVerifier(authz.VerifierOptions{
		// The key set of the environment (namespace) team-a.
		JWKSURL: "https://orgrbac-api.orgrbac-system.svc:8082/sso/jwks/team-a",
		// The iss the decision API puts in its tokens.
		Issuer: "https://orgrbac-api.orgrbac-system.svc",
		// The environment's client id: its namespace.
		Audience: "team-a",
		// HTTPClient: a client trusting the API's CA (system roots when nil).
	})
	if err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux()
	// Any verified member of an organization may list videos...
	mux.HandleFunc("GET /videos", func(w http.ResponseWriter, r *http.Request) {
		claims, _ := authz.ClaimsFromContext(r.Context())
		fmt.Fprintf(w, "videos of %s for %s\n", claims.OrgID, claims.Subject)
	})
	// ...only those whose role grants videos:delete may delete one.
	mux.Handle("DELETE /videos/{id}", authz.RequirePermission("videos:delete",
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusNoContent)
		})))

	// 401 without a valid "Authorization: Bearer <token>", 403 without the
	// permission.
	handler := verifier.Middleware(mux)
	_ = handler // http.ListenAndServeTLS(":8443", "tls.crt", "tls.key", handler)
}
