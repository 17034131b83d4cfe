//go:build envtest

package certs

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/yaml"
)

// TestAddRotator runs cert-controller against a real API server, as config/default
// sets it up, as a user holding only the grants of config/webhook/cert_rotation_rbac.yaml
// (its Secret and the two webhook configurations, by name): it fills the empty
// Secret, injects the CA into every webhook of both configurations, and reports ready once
// the certificate is mounted (the test stands in for the kubelet, copying the
// Secret into the folder).
func TestAddRotator(t *testing.T) {
	env := &envtest.Environment{}
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("starting the control plane (`make test` sets KUBEBUILDER_ASSETS): %v", err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	c, err := client.New(cfg, client.Options{Scheme: clientgoscheme.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	// The names of config/webhook, which cert_rotation_rbac.yaml grants (config/default
	// prefixes all four).
	secret := types.NamespacedName{Namespace: "orgrbac-system", Name: "webhook-server-cert"}
	manifest, err := os.ReadFile(filepath.Join("..", "..", "config", "webhook", "manifests.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	local, err := ToLocal(manifest, "https://127.0.0.1:1", nil) // only to decode them: the service is set back below
	if err != nil {
		t.Fatal(err)
	}
	vwc, mwc := local.Validating, local.Mutating
	if mwc == nil {
		t.Fatal("config/webhook holds no MutatingWebhookConfiguration")
	}
	vwc.Name, mwc.Name = "validating-webhook-configuration", "mutating-webhook-configuration"
	service := func(path string) admissionregistrationv1.WebhookClientConfig {
		return admissionregistrationv1.WebhookClientConfig{Service: &admissionregistrationv1.ServiceReference{
			Namespace: secret.Namespace, Name: "orgrbac-webhook-service", Path: &path}}
	}
	for i := range vwc.Webhooks {
		vwc.Webhooks[i].ClientConfig = service("/validate")
	}
	for i := range mwc.Webhooks {
		mwc.Webhooks[i].ClientConfig = service("/mutate")
	}
	for _, o := range []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: secret.Namespace}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: secret.Namespace, Name: secret.Name}},
		vwc, mwc,
	} {
		if err := c.Create(ctx, o); err != nil {
			t.Fatalf("creating %s: %v", o.GetName(), err)
		}
	}

	// Another Secret in the namespace, which the rotator must neither need nor see.
	if err := c.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: secret.Namespace, Name: "someone-elses"},
		StringData: map[string]string{"password": "hunter2"}}); err != nil {
		t.Fatal(err)
	}
	rotatorCfg := asShippedRotator(ctx, t, env, c, secret.Namespace)
	restricted, err := client.New(rotatorCfg, client.Options{Scheme: clientgoscheme.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	if err := restricted.List(ctx, &corev1.SecretList{}, client.InNamespace(secret.Namespace)); !apierrors.IsForbidden(err) {
		t.Fatalf("the shipped grants let the rotator list every Secret of its namespace (err %v): the test proves nothing", err)
	}

	mgr, err := ctrl.NewManager(rotatorCfg, ctrl.Options{Scheme: clientgoscheme.Scheme,
		Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0"})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ready := make(chan struct{})
	if err := AddRotator(mgr, RotatorOptions{Secret: secret, Service: "orgrbac-webhook-service",
		Configuration: vwc.Name, MutatingConfiguration: mwc.Name, CertDir: dir, ExtraServices: []string{"orgrbac-api"}}, ready); err != nil {
		t.Fatal(err)
	}
	mctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- mgr.Start(mctx) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("the manager stopped with %v", err)
		}
	}()

	// The kubelet's part: mount the Secret once it is filled.
	var s corev1.Secret
	for {
		if err := c.Get(ctx, secret, &s); err != nil {
			t.Fatal(err)
		}
		if len(s.Data[CertName]) > 0 && len(s.Data["ca.crt"]) > 0 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("the rotator did not fill the Secret")
		case <-time.After(100 * time.Millisecond):
		}
	}
	for _, f := range []string{CertName, KeyName} {
		if err := os.WriteFile(filepath.Join(dir, f), s.Data[f], 0o600); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-ready:
	case <-ctx.Done():
		t.Fatal("the rotator never reported ready")
	}
	if err := ReadyCheck(ready)(nil); err != nil {
		t.Errorf("ReadyCheck after ready: %v", err)
	}

	// ready means the CA was injected into the configurations the rotator found.
	var got admissionregistrationv1.ValidatingWebhookConfiguration
	if err := c.Get(ctx, client.ObjectKeyFromObject(vwc), &got); err != nil {
		t.Fatal(err)
	}
	for _, w := range got.Webhooks {
		if string(w.ClientConfig.CABundle) != string(s.Data["ca.crt"]) {
			t.Errorf("webhook %s: caBundle is not the Secret's CA", w.Name)
		}
	}
	var gotM admissionregistrationv1.MutatingWebhookConfiguration
	if err := c.Get(ctx, client.ObjectKeyFromObject(mwc), &gotM); err != nil {
		t.Fatal(err)
	}
	if len(gotM.Webhooks) == 0 {
		t.Fatal("no mutating webhooks")
	}
	for _, w := range gotM.Webhooks {
		if string(w.ClientConfig.CABundle) != string(s.Data["ca.crt"]) {
			t.Errorf("mutating webhook %s: caBundle is not the Secret's CA", w.Name)
		}
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(s.Data["ca.crt"])
	block, _ := pem.Decode(s.Data[CertName])
	if block == nil {
		t.Fatal("tls.crt is no PEM")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"orgrbac-webhook-service.orgrbac-system.svc", "orgrbac-api.orgrbac-system.svc",
		"orgrbac-api.orgrbac-system.svc.cluster.local"} {
		if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: name}); err != nil {
			t.Errorf("the serving certificate does not verify for %s: %v", name, err)
		}
	}
}

// asShippedRotator creates a user bound to the Role and ClusterRole of
// config/webhook/cert_rotation_rbac.yaml (the Role in namespace) and returns its
// config.
func asShippedRotator(ctx context.Context, t *testing.T, env *envtest.Environment, c client.Client, namespace string) *rest.Config {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "config", "webhook", "cert_rotation_rbac.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	const user = "shipped-rotator"
	roles := 0
	for _, doc := range strings.Split(string(raw), "\n---\n") {
		var meta metav1.TypeMeta
		if err := yaml.Unmarshal([]byte(doc), &meta); err != nil {
			t.Fatal(err)
		}
		subjects := []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}}
		switch meta.Kind {
		case "Role":
			var r rbacv1.Role
			if err := yaml.UnmarshalStrict([]byte(doc), &r); err != nil {
				t.Fatal(err)
			}
			r.Namespace = namespace
			binding := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: r.Name}, Subjects: subjects,
				RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: r.Name}}
			for _, o := range []client.Object{&r, binding} {
				if err := c.Create(ctx, o); err != nil {
					t.Fatal(err)
				}
			}
			roles++
		case "ClusterRole":
			var r rbacv1.ClusterRole
			if err := yaml.UnmarshalStrict([]byte(doc), &r); err != nil {
				t.Fatal(err)
			}
			binding := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: r.Name}, Subjects: subjects,
				RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: r.Name}}
			for _, o := range []client.Object{&r, binding} {
				if err := c.Create(ctx, o); err != nil {
					t.Fatal(err)
				}
			}
			roles++
		}
	}
	if roles != 2 {
		t.Fatalf("cert_rotation_rbac.yaml holds %d roles, want a Role and a ClusterRole", roles)
	}
	u, err := env.AddUser(envtest.User{Name: user}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return u.Config()
}
