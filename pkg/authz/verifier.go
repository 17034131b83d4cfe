package authz

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Access tokens are verified offline: the TokenVerifier fetches the public key
// set (JWKS) the decision API serves, caches it, and checks each token's RS256
// signature and claims without calling the API.

// Errors of TokenVerifier.Verify.
var (
	// ErrInvalidToken wraps every refusal of a token: malformed, not RS256,
	// unknown key, bad signature, wrong issuer or audience, expired, ...
	ErrInvalidToken = errors.New("invalid access token")
	// ErrKeySetUnavailable means the key set could not be fetched, so the
	// token could not be checked (deny, and retry later).
	ErrKeySetUnavailable = errors.New("the access tokens' key set is unavailable")
)

// Defaults of VerifierOptions.
const (
	// DefaultMinRefreshInterval is the least time between two fetches of the
	// key set caused by unknown key ids.
	DefaultMinRefreshInterval = 30 * time.Second
	// DefaultMaxKeySetAge is how long a fetched key set is used before the
	// next Verify fetches it again.
	DefaultMaxKeySetAge = 10 * time.Minute
	// DefaultLeeway is the clock skew allowed on exp, nbf and iat.
	DefaultLeeway = 30 * time.Second
	// DefaultFetchTimeout bounds a fetch of the key set.
	DefaultFetchTimeout = 10 * time.Second
)

// Bounds on what the verifier reads.
const (
	maxTokenBytes    = 16 << 10
	maxKeySetBytes   = 1 << 20
	maxKeySetKeys    = 100
	minRSABits       = 2048
	firstFetchRetry  = time.Second
	verifierAlgoName = jose.RS256
)

// VerifierOptions configure a TokenVerifier.
type VerifierOptions struct {
	// JWKSURL is the URL of the public key set, e.g.
	// https://orgrbac-api.orgrbac-system.svc:8082/sso/jwks/<namespace>.
	// Required, https.
	JWKSURL string
	// Issuer is the iss the tokens must carry (the decision API's issuer URL).
	// Required.
	Issuer string
	// Audience is the aud the tokens must carry: the environment's client id,
	// its namespace. Required.
	Audience string
	// HTTPClient fetches the key set; it must verify the server's certificate.
	// When nil, a client trusting the system roots.
	HTTPClient *http.Client
	// Clock tells the time (time.Now when nil).
	Clock func() time.Time
	// MinRefreshInterval is the least time between two fetches caused by
	// unknown key ids (DefaultMinRefreshInterval when zero).
	MinRefreshInterval time.Duration
	// MaxKeySetAge is how long a key set is used before it is fetched again
	// (DefaultMaxKeySetAge when zero); when that fetch fails the old set stays.
	MaxKeySetAge time.Duration
	// Leeway is the clock skew allowed on exp, nbf and iat (DefaultLeeway
	// when zero, none when negative).
	Leeway time.Duration
	// FetchTimeout bounds a fetch of the key set (DefaultFetchTimeout when zero).
	FetchTimeout time.Duration
}

// TokenVerifier verifies orgrbac access tokens offline. It is safe for
// concurrent use.
type TokenVerifier struct {
	opts   VerifierOptions
	client *http.Client

	keys atomic.Pointer[keySet]

	fetchMu     sync.Mutex // serializes fetches; guards lastAttempt
	lastAttempt time.Time
}

// keySet is one fetched key set; never changed once stored.
type keySet struct {
	keys      map[string]*rsa.PublicKey
	fetchedAt time.Time
}

// NewTokenVerifier returns a verifier of the tokens opts describes. It fetches
// the key set on the first Verify (or Refresh).
func NewTokenVerifier(opts VerifierOptions) (*TokenVerifier, error) {
	u, err := url.Parse(opts.JWKSURL)
	switch {
	case opts.JWKSURL == "":
		return nil, errors.New("authz: VerifierOptions.JWKSURL is required")
	case err != nil:
		return nil, fmt.Errorf("authz: the JWKS URL: %w", err)
	case u.Scheme != "https" || u.Host == "":
		return nil, fmt.Errorf("authz: the JWKS URL %q is not an https URL", opts.JWKSURL)
	case opts.Issuer == "":
		return nil, errors.New("authz: VerifierOptions.Issuer is required")
	case opts.Audience == "":
		return nil, errors.New("authz: VerifierOptions.Audience is required (the environment's namespace)")
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.MinRefreshInterval <= 0 {
		opts.MinRefreshInterval = DefaultMinRefreshInterval
	}
	if opts.MaxKeySetAge <= 0 {
		opts.MaxKeySetAge = DefaultMaxKeySetAge
	}
	switch {
	case opts.Leeway == 0:
		opts.Leeway = DefaultLeeway
	case opts.Leeway < 0:
		opts.Leeway = 0
	}
	if opts.FetchTimeout <= 0 {
		opts.FetchTimeout = DefaultFetchTimeout
	}
	client := opts.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: opts.FetchTimeout}
	}
	return &TokenVerifier{opts: opts, client: client}, nil
}

// Verify checks token (a compact JWS, without "Bearer ") and returns its
// claims: an RS256 signature by a key of the set (an unknown kid refetches
// the set, at most once per MinRefreshInterval), the issuer, the audience,
// exp and iat (and nbf when present) with the leeway, and sub and org_id
// present. Refusals wrap ErrInvalidToken; a key set that cannot be fetched,
// ErrKeySetUnavailable.
func (v *TokenVerifier) Verify(ctx context.Context, token string) (*AccessTokenClaims, error) {
	if token == "" || len(token) > maxTokenBytes {
		return nil, invalid("empty or too long")
	}
	parsed, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{verifierAlgoName})
	if err != nil {
		return nil, invalid("not a compact RS256 JWS")
	}
	if len(parsed.Headers) != 1 || parsed.Headers[0].Algorithm != string(verifierAlgoName) {
		return nil, invalid("not one RS256 signature")
	}
	kid := parsed.Headers[0].KeyID
	if kid == "" {
		return nil, invalid("no kid")
	}
	key, err := v.key(ctx, kid)
	if err != nil {
		return nil, err
	}
	var std jwt.Claims
	var claims AccessTokenClaims
	if err := parsed.Claims(key, &std, &claims); err != nil {
		return nil, invalid("bad signature or claims")
	}
	if std.Expiry == nil || std.IssuedAt == nil {
		return nil, invalid("exp and iat are required")
	}
	expected := jwt.Expected{Issuer: v.opts.Issuer, AnyAudience: jwt.Audience{v.opts.Audience}, Time: v.opts.Clock()}
	if err := std.ValidateWithLeeway(expected, v.opts.Leeway); err != nil {
		return nil, invalid(claimError(err))
	}
	if claims.Subject == "" || claims.OrgID == "" {
		return nil, invalid("sub and org_id are required")
	}
	return &claims, nil
}

// claimError names the claim jwt refused.
func claimError(err error) string {
	switch {
	case errors.Is(err, jwt.ErrExpired):
		return "expired"
	case errors.Is(err, jwt.ErrNotValidYet):
		return "not valid yet"
	case errors.Is(err, jwt.ErrIssuedInTheFuture):
		return "issued in the future"
	case errors.Is(err, jwt.ErrInvalidIssuer):
		return "wrong issuer"
	case errors.Is(err, jwt.ErrInvalidAudience):
		return "wrong audience"
	default:
		return "claims refused"
	}
}

func invalid(reason string) error { return fmt.Errorf("%w: %s", ErrInvalidToken, reason) }

// Refresh fetches the key set now, whatever the last fetch: keys that left
// the set are refused from then on.
func (v *TokenVerifier) Refresh(ctx context.Context) error {
	return v.refresh(ctx, true)
}

// errTooSoon is refresh's answer when the last attempt is too recent.
var errTooSoon = errors.New("the key set was fetched too recently")

// key returns the key kid names, fetching the set when kid is unknown or the
// set is old.
func (v *TokenVerifier) key(ctx context.Context, kid string) (*rsa.PublicKey, error) {
	set := v.keys.Load()
	if set != nil {
		if k, ok := set.keys[kid]; ok {
			if v.opts.Clock().Sub(set.fetchedAt) < v.opts.MaxKeySetAge {
				return k, nil
			}
			// An old set: fetch it again, but keep using it when that fails.
			if err := v.refresh(ctx, false); err != nil {
				return k, nil
			}
			return v.lookup(kid)
		}
	}
	err := v.refresh(ctx, false)
	switch {
	case errors.Is(err, errTooSoon) && v.keys.Load() == nil:
		return nil, fmt.Errorf("%w: %w", ErrKeySetUnavailable, err)
	case errors.Is(err, errTooSoon):
		// Another request has just fetched: its set decides.
	case err != nil:
		return nil, err
	}
	return v.lookup(kid)
}

func (v *TokenVerifier) lookup(kid string) (*rsa.PublicKey, error) {
	if set := v.keys.Load(); set != nil {
		if k, ok := set.keys[kid]; ok {
			return k, nil
		}
	}
	return nil, invalid("unknown kid")
}

// refresh fetches the set unless (when not forced) the last attempt is more
// recent than MinRefreshInterval (a second while no set was ever fetched).
func (v *TokenVerifier) refresh(ctx context.Context, force bool) error {
	v.fetchMu.Lock()
	defer v.fetchMu.Unlock()
	now := v.opts.Clock()
	interval := v.opts.MinRefreshInterval
	if v.keys.Load() == nil {
		interval = min(interval, firstFetchRetry)
	}
	if !force && !v.lastAttempt.IsZero() && now.Sub(v.lastAttempt) < interval {
		return errTooSoon
	}
	v.lastAttempt = now
	keys, err := v.fetch(ctx)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrKeySetUnavailable, err)
	}
	v.keys.Store(&keySet{keys: keys, fetchedAt: now})
	return nil
}

// fetch reads the key set from JWKSURL.
func (v *TokenVerifier) fetch(ctx context.Context) (map[string]*rsa.PublicKey, error) {
	ctx, cancel := context.WithTimeout(ctx, v.opts.FetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.opts.JWKSURL, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := v.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s answered %d", v.opts.JWKSURL, resp.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxKeySetBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxKeySetBytes {
		return nil, fmt.Errorf("the key set is larger than %d bytes", maxKeySetBytes)
	}
	return parseKeySet(data)
}

// privateMembers are JWK members that only private or symmetric keys have.
var privateMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k", "priv"}

// parseKeySet reads a JWKS document: the RSA signing keys usable for RS256
// (2048 bits or more) by kid. Keys of other types or uses are skipped; a set
// with private members or repeated kids is refused.
func parseKeySet(data []byte) (map[string]*rsa.PublicKey, error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, errors.New("the key set is not a JWKS document")
	}
	if len(doc.Keys) > maxKeySetKeys {
		return nil, fmt.Errorf("the key set holds more than %d keys", maxKeySetKeys)
	}
	keys := map[string]*rsa.PublicKey{}
	for i, raw := range doc.Keys {
		var members map[string]json.RawMessage
		if err := json.Unmarshal(raw, &members); err != nil {
			return nil, fmt.Errorf("key %d is not a JSON object", i)
		}
		for _, m := range privateMembers {
			if _, ok := members[m]; ok {
				return nil, fmt.Errorf("key %d holds private key material", i)
			}
		}
		var jwk jose.JSONWebKey
		if err := jwk.UnmarshalJSON(raw); err != nil {
			continue // a key type this verifier does not use
		}
		public, ok := jwk.Key.(*rsa.PublicKey)
		switch {
		case !ok, jwk.KeyID == "", public.N.BitLen() < minRSABits,
			jwk.Use != "" && jwk.Use != "sig",
			jwk.Algorithm != "" && jwk.Algorithm != string(verifierAlgoName):
			continue
		}
		if _, dup := keys[jwk.KeyID]; dup {
			return nil, fmt.Errorf("the key set repeats a kid")
		}
		keys[jwk.KeyID] = public
	}
	if len(keys) == 0 {
		return nil, errors.New("the key set holds no RS256 signing key")
	}
	return keys, nil
}
