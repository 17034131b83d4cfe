package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilcache "k8s.io/apimachinery/pkg/util/cache"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/clock"

	"golang.org/x/sync/singleflight"
)

// The resource a caller needs `get` on, in the target namespace.
const (
	// CheckGroup is the API group of the virtual resource that authorizes callers.
	CheckGroup = "orgrbac.dev"
	// CheckResource is the virtual resource that authorizes callers.
	CheckResource = "permissionchecks"
	// CheckVerb is the verb callers need on CheckResource.
	CheckVerb = "get"
)

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
	// reviewToken returns the token's user, nil when the token is not valid.
	reviewToken(ctx context.Context, token string) (*userInfo, error)
	// reviewAccess reports whether the user may `get` permissionchecks in ns.
	reviewAccess(ctx context.Context, u *userInfo, ns string) (bool, error)
}

// kubeReviewer is the reviewer backed by TokenReview and SubjectAccessReview.
type kubeReviewer struct {
	cs kubernetes.Interface
}

func (k kubeReviewer) reviewToken(ctx context.Context, token string) (*userInfo, error) {
	tr, err := k.cs.AuthenticationV1().TokenReviews().Create(ctx,
		&authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: token}}, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("creating a TokenReview: %w", err)
	}
	if !tr.Status.Authenticated {
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

func (k kubeReviewer) reviewAccess(ctx context.Context, u *userInfo, ns string) (bool, error) {
	sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User: u.name, UID: u.uid, Groups: u.groups,
		ResourceAttributes: &authorizationv1.ResourceAttributes{
			Namespace: ns, Verb: CheckVerb, Group: CheckGroup, Resource: CheckResource},
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
// results.
type AuthCacheOptions struct {
	// Size is the most entries each cache holds (default 10000).
	Size int
	// TTL is how long a positive result is reused (default 30s).
	TTL time.Duration
	// NegativeTTL is how long a negative result is reused (default 10s).
	NegativeTTL time.Duration
}

func (o AuthCacheOptions) withDefaults() AuthCacheOptions {
	if o.Size <= 0 {
		o.Size = 10000
	}
	if o.TTL <= 0 {
		o.TTL = 30 * time.Second
	}
	if o.NegativeTTL <= 0 {
		o.NegativeTTL = 10 * time.Second
	}
	return o
}

// authCache caches a reviewer's answers, positive and negative, bounded in size
// and time. Tokens are keyed by their SHA-256 digest and never kept. Errors are
// not cached. Concurrent misses for one key share one review.
type authCache struct {
	rev    reviewer
	opts   AuthCacheOptions
	tokens *utilcache.LRUExpireCache // [32]byte -> *userInfo (nil: not authenticated)
	access *utilcache.LRUExpireCache // string -> bool
	flight singleflight.Group
}

func newAuthCache(rev reviewer, opts AuthCacheOptions, clk clock.PassiveClock) *authCache {
	opts = opts.withDefaults()
	return &authCache{rev: rev, opts: opts,
		tokens: utilcache.NewLRUExpireCacheWithClock(opts.Size, clk),
		access: utilcache.NewLRUExpireCacheWithClock(opts.Size, clk)}
}

// reviewTimeout bounds one TokenReview or SubjectAccessReview.
const reviewTimeout = 10 * time.Second

// reviewContext detaches a shared review from the cancellation of the request
// that started it (other requests may wait for it) and bounds it in time.
func reviewContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), reviewTimeout)
}

// authenticate returns the token's user, nil when the token is not valid.
func (a *authCache) authenticate(ctx context.Context, token string) (*userInfo, error) {
	key := sha256.Sum256([]byte(token))
	if v, ok := a.tokens.Get(key); ok {
		authCacheTotal.WithLabelValues("token", "hit").Inc()
		return v.(*userInfo), nil
	}
	authCacheTotal.WithLabelValues("token", "miss").Inc()
	v, err, _ := a.flight.Do("t"+hex.EncodeToString(key[:]), func() (any, error) {
		rctx, cancel := reviewContext(ctx)
		defer cancel()
		u, err := a.rev.reviewToken(rctx, token)
		if err != nil {
			return nil, err
		}
		if u != nil {
			c := *u
			c.id = c.key()
			u = &c
		}
		ttl := a.opts.TTL
		if u == nil {
			ttl = a.opts.NegativeTTL
		}
		a.tokens.Add(key, u, ttl)
		return u, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*userInfo), nil
}

// authorize reports whether u may use the API in namespace ns.
func (a *authCache) authorize(ctx context.Context, u *userInfo, ns string) (bool, error) {
	id := u.id
	if id == "" {
		id = u.key()
	}
	key := id + "/" + ns
	if v, ok := a.access.Get(key); ok {
		authCacheTotal.WithLabelValues("access", "hit").Inc()
		return v.(bool), nil
	}
	authCacheTotal.WithLabelValues("access", "miss").Inc()
	v, err, _ := a.flight.Do("a"+key, func() (any, error) {
		rctx, cancel := reviewContext(ctx)
		defer cancel()
		ok, err := a.rev.reviewAccess(rctx, u, ns)
		if err != nil {
			return false, err
		}
		ttl := a.opts.TTL
		if !ok {
			ttl = a.opts.NegativeTTL
		}
		a.access.Add(key, ok, ttl)
		return ok, nil
	})
	if err != nil {
		return false, err
	}
	return v.(bool), nil
}
