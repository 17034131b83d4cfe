// Package testenv is the one harness of orgrbac's envtest suites (the test files
// with the build tag envtest): it starts etcd and kube-apiserver with orgrbac's
// CRDs, optionally with the admission webhooks of config/webhook pointed at the
// test's own webhook server, and gives the suites a scheme, a client and the
// manager options they run the controllers with.
//
//	env, err := testenv.Start(testenv.Options{Webhooks: true})
//	if err != nil { ... }                  // fail, never skip: the layer needs it
//	defer env.Stop()
//	mgr, err := ctrl.NewManager(env.Config, env.ManagerOptions())
//	... controller.Setup(ctx, mgr, ...)
//	stop := testenv.StartManager(ctx, mgr)
//	defer stop()
//
// The control plane's binaries come from KUBEBUILDER_ASSETS, which `make test`
// sets (hack/controlplane.sh builds them). The harness finds config/ by walking
// up from the working directory (a test's package folder) to the module root.
package testenv

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	"github.com/orgrbac/orgrbac/internal/manageropts"
)

// modulePath is the module whose root holds config/.
const modulePath = "github.com/orgrbac/orgrbac"

// Scheme returns a new scheme with client-go's and orgrbac's types, the
// manager's (manageropts.Scheme).
func Scheme() *runtime.Scheme { return manageropts.Scheme() }

// ManagerOptions are the options of a manager as the suites run it: the scheme
// s, the cache and client options of the orgrbac binary (internal/manageropts),
// no metrics endpoint and no health probes (port 0), and controller names that
// may repeat (a suite starts several managers in one process). Callers change
// fields as they need.
func ManagerOptions(s *runtime.Scheme) ctrl.Options {
	return ctrl.Options{
		Scheme:                 s,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Cache:                  manageropts.Cache(),
		Client:                 manageropts.Client(),
		Controller:             config.Controller{SkipNameValidation: new(true)},
	}
}

// Options says what Start installs besides the CRDs.
type Options struct {
	// Webhooks installs the webhook configurations of config/webhook, pointed
	// at a local address and certificate that envtest makes: a manager built
	// with Env.ManagerOptions serves them there.
	Webhooks bool
}

// Env is a running control plane.
type Env struct {
	// Environment is the envtest environment, for AddUser, ControlPlane and
	// WebhookInstallOptions.
	Environment *envtest.Environment
	// Config is the admin's REST config.
	Config *rest.Config
	// Scheme holds client-go's and orgrbac's types (Scheme()).
	Scheme *runtime.Scheme
	// Client is an admin client with Scheme.
	Client client.Client
	// Root is the module's root folder (config/ is below it).
	Root string
}

// Start starts etcd and kube-apiserver with the CRDs of config/crd/bases and,
// with opts.Webhooks, the webhook configurations of config/webhook. It fails
// when the control plane cannot start (KUBEBUILDER_ASSETS unset or wrong): the
// suites of the envtest layer fail then, they do not skip. Stop it with Stop.
func Start(opts Options) (*Env, error) {
	root, err := Root()
	if err != nil {
		return nil, err
	}
	te := &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join(root, "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
	}
	if opts.Webhooks {
		te.WebhookInstallOptions = envtest.WebhookInstallOptions{Paths: []string{filepath.Join(root, "config", "webhook")}}
	}
	cfg, err := te.Start()
	if err != nil {
		return nil, fmt.Errorf("starting the control plane (is KUBEBUILDER_ASSETS set? `make test` sets it): %w", err)
	}
	env := &Env{Environment: te, Config: cfg, Scheme: Scheme(), Root: root}
	if opts.Webhooks && len(te.WebhookInstallOptions.ValidatingWebhooks) == 0 {
		return nil, errors.Join(errors.New("config/webhook holds no validating webhook configuration"), env.Stop())
	}
	if env.Client, err = client.New(cfg, client.Options{Scheme: env.Scheme}); err != nil {
		return nil, errors.Join(err, env.Stop())
	}
	return env, nil
}

// Stop stops the control plane and removes its files.
func (e *Env) Stop() error {
	return e.Environment.Stop()
}

// ManagerOptions returns ManagerOptions(e.Scheme) with, when the webhooks are
// installed, a webhook server on the address and certificate they point at.
func (e *Env) ManagerOptions() ctrl.Options {
	o := ManagerOptions(e.Scheme)
	if w := e.Environment.WebhookInstallOptions; w.LocalServingCertDir != "" {
		o.WebhookServer = webhook.NewServer(webhook.Options{
			Host: w.LocalServingHost, Port: w.LocalServingPort, CertDir: w.LocalServingCertDir})
	}
	return o
}

// WebhookAddress is the host:port the installed webhooks call.
func (e *Env) WebhookAddress() string {
	w := e.Environment.WebhookInstallOptions
	return net.JoinHostPort(w.LocalServingHost, strconv.Itoa(w.LocalServingPort))
}

// DialWebhookServer makes one TLS connection to the webhook server, verifying
// its certificate with the CA envtest made for it: nil once the manager serves
// the webhooks. Suites poll it.
func (e *Env) DialWebhookServer() error {
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(e.Environment.WebhookInstallOptions.LocalServingCAData) {
		return errors.New("no webhook CA: start the Env with Options{Webhooks: true}")
	}
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: time.Second}, "tcp", e.WebhookAddress(),
		&tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12})
	if err != nil {
		return err
	}
	return conn.Close()
}

// HTTPSClient returns an HTTP client that trusts only the certificates of
// caPEM (a server's CA, such as api.Server.CertificatePEM), verifies them as
// every client of orgrbac must, and gives up on a request after 10 seconds.
func HTTPSClient(caPEM []byte) (*http.Client, error) {
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		return nil, errors.New("the CA PEM holds no certificate")
	}
	return &http.Client{Timeout: 10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}}}, nil
}

// StartManager starts mgr in the background, until ctx ends or the returned
// function is called: that function stops it, waits until it has stopped and
// returns what mgr.Start returned.
func StartManager(ctx context.Context, mgr manager.Manager) (stop func() error) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	return func() error {
		cancel()
		return <-done
	}
}

// Root returns the root folder of the module: the nearest folder at or above
// the working directory whose go.mod declares github.com/orgrbac/orgrbac.
func Root() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		data, err := os.ReadFile(filepath.Clean(filepath.Join(dir, "go.mod")))
		if err == nil && declares(string(data), modulePath) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod of %s at or above the working directory", modulePath)
		}
		dir = parent
	}
}

// declares reports whether a go.mod's text declares module path.
func declares(gomod, path string) bool {
	for line := range strings.SplitSeq(gomod, "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "module" && strings.Trim(f[1], `"`) == path {
			return true
		}
	}
	return false
}
