package main

import (
	"errors"
	"flag"
	"fmt"
	"net/url"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/orgrbac/orgrbac/internal/api"
	"github.com/orgrbac/orgrbac/internal/tokens"
)

// tokenOptions are the flags of the access tokens: the Secret of their signing
// keys, the issuer, the lifetime, and the keys' rotation.
type tokenOptions struct {
	secret   string // NAMESPACE/NAME; empty: no access tokens
	issuer   string
	ttl      time.Duration
	rotation time.Duration
	overlap  time.Duration
}

// Defaults of the key rotation.
const (
	defaultKeyRotation = 24 * time.Hour
	defaultKeyOverlap  = time.Hour
)

func (t *tokenOptions) bindFlags(fs *flag.FlagSet) {
	fs.StringVar(&t.secret, "token-signing-secret", "",
		"NAMESPACE/NAME of the Secret holding the access tokens' signing keys: the leader generates and rotates them there, "+
			"and every replica signs with them (POST /v1/tokens) and serves their public key set (/sso/jwks/{clientId}, "+
			"/.well-known/jwks.json). Empty: no access tokens (POST /v1/tokens answers 501).")
	fs.StringVar(&t.issuer, "token-issuer", "",
		"The iss claim of the access tokens: the https URL of the decision API as workloads reach it. "+
			"Empty: https://<--api-service>.<the Secret's namespace>.svc, else "+api.DefaultTokenIssuer+".")
	fs.DurationVar(&t.ttl, "token-ttl", api.DefaultTokenTTL, "The lifetime of an access token.")
	fs.DurationVar(&t.rotation, "token-key-rotation", defaultKeyRotation, "How often the signing key is replaced.")
	fs.DurationVar(&t.overlap, "token-key-overlap", defaultKeyOverlap,
		"How long a replaced signing key stays in the key set, so that the tokens it signed still verify; at least --token-ttl.")
}

// enabled reports whether access tokens are signed and served.
func (t *tokenOptions) enabled() bool { return t.secret != "" }

// secretRef returns the Secret's namespace and name.
func (t *tokenOptions) secretRef() (namespace, name string) {
	namespace, name, _ = strings.Cut(t.secret, "/")
	return namespace, name
}

// validate refuses flags that cannot work, and settles the issuer.
func (t *tokenOptions) validate(apiService string) error {
	if !t.enabled() {
		return nil
	}
	ns, name := t.secretRef()
	if len(validation.IsDNS1123Label(ns)) > 0 || name == "" || strings.Contains(name, "/") {
		return fmt.Errorf("--token-signing-secret %q must be NAMESPACE/NAME", t.secret)
	}
	switch {
	case t.ttl < 10*time.Second || t.ttl > 24*time.Hour:
		return fmt.Errorf("--token-ttl %s must be between 10s and 24h", t.ttl)
	case t.overlap < t.ttl:
		return fmt.Errorf("--token-key-overlap %s must be at least --token-ttl %s: tokens signed by a replaced key must still verify", t.overlap, t.ttl)
	case t.rotation < t.overlap:
		return fmt.Errorf("--token-key-rotation %s must be at least --token-key-overlap %s", t.rotation, t.overlap)
	}
	if t.issuer == "" {
		t.issuer = api.DefaultTokenIssuer
		if apiService != "" {
			t.issuer = fmt.Sprintf("https://%s.%s.svc", apiService, ns)
		}
	}
	u, err := url.Parse(t.issuer)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return errors.New("--token-issuer must be an https URL with a host and no user, query or fragment")
	}
	return nil
}

// setup adds what the access tokens need to mgr: the Rotator, which the leader
// runs, where the controllers run; the KeySet, which signs and serves the
// public keys, where the decision API is served (returned, nil otherwise).
func (t *tokenOptions) setup(mgr manager.Manager, cfg *rest.Config, rotate, serve bool) (*tokens.KeySet, error) {
	if !t.enabled() || (!rotate && !serve) {
		return nil, nil
	}
	ns, name := t.secretRef()
	opts := tokens.Options{Namespace: ns, SecretName: name, RotationPeriod: t.rotation, Overlap: t.overlap, TokenTTL: t.ttl,
		Logger: ctrl.Log.WithName("tokens")}
	// A client of its own: the Secret is read and watched by name, never
	// through the manager's cache (which would hold every Secret it lists).
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("access tokens: %w", err)
	}
	if rotate {
		r, err := tokens.NewRotator(cs, opts)
		if err != nil {
			return nil, fmt.Errorf("access tokens: %w", err)
		}
		if err := mgr.Add(r); err != nil {
			return nil, fmt.Errorf("adding the signing keys' rotator: %w", err)
		}
	}
	if !serve {
		return nil, nil
	}
	keys, err := tokens.NewKeySet(cs, opts)
	if err != nil {
		return nil, fmt.Errorf("access tokens: %w", err)
	}
	if err := mgr.Add(keys); err != nil {
		return nil, fmt.Errorf("adding the signing keys: %w", err)
	}
	// Not ready before a key is loaded: a replica that cannot sign or serve the
	// key set takes no traffic.
	if err := mgr.AddReadyzCheck("tokens", keys.ReadyzCheck); err != nil {
		return nil, fmt.Errorf("adding the signing keys' readiness check: %w", err)
	}
	return keys, nil
}
