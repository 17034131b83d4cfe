package certs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log"
)

// LocalConfigurationName is the ValidatingWebhookConfiguration LocalConfiguration
// installs; hack/run.sh removes a stale one left by a manager that was killed.
const LocalConfigurationName = "orgrbac-local-validating-webhook-configuration"

// LocalConfiguration is a manager runnable for a manager running outside the
// cluster: once the webhook server answers, it installs the generated webhook
// configuration with every webhook pointing to BaseURL and trusting CABundle, and
// it deletes that configuration when the manager stops, so that a stopped manager
// blocks nobody.
type LocalConfiguration struct {
	// Client writes the configuration.
	Client client.Client
	// Manifest is the generated configuration (config/webhook/manifests.yaml).
	Manifest string
	// BaseURL is where the API server reaches the local webhook server, e.g.
	// https://127.0.0.1:9443.
	BaseURL string
	// CABundle is the PEM CA certificate the serving certificate chains to.
	CABundle []byte
	// Started reports whether the webhook server serves (its StartedChecker).
	Started healthz.Checker
}

// Start installs the configuration and removes it when ctx ends.
func (l *LocalConfiguration) Start(ctx context.Context) error {
	data, err := os.ReadFile(l.Manifest)
	if err != nil {
		return fmt.Errorf("reading the webhook configuration: %w", err)
	}
	vwc, err := ToLocal(data, l.BaseURL, l.CABundle)
	if err != nil {
		return err
	}
	if err := l.waitStarted(ctx); err != nil {
		return nil //nolint:nilerr // the manager is stopping before the server started: nothing to install
	}
	if err := l.apply(ctx, vwc); err != nil {
		return err
	}
	log.FromContext(ctx).Info("Installed the local webhook configuration", "webhookConfiguration", vwc.Name, "url", l.BaseURL)
	<-ctx.Done()

	// The manager is stopping: without this, creating or updating orgrbac objects
	// would fail until the manager runs again.
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := l.Client.Delete(dctx, vwc); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("removing the local webhook configuration: %w", err)
	}
	return nil
}

func (l *LocalConfiguration) waitStarted(ctx context.Context) error {
	if l.Started == nil {
		return nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "/", http.NoBody)
	if err != nil {
		return fmt.Errorf("building a probe request: %w", err)
	}
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for l.Started(req) != nil {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}

// apply creates the configuration, or replaces the one in place.
func (l *LocalConfiguration) apply(ctx context.Context, vwc *admissionregistrationv1.ValidatingWebhookConfiguration) error {
	err := l.Client.Create(ctx, vwc)
	if !apierrors.IsAlreadyExists(err) {
		if err != nil {
			return fmt.Errorf("creating the local webhook configuration: %w", err)
		}
		return nil
	}
	var existing admissionregistrationv1.ValidatingWebhookConfiguration
	if err := l.Client.Get(ctx, client.ObjectKeyFromObject(vwc), &existing); err != nil {
		return fmt.Errorf("reading the local webhook configuration: %w", err)
	}
	vwc.ResourceVersion = existing.ResourceVersion
	if err := l.Client.Update(ctx, vwc); err != nil {
		return fmt.Errorf("updating the local webhook configuration: %w", err)
	}
	return nil
}

// NeedLeaderElection is false: the webhook server of every replica serves.
func (l *LocalConfiguration) NeedLeaderElection() bool { return false }

// ToLocal turns the generated ValidatingWebhookConfiguration (YAML) into the one
// for a local manager: named LocalConfigurationName, each webhook calling
// baseURL + its service path and trusting caBundle.
func ToLocal(manifest []byte, baseURL string, caBundle []byte) (*admissionregistrationv1.ValidatingWebhookConfiguration, error) {
	dec := yaml.NewYAMLOrJSONDecoder(bytes.NewReader(manifest), 4096)
	for {
		var vwc admissionregistrationv1.ValidatingWebhookConfiguration
		if err := dec.Decode(&vwc); err != nil {
			if errors.Is(err, io.EOF) {
				return nil, errors.New("the manifest holds no ValidatingWebhookConfiguration")
			}
			return nil, fmt.Errorf("decoding the webhook configuration: %w", err)
		}
		if vwc.Kind != "ValidatingWebhookConfiguration" {
			continue
		}
		vwc.ObjectMeta = metaName(LocalConfigurationName)
		for i := range vwc.Webhooks {
			cc := &vwc.Webhooks[i].ClientConfig
			path := ""
			if cc.Service != nil && cc.Service.Path != nil {
				path = *cc.Service.Path
			}
			url := strings.TrimSuffix(baseURL, "/") + path
			cc.Service, cc.URL, cc.CABundle = nil, &url, caBundle
		}
		return &vwc, nil
	}
}
