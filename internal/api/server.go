package api

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/certwatcher"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/api/store"
	"github.com/orgrbac/orgrbac/internal/certs"
)

// DefaultBindAddress is where the decision API listens unless told otherwise.
const DefaultBindAddress = ":8082"

// Options configure the decision API server.
type Options struct {
	// BindAddress is the listen address (DefaultBindAddress when empty); "0"
	// disables the server.
	BindAddress string
	// Insecure serves plain HTTP instead of HTTPS. Only for loopback
	// development: bearer tokens then travel in clear text.
	Insecure bool
	// CertDir holds the serving certificate (CertName) and key (KeyName),
	// reloaded when they change. When empty, a certificate signed by a CA of
	// its own is generated in memory at construction (see CertificatePEM).
	CertDir string
	// CertName is the certificate's file name in CertDir (default tls.crt).
	CertName string
	// KeyName is the key's file name in CertDir (default tls.key).
	KeyName string
	// CertReady, when set, is closed once CertDir holds the certificate (a
	// certificate rotated into a mounted Secret appears only after the start):
	// the server listens only then, and is not ready before.
	CertReady <-chan struct{}
	// Hosts are extra DNS names and IP addresses of the self-signed certificate
	// (localhost, 127.0.0.1, ::1 and the host name are always included).
	Hosts []string
	// Cache is the manager's informer cache (mgr.GetCache()): the only source of
	// the answers.
	Cache cache.Cache
	// Config reaches the API server for TokenReviews and SubjectAccessReviews
	// (mgr.GetConfig()).
	Config *rest.Config
	// Client writes the objects the WorkOS write routes change (Memberships,
	// OrganizationRoles) with the manager's own identity, after a
	// SubjectAccessReview has allowed the caller the same write; nil: the write
	// routes answer 501.
	Client client.Client
	// FieldManager is the field manager of those writes (DefaultFieldManager
	// when empty); each write also records its caller in the annotation
	// orgrbacv1alpha1.AnnotationWrittenBy.
	FieldManager string
	// Tokens signs access tokens and serves the public key set; nil: POST
	// /v1/tokens answers 501 and the key-set routes 404.
	Tokens TokenIssuer
	// TokenIssuerURL is the iss claim of the access tokens (DefaultTokenIssuer
	// when empty): the URL of the decision API that workloads use.
	TokenIssuerURL string
	// TokenTTL is the lifetime of an access token (DefaultTokenTTL when zero).
	TokenTTL time.Duration
	// TokenAudience is the audience every caller's token must be valid for:
	// TokenReviews ask for it and the API requires it in their answer, so that
	// a token for the API server (a pod's default ServiceAccount token) is
	// refused, and the tokens callers hand the API are good for nothing else.
	// Empty accepts any token the API server accepts for itself (weaker: see
	// docs/decision-api.md). cmd sets DefaultTokenAudience unless told otherwise.
	TokenAudience string
	// AuthCache bounds the caches of authentication and authorization results,
	// and the reviews that fail.
	AuthCache AuthCacheOptions
	// MaxRequestsInFlight bounds the requests served at once; beyond it the API
	// answers 429 with Retry-After. DefaultMaxRequestsInFlight when zero;
	// unbounded when negative.
	MaxRequestsInFlight int
	// Logger logs the server's life cycle (never a token).
	Logger logr.Logger
	// Clock is the time source (the real clock when nil).
	Clock clock.Clock
}

// The client-side rate limit of TokenReviews and SubjectAccessReviews.
const (
	reviewQPS   = 100
	reviewBurst = 200
)

// Timeouts of the HTTP server. A valid request is a few KiB: its header and
// body arrive in milliseconds, so slow senders are cut off after seconds.
const (
	readHeaderTimeout = 5 * time.Second // also bounds the TLS handshake
	readTimeout       = 5 * time.Second // the whole request, body included
	writeTimeout      = 30 * time.Second
	idleTimeout       = 2 * time.Minute
	maxHeaderBytes    = 64 << 10
)

// Server is the HTTP decision API. It is a manager.Runnable that runs on every
// replica (it does not need leader election).
type Server struct {
	opts    Options
	log     logr.Logger
	store   *store.Store
	auth    *authCache
	mux     *http.ServeMux
	cert    *tls.Certificate
	certPEM []byte
	// inflight holds a token per request being served (nil: unbounded);
	// unauthorizedBodies one per body read before its caller is authorized.
	inflight           chan struct{}
	unauthorizedBodies chan struct{}
}

var (
	_ manager.Runnable               = (*Server)(nil)
	_ manager.LeaderElectionRunnable = (*Server)(nil)
)

// NewServer builds the decision API server; add it to the manager with
// mgr.Add and its readiness with mgr.AddReadyzCheck("api", srv.ReadyzCheck()).
func NewServer(opts Options) (*Server, error) {
	if opts.Cache == nil {
		return nil, errors.New("api: Options.Cache is required")
	}
	if opts.Config == nil {
		return nil, errors.New("api: Options.Config is required")
	}
	if opts.BindAddress == "" {
		opts.BindAddress = DefaultBindAddress
	}
	if opts.CertName == "" {
		opts.CertName = "tls.crt"
	}
	if opts.KeyName == "" {
		opts.KeyName = "tls.key"
	}
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	log := opts.Logger
	if log.GetSink() == nil {
		log = logr.Discard()
	}
	// The reviews have a client of their own, with a client-side rate limit
	// (the manager's may have none) on top of the failure budgets.
	reviewConfig := rest.CopyConfig(opts.Config)
	reviewConfig.QPS, reviewConfig.Burst, reviewConfig.RateLimiter = reviewQPS, reviewBurst, nil
	cs, err := kubernetes.NewForConfig(reviewConfig)
	if err != nil {
		return nil, fmt.Errorf("api: creating a Kubernetes client: %w", err)
	}
	s := &Server{opts: opts, log: log,
		auth: newAuthCache(kubeReviewer{cs: cs, audience: opts.TokenAudience}, opts.AuthCache, opts.Clock)}
	if s.disabled() {
		// The API runs elsewhere (its own Deployment): no index, no informers
		// for it, nothing to serve.
		s.routes()
		return s, nil
	}
	s.store = store.New(opts.Cache, opts.Clock, log)
	if !opts.Insecure && opts.CertDir == "" {
		hosts := append([]string{"localhost", "127.0.0.1", "::1"}, opts.Hosts...)
		if h, err := os.Hostname(); err == nil {
			hosts = append(hosts, h)
		}
		cert, caPEM, err := certs.InMemory(hosts, opts.Clock.Now(), selfSignedValidity)
		if err != nil {
			return nil, fmt.Errorf("api: generating a serving certificate: %w", err)
		}
		s.cert, s.certPEM = &cert, caPEM
	}
	s.routes()
	return s, nil
}

// selfSignedValidity is how long a certificate generated in memory is valid.
const selfSignedValidity = 365 * 24 * time.Hour

// NeedLeaderElection is false: every replica serves the API from its own cache.
func (s *Server) NeedLeaderElection() bool { return false }

// CertificatePEM returns the CA of the certificate generated in memory, which
// clients add to their trusted roots; nil when serving plain HTTP or a
// certificate from CertDir.
func (s *Server) CertificatePEM() []byte { return s.certPEM }

// disabled reports whether BindAddress is "0": the server serves nothing and
// builds no index.
func (s *Server) disabled() bool { return s.opts.BindAddress == "0" }

// Store is the read model the API answers from, which the change-event
// emitter (internal/events) derives events from on the leader.
func (s *Server) Store() *store.Store { return s.store }

// ReadyzCheck fails until the index has been built from synced caches; a
// disabled server is always ready (it has nothing to wait for).
func (s *Server) ReadyzCheck() healthz.Checker {
	return func(*http.Request) error {
		if s.disabled() {
			return nil
		}
		if s.opts.CertReady != nil {
			select {
			case <-s.opts.CertReady:
			default:
				return errors.New("the decision API's serving certificate is not ready yet")
			}
		}
		if !s.store.Ready() {
			return errors.New("the decision API index is not built yet")
		}
		return nil
	}
}

// Start listens and serves until ctx ends; it keeps the index current meanwhile.
func (s *Server) Start(ctx context.Context) error {
	if s.disabled() {
		s.log.Info("Decision API disabled: no index is built")
		return nil
	}
	errs := make(chan error, 3)
	go func() { errs <- s.store.Start(ctx) }()
	// GET /events reads the event log from the cache: its informer starts
	// now rather than on the first request, which would wait for its sync.
	go func() {
		if _, err := s.opts.Cache.GetInformer(ctx, &orgrbacv1alpha1.EventSegment{}); err != nil && ctx.Err() == nil {
			s.log.Error(err, "Starting the informer of the event log")
		}
	}()
	if s.opts.CertReady != nil && !s.opts.Insecure {
		s.log.Info("Waiting for the serving certificate", "dir", s.opts.CertDir)
		select {
		case <-ctx.Done():
			return <-errs
		case err := <-errs:
			return err
		case <-s.opts.CertReady:
		}
	}
	ln, err := net.Listen("tcp", s.opts.BindAddress)
	if err != nil {
		return fmt.Errorf("api: listening on %s: %w", s.opts.BindAddress, err)
	}
	scheme := "http"
	if !s.opts.Insecure {
		scheme = "https"
		cfg := &tls.Config{
			MinVersion: tls.VersionTLS12,
			// HTTP/2 is off: it is exposed to the stream cancellation and rapid
			// reset CVEs, and short JSON exchanges gain nothing from it.
			NextProtos: []string{"http/1.1"},
		}
		if s.cert != nil {
			cfg.Certificates = []tls.Certificate{*s.cert}
		} else {
			w, err := certwatcher.New(filepath.Join(s.opts.CertDir, s.opts.CertName),
				filepath.Join(s.opts.CertDir, s.opts.KeyName))
			if err != nil {
				_ = ln.Close()
				return fmt.Errorf("api: loading the serving certificate: %w", err)
			}
			go func() { errs <- w.Start(ctx) }()
			cfg.GetCertificate = w.GetCertificate
		}
		ln = tls.NewListener(ln, cfg)
	}
	srv := s.httpServer(ctx)
	go func() {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			errs <- fmt.Errorf("api: serving: %w", err)
		}
	}()
	s.log.Info("Serving the decision API", "address", ln.Addr().String(), "scheme", scheme)

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errs:
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		s.log.Error(err, "Shutting the decision API down")
	}
	return runErr
}

// httpServer is the HTTP server of the API, with its timeouts.
func (s *Server) httpServer(ctx context.Context) *http.Server {
	return &http.Server{
		Handler:           s,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
}
