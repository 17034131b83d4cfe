package certs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log"
)

// LocalConfigurationName and LocalMutatingConfigurationName are the webhook
// configurations LocalConfiguration installs; hack/run.sh removes stale ones left
// by a manager that was killed.
const (
	LocalConfigurationName         = "orgrbac-local-validating-webhook-configuration"
	LocalMutatingConfigurationName = "orgrbac-local-mutating-webhook-configuration"
)

// LocalConfiguration is a manager runnable for a manager running outside the
// cluster: once the webhook server answers, it installs the generated webhook
// configurations with every webhook pointing to BaseURL and trusting CABundle, and
// it deletes them when the manager stops, so that a stopped manager blocks nobody.
type LocalConfiguration struct {
	// Client writes the configurations.
	Client client.Client
	// Manifest is the generated configurations (config/webhook/manifests.yaml).
	Manifest string
	// BaseURL is where the API server reaches the local webhook server, e.g.
	// https://127.0.0.1:9443.
	BaseURL string
	// CABundle is the PEM CA certificate the serving certificate chains to.
	CABundle []byte
	// Started reports whether the webhook server serves (its StartedChecker).
	Started healthz.Checker
}

// Start installs the configurations and removes them when ctx ends.
func (l *LocalConfiguration) Start(ctx context.Context) error {
	data, err := os.ReadFile(l.Manifest)
	if err != nil {
		return fmt.Errorf("reading the webhook configuration: %w", err)
	}
	local, err := ToLocal(data, l.BaseURL, l.CABundle)
	if err != nil {
		return err
	}
	if err := l.waitStarted(ctx); err != nil {
		return nil //nolint:nilerr // the manager is stopping before the server started: nothing to install
	}
	objs := local.objects()
	for _, o := range objs {
		if err := l.apply(ctx, o); err != nil {
			return err
		}
		log.FromContext(ctx).Info("Installed the local webhook configuration", "webhookConfiguration", o.GetName(), "url", l.BaseURL)
	}
	<-ctx.Done()

	// The manager is stopping: without this, creating or updating orgrbac objects
	// would fail until the manager runs again.
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	var errs []error
	for _, o := range objs {
		if err := l.Client.Delete(dctx, o); client.IgnoreNotFound(err) != nil {
			errs = append(errs, fmt.Errorf("removing the local webhook configuration %s: %w", o.GetName(), err))
		}
	}
	return errors.Join(errs...)
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

// apply creates the configuration obj, or replaces the one in place.
func (l *LocalConfiguration) apply(ctx context.Context, obj client.Object) error {
	err := l.Client.Create(ctx, obj)
	if !apierrors.IsAlreadyExists(err) {
		if err != nil {
			return fmt.Errorf("creating the local webhook configuration %s: %w", obj.GetName(), err)
		}
		return nil
	}
	existing, _ := obj.DeepCopyObject().(client.Object)
	if err := l.Client.Get(ctx, client.ObjectKeyFromObject(obj), existing); err != nil {
		return fmt.Errorf("reading the local webhook configuration %s: %w", obj.GetName(), err)
	}
	obj.SetResourceVersion(existing.GetResourceVersion())
	if err := l.Client.Update(ctx, obj); err != nil {
		return fmt.Errorf("updating the local webhook configuration %s: %w", obj.GetName(), err)
	}
	return nil
}

// NeedLeaderElection is false: the webhook server of every replica serves.
func (l *LocalConfiguration) NeedLeaderElection() bool { return false }

// LocalConfigurations are the webhook configurations of a local manager.
type LocalConfigurations struct {
	// Validating is named LocalConfigurationName.
	Validating *admissionregistrationv1.ValidatingWebhookConfiguration
	// Mutating is named LocalMutatingConfigurationName; nil when the manifest
	// holds no MutatingWebhookConfiguration.
	Mutating *admissionregistrationv1.MutatingWebhookConfiguration
}

// objects returns the configurations to install.
func (c *LocalConfigurations) objects() []client.Object {
	objs := []client.Object{c.Validating}
	if c.Mutating != nil {
		objs = append(objs, c.Mutating)
	}
	return objs
}

// ToLocal turns the generated webhook configurations (YAML) into the ones for a
// local manager: the ValidatingWebhookConfiguration named LocalConfigurationName
// and the MutatingWebhookConfiguration named LocalMutatingConfigurationName, each
// webhook calling baseURL + its service path and trusting caBundle. The manifest
// must hold a ValidatingWebhookConfiguration.
func ToLocal(manifest []byte, baseURL string, caBundle []byte) (*LocalConfigurations, error) {
	dec := yaml.NewYAMLOrJSONDecoder(bytes.NewReader(manifest), 4096)
	out := &LocalConfigurations{}
	for {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, fmt.Errorf("decoding the webhook configuration: %w", err)
		}
		var meta metav1.TypeMeta
		if err := json.Unmarshal(raw, &meta); err != nil {
			return nil, fmt.Errorf("decoding the webhook configuration: %w", err)
		}
		switch meta.Kind {
		case "ValidatingWebhookConfiguration":
			if out.Validating != nil {
				return nil, errors.New("the manifest holds two ValidatingWebhookConfigurations")
			}
			out.Validating = &admissionregistrationv1.ValidatingWebhookConfiguration{}
			if err := json.Unmarshal(raw, out.Validating); err != nil {
				return nil, fmt.Errorf("decoding the webhook configuration: %w", err)
			}
			out.Validating.ObjectMeta = metaName(LocalConfigurationName)
			for i := range out.Validating.Webhooks {
				toURL(&out.Validating.Webhooks[i].ClientConfig, baseURL, caBundle)
			}
		case "MutatingWebhookConfiguration":
			if out.Mutating != nil {
				return nil, errors.New("the manifest holds two MutatingWebhookConfigurations")
			}
			out.Mutating = &admissionregistrationv1.MutatingWebhookConfiguration{}
			if err := json.Unmarshal(raw, out.Mutating); err != nil {
				return nil, fmt.Errorf("decoding the webhook configuration: %w", err)
			}
			out.Mutating.ObjectMeta = metaName(LocalMutatingConfigurationName)
			for i := range out.Mutating.Webhooks {
				toURL(&out.Mutating.Webhooks[i].ClientConfig, baseURL, caBundle)
			}
		}
	}
	if out.Validating == nil {
		return nil, errors.New("the manifest holds no ValidatingWebhookConfiguration")
	}
	return out, nil
}

// toURL points cc at baseURL + its service path, trusting caBundle.
func toURL(cc *admissionregistrationv1.WebhookClientConfig, baseURL string, caBundle []byte) {
	path := ""
	if cc.Service != nil && cc.Service.Path != nil {
		path = *cc.Service.Path
	}
	url := strings.TrimSuffix(baseURL, "/") + path
	cc.Service, cc.URL, cc.CABundle = nil, &url, caBundle
}
