//go:build envtest

package controller

import (
	"fmt"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/publish"
)

// The security review's proofs of M3, on the API server: resolutions beyond the
// CRD's limits end with a written status that fails closed, and long lists give
// bounded messages.
var _ = Describe("Statuses that always fit (security review M3)", func() {
	var ns string
	BeforeEach(func(ctx SpecContext) { ns = newNamespace(ctx) })

	It("A: 70 mapped roles in a multipleRoles environment fail closed, and the admin held before is gone", func(ctx SpecContext) {
		create(ctx, ns, envObj("videos", "member", true), roleObj("member", "videos:view"), roleObj("admin", "settings:manage"),
			orgObj("acme", ""), memberObj("acme-a", "acme", "u_a", withRoles("admin")))
		expectMembership(ctx, ns, "acme-a", resolved{role: "admin", source: "Manual", roles: []string{"admin"}, permissions: []string{"settings:manage"}})
		published(ctx, ns, func(g Gomega, s *publish.Snapshot) {
			g.Expect(s.Organizations).To(ContainElement(HaveField("Members", ContainElement(HaveField("Membership", "acme-a")))))
		})

		var groups []string
		for i := range 70 {
			slug := fmt.Sprintf("r%02d", i)
			create(ctx, ns, roleObj(slug, "p:"+slug), mappingObj("gm-"+slug, "acme", dir, "g-"+slug, slug))
			groups = append(groups, "g-"+slug)
		}

		By("holding 64 roles, the most its status holds, with an event listing ten")
		update(ctx, ns, "acme-a", &orgrbacv1alpha1.Membership{}, func(m *orgrbacv1alpha1.Membership) { m.Spec.DirectoryGroups = groups[:64] })
		Eventually(func(g Gomega) {
			m := &orgrbacv1alpha1.Membership{}
			g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "acme-a"}, m)).To(Succeed())
			g.Expect(m.Status.ObservedGeneration).To(Equal(m.Generation))
			g.Expect(m.Status.Roles).To(HaveLen(64))
			g.Expect(m.Status.Assignments).To(HaveLen(64))
			g.Expect(meta.IsStatusConditionTrue(m.Status.Conditions, orgrbacv1alpha1.ConditionReady)).To(BeTrue())
		}).WithContext(ctx).Should(Succeed())
		Eventually(func(g Gomega) {
			var evs eventsv1.EventList
			g.Expect(k8s.List(ctx, &evs, client.InNamespace(ns))).To(Succeed())
			g.Expect(evs.Items).To(ContainElement(And(HaveField("Regarding.Name", "acme-a"), HaveField("Reason", "RolesChanged"),
				HaveField("Note", ContainSubstring("from [admin] to [r00, r01, r02, r03, r04, r05, r06, r07, r08, r09 and 54 more]")))))
		}).WithContext(ctx).Should(Succeed())

		By("failing closed at 70")
		update(ctx, ns, "acme-a", &orgrbacv1alpha1.Membership{}, func(m *orgrbacv1alpha1.Membership) { m.Spec.DirectoryGroups = groups })
		expectMembership(ctx, ns, "acme-a", resolved{reason: orgrbacv1alpha1.ReasonTooManyRoles})
		m := get(ctx, ns, "acme-a", &orgrbacv1alpha1.Membership{})
		Expect(m.Status.Assignments).To(BeEmpty())
		ready := meta.FindStatusCondition(m.Status.Conditions, orgrbacv1alpha1.ConditionReady)
		Expect(ready.Status).To(Equal(metav1.ConditionFalse))
		Expect(ready.Message).To(And(ContainSubstring("70 roles"), ContainSubstring("at most 64"), ContainSubstring("grants nothing")))

		By("publishing no grant for it")
		published(ctx, ns, func(g Gomega, s *publish.Snapshot) {
			for _, o := range s.Organizations {
				g.Expect(o.Members).NotTo(ContainElement(HaveField("Membership", "acme-a")))
			}
		})

		By("granting again once it resolves to few enough roles")
		update(ctx, ns, "acme-a", &orgrbacv1alpha1.Membership{}, func(m *orgrbacv1alpha1.Membership) { m.Spec.DirectoryGroups = groups[:2] })
		expectMembership(ctx, ns, "acme-a", resolved{role: "r00", source: "Directory", roles: []string{"r00", "r01"}, permissions: []string{"p:r00", "p:r01"}})
	})

	It("B: 9 roles of 1,024 permissions fail closed", func(ctx SpecContext) {
		create(ctx, ns, envObj("videos", "member", true), roleObj("member", "videos:view"), roleObj("admin", "settings:manage"),
			orgObj("acme", ""), memberObj("acme-b", "acme", "u_b", withRoles("admin")))
		expectMembership(ctx, ns, "acme-b", resolved{role: "admin", source: "Manual", roles: []string{"admin"}, permissions: []string{"settings:manage"}})
		var big []string
		for i := range 9 {
			perms := make([]string, 1024)
			for j := range perms {
				perms[j] = fmt.Sprintf("svc%d:perm%04d", i, j)
			}
			create(ctx, ns, roleObj(fmt.Sprintf("big%d", i), perms...))
			big = append(big, fmt.Sprintf("big%d", i))
		}
		update(ctx, ns, "acme-b", &orgrbacv1alpha1.Membership{}, func(m *orgrbacv1alpha1.Membership) { m.Spec.Roles = big })
		expectMembership(ctx, ns, "acme-b", resolved{reason: orgrbacv1alpha1.ReasonTooManyPermissions})
		ready := meta.FindStatusCondition(get(ctx, ns, "acme-b", &orgrbacv1alpha1.Membership{}).Status.Conditions, orgrbacv1alpha1.ConditionReady)
		Expect(ready.Message).To(And(ContainSubstring("9216 distinct permissions"), ContainSubstring("at most 8192")))
	})

	It("C: 150 mappings to deleted roles give a bounded message; Role and Organization messages are bounded", func(ctx SpecContext) {
		create(ctx, ns, roleObj("member", "videos:view"), orgObj("acme", ""))
		var groups []string
		for i := range 150 {
			g := fmt.Sprintf("%03d-%s", i, strings.Repeat("x", 200))
			create(ctx, ns, mappingObj(fmt.Sprintf("gm%03d", i), "acme", dir, g, fmt.Sprintf("deleted-role-%d", i)))
			groups = append(groups, g)
		}
		create(ctx, ns, memberObj("acme-c", "acme", "u_c", withDirectory(groups...)))
		expectMembership(ctx, ns, "acme-c", resolved{role: "member", source: "Default", roles: []string{"member"}, permissions: []string{"videos:view"}})
		m := &orgrbacv1alpha1.Membership{}
		expectBoundedReferences(ctx, ns, "acme-c", m, func() []metav1.Condition { return m.Status.Conditions },
			orgrbacv1alpha1.ReasonRoleNotFound, "150 role references name no role: deleted-role-0 (Directory group 000-xxx")

		By("a Role with 1,024 undeclared permissions of 128 characters")
		perms := make([]string, 1024)
		for i := range perms {
			perms[i] = fmt.Sprintf("%04d%s", i, strings.Repeat("p", 124))
		}
		create(ctx, ns, &orgrbacv1alpha1.Permission{ObjectMeta: metav1.ObjectMeta{Name: "videos.view"}}, roleObj("big", perms...))
		r := &orgrbacv1alpha1.Role{}
		expectBoundedReferences(ctx, ns, "big", r, func() []metav1.Condition { return r.Status.Conditions },
			orgrbacv1alpha1.ReasonUndeclaredPermissions, "1024 of its permissions")

		By("an Organization whose rolePriority names 512 roles of 64 characters that do not exist")
		prio := make([]string, 512)
		for i := range prio {
			prio[i] = fmt.Sprintf("%03d%s", i, strings.Repeat("r", 61))
		}
		create(ctx, ns, orgObj("globex", "", prio...))
		o := &orgrbacv1alpha1.Organization{}
		expectBoundedReferences(ctx, ns, "globex", o, func() []metav1.Condition { return o.Status.Conditions },
			orgrbacv1alpha1.ReasonUnknownPriorityRoles, "and 502 more (ignored)")
	})
})

// expectBoundedReferences waits until the ReferencesResolved condition of the
// object (read into obj; conds returns its conditions) is False with reason and
// a message of at most MaxConditionMessage bytes containing part.
func expectBoundedReferences(ctx SpecContext, ns, name string, obj client.Object, conds func() []metav1.Condition, reason, part string) {
	GinkgoHelper()
	Eventually(func(g Gomega) {
		g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, obj)).To(Succeed())
		c := meta.FindStatusCondition(conds(), orgrbacv1alpha1.ConditionReferencesResolved)
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(c.Reason).To(Equal(reason))
		g.Expect(len(c.Message)).To(BeNumerically("<=", orgrbacv1alpha1.MaxConditionMessage))
		g.Expect(c.Message).To(ContainSubstring(part))
	}).WithContext(ctx).Should(Succeed(), "%s/%s", ns, name)
}
