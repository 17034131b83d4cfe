package api

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	kubefake "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/orgrbac/orgrbac/internal/api/store/storetest"
)

// fakeReviewer counts reviews and answers from fixed tables.
type fakeReviewer struct {
	mu      sync.Mutex
	users   map[string]*userInfo // token -> user
	allowed map[string]bool      // user name + "/" + namespace -> allowed everything
	grants  map[string][]access  // user name + "/" + namespace -> allowed these only
	fail    bool                 // every review fails
	tokens  int                  // TokenReviews made
	access  int                  // SubjectAccessReviews made
	asked   []access             // the accesses reviewed, in order
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

func (f *fakeReviewer) reviewAccess(_ context.Context, u *userInfo, ns string, a access) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.access++
	f.asked = append(f.asked, a)
	if f.fail {
		return false, errors.New("api server unreachable")
	}
	return f.allowed[u.name+"/"+ns] || slices.Contains(f.grants[u.name+"/"+ns], a), nil
}

func TestAuthCache(t *testing.T) {
	ctx := context.Background()
	clk := clocktesting.NewFakeClock(storetest.T0)
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
		ok, err := a.authorize(ctx, app, ns, mayCheck)
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
	if ok, _ := a.authorize(ctx, same, "videos", mayCheck); !ok || rev.access != 2 {
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
	a := newAuthCache(rev, AuthCacheOptions{Size: 4, TTL: time.Minute, NegativeTTL: time.Second}, clocktesting.NewFakeClock(storetest.T0))
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

// jwt builds an unsigned token of the JWT form with the given payload.
func jwt(payload string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256"}`)) + "." + enc([]byte(payload)) + ".c2ln"
}

func TestTokenExpiry(t *testing.T) {
	for _, tc := range []struct {
		name, token string
		want        time.Time // zero: no expiry
	}{
		{"JWT", jwt(`{"aud":["orgrbac.dev/decision-api"],"exp":1767225600,"sub":"x"}`), time.Unix(1767225600, 0)},
		{"fractional exp", jwt(`{"exp":1767225600.9}`), time.Unix(1767225600, 0)},
		{"no exp", jwt(`{"sub":"x"}`), time.Time{}},
		{"null exp", jwt(`{"exp":null}`), time.Time{}},
		{"string exp", jwt(`{"exp":"1767225600"}`), time.Time{}},
		{"negative exp", jwt(`{"exp":-1}`), time.Time{}},
		{"exp beyond year 9999", jwt(`{"exp":1e300}`), time.Time{}},
		{"payload not JSON", jwt(`not json`), time.Time{}},
		{"payload not base64url", "a.b*c.d", time.Time{}},
		{"two parts", "a.b", time.Time{}},
		{"four parts", jwt(`{"exp":1767225600}`) + ".x", time.Time{}},
		{"opaque token", "garbage", time.Time{}},
		{"empty", "", time.Time{}},
		{"oversized payload", "a." + strings.Repeat("A", maxJWTPayload+4) + ".c", time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := tokenExpiry(tc.token)
			if ok != !tc.want.IsZero() || !got.Equal(tc.want) {
				t.Errorf("tokenExpiry = %v, %v; want %v", got, ok, tc.want)
			}
		})
	}
}

// A positive token review is cached for the TTL, but never beyond the token's
// own expiry; a token already expired by the local clock is not cached.
func TestTokenCacheNeverOutlivesTheToken(t *testing.T) {
	ctx := context.Background()
	clk := clocktesting.NewFakeClock(storetest.T0)
	app := &userInfo{name: "system:serviceaccount:videos:app"}
	short := jwt(fmt.Sprintf(`{"exp":%d}`, storetest.T0.Add(10*time.Second).Unix()))
	long := jwt(fmt.Sprintf(`{"exp":%d}`, storetest.T0.Add(time.Hour).Unix()))
	expired := jwt(fmt.Sprintf(`{"exp":%d}`, storetest.T0.Add(-time.Second).Unix()))
	rev := &fakeReviewer{users: map[string]*userInfo{short: app, long: app, expired: app}}
	a := newAuthCache(rev, AuthCacheOptions{TTL: 30 * time.Second}, clk)
	authenticate := func(token string, reviews int) {
		t.Helper()
		if u, err := a.authenticate(ctx, "10.0.0.1", token); err != nil || u == nil {
			t.Fatalf("authenticate = %v, %v", u, err)
		}
		if rev.tokens != reviews {
			t.Fatalf("%d TokenReviews, want %d", rev.tokens, reviews)
		}
	}
	authenticate(short, 1)
	authenticate(long, 2)
	authenticate(expired, 3)
	authenticate(expired, 4) // not cached
	clk.Step(9 * time.Second)
	authenticate(short, 4) // cached until its exp
	authenticate(long, 4)
	clk.Step(2 * time.Second)
	authenticate(short, 5) // past its exp: reviewed again (the API server decides)
	authenticate(long, 5)  // the TTL still applies
	clk.Step(20 * time.Second)
	authenticate(long, 6) // past the TTL
}

// The TokenReview carries the API's audience, and a token the API server does
// not confirm for it is refused.
func TestKubeReviewerAudience(t *testing.T) {
	const aud = DefaultTokenAudience
	for _, tc := range []struct {
		name      string
		audience  string   // the API's
		status    []string // status.audiences the API server answers
		authentic bool     // status.authenticated
		wantAsked []string // spec.audiences sent
		wantUser  bool
	}{
		{"token for the audience", aud, []string{aud}, true, []string{aud}, true},
		{"API server refuses the audience", aud, nil, false, []string{aud}, false},
		{"an authenticator that ignores audiences", aud, nil, true, []string{aud}, false},
		{"another audience confirmed", aud, []string{"https://kubernetes.default.svc"}, true, []string{aud}, false},
		{"no audience configured: the API server's", "", []string{"https://kubernetes.default.svc"}, true, nil, true},
		{"no audience configured, not authenticated", "", nil, false, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cs := kubefake.NewClientset()
			var asked []string
			cs.PrependReactor("create", "tokenreviews", func(action k8stesting.Action) (bool, runtime.Object, error) {
				tr := action.(k8stesting.CreateAction).GetObject().(*authenticationv1.TokenReview).DeepCopy()
				asked = tr.Spec.Audiences
				tr.Status = authenticationv1.TokenReviewStatus{Authenticated: tc.authentic, Audiences: tc.status,
					User: authenticationv1.UserInfo{Username: "system:serviceaccount:videos:app"}}
				return true, tr, nil
			})
			u, err := kubeReviewer{cs: cs, audience: tc.audience}.reviewToken(context.Background(), "tok")
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(asked, tc.wantAsked) {
				t.Errorf("spec.audiences = %v; want %v", asked, tc.wantAsked)
			}
			if (u != nil) != tc.wantUser {
				t.Errorf("user = %v; want one: %v", u, tc.wantUser)
			}
		})
	}
}

// The SubjectAccessReview asks for the route's verb and resource.
func TestKubeReviewerAccess(t *testing.T) {
	cs := kubefake.NewClientset()
	var got *authorizationv1.ResourceAttributes
	cs.PrependReactor("create", "subjectaccessreviews", func(action k8stesting.Action) (bool, runtime.Object, error) {
		sar := action.(k8stesting.CreateAction).GetObject().(*authorizationv1.SubjectAccessReview).DeepCopy()
		got = sar.Spec.ResourceAttributes
		sar.Status.Allowed = true
		return true, sar, nil
	})
	u := &userInfo{name: "system:serviceaccount:videos:app"}
	for _, a := range []access{mayCheck, mayListMemberships, mayGetOrgRole} {
		if ok, err := (kubeReviewer{cs: cs}).reviewAccess(context.Background(), u, "videos", a); err != nil || !ok {
			t.Fatalf("reviewAccess(%s) = %v, %v", a, ok, err)
		}
		want := authorizationv1.ResourceAttributes{Namespace: "videos", Verb: a.verb, Group: "orgrbac.dev", Resource: a.resource}
		if got == nil || *got != want {
			t.Errorf("SubjectAccessReview for %s: %+v; want %+v", a, got, want)
		}
	}
}

func TestNamespaceOf(t *testing.T) {
	for user, want := range map[string]string{
		"system:serviceaccount:videos:app": "videos",
		"system:serviceaccount:videos":     "",
		"system:serviceaccount::app":       "",
		"alice":                            "",
		"system:node:n1":                   "",
	} {
		if got := namespaceOf(user); got != want {
			t.Errorf("namespaceOf(%q) = %q, want %q", user, got, want)
		}
	}
}
