package api

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	goruntime "runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/utils/clock"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/orgrbac/orgrbac/internal/api/store"
	"github.com/orgrbac/orgrbac/internal/api/store/storetest"
)

// The callers of the tests below.
var (
	videosApp = &userInfo{name: "system:serviceaccount:videos:app"}      // may use videos
	crosser   = &userInfo{name: "system:serviceaccount:elsewhere:cross"} // may use videos only
	stranger  = &userInfo{name: "system:serviceaccount:anywhere:pod"}    // may use nothing
	human     = &userInfo{name: "alice@example.com"}                     // may use videos
)

// newLimitedServer serves the sample environment in namespace videos with a
// fake reviewer, as NewServer wires it.
func newLimitedServer(t *testing.T, opts Options) (*Server, *fakeReviewer) {
	t.Helper()
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	rev := &fakeReviewer{
		users: map[string]*userInfo{"app": videosApp, "cross": crosser, "stranger": stranger, "human": human},
		allowed: map[string]bool{videosApp.name + "/videos": true, crosser.name + "/videos": true,
			human.name + "/videos": true},
	}
	s := &Server{opts: opts, log: logr.Discard(), store: store.New(nil, opts.Clock, logr.Discard()),
		auth: newAuthCache(rev, opts.AuthCache, opts.Clock)}
	in := storetest.Sample()
	s.store.Load("videos", in.Objects, in.Memberships, 7)
	s.routes()
	return s, rev
}

// spyBody is a request body that records whether it was read.
type spyBody struct {
	r    io.Reader
	read atomic.Bool
}

func (b *spyBody) Read(p []byte) (int, error) {
	b.read.Store(true)
	return b.r.Read(p)
}

// serve sends one request through the handler; the body's reads are recorded.
func serve(s *Server, method, target, token, body string) (*httptest.ResponseRecorder, *spyBody) {
	return serveFrom(s, "192.0.2.1:1234", method, target, token, body)
}

// serveFrom is serve from the client address remote.
func serveFrom(s *Server, remote, method, target, token, body string) (*httptest.ResponseRecorder, *spyBody) {
	spy := &spyBody{r: strings.NewReader(body)}
	var rd io.Reader
	if body != "" {
		rd = spy
	}
	r := httptest.NewRequest(method, target, rd)
	r.ContentLength = int64(len(body))
	r.RemoteAddr = remote
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	return w, spy
}

// A caller that is not authenticated, or not authorized in the namespace
// known without the body, is answered 401 or 403 before its body is read, and
// learns nothing from a malformed body (no 422 before the SubjectAccessReview).
func TestUnauthorizedBodiesAreNotRead(t *testing.T) {
	s, _ := newLimitedServer(t, Options{})
	check := `{"organization":"acme","user":"u_alice","permission":"videos:view"}`
	for _, tc := range []struct {
		name, target, token, body string
		want                      int
		read                      bool // whether the body may be read
	}{
		{"no token", "/v1/check", "", check, http.StatusUnauthorized, false},
		{"garbage token", "/v1/check", "garbage", check, http.StatusUnauthorized, false},
		{"no RBAC, the query's namespace", "/v1/check?namespace=videos", "stranger", check, http.StatusForbidden, false},
		{"no RBAC, malformed body", "/v1/check?namespace=videos", "stranger", `{"organization":`, http.StatusForbidden, false},
		{"no RBAC, WorkOS check", "/authorization/organization_memberships/alice/check?namespace=videos", "stranger",
			`{"permission_slug":"videos:view"}`, http.StatusForbidden, false},
		{"authorized elsewhere, another query namespace", "/v1/check?namespace=other", "app", check, http.StatusForbidden, false},
		{"authorized elsewhere, query and body conflict", "/v1/check?namespace=other", "cross",
			`{"namespace":"videos","organization":"acme","user":"u_alice","permission":"videos:view"}`, http.StatusForbidden, false},
		// Denied in its own namespace, without a query: only the body may name
		// another, so it is read, but a body naming none answers 403, valid or not.
		{"no RBAC, own namespace", "/v1/check", "stranger", check, http.StatusForbidden, true},
		{"no RBAC, own namespace, malformed body", "/v1/check", "stranger", `[1,2]`, http.StatusForbidden, true},
		{"no RBAC, body names videos", "/v1/check", "stranger",
			`{"namespace":"videos","organization":"acme","user":"u_alice","permission":"videos:view"}`, http.StatusForbidden, true},
		// Authorized: the body is read and validated.
		{"authorized, malformed body", "/v1/check", "app", `{"organization":`, http.StatusUnprocessableEntity, true},
		{"authorized", "/v1/check", "app", check, http.StatusOK, true},
		{"authorized in the query namespace", "/v1/check?namespace=videos", "cross", check, http.StatusOK, true},
		{"authorized in the body namespace only", "/v1/check", "cross",
			`{"namespace":"videos","organization":"acme","user":"u_alice","permission":"videos:view"}`, http.StatusOK, true},
		{"a human naming the namespace in the body", "/v1/check", "human",
			`{"namespace":"videos","organization":"acme","user":"u_alice","permission":"videos:view"}`, http.StatusOK, true},
		{"authorized, conflicting body", "/v1/check?namespace=videos", "cross",
			`{"namespace":"other","organization":"acme","user":"u_alice","permission":"videos:view"}`, http.StatusUnprocessableEntity, true},
	} {
		w, spy := serve(s, http.MethodPost, tc.target, tc.token, tc.body)
		if w.Code != tc.want {
			t.Errorf("%s: %d %s, want %d", tc.name, w.Code, w.Body, tc.want)
		}
		if spy.read.Load() && !tc.read {
			t.Errorf("%s: the body was read before the caller was authorized", tc.name)
		}
		if w.Code >= 400 && !tc.read && w.Header().Get("Connection") != "close" {
			t.Errorf("%s: answered before reading the body without closing the connection", tc.name)
		}
		if w.Code == http.StatusForbidden && strings.Contains(w.Body.String(), "body") {
			t.Errorf("%s: a 403 says something about the body: %s", tc.name, w.Body)
		}
	}
}

// Each body is bounded by what a valid request of its route needs.
func TestBodiesAreCappedPerRoute(t *testing.T) {
	s, _ := newLimitedServer(t, Options{})
	pad := func(n int) string { return strings.Repeat(" ", n) }
	check := `{"organization":"acme","user":"u_alice","permission":"videos:view"}`
	workos := `{"permission_slug":"videos:view"}`
	for _, tc := range []struct {
		target, body string
		want         int
	}{
		{"/v1/check", check + pad(maxCheckBody-len(check)), http.StatusOK},
		{"/v1/check", check + pad(maxCheckBody-len(check)+1), http.StatusUnprocessableEntity},
		{"/authorization/organization_memberships/alice/check", workos + pad(maxWorkOSCheckBody-len(workos)), http.StatusOK},
		{"/authorization/organization_memberships/alice/check", workos + pad(maxWorkOSCheckBody-len(workos)+1), http.StatusUnprocessableEntity},
	} {
		w, _ := serve(s, http.MethodPost, tc.target, "app", tc.body)
		if w.Code != tc.want {
			t.Errorf("POST %s with %d bytes: %d %s, want %d", tc.target, len(tc.body), w.Code, w.Body, tc.want)
		}
	}
	// The largest valid check: 100 permissions of 128 characters.
	perms := make([]string, maxPermissions)
	for i := range perms {
		perms[i] = fmt.Sprintf("%q", strings.Repeat("p", 124)+fmt.Sprintf("%04d", i))
	}
	largest := `{"organization":"acme","user":"u_alice","permissions":[` + strings.Join(perms, ",") + `]}`
	if w, _ := serve(s, http.MethodPost, "/v1/check", "app", largest); w.Code != http.StatusOK {
		t.Errorf("the largest valid check (%d bytes): %d %s", len(largest), w.Code, w.Body)
	}
}

// countingListener counts the bytes the server reads from its connections.
type countingListener struct {
	net.Listener
	read *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return countingConn{Conn: c, read: l.read}, nil
}

type countingConn struct {
	net.Conn
	read *atomic.Int64
}

func (c countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.read.Add(int64(n))
	return n, err
}

// heapInUse is the heap in use after a garbage collection.
func heapInUse() uint64 {
	var m goruntime.MemStats
	goruntime.GC()
	goruntime.ReadMemStats(&m)
	return m.HeapInuse
}

// The security review's H1: 150 connections of a caller without any RBAC each
// send most of a large body and withhold the rest. Before, the API buffered
// every body (2 MiB of heap per connection) before authorizing the caller.
// Now each is answered at once (403, or 429 beyond the few bodies read before
// authorization), without its body being read, through the real HTTP server.
func TestSlowBodiesOfUnauthorizedCallersPinNoMemory(t *testing.T) {
	s, _ := newLimitedServer(t, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var read atomic.Int64
	srv := s.httpServer(ctx)
	go func() { _ = srv.Serve(countingListener{Listener: ln, read: &read}) }()
	defer func() { _ = srv.Close() }()

	const conns = 150
	chunk := bytes.Repeat([]byte("a"), 60<<10)
	for _, attack := range []struct {
		name, target string
		chunked      bool // else a Content-Length of 1 MiB
		allowed      []int
		// bodyCap is how much of each body may be read: 0 when the caller is
		// refused before its body, else the route's cap (the caller is denied
		// in its own namespace, and only its body may name another).
		bodyCap int
	}{
		{"1 MiB bodies in the caller's own namespace (the review's proof)", "/v1/check", false,
			[]int{http.StatusForbidden}, 0},
		{"1 MiB bodies in a namespace named in the query", "/v1/check?namespace=videos", false,
			[]int{http.StatusForbidden}, 0},
		{"chunked bodies in a namespace named in the query", "/v1/check?namespace=videos", true,
			[]int{http.StatusForbidden}, 0},
		{"chunked bodies in the caller's own namespace", "/v1/check", true,
			[]int{http.StatusForbidden, http.StatusTooManyRequests}, maxCheckBody},
		{"chunked WorkOS checks in the caller's own namespace", "/authorization/organization_memberships/alice/check", true,
			[]int{http.StatusForbidden, http.StatusTooManyRequests}, maxWorkOSCheckBody},
	} {
		t.Run(attack.name, func(t *testing.T) {
			before, readBefore := heapInUse(), read.Load()
			held := make([]net.Conn, 0, conns)
			defer func() {
				for _, c := range held {
					_ = c.Close()
				}
			}()
			for range conns {
				c, err := net.Dial("tcp", ln.Addr().String())
				if err != nil {
					t.Fatal(err)
				}
				held = append(held, c)
				length := "Content-Length: 1048576"
				if attack.chunked {
					length = "Transfer-Encoding: chunked"
				}
				_, _ = fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: api\r\nAuthorization: Bearer stranger\r\n"+
					"Content-Type: application/json\r\n%s\r\n\r\n", attack.target, length)
				if attack.chunked {
					_, _ = fmt.Fprintf(c, "%x\r\n", len(chunk)+len(`{"organization":"`))
				}
				_, _ = c.Write([]byte(`{"organization":"`))
				_, _ = c.Write(chunk) // and the rest never comes
			}
			// Every connection is answered while its body is still withheld: at
			// once, or after unauthorizedBodyTimeout for the few bodies read.
			codes := map[int]int{}
			var mu sync.Mutex
			var wg sync.WaitGroup
			start := time.Now()
			for _, c := range held {
				wg.Go(func() {
					_ = c.SetReadDeadline(time.Now().Add(readTimeout + time.Second))
					res, err := http.ReadResponse(bufio.NewReader(c), nil)
					code := 0
					if err == nil {
						code = res.StatusCode
						_ = res.Body.Close()
					}
					mu.Lock()
					codes[code]++
					mu.Unlock()
				})
			}
			wg.Wait()
			elapsed := time.Since(start)
			grown := int64(heapInUse()) - int64(before)
			bodyBytes := read.Load() - readBefore
			t.Logf("%d connections: answers %v in %v; the server read %d KiB from them; heap in use grew by %.2f MiB",
				conns, codes, elapsed.Round(time.Millisecond), bodyBytes>>10, float64(grown)/(1<<20))
			total := 0
			for _, code := range attack.allowed {
				total += codes[code]
			}
			if total != conns {
				t.Errorf("answers %v: want only %v", codes, attack.allowed)
			}
			if codes[http.StatusForbidden] == 0 {
				t.Errorf("no 403 among %v", codes)
			}
			// A header buffer per connection (4 KiB), and at most the route's cap of
			// a body, maxUnauthorizedBodies at a time.
			if limit := int64(conns * (4<<10 + attack.bodyCap)); bodyBytes > limit {
				t.Errorf("the server read %d bytes of the withheld bodies, want at most %d", bodyBytes, limit)
			}
			if grown > 4<<20 {
				t.Errorf("the heap grew by %d bytes (before: about 2 MiB per connection), want at most 4 MiB", grown)
			}
		})
	}
	if srv.ReadHeaderTimeout > 5*time.Second || srv.ReadTimeout > 5*time.Second || srv.ReadTimeout == 0 {
		t.Errorf("read timeouts %v and %v: want a few seconds", srv.ReadHeaderTimeout, srv.ReadTimeout)
	}
}

// gatedReviewer holds every TokenReview until gate is closed.
type gatedReviewer struct {
	*fakeReviewer
	gate    chan struct{}
	waiting chan struct{}
}

func (g *gatedReviewer) reviewToken(ctx context.Context, token string) (*userInfo, error) {
	g.waiting <- struct{}{}
	<-g.gate
	return g.fakeReviewer.reviewToken(ctx, token)
}

// Beyond MaxRequestsInFlight requests, the API answers 429 with Retry-After,
// without authenticating the caller.
func TestRequestsInFlightAreBounded(t *testing.T) {
	s, rev := newLimitedServer(t, Options{MaxRequestsInFlight: 2})
	gated := &gatedReviewer{fakeReviewer: rev, gate: make(chan struct{}), waiting: make(chan struct{}, 2)}
	s.auth = newAuthCache(gated, AuthCacheOptions{}, clock.RealClock{})
	rev.users["app2"] = videosApp
	var wg sync.WaitGroup
	codes := make([]int, 2)
	for i, token := range []string{"app", "app2"} {
		wg.Go(func() {
			w, _ := serve(s, http.MethodGet, "/authorization/roles", token, "")
			codes[i] = w.Code
		})
	}
	<-gated.waiting
	<-gated.waiting // both hold their slot, waiting for their TokenReview
	reviews := rev.tokens
	w, spy := serve(s, http.MethodPost, "/v1/check", "app", `{"organization":"acme","user":"u_alice","permission":"videos:view"}`)
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" || spy.read.Load() {
		t.Errorf("a third request: %d (Retry-After %q, body read %v), want 429 with Retry-After, body unread",
			w.Code, w.Header().Get("Retry-After"), spy.read.Load())
	}
	if rev.tokens != reviews {
		t.Error("the rejected request was authenticated")
	}
	close(gated.gate)
	wg.Wait()
	if codes[0] != http.StatusOK || codes[1] != http.StatusOK {
		t.Errorf("the requests in flight got %v, want 200", codes)
	}
	if w, _ := serve(s, http.MethodGet, "/authorization/roles", "app", ""); w.Code != http.StatusOK {
		t.Errorf("after they finished: %d", w.Code)
	}
	// Unbounded when negative.
	s, _ = newLimitedServer(t, Options{MaxRequestsInFlight: -1})
	if s.inflight != nil || cap(s.unauthorizedBodies) != maxUnauthorizedBodies {
		t.Errorf("a negative MaxRequestsInFlight set a bound (%d bodies before authorization)", cap(s.unauthorizedBodies))
	}
	if w, _ := serve(s, http.MethodGet, "/authorization/roles", "app", ""); w.Code != http.StatusOK {
		t.Errorf("without a bound: %d", w.Code)
	}
}

// The security review's L2: a namespace query parameter that cannot be
// decoded, is empty or is repeated is refused, never replaced by the caller's
// own namespace.
func TestUndecodableNamespaceQueryIsRefused(t *testing.T) {
	s, _ := newLimitedServer(t, Options{})
	check := `{"organization":"acme","user":"u_alice","permission":"videos:view"}`
	for _, q := range []string{"namespace=vid%zzeos", "namespace=", "namespace", "namespace=videos&namespace=videos",
		"namespace=videos&namespace=other", "namespace=videos&limit=%zz", "namespace=videos;x=1"} {
		for _, r := range []struct{ method, path, body string }{
			{http.MethodPost, "/v1/check", check},
			{http.MethodGet, "/authorization/roles", ""},
			{http.MethodGet, "/user_management/organization_memberships", ""},
		} {
			w, spy := serve(s, r.method, r.path+"?"+q, "app", r.body)
			if w.Code != http.StatusUnprocessableEntity || !strings.Contains(w.Body.String(), "invalid_request_parameters") {
				t.Errorf("%s %s?%s: %d %s, want 422", r.method, r.path, q, w.Code, w.Body)
			}
			if w.Header().Get(RevisionHeader) != "0" {
				t.Errorf("%s %s?%s answered with revision %s", r.method, r.path, q, w.Header().Get(RevisionHeader))
			}
			if spy.read.Load() {
				t.Errorf("%s %s?%s: the body was read", r.method, r.path, q)
			}
		}
	}
	if w, _ := serve(s, http.MethodPost, "/v1/check?namespace=videos", "app", check); w.Code != http.StatusOK {
		t.Errorf("a valid query: %d %s", w.Code, w.Body)
	}
}

// The security review's M5: distinct garbage tokens neither reach the API
// server beyond a small budget nor evict valid callers; an authenticated
// caller cycling namespaces is bounded the same way.
func TestFailedReviewsAreBoundedAndEvictNothing(t *testing.T) {
	ctx := context.Background()
	clk := clocktesting.NewFakeClock(storetest.T0)
	other := &userInfo{name: "system:serviceaccount:billing:app"}
	rev := &fakeReviewer{users: map[string]*userInfo{"good": videosApp, "billing": other},
		allowed: map[string]bool{videosApp.name + "/videos": true, other.name + "/billing": true}}
	opts := AuthCacheOptions{}.withDefaults() // 10,000 entries, as in production
	a := newAuthCache(rev, opts, clk)
	good, err := a.authenticate(ctx, "10.0.0.1", "good")
	if err != nil || good == nil {
		t.Fatal(good, err)
	}

	// One client with 10,000 distinct garbage tokens.
	before := rev.tokens
	throttled := 0
	for i := range 10000 {
		if _, err := a.authenticate(ctx, "10.0.0.66", fmt.Sprintf("garbage-%d", i)); errors.Is(err, errThrottled) {
			throttled++
		}
	}
	t.Logf("one client, 10,000 garbage tokens: %d TokenReviews, %d throttled", rev.tokens-before, throttled)
	if n := rev.tokens - before; n != opts.CallerFailureBurst {
		t.Errorf("%d TokenReviews, want the client's burst (%d)", n, opts.CallerFailureBurst)
	}
	// Other clients are not affected by that client's budget.
	if u, err := a.authenticate(ctx, "10.0.0.2", "billing"); err != nil || u == nil {
		t.Errorf("another client's valid token: %v, %v", u, err)
	}
	// 10,000 clients with one garbage token each: the global budget.
	before = rev.tokens
	for i := range 10000 {
		_, _ = a.authenticate(ctx, fmt.Sprintf("10.1.%d.%d", i/256, i%256), fmt.Sprintf("spread-%d", i))
	}
	t.Logf("10,000 clients, one garbage token each: %d TokenReviews", rev.tokens-before)
	if n := rev.tokens - before; n > opts.FailureBurst {
		t.Errorf("%d TokenReviews, want at most the global burst (%d)", n, opts.FailureBurst)
	}
	// The valid token was not evicted.
	before = rev.tokens
	if u, err := a.authenticate(ctx, "10.0.0.1", "good"); err != nil || u == nil || rev.tokens != before {
		t.Errorf("the valid token after the flood: %v, %v, %d new TokenReviews", u, err, rev.tokens-before)
	}
	// The budgets refill with time, and a valid token spends none.
	clk.Step(time.Minute)
	for i := range 3 * opts.CallerFailureBurst {
		tok := fmt.Sprintf("valid-%d", i)
		rev.users[tok] = &userInfo{name: fmt.Sprintf("system:serviceaccount:videos:sa-%d", i)}
		if u, err := a.authenticate(ctx, "10.0.0.66", tok); err != nil || u == nil {
			t.Fatalf("valid token %d from the client that sent garbage: %v, %v", i, u, err)
		}
	}

	// One authenticated caller cycling namespaces.
	if ok, err := a.authorize(ctx, other, "billing", mayCheck); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if ok, err := a.authorize(ctx, good, "videos", mayCheck); !ok || err != nil {
		t.Fatal(ok, err)
	}
	sars := rev.access
	for i := range 10000 {
		_, _ = a.authorize(ctx, good, fmt.Sprintf("ns-%d", i), mayCheck)
	}
	t.Logf("one caller, 10,000 namespaces: %d SubjectAccessReviews", rev.access-sars)
	if n := rev.access - sars; n != opts.CallerFailureBurst {
		t.Errorf("%d SubjectAccessReviews, want the caller's burst (%d)", n, opts.CallerFailureBurst)
	}
	sars = rev.access
	for _, c := range []struct {
		u  *userInfo
		ns string
	}{{other, "billing"}, {good, "videos"}} {
		if ok, err := a.authorize(ctx, c.u, c.ns, mayCheck); !ok || err != nil {
			t.Errorf("%s in %s after the flood: %v, %v", c.u.name, c.ns, ok, err)
		}
	}
	if rev.access != sars {
		t.Errorf("the cached authorizations were evicted: %d new SubjectAccessReviews", rev.access-sars)
	}
	// A throttled caller's cached answers still come from the cache.
	if ok, err := a.authorize(ctx, good, "ns-0", mayCheck); ok || err != nil {
		t.Errorf("a cached denial: %v, %v", ok, err)
	}
}

// Through the handlers, a spent budget answers 429 with Retry-After.
func TestSpentFailureBudgetAnswers429(t *testing.T) {
	s, rev := newLimitedServer(t, Options{AuthCache: AuthCacheOptions{CallerFailureBurst: 2}})
	codes := []int{}
	for i := range 4 {
		w, _ := serve(s, http.MethodGet, "/authorization/roles", fmt.Sprintf("garbage-%d", i), "")
		codes = append(codes, w.Code)
		if w.Code == http.StatusTooManyRequests && w.Header().Get("Retry-After") == "" {
			t.Error("429 without Retry-After")
		}
	}
	if fmt.Sprint(codes) != "[401 401 429 429]" || rev.tokens != 2 {
		t.Errorf("garbage tokens: %v after %d TokenReviews, want [401 401 429 429] after 2", codes, rev.tokens)
	}
	codes = codes[:0]
	for _, ns := range []string{"a", "b", "c", "videos"} {
		w, _ := serveFrom(s, "192.0.2.2:1234", http.MethodGet, "/authorization/roles?namespace="+ns, "app", "")
		codes = append(codes, w.Code)
	}
	if fmt.Sprint(codes) != "[403 403 429 429]" {
		t.Errorf("namespaces a, b, c, videos: %v, want [403 403 429 429] (videos is not cached yet)", codes)
	}
}
