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
	ca := []byte("-----BEGIN CERTIFICATE-----\n")
	for name, tc := range map[string]struct {
		manifest string
		base     string
		wantErr  string
	}{
		"generated configuration":   {manifest: string(manifest), base: "https://127.0.0.1:9443"},
		"trailing slash":            {manifest: string(manifest), base: "https://127.0.0.1:9443/"},
		"other documents before it": {manifest: "apiVersion: v1\nkind: Service\nmetadata: {name: x}\n---\n" + string(manifest), base: "https://127.0.0.1:9443"},
		"no webhook configuration":  {manifest: "apiVersion: v1\nkind: Service\nmetadata: {name: x}\n", wantErr: "holds no ValidatingWebhookConfiguration"},
		"not YAML":                  {manifest: "{", wantErr: "decoding"},
	} {
		t.Run(name, func(t *testing.T) {
			vwc, err := ToLocal([]byte(tc.manifest), tc.base, ca)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if vwc.Name != LocalConfigurationName {
				t.Errorf("name %q, want %q", vwc.Name, LocalConfigurationName)
			}
			if len(vwc.Webhooks) == 0 {
				t.Fatal("no webhooks")
			}
			for _, w := range vwc.Webhooks {
				cc := w.ClientConfig
				if cc.Service != nil || cc.URL == nil || string(cc.CABundle) != string(ca) {
					t.Errorf("%s: clientConfig %+v", w.Name, cc)
					continue
				}
				if !strings.HasPrefix(*cc.URL, "https://127.0.0.1:9443/validate-orgrbac-dev-v1alpha1-") {
					t.Errorf("%s: url %q", w.Name, *cc.URL)
				}
			}
		})
	}
}
