package authz

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultTokenFile is where the documented projected serviceAccountToken
// volume mounts the pod's token for the decision API (audience TokenAudience,
// rotated by the kubelet): docs/decision-api.md. The API refuses the pod's
// default ServiceAccount token, whose audience is the Kubernetes API server.
const DefaultTokenFile = "/var/run/secrets/orgrbac.dev/token" //nolint:gosec // a path, not a credential

// TokenAudience is the audience the decision API requires of tokens by
// default (its --api-token-audience): the audience of the projected volume.
const TokenAudience = "orgrbac.dev/decision-api" //nolint:gosec // an audience name, not a credential

// RevisionHeader is the response header carrying the snapshot revision.
const RevisionHeader = "X-Orgrbac-Revision"

// HTTPSourceOptions configure an HTTPSource.
type HTTPSourceOptions struct {
	// URL is the decision API's base URL, e.g.
	// https://orgrbac-api.orgrbac-system.svc:8082. Required, and https unless
	// AllowInsecureHTTP is set: every request carries the pod's token.
	URL string
	// AllowInsecureHTTP accepts an http URL, sending the token in clear text.
	// Only for tests against a loopback server.
	AllowInsecureHTTP bool
	// TokenFile holds the bearer token, a projected ServiceAccount token for
	// the API's audience, re-read every TokenRefresh and after a 401, as the
	// kubelet rotates it (DefaultTokenFile when empty).
	TokenFile string
	// TokenRefresh is how often the token file is re-read (one minute when zero).
	TokenRefresh time.Duration
	// CAFile holds the PEM certificates that sign the API's serving certificate;
	// the system roots are used when empty. Ignored when Client is set.
	CAFile string
	// Namespace selects the environment; the caller's own namespace when empty.
	Namespace string
	// TTL is how long an answer is cached (5s when zero, no caching when negative).
	TTL time.Duration
	// MaxEntries bounds the cache; it is emptied when full (10000 when zero).
	MaxEntries int
	// Timeout bounds the requests Allowed makes (5s when zero).
	Timeout time.Duration
	// Client sends the requests. When nil, a client trusting CAFile that
	// ignores the proxy environment variables (HTTPS_PROXY, ...): the API is
	// in the cluster, and a proxy would receive the token.
	Client *http.Client
}

// HTTPSource answers by calling the decision API's POST /v1/check, caching
// answers for a short TTL.
type HTTPSource struct {
	opts     HTTPSourceOptions
	client   *http.Client
	endpoint string
	now      func() time.Time

	revision atomic.Int64

	tokenMu   sync.Mutex
	token     string
	tokenRead time.Time

	cacheMu sync.Mutex
	cache   map[checkRequest]cached
}

type cached struct {
	allowed bool
	expires time.Time
}

// checkRequest is the body of POST /v1/check.
type checkRequest struct {
	Organization string `json:"organization"`
	User         string `json:"user"`
	Permission   string `json:"permission"`
	Namespace    string `json:"namespace,omitempty"`
}

// checkResponse is the part of the answer the source uses.
type checkResponse struct {
	Allowed bool `json:"allowed"`
}

// NewHTTPSource returns a source calling the decision API at opts.URL.
func NewHTTPSource(opts HTTPSourceOptions) (*HTTPSource, error) {
	if opts.URL == "" {
		return nil, errors.New("the decision API's URL is required")
	}
	base, err := url.Parse(opts.URL)
	if err != nil {
		return nil, fmt.Errorf("the decision API's URL: %w", err)
	}
	switch {
	case base.Host == "":
		return nil, fmt.Errorf("the decision API's URL %q has no host", opts.URL)
	case base.Scheme == "https":
	case base.Scheme == "http" && opts.AllowInsecureHTTP:
	case base.Scheme == "http":
		return nil, fmt.Errorf("the decision API's URL %q is not https: the token would travel in clear text (AllowInsecureHTTP allows it)", opts.URL)
	default:
		return nil, fmt.Errorf("the decision API's URL %q is not https", opts.URL)
	}
	if opts.TokenFile == "" {
		opts.TokenFile = DefaultTokenFile
	}
	if opts.TokenRefresh <= 0 {
		opts.TokenRefresh = time.Minute
	}
	if opts.TTL == 0 {
		opts.TTL = 5 * time.Second
	}
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = 10000
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 5 * time.Second
	}
	client := opts.Client
	if client == nil {
		tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12}
		if opts.CAFile != "" {
			pem, err := os.ReadFile(opts.CAFile)
			if err != nil {
				return nil, fmt.Errorf("reading the CA file: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("the CA file %s holds no PEM certificate", opts.CAFile)
			}
			tlsConfig.RootCAs = pool
		}
		transport := http.DefaultTransport.(*http.Transport).Clone()
		transport.TLSClientConfig = tlsConfig
		transport.Proxy = nil
		client = &http.Client{Transport: transport}
	}
	// The namespace travels in the query too, so that the API authorizes the
	// caller before it reads the body.
	endpoint := strings.TrimSuffix(opts.URL, "/") + "/v1/check"
	if opts.Namespace != "" {
		endpoint += "?" + url.Values{"namespace": {opts.Namespace}}.Encode()
	}
	return &HTTPSource{opts: opts, client: client, endpoint: endpoint,
		now: time.Now, cache: map[checkRequest]cached{}}, nil
}

// Allowed reports whether user of org holds permission; any error denies.
func (s *HTTPSource) Allowed(org, user, permission string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.Timeout)
	defer cancel()
	ok, err := s.Check(ctx, org, user, permission)
	return err == nil && ok
}

// Revision is the highest snapshot revision the API has answered with.
func (s *HTTPSource) Revision() int64 { return s.revision.Load() }

// Check implements Decider with a call to POST /v1/check, or a cached answer.
func (s *HTTPSource) Check(ctx context.Context, org, user, permission string) (bool, error) {
	req := checkRequest{Organization: org, User: user, Permission: permission, Namespace: s.opts.Namespace}
	if allowed, ok := s.cached(req); ok {
		return allowed, nil
	}
	allowed, err := s.call(ctx, req)
	if err != nil {
		return false, err
	}
	s.store(req, allowed)
	return allowed, nil
}

func (s *HTTPSource) cached(req checkRequest) (allowed, ok bool) {
	if s.opts.TTL < 0 {
		return false, false
	}
	s.cacheMu.Lock()
	defer s.cacheMu.Unlock()
	c, ok := s.cache[req]
	if !ok || !s.now().Before(c.expires) {
		return false, false
	}
	return c.allowed, true
}

func (s *HTTPSource) store(req checkRequest, allowed bool) {
	if s.opts.TTL < 0 {
		return
	}
	s.cacheMu.Lock()
	defer s.cacheMu.Unlock()
	if len(s.cache) >= s.opts.MaxEntries {
		clear(s.cache)
	}
	s.cache[req] = cached{allowed: allowed, expires: s.now().Add(s.opts.TTL)}
}

func (s *HTTPSource) call(ctx context.Context, body checkRequest) (bool, error) {
	token, err := s.bearer()
	if err != nil {
		return false, err
	}
	payload, err := json.Marshal(body)
	if err != nil {
		return false, fmt.Errorf("encoding the check: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.endpoint, bytes.NewReader(payload)) //nolint:gosec // the workload configures the API's URL
	if err != nil {
		return false, fmt.Errorf("building the check request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := s.client.Do(req) //nolint:gosec // the workload configures the API's URL
	if err != nil {
		return false, fmt.Errorf("calling the decision API: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return false, fmt.Errorf("reading the decision API's answer: %w", err)
	}
	if resp.StatusCode == http.StatusUnauthorized {
		// The token may have expired or rotated since it was read: the next
		// call reads the file again.
		s.forgetToken(token)
	}
	if resp.StatusCode != http.StatusOK {
		return false, &APIError{StatusCode: resp.StatusCode, Body: string(data)}
	}
	var out checkResponse
	if err := json.Unmarshal(data, &out); err != nil {
		return false, fmt.Errorf("decoding the decision API's answer: %w", err)
	}
	if rev, err := strconv.ParseInt(resp.Header.Get(RevisionHeader), 10, 64); err == nil {
		for {
			cur := s.revision.Load()
			if rev <= cur || s.revision.CompareAndSwap(cur, rev) {
				break
			}
		}
	}
	return out.Allowed, nil
}

// bearer returns the token, re-reading the file every TokenRefresh (kubelet
// rotates projected ServiceAccount tokens).
func (s *HTTPSource) bearer() (string, error) {
	s.tokenMu.Lock()
	defer s.tokenMu.Unlock()
	if s.token != "" && s.now().Sub(s.tokenRead) < s.opts.TokenRefresh {
		return s.token, nil
	}
	data, err := os.ReadFile(s.opts.TokenFile) //nolint:gosec // the workload configures the token's path
	if err != nil {
		return "", fmt.Errorf("reading the token file: %w", err)
	}
	token := strings.TrimSpace(string(data))
	if token == "" {
		return "", fmt.Errorf("the token file %s is empty", s.opts.TokenFile)
	}
	s.token, s.tokenRead = token, s.now()
	return token, nil
}

// forgetToken makes the next call re-read the token file, unless another call
// already did (the token is then no longer the one refused).
func (s *HTTPSource) forgetToken(refused string) {
	s.tokenMu.Lock()
	defer s.tokenMu.Unlock()
	if s.token == refused {
		s.token = ""
	}
}

// APIError is a non-200 answer of the decision API.
type APIError struct {
	// StatusCode is the HTTP status (401 bad token, 403 caller not allowed, ...).
	StatusCode int
	// Body is the answer's body (a JSON error).
	Body string
}

// Error implements error.
func (e *APIError) Error() string {
	return fmt.Sprintf("the decision API answered %d %s: %s", e.StatusCode, http.StatusText(e.StatusCode), e.Body)
}
