package main

import (
	"context"
	"crypto/tls"
	"errors"
	"path/filepath"
	"sync"

	"sigs.k8s.io/controller-runtime/pkg/certwatcher"

	"github.com/orgrbac/orgrbac/internal/webhook/certs"
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
