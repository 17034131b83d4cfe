package certs

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
)

func TestSelfSignedServesTLSToClientsTrustingTheCA(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "certs")
	ca, err := SelfSigned(dir, []string{"127.0.0.1", "localhost"}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(filepath.Join(dir, KeyName))
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("key file mode %o, want 600", perm)
	}
	pair, err := tls.LoadX509KeyPair(filepath.Join(dir, CertName), filepath.Join(dir, KeyName))
	if err != nil {
		t.Fatalf("loading the serving certificate: %v", err)
	}

	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) }))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
	srv.StartTLS()
	defer srv.Close()

	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		t.Fatal("the CA bundle is no PEM certificate")
	}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	for _, u := range []string{srv.URL, strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)} {
		resp, err := c.Get(u)
		if err != nil {
			t.Fatalf("GET %s with the CA bundle: %v", u, err)
		}
		_ = resp.Body.Close()
	}

	// A client trusting only the system roots refuses the certificate.
	if resp, err := http.Get(srv.URL); err == nil {
		_ = resp.Body.Close()
		t.Error("a client without the CA bundle accepted the certificate")
	}
}

func TestSelfSignedFailsOnAnUnwritableFolder(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := SelfSigned(filepath.Join(file, "sub"), []string{"127.0.0.1"}, time.Now(), time.Hour); err == nil {
		t.Error("SelfSigned wrote below a file")
	}
}

func TestToLocal(t *testing.T) {
	manifest, err := os.ReadFile(filepath.Join("..", "..", "config", "webhook", "manifests.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	validatingOnly := string(manifest[strings.Index(string(manifest), "---\napiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingWebhookConfiguration"):])
	ca := []byte("-----BEGIN CERTIFICATE-----\n")
	for name, tc := range map[string]struct {
		manifest string
		base     string
		mutating bool
		wantErr  string
	}{
		"generated configuration":   {manifest: string(manifest), base: "https://127.0.0.1:9443", mutating: true},
		"trailing slash":            {manifest: string(manifest), base: "https://127.0.0.1:9443/", mutating: true},
		"other documents before it": {manifest: "apiVersion: v1\nkind: Service\nmetadata: {name: x}\n---\n" + string(manifest), base: "https://127.0.0.1:9443", mutating: true},
		"no mutating configuration": {manifest: validatingOnly, base: "https://127.0.0.1:9443"},
		"no webhook configuration":  {manifest: "apiVersion: v1\nkind: Service\nmetadata: {name: x}\n", wantErr: "holds no ValidatingWebhookConfiguration"},
		"two validating":            {manifest: string(manifest) + validatingOnly, wantErr: "two ValidatingWebhookConfigurations"},
		"not YAML":                  {manifest: "{", wantErr: "decoding"},
	} {
		t.Run(name, func(t *testing.T) {
			local, err := ToLocal([]byte(tc.manifest), tc.base, ca)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			vwc := local.Validating
			if vwc.Name != LocalConfigurationName {
				t.Errorf("name %q, want %q", vwc.Name, LocalConfigurationName)
			}
			if len(vwc.Webhooks) == 0 {
				t.Fatal("no webhooks")
			}
			check := func(name string, cc admissionregistrationv1.WebhookClientConfig, prefix string) {
				t.Helper()
				if cc.Service != nil || cc.URL == nil || string(cc.CABundle) != string(ca) {
					t.Errorf("%s: clientConfig %+v", name, cc)
					return
				}
				if !strings.HasPrefix(*cc.URL, "https://127.0.0.1:9443/"+prefix+"-orgrbac-dev-v1alpha1-") {
					t.Errorf("%s: url %q", name, *cc.URL)
				}
			}
			for _, w := range vwc.Webhooks {
				check(w.Name, w.ClientConfig, "validate")
			}
			if !tc.mutating {
				if local.Mutating != nil {
					t.Errorf("a mutating configuration from a manifest without one: %+v", local.Mutating)
				}
				if n := len(local.objects()); n != 1 {
					t.Errorf("%d configurations to install, want 1", n)
				}
				return
			}
			mwc := local.Mutating
			if mwc == nil {
				t.Fatal("no mutating configuration")
			}
			if mwc.Name != LocalMutatingConfigurationName {
				t.Errorf("name %q, want %q", mwc.Name, LocalMutatingConfigurationName)
			}
			if len(mwc.Webhooks) == 0 {
				t.Fatal("no mutating webhooks")
			}
			for _, w := range mwc.Webhooks {
				check(w.Name, w.ClientConfig, "mutate")
				if w.FailurePolicy == nil || *w.FailurePolicy != admissionregistrationv1.Ignore {
					t.Errorf("%s: failurePolicy %v, want Ignore", w.Name, w.FailurePolicy)
				}
			}
			if n := len(local.objects()); n != 2 {
				t.Errorf("%d configurations to install, want 2", n)
			}
		})
	}
}
