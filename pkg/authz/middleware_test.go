package authz

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
)

// headerIdentity reads the organization and user from headers (a stand-in for
// a real session).
func headerIdentity(r *http.Request) (org, user string, err error) {
	org, user = r.Header.Get("X-Org"), r.Header.Get("X-User")
	if org == "" || user == "" {
		return "", "", errors.New("no identity")
	}
	return org, user, nil
}

type brokenDecider struct{}

func (brokenDecider) Check(context.Context, string, string, string) (bool, error) {
	return false, errors.New("unavailable")
}

func TestMiddleware(t *testing.T) {
	src := loaded(t, videos(1), 0)
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	for name, tc := range map[string]struct {
		decider   Decider
		org, user string
		want      int
	}{
		"allowed":        {decider: src, org: "acme", user: "user_alice", want: http.StatusNoContent},
		"by external id": {decider: src, org: "org_01ACME", user: "user_alice", want: http.StatusNoContent},
		"denied":         {decider: src, org: "globex", user: "user_frank", want: http.StatusForbidden},
		"no identity":    {decider: src, org: "acme", want: http.StatusUnauthorized},
		"not loaded":     {decider: NewFileSource(t.TempDir(), FileSourceOptions{}), org: "acme", user: "user_alice", want: http.StatusServiceUnavailable},
		"broken":         {decider: brokenDecider{}, org: "acme", user: "user_alice", want: http.StatusServiceUnavailable},
	} {
		t.Run(name, func(t *testing.T) {
			h := Middleware(tc.decider, "settings:manage", headerIdentity)(ok)
			req := httptest.NewRequest(http.MethodPost, "/settings", nil)
			req.Header.Set("X-Org", tc.org)
			req.Header.Set("X-User", tc.user)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.want {
				t.Errorf("got %d, want %d", rec.Code, tc.want)
			}
		})
	}
}
