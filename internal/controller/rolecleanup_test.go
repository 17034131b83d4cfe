//go:build envtest

package controller

import (
	"context"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	gtypes "github.com/onsi/gomega/types"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
)

// deleteWithReplacement annotates an object with its replacement role (when repl
// is not empty) and deletes it.
func deleteWithReplacement(ctx context.Context, ns, name string, obj client.Object, repl string) {
	GinkgoHelper()
	if repl != "" {
		update(ctx, ns, name, obj, func(o client.Object) {
			a := o.GetAnnotations()
			if a == nil {
				a = map[string]string{}
			}
			a[orgrbacv1alpha1.AnnotationReplacementRole] = repl
			o.SetAnnotations(a)
		})
	}
	Expect(k8s.Delete(ctx, get(ctx, ns, name, obj))).To(Succeed())
}

// expectGone waits until the object is deleted.
func expectGone(ctx context.Context, ns, name string, obj client.Object) {
	GinkgoHelper()
	Eventually(func() error {
		return k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, obj)
	}).WithContext(ctx).Should(Satisfy(apierrors.IsNotFound), "%T %s should be gone", obj, name)
}

// expectEvent waits for an event on the named object with the reason and a note matching note.
func expectEvent(ctx context.Context, ns, name, reason string, note gtypes.GomegaMatcher) {
	GinkgoHelper()
	Eventually(func(g Gomega) {
		var evs eventsv1.EventList
		g.Expect(k8s.List(ctx, &evs, client.InNamespace(ns))).To(Succeed())
		g.Expect(evs.Items).To(ContainElement(And(
			HaveField("Regarding.Name", name), HaveField("Reason", reason), HaveField("Note", note))))
	}).WithContext(ctx).Should(Succeed(), "event %s on %s", reason, name)
}

// expectSpecRoles waits until a membership's spec.roles and removed-roles annotation are as given.
func expectSpecRoles(ctx context.Context, ns, name string, roles []string, removed string) {
	GinkgoHelper()
	Eventually(func(g Gomega) {
		m := get(ctx, ns, name, &orgrbacv1alpha1.Membership{})
		g.Expect(m.Spec.Roles).To(Equal(roles), "spec.roles")
		g.Expect(m.Annotations[orgrbacv1alpha1.AnnotationRemovedRoles]).To(Equal(removed), "removed-roles annotation")
	}).WithContext(ctx).Should(Succeed(), "membership %s", name)
}

var _ = Describe("Role cleanup finalizer", func() {
	var ns string
	BeforeEach(func(ctx SpecContext) { ns = newNamespace(ctx) })

	It("is added to every Role and OrganizationRole", func(ctx SpecContext) {
		create(ctx, ns, roleObj("member"), orgObj("acme", ""), orgRoleObj("acme-x", "acme", "org-x"))
		Eventually(func(g Gomega) {
			g.Expect(get(ctx, ns, "member", &orgrbacv1alpha1.Role{}).Finalizers).To(ContainElement(orgrbacv1alpha1.FinalizerRoleCleanup))
			g.Expect(get(ctx, ns, "acme-x", &orgrbacv1alpha1.OrganizationRole{}).Finalizers).To(ContainElement(orgrbacv1alpha1.FinalizerRoleCleanup))
		}).WithContext(ctx).Should(Succeed())
	}, SpecTimeout(2*time.Minute))

	It("moves defaults, priorities, memberships and mappings to the replacement (single-role environment)", func(ctx SpecContext) {
		create(ctx, ns, envObj("env", "member", false, "admin", "member", "viewer"),
			roleObj("admin", "all"), roleObj("member", "invite", "view"), roleObj("viewer", "view"),
			orgObj("acme", "member", "member", "admin"), orgObj("globex", ""),
			mappingObj("acme-staff", "acme", dir, "staff", "member"))
		create(ctx, ns,
			memberObj("acme-manual", "acme", "u1", withRoles("member")),
			memberObj("acme-admin", "acme", "u2", withRoles("admin")),
			memberObj("acme-default", "acme", "u3"),
			memberObj("acme-staff", "acme", "u4", withDirectory("staff")),
			memberObj("globex-manual", "globex", "u1", withRoles("member", "viewer")))
		expectMembership(ctx, ns, "acme-manual", resolved{role: "member", source: "Manual", roles: []string{"member"}, permissions: []string{"invite", "view"}})
		Eventually(func(g Gomega) {
			g.Expect(get(ctx, ns, "member", &orgrbacv1alpha1.Role{}).Finalizers).To(ContainElement(orgrbacv1alpha1.FinalizerRoleCleanup))
		}).WithContext(ctx).Should(Succeed())
		untouched := get(ctx, ns, "acme-admin", &orgrbacv1alpha1.Membership{}).Generation

		deleteWithReplacement(ctx, ns, "member", &orgrbacv1alpha1.Role{}, "viewer")
		expectGone(ctx, ns, "member", &orgrbacv1alpha1.Role{})

		By("moving the environment's and organizations' defaults and priority lists")
		env := get(ctx, ns, "env", &orgrbacv1alpha1.Environment{})
		Expect(env.Spec.DefaultRole).To(Equal("viewer"))
		Expect(env.Spec.RolePriority).To(Equal([]string{"admin", "viewer"}))
		acme := get(ctx, ns, "acme", &orgrbacv1alpha1.Organization{})
		Expect(acme.Spec.DefaultRole).To(Equal("viewer"))
		Expect(acme.Spec.RolePriority).To(Equal([]string{"viewer", "admin"}))

		By("rewriting spec.roles of the memberships naming it, and only those")
		expectSpecRoles(ctx, ns, "acme-manual", []string{"viewer"}, "member")
		expectSpecRoles(ctx, ns, "globex-manual", []string{"viewer"}, "member")
		expectSpecRoles(ctx, ns, "acme-admin", []string{"admin"}, "")
		Expect(get(ctx, ns, "acme-admin", &orgrbacv1alpha1.Membership{}).Generation).To(Equal(untouched))

		By("repointing the group mapping")
		Expect(get(ctx, ns, "acme-staff", &orgrbacv1alpha1.GroupMapping{}).Spec.Role).To(Equal("viewer"))

		By("resolving everyone who had the role to the replacement")
		viewer := resolved{role: "viewer", roles: []string{"viewer"}, permissions: []string{"view"}}
		for name, source := range map[string]string{"acme-manual": "Manual", "acme-default": "Default", "acme-staff": "Directory", "globex-manual": "Manual"} {
			want := viewer
			want.source = source
			expectMembership(ctx, ns, name, want)
		}

		By("recording an event on each changed object")
		moved := ContainSubstring(`replaced role "member" with "viewer"`)
		for _, name := range []string{"acme-manual", "globex-manual", "acme-staff", "env", "acme"} {
			expectEvent(ctx, ns, name, "RoleReplaced", moved)
		}
	}, SpecTimeout(2*time.Minute))

	It("removes the slug when there is no replacement (multiple-roles environment)", func(ctx SpecContext) {
		create(ctx, ns, envObj("env", "viewer", true, "editor", "doomed", "viewer"),
			roleObj("editor", "edit"), roleObj("viewer", "view"), roleObj("doomed", "drop"),
			orgObj("acme", "", "doomed"),
			mappingObj("acme-ops", "acme", sso, "ops", "doomed"))
		both := memberObj("acme-both", "acme", "u1", withRoles("doomed", "editor"))
		both.Annotations = map[string]string{orgrbacv1alpha1.AnnotationRemovedRoles: "alpha"}
		create(ctx, ns, both, memberObj("acme-only", "acme", "u2", withRoles("doomed")))
		expectMembership(ctx, ns, "acme-both", resolved{role: "doomed", source: "Manual", roles: []string{"doomed", "editor"}, permissions: []string{"drop", "edit"}})
		Eventually(func(g Gomega) {
			g.Expect(get(ctx, ns, "doomed", &orgrbacv1alpha1.Role{}).Finalizers).To(ContainElement(orgrbacv1alpha1.FinalizerRoleCleanup))
		}).WithContext(ctx).Should(Succeed())

		deleteWithReplacement(ctx, ns, "doomed", &orgrbacv1alpha1.Role{}, "")
		expectGone(ctx, ns, "doomed", &orgrbacv1alpha1.Role{})

		Expect(get(ctx, ns, "env", &orgrbacv1alpha1.Environment{}).Spec.RolePriority).To(Equal([]string{"editor", "viewer"}))
		Expect(get(ctx, ns, "acme", &orgrbacv1alpha1.Organization{}).Spec.RolePriority).To(BeEmpty())
		expectSpecRoles(ctx, ns, "acme-both", []string{"editor"}, "alpha,doomed")
		expectSpecRoles(ctx, ns, "acme-only", nil, "doomed")
		expectMembership(ctx, ns, "acme-both", resolved{role: "editor", source: "Manual", roles: []string{"editor"}, permissions: []string{"edit"}})
		expectMembership(ctx, ns, "acme-only", resolved{role: "viewer", source: "Default", roles: []string{"viewer"}, permissions: []string{"view"}})

		By("leaving the mapping, which grants nothing now")
		Expect(get(ctx, ns, "acme-ops", &orgrbacv1alpha1.GroupMapping{}).Spec.Role).To(Equal("doomed"))
		Eventually(func(g Gomega) {
			g.Expect(get(ctx, ns, "acme-ops", &orgrbacv1alpha1.GroupMapping{}).Status.Conditions).To(ContainElement(And(
				HaveField("Type", orgrbacv1alpha1.ConditionReady), HaveField("Reason", orgrbacv1alpha1.ReasonRoleNotFound))))
		}).WithContext(ctx).Should(Succeed())
		expectEvent(ctx, ns, "acme-ops", "RoleDeleted", ContainSubstring(`Role "doomed" was deleted with no replacement`))
		expectEvent(ctx, ns, "acme-only", "RoleRemoved", ContainSubstring(`removed role "doomed" in spec.roles`))
	}, SpecTimeout(2*time.Minute))

	It("moves only the references of an OrganizationRole's own organization", func(ctx SpecContext) {
		create(ctx, ns, roleObj("editor", "edit"), roleObj("member", "view"),
			orgObj("acme", "org-x", "org-x"), orgObj("globex", "", "org-x"),
			orgRoleObj("acme-x", "acme", "org-x", "x"), orgRoleObj("globex-x", "globex", "org-x", "x"))
		create(ctx, ns, memberObj("acme-a", "acme", "a", withRoles("org-x")), memberObj("globex-b", "globex", "b", withRoles("org-x")))
		Eventually(func(g Gomega) {
			g.Expect(get(ctx, ns, "acme-x", &orgrbacv1alpha1.OrganizationRole{}).Finalizers).To(ContainElement(orgrbacv1alpha1.FinalizerRoleCleanup))
		}).WithContext(ctx).Should(Succeed())

		deleteWithReplacement(ctx, ns, "acme-x", &orgrbacv1alpha1.OrganizationRole{}, "editor")
		expectGone(ctx, ns, "acme-x", &orgrbacv1alpha1.OrganizationRole{})

		acme := get(ctx, ns, "acme", &orgrbacv1alpha1.Organization{})
		Expect(acme.Spec.DefaultRole).To(Equal("editor"))
		Expect(acme.Spec.RolePriority).To(Equal([]string{"editor"}))
		Expect(get(ctx, ns, "globex", &orgrbacv1alpha1.Organization{}).Spec.RolePriority).To(Equal([]string{"org-x"}))
		expectSpecRoles(ctx, ns, "acme-a", []string{"editor"}, "org-x")
		expectSpecRoles(ctx, ns, "globex-b", []string{"org-x"}, "")
		expectMembership(ctx, ns, "globex-b", resolved{role: "org-x", source: "Manual", roles: []string{"org-x"}, permissions: []string{"x"}})
	}, SpecTimeout(2*time.Minute))

	It("lets a role go at once when another role keeps its slug", func(ctx SpecContext) {
		older := roleObj("dup-a", "a")
		older.Spec.Slug = "dup"
		create(ctx, ns, older, orgObj("acme", "dup"))
		younger := roleObj("dup-b", "b")
		younger.Spec.Slug = "dup"
		create(ctx, ns, younger, memberObj("m", "acme", "u", withRoles("dup")))
		Eventually(func(g Gomega) {
			g.Expect(get(ctx, ns, "dup-a", &orgrbacv1alpha1.Role{}).Finalizers).To(ContainElement(orgrbacv1alpha1.FinalizerRoleCleanup))
		}).WithContext(ctx).Should(Succeed())

		Expect(k8s.Delete(ctx, get(ctx, ns, "dup-a", &orgrbacv1alpha1.Role{}))).To(Succeed())
		expectGone(ctx, ns, "dup-a", &orgrbacv1alpha1.Role{})
		expectSpecRoles(ctx, ns, "m", []string{"dup"}, "")
		Expect(get(ctx, ns, "acme", &orgrbacv1alpha1.Organization{}).Spec.DefaultRole).To(Equal("dup"))
		expectMembership(ctx, ns, "m", resolved{role: "dup", source: "Manual", roles: []string{"dup"}, permissions: []string{"b"}})
	}, SpecTimeout(2*time.Minute))
})
