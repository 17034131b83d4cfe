package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"
)

// clientCAFile authenticates the webhook server's callers (the security review's
// M7): with --webhook-client-ca, a TLS client must present a certificate for
// client authentication signed by a CA of the file, as the kube-apiserver does
// when its AdmissionConfiguration gives it a client certificate for orgrbac's
// webhook Service (docs/security.md). Without one, nobody can send the webhooks
// an AdmissionReview, so nobody can use their answers as an oracle.
//
// The file is read again when its modification time or size changes, so a
// rotated CA (a mounted ConfigMap or Secret) is picked up without a restart; a
// file that cannot be read or holds no certificate keeps the last good pool.
type clientCAFile struct {
	path string

	mu      sync.Mutex
	modTime time.Time
	size    int64
	pool    *x509.CertPool
}

// newClientCAFile reads path once, so that a missing or empty bundle stops the
// manager at start with a clear error.
func newClientCAFile(path string) (*clientCAFile, error) {
	c := &clientCAFile{path: path}
	if _, err := c.current(); err != nil {
		return nil, fmt.Errorf("--webhook-client-ca: %w", err)
	}
	return c, nil
}

// current returns the CA pool, re-reading the file when it changed.
func (c *clientCAFile) current() (*x509.CertPool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fi, err := os.Stat(c.path)
	if err != nil {
		if c.pool != nil {
			return c.pool, nil
		}
		return nil, err
	}
	if c.pool != nil && fi.ModTime().Equal(c.modTime) && fi.Size() == c.size {
		return c.pool, nil
	}
	data, err := os.ReadFile(c.path)
	if err != nil {
		if c.pool != nil {
			return c.pool, nil
		}
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		if c.pool != nil {
			return c.pool, nil
		}
		return nil, fmt.Errorf("%s holds no PEM certificate", c.path)
	}
	c.pool, c.modTime, c.size = pool, fi.ModTime(), fi.Size()
	return pool, nil
}

// tlsOption makes a TLS server require a client certificate and verify it
// against the current pool.
func (c *clientCAFile) tlsOption(cfg *tls.Config) {
	cfg.ClientAuth = tls.RequireAnyClientCert
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("no client certificate")
		}
		pool, err := c.current()
		if err != nil {
			return err
		}
		intermediates := x509.NewCertPool()
		for _, cert := range cs.PeerCertificates[1:] {
			intermediates.AddCert(cert)
		}
		_, err = cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: pool, Intermediates: intermediates,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
		return err
	}
}
