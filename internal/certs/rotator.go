package certs

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/open-policy-agent/cert-controller/pkg/rotator"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
)

// The rotator reads and rewrites its Secret and the caBundle of the validating and
// mutating webhook configurations, and nothing else of those kinds:
// config/webhook/cert_rotation_rbac.yaml (and the chart's
// templates/webhook/certificate-rotation.yaml) grant get, list, watch and update
// on those three objects by name, which works because narrowedManager makes the
// rotator's cache list and watch them by name. With
// cert-manager, the manager needs neither grant.

// RotatorOptions configure AddRotator.
type RotatorOptions struct {
	// Secret holds the CA and the serving certificate; it must exist (it may be
	// empty) and be mounted at CertDir.
	Secret types.NamespacedName
	// Service is the webhook Service's name, in Secret's namespace: the serving
	// certificate is for <Service>.<namespace>.svc.
	Service string
	// Configuration is the ValidatingWebhookConfiguration given the CA bundle.
	Configuration string
	// MutatingConfiguration is the MutatingWebhookConfiguration given the CA
	// bundle.
	MutatingConfiguration string
	// CertDir is where the Secret is mounted.
	CertDir string
	// ExtraServices are other Services in the Secret's namespace that serve the
	// same certificate (the decision API's): it is valid for their names too.
	ExtraServices []string
}

// AddRotator adds cert-controller's rotator to the manager: it creates (and
// renews before they expire) a CA and a serving certificate in the Secret, and
// injects the CA into the webhook configurations. ready is closed once the
// certificate is mounted and the CA injected; then the webhooks can be served.
func AddRotator(mgr ctrl.Manager, o RotatorOptions, ready chan struct{}) error {
	if o.Secret.Namespace == "" || o.Secret.Name == "" || o.Service == "" || o.Configuration == "" || o.MutatingConfiguration == "" {
		return errors.New("the certificate rotator needs a secret (namespace/name), a service, and a validating and a mutating webhook configuration")
	}
	dns := fmt.Sprintf("%s.%s.svc", o.Service, o.Secret.Namespace)
	extra := []string{dns + ".cluster.local"}
	for _, svc := range o.ExtraServices {
		name := fmt.Sprintf("%s.%s.svc", svc, o.Secret.Namespace)
		extra = append(extra, name, name+".cluster.local")
	}
	err := rotator.AddRotator(narrow(mgr, o.Secret, o.Configuration, o.MutatingConfiguration), &rotator.CertRotator{
		SecretKey:      o.Secret,
		CertDir:        o.CertDir,
		CertName:       CertName,
		KeyName:        KeyName,
		CAName:         "orgrbac-webhook-ca",
		CAOrganization: "orgrbac",
		DNSName:        dns,
		ExtraDNSNames:  extra,
		IsReady:        ready,
		Webhooks: []rotator.WebhookInfo{
			{Name: o.Configuration, Type: rotator.Validating},
			{Name: o.MutatingConfiguration, Type: rotator.Mutating},
		},
		// Every replica serves webhooks, so every replica needs the certificate.
		RequireLeaderElection: false,
	})
	if err != nil {
		return fmt.Errorf("adding the certificate rotator: %w", err)
	}
	return nil
}

// ReadyCheck is a readiness check that fails until ready is closed.
func ReadyCheck(ready <-chan struct{}) func(*http.Request) error {
	return func(*http.Request) error {
		select {
		case <-ready:
			return nil
		default:
			return errors.New("the webhook certificate is not ready yet")
		}
	}
}

func metaName(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Name: name} }
