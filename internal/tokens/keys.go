package tokens

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// The Secret's content (see the package documentation).
const (
	// DataKey is the Secret's data key holding the key set.
	DataKey = "keys.json"
	// formatVersion is the version of the keys.json format.
	formatVersion = 1
	// keyBits is the size of the RSA keys.
	keyBits = 2048
	// algorithm signs the tokens.
	algorithm = jose.RS256
	// maxSecretData bounds the keys.json the package reads.
	maxSecretData = 256 << 10
)

// storedSet is keys.json.
type storedSet struct {
	Version int         `json:"version"`
	Keys    []storedKey `json:"keys"`
}

// storedKey is a key of keys.json.
type storedKey struct {
	KeyID      string          `json:"kid"`
	CreatedAt  time.Time       `json:"createdAt"`
	ActiveFrom time.Time       `json:"activeFrom"`
	JWK        json.RawMessage `json:"jwk"`
}

// signingKey is a key in memory.
type signingKey struct {
	id         string
	createdAt  time.Time
	activeFrom time.Time
	private    *rsa.PrivateKey
}

// newSigningKey makes a key from generate, signing from activeFrom.
func newSigningKey(generate func() (*rsa.PrivateKey, error), now, activeFrom time.Time) (signingKey, error) {
	private, err := generate()
	if err != nil {
		return signingKey{}, fmt.Errorf("generating a signing key: %w", err)
	}
	id, err := keyID(&private.PublicKey)
	if err != nil {
		return signingKey{}, err
	}
	return signingKey{id: id, createdAt: now.UTC().Truncate(time.Second),
		activeFrom: activeFrom.UTC().Truncate(time.Second), private: private}, nil
}

// generateRSA generates an RSA key of keyBits bits.
func generateRSA() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, keyBits) }

// keyID is the RFC 7638 SHA-256 thumbprint of a public key, base64url.
func keyID(public *rsa.PublicKey) (string, error) {
	jwk := jose.JSONWebKey{Key: public}
	sum, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("computing a key id: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(sum), nil
}

// active is when the key starts signing.
func (k signingKey) active() time.Time { return k.activeFrom }

// publicJWK is the public half of the key as a JWK.
func (k signingKey) publicJWK() jose.JSONWebKey {
	return jose.JSONWebKey{Key: &k.private.PublicKey, KeyID: k.id, Algorithm: string(algorithm), Use: "sig"}
}

// privateJWK is the key as a JWK, private members included.
func (k signingKey) privateJWK() jose.JSONWebKey {
	return jose.JSONWebKey{Key: k.private, KeyID: k.id, Algorithm: string(algorithm), Use: "sig"}
}

// encodeKeys renders keys as keys.json.
func encodeKeys(keys []signingKey) ([]byte, error) {
	set := storedSet{Version: formatVersion, Keys: make([]storedKey, 0, len(keys))}
	for _, k := range keys {
		jwk, err := k.privateJWK().MarshalJSON()
		if err != nil {
			return nil, fmt.Errorf("encoding key %s: %w", k.id, err)
		}
		set.Keys = append(set.Keys, storedKey{KeyID: k.id, CreatedAt: k.createdAt, ActiveFrom: k.activeFrom, JWK: jwk})
	}
	return json.Marshal(set)
}

// decodeKeys reads keys.json, checking every key, and returns the keys sorted
// by activeFrom. Its errors never quote the content.
func decodeKeys(data []byte) ([]signingKey, error) {
	if len(data) == 0 {
		return nil, errors.New("no key set")
	}
	if len(data) > maxSecretData {
		return nil, fmt.Errorf("the key set is larger than %d bytes", maxSecretData)
	}
	var set storedSet
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&set); err != nil {
		return nil, errors.New("the key set is not the expected JSON")
	}
	if set.Version != formatVersion {
		return nil, fmt.Errorf("the key set's version is %d, not %d", set.Version, formatVersion)
	}
	switch {
	case len(set.Keys) == 0:
		return nil, errors.New("the key set holds no key")
	case len(set.Keys) > maxRetainedKeys:
		return nil, fmt.Errorf("the key set holds %d keys, more than %d", len(set.Keys), maxRetainedKeys)
	}
	keys := make([]signingKey, 0, len(set.Keys))
	seen := map[string]bool{}
	for i, s := range set.Keys {
		k, err := decodeKey(s)
		if err != nil {
			return nil, fmt.Errorf("key %d: %w", i, err)
		}
		if seen[k.id] {
			return nil, fmt.Errorf("key %d: the key id is repeated", i)
		}
		seen[k.id] = true
		keys = append(keys, k)
	}
	sortKeys(keys)
	return keys, nil
}

func decodeKey(s storedKey) (signingKey, error) {
	var jwk jose.JSONWebKey
	if err := jwk.UnmarshalJSON(s.JWK); err != nil {
		return signingKey{}, errors.New("not a JWK")
	}
	private, ok := jwk.Key.(*rsa.PrivateKey)
	if !ok {
		return signingKey{}, errors.New("not an RSA private key")
	}
	if private.N.BitLen() < keyBits {
		return signingKey{}, fmt.Errorf("an RSA key of %d bits, fewer than %d", private.N.BitLen(), keyBits)
	}
	if err := private.Validate(); err != nil {
		return signingKey{}, errors.New("an inconsistent RSA key")
	}
	id, err := keyID(&private.PublicKey)
	if err != nil {
		return signingKey{}, err
	}
	if s.KeyID != id || jwk.KeyID != id {
		return signingKey{}, errors.New("the kid is not the key's thumbprint")
	}
	if s.CreatedAt.IsZero() || s.ActiveFrom.IsZero() {
		return signingKey{}, errors.New("createdAt and activeFrom are required")
	}
	return signingKey{id: id, createdAt: s.CreatedAt.UTC(), activeFrom: s.ActiveFrom.UTC(), private: private}, nil
}

// sortKeys orders keys by activeFrom, then createdAt, then id.
func sortKeys(keys []signingKey) {
	sort.SliceStable(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if !a.activeFrom.Equal(b.activeFrom) {
			return a.activeFrom.Before(b.activeFrom)
		}
		if !a.createdAt.Equal(b.createdAt) {
			return a.createdAt.Before(b.createdAt)
		}
		return a.id < b.id
	})
}

// current is the index of the signing key at now among keys sorted by
// activeFrom: the last one active at now, else (a clock behind the leader's)
// the first.
func current[K interface{ active() time.Time }](keys []K, now time.Time) int {
	at := 0
	for i, k := range keys {
		if !k.active().After(now) {
			at = i
		}
	}
	return at
}

// plan is what the Rotator does to keys (sorted by activeFrom) at now: the
// keys to store, whether they differ from keys, and when something is due
// next. A missing key set gets a first key signing at once; a signing key
// that has signed for RotationPeriod gets a successor, published PublishDelay
// before it signs; a key whose successor has signed for Overlap is removed.
func plan(keys []signingKey, now time.Time, o Options, generate func() (*rsa.PrivateKey, error)) ([]signingKey, bool, time.Time, error) {
	changed := false
	if len(keys) == 0 {
		first, err := newSigningKey(generate, now, now)
		if err != nil {
			return nil, false, time.Time{}, err
		}
		keys, changed = []signingKey{first}, true
	}
	kept := make([]signingKey, 0, len(keys)+1)
	for i, k := range keys {
		if i < len(keys)-1 && !now.Before(keys[i+1].activeFrom.Add(o.Overlap)) {
			changed = true
			continue
		}
		kept = append(kept, k)
	}
	latest := kept[len(kept)-1]
	if !now.Before(rotationDue(latest, o)) {
		next, err := newSigningKey(generate, now, now.Add(o.PublishDelay))
		if err != nil {
			return nil, false, time.Time{}, err
		}
		kept, changed = append(kept, next), true
	}
	due := rotationDue(kept[len(kept)-1], o)
	for i := 0; i < len(kept)-1; i++ {
		if removal := kept[i+1].activeFrom.Add(o.Overlap); removal.Before(due) {
			due = removal
		}
	}
	return kept, changed, due, nil
}

// rotationDue is when the latest key needs a successor: its successor then
// signs RotationPeriod after it started signing.
func rotationDue(latest signingKey, o Options) time.Time {
	return latest.activeFrom.Add(o.RotationPeriod - o.PublishDelay)
}
