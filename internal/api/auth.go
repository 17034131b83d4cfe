package api

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilcache "k8s.io/apimachinery/pkg/util/cache"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/clock"
	"k8s.io/utils/lru"

	"golang.org/x/sync/singleflight"
	"golang.org/x/time/rate"

	"github.com/orgrbac/orgrbac/pkg/authz"
)

// DefaultTokenAudience is the audience the decision API asks TokenReviews for
// unless told otherwise (--api-token-audience): callers present a projected
// ServiceAccount token minted for it, never a token for the API server.
const DefaultTokenAudience = authz.TokenAudience // defined once, where workloads read it

// userInfo is an authenticated caller.
type userInfo struct {
	name   string
	uid    string
	groups []string
	extra  map[string][]string
	// id is key(), computed once when the user enters the token cache; the
	// access cache is looked up with it on every request.
	id string
}

// key is a stable digest of the caller's identity, used as the access cache key.
func (u *userInfo) key() string {
	h := sha256.New()
	write := func(s string) {
		_, _ = fmt.Fprintf(h, "%d:%s", len(s), s)
	}
	write(u.name)
	write(u.uid)
	groups := slices.Clone(u.groups)
	slices.Sort(groups)
	for _, g := range groups {
		write("g")
		write(g)
	}
	keys := make([]string, 0, len(u.extra))
	for k := range u.extra {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		write("x")
		write(k)
		for _, v := range u.extra[k] {
			write(v)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// serviceAccountPrefix starts the user name of every ServiceAccount token.
const serviceAccountPrefix = "system:serviceaccount:"

// namespaceOf returns the namespace of a ServiceAccount user name
// (system:serviceaccount:NS:NAME), "" for any other user.
func namespaceOf(user string) string {
	rest, ok := strings.CutPrefix(user, serviceAccountPrefix)
	if !ok {
		return ""
	}
	ns, name, ok := strings.Cut(rest, ":")
	if !ok || ns == "" || name == "" {
		return ""
	}
	return ns
}

// reviewer asks the API server who a token belongs to and what a user may do.
type reviewer interface {
	// reviewToken returns the token's user, nil when the token is not valid
	// (for the API's audience, when it has one).
	reviewToken(ctx context.Context, token string) (*userInfo, error)
	// reviewAccess reports whether the user holds a in namespace ns.
	reviewAccess(ctx context.Context, u *userInfo, ns string, a access) (bool, error)
}

// kubeReviewer is the reviewer backed by TokenReview and SubjectAccessReview.
type kubeReviewer struct {
	cs kubernetes.Interface
	// audience is the audience every token must be valid for; "" accepts the
	// API server's own audiences (the weaker setting: callers then hand the API
	// a credential the API server accepts too).
	audience string
}

func (k kubeReviewer) reviewToken(ctx context.Context, token string) (*userInfo, error) {
	spec := authenticationv1.TokenReviewSpec{Token: token}
	if k.audience != "" {
		spec.Audiences = []string{k.audience}
	}
	tr, err := k.cs.AuthenticationV1().TokenReviews().Create(ctx,
		&authenticationv1.TokenReview{Spec: spec}, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("creating a TokenReview: %w", err)
	}
	if !tr.Status.Authenticated {
		return nil, nil
	}
	// The API server answers with the requested audiences the token is valid
	// for; an authenticator that ignores audiences answers none, which is
	// refused too (as kube-rbac-proxy's --auth-token-audiences does).
	if k.audience != "" && !slices.Contains(tr.Status.Audiences, k.audience) {
		return nil, nil
	}
	u := &userInfo{name: tr.Status.User.Username, uid: tr.Status.User.UID, groups: tr.Status.User.Groups}
	if len(tr.Status.User.Extra) > 0 {
		u.extra = make(map[string][]string, len(tr.Status.User.Extra))
		for k, v := range tr.Status.User.Extra {
			u.extra[k] = v
		}
	}
	return u, nil
}

func (k kubeReviewer) reviewAccess(ctx context.Context, u *userInfo, ns string, a access) (bool, error) {
	sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User: u.name, UID: u.uid, Groups: u.groups,
		ResourceAttributes: &authorizationv1.ResourceAttributes{
			Namespace: ns, Verb: a.verb, Group: CheckGroup, Resource: a.resource},
	}}
	if len(u.extra) > 0 {
		sar.Spec.Extra = make(map[string]authorizationv1.ExtraValue, len(u.extra))
		for k, v := range u.extra {
			sar.Spec.Extra[k] = v
		}
	}
	out, err := k.cs.AuthorizationV1().SubjectAccessReviews().Create(ctx, sar, metav1.CreateOptions{})
	if err != nil {
		return false, fmt.Errorf("creating a SubjectAccessReview: %w", err)
	}
	return out.Status.Allowed && !out.Status.Denied, nil
}

// AuthCacheOptions bound the caches of TokenReview and SubjectAccessReview
// results, and the reviews that fail.
type AuthCacheOptions struct {
	// Size is the most positive entries each cache holds (default 10000).
	Size int
	// NegativeSize is the most negative entries each cache holds (default
	// Size/10, at least 1). Negative results live in caches of their own, so
	// that invalid tokens and denied namespaces never evict a valid caller.
	NegativeSize int
	// TTL is how long a positive result is reused (default 30s).
	TTL time.Duration
	// NegativeTTL is how long a negative result is reused (default 10s).
	NegativeTTL time.Duration
	// FailureQPS and FailureBurst are the token bucket of the reviews that come
	// back negative (an invalid token, a denial), for all callers together
	// (default 20 per second, burst 100). Each kind of review has its own.
	FailureQPS   float64
	FailureBurst int
	// CallerFailureQPS and CallerFailureBurst are the same bucket per caller:
	// per client address for TokenReviews, per authenticated identity for
	// SubjectAccessReviews (default 1 per second, burst 10).
	CallerFailureQPS   float64
	CallerFailureBurst int
}

func (o AuthCacheOptions) withDefaults() AuthCacheOptions {
	if o.Size <= 0 {
		o.Size = 10000
	}
	if o.NegativeSize <= 0 {
		o.NegativeSize = max(1, o.Size/10)
	}
	if o.TTL <= 0 {
		o.TTL = 30 * time.Second
	}
	if o.NegativeTTL <= 0 {
		o.NegativeTTL = 10 * time.Second
	}
	if o.FailureQPS <= 0 {
		o.FailureQPS = 20
	}
	if o.FailureBurst <= 0 {
		o.FailureBurst = 100
	}
	if o.CallerFailureQPS <= 0 {
		o.CallerFailureQPS = 1
	}
	if o.CallerFailureBurst <= 0 {
		o.CallerFailureBurst = 10
	}
	return o
}

// errThrottled is returned instead of sending a review when the failure budget
// of the caller, or of all callers, is spent.
var errThrottled = errors.New("too many failed reviews; try again later")

// maxCallerBudgets bounds the per-caller token buckets kept (least recently
// used first out).
const maxCallerBudgets = 4096

// failureBudget bounds the reviews that fail with token buckets, one for all
// callers and one per caller. A cache miss may send a review only while both
// buckets hold a token; a review that comes back negative spends one from
// each, a positive one spends nothing. So callers with valid credentials are
// never slowed down, and a caller presenting garbage (or probing namespaces it
// may not use) is answered 429 without reaching the API server once it has
// spent its burst. Concurrent misses may overshoot by the requests in flight.
type failureBudget struct {
	clk     clock.PassiveClock
	global  *rate.Limiter
	mu      sync.Mutex
	callers *lru.Cache // caller -> *rate.Limiter
	limit   rate.Limit
	burst   int
}

func newFailureBudget(clk clock.PassiveClock, o AuthCacheOptions) *failureBudget {
	return &failureBudget{clk: clk, global: rate.NewLimiter(rate.Limit(o.FailureQPS), o.FailureBurst),
		callers: lru.New(maxCallerBudgets), limit: rate.Limit(o.CallerFailureQPS), burst: o.CallerFailureBurst}
}

func (b *failureBudget) caller(key string) *rate.Limiter {
	b.mu.Lock()
	defer b.mu.Unlock()
	if v, ok := b.callers.Get(key); ok {
		return v.(*rate.Limiter)
	}
	l := rate.NewLimiter(b.limit, b.burst)
	b.callers.Add(key, l)
	return l
}

// allows reports whether a review may be sent for caller.
func (b *failureBudget) allows(caller string) bool {
	now := b.clk.Now()
	return b.global.TokensAt(now) >= 1 && b.caller(caller).TokensAt(now) >= 1
}

// failed spends a token of caller and of the global bucket.
func (b *failureBudget) failed(caller string) {
	now := b.clk.Now()
	b.global.AllowN(now, 1)
	b.caller(caller).AllowN(now, 1)
}

// authCache caches a reviewer's answers, positive and negative apart, bounded in
// size and time, and bounds the reviews that fail. Tokens are keyed by their
// SHA-256 digest and never kept. Errors are not cached. Concurrent misses for
// one key share one review.
type authCache struct {
	rev       reviewer
	opts      AuthCacheOptions
	clk       clock.PassiveClock
	tokens    *utilcache.LRUExpireCache // [32]byte -> *userInfo
	badTokens *utilcache.LRUExpireCache // [32]byte -> struct{}: not authenticated
	access    *utilcache.LRUExpireCache // string -> struct{}: allowed
	denied    *utilcache.LRUExpireCache // string -> struct{}: denied
	// tokenFailures bound TokenReviews that find no user, per client address;
	// accessFailures SubjectAccessReviews that deny, per identity.
	tokenFailures, accessFailures *failureBudget
	flight                        singleflight.Group
}

func newAuthCache(rev reviewer, opts AuthCacheOptions, clk clock.PassiveClock) *authCache {
	opts = opts.withDefaults()
	return &authCache{rev: rev, opts: opts, clk: clk,
		tokens:         utilcache.NewLRUExpireCacheWithClock(opts.Size, clk),
		badTokens:      utilcache.NewLRUExpireCacheWithClock(opts.NegativeSize, clk),
		access:         utilcache.NewLRUExpireCacheWithClock(opts.Size, clk),
		denied:         utilcache.NewLRUExpireCacheWithClock(opts.NegativeSize, clk),
		tokenFailures:  newFailureBudget(clk, opts),
		accessFailures: newFailureBudget(clk, opts)}
}

// reviewTimeout bounds one TokenReview or SubjectAccessReview.
const reviewTimeout = 10 * time.Second

// reviewContext detaches a shared review from the cancellation of the request
// that started it (other requests may wait for it) and bounds it in time.
func reviewContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), reviewTimeout)
}

// authenticate returns the token's user, nil when the token is not valid.
// client (the caller's address) selects the failure budget a miss draws on;
// errThrottled when it is spent.
func (a *authCache) authenticate(ctx context.Context, client, token string) (*userInfo, error) {
	key := sha256.Sum256([]byte(token))
	if v, ok := a.tokens.Get(key); ok {
		authCacheTotal.WithLabelValues("token", "hit").Inc()
		return v.(*userInfo), nil
	}
	if _, ok := a.badTokens.Get(key); ok {
		authCacheTotal.WithLabelValues("token", "hit").Inc()
		return nil, nil
	}
	if !a.tokenFailures.allows(client) {
		authCacheTotal.WithLabelValues("token", "throttled").Inc()
		return nil, errThrottled
	}
	authCacheTotal.WithLabelValues("token", "miss").Inc()
	v, err, _ := a.flight.Do("t"+hex.EncodeToString(key[:]), func() (any, error) {
		rctx, cancel := reviewContext(ctx)
		defer cancel()
		u, err := a.rev.reviewToken(rctx, token)
		if err != nil {
			return (*userInfo)(nil), err
		}
		if u == nil {
			a.tokenFailures.failed(client)
			a.badTokens.Add(key, struct{}{}, a.opts.NegativeTTL)
			return u, nil
		}
		c := *u
		c.id = c.key()
		// A positive answer never outlives the token.
		ttl := a.opts.TTL
		if exp, ok := tokenExpiry(token); ok {
			ttl = min(ttl, exp.Sub(a.clk.Now()))
		}
		if ttl > 0 {
			a.tokens.Add(key, &c, ttl)
		}
		return &c, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*userInfo), nil
}

// authorize reports whether u holds acc in namespace ns; errThrottled when
// u's failure budget is spent and the answer is not cached.
func (a *authCache) authorize(ctx context.Context, u *userInfo, ns string, acc access) (bool, error) {
	id := u.id
	if id == "" {
		id = u.key()
	}
	// Namespaces are DNS labels, verbs and resources constants without '/'.
	key := id + "/" + ns + "/" + acc.verb + "/" + acc.resource
	if _, ok := a.access.Get(key); ok {
		authCacheTotal.WithLabelValues("access", "hit").Inc()
		return true, nil
	}
	if _, ok := a.denied.Get(key); ok {
		authCacheTotal.WithLabelValues("access", "hit").Inc()
		return false, nil
	}
	if !a.accessFailures.allows(id) {
		authCacheTotal.WithLabelValues("access", "throttled").Inc()
		return false, errThrottled
	}
	authCacheTotal.WithLabelValues("access", "miss").Inc()
	v, err, _ := a.flight.Do("a"+key, func() (any, error) {
		rctx, cancel := reviewContext(ctx)
		defer cancel()
		ok, err := a.rev.reviewAccess(rctx, u, ns, acc)
		if err != nil {
			return false, err
		}
		if ok {
			a.access.Add(key, struct{}{}, a.opts.TTL)
		} else {
			a.accessFailures.failed(id)
			a.denied.Add(key, struct{}{}, a.opts.NegativeTTL)
		}
		return ok, nil
	})
	if err != nil {
		return false, err
	}
	return v.(bool), nil
}

// maxJWTPayload bounds the payload tokenExpiry decodes (a ServiceAccount
// token's is a few hundred bytes).
const maxJWTPayload = 16 << 10

// maxUnixSeconds is the end of year 9999.
const maxUnixSeconds = 253402300799

// tokenExpiry returns the expiry (the "exp" claim) of a token that is a JWT.
// The signature is not verified: the expiry only ever shortens how long the
// API server's answer about the token is cached, it is never trusted to grant
// anything. ok is false for tokens that are not JWTs or carry no usable exp.
func tokenExpiry(token string) (time.Time, bool) {
	_, rest, ok := strings.Cut(token, ".")
	if !ok {
		return time.Time{}, false
	}
	payload, sig, ok := strings.Cut(rest, ".")
	if !ok || strings.Contains(sig, ".") || len(payload) > maxJWTPayload {
		return time.Time{}, false
	}
	data, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return time.Time{}, false
	}
	var claims struct {
		Exp *float64 `json:"exp"` // a NumericDate: seconds, possibly fractional
	}
	if err := json.Unmarshal(data, &claims); err != nil || claims.Exp == nil {
		return time.Time{}, false
	}
	// Negative or beyond year 9999: no usable expiry (the TTL alone applies).
	if exp := *claims.Exp; exp >= 0 && exp <= maxUnixSeconds {
		return time.Unix(int64(exp), 0), true
	}
	return time.Time{}, false
}
