//go:build envtest

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"sigs.k8s.io/yaml"

	"github.com/orgrbac/orgrbac/internal/certs"
)

// webhookCA is the PEM CA that signs the managers' webhook serving certificate.
var webhookCA []byte

// writeWebhookCertificate writes tls.crt and tls.key for 127.0.0.1, signed by a CA
// made for the run, into dir, with the manager's own local-mode generator
// (certs.SelfSigned); cert-manager or the manager's rotator does this in a
// cluster.
func writeWebhookCertificate(dir string) {
	GinkgoHelper()
	ca, err := certs.SelfSigned(dir, []string{"127.0.0.1"}, time.Now(), 24*time.Hour)
	Expect(err).NotTo(HaveOccurred())
	webhookCA = ca
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
