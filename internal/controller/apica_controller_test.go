//go:build envtest

package controller

import (
	"context"
	"os"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/orgrbac/orgrbac/internal/certs"
)

var _ = Describe("Publishing the decision API's CA", func() {
	const name = "orgrbac-api-ca"

	// caBundle returns a fresh self-signed certificate's PEM.
	caBundle := func() string {
		GinkgoHelper()
		ca, err := certs.SelfSigned(GinkgoT().TempDir(), []string{"orgrbac-api.orgrbac-system.svc"}, time.Now(), time.Hour)
		Expect(err).NotTo(HaveOccurred())
		return string(ca)
	}
	caConfigMap := func(ctx context.Context, g Gomega, ns string) *corev1.ConfigMap {
		var cm corev1.ConfigMap
		g.Expect(k8s.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, &cm)).To(Succeed())
		return &cm
	}

	It("copies the CA into every environment's namespace, follows a rotation and leaves other namespaces and foreign ConfigMaps alone", func(ctx SpecContext) {
		file := filepath.Join(GinkgoT().TempDir(), "ca.crt")
		first := caBundle()
		Expect(os.WriteFile(file, []byte(first), 0o600)).To(Succeed())
		restartManager(Options{MaxConcurrentReconciles: 4, APICAConfigMap: name, APICAFile: file})

		withEnv, withoutEnv, foreign := newNamespace(ctx), newNamespace(ctx), newNamespace(ctx)
		create(ctx, withEnv, envObj("videos", "member", false), roleObj("member", "videos:view"))
		// The foreign ConfigMap is there before the Environment: created after
		// it, the CA publisher could take the name first, and the create fails.
		taken := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}, Data: map[string]string{"ca.crt": "mine"}}
		create(ctx, foreign, taken)
		create(ctx, foreign, envObj("videos", "member", false))

		Eventually(func(g Gomega) {
			cm := caConfigMap(ctx, g, withEnv)
			g.Expect(cm.Data).To(Equal(map[string]string{CAKey: first}))
			g.Expect(cm.Labels).To(HaveKeyWithValue(LabelAPICA, "true"))
			g.Expect(cm.OwnerReferences).To(HaveLen(1))
			g.Expect(cm.OwnerReferences[0].Kind).To(Equal("Environment"))
			g.Expect(cm.OwnerReferences[0].Name).To(Equal("videos"))
		}).Should(Succeed())

		By("a rotated CA is published within the check interval")
		second := caBundle()
		Expect(os.WriteFile(file, []byte(second), 0o600)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(caConfigMap(ctx, g, withEnv).Data[CAKey]).To(Equal(second))
		}).WithTimeout(30 * time.Second).Should(Succeed())

		By("a namespace without an Environment gets none, and a ConfigMap orgrbac does not manage is never overwritten")
		Consistently(func(g Gomega) {
			var cm corev1.ConfigMap
			err := k8s.Get(ctx, types.NamespacedName{Namespace: withoutEnv, Name: name}, &cm)
			g.Expect(err).To(HaveOccurred())
			g.Expect(caConfigMap(ctx, g, foreign).Data).To(Equal(map[string]string{"ca.crt": "mine"}))
		}).WithTimeout(3 * time.Second).Should(Succeed())
	})
})
