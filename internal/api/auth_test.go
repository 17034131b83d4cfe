package api

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"
	clocktesting "k8s.io/utils/clock/testing"
)

// fakeReviewer counts reviews and answers from fixed tables.
type fakeReviewer struct {
	mu      sync.Mutex
	users   map[string]*userInfo // token -> user
	allowed map[string]bool      // user name + "/" + namespace -> allowed
	fail    bool                 // every review fails
	tokens  int                  // TokenReviews made
	access  int                  // SubjectAccessReviews made
}

func (f *fakeReviewer) reviewToken(_ context.Context, token string) (*userInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tokens++
	if f.fail {
		return nil, errors.New("api server unreachable")
	}
	return f.users[token], nil
}

func (f *fakeReviewer) reviewAccess(_ context.Context, u *userInfo, ns string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.access++
	if f.fail {
		return false, errors.New("api server unreachable")
	}
	return f.allowed[u.name+"/"+ns], nil
}

func TestAuthCache(t *testing.T) {
	ctx := context.Background()
	clk := clocktesting.NewFakeClock(t0)
	app := &userInfo{name: "system:serviceaccount:videos:app", groups: []string{"b", "a"}}
	rev := &fakeReviewer{users: map[string]*userInfo{"good": app}, allowed: map[string]bool{app.name + "/videos": true}}
	a := newAuthCache(rev, AuthCacheOptions{Size: 2, TTL: 30 * time.Second, NegativeTTL: 10 * time.Second}, clk)

	expectToken := func(token string, want *userInfo, reviews int) {
		t.Helper()
		u, err := a.authenticate(ctx, "10.0.0.1", token)
		// The cache holds a copy of the reviewed user with its key computed.
		same := u == nil && want == nil ||
			u != nil && want != nil && u.name == want.name && slices.Equal(u.groups, want.groups) && u.id == want.key()
		if err != nil || !same {
			t.Fatalf("authenticate(%s) = %v, %v; want %v", token, u, err, want)
		}
		if rev.tokens != reviews {
			t.Fatalf("%d TokenReviews, want %d", rev.tokens, reviews)
		}
	}
	expectToken("good", app, 1)
	expectToken("good", app, 1) // cached
	expectToken("bad", nil, 2)
	expectToken("bad", nil, 2) // negative result cached
	clk.Step(11 * time.Second)
	expectToken("bad", nil, 3)  // negative TTL passed
	expectToken("good", app, 3) // positive TTL not passed
	clk.Step(20 * time.Second)
	expectToken("good", app, 4) // positive TTL passed

	expectAccess := func(ns string, want bool, reviews int) {
		t.Helper()
		ok, err := a.authorize(ctx, app, ns)
		if err != nil || ok != want {
			t.Fatalf("authorize(%s) = %v, %v; want %v", ns, ok, err, want)
		}
		if rev.access != reviews {
			t.Fatalf("%d SubjectAccessReviews, want %d", rev.access, reviews)
		}
	}
	expectAccess("videos", true, 1)
	expectAccess("videos", true, 1)
	expectAccess("other", false, 2)
	expectAccess("other", false, 2)
	// The same identity with groups in another order is the same cache key.
	same := &userInfo{name: app.name, groups: []string{"a", "b"}}
	if ok, _ := a.authorize(ctx, same, "videos"); !ok || rev.access != 2 {
		t.Fatalf("a reordered identity missed the cache (%d reviews)", rev.access)
	}
	// Bounded: a third namespace evicts the least recently used entry ("other").
	expectAccess("third", false, 3)
	expectAccess("videos", true, 3)
	expectAccess("other", false, 4)

	// Errors are not cached.
	rev.fail = true
	if _, err := a.authenticate(ctx, "10.0.0.1", "new"); err == nil {
		t.Fatal("a failing TokenReview gave no error")
	}
	rev.fail = false
	expectToken("new", nil, 6)
}

func TestUserKeyDistinguishesIdentities(t *testing.T) {
	base := userInfo{name: "u", uid: "1", groups: []string{"g"}, extra: map[string][]string{"k": {"v"}}}
	variants := []userInfo{
		{name: "u2", uid: "1", groups: []string{"g"}, extra: map[string][]string{"k": {"v"}}},
		{name: "u", uid: "2", groups: []string{"g"}, extra: map[string][]string{"k": {"v"}}},
		{name: "u", uid: "1", groups: []string{"g", "h"}, extra: map[string][]string{"k": {"v"}}},
		{name: "u", uid: "1", groups: []string{"g"}, extra: map[string][]string{"k": {"w"}}},
		{name: "u", uid: "1", groups: []string{"g"}},
		{name: "u1", groups: []string{"g"}, extra: map[string][]string{"k": {"v"}}},
	}
	for _, v := range variants {
		if v.key() == base.key() {
			t.Errorf("%+v has the same cache key as %+v", v, base)
		}
	}
}

// isDNSLabel must agree with the apimachinery validation it replaces.
func TestIsDNSLabelAgreesWithValidation(t *testing.T) {
	for _, s := range []string{"", "a", "videos", "tenant-a", "a1", "1a", "-a", "a-", "A", "a_b", "a.b", "ünï",
		strings.Repeat("a", 63), strings.Repeat("a", 64), "a--b", "0", "-"} {
		want := len(validation.IsDNS1123Label(s)) == 0
		if got := isDNSLabel(s); got != want {
			t.Errorf("isDNSLabel(%q) = %v, IsDNS1123Label says %v", s, got, want)
		}
	}
}

func FuzzIsDNSLabel(f *testing.F) {
	for _, s := range []string{"videos", "a-", "A", strings.Repeat("b", 64)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := isDNSLabel(s), len(validation.IsDNS1123Label(s)) == 0; got != want {
			t.Errorf("isDNSLabel(%q) = %v, IsDNS1123Label says %v", s, got, want)
		}
	})
}

// The token cache stores the caller with its access key computed once.
func TestAuthenticateComputesTheKeyOnce(t *testing.T) {
	u := &userInfo{name: "system:serviceaccount:videos:api", uid: "1", groups: []string{"b", "a"}}
	rev := &fakeReviewer{users: map[string]*userInfo{"tok": u}}
	a := newAuthCache(rev, AuthCacheOptions{Size: 4, TTL: time.Minute, NegativeTTL: time.Second}, clocktesting.NewFakeClock(t0))
	got, err := a.authenticate(context.Background(), "10.0.0.1", "tok")
	if err != nil || got == nil {
		t.Fatalf("authenticate = %v, %v", got, err)
	}
	if got.id == "" || got.id != u.key() {
		t.Errorf("cached user id %q; want its key %q", got.id, u.key())
	}
	if u.id != "" {
		t.Error("authenticate wrote to the reviewer's object")
	}
}
