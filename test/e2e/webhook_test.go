//go:build envtest

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
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

// pointWebhooksAt installs the shipped webhook configurations
// (config/webhook/manifests.yaml: the validating and the mutating one) with each
// webhook calling manager m directly, as the webhook Service would route to a
// live replica in a cluster.
func pointWebhooksAt(m *manager) {
	GinkgoHelper()
	data, err := os.ReadFile(filepath.Join(root, "config", "webhook", "manifests.yaml"))
	Expect(err).NotTo(HaveOccurred())
	local, err := certs.ToLocal(data, fmt.Sprintf("https://127.0.0.1:%d", m.webhookPort), webhookCA)
	Expect(err).NotTo(HaveOccurred())
	Expect(local.Validating.Webhooks).NotTo(BeEmpty())
	Expect(local.Mutating).NotTo(BeNil())
	Expect(local.Mutating.Webhooks).NotTo(BeEmpty())
	local.Validating.Name, local.Mutating.Name = "orgrbac-e2e", "orgrbac-e2e-mutating"
	var docs []string
	for _, cfg := range []any{local.Validating, local.Mutating} {
		out, err := yaml.Marshal(cfg)
		Expect(err).NotTo(HaveOccurred())
		docs = append(docs, string(out))
	}
	_, err = runKubectl(adminKube, strings.Join(docs, "---\n"), "apply", "--server-side", "--force-conflicts", "-f", "-")
	Expect(err).NotTo(HaveOccurred())
	GinkgoWriter.Printf("The webhooks call manager %s on port %d\n", m.name, m.webhookPort)
}
