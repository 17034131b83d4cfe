package authz

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestTokenMiddleware(t *testing.T) {
	keys := testRSAKeys(t)
	now := verifierEpoch
	expired := goodClaims(now)
	expired.Expiry = now.Add(-time.Hour).Unix()
	good := sign(t, keys[0], goodClaims(now))

	for _, tc := range []struct {
		name       string
		header     string
		permission string // "": no RequirePermission
		down       bool
		wantStatus int
		wantCode   string
		wantAuth   string // WWW-Authenticate
	}{
		{"valid", "Bearer " + good, "", false, http.StatusOK, "", ""},
		{"valid, scheme in lower case", "bearer " + good, "", false, http.StatusOK, "", ""},
		{"granted permission", "Bearer " + good, "videos:write", false, http.StatusOK, "", ""},
		{"missing permission", "Bearer " + good, "videos:delete", false, http.StatusForbidden, "forbidden", ""},
		{"no header", "", "", false, http.StatusUnauthorized, "unauthorized", "Bearer"},
		{"basic auth", "Basic dXNlcjpwYXNz", "", false, http.StatusUnauthorized, "unauthorized", "Bearer"},
		{"bearer without token", "Bearer ", "", false, http.StatusUnauthorized, "unauthorized", "Bearer"},
		{"expired", "Bearer " + sign(t, keys[0], expired), "", false, http.StatusUnauthorized, "unauthorized", `Bearer error="invalid_token"`},
		{"unknown key", "Bearer " + sign(t, keys[2], goodClaims(now)), "videos:read", false, http.StatusUnauthorized, "unauthorized", `Bearer error="invalid_token"`},
		{"key set down", "Bearer " + good, "", true, http.StatusServiceUnavailable, "service_unavailable", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newJWKSServer(t, keys[0])
			if tc.down {
				s.Close()
			}
			v := newTestVerifier(t, s, &tokenClock{now: now})
			var seen *AccessTokenClaims
			var handler http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				seen, _ = ClaimsFromContext(r.Context())
				w.WriteHeader(http.StatusOK)
			})
			if tc.permission != "" {
				handler = RequirePermission(tc.permission, handler)
			}
			handler = v.Middleware(handler)

			req := httptest.NewRequest(http.MethodGet, "/videos", nil)
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			rec := httptest.NewRecorder()
			handler.ServeHTTP(rec, req)
			if rec.Code != tc.wantStatus {
				t.Fatalf("status %d, want %d (body %s)", rec.Code, tc.wantStatus, rec.Body)
			}
			if got := rec.Header().Get("WWW-Authenticate"); got != tc.wantAuth {
				t.Errorf("WWW-Authenticate %q, want %q", got, tc.wantAuth)
			}
			if tc.wantStatus == http.StatusOK {
				if seen == nil || seen.Subject != "user_01" || seen.OrgID != "org_01" {
					t.Errorf("claims in the context %+v", seen)
				}
				return
			}
			if seen != nil {
				t.Error("the handler ran")
			}
			var body struct{ Code, Message string }
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Code != tc.wantCode || body.Message == "" {
				t.Errorf("body %s (%v), want code %q and a message", rec.Body, err, tc.wantCode)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
		})
	}
}

func TestRequirePermissionWithoutMiddleware(t *testing.T) {
	handler := RequirePermission("videos:read", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		t.Error("the handler ran")
	}))
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Code != http.StatusUnauthorized {
		t.Errorf("status %d, want 401", rec.Code)
	}
}

func TestHasPermission(t *testing.T) {
	claims := &AccessTokenClaims{Permissions: []string{"videos:read", "videos:write"}}
	for _, tc := range []struct {
		claims     *AccessTokenClaims
		permission string
		want       bool
	}{
		{claims, "videos:read", true},
		{claims, "videos:write", true},
		{claims, "videos:delete", false},
		{claims, "videos", false},
		{claims, "", false},
		{&AccessTokenClaims{}, "videos:read", false},
		{nil, "videos:read", false},
	} {
		if got := tc.claims.HasPermission(tc.permission); got != tc.want {
			t.Errorf("HasPermission(%q) on %v = %v, want %v", tc.permission, tc.claims, got, tc.want)
		}
	}
}

func TestClaimsFromContext(t *testing.T) {
	if _, ok := ClaimsFromContext(t.Context()); ok {
		t.Error("claims in an empty context")
	}
	if _, ok := ClaimsFromContext(ContextWithClaims(t.Context(), nil)); ok {
		t.Error("nil claims reported as present")
	}
	want := goodClaims(verifierEpoch)
	if got, ok := ClaimsFromContext(ContextWithClaims(t.Context(), want)); !ok || got != want {
		t.Errorf("claims %v %v, want %v", got, ok, want)
	}
}
