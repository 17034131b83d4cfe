package controller

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
)

// Security review M1: a status written by someone else than the controller is
// put back, and an equal status is never written again.
var _ = Describe("Membership status integrity", func() {
	It("puts back a forged status within seconds, then writes nothing", SpecTimeout(time.Minute), func(ctx SpecContext) {
		ns := newNamespace(ctx)
		create(ctx, ns, roleObj("member", "videos:view"), roleObj("admin", "settings:manage", "videos:delete"),
			orgObj("acme", ""), memberObj("acme-eve", "acme", "u_eve", withRoles("member")))
		isMember := func(g Gomega) *orgrbacv1alpha1.Membership {
			m := &orgrbacv1alpha1.Membership{}
			g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "acme-eve"}, m)).To(Succeed())
			g.Expect(m.Status.Roles).To(Equal([]string{"member"}))
			g.Expect(m.Status.Role).To(Equal("member"))
			g.Expect(m.Status.Permissions).To(Equal([]string{"videos:view"}))
			g.Expect(meta.IsStatusConditionTrue(m.Status.Conditions, orgrbacv1alpha1.ConditionReady)).To(BeTrue())
			return m
		}
		Eventually(isMember).WithContext(ctx).Should(Not(BeNil()))

		By("forging status.roles and permissions through the status subresource")
		m := get(ctx, ns, "acme-eve", &orgrbacv1alpha1.Membership{})
		orig := m.DeepCopy()
		m.Status.Roles, m.Status.Role = []string{"admin"}, "admin"
		m.Status.Permissions = []string{"settings:manage", "videos:delete"}
		Expect(k8s.Status().Patch(ctx, m, client.MergeFrom(orig))).To(Succeed())
		forgedAt := time.Now()

		var restored *orgrbacv1alpha1.Membership
		Eventually(func(g Gomega) { restored = isMember(g) }).WithContext(ctx).WithTimeout(5 * time.Second).Should(Succeed())
		AddReportEntry("forged Membership status put back after", time.Since(forgedAt).String())

		By("writing nothing once the status equals its resolution")
		Consistently(func(g Gomega) {
			g.Expect(get(ctx, ns, "acme-eve", &orgrbacv1alpha1.Membership{}).ResourceVersion).To(Equal(restored.ResourceVersion))
		}).WithContext(ctx).WithTimeout(3 * time.Second).Should(Succeed())
	})
})
