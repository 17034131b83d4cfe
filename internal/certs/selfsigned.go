package certs

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// File names of the serving certificate and key, the webhook server's defaults.
const (
	CertName = "tls.crt"
	KeyName  = "tls.key"
)

// SelfSigned creates a CA and a serving certificate for hosts (IP addresses or
// DNS names) valid from now for validity, writes the certificate and key into dir
// (CertName, KeyName; the key readable by the owner only) and returns the CA
// certificate, PEM-encoded, for the webhook configuration's caBundle.
func SelfSigned(dir string, hosts []string, now time.Time, validity time.Duration) ([]byte, error) {
	g, err := generate(hosts, now, validity)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating %s: %w", dir, err)
	}
	if err := os.WriteFile(filepath.Join(dir, CertName), g.cert, 0o600); err != nil {
		return nil, fmt.Errorf("writing the serving certificate: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, KeyName), g.key, 0o600); err != nil {
		return nil, fmt.Errorf("writing the serving key: %w", err)
	}
	return g.ca, nil
}

// InMemory is SelfSigned without the disk: it returns the serving certificate,
// ready for tls.Config.Certificates, and the CA certificate, PEM-encoded, which
// clients add to their trusted roots. The key exists only in the returned value.
func InMemory(hosts []string, now time.Time, validity time.Duration) (tls.Certificate, []byte, error) {
	g, err := generate(hosts, now, validity)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	cert, err := tls.X509KeyPair(g.cert, g.key)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("loading the serving certificate: %w", err)
	}
	return cert, g.ca, nil
}

// generated is a CA certificate and a serving certificate it signed, with the
// serving certificate's key, each PEM-encoded. The CA's key is not kept: once
// generate returns nothing can sign another certificate that clients trusting
// the CA would accept.
type generated struct {
	ca, cert, key []byte
}

// generate is the one self-signed certificate generator of orgrbac. The serving
// certificate names hosts (an IP address goes into the IP SANs, anything else
// into the DNS SANs; empty and repeated hosts are skipped, so callers may append
// an unset or duplicate hostname), is valid for server authentication only, and
// both certificates are valid from an hour before now (clocks of clients drift)
// until now plus validity.
func generate(hosts []string, now time.Time, validity time.Duration) (generated, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return generated{}, fmt.Errorf("generating the CA key: %w", err)
	}
	notBefore, notAfter := now.Add(-time.Hour), now.Add(validity)
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "orgrbac self-signed CA", Organization: []string{"orgrbac"}},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return generated{}, fmt.Errorf("creating the CA certificate: %w", err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return generated{}, fmt.Errorf("parsing the CA certificate: %w", err)
	}

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return generated{}, fmt.Errorf("generating the serving key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: "orgrbac serving certificate", Organization: []string{"orgrbac"}},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	seen := make(map[string]bool, len(hosts))
	for _, h := range hosts {
		if h == "" || seen[h] {
			continue
		}
		seen[h] = true
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return generated{}, fmt.Errorf("creating the serving certificate: %w", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return generated{}, fmt.Errorf("encoding the serving key: %w", err)
	}
	return generated{
		ca:   pemBlock("CERTIFICATE", caDER),
		cert: pemBlock("CERTIFICATE", der),
		key:  pemBlock("EC PRIVATE KEY", keyDER),
	}, nil
}

func pemBlock(typ string, der []byte) []byte {
	var b bytes.Buffer
	_ = pem.Encode(&b, &pem.Block{Type: typ, Bytes: der}) // writing to a buffer cannot fail
	return b.Bytes()
}

// serial is a random 128-bit certificate serial number.
func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return big.NewInt(time.Now().UnixNano())
	}
	return n
}
