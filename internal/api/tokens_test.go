package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/orgrbac/orgrbac/internal/api/store"
	"github.com/orgrbac/orgrbac/internal/api/store/storetest"
	"github.com/orgrbac/orgrbac/pkg/authz"
)

// fakeIssuer records the claims it signs.
type fakeIssuer struct {
	mu     sync.Mutex
	signed []authz.AccessTokenClaims
	fail   bool
	keys   []byte // nil: no key known yet
}

func (f *fakeIssuer) Sign(c *authz.AccessTokenClaims) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail {
		return "", errors.New("no signing key")
	}
	f.signed = append(f.signed, *c)
	return "header.payload.signature", nil
}

func (f *fakeIssuer) JWKS() ([]byte, bool) { return f.keys, f.keys != nil }

var minter = &userInfo{name: "system:serviceaccount:videos:minter"}

// newTokenServer serves the sample environment (with a stale status
// permission and a membership that is not Ready) with opts.
func newTokenServer(t *testing.T, opts Options) (*Server, *fakeReviewer) {
	t.Helper()
	clk := clocktesting.NewFakeClock(storetest.T0.Add(time.Hour))
	opts.Clock = clk
	rev := &fakeReviewer{
		users: map[string]*userInfo{"minter": minter, "reader": onlyReader},
		grants: map[string][]access{minter.name + "/videos": {mayMintToken},
			onlyReader.name + "/videos": {mayGetMembership, mayListMemberships, mayCheck}},
	}
	s := &Server{opts: opts, log: logr.Discard(), store: store.New(nil, clk, logr.Discard()),
		auth: newAuthCache(rev, AuthCacheOptions{}, clk)}
	in := storetest.Sample()
	// A permission left in a status after its role lost it is not in tokens,
	// as checks deny it.
	in.Memberships[0].Status.Permissions = []string{"videos:archive", "videos:delete", "videos:edit", "videos:view"}
	in.Memberships = append(in.Memberships, storetest.Member("nora", "acme", "u_nora", 20, "", false, []string{"member"}, "videos:view"))
	s.store.Load("videos", in.Objects, in.Memberships, 7)
	s.routes()
	return s, rev
}

// POST /v1/tokens: claims of what the membership grants now; nothing signed
// for a refused caller or a membership that grants nothing.
func TestTokenMint(t *testing.T) {
	now := storetest.T0.Add(time.Hour)
	for _, tc := range []struct {
		name, token, target, body string
		opts                      Options
		code                      int
		errCode                   string
		want                      *authz.AccessTokenClaims // the claims signed (sid and jti aside)
	}{
		{name: "granted", token: "minter", target: "/v1/tokens", body: `{"organization":"org_acme","user":"u_alice"}`,
			code: 200, want: &authz.AccessTokenClaims{Issuer: DefaultTokenIssuer, Subject: "u_alice", Audience: "videos",
				OrgID: "org_acme", Role: "admin", Roles: []string{"admin"},
				Permissions: []string{"videos:delete", "videos:edit", "videos:view"},
				IssuedAt:    now.Unix(), Expiry: now.Add(DefaultTokenTTL).Unix()}},
		{name: "by name, issuer and lifetime configured", token: "minter", target: "/v1/tokens?namespace=videos",
			body: `{"namespace":"videos","organization":"acme","user":"u_bob"}`,
			opts: Options{TokenIssuerURL: "https://api.example", TokenTTL: time.Minute},
			code: 200, want: &authz.AccessTokenClaims{Issuer: "https://api.example", Subject: "u_bob", Audience: "videos",
				OrgID: "org_acme", Role: "org-producer", Roles: []string{"org-producer", "member"},
				Permissions: []string{"videos:create", "videos:view"}, IssuedAt: now.Unix(), Expiry: now.Add(time.Minute).Unix()}},
		{name: "an organization without external id", token: "minter", target: "/v1/tokens",
			body: `{"organization":"globex","user":"u_frank"}`, code: 200,
			want: &authz.AccessTokenClaims{Issuer: DefaultTokenIssuer, Subject: "u_frank", Audience: "videos", OrgID: "globex",
				Role: "member", Roles: []string{"member"}, Permissions: []string{"videos:view"},
				IssuedAt: now.Unix(), Expiry: now.Add(DefaultTokenTTL).Unix()}},
		{name: "inactive", token: "minter", target: "/v1/tokens", body: `{"organization":"org_acme","user":"u_carol"}`,
			code: 422, errCode: codeMembershipInactive},
		{name: "pending", token: "minter", target: "/v1/tokens", body: `{"organization":"org_acme","user":"u_dave"}`,
			code: 422, errCode: codeMembershipPending},
		{name: "not Ready", token: "minter", target: "/v1/tokens", body: `{"organization":"org_acme","user":"u_nora"}`,
			code: 422, errCode: codeMembershipNotReady},
		{name: "no membership", token: "minter", target: "/v1/tokens", body: `{"organization":"org_acme","user":"u_frank"}`,
			code: 404, errCode: codeNotFound},
		{name: "no organization", token: "minter", target: "/v1/tokens", body: `{"organization":"initech","user":"u_alice"}`,
			code: 404, errCode: codeNotFound},
		{name: "no user", token: "minter", target: "/v1/tokens", body: `{"organization":"org_acme"}`, code: 422, errCode: codeInvalid},
		{name: "no organization given", token: "minter", target: "/v1/tokens", body: `{"user":"u_alice"}`, code: 422, errCode: codeInvalid},
		{name: "a reader may not mint", token: "reader", target: "/v1/tokens", body: `{"organization":"org_acme","user":"u_alice"}`,
			code: 403, errCode: codeForbidden},
		{name: "no caller", target: "/v1/tokens", body: `{"organization":"org_acme","user":"u_alice"}`, code: 401, errCode: codeUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			iss := &fakeIssuer{}
			tc.opts.Tokens = iss
			s, _ := newTokenServer(t, tc.opts)
			w, _ := serve(s, http.MethodPost, tc.target, tc.token, tc.body)
			var e errorObject
			_ = json.Unmarshal(w.Body.Bytes(), &e)
			if w.Code != tc.code || e.Code != tc.errCode {
				t.Fatalf("%d %s; want %d %q", w.Code, w.Body, tc.code, tc.errCode)
			}
			if tc.want == nil {
				if len(iss.signed) != 0 {
					t.Errorf("signed %+v for a refused request", iss.signed)
				}
				return
			}
			if len(iss.signed) != 1 {
				t.Fatalf("%d tokens signed", len(iss.signed))
			}
			got := iss.signed[0]
			if !strings.HasPrefix(got.SessionID, "session_") || !strings.HasPrefix(got.ID, "tok_") || len(got.ID) != 30 {
				t.Errorf("sid %q, jti %q", got.SessionID, got.ID)
			}
			got.SessionID, got.ID = "", ""
			if got.Issuer != tc.want.Issuer || got.Subject != tc.want.Subject || got.Audience != tc.want.Audience ||
				got.OrgID != tc.want.OrgID || got.Role != tc.want.Role || !slices.Equal(got.Roles, tc.want.Roles) ||
				!slices.Equal(got.Permissions, tc.want.Permissions) || got.IssuedAt != tc.want.IssuedAt || got.Expiry != tc.want.Expiry {
				t.Errorf("claims %+v\nwant   %+v", got, *tc.want)
			}
			var res tokenResponse
			if err := json.Unmarshal(w.Body.Bytes(), &res); err != nil || res.AccessToken != "header.payload.signature" ||
				res.TokenType != "Bearer" || res.ExpiresIn != tc.want.Expiry-tc.want.IssuedAt || res.OrganizationID != tc.want.OrgID {
				t.Errorf("answer %s", w.Body)
			}
			if w.Header().Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control %q", w.Header().Get("Cache-Control"))
			}
		})
	}
}

// Each token has its own jti and session id; without an issuer the route
// answers 501, and 503 when signing fails.
func TestTokenMintIDsAndFailures(t *testing.T) {
	iss := &fakeIssuer{}
	s, _ := newTokenServer(t, Options{Tokens: iss})
	body := `{"organization":"org_acme","user":"u_alice"}`
	for range 2 {
		if w, _ := serve(s, http.MethodPost, "/v1/tokens", "minter", body); w.Code != http.StatusOK {
			t.Fatalf("%d %s", w.Code, w.Body)
		}
	}
	if a, b := iss.signed[0], iss.signed[1]; a.ID == b.ID || a.SessionID == b.SessionID {
		t.Errorf("two tokens share ids: %+v %+v", a, b)
	}
	iss.fail = true
	if w, _ := serve(s, http.MethodPost, "/v1/tokens", "minter", body); w.Code != http.StatusServiceUnavailable ||
		strings.Contains(w.Body.String(), "signing key") {
		t.Errorf("a signing failure: %d %s", w.Code, w.Body)
	}
	s.opts.Tokens = nil
	if w, _ := serve(s, http.MethodPost, "/v1/tokens", "minter", body); w.Code != http.StatusNotImplemented {
		t.Errorf("without an issuer: %d %s", w.Code, w.Body)
	}
}

// The key set is public: served without a token, cacheable for a minute;
// 503 while no key is known, 404 when the API mints no tokens.
func TestTokenJWKS(t *testing.T) {
	doc := []byte(`{"keys":[{"kty":"RSA","kid":"k1","n":"AQAB","e":"AQAB"}]}`)
	for _, tc := range []struct {
		name   string
		tokens TokenIssuer
		code   int
	}{
		{"served", &fakeIssuer{keys: doc}, http.StatusOK},
		{"no key yet", &fakeIssuer{}, http.StatusServiceUnavailable},
		{"no tokens", nil, http.StatusNotFound},
	} {
		for _, target := range []string{"/sso/jwks/videos", "/.well-known/jwks.json"} {
			s, rev := newTokenServer(t, Options{Tokens: tc.tokens})
			w, _ := serve(s, http.MethodGet, target, "", "")
			if w.Code != tc.code {
				t.Errorf("%s %s: %d %s", tc.name, target, w.Code, w.Body)
				continue
			}
			if rev.tokens != 0 || rev.access != 0 {
				t.Errorf("%s %s: %d token and %d access reviews for a public route", tc.name, target, rev.tokens, rev.access)
			}
			if tc.code != http.StatusOK {
				continue
			}
			if w.Body.String() != string(doc) || w.Header().Get("Content-Type") != "application/json" ||
				w.Header().Get("Cache-Control") != "max-age=60" {
				t.Errorf("%s %s: %v %s", tc.name, target, w.Header(), w.Body)
			}
		}
	}
}

// The token's permissions are the checks' rule: a check allows exactly the
// permissions the token carries.
func TestTokenPermissionsAreTheChecks(t *testing.T) {
	iss := &fakeIssuer{}
	s, _ := newTokenServer(t, Options{Tokens: iss})
	if w, _ := serve(s, http.MethodPost, "/v1/tokens", "minter", `{"organization":"org_acme","user":"u_alice"}`); w.Code != 200 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	e := s.store.Get("videos")
	for _, p := range []string{"videos:archive", "videos:delete", "videos:edit", "videos:view", "videos:create"} {
		var d store.Decision
		e.Read(func(c *store.Content) { d = c.Check("org_acme", "u_alice", []string{p}) })
		if d.Allowed != slices.Contains(iss.signed[0].Permissions, p) {
			t.Errorf("%s: check allowed %v, token %v", p, d.Allowed, iss.signed[0].Permissions)
		}
	}
}
