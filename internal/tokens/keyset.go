package tokens

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/orgrbac/orgrbac/pkg/authz"
)

// ErrNoSigningKey is Sign's error while no key is loaded.
var ErrNoSigningKey = errors.New("tokens: no signing key is loaded yet")

// KeySet holds the signing keys of the Secret in memory, signs tokens and
// serves the public key set. Every replica runs one.
type KeySet struct {
	client kubernetes.Interface
	opts   Options

	state atomic.Pointer[keyState]

	errMu sync.Mutex
	err   error
}

// keyState is one loaded key set; it is never changed once stored.
type keyState struct {
	keys    []loadedKey // sorted by activeFrom
	jwks    []byte
	version string // the Secret's resourceVersion
}

type loadedKey struct {
	signingKey
	signer jose.Signer
}

// NewKeySet returns a KeySet of the Secret opts names; Start loads it.
func NewKeySet(client kubernetes.Interface, opts Options) (*KeySet, error) {
	if client == nil {
		return nil, errors.New("tokens: a Kubernetes client is required")
	}
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	return &KeySet{client: client, opts: opts}, nil
}

// NeedLeaderElection implements manager.LeaderElectionRunnable: every replica
// signs and serves the key set.
func (k *KeySet) NeedLeaderElection() bool { return false }

// Start implements manager.Runnable: it watches the Secret (and nothing else
// in the namespace) until ctx ends.
func (k *KeySet) Start(ctx context.Context) error {
	selector := fields.OneTermEqualSelector("metadata.name", k.opts.SecretName).String()
	factory := informers.NewSharedInformerFactoryWithOptions(k.client, 0,
		informers.WithNamespace(k.opts.Namespace),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.FieldSelector = selector }))
	informer := factory.Core().V1().Secrets().Informer()
	_, err := informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { k.observe(obj) },
		UpdateFunc: func(_, obj any) { k.observe(obj) },
		DeleteFunc: func(obj any) {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			if s, ok := obj.(*corev1.Secret); ok && s.Name == k.opts.SecretName {
				k.setErr(errors.New("the signing keys' Secret was deleted; keeping the last keys until it is recreated"))
			}
		},
	})
	if err != nil {
		return fmt.Errorf("watching the signing keys' Secret: %w", err)
	}
	factory.Start(ctx.Done())
	<-ctx.Done()
	factory.Shutdown()
	return nil
}

// observe loads a Secret the informer delivers.
func (k *KeySet) observe(obj any) {
	s, ok := obj.(*corev1.Secret)
	if !ok || s.Name != k.opts.SecretName || s.Namespace != k.opts.Namespace {
		return
	}
	k.load(s)
}

// load replaces the keys with the Secret's; a Secret it cannot read leaves the
// last good keys and sets Err.
func (k *KeySet) load(s *corev1.Secret) {
	if old := k.state.Load(); old != nil && old.version != "" && old.version == s.ResourceVersion {
		return
	}
	st, err := newKeyState(s.Data[DataKey], s.ResourceVersion)
	if err != nil {
		err = fmt.Errorf("the signing keys' Secret %s/%s is unreadable, keeping the last good keys: %w", s.Namespace, s.Name, err)
		if k.setErr(err) {
			k.opts.Logger.Error(err, "loading the token signing keys")
		}
		return
	}
	k.state.Store(st)
	k.setErr(nil)
	k.opts.Logger.V(1).Info("loaded the token signing keys", "keys", len(st.keys), "resourceVersion", s.ResourceVersion)
}

// newKeyState decodes keys.json and prepares the signers and the public set.
func newKeyState(data []byte, version string) (*keyState, error) {
	keys, err := decodeKeys(data)
	if err != nil {
		return nil, err
	}
	st := &keyState{version: version, keys: make([]loadedKey, 0, len(keys))}
	public := jose.JSONWebKeySet{Keys: make([]jose.JSONWebKey, 0, len(keys))}
	for _, key := range keys {
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: algorithm, Key: key.privateJWK()},
			(&jose.SignerOptions{}).WithType("JWT"))
		if err != nil {
			return nil, fmt.Errorf("key %s: %w", key.id, err)
		}
		st.keys = append(st.keys, loadedKey{signingKey: key, signer: signer})
		public.Keys = append(public.Keys, key.publicJWK())
	}
	st.jwks, err = json.Marshal(public)
	if err != nil {
		return nil, fmt.Errorf("encoding the public key set: %w", err)
	}
	return st, nil
}

// setErr records the load error (nil: the last load succeeded) and reports
// whether it changed.
func (k *KeySet) setErr(err error) bool {
	k.errMu.Lock()
	defer k.errMu.Unlock()
	changed := (k.err == nil) != (err == nil) || (err != nil && err.Error() != k.err.Error())
	k.err = err
	return changed
}

// Err is why the last Secret could not be loaded, nil when it was.
func (k *KeySet) Err() error {
	k.errMu.Lock()
	defer k.errMu.Unlock()
	return k.err
}

// Ready reports whether a key is loaded (Sign and JWKS work).
func (k *KeySet) Ready() bool { return k.state.Load() != nil }

// ReadyzCheck is a healthz.Checker: an error while no key is loaded.
func (k *KeySet) ReadyzCheck(_ *http.Request) error {
	if k.Ready() {
		return nil
	}
	if err := k.Err(); err != nil {
		return err
	}
	return ErrNoSigningKey
}

// Sign returns claims as a compact JWS (RS256, header kid and typ JWT) signed
// with the current signing key. It refuses claims whose exp is not after iat
// or more than TokenTTL after it.
func (k *KeySet) Sign(claims *authz.AccessTokenClaims) (string, error) {
	if claims == nil {
		return "", errors.New("tokens: no claims to sign")
	}
	// A key leaves the public set Overlap (at least TokenTTL) after it stops
	// signing: a token living longer would outlive its key.
	if claims.Expiry <= claims.IssuedAt || claims.Expiry-claims.IssuedAt > int64(k.opts.TokenTTL/time.Second) {
		return "", fmt.Errorf("tokens: a token must expire after it is issued and live at most TokenTTL (%s)", k.opts.TokenTTL)
	}
	now := k.opts.Clock.Now()
	st := k.state.Load()
	if st == nil {
		return "", ErrNoSigningKey
	}
	key := st.keys[current(st.keys, now)]
	token, err := jwt.Signed(key.signer).Claims(claims).Serialize()
	if err != nil {
		return "", fmt.Errorf("tokens: signing: %w", err)
	}
	return token, nil
}

// signingKeyID is the kid Sign uses at now ("" while no key is loaded).
func (k *KeySet) signingKeyID(now time.Time) string {
	st := k.state.Load()
	if st == nil {
		return ""
	}
	return st.keys[current(st.keys, now)].id
}

// JWKS returns the public key set (RFC 7517): every key of the Secret, with
// kty, use, alg, kid, n and e only. ok is false while no key is loaded.
func (k *KeySet) JWKS() ([]byte, bool) {
	st := k.state.Load()
	if st == nil {
		return nil, false
	}
	return append([]byte(nil), st.jwks...), true
}
