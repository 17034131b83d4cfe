// Command manager runs the orgrbac operator: the controllers that resolve every
// Membership's effective roles and permissions, and the endpoints that serve them.
package main

import (
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	"github.com/orgrbac/orgrbac/internal/api"
	"github.com/orgrbac/orgrbac/internal/api/store"
	"github.com/orgrbac/orgrbac/internal/controller"
	"github.com/orgrbac/orgrbac/internal/events"
	"github.com/orgrbac/orgrbac/internal/manageropts"
	"github.com/orgrbac/orgrbac/internal/webhooks"
)

// options are the manager's command-line settings.
type options struct {
	metricsAddr             string
	metricsSecure           bool
	metricsService          string
	metricsCertDir          string
	probeAddr               string
	pprofAddr               string
	apiAddr                 string
	apiInsecure             bool
	apiCertDir              string
	apiService              string
	apiCAConfigMap          string
	apiMaxInFlight          int
	apiTokenAudience        string
	leaderElect             bool
	leaderElectionNamespace string
	enableWebhooks          bool
	enableControllers       bool
	webhook                 webhookOptions
	tokens                  tokenOptions
	maxConcurrentReconciles int
	cacheSyncTimeout        time.Duration
	webhookDestinations     string
	removeFinalizers        bool
	zap                     zap.Options
}

func parseFlags(args []string) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("manager", flag.ContinueOnError)
	fs.StringVar(&o.metricsAddr, "metrics-bind-address", ":8443",
		"Address of the metrics endpoint (HTTPS, authenticated and authorized through the API server). \"0\" disables it.")
	fs.BoolVar(&o.metricsSecure, "metrics-secure", true,
		"Serve metrics over HTTPS with authentication and authorization. Set false only for local debugging.")
	fs.StringVar(&o.metricsService, "metrics-service", "",
		"The metrics Service, in the namespace of --webhook-cert-secret: the rotated certificate is also valid for its names, "+
			"and /metrics serves it, so scrapers verify it with the Secret's ca.crt. Empty: a self-signed certificate, or --metrics-cert-dir.")
	fs.StringVar(&o.metricsCertDir, "metrics-cert-dir", "",
		"Folder with tls.crt and tls.key for /metrics (e.g. from cert-manager), reloaded on change.")
	fs.StringVar(&o.probeAddr, "health-probe-bind-address", ":8081", "Address of the /healthz and /readyz probes.")
	fs.StringVar(&o.pprofAddr, "pprof-bind-address", "0",
		"Address of the Go pprof endpoints, for profiling (\"0\", the default, disables them; bind to loopback only).")
	fs.StringVar(&o.apiAddr, "api-bind-address", ":8082", "Address of the authorization decision API.")
	fs.StringVar(&o.apiCertDir, "api-cert-dir", "",
		"Folder with tls.crt and tls.key for the decision API (reloaded on change). Empty: a self-signed certificate generated at startup.")
	fs.StringVar(&o.apiService, "api-service", "",
		"The decision API's Service, in the namespace of --webhook-cert-secret: the rotated certificate is also valid for its names, "+
			"and the decision API serves it (unless --api-cert-dir is set).")
	fs.StringVar(&o.apiCAConfigMap, "api-ca-configmap", "",
		"Publish the CA bundle that verifies the decision API (ca.crt of its certificate folder) into a ConfigMap of this name "+
			"in every namespace holding an Environment, for workloads to mount. Empty: not published.")
	fs.IntVar(&o.apiMaxInFlight, "api-max-requests-inflight", api.DefaultMaxRequestsInFlight,
		"How many requests the decision API serves at once; beyond it, it answers 429 with Retry-After. Negative: no limit.")
	fs.StringVar(&o.apiTokenAudience, "api-token-audience", api.DefaultTokenAudience,
		"The audience the decision API's callers' tokens must be minted for (a projected serviceAccountToken volume with this audience): "+
			"TokenReviews ask for it and a token not valid for it, such as a pod's default token, is refused. "+
			"Empty: any token the API server accepts for itself (weaker: callers then hand the API a credential for the API server).")
	fs.BoolVar(&o.apiInsecure, "api-insecure", false,
		"Serve the decision API over plain HTTP (loopback development only: tokens travel in clear text).")
	fs.BoolVar(&o.leaderElect, "leader-elect", false,
		"Elect a leader so that only one replica runs the controllers.")
	fs.StringVar(&o.leaderElectionNamespace, "leader-election-namespace", "",
		"Namespace of the leader-election lease; defaults to the manager's own namespace when running in a pod.")
	fs.BoolVar(&o.enableWebhooks, "enable-webhooks", envBool("ENABLE_WEBHOOKS", true),
		"Serve the admission webhooks (also ENABLE_WEBHOOKS=false).")
	fs.BoolVar(&o.enableControllers, "enable-controllers", envBool("ENABLE_CONTROLLERS", true),
		"Run the controllers (also ENABLE_CONTROLLERS=false). false, with --enable-webhooks=false: the process serves only the "+
			"decision API (and /metrics and the probes) from its informer cache, as a Deployment of its own: no controllers, no "+
			"webhooks, no certificate rotation, no CA publishing, no leader election (docs/operations.md, \"The decision API as its own Deployment\").")
	fs.BoolVar(&o.removeFinalizers, "remove-finalizers", false,
		"Do not run the manager: wait until no manager holds the leader lease, remove orgrbac's finalizers from every Role "+
			"and OrganizationRole, and exit (the Helm chart's post-delete hook, so that the CRDs can be deleted after an uninstall).")
	fs.StringVar(&o.webhookDestinations, "webhook-destinations", "cluster",
		"Where WebhookEndpoints may deliver events: a comma-separated list of any, cluster (the private ranges), CIDRs or IPs, "+
			"host names and *.suffixes. Loopback and link-local addresses (cloud metadata) are refused unless listed as IPs "+
			"(docs/security.md, \"Webhook destinations\").")
	fs.IntVar(&o.maxConcurrentReconciles, "max-concurrent-reconciles", 4,
		"How many objects of one kind are reconciled at once.")
	fs.DurationVar(&o.cacheSyncTimeout, "cache-sync-timeout", defaultCacheSyncTimeout,
		"How long the controllers wait for the informer caches to fill before the manager gives up and exits.")
	// --kubeconfig is registered on the default flag set by controller-runtime.
	fs.Var(flagValue{flag.CommandLine.Lookup("kubeconfig")}, "kubeconfig",
		"Path to a kubeconfig. Only required if out-of-cluster.")
	o.webhook.bindFlags(fs)
	o.tokens.bindFlags(fs)
	o.zap.BindFlags(fs)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if err := o.validateAPIOnly(); err != nil {
		return nil, err
	}
	if err := o.tokens.validate(o.apiService); err != nil {
		return nil, err
	}
	if o.apiService != "" && o.apiCertDir == "" && (!o.enableWebhooks || !o.webhook.rotating()) {
		return nil, errors.New("--api-service serves the rotated webhook certificate: it needs --webhook-cert-secret and the webhooks enabled, or --api-cert-dir")
	}
	if o.metricsService != "" && o.metricsCertDir == "" && (!o.enableWebhooks || !o.webhook.rotating()) {
		return nil, errors.New("--metrics-service serves the rotated webhook certificate: it needs --webhook-cert-secret and the webhooks enabled, or --metrics-cert-dir")
	}
	if o.apiCAConfigMap != "" && o.apiCertDir == "" && o.apiService == "" {
		return nil, errors.New("--api-ca-configmap publishes the ca.crt of the decision API's certificate folder: set --api-cert-dir or --api-service")
	}
	if strings.ContainsFunc(o.apiTokenAudience, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
		return nil, fmt.Errorf("--api-token-audience %q must not contain whitespace or control characters", o.apiTokenAudience)
	}
	if o.apiMaxInFlight == 0 {
		return nil, errors.New("--api-max-requests-inflight must not be 0 (negative: no limit)")
	}
	if _, err := webhooks.ParseDestinations(o.webhookDestinations); err != nil {
		return nil, err
	}
	if o.maxConcurrentReconciles < 1 {
		return nil, fmt.Errorf("--max-concurrent-reconciles must be at least 1, got %d", o.maxConcurrentReconciles)
	}
	if o.cacheSyncTimeout <= 0 {
		return nil, fmt.Errorf("--cache-sync-timeout must be positive, got %s", o.cacheSyncTimeout)
	}
	return o, nil
}

// defaultCacheSyncTimeout is how long the controllers wait for their caches by
// default. controller-runtime's 2 minutes was too short for a new manager over
// 100k memberships on a busy API server: in the 100k benchmark of 2026-12-01
// no informer, not even the Environment's, had synced after 2 minutes, and
// the manager exited.
const defaultCacheSyncTimeout = 10 * time.Minute

// apiOnly reports whether the process serves only the decision API
// (--enable-controllers=false --enable-webhooks=false).
func (o *options) apiOnly() bool { return !o.enableControllers }

// servesAPI reports whether this process serves the decision API (and so builds
// its index): not with --api-bind-address=0, where it runs elsewhere.
func (o *options) servesAPI() bool { return o.apiAddr != "0" }

// validateAPIOnly refuses what API-only mode (--enable-controllers=false) does not
// do, rather than ignoring it.
func (o *options) validateAPIOnly() error {
	if !o.apiOnly() {
		return nil
	}
	switch {
	case o.enableWebhooks:
		return errors.New("--enable-controllers=false needs --enable-webhooks=false: the webhooks run with the controllers, " +
			"and with both off the process serves only the decision API")
	case !o.servesAPI():
		return errors.New("--enable-controllers=false --enable-webhooks=false serves only the decision API: --api-bind-address=0 would leave nothing to run")
	case o.leaderElect:
		return errors.New("--leader-elect: with --enable-controllers=false there is nothing to lead (every replica serves the decision API " +
			"from its own cache, and takes no lease)")
	case o.apiService != "":
		return errors.New("--api-service serves the webhook certificate this process rotates, and with --enable-controllers=false it rotates none: " +
			"mount the certificate Secret and set --api-cert-dir (the manager's --api-service keeps the certificate valid for the Service)")
	case o.apiCAConfigMap != "":
		return errors.New("--api-ca-configmap is published by the controllers' leader: set it on the manager, not with --enable-controllers=false")
	case o.metricsService != "":
		return errors.New("--metrics-service serves the webhook certificate this process rotates, and with --enable-controllers=false it rotates none: " +
			"set --metrics-cert-dir to the mounted certificate")
	case o.webhook.certSecret != "" || o.webhook.localURL != "":
		return errors.New("--webhook-cert-secret and --webhook-local-url set up the webhooks, which --enable-controllers=false does not run")
	case o.removeFinalizers:
		return errors.New("--remove-finalizers is a run of its own: do not combine it with --enable-controllers=false")
	}
	return nil
}

// flagValue forwards a flag to one registered on another flag set.
type flagValue struct{ f *flag.Flag }

func (v flagValue) String() string {
	if v.f == nil {
		return ""
	}
	return v.f.Value.String()
}

func (v flagValue) Set(s string) error { return v.f.Value.Set(s) }

func envBool(name string, def bool) bool {
	if s, ok := os.LookupEnv(name); ok {
		if b, err := strconv.ParseBool(s); err == nil {
			return b
		}
	}
	return def
}

func main() {
	o, err := parseFlags(os.Args[1:])
	if err != nil {
		os.Exit(2)
	}
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&o.zap)))
	tuneMemory(ctrl.Log.WithName("setup"))
	if o.removeFinalizers {
		cfg, err := ctrl.GetConfig()
		if err == nil {
			err = removeFinalizers(ctrl.SetupSignalHandler(), cfg, o.leaderElectionNamespace, 5*time.Minute)
		}
		if err != nil {
			ctrl.Log.Error(err, "Removing finalizers failed")
			os.Exit(1)
		}
		return
	}
	if err := run(o); err != nil {
		ctrl.Log.Error(err, "Manager exited")
		os.Exit(1)
	}
}

// apiCertificate returns the decision API's certificate folder (given, or the
// webhook certificate rotated for --api-service too, which then also becomes one
// of the certificate's names), a channel closed once a rotated certificate is
// mounted, and the CA file --api-ca-configmap publishes. The names and the CA are
// set up whether or not this process serves the API: with --api-bind-address=0
// the API's own Deployment serves the certificate this manager rotates.
func (o *options) apiCertificate() (dir string, ready <-chan struct{}, caFile string) {
	dir = o.apiCertDir
	if dir == "" && o.apiService != "" {
		o.webhook.extraServices = append(o.webhook.extraServices, o.apiService)
		dir, ready = o.webhook.dir(), o.webhook.certReady()
	}
	if o.apiCAConfigMap != "" {
		caFile = filepath.Join(dir, "ca.crt")
	}
	return dir, ready, caFile
}

func run(o *options) error {
	log := ctrl.Log.WithName("setup")
	ctx := ctrl.SetupSignalHandler()
	cfg, err := ctrl.GetConfig()
	if err != nil {
		return fmt.Errorf("loading kubeconfig: %w", err)
	}

	metricsOpts := metricsserver.Options{
		BindAddress:   o.metricsAddr,
		SecureServing: o.metricsSecure,
		// HTTP/2 is off: it is exposed to the HTTP/2 stream cancellation and rapid
		// reset CVEs, and the metrics scrape gains nothing from it.
		TLSOpts: []func(*tls.Config){func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} }},
	}
	if o.metricsSecure {
		metricsOpts.FilterProvider = filters.WithAuthenticationAndAuthorization
	}
	switch {
	case o.metricsCertDir != "" && o.apiOnly():
		// A mounted Secret the manager may not have filled yet: served once it is.
		mounted := &rotatedCertificate{ctx: ctx, ready: mountedCertificate(ctx, o.metricsCertDir), dir: o.metricsCertDir}
		metricsOpts.TLSOpts = append(metricsOpts.TLSOpts, func(c *tls.Config) { c.GetCertificate = mounted.GetCertificate })
	case o.metricsCertDir != "":
		metricsOpts.CertDir = o.metricsCertDir
	case o.metricsService != "" && !o.apiOnly():
		o.webhook.extraServices = append(o.webhook.extraServices, o.metricsService)
		rotated := &rotatedCertificate{ctx: ctx, ready: o.webhook.certReady(), dir: o.webhook.dir()}
		metricsOpts.TLSOpts = append(metricsOpts.TLSOpts, func(c *tls.Config) { c.GetCertificate = rotated.GetCertificate })
	}

	// API-only mode builds no webhook server: controller-runtime starts one only
	// when asked for it, which nothing does then.
	var webhookServer webhook.Server
	if !o.apiOnly() {
		if webhookServer, err = o.webhook.newServer(); err != nil {
			return err
		}
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		WebhookServer:           webhookServer,
		Scheme:                  manageropts.Scheme(),
		Metrics:                 metricsOpts,
		HealthProbeBindAddress:  o.probeAddr,
		PprofBindAddress:        o.pprofAddr,
		LeaderElection:          o.leaderElect,
		LeaderElectionID:        leaderElectionID,
		LeaderElectionNamespace: o.leaderElectionNamespace,
		// Step down quickly on shutdown so that another replica takes over at once.
		LeaderElectionReleaseOnCancel: true,
		Cache:                         manageropts.Cache(),
		Client:                        manageropts.Client(),
		Controller:                    config.Controller{CacheSyncTimeout: o.cacheSyncTimeout},
	})
	if err != nil {
		return fmt.Errorf("creating manager: %w", err)
	}

	apiCertDir, apiCertReady, caFile := o.apiCertificate()
	if o.apiOnly() && apiCertDir != "" && !o.apiInsecure {
		// The mounted certificate Secret, which the manager may not have filled yet.
		apiCertReady = mountedCertificate(ctx, apiCertDir)
	}
	// Whether a namespace's memberships are still being resolved: the counts,
	// the publications and the change events wait for it (docs/benchmarks.md).
	tally := &controller.Tally{}
	if !o.apiOnly() {
		if err := controller.Setup(ctx, mgr, controller.Options{
			MaxConcurrentReconciles: o.maxConcurrentReconciles,
			APICAConfigMap:          o.apiCAConfigMap,
			APICAFile:               caFile,
			ReleaseMemory:           releaseMemory(ctrl.Log.WithName("memory")),
			Tally:                   tally,
		}); err != nil {
			return err
		}
		if o.enableWebhooks {
			if err := o.webhook.wire(mgr); err != nil {
				return err
			}
		}
	}

	keys, err := o.tokens.setup(mgr, cfg, !o.apiOnly(), o.servesAPI())
	if err != nil {
		return err
	}

	// The decision API runs on every replica, leader or not, from the informer
	// cache; with --api-bind-address=0 it runs elsewhere (its own Deployment), and
	// this process neither builds its index nor waits for it to be ready.
	var st *store.Store
	if o.servesAPI() {
		// The WorkOS write routes write through the API server, never the cache:
		// a client of their own, which reads what it updates fresh.
		writer, err := client.New(mgr.GetConfig(), client.Options{Scheme: mgr.GetScheme(), Mapper: mgr.GetRESTMapper()})
		if err != nil {
			return fmt.Errorf("creating the decision API's write client: %w", err)
		}
		apiOpts := api.Options{
			BindAddress: o.apiAddr, Insecure: o.apiInsecure, CertDir: apiCertDir, CertReady: apiCertReady,
			Cache: mgr.GetCache(), Config: mgr.GetConfig(), Logger: ctrl.Log.WithName("api"),
			MaxRequestsInFlight: o.apiMaxInFlight, TokenAudience: o.apiTokenAudience,
			Client: writer, TokenIssuerURL: o.tokens.issuer, TokenTTL: o.tokens.ttl,
		}
		if keys != nil {
			apiOpts.Tokens = keys
		}
		apiServer, err := api.NewServer(apiOpts)
		if err != nil {
			return fmt.Errorf("creating the decision API: %w", err)
		}
		if err := mgr.Add(apiServer); err != nil {
			return fmt.Errorf("adding the decision API: %w", err)
		}
		if err := mgr.AddReadyzCheck("api", apiServer.ReadyzCheck()); err != nil {
			return fmt.Errorf("adding the decision API readiness check: %w", err)
		}
		st = apiServer.Store()
	} else {
		log.Info("The decision API is not served here (--api-bind-address=0): no index is built")
	}

	// The change events (docs/events.md): the leader derives them from the
	// decision API's read model (its own when the API is not served here) and
	// delivers them to WebhookEndpoints.
	if !o.apiOnly() {
		if err := events.Setup(mgr, st, events.Options{Logger: ctrl.Log.WithName("events"), Settling: tally.Settling}); err != nil {
			return fmt.Errorf("setting up the change events: %w", err)
		}
		destinations, err := webhooks.ParseDestinations(o.webhookDestinations)
		if err != nil {
			return err
		}
		if err := webhooks.Setup(mgr, webhooks.Options{Destinations: destinations}); err != nil {
			return fmt.Errorf("setting up the webhook deliveries: %w", err)
		}
	}

	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return fmt.Errorf("adding health check: %w", err)
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return fmt.Errorf("adding readiness check: %w", err)
	}

	log.Info("Starting manager", "leaderElection", o.leaderElect, "controllers", o.enableControllers,
		"webhooks", o.enableWebhooks, "decisionAPI", o.servesAPI())
	return mgr.Start(ctx)
}
