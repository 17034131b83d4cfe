package main

import (
	"context"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/orgrbac/orgrbac/internal/certs"
)

func TestRotatedCertificate(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	ready := make(chan struct{})
	r := &rotatedCertificate{ctx: ctx, ready: ready, dir: dir}

	if _, err := r.GetCertificate(nil); !errors.Is(err, errCertificateNotMounted) {
		t.Fatalf("before the certificate is mounted: err = %v, want %v", err, errCertificateNotMounted)
	}

	// The rotator writes the Secret, the kubelet mounts it, the rotator reports ready.
	ca, err := certs.SelfSigned(dir, []string{"orgrbac-metrics.orgrbac-system.svc"}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	close(ready)
	cert, err := r.GetCertificate(nil)
	if err != nil {
		t.Fatalf("after the certificate is mounted: %v", err)
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(ca)
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: "orgrbac-metrics.orgrbac-system.svc"}); err != nil {
		t.Errorf("the served certificate does not verify with the CA for the metrics Service: %v", err)
	}
}

// The API Deployment mounts the certificate Secret the manager fills: it waits
// for both files rather than failing on an empty Secret.
func TestMountedCertificate(t *testing.T) {
	dir := t.TempDir()
	ready := mountedCertificate(t.Context(), dir)
	if err := os.WriteFile(filepath.Join(dir, certs.CertName), []byte("cert"), 0o600); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ready:
		t.Fatal("ready with tls.crt alone")
	case <-time.After(1500 * time.Millisecond):
	}
	if err := os.WriteFile(filepath.Join(dir, certs.KeyName), []byte("key"), 0o600); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ready:
	case <-time.After(5 * time.Second):
		t.Fatal("not ready with tls.crt and tls.key")
	}
}
