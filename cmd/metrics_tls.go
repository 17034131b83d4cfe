package main

import (
	"context"
	"crypto/tls"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/certwatcher"

	"github.com/orgrbac/orgrbac/internal/certs"
)

// rotatedCertificate serves, through tls.Config.GetCertificate, the certificate
// the manager rotates into its mounted Secret (--metrics-service), so that
// Prometheus verifies the metrics endpoint with the Secret's ca.crt. Until the
// rotated certificate is mounted the handshake fails: a scrape in the manager's
// first seconds is retried by Prometheus, never answered by an unverifiable
// certificate.
type rotatedCertificate struct {
	ctx   context.Context
	ready <-chan struct{}
	dir   string

	once    sync.Once
	watcher *certwatcher.CertWatcher
	err     error
}

var errCertificateNotMounted = errors.New("the rotated serving certificate is not mounted yet")

// GetCertificate returns the rotated certificate, reloaded when it changes.
func (r *rotatedCertificate) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	select {
	case <-r.ready:
	default:
		return nil, errCertificateNotMounted
	}
	r.once.Do(func() {
		r.watcher, r.err = certwatcher.New(filepath.Join(r.dir, certs.CertName), filepath.Join(r.dir, certs.KeyName))
		if r.err == nil {
			go func() { _ = r.watcher.Start(r.ctx) }()
		}
	})
	if r.err != nil {
		return nil, r.err
	}
	return r.watcher.GetCertificate(hello)
}

// mountedCertificate returns a channel closed once dir holds a non-empty
// tls.crt and tls.key. The decision API's own Deployment mounts the Secret the
// manager rotates the certificate into, which may still be empty when the pod
// starts: the API then waits (not ready) instead of failing.
func mountedCertificate(ctx context.Context, dir string) <-chan struct{} {
	ready := make(chan struct{})
	present := func() bool {
		for _, name := range []string{certs.CertName, certs.KeyName} {
			if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.Size() == 0 { //nolint:gosec // the operator's own mounted certificate folder
				return false
			}
		}
		return true
	}
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for !present() {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
		close(ready)
	}()
	return ready
}
