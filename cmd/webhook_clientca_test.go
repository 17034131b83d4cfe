package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testCA is a CA that signs client certificates.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue returns a certificate for cn with the given extended key usage.
func (ca *testCA) issue(t *testing.T, cn string, usage x509.ExtKeyUsage) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// The security review's M7: with --webhook-client-ca, only callers presenting a
// client certificate of that CA reach the webhooks; a rotated bundle is picked up.
func TestWebhookClientCA(t *testing.T) {
	dir := t.TempDir()
	caFile := filepath.Join(dir, "client-ca.crt")
	apiserver, other := newTestCA(t, "apiserver-client-ca"), newTestCA(t, "someone-else")
	if err := os.WriteFile(caFile, apiserver.pem, 0o600); err != nil {
		t.Fatal(err)
	}
	w := &webhookOptions{clientCA: caFile}
	port, roots := startLocalWebhookServer(t, w, "/validate", http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) {
		_, _ = fmt.Fprint(rw, "an admission answer")
	}))
	call := func(certs ...tls.Certificate) (string, error) {
		c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
			RootCAs: roots, Certificates: certs, MinVersion: tls.VersionTLS12}}}
		defer c.CloseIdleConnections()
		res, err := c.Post(fmt.Sprintf("https://127.0.0.1:%d/validate", port), "application/json", strings.NewReader("{}"))
		if err != nil {
			return "", err
		}
		defer func() { _ = res.Body.Close() }()
		b, err := io.ReadAll(res.Body)
		return string(b), err
	}
	good := apiserver.issue(t, "kube-apiserver", x509.ExtKeyUsageClientAuth)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if _, err := call(good); err == nil || time.Now().After(deadline) {
			break
		}
	}
	if body, err := call(good); err != nil || body != "an admission answer" {
		t.Fatalf("the API server's client certificate: %q, %v", body, err)
	}
	for _, tc := range []struct {
		what  string
		certs []tls.Certificate
	}{
		{"no client certificate", nil},
		{"a certificate of another CA", []tls.Certificate{other.issue(t, "kube-apiserver", x509.ExtKeyUsageClientAuth)}},
		{"a serving certificate of the right CA", []tls.Certificate{apiserver.issue(t, "kube-apiserver", x509.ExtKeyUsageServerAuth)}},
	} {
		if body, err := call(tc.certs...); err == nil {
			t.Errorf("%s: answered %q, want the handshake refused", tc.what, body)
		}
	}

	// Rotation: the bundle now holds the other CA only.
	if err := os.WriteFile(caFile, other.pem, 0o600); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Minute)
	if err := os.Chtimes(caFile, later, later); err != nil {
		t.Fatal(err)
	}
	if body, err := call(good); err == nil {
		t.Errorf("a certificate of the rotated-out CA: answered %q", body)
	}
	if body, err := call(other.issue(t, "kube-apiserver", x509.ExtKeyUsageClientAuth)); err != nil || body != "an admission answer" {
		t.Errorf("a certificate of the new CA: %q, %v", body, err)
	}
}

func TestWebhookClientCAMustHoldACertificate(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.crt")
	if err := os.WriteFile(empty, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{filepath.Join(dir, "missing.crt"), empty} {
		w := &webhookOptions{localURL: "https://127.0.0.1:1", clientCA: path}
		if _, err := w.newServer(); err == nil || !strings.Contains(err.Error(), "--webhook-client-ca") {
			t.Errorf("%s: newServer error %v, want one naming --webhook-client-ca", path, err)
		}
	}
}
