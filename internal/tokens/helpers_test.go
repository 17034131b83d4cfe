package tokens

import (
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/orgrbac/orgrbac/pkg/authz"
)

const (
	testNamespace = "orgrbac-system"
	testSecret    = DefaultSecretName
)

// epoch is the fake clock's start.
var epoch = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// RSA keys are slow to generate: the tests draw from a few made once.
var (
	poolOnce sync.Once
	pool     []*rsa.PrivateKey
	poolErr  error
)

func testKeys(t testing.TB) []*rsa.PrivateKey {
	t.Helper()
	poolOnce.Do(func() {
		for range 4 {
			k, err := generateRSA()
			if err != nil {
				poolErr = err
				return
			}
			pool = append(pool, k)
		}
	})
	if poolErr != nil {
		t.Fatal(poolErr)
	}
	return pool
}

// cycling returns a generator handing out the pool's keys in turn.
func cycling(t testing.TB) func() (*rsa.PrivateKey, error) {
	keys := testKeys(t)
	var mu sync.Mutex
	next := 0
	return func() (*rsa.PrivateKey, error) {
		mu.Lock()
		defer mu.Unlock()
		k := keys[next%len(keys)]
		next++
		return k, nil
	}
}

func testOptions(clock *clocktesting.FakeClock) Options {
	return Options{Namespace: testNamespace, Clock: clock}
}

// newTestRotator returns a rotator over a fake clientset and a fake clock.
func newTestRotator(t *testing.T, objects ...*corev1.Secret) (*Rotator, *fake.Clientset, *clocktesting.FakeClock) {
	t.Helper()
	client := fake.NewClientset()
	for _, o := range objects {
		if err := client.Tracker().Add(o); err != nil {
			t.Fatal(err)
		}
	}
	clock := clocktesting.NewFakeClock(epoch)
	r, err := NewRotator(client, testOptions(clock))
	if err != nil {
		t.Fatal(err)
	}
	r.generate = cycling(t)
	return r, client, clock
}

// storedKeys reads the keys of the Secret in the fake clientset.
func storedKeys(t *testing.T, client *fake.Clientset) (*corev1.Secret, []signingKey) {
	t.Helper()
	s, err := client.CoreV1().Secrets(testNamespace).Get(t.Context(), testSecret, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := decodeKeys(s.Data[DataKey])
	if err != nil {
		t.Fatal(err)
	}
	return s, keys
}

func ids(keys []signingKey) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k.id
	}
	return out
}

// writes counts the create and update actions the clientset saw.
func writes(client *fake.Clientset) int {
	n := 0
	for _, a := range client.Actions() {
		if a.GetVerb() == "create" || a.GetVerb() == "update" {
			n++
		}
	}
	return n
}

// verify checks token against a JWKS document, as a workload would.
func verify(jwks []byte, token string) (*authz.AccessTokenClaims, error) {
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(jwks, &set); err != nil {
		return nil, err
	}
	parsed, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return nil, err
	}
	if len(parsed.Headers) != 1 {
		return nil, errors.New("not one signature")
	}
	keys := set.Key(parsed.Headers[0].KeyID)
	if len(keys) != 1 {
		return nil, fmt.Errorf("kid %q is not in the set", parsed.Headers[0].KeyID)
	}
	var claims authz.AccessTokenClaims
	if err := parsed.Claims(keys[0].Key, &claims); err != nil {
		return nil, err
	}
	return &claims, nil
}

func testClaims(now time.Time) *authz.AccessTokenClaims {
	return &authz.AccessTokenClaims{
		Issuer: "https://orgrbac-api.orgrbac-system.svc", Subject: "user_01", Audience: "team-a",
		OrgID: "org_01", Role: "admin", Roles: []string{"admin"}, Permissions: []string{"widgets:read"},
		SessionID: "session_01", ID: "token_01", IssuedAt: now.Unix(), Expiry: now.Add(DefaultTokenTTL).Unix(),
	}
}

// secretWith is the Secret holding data as keys.json.
func secretWith(data []byte, version string) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: testSecret, Namespace: testNamespace, ResourceVersion: version},
		Type:       corev1.SecretTypeOpaque,
		Data:       map[string][]byte{DataKey: data},
	}
}
