package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"sigs.k8s.io/yaml"
)

// webhookCA is the PEM CA that signs the managers' webhook serving certificate.
var webhookCA []byte

// writeWebhookCertificate writes tls.crt and tls.key for 127.0.0.1, signed by a CA
// made for the run, into dir; cert-manager or the manager's rotator does this in a
// cluster.
func writeWebhookCertificate(dir string) {
	GinkgoHelper()
	Expect(os.MkdirAll(dir, 0o700)).To(Succeed())
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	Expect(err).NotTo(HaveOccurred())
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "orgrbac e2e CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	Expect(err).NotTo(HaveOccurred())
	caCert, err := x509.ParseCertificate(caDER)
	Expect(err).NotTo(HaveOccurred())

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	Expect(err).NotTo(HaveOccurred())
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	Expect(err).NotTo(HaveOccurred())
	keyDER, err := x509.MarshalECPrivateKey(key)
	Expect(err).NotTo(HaveOccurred())

	webhookCA = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	Expect(os.WriteFile(filepath.Join(dir, "tls.crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)).To(Succeed())
	Expect(os.WriteFile(filepath.Join(dir, "tls.key"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600)).To(Succeed())
}

// pointWebhooksAt installs the shipped webhook configuration
// (config/webhook/manifests.yaml) with each webhook calling manager m directly,
// as the webhook Service would route to a live replica in a cluster.
func pointWebhooksAt(m *manager) {
	GinkgoHelper()
	data, err := os.ReadFile(filepath.Join(root, "config", "webhook", "manifests.yaml"))
	Expect(err).NotTo(HaveOccurred())
	var cfg admissionregistrationv1.ValidatingWebhookConfiguration
	Expect(yaml.Unmarshal(data, &cfg)).To(Succeed())
	Expect(cfg.Webhooks).NotTo(BeEmpty())
	cfg.Name = "orgrbac-e2e"
	for i := range cfg.Webhooks {
		w := &cfg.Webhooks[i]
		Expect(w.ClientConfig.Service).NotTo(BeNil(), w.Name)
		url := fmt.Sprintf("https://127.0.0.1:%d%s", m.webhookPort, *w.ClientConfig.Service.Path)
		w.ClientConfig = admissionregistrationv1.WebhookClientConfig{URL: &url, CABundle: webhookCA}
	}
	out, err := yaml.Marshal(&cfg)
	Expect(err).NotTo(HaveOccurred())
	_, err = runKubectl(adminKube, string(out), "apply", "--server-side", "--force-conflicts", "-f", "-")
	Expect(err).NotTo(HaveOccurred())
	GinkgoWriter.Printf("The webhooks call manager %s on port %d\n", m.name, m.webhookPort)
}
