package tokens

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	clocktesting "k8s.io/utils/clock/testing"
)

// keySetOver returns a KeySet loaded with keys (sorted by activeFrom).
func keySetOver(t *testing.T, clock *clocktesting.FakeClock, keys []signingKey) *KeySet {
	t.Helper()
	ks, err := NewKeySet(fake.NewClientset(), testOptions(clock))
	if err != nil {
		t.Fatal(err)
	}
	data, err := encodeKeys(keys)
	if err != nil {
		t.Fatal(err)
	}
	ks.load(secretWith(data, "1"))
	if err := ks.Err(); err != nil {
		t.Fatal(err)
	}
	return ks
}

func keyAt(t *testing.T, i int, activeFrom time.Time) signingKey {
	t.Helper()
	private := testKeys(t)[i]
	id, err := keyID(&private.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return signingKey{id: id, createdAt: activeFrom, activeFrom: activeFrom, private: private}
}

func TestKeySetWatchesTheSecret(t *testing.T) {
	r, client, clock := newTestRotator(t)
	ks, err := NewKeySet(client, testOptions(clock))
	if err != nil {
		t.Fatal(err)
	}
	if ks.Ready() || ks.ReadyzCheck(nil) == nil {
		t.Fatal("ready before any key is loaded")
	}
	if _, err := ks.Sign(testClaims(clock.Now())); !errors.Is(err, ErrNoSigningKey) {
		t.Errorf("Sign before a key: %v, want ErrNoSigningKey", err)
	}
	if _, ok := ks.JWKS(); ok {
		t.Error("JWKS ok before a key")
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- ks.Start(ctx) }()

	if _, err := r.reconcile(t.Context()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ks.Ready)
	if err := ks.ReadyzCheck(nil); err != nil {
		t.Errorf("ReadyzCheck %v once loaded", err)
	}
	token, err := ks.Sign(testClaims(clock.Now()))
	if err != nil {
		t.Fatal(err)
	}
	jwks, _ := ks.JWKS()
	if _, err := verify(jwks, token); err != nil {
		t.Errorf("the token does not verify against the JWKS: %v", err)
	}

	// A rotation reaches the KeySet through the watch.
	clock.Step(DefaultRotationPeriod)
	if _, err := r.reconcile(t.Context()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		doc, _ := ks.JWKS()
		var set struct{ Keys []json.RawMessage }
		return json.Unmarshal(doc, &set) == nil && len(set.Keys) == 2
	})

	// A broken Secret keeps the last keys.
	secret, err := client.CoreV1().Secrets(testNamespace).Get(t.Context(), testSecret, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	secret.Data[DataKey] = []byte("garbage")
	if _, err := client.CoreV1().Secrets(testNamespace).Update(t.Context(), secret, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return ks.Err() != nil })
	if _, err := ks.Sign(testClaims(clock.Now())); err != nil {
		t.Errorf("Sign after a broken Secret: %v, want the last keys", err)
	}
	// A deleted Secret too.
	if err := client.CoreV1().Secrets(testNamespace).Delete(t.Context(), testSecret, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return ks.Err() != nil && bytes.Contains([]byte(ks.Err().Error()), []byte("deleted")) })
	if !ks.Ready() {
		t.Error("not ready after the Secret was deleted, want the last keys")
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Start returned %v", err)
	}
}

func TestKeySetSignsWithTheCurrentKey(t *testing.T) {
	clock := clocktesting.NewFakeClock(epoch)
	old, next := keyAt(t, 0, epoch.Add(-time.Hour)), keyAt(t, 1, epoch.Add(time.Minute))
	ks := keySetOver(t, clock, []signingKey{old, next})
	for _, tc := range []struct {
		name string
		at   time.Time
		want string
	}{
		{"before the next key is due", epoch, old.id},
		{"when it is due", epoch.Add(time.Minute), next.id},
		{"after", epoch.Add(time.Hour), next.id},
		{"a clock behind every key", epoch.Add(-2 * time.Hour), old.id},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock.SetTime(tc.at)
			token, err := ks.Sign(testClaims(tc.at))
			if err != nil {
				t.Fatal(err)
			}
			header := decodeHeader(t, token)
			if header["kid"] != tc.want || header["alg"] != "RS256" || header["typ"] != "JWT" {
				t.Errorf("header %v, want kid %s, alg RS256, typ JWT", header, tc.want)
			}
		})
	}
}

func TestSignRefusesTokensOutlivingTheirKey(t *testing.T) {
	clock := clocktesting.NewFakeClock(epoch)
	ks := keySetOver(t, clock, []signingKey{keyAt(t, 0, epoch)})
	for _, tc := range []struct {
		name     string
		iat, exp time.Time
		ok       bool
	}{
		{"the token lifetime", epoch, epoch.Add(DefaultTokenTTL), true},
		{"shorter", epoch, epoch.Add(time.Minute), true},
		{"longer", epoch, epoch.Add(DefaultTokenTTL + time.Minute), false},
		{"issued at another time (the API's clock)", epoch.Add(time.Hour), epoch.Add(time.Hour + time.Minute), true},
		{"expired before it was issued", epoch, epoch.Add(-time.Minute), false},
		{"no lifetime", epoch, epoch, false},
		{"no times", time.Unix(0, 0), time.Unix(0, 0), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			claims := testClaims(epoch)
			claims.IssuedAt, claims.Expiry = tc.iat.Unix(), tc.exp.Unix()
			if _, err := ks.Sign(claims); (err == nil) != tc.ok {
				t.Errorf("error %v, want signed %v", err, tc.ok)
			}
		})
	}
	if _, err := ks.Sign(nil); err == nil {
		t.Error("signed nil claims")
	}
}

func TestTokensVerifyDuringTheOverlapOnly(t *testing.T) {
	r, client, clock := newTestRotator(t)
	ks, err := NewKeySet(client, testOptions(clock))
	if err != nil {
		t.Fatal(err)
	}
	pass := func() {
		t.Helper()
		if _, err := r.reconcile(t.Context()); err != nil {
			t.Fatal(err)
		}
		secret, _ := storedKeys(t, client)
		secret.ResourceVersion = strconv.Itoa(writes(client))
		ks.load(secret)
	}
	pass()
	before, err := ks.Sign(testClaims(clock.Now()))
	if err != nil {
		t.Fatal(err)
	}
	clock.Step(DefaultRotationPeriod)
	pass()
	clock.Step(DefaultPublishDelay)
	pass()
	after, err := ks.Sign(testClaims(clock.Now()))
	if err != nil {
		t.Fatal(err)
	}
	if decodeHeader(t, before)["kid"] == decodeHeader(t, after)["kid"] {
		t.Fatal("the rotation did not change the signing key")
	}
	for _, tc := range []struct {
		name       string
		step       time.Duration
		wantBefore bool
	}{
		{"during the overlap", DefaultOverlap - time.Second, true},
		{"after it", time.Second, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock.Step(tc.step)
			pass()
			jwks, _ := ks.JWKS()
			if _, err := verify(jwks, before); (err == nil) != tc.wantBefore {
				t.Errorf("the token signed before the rotation: error %v, want verified %v", err, tc.wantBefore)
			}
			if _, err := verify(jwks, after); err != nil {
				t.Errorf("the token signed after the rotation: %v", err)
			}
		})
	}
}

func TestKeySetKeepsTheLastGoodKeys(t *testing.T) {
	clock := clocktesting.NewFakeClock(epoch)
	good := keyAt(t, 0, epoch)
	valid, err := encodeKeys([]signingKey{good})
	if err != nil {
		t.Fatal(err)
	}
	other := keyAt(t, 1, epoch)
	otherJWK, err := other.privateJWK().MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	publicJWK, err := good.publicJWK().MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	stored := func(kid string, jwk []byte) []byte {
		b, _ := json.Marshal(storedSet{Version: 1, Keys: []storedKey{{KeyID: kid, CreatedAt: epoch, ActiveFrom: epoch, JWK: jwk}}})
		return b
	}
	for name, data := range map[string][]byte{
		"missing":                nil,
		"not JSON":               []byte("not json"),
		"unknown version":        bytes.Replace(valid, []byte(`"version":1`), []byte(`"version":2`), 1),
		"unknown field":          bytes.Replace(valid, []byte(`{"version":1`), []byte(`{"extra":true,"version":1`), 1),
		"no key":                 []byte(`{"version":1,"keys":[]}`),
		"not a JWK":              stored(good.id, []byte(`"x"`)),
		"a public key":           stored(good.id, publicJWK),
		"a symmetric key":        stored(good.id, []byte(`{"kty":"oct","k":"c2VjcmV0"}`)),
		"kid not the thumbprint": stored(good.id, otherJWK),
		"no times":               bytes.ReplaceAll(valid, []byte(epoch.Format(time.RFC3339)), []byte("0001-01-01T00:00:00Z")),
		"repeated key":           bytes.Replace(valid, []byte(`"keys":[`), append(append([]byte(`"keys":[`), mustStoredKey(t, good)...), ','), 1),
		"too large":              bytes.Repeat([]byte(" "), maxSecretData+1),
	} {
		t.Run(name, func(t *testing.T) {
			ks := keySetOver(t, clock, []signingKey{good})
			jwks, _ := ks.JWKS()
			ks.load(secretWith(data, "2"))
			if ks.Err() == nil {
				t.Fatal("no error recorded")
			}
			if bytes.Contains([]byte(ks.Err().Error()), []byte("c2VjcmV0")) {
				t.Error("the error quotes the Secret's content")
			}
			if got, _ := ks.JWKS(); !bytes.Equal(got, jwks) {
				t.Error("the public set changed")
			}
			token, err := ks.Sign(testClaims(epoch))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := verify(jwks, token); err != nil {
				t.Errorf("the last good key does not sign: %v", err)
			}
			// The next good Secret clears the error.
			ks.load(secretWith(valid, "3"))
			if err := ks.Err(); err != nil {
				t.Errorf("error %v after a good Secret", err)
			}
		})
	}
}

func mustStoredKey(t *testing.T, k signingKey) []byte {
	t.Helper()
	data, err := encodeKeys([]signingKey{k})
	if err != nil {
		t.Fatal(err)
	}
	var set storedSet
	if err := json.Unmarshal(data, &set); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(set.Keys[0])
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestJWKSHoldsPublicMembersOnly(t *testing.T) {
	clock := clocktesting.NewFakeClock(epoch)
	ks := keySetOver(t, clock, []signingKey{keyAt(t, 0, epoch), keyAt(t, 1, epoch.Add(time.Minute))})
	doc, ok := ks.JWKS()
	if !ok {
		t.Fatal("no JWKS")
	}
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(doc, &set); err != nil {
		t.Fatal(err)
	}
	if len(set.Keys) != 2 {
		t.Fatalf("%d keys, want 2", len(set.Keys))
	}
	for i, key := range set.Keys {
		for _, tc := range []struct {
			member string
			want   bool
		}{
			{"kty", true}, {"use", true}, {"alg", true}, {"kid", true}, {"n", true}, {"e", true},
			{"d", false}, {"p", false}, {"q", false}, {"dp", false}, {"dq", false}, {"qi", false},
			{"k", false}, {"oth", false}, {"x5c", false},
		} {
			if _, has := key[tc.member]; has != tc.want {
				t.Errorf("key %d: member %q present %v, want %v", i, tc.member, has, tc.want)
			}
		}
		if len(key) != 6 {
			t.Errorf("key %d has members %v, want exactly kty, use, alg, kid, n, e", i, key)
		}
		if diff := cmp.Diff(map[string]any{"kty": "RSA", "use": "sig", "alg": "RS256"},
			map[string]any{"kty": key["kty"], "use": key["use"], "alg": key["alg"]}); diff != "" {
			t.Errorf("key %d (-want +got):\n%s", i, diff)
		}
	}
	// The caller may not change the served set.
	doc[0] = 'x'
	if again, _ := ks.JWKS(); again[0] != '{' {
		t.Error("JWKS returned its own buffer")
	}
}

func TestSignDuringKeySwaps(t *testing.T) {
	clock := clocktesting.NewFakeClock(epoch)
	a, b := keyAt(t, 0, epoch), keyAt(t, 1, epoch)
	ks := keySetOver(t, clock, []signingKey{a})
	dataA, _ := encodeKeys([]signingKey{a})
	dataB, _ := encodeKeys([]signingKey{b})
	both, err := encodeKeys([]signingKey{a, b})
	if err != nil {
		t.Fatal(err)
	}
	union, err := newKeyState(both, "")
	if err != nil {
		t.Fatal(err)
	}

	stop := make(chan struct{})
	var swaps sync.WaitGroup
	swaps.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			data := dataA
			if i%2 == 1 {
				data = dataB
			}
			ks.load(secretWith(data, strconv.Itoa(i+10)))
		}
	})
	var signers sync.WaitGroup
	tokens := make(chan string, 64)
	for range 4 {
		signers.Go(func() {
			for range 16 {
				token, err := ks.Sign(testClaims(epoch))
				if err != nil {
					t.Error(err)
					return
				}
				tokens <- token
				_, _ = ks.JWKS()
			}
		})
	}
	signers.Wait()
	close(stop)
	swaps.Wait()
	close(tokens)
	for token := range tokens {
		if _, err := verify(union.jwks, token); err != nil {
			t.Errorf("a token signed during the swaps does not verify: %v", err)
		}
	}
}

// decodeHeader reads a compact JWS's protected header.
func decodeHeader(t *testing.T, token string) map[string]any {
	t.Helper()
	header, _, ok := bytes.Cut([]byte(token), []byte("."))
	if !ok {
		t.Fatalf("not a compact JWS")
	}
	raw, err := base64.RawURLEncoding.DecodeString(string(header))
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	return out
}
