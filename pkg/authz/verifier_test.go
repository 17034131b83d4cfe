package authz

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/go-cmp/cmp"
)

const (
	testIssuer   = "https://orgrbac-api.orgrbac-system.svc"
	testAudience = "team-a"
)

var verifierEpoch = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

var (
	rsaOnce sync.Once
	rsaKeys []*rsa.PrivateKey
)

// testRSAKeys are three keys made once (RSA generation is slow).
func testRSAKeys(t testing.TB) []*rsa.PrivateKey {
	t.Helper()
	rsaOnce.Do(func() {
		for range 3 {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			rsaKeys = append(rsaKeys, k)
		}
	})
	return rsaKeys
}

// jwksServer serves a key set that tests change, over TLS.
type jwksServer struct {
	*httptest.Server
	doc     atomic.Pointer[[]byte]
	status  atomic.Int32
	fetches atomic.Int32
}

func newJWKSServer(t testing.TB, keys ...*rsa.PrivateKey) *jwksServer {
	t.Helper()
	s := &jwksServer{}
	s.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fetches.Add(1)
		if code := s.status.Load(); code != 0 {
			w.WriteHeader(int(code))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(*s.doc.Load())
	}))
	t.Cleanup(s.Close)
	s.serve(t, keys...)
	return s
}

// serve publishes the public halves of keys.
func (s *jwksServer) serve(t testing.TB, keys ...*rsa.PrivateKey) {
	t.Helper()
	set := jose.JSONWebKeySet{}
	for _, k := range keys {
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: &k.PublicKey, KeyID: kidOf(k), Algorithm: "RS256", Use: "sig"})
	}
	doc, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	s.doc.Store(&doc)
}

func (s *jwksServer) serveRaw(doc string) {
	b := []byte(doc)
	s.doc.Store(&b)
}

func kidOf(k *rsa.PrivateKey) string {
	return "kid-" + base64.RawURLEncoding.EncodeToString(k.N.Bytes()[:8])
}

// tokenClock is a settable clock.
type tokenClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *tokenClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *tokenClock) Step(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newTestVerifier(t testing.TB, s *jwksServer, clock *tokenClock) *TokenVerifier {
	t.Helper()
	v, err := NewTokenVerifier(VerifierOptions{
		JWKSURL: s.URL + "/sso/jwks/" + testAudience, Issuer: testIssuer, Audience: testAudience,
		HTTPClient: s.Client(), Clock: clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func goodClaims(now time.Time) *AccessTokenClaims {
	return &AccessTokenClaims{
		Issuer: testIssuer, Subject: "user_01", Audience: testAudience, OrgID: "org_01",
		Role: "admin", Roles: []string{"admin"}, Permissions: []string{"videos:read", "videos:write"},
		SessionID: "session_01", ID: "token_01", IssuedAt: now.Unix(), Expiry: now.Add(5 * time.Minute).Unix(),
	}
}

// signWith signs claims (any JSON value) with key as kid, RS256.
func signWith(t testing.TB, key *rsa.PrivateKey, kid string, claims any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	token, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return token
}

func sign(t testing.TB, key *rsa.PrivateKey, claims any) string {
	t.Helper()
	return signWith(t, key, kidOf(key), claims)
}

// segment is base64url(JSON(v)), a part of a compact JWS.
func segment(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func TestVerify(t *testing.T) {
	keys := testRSAKeys(t)
	key, stranger := keys[0], keys[2]
	now := verifierEpoch
	with := func(edit func(c *AccessTokenClaims)) *AccessTokenClaims {
		c := goodClaims(now)
		edit(c)
		return c
	}
	good := sign(t, key, goodClaims(now))
	parts := strings.Split(good, ".")

	publicDER, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	publicPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: publicDER})
	hmacSigner, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: publicPEM},
		(&jose.SignerOptions{}).WithHeader("kid", kidOf(key)))
	if err != nil {
		t.Fatal(err)
	}
	hs256, err := jwt.Signed(hmacSigner).Claims(goodClaims(now)).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	none := segment(t, map[string]string{"alg": "none", "kid": kidOf(key), "typ": "JWT"}) + "." + parts[1] + "."

	for _, tc := range []struct {
		name  string
		token string
		want  error // nil: accepted
	}{
		{"valid", good, nil},
		{"valid within the leeway after exp", sign(t, key, with(func(c *AccessTokenClaims) { c.Expiry = now.Add(-20 * time.Second).Unix() })), nil},
		{"expired", sign(t, key, with(func(c *AccessTokenClaims) { c.Expiry = now.Add(-time.Minute).Unix() })), ErrInvalidToken},
		{"issued in the future", sign(t, key, with(func(c *AccessTokenClaims) { c.IssuedAt = now.Add(time.Minute).Unix() })), ErrInvalidToken},
		{"not valid yet (nbf)", sign(t, key, map[string]any{"iss": testIssuer, "aud": testAudience, "sub": "user_01", "org_id": "org_01",
			"iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(), "nbf": now.Add(time.Minute).Unix()}), ErrInvalidToken},
		{"no exp", sign(t, key, with(func(c *AccessTokenClaims) { c.Expiry = 0 })), ErrInvalidToken},
		{"wrong issuer", sign(t, key, with(func(c *AccessTokenClaims) { c.Issuer = "https://evil.example" })), ErrInvalidToken},
		{"wrong audience", sign(t, key, with(func(c *AccessTokenClaims) { c.Audience = "team-b" })), ErrInvalidToken},
		{"audience as a list", sign(t, key, map[string]any{"iss": testIssuer, "aud": []string{"team-b", testAudience}, "sub": "user_01",
			"org_id": "org_01", "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix()}), ErrInvalidToken},
		{"no sub", sign(t, key, with(func(c *AccessTokenClaims) { c.Subject = "" })), ErrInvalidToken},
		{"no org_id", sign(t, key, with(func(c *AccessTokenClaims) { c.OrgID = "" })), ErrInvalidToken},
		{"alg none", none, ErrInvalidToken},
		{"HS256 with the public key as the secret", hs256, ErrInvalidToken},
		{"tampered payload", parts[0] + "." + segment(t, with(func(c *AccessTokenClaims) { c.OrgID = "org_02" })) + "." + parts[2], ErrInvalidToken},
		{"tampered header", segment(t, map[string]string{"alg": "RS256", "kid": kidOf(key), "typ": "at+jwt"}) + "." + parts[1] + "." + parts[2], ErrInvalidToken},
		{"signature removed", parts[0] + "." + parts[1] + ".", ErrInvalidToken},
		{"signed by a key outside the set under its kid", signWith(t, stranger, kidOf(key), goodClaims(now)), ErrInvalidToken},
		{"signed by a key outside the set", sign(t, stranger, goodClaims(now)), ErrInvalidToken},
		{"no kid", signWith(t, key, "", goodClaims(now)), ErrInvalidToken},
		{"JSON serialization", `{"payload":"` + parts[1] + `","protected":"` + parts[0] + `","signature":"` + parts[2] + `"}`, ErrInvalidToken},
		{"empty", "", ErrInvalidToken},
		{"too long", strings.Repeat("a", maxTokenBytes+1), ErrInvalidToken},
		{"garbage", "not.a.token", ErrInvalidToken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newJWKSServer(t, key, keys[1])
			v := newTestVerifier(t, s, &tokenClock{now: now})
			claims, err := v.Verify(t.Context(), tc.token)
			if !errors.Is(err, tc.want) || (err == nil) != (tc.want == nil) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			if tc.want == nil && claims.OrgID != "org_01" {
				t.Errorf("claims %+v", claims)
			}
			if tc.want != nil && claims != nil {
				t.Errorf("claims returned with an error")
			}
		})
	}
}

func TestVerifyReturnsTheClaims(t *testing.T) {
	key := testRSAKeys(t)[0]
	s := newJWKSServer(t, key)
	v := newTestVerifier(t, s, &tokenClock{now: verifierEpoch})
	want := goodClaims(verifierEpoch)
	got, err := v.Verify(t.Context(), sign(t, key, want))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("claims (-want +got):\n%s", diff)
	}
}

func TestVerifyRefetchesOnUnknownKid(t *testing.T) {
	keys := testRSAKeys(t)
	old, rotated, third := keys[0], keys[1], keys[2]
	clock := &tokenClock{now: verifierEpoch}
	s := newJWKSServer(t, old)
	v := newTestVerifier(t, s, clock)
	verify := func(key *rsa.PrivateKey) error {
		_, err := v.Verify(t.Context(), sign(t, key, goodClaims(clock.Now())))
		return err
	}
	if err := verify(old); err != nil {
		t.Fatal(err)
	}
	if n := s.fetches.Load(); n != 1 {
		t.Fatalf("%d fetches, want 1", n)
	}

	// The set rotates: an unknown kid refetches it.
	s.serve(t, old, rotated)
	clock.Step(DefaultMinRefreshInterval)
	if err := verify(rotated); err != nil {
		t.Errorf("the rotated key: %v", err)
	}
	if err := verify(old); err != nil {
		t.Errorf("the old key during the overlap: %v", err)
	}
	if n := s.fetches.Load(); n != 2 {
		t.Errorf("%d fetches, want 2", n)
	}

	// Unknown kids do not refetch more than once per MinRefreshInterval.
	s.serve(t, old, rotated, third)
	for range 5 {
		if err := verify(keys[2]); err != nil && !errors.Is(err, ErrInvalidToken) {
			t.Fatal(err)
		}
	}
	if n := s.fetches.Load(); n != 2 {
		t.Errorf("%d fetches after unknown kids within the interval, want still 2", n)
	}
	clock.Step(DefaultMinRefreshInterval)
	if err := verify(third); err != nil {
		t.Errorf("after the interval: %v", err)
	}
	if n := s.fetches.Load(); n != 3 {
		t.Errorf("%d fetches, want 3", n)
	}
}

func TestVerifyRefusesAKeyRemovedFromTheSet(t *testing.T) {
	keys := testRSAKeys(t)
	clock := &tokenClock{now: verifierEpoch}
	s := newJWKSServer(t, keys[0], keys[1])
	v := newTestVerifier(t, s, clock)
	token := sign(t, keys[0], goodClaims(clock.Now()))
	if _, err := v.Verify(t.Context(), token); err != nil {
		t.Fatal(err)
	}
	s.serve(t, keys[1])
	if err := v.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(t.Context(), token); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("error %v after the key left the set, want ErrInvalidToken", err)
	}
}

func TestVerifyRefetchesAnOldSet(t *testing.T) {
	keys := testRSAKeys(t)
	clock := &tokenClock{now: verifierEpoch}
	s := newJWKSServer(t, keys[0])
	v := newTestVerifier(t, s, clock)
	verify := func() error {
		_, err := v.Verify(t.Context(), sign(t, keys[0], goodClaims(clock.Now())))
		return err
	}
	if err := verify(); err != nil {
		t.Fatal(err)
	}
	// An old set whose refetch fails is still used.
	clock.Step(DefaultMaxKeySetAge)
	s.status.Store(http.StatusInternalServerError)
	if err := verify(); err != nil {
		t.Errorf("an old set when the server fails: %v, want it still used", err)
	}
	// An old set that no longer holds the key refuses it.
	s.status.Store(0)
	s.serve(t, keys[1])
	clock.Step(DefaultMinRefreshInterval)
	if err := verify(); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("error %v once the refetched set lost the key, want ErrInvalidToken", err)
	}
}

func TestVerifyWhenTheKeySetIsUnavailable(t *testing.T) {
	key := testRSAKeys(t)[0]
	for _, tc := range []struct {
		name  string
		setup func(s *jwksServer)
	}{
		{"server down", func(s *jwksServer) { s.Close() }},
		{"500", func(s *jwksServer) { s.status.Store(http.StatusInternalServerError) }},
		{"not JSON", func(s *jwksServer) { s.serveRaw("<html>") }},
		{"no usable key", func(s *jwksServer) { s.serveRaw(`{"keys":[{"kty":"oct","kid":"a"}]}`) }},
		{"a private key", func(s *jwksServer) {
			b, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: key, KeyID: kidOf(key)}}})
			s.serveRaw(string(b))
		}},
		{"too large", func(s *jwksServer) { s.serveRaw(`{"keys":[],"pad":"` + strings.Repeat("a", maxKeySetBytes) + `"}`) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newJWKSServer(t, key)
			tc.setup(s)
			v := newTestVerifier(t, s, &tokenClock{now: verifierEpoch})
			claims, err := v.Verify(t.Context(), sign(t, key, goodClaims(verifierEpoch)))
			if !errors.Is(err, ErrKeySetUnavailable) || claims != nil {
				t.Errorf("claims %v error %v, want ErrKeySetUnavailable", claims, err)
			}
			if err := v.Refresh(t.Context()); !errors.Is(err, ErrKeySetUnavailable) {
				t.Errorf("Refresh: %v, want ErrKeySetUnavailable", err)
			}
		})
	}
}

func TestParseKeySetSkipsUnusableKeys(t *testing.T) {
	keys := testRSAKeys(t)
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	jwk := func(k *rsa.PrivateKey, kid, alg, use string) jose.JSONWebKey {
		return jose.JSONWebKey{Key: &k.PublicKey, KeyID: kid, Algorithm: alg, Use: use}
	}
	doc, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		jwk(keys[0], "good", "RS256", "sig"),
		jwk(keys[1], "no-alg-no-use", "", ""),
		jwk(keys[2], "encryption", "RS256", "enc"),
		jwk(keys[2], "other-alg", "PS256", "sig"),
		jwk(keys[2], "", "RS256", "sig"),
		jwk(small, "small", "RS256", "sig"),
	}})
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string][]json.RawMessage
	if err := json.Unmarshal(doc, &raw); err != nil {
		t.Fatal(err)
	}
	raw["keys"] = append(raw["keys"], json.RawMessage(`{"kty":"EC","crv":"P-999","kid":"ec"}`))
	doc, _ = json.Marshal(raw)
	got, err := parseKeySet(doc)
	if err != nil {
		t.Fatal(err)
	}
	var kids []string
	for kid := range got {
		kids = append(kids, kid)
	}
	if len(kids) != 2 || got["good"] == nil || got["no-alg-no-use"] == nil {
		t.Errorf("kept %v, want good and no-alg-no-use", kids)
	}
	dup, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{jwk(keys[0], "a", "", ""), jwk(keys[1], "a", "", "")}})
	if _, err := parseKeySet(dup); err == nil {
		t.Error("a set repeating a kid was accepted")
	}
}

func TestNewTokenVerifierOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts VerifierOptions
	}{
		{"no URL", VerifierOptions{Issuer: testIssuer, Audience: testAudience}},
		{"http URL", VerifierOptions{JWKSURL: "http://api/sso/jwks/a", Issuer: testIssuer, Audience: testAudience}},
		{"no host", VerifierOptions{JWKSURL: "https:///sso/jwks/a", Issuer: testIssuer, Audience: testAudience}},
		{"bad URL", VerifierOptions{JWKSURL: "https://a b/%", Issuer: testIssuer, Audience: testAudience}},
		{"no issuer", VerifierOptions{JWKSURL: "https://api/sso/jwks/a", Audience: testAudience}},
		{"no audience", VerifierOptions{JWKSURL: "https://api/sso/jwks/a", Issuer: testIssuer}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewTokenVerifier(tc.opts); err == nil {
				t.Error("accepted")
			}
		})
	}
	v, err := NewTokenVerifier(VerifierOptions{JWKSURL: "https://api/sso/jwks/a", Issuer: testIssuer, Audience: testAudience})
	if err != nil {
		t.Fatal(err)
	}
	if v.client == nil || v.opts.Leeway != DefaultLeeway || v.opts.MinRefreshInterval != DefaultMinRefreshInterval {
		t.Errorf("defaults not applied: %+v", v.opts)
	}
}

func TestVerifyConcurrently(t *testing.T) {
	keys := testRSAKeys(t)
	clock := &tokenClock{now: verifierEpoch}
	s := newJWKSServer(t, keys[0], keys[1])
	v := newTestVerifier(t, s, clock)
	tokens := []string{sign(t, keys[0], goodClaims(clock.Now())), sign(t, keys[1], goodClaims(clock.Now()))}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 10 {
				if _, err := v.Verify(t.Context(), tokens[(i+j)%2]); err != nil {
					t.Error(err)
				}
				if j == 5 {
					_ = v.Refresh(t.Context())
				}
			}
		})
	}
	wg.Wait()
}

func FuzzVerify(f *testing.F) {
	keys := testRSAKeys(f)
	s := newJWKSServer(f, keys[0])
	v := newTestVerifier(f, s, &tokenClock{now: verifierEpoch})
	want := goodClaims(verifierEpoch)
	good := sign(f, keys[0], want)
	parts := strings.Split(good, ".")
	f.Add(good)
	f.Add(parts[0] + "." + parts[1] + ".")
	f.Add(segment(f, map[string]string{"alg": "none", "kid": kidOf(keys[0])}) + "." + parts[1] + ".")
	f.Add(segment(f, map[string]string{"alg": "HS256", "kid": kidOf(keys[0])}) + "." + parts[1] + "." + parts[2])
	f.Add(sign(f, keys[1], want))
	f.Add("")
	f.Add("a.b.c")
	f.Add("....")
	f.Fuzz(func(t *testing.T, token string) {
		claims, err := v.Verify(t.Context(), token)
		if err != nil {
			if claims != nil {
				t.Fatal("claims returned with an error")
			}
			return
		}
		// Only the one validly signed token can pass (base64's spare bits may
		// spell it differently, never with other claims).
		if !cmp.Equal(claims, want) {
			t.Fatalf("accepted a forged token: %+v", claims)
		}
	})
}
