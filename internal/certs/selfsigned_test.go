package certs

import (
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// output is one of the generator's two outputs, read back as a CA and the
// serving certificate with its key.
type output struct {
	name string
	make func(t *testing.T, hosts []string, now time.Time, validity time.Duration) (ca *x509.Certificate, pair tls.Certificate)
}

var outputs = []output{
	{"SelfSigned", func(t *testing.T, hosts []string, now time.Time, validity time.Duration) (*x509.Certificate, tls.Certificate) {
		dir := t.TempDir()
		caPEM, err := SelfSigned(dir, hosts, now, validity)
		if err != nil {
			t.Fatal(err)
		}
		pair, err := tls.LoadX509KeyPair(filepath.Join(dir, CertName), filepath.Join(dir, KeyName))
		if err != nil {
			t.Fatalf("loading the written certificate: %v", err)
		}
		return parsePEM(t, caPEM), pair
	}},
	{"InMemory", func(t *testing.T, hosts []string, now time.Time, validity time.Duration) (*x509.Certificate, tls.Certificate) {
		pair, caPEM, err := InMemory(hosts, now, validity)
		if err != nil {
			t.Fatal(err)
		}
		return parsePEM(t, caPEM), pair
	}},
}

func parsePEM(t *testing.T, b []byte) *x509.Certificate {
	t.Helper()
	block, rest := pem.Decode(b)
	if block == nil || block.Type != "CERTIFICATE" || len(rest) != 0 {
		t.Fatalf("not exactly one PEM certificate: %q", b)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestGeneratedCertificates holds both outputs of the generator to the same
// guarantees: the hosts as SANs (IP addresses as IP SANs), a chain to the CA that
// verifies for server authentication on exactly those names and only inside the
// validity window, and a key that belongs to the certificate.
func TestGeneratedCertificates(t *testing.T) {
	// x509 stores times to the second; a whole second keeps the comparisons exact.
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name     string
		hosts    []string
		validity time.Duration
		wantDNS  []string
		wantIPs  []string
	}{
		{name: "DNS names and IP addresses", validity: 365 * 24 * time.Hour,
			hosts:   []string{"localhost", "127.0.0.1", "::1", "orgrbac-api.orgrbac-system.svc"},
			wantDNS: []string{"localhost", "orgrbac-api.orgrbac-system.svc"}, wantIPs: []string{"127.0.0.1", "::1"}},
		{name: "empty and repeated hosts are skipped", validity: time.Hour,
			hosts:   []string{"localhost", "", "127.0.0.1", "localhost", "127.0.0.1"},
			wantDNS: []string{"localhost"}, wantIPs: []string{"127.0.0.1"}},
		{name: "IP addresses only", validity: 24 * time.Hour,
			hosts: []string{"10.0.0.1"}, wantIPs: []string{"10.0.0.1"}},
		{name: "no hosts", validity: time.Hour},
	} {
		for _, out := range outputs {
			t.Run(tc.name+"/"+out.name, func(t *testing.T) {
				ca, pair := out.make(t, tc.hosts, now, tc.validity)
				if len(pair.Certificate) != 1 {
					t.Fatalf("%d certificates in the pair, want the serving certificate alone", len(pair.Certificate))
				}
				leaf, err := x509.ParseCertificate(pair.Certificate[0])
				if err != nil {
					t.Fatal(err)
				}

				if !ca.IsCA || !ca.BasicConstraintsValid || ca.KeyUsage&x509.KeyUsageCertSign == 0 {
					t.Errorf("CA: IsCA %v, basic constraints %v, key usage %b", ca.IsCA, ca.BasicConstraintsValid, ca.KeyUsage)
				}
				if leaf.IsCA || leaf.KeyUsage != x509.KeyUsageDigitalSignature ||
					!slices.Equal(leaf.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}) {
					t.Errorf("serving certificate: IsCA %v, key usage %b, extended key usage %v", leaf.IsCA, leaf.KeyUsage, leaf.ExtKeyUsage)
				}
				if !slices.Equal(leaf.DNSNames, tc.wantDNS) {
					t.Errorf("DNS SANs %q, want %q", leaf.DNSNames, tc.wantDNS)
				}
				var ips []string
				for _, ip := range leaf.IPAddresses {
					ips = append(ips, ip.String())
				}
				if !slices.Equal(ips, tc.wantIPs) {
					t.Errorf("IP SANs %q, want %q", ips, tc.wantIPs)
				}
				for _, c := range []*x509.Certificate{ca, leaf} {
					if !c.NotBefore.Equal(now.Add(-time.Hour)) || !c.NotAfter.Equal(now.Add(tc.validity)) {
						t.Errorf("%s valid %s to %s, want an hour before now to now plus %s", c.Subject.CommonName, c.NotBefore, c.NotAfter, tc.validity)
					}
				}
				if pub, ok := pair.PrivateKey.(*ecdsa.PrivateKey); !ok || !pub.PublicKey.Equal(leaf.PublicKey) {
					t.Error("the private key does not belong to the serving certificate")
				}

				roots := x509.NewCertPool()
				roots.AddCert(ca)
				verify := func(name string, at time.Time, usage x509.ExtKeyUsage) error {
					_, err := leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: name, CurrentTime: at,
						KeyUsages: []x509.ExtKeyUsage{usage}})
					return err
				}
				for _, h := range append(slices.Clone(tc.wantDNS), tc.wantIPs...) {
					if err := verify(h, now, x509.ExtKeyUsageServerAuth); err != nil {
						t.Errorf("%s: %v", h, err)
					}
					// Clocks may drift: valid a little before now, and until the end.
					if err := verify(h, now.Add(-30*time.Minute), x509.ExtKeyUsageServerAuth); err != nil {
						t.Errorf("%s half an hour early: %v", h, err)
					}
					if err := verify(h, now.Add(tc.validity-time.Minute), x509.ExtKeyUsageServerAuth); err != nil {
						t.Errorf("%s a minute before it expires: %v", h, err)
					}
					if verify(h, now.Add(tc.validity+time.Minute), x509.ExtKeyUsageServerAuth) == nil {
						t.Errorf("%s: verified after it expired", h)
					}
					if verify(h, now.Add(-2*time.Hour), x509.ExtKeyUsageServerAuth) == nil {
						t.Errorf("%s: verified before it was valid", h)
					}
					if verify(h, now, x509.ExtKeyUsageClientAuth) == nil {
						t.Errorf("%s: verified for client authentication", h)
					}
				}
				for _, other := range []string{"other.example", "192.0.2.1"} {
					if verify(other, now, x509.ExtKeyUsageServerAuth) == nil {
						t.Errorf("verified for %s, which it does not name", other)
					}
				}
			})
		}
	}
}

// TestEveryCallIsItsOwnCA: a certificate of one call does not verify against the
// CA of another, so two managers (or two runs) never trust each other's
// certificates by accident.
func TestEveryCallIsItsOwnCA(t *testing.T) {
	now := time.Now()
	hosts := []string{"localhost"}
	for _, a := range outputs {
		for _, b := range outputs {
			caA, _ := a.make(t, hosts, now, time.Hour)
			_, pairB := b.make(t, hosts, now, time.Hour)
			leafB, err := x509.ParseCertificate(pairB.Certificate[0])
			if err != nil {
				t.Fatal(err)
			}
			roots := x509.NewCertPool()
			roots.AddCert(caA)
			if _, err := leafB.Verify(x509.VerifyOptions{Roots: roots, DNSName: "localhost", CurrentTime: now}); err == nil {
				t.Errorf("a certificate of %s verified against the CA of another %s", b.name, a.name)
			}
		}
	}
}
