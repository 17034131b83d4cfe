package authz

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// fakeAPI is a decision API answering from the videos snapshot, counting calls
// and recording what it was sent.
type fakeAPI struct {
	mu        sync.Mutex
	calls     int
	tokens    []string
	queries   []string // the namespace query parameter of each check
	requests  []checkRequest
	status    int
	revision  string
	decisions *decisions
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if r.Method != http.MethodPost || r.URL.Path != "/v1/check" {
		http.Error(w, `{"code":"not_found"}`, http.StatusNotFound)
		return
	}
	f.tokens = append(f.tokens, r.Header.Get("Authorization"))
	f.queries = append(f.queries, r.URL.Query().Get("namespace"))
	var req checkRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, `{"code":"bad_request"}`, http.StatusBadRequest)
		return
	}
	f.requests = append(f.requests, req)
	if f.status != 0 {
		http.Error(w, `{"code":"forbidden","message":"denied"}`, f.status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set(RevisionHeader, f.revision)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"allowed": f.decisions.allowed(req.Organization, req.User, req.Permission), "role": "admin"})
}

func newFakeAPI(t *testing.T) (*fakeAPI, *httptest.Server, HTTPSourceOptions) {
	t.Helper()
	api := &fakeAPI{revision: "9", decisions: compile(videos(9))}
	srv := httptest.NewUnstartedServer(api)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the untrusted-CA test fails handshakes on purpose
	srv.StartTLS()
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.crt")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	token := filepath.Join(dir, "token")
	if err := os.WriteFile(token, []byte("token-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return api, srv, HTTPSourceOptions{URL: srv.URL + "/", TokenFile: token, CAFile: ca, Namespace: "videos"}
}

func TestHTTPSource(t *testing.T) {
	api, _, opts := newFakeAPI(t)
	src, err := NewHTTPSource(opts)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1000, 0)
	src.now = func() time.Time { return now }
	ctx := context.Background()

	for _, tc := range []struct {
		org, user, permission string
		want                  bool
	}{
		{"acme", "user_alice", "settings:manage", true},
		{"org_01ACME", "user_bob", "videos:edit", true},
		{"globex", "user_frank", "settings:manage", false},
	} {
		got, err := src.Check(ctx, tc.org, tc.user, tc.permission)
		if err != nil || got != tc.want {
			t.Errorf("Check(%q, %q, %q) = %v, %v, want %v", tc.org, tc.user, tc.permission, got, err, tc.want)
		}
	}
	api.mu.Lock()
	if api.calls != 3 || api.tokens[0] != "Bearer token-1" ||
		api.requests[0] != (checkRequest{Organization: "acme", User: "user_alice", Permission: "settings:manage", Namespace: "videos"}) {
		t.Errorf("the API got %d calls, tokens %v, requests %+v", api.calls, api.tokens, api.requests)
	}
	api.mu.Unlock()
	if src.Revision() != 9 {
		t.Errorf("Revision() = %d, want 9 from the header", src.Revision())
	}

	// Cached within the TTL.
	now = now.Add(4 * time.Second)
	if !src.Allowed("acme", "user_alice", "settings:manage") {
		t.Error("a cached allow became a deny")
	}
	api.mu.Lock()
	if api.calls != 3 {
		t.Errorf("a cached answer called the API: %d calls", api.calls)
	}
	api.mu.Unlock()

	// After the TTL, the API is asked again, and a rotated token is read again
	// after TokenRefresh.
	if err := os.WriteFile(opts.TokenFile, []byte("token-2"), 0o600); err != nil {
		t.Fatal(err)
	}
	now = now.Add(2 * time.Minute)
	api.mu.Lock()
	api.decisions = compile(&Snapshot{Revision: 10})
	api.revision = "10"
	api.mu.Unlock()
	if src.Allowed("acme", "user_alice", "settings:manage") {
		t.Error("an expired answer was served from the cache")
	}
	api.mu.Lock()
	if api.calls != 4 || api.tokens[3] != "Bearer token-2" {
		t.Errorf("after the TTL: %d calls, last token %q", api.calls, api.tokens[len(api.tokens)-1])
	}
	api.mu.Unlock()
	if src.Revision() != 10 {
		t.Errorf("Revision() = %d, want 10", src.Revision())
	}
}

func TestHTTPSourceErrorsDeny(t *testing.T) {
	api, srv, opts := newFakeAPI(t)
	api.status = http.StatusForbidden
	src, err := NewHTTPSource(opts)
	if err != nil {
		t.Fatal(err)
	}
	_, err = src.Check(context.Background(), "acme", "user_alice", "settings:manage")
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusForbidden {
		t.Errorf("Check against a 403: got %v, want an APIError 403", err)
	}
	if src.Allowed("acme", "user_alice", "settings:manage") {
		t.Error("an API error allowed")
	}

	// Errors are not cached: the next call reaches the API again.
	api.mu.Lock()
	api.status = 0
	api.mu.Unlock()
	if !src.Allowed("acme", "user_alice", "settings:manage") {
		t.Error("a denial from an error was cached")
	}

	// No token file.
	noToken := opts
	noToken.TokenFile = filepath.Join(t.TempDir(), "missing")
	src, err = NewHTTPSource(noToken)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.Check(context.Background(), "acme", "user_alice", "settings:manage"); err == nil {
		t.Error("a missing token file did not fail")
	}

	// Without the CA, the server's certificate is not trusted.
	untrusted := opts
	untrusted.CAFile = ""
	src, err = NewHTTPSource(untrusted)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.Check(context.Background(), "acme", "user_alice", "settings:manage"); err == nil {
		t.Errorf("a server signed by an unknown CA (%s) was trusted", srv.URL)
	}

	for name, bad := range map[string]HTTPSourceOptions{
		"no URL":     {},
		"no CA file": {URL: srv.URL, CAFile: filepath.Join(t.TempDir(), "missing")},
		"CA not PEM": {URL: srv.URL, CAFile: opts.TokenFile},
	} {
		if _, err := NewHTTPSource(bad); err == nil {
			t.Errorf("NewHTTPSource with %s succeeded", name)
		}
	}
}

// The namespace travels in the query as well as in the body, so that the API
// can authorize the caller before it reads the body.
func TestHTTPSourceNamesTheNamespaceInTheQuery(t *testing.T) {
	api, _, opts := newFakeAPI(t)
	for _, ns := range []string{"videos", ""} {
		opts.Namespace = ns
		src, err := NewHTTPSource(opts)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := src.Check(context.Background(), "acme", "user_alice", "settings:manage"); err != nil {
			t.Fatal(err)
		}
		api.mu.Lock()
		q, body := api.queries[len(api.queries)-1], api.requests[len(api.requests)-1].Namespace
		api.mu.Unlock()
		if q != ns || body != ns {
			t.Errorf("Namespace %q: the query said %q and the body %q", ns, q, body)
		}
	}
}

// The security review's L9: the token is never sent in clear text unless
// explicitly allowed, nor through a proxy from the environment.
func TestHTTPSourceRefusesPlainHTTPAndProxies(t *testing.T) {
	token := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(token, []byte("secret-token"), 0o600); err != nil {
		t.Fatal(err)
	}

	// A proxy from the environment would receive the token: the source's own
	// client never uses one. (net/http reads the environment once per process,
	// so the transport's Proxy is what proves it when other tests ran first.)
	var proxied sync.Mutex
	hits := 0
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		proxied.Lock()
		hits++
		proxied.Unlock()
		w.WriteHeader(http.StatusBadGateway)
	}))
	defer proxy.Close()
	t.Setenv("HTTPS_PROXY", proxy.URL)
	t.Setenv("HTTP_PROXY", proxy.URL)
	t.Setenv("NO_PROXY", "")
	src, err := NewHTTPSource(HTTPSourceOptions{URL: "https://orgrbac-api.invalid:8082", TokenFile: token, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if tr, ok := src.client.Transport.(*http.Transport); !ok || tr.Proxy != nil {
		t.Errorf("the source's transport %T has a proxy function", src.client.Transport)
	}
	if _, err := src.Check(context.Background(), "acme", "user_alice", "settings:manage"); err == nil {
		t.Error("a check of an unresolvable host succeeded")
	}
	proxied.Lock()
	if hits != 0 {
		t.Errorf("the proxy from the environment received %d requests", hits)
	}
	proxied.Unlock()

	plain := httptest.NewServer(&fakeAPI{revision: "3", decisions: compile(videos(3))})
	defer plain.Close()
	for _, u := range []string{plain.URL, "http://orgrbac-api.orgrbac-system.svc:8082", "ftp://api", "https://", "//api:8082", "api:8082"} {
		if _, err := NewHTTPSource(HTTPSourceOptions{URL: u, TokenFile: token}); err == nil {
			t.Errorf("NewHTTPSource(%q) succeeded", u)
		}
	}
	if _, err := NewHTTPSource(HTTPSourceOptions{URL: plain.URL, TokenFile: token, Client: plain.Client()}); err == nil {
		t.Error("an http URL was accepted with a client of the caller's")
	}
	src, err = NewHTTPSource(HTTPSourceOptions{URL: plain.URL, TokenFile: token, AllowInsecureHTTP: true})
	if err != nil {
		t.Fatal(err)
	}
	if !src.Allowed("acme", "user_alice", "settings:manage") {
		t.Error("AllowInsecureHTTP: the plain HTTP API was not asked")
	}
}

// The default token is the projected one for the API's audience, and a 401
// (a token that expired or rotated) makes the next call re-read the file
// before TokenRefresh.
func TestHTTPSourceTokenRotation(t *testing.T) {
	if DefaultTokenFile != "/var/run/secrets/orgrbac.dev/token" || TokenAudience != "orgrbac.dev/decision-api" {
		t.Errorf("DefaultTokenFile %q, TokenAudience %q: not the documented projected token", DefaultTokenFile, TokenAudience)
	}
	api, _, opts := newFakeAPI(t)
	src, err := NewHTTPSource(opts)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1000, 0)
	src.now = func() time.Time { return now }
	api.mu.Lock()
	api.status = http.StatusUnauthorized
	api.mu.Unlock()
	var apiErr *APIError
	if _, err := src.Check(context.Background(), "acme", "user_alice", "settings:manage"); !errors.As(err, &apiErr) ||
		apiErr.StatusCode != http.StatusUnauthorized {
		t.Fatalf("Check against a 401: %v", err)
	}
	// The kubelet rotates the token; within TokenRefresh, the next call reads it.
	if err := os.WriteFile(opts.TokenFile, []byte("token-2"), 0o600); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Second)
	api.mu.Lock()
	api.status = 0
	api.mu.Unlock()
	if !src.Allowed("acme", "user_alice", "settings:manage") {
		t.Error("denied after the token rotated")
	}
	api.mu.Lock()
	defer api.mu.Unlock()
	if last := api.tokens[len(api.tokens)-1]; last != "Bearer token-2" {
		t.Errorf("after a 401, the next call sent %q; want the rotated token", last)
	}
}
