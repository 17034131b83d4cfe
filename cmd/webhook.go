package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	"github.com/orgrbac/orgrbac/internal/certs"
	webhookv1alpha1 "github.com/orgrbac/orgrbac/internal/webhook/v1alpha1"
)

// webhookOptions say where the webhook server listens and how it gets its
// certificate: rotated into a Secret in a cluster (--webhook-cert-secret), made up
// at start for a manager on the developer's machine (--webhook-local-url), or read
// from --webhook-cert-dir as provided (e.g. by cert-manager).
type webhookOptions struct {
	port          int
	certDir       string
	certSecret    string
	service       string
	configuration string
	mutating      string
	localURL      string
	localManifest string
	clientCA      string
	// caBundle is the local CA, set by newServer in local mode.
	caBundle []byte
	// extraServices also serve the rotated certificate (the decision API's).
	extraServices []string
	// ready is closed once the rotated certificate is mounted (certReady).
	ready chan struct{}
}

// dir is the folder of the webhook server's certificate.
func (w *webhookOptions) dir() string {
	if w.certDir != "" {
		return w.certDir
	}
	return filepath.Join(os.TempDir(), "k8s-webhook-server", "serving-certs") // the webhook server's default
}

// certReady is closed once the rotated certificate is mounted in dir.
func (w *webhookOptions) certReady() <-chan struct{} {
	if w.ready == nil {
		w.ready = make(chan struct{})
	}
	return w.ready
}

func (w *webhookOptions) bindFlags(fs *flag.FlagSet) {
	fs.IntVar(&w.port, "webhook-port", webhook.DefaultPort, "Port of the admission webhook server.")
	fs.StringVar(&w.certDir, "webhook-cert-dir", "",
		"Folder with the webhook server's tls.crt and tls.key (default <tmp>/k8s-webhook-server/serving-certs).")
	fs.StringVar(&w.certSecret, "webhook-cert-secret", "",
		"NAMESPACE/NAME of a Secret, mounted at --webhook-cert-dir, into which the manager rotates a CA and the serving certificate, "+
			"injecting the CA into --webhook-configuration and --webhook-mutating-configuration. Empty: the certificate is provided.")
	fs.StringVar(&w.service, "webhook-service", "orgrbac-webhook-service",
		"The webhook Service (in the Secret's namespace), the serving certificate's name.")
	fs.StringVar(&w.configuration, "webhook-configuration", "orgrbac-validating-webhook-configuration",
		"The ValidatingWebhookConfiguration given the rotated CA.")
	fs.StringVar(&w.mutating, "webhook-mutating-configuration", "orgrbac-mutating-webhook-configuration",
		"The MutatingWebhookConfiguration given the rotated CA.")
	fs.StringVar(&w.localURL, "webhook-local-url", "",
		"For a manager outside the cluster (make run): serve the webhooks at this https URL (e.g. https://127.0.0.1:9443) "+
			"with a certificate made up at start, and install a webhook configuration pointing to it while the manager runs.")
	fs.StringVar(&w.clientCA, "webhook-client-ca", "",
		"A PEM CA bundle: callers of the webhook server must present a client certificate it signed (the kube-apiserver's, "+
			"configured in its AdmissionConfiguration), so that no one else can query the webhooks. Re-read when it changes. "+
			"Empty: any TLS client may call them (restrict port 9443 with a NetworkPolicy).")
	fs.StringVar(&w.localManifest, "webhook-local-manifest", "config/webhook/manifests.yaml",
		"The generated webhook configurations that --webhook-local-url installs, rewritten to its URL.")
}

// rotating reports whether the certificate is rotated by the manager, which then
// serves the webhooks only once it is ready.
func (w *webhookOptions) rotating() bool { return w.localURL == "" && w.certSecret != "" }

// newServer returns the webhook server; in local mode it first writes a
// self-signed certificate for the URL's host.
func (w *webhookOptions) newServer() (webhook.Server, error) {
	opts := webhook.Options{Port: w.port, CertDir: w.certDir,
		// HTTP/2 is off, as on the decision API and the metrics endpoint: it is
		// exposed to the stream cancellation and rapid reset CVEs, and admission
		// reviews gain nothing from it. (controller-runtime offers h2 by default.)
		TLSOpts: []func(*tls.Config){disableHTTP2}}
	if w.clientCA != "" {
		cas, err := newClientCAFile(w.clientCA)
		if err != nil {
			return nil, err
		}
		opts.TLSOpts = append(opts.TLSOpts, cas.tlsOption)
	}
	if w.localURL != "" {
		u, err := url.Parse(w.localURL)
		if err != nil || u.Scheme != "https" || u.Hostname() == "" {
			return nil, fmt.Errorf("--webhook-local-url must be an https URL with a host, got %q", w.localURL)
		}
		opts.Host = u.Hostname()
		if p := u.Port(); p != "" {
			if opts.Port, err = strconv.Atoi(p); err != nil {
				return nil, fmt.Errorf("--webhook-local-url port: %w", err)
			}
		}
		if opts.CertDir, err = os.MkdirTemp("", "orgrbac-webhook-"); err != nil {
			return nil, fmt.Errorf("creating the local certificate folder: %w", err)
		}
		hosts := []string{u.Hostname()}
		if ip := net.ParseIP(u.Hostname()); ip != nil && ip.IsLoopback() {
			hosts = append(hosts, "localhost")
		}
		if w.caBundle, err = certs.SelfSigned(opts.CertDir, hosts, time.Now(), 30*24*time.Hour); err != nil {
			return nil, err
		}
	}
	return webhook.NewServer(opts), nil
}

// disableHTTP2 makes a TLS server offer HTTP/1.1 only.
func disableHTTP2(c *tls.Config) { c.NextProtos = []string{"http/1.1"} }

// wire registers the admission webhooks and completes their certificate's
// set-up. This is the one place the webhooks are wired: at once, or, when the
// certificate is rotated, only once it is mounted (registering the first
// webhook starts the server, which needs the certificate).
func (w *webhookOptions) wire(mgr ctrl.Manager) error {
	if !w.rotating() {
		if err := webhookv1alpha1.Setup(mgr); err != nil {
			return fmt.Errorf("setting up the webhooks: %w", err)
		}
	}
	switch {
	case w.localURL != "":
		return mgr.Add(&certs.LocalConfiguration{Client: mgr.GetClient(), Manifest: w.localManifest,
			BaseURL: w.localURL, CABundle: w.caBundle, Started: mgr.GetWebhookServer().StartedChecker()})
	case w.certSecret != "":
		ns, name, ok := strings.Cut(w.certSecret, "/")
		if !ok || ns == "" || name == "" {
			return errors.New("--webhook-cert-secret must be NAMESPACE/NAME")
		}
		ready := w.certReady()
		if err := certs.AddRotator(mgr, certs.RotatorOptions{Secret: types.NamespacedName{Namespace: ns, Name: name},
			Service: w.service, Configuration: w.configuration, MutatingConfiguration: w.mutating, CertDir: w.dir(),
			ExtraServices: w.extraServices},
			w.ready); err != nil {
			return err
		}
		if err := mgr.AddReadyzCheck("webhook-certificate", certs.ReadyCheck(ready)); err != nil {
			return fmt.Errorf("adding the webhook certificate readiness check: %w", err)
		}
		// The webhook server starts when the first webhook is registered: only once
		// its certificate is mounted.
		return mgr.Add(&registerWhenReady{mgr: mgr, ready: ready})
	}
	return nil
}

// registerWhenReady registers the webhooks once the rotated certificate is ready.
type registerWhenReady struct {
	mgr   ctrl.Manager
	ready <-chan struct{}
}

// Start waits for the certificate, then registers the webhooks.
func (r *registerWhenReady) Start(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return nil
	case <-r.ready:
	}
	ctrl.Log.WithName("setup").Info("Webhook certificate ready: serving the webhooks")
	return webhookv1alpha1.Setup(r.mgr)
}

// NeedLeaderElection is false: every replica serves the webhooks.
func (r *registerWhenReady) NeedLeaderElection() bool { return false }
