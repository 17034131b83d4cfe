package certs

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
)

// LocalConfiguration installs both generated configurations (replacing stale ones
// a killed manager left), and removes both when the manager stops.
func TestLocalConfigurationInstallsAndRemovesBoth(t *testing.T) {
	stale := &admissionregistrationv1.MutatingWebhookConfiguration{ObjectMeta: metaName(LocalMutatingConfigurationName)}
	c := fake.NewClientBuilder().WithScheme(clientgoscheme.Scheme).WithObjects(stale).Build()
	ca := []byte("-----BEGIN CERTIFICATE-----\n")
	l := &LocalConfiguration{Client: c, Manifest: filepath.Join("..", "..", "config", "webhook", "manifests.yaml"),
		BaseURL: "https://127.0.0.1:9443", CABundle: ca}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Start(ctx) }()

	vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{}
	mwc := &admissionregistrationv1.MutatingWebhookConfiguration{}
	deadline := time.Now().Add(10 * time.Second)
	for {
		errV := c.Get(ctx, client.ObjectKey{Name: LocalConfigurationName}, vwc)
		errM := c.Get(ctx, client.ObjectKey{Name: LocalMutatingConfigurationName}, mwc)
		if errV == nil && errM == nil && len(mwc.Webhooks) > 0 {
			break
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("not installed: %v, %v, %d mutating webhooks", errV, errM, len(mwc.Webhooks))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(vwc.Webhooks) == 0 {
		t.Error("no validating webhooks installed")
	}
	for _, w := range mwc.Webhooks {
		if w.ClientConfig.URL == nil || string(w.ClientConfig.CABundle) != string(ca) {
			t.Errorf("%s: clientConfig %+v", w.Name, w.ClientConfig)
		}
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Start: %v", err)
	}
	for _, o := range []client.Object{vwc, mwc} {
		if err := c.Get(context.Background(), client.ObjectKeyFromObject(o), o); !apierrors.IsNotFound(err) {
			t.Errorf("%s not removed when the manager stopped (err %v)", o.GetName(), err)
		}
	}
}
