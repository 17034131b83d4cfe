package api

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/utils/clock"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/orgrbac/orgrbac/internal/api/store"
	"github.com/orgrbac/orgrbac/internal/api/store/storetest"
)

// BenchmarkCheckRequest serves POST /v1/check through the whole handler (auth
// caches warm, 100k memberships indexed), without the network: the CPU and
// allocations the API adds per request on top of net/http and TLS.
func BenchmarkCheckRequest(b *testing.B) {
	in := storetest.ScaleObjects(storetest.Scale100k)
	x := store.New(nil, clocktesting.NewFakeClock(storetest.T0), logr.Discard())
	x.Load("videos", in.Objects, in.Memberships, 7)
	caller := &userInfo{name: "system:serviceaccount:videos:api", uid: "u-1",
		groups: []string{"system:serviceaccounts", "system:serviceaccounts:videos", "system:authenticated"}}
	rev := &fakeReviewer{users: map[string]*userInfo{"token-1": caller},
		allowed: map[string]bool{caller.name + "/videos": true}}
	s := &Server{opts: Options{Clock: clock.RealClock{}}, log: logr.Discard(), store: x,
		auth: newAuthCache(rev, AuthCacheOptions{Size: 16, TTL: time.Hour, NegativeTTL: time.Minute}, clock.RealClock{})}
	s.routes()
	m := in.Memberships[500]
	body := fmt.Appendf(nil, `{"organization":%q,"user":%q,"permission":%q}`, m.Spec.Organization, m.Spec.User, m.Status.Permissions[0])
	serve := func() *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, "/v1/check", bytes.NewReader(body))
		r.Header.Set("Authorization", "Bearer token-1")
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		return w
	}
	if w := serve(); w.Code != http.StatusOK || !bytes.Contains(w.Body.Bytes(), []byte(`"allowed":true`)) {
		b.Fatalf("check: %d %s", w.Code, w.Body)
	}
	b.ReportAllocs()
	for b.Loop() {
		serve()
	}
}
