//go:build envtest

package controller

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
)

var _ = Describe("Role cleanup across manager restarts", Serial, func() {
	const (
		members = 2000
		doomed  = "doomed"
	)
	// Each membership names the deleted role in one of three ways, and must end
	// with the roles wanted.
	patterns := []struct{ roles, want []string }{
		{roles: []string{doomed}, want: []string{"viewer"}},
		{roles: []string{doomed, "editor"}, want: []string{"viewer", "editor"}},
		{roles: []string{"editor", "viewer", doomed}, want: []string{"editor", "viewer"}},
	}

	It("finishes a reassignment of 2,000 memberships stopped twice in the middle", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		create(ctx, ns, envObj("env", "viewer", true), roleObj(doomed, "d"), roleObj("viewer", "v"), roleObj("editor", "e"), orgObj("acme", ""))

		By("creating the memberships")
		var wg sync.WaitGroup
		errs := make(chan error, members)
		for w := range 8 {
			wg.Go(func() {
				for i := w; i < members; i += 8 {
					m := memberObj(fmt.Sprintf("m-%04d", i), "acme", fmt.Sprintf("user-%04d", i), withRoles(patterns[i%3].roles...))
					m.Namespace = ns
					if err := k8s.Create(ctx, m); err != nil {
						errs <- err
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			Expect(err).NotTo(HaveOccurred())
		}
		Eventually(func(g Gomega) {
			g.Expect(get(ctx, ns, doomed, &orgrbacv1alpha1.Role{}).Finalizers).To(ContainElement(orgrbacv1alpha1.FinalizerRoleCleanup))
		}).WithContext(ctx).Should(Succeed())

		// A spec that fails with the manager stopped leaves one running for the next.
		running := true
		DeferCleanup(func() {
			if !running {
				stopManager = startManager()
			}
		})
		waitMoved := func(n int) {
			GinkgoHelper()
			Eventually(func() int { return moved(ctx, ns, doomed) }).WithContext(ctx).WithPolling(20 * time.Millisecond).Should(BeNumerically(">=", n))
		}

		deleteWithReplacement(ctx, ns, doomed, &orgrbacv1alpha1.Role{}, "viewer")
		start := time.Now()
		for round, at := range []int{150, 700} {
			waitMoved(at)
			stopManager()
			running = false
			remaining := naming(ctx, ns, doomed)
			GinkgoWriter.Printf("restart %d: stopped with %d of %d memberships still naming %q after %s\n",
				round+1, remaining, members, doomed, time.Since(start))
			Expect(remaining).To(BeNumerically(">", 0), "stopped in the middle")
			Expect(get(ctx, ns, doomed, &orgrbacv1alpha1.Role{}).Finalizers).To(ContainElement(orgrbacv1alpha1.FinalizerRoleCleanup))
			stopManager = startManager()
			running = true
		}

		By("finishing after the restarts")
		expectGone(ctx, ns, doomed, &orgrbacv1alpha1.Role{})
		GinkgoWriter.Printf("reassignment of %d memberships done after %s\n", members, time.Since(start))
		var list orgrbacv1alpha1.MembershipList
		Expect(k8s.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
		Expect(list.Items).To(HaveLen(members), "no membership lost")
		for i := range list.Items {
			m := &list.Items[i]
			var n int
			_, err := fmt.Sscanf(m.Name, "m-%04d", &n)
			Expect(err).NotTo(HaveOccurred())
			Expect(m.Spec.Roles).To(Equal(patterns[n%3].want), "spec.roles of %s", m.Name)
			Expect(m.Annotations).To(HaveKeyWithValue(orgrbacv1alpha1.AnnotationRemovedRoles, doomed), "annotation of %s", m.Name)
		}

		By("resolving every membership to its new roles")
		Eventually(func(g Gomega) {
			var list orgrbacv1alpha1.MembershipList
			g.Expect(k8s.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
			for i := range list.Items {
				m := &list.Items[i]
				g.Expect(m.Status.ObservedGeneration).To(Equal(m.Generation), "observedGeneration of %s", m.Name)
				g.Expect(m.Status.Roles).NotTo(ContainElement(doomed), "status.roles of %s", m.Name)
				g.Expect(m.Status.Roles).To(ContainElement("viewer"), "status.roles of %s", m.Name)
			}
		}).WithContext(ctx).WithTimeout(60 * time.Second).Should(Succeed())
	}, SpecTimeout(3*time.Minute))
})

// moved counts the memberships of ns whose removed-roles annotation names slug,
// from a metadata-only list (light enough to poll while thousands change).
func moved(ctx context.Context, ns, slug string) int {
	GinkgoHelper()
	var list metav1.PartialObjectMetadataList
	list.SetGroupVersionKind(orgrbacv1alpha1.GroupVersion.WithKind("MembershipList"))
	Expect(k8s.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
	n := 0
	for i := range list.Items {
		if slices.Contains(strings.Split(list.Items[i].Annotations[orgrbacv1alpha1.AnnotationRemovedRoles], ","), slug) {
			n++
		}
	}
	return n
}

// naming counts the memberships of ns whose spec.roles names slug, read from the API server.
func naming(ctx context.Context, ns, slug string) int {
	GinkgoHelper()
	var list orgrbacv1alpha1.MembershipList
	Expect(k8s.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
	n := 0
	for i := range list.Items {
		if slices.Contains(list.Items[i].Spec.Roles, slug) {
			n++
		}
	}
	return n
}
