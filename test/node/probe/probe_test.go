package main

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// decisionAPI is a fake POST /v1/check behind a TLS server.
type decisionAPI struct {
	mu      sync.Mutex
	status  int  // answered status
	allowed bool // answered when 200
	auth    []string
	keys    map[string]bool
	bodies  []map[string]string
}

func (d *decisionAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if r.Method != http.MethodPost || r.URL.Path != "/v1/check" {
		http.NotFound(w, r)
		return
	}
	key := r.Header.Get("Idempotency-Key")
	if key == "" || d.keys[key] {
		http.Error(w, "missing or reused Idempotency-Key", http.StatusBadRequest)
		return
	}
	d.keys[key] = true
	d.auth = append(d.auth, r.Header.Get("Authorization"))
	var body map[string]string
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	d.bodies = append(d.bodies, body)
	if d.status != http.StatusOK {
		http.Error(w, `{"error":"unavailable"}`, d.status)
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"allowed": d.allowed, "reason": "test"})
}

func (d *decisionAPI) set(status int, allowed bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.status, d.allowed = status, allowed
}

// tlsServer starts h on an httptest TLS server and writes its certificate to a
// CA file.
func tlsServer(t *testing.T, h http.Handler) (*httptest.Server, string) {
	t.Helper()
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	ca := filepath.Join(t.TempDir(), "ca.crt")
	data := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(ca, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return srv, ca
}

func writeToken(t *testing.T, file, token string) {
	t.Helper()
	if err := os.WriteFile(file, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestCheckerCountsAnswersAndFailures(t *testing.T) {
	api := &decisionAPI{status: http.StatusOK, allowed: true, keys: map[string]bool{}}
	srv, ca := tlsServer(t, api)
	tokenFile := filepath.Join(t.TempDir(), "token")
	writeToken(t, tokenFile, "tok-1")

	c, err := newChecker(checkerConfig{URL: srv.URL + "/", CAFile: ca, TokenFile: tokenFile,
		Org: "acme", User: "alice", Permission: "videos:delete", Interval: time.Millisecond, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c.checkOnce(ctx)
	c.checkOnce(ctx)
	if got := c.stats(); got != (stats{OK: 2, LastAllowed: true}) {
		t.Fatalf("after two allowed answers: %+v", got)
	}
	api.set(http.StatusOK, false)
	c.checkOnce(ctx)
	api.set(http.StatusServiceUnavailable, false)
	c.checkOnce(ctx)
	got := c.stats()
	if got.OK != 3 || got.Failed != 1 || got.LastAllowed || !strings.Contains(got.LastError, "status 503") {
		t.Fatalf("after a denial and a 503: %+v", got)
	}

	// The token is read again once a minute has passed.
	writeToken(t, tokenFile, "tok-2")
	api.set(http.StatusOK, true)
	c.checkOnce(ctx)
	c.token.now = func() time.Time { return time.Now().Add(61 * time.Second) }
	c.checkOnce(ctx)

	api.mu.Lock()
	auth, bodies := api.auth, api.bodies
	api.mu.Unlock()
	want := []string{"Bearer tok-1", "Bearer tok-1", "Bearer tok-1", "Bearer tok-1", "Bearer tok-1", "Bearer tok-2"}
	if strings.Join(auth, ",") != strings.Join(want, ",") {
		t.Errorf("Authorization headers %q, want %q", auth, want)
	}
	if b := bodies[0]; b["organization"] != "acme" || b["user"] != "alice" || b["permission"] != "videos:delete" {
		t.Errorf("check body %v", b)
	}

	// GET /stats serves the counts.
	rec := httptest.NewRecorder()
	c.handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/stats", nil))
	var served map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &served); err != nil {
		t.Fatalf("/stats: %v: %s", err, rec.Body)
	}
	if served["ok"] != float64(5) || served["failed"] != float64(1) || served["lastAllowed"] != true ||
		!strings.Contains(served["lastError"].(string), "503") {
		t.Errorf("/stats = %s", rec.Body)
	}
	rec = httptest.NewRecorder()
	c.handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	if rec.Code != http.StatusOK {
		t.Errorf("/healthz: %d", rec.Code)
	}
}

func TestCheckerRunsAndCountsTransportErrors(t *testing.T) {
	api := &decisionAPI{status: http.StatusOK, allowed: true, keys: map[string]bool{}}
	srv, ca := tlsServer(t, api)
	c, err := newChecker(checkerConfig{URL: srv.URL, CAFile: ca, Org: "acme", User: "alice",
		Permission: "videos:view", Interval: 5 * time.Millisecond, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.run(ctx); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for c.stats().OK < 5 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	srv.Close()
	for c.stats().Failed < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	got := c.stats()
	if got.OK < 5 || got.Failed < 2 || got.LastError == "" {
		t.Fatalf("stats after the server went away: %+v", got)
	}
}

func TestCheckerVerifiesTLS(t *testing.T) {
	api := &decisionAPI{status: http.StatusOK, allowed: true, keys: map[string]bool{}}
	srv, _ := tlsServer(t, api)
	c, err := newChecker(checkerConfig{URL: srv.URL, Org: "acme", User: "alice", Permission: "videos:view",
		Interval: time.Millisecond, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	c.checkOnce(context.Background())
	if got := c.stats(); got.Failed != 1 || !strings.Contains(got.LastError, "certificate") {
		t.Fatalf("without the CA: %+v", got)
	}
}

func TestDoRequest(t *testing.T) {
	var gotAuth, gotHeader, gotBody string
	srv, ca := tlsServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAuth, gotHeader = r.Header.Get("Authorization"), r.Header.Get("X-Org")
		b, _ := io.ReadAll(r.Body)
		gotBody = string(b)
		if r.Method != http.MethodDelete {
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	tokenFile := filepath.Join(t.TempDir(), "token")
	writeToken(t, tokenFile, "tok")

	res, err := doRequest(context.Background(), requestSpec{Method: http.MethodDelete, URL: srv.URL + "/videos/1",
		Headers: []string{"X-Org=acme"}, Body: "x", CAFile: ca, TokenFile: tokenFile, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != http.StatusNoContent || gotAuth != "Bearer tok" || gotHeader != "acme" || gotBody != "x" {
		t.Errorf("status %d, Authorization %q, X-Org %q, body %q", res.Status, gotAuth, gotHeader, gotBody)
	}
	res, err = doRequest(context.Background(), requestSpec{Method: http.MethodGet, URL: srv.URL, CAFile: ca, Timeout: 5 * time.Second})
	if err != nil || res.Status != http.StatusMethodNotAllowed {
		t.Errorf("GET: %+v, %v", res, err)
	}
	if _, err := doRequest(context.Background(), requestSpec{Method: http.MethodGet, URL: srv.URL, Timeout: 5 * time.Second}); err == nil {
		t.Error("without the CA the request succeeded")
	}
}

func TestWatchRecordsWhenTheAnswerChanges(t *testing.T) {
	answers := []int{204, 204, 403, 403}
	errAt := 1 // the second poll gets no answer
	clock := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	polls := 0
	w := &watch{
		now: func() time.Time { return clock },
		do: func(context.Context, requestSpec) (result, error) {
			defer func() { polls++ }()
			if polls == errAt {
				return result{}, errors.New("connection refused")
			}
			return result{Status: answers[polls]}, nil
		},
	}
	var since []time.Time
	for range answers {
		w.pollOnce(context.Background())
		since = append(since, w.stats().Since)
		clock = clock.Add(50 * time.Millisecond)
	}
	got := w.stats()
	if got.Status != 403 || got.Polls != 4 || got.Errors != 1 {
		t.Fatalf("stats = %+v; want status 403 after 4 polls with 1 error", got)
	}
	// 204 from the first poll; the failed poll changes nothing; 403 from the third.
	start := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	if !since[0].Equal(start) || !since[1].Equal(start) || !since[2].Equal(start.Add(100*time.Millisecond)) ||
		!since[3].Equal(start.Add(100*time.Millisecond)) {
		t.Errorf("since = %v", since)
	}
}
