//go:build envtest

package v1alpha1_test

import (
	"context"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
)

// denied matches a request the webhooks denied with a message containing each of parts.
func denied(parts ...string) func(Gomega, admitted) {
	return func(g Gomega, a admitted) {
		g.Expect(a.err).To(HaveOccurred(), "denied")
		g.Expect(apierrors.IsForbidden(a.err)).To(BeTrue(), "a denial, not another error: %v", a.err)
		for _, p := range parts {
			g.Expect(a.err.Error()).To(ContainSubstring(p))
		}
	}
}

// allowedWith matches an allowed request whose warnings are exactly those matched.
func allowedWith(warnings ...any) func(Gomega, admitted) {
	return func(g Gomega, a admitted) {
		g.Expect(a.err).NotTo(HaveOccurred())
		if len(warnings) == 0 {
			g.Expect(a.warnings).To(BeEmpty())
			return
		}
		g.Expect(a.warnings).To(ConsistOf(warnings...))
	}
}

func createOp(ctx context.Context, ns string, obj client.Object) func() error {
	return func() error {
		o, _ := obj.DeepCopyObject().(client.Object)
		o.SetNamespace(ns)
		return k8s.Create(ctx, o, client.DryRunAll)
	}
}

func deleteOp(ctx context.Context, ns, name string, obj client.Object) func() error {
	return func() error {
		o, _ := obj.DeepCopyObject().(client.Object)
		o.SetNamespace(ns)
		o.SetName(name)
		return k8s.Delete(ctx, o, client.DryRunAll)
	}
}

var _ = Describe("Admission webhooks", func() {
	var ns string
	BeforeEach(func(ctx SpecContext) { ns = newNamespace(ctx) })

	It("denies creating duplicates, naming the existing object", func(ctx SpecContext) {
		create(ctx, ns, envObj("videos", "", false), roleObj("admin"), orgObj("acme", ""), orgObj("globex", ""),
			orgRoleObj("acme-producer", "acme", "org-producer"), memberObj("acme-alice", "acme", "alice"))

		waitAdmission(ctx, createOp(ctx, ns, envObj("second", "", false)),
			denied(`environment "videos" already exists in namespace "`+ns+`"`))
		admin2 := roleObj("admin-2")
		admin2.Spec.Slug = "admin"
		waitAdmission(ctx, createOp(ctx, ns, admin2), denied(`role "admin" already has the slug "admin"`))
		waitAdmission(ctx, createOp(ctx, ns, orgRoleObj("acme-producer-2", "acme", "org-producer")),
			denied(`organization role "acme-producer" already has the slug "org-producer" in organization "acme"`))
		waitAdmission(ctx, createOp(ctx, ns, memberObj("alice-again", "acme", "alice")),
			denied(`membership "acme-alice" already exists for user "alice" in organization "acme"`))

		By("allowing the same slug in another organization and the same user in another organization")
		create(ctx, ns, orgRoleObj("globex-producer", "globex", "org-producer"), memberObj("globex-alice", "globex", "alice"))

		By("denying for real, not only in dry runs")
		err := k8s.Create(ctx, &orgrbacv1alpha1.Membership{ObjectMeta: metav1.ObjectMeta{Name: "alice-3", Namespace: ns},
			Spec: orgrbacv1alpha1.MembershipSpec{Organization: "acme", User: "alice"}})
		Expect(apierrors.IsForbidden(err)).To(BeTrue(), "got %v", err)
	}, SpecTimeout(time.Minute))

	It("warns about references to objects that do not exist yet, without denying", func(ctx SpecContext) {
		waitAdmission(ctx, createOp(ctx, ns, memberObj("m", "acme", "u", "admin", "ghost")), allowedWith(
			`organization "acme" does not exist (yet): this membership grants nothing until it does`,
			`spec.roles names "admin" and "ghost", which is neither a Role nor an OrganizationRole of organization "acme" (yet): ignored until such a role exists`,
			ContainSubstring(`spec.roles names 2 roles (admin, ghost) but the environment allows one role per membership (multipleRoles: false)`)))
		waitAdmission(ctx, createOp(ctx, ns, mappingObj("g", "acme", orgrbacv1alpha1.GroupSourceSSO, "grp", "ghost")), allowedWith(
			`organization "acme" does not exist (yet): this group mapping grants nothing until it does`,
			ContainSubstring(`spec.role names "ghost"`)))
		waitAdmission(ctx, createOp(ctx, ns, envObj("e", "ghost", false, "ghost", "boo")), allowedWith(
			`spec.defaultRole names "ghost", which is no Role of this environment (yet): ignored until such a role exists`,
			`spec.rolePriority names "boo" and "ghost", which is no Role of this environment (yet): ignored until such a role exists`))
		waitAdmission(ctx, createOp(ctx, ns, orgObj("acme", "org-ghost")), allowedWith(
			ContainSubstring(`spec.defaultRole names "org-ghost", which is neither a Role nor an OrganizationRole of organization "acme"`)))
		waitAdmission(ctx, createOp(ctx, ns, orgRoleObj("r", "acme", "org-r")), allowedWith(
			`organization "acme" does not exist (yet): this organization role grants nothing until it does`))

		By("not reporting permissions while there is no Permission catalog")
		waitAdmission(ctx, createOp(ctx, ns, roleObj("admin", "videos:create", "typo")), allowedWith())

		By("reporting undeclared permissions once a catalog exists")
		create(ctx, ns, permissionObj("videos:create"))
		waitAdmission(ctx, createOp(ctx, ns, roleObj("admin", "videos:create", "typo")), allowedWith(
			`spec.permissions names "typo", which no Permission of this environment declares (yet)`))

		By("going quiet once the references exist")
		create(ctx, ns, roleObj("admin", "videos:create"), orgObj("acme", ""), envObj("e", "admin", true))
		waitAdmission(ctx, createOp(ctx, ns, memberObj("m", "acme", "u", "admin")), allowedWith())
		waitAdmission(ctx, createOp(ctx, ns, mappingObj("g", "acme", orgrbacv1alpha1.GroupSourceSSO, "grp", "admin")), allowedWith())

		By("several manual roles are fine in a multiple-roles environment")
		create(ctx, ns, roleObj("viewer"))
		waitAdmission(ctx, createOp(ctx, ns, memberObj("m2", "acme", "u2", "admin", "viewer")), allowedWith())

		By("warning on update, and about a replacement annotation naming no role")
		// The controllers write the role too (its finalizer, its status): read it
		// again after a conflict.
		Eventually(func(g Gomega) {
			admin := &orgrbacv1alpha1.Role{}
			g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "admin"}, admin)).To(Succeed())
			admin.Annotations = map[string]string{orgrbacv1alpha1.AnnotationReplacementRole: "nobody"}
			a := dryRun(func() error { return k8s.Update(ctx, admin, client.DryRunAll) })
			g.Expect(a.err).NotTo(HaveOccurred())
			g.Expect(a.warnings).To(ConsistOf(ContainSubstring(`annotation orgrbac.dev/replacement-role names "nobody", which is not an existing Role of this environment`)))
		}).WithContext(ctx).Should(Succeed())
	}, SpecTimeout(time.Minute))

	It("denies deleting a default role without a replacement, then previews and performs the move", func(ctx SpecContext) {
		create(ctx, ns, envObj("videos", "member", false, "admin", "member", "viewer"),
			roleObj("admin", "all"), roleObj("member", "invite"), roleObj("viewer", "view"),
			orgObj("acme", "viewer"), orgObj("globex", "member"),
			mappingObj("globex-staff", "globex", orgrbacv1alpha1.GroupSourceDirectory, "staff", "member"))
		create(ctx, ns, memberObj("globex-frank", "globex", "frank"), memberObj("globex-gina", "globex", "gina", "member"),
			memberObj("acme-dave", "acme", "dave"), memberObj("acme-alice", "acme", "alice", "admin"))

		By("denying the environment's default, naming who uses it and how to proceed")
		waitAdmission(ctx, deleteOp(ctx, ns, "member", &orgrbacv1alpha1.Role{}), denied(
			`Role "member" (slug "member") is the default role of Environment "videos", Organization "globex"`,
			`kubectl annotate roles.orgrbac.dev member -n `+ns+` orgrbac.dev/replacement-role=<slug>`))
		waitAdmission(ctx, deleteOp(ctx, ns, "viewer", &orgrbacv1alpha1.Role{}), denied(
			`Role "viewer" (slug "viewer") is the default role of Organization "acme"`))
		err := k8s.Delete(ctx, get(ctx, ns, "member", &orgrbacv1alpha1.Role{}))
		Expect(apierrors.IsForbidden(err)).To(BeTrue(), "a real delete is denied too: %v", err)

		By("denying a replacement that names no role")
		annotate(ctx, get(ctx, ns, "member", &orgrbacv1alpha1.Role{}), "nobody")
		waitAdmission(ctx, deleteOp(ctx, ns, "member", &orgrbacv1alpha1.Role{}), denied(
			`Its annotation orgrbac.dev/replacement-role names "nobody", which is not an existing Role of this environment`))

		By("previewing the effect once the replacement exists")
		annotate(ctx, get(ctx, ns, "member", &orgrbacv1alpha1.Role{}), "viewer")
		Eventually(func(g Gomega) {
			m := get(ctx, ns, "globex-frank", &orgrbacv1alpha1.Membership{})
			g.Expect(m.Status.Roles).To(Equal([]string{"member"}))
		}).WithContext(ctx).Should(Succeed())
		waitAdmission(ctx, deleteOp(ctx, ns, "member", &orgrbacv1alpha1.Role{}), allowedWith(
			`deleting Role "member": 1 membership names it in spec.roles and will get "viewer" instead (recorded in their orgrbac.dev/removed-roles annotation)`,
			`deleting Role "member": 1 membership holds it as default role and will get "viewer", the new default`,
			`deleting Role "member": the default role of Environment "videos", Organization "globex" becomes "viewer"`,
			`deleting Role "member": 1 group mapping maps groups to it and will be repointed to "viewer"`))

		By("moving everyone when the delete goes through")
		Expect(k8s.Delete(ctx, get(ctx, ns, "member", &orgrbacv1alpha1.Role{}))).To(Succeed())
		Eventually(func() error {
			return k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "member"}, &orgrbacv1alpha1.Role{})
		}).WithContext(ctx).Should(Satisfy(apierrors.IsNotFound))
		Eventually(func(g Gomega) {
			for _, name := range []string{"globex-frank", "globex-gina"} {
				m := get(ctx, ns, name, &orgrbacv1alpha1.Membership{})
				g.Expect(m.Status.Roles).To(Equal([]string{"viewer"}), name)
			}
		}).WithContext(ctx).Should(Succeed())
		Expect(get(ctx, ns, "globex-gina", &orgrbacv1alpha1.Membership{}).Annotations).To(
			HaveKeyWithValue(orgrbacv1alpha1.AnnotationRemovedRoles, "member"))
		Expect(get(ctx, ns, "globex", &orgrbacv1alpha1.Organization{}).Spec.DefaultRole).To(Equal("viewer"))
		Expect(get(ctx, ns, "videos", &orgrbacv1alpha1.Environment{}).Spec.DefaultRole).To(Equal("viewer"))
		Expect(get(ctx, ns, "globex-staff", &orgrbacv1alpha1.GroupMapping{}).Spec.Role).To(Equal("viewer"))

		By("allowing a role that is no default, previewing that its holder loses it")
		waitAdmission(ctx, deleteOp(ctx, ns, "admin", &orgrbacv1alpha1.Role{}), allowedWith(
			ContainSubstring(`deleting Role "admin": 1 membership names it in spec.roles and will lose it`)))
	}, SpecTimeout(2*time.Minute))

	It("denies deleting the implicit default `member` when no Environment names a default", func(ctx SpecContext) {
		create(ctx, ns, roleObj("member"), roleObj("viewer"))
		waitAdmission(ctx, deleteOp(ctx, ns, "member", &orgrbacv1alpha1.Role{}), denied(
			`is the default role of the environment (no Environment sets spec.defaultRole, so "member" is the default)`))
		annotate(ctx, get(ctx, ns, "member", &orgrbacv1alpha1.Role{}), "viewer")
		waitAdmission(ctx, deleteOp(ctx, ns, "member", &orgrbacv1alpha1.Role{}), allowedWith(
			ContainSubstring(`the default role of the environment`),
			ContainSubstring(`no Environment exists to record "viewer" as the default role`)))
	}, SpecTimeout(time.Minute))

	It("denies deleting an organization's default OrganizationRole, and allows it once the organization goes", func(ctx SpecContext) {
		create(ctx, ns, roleObj("viewer"), orgObj("acme", "org-producer"), orgRoleObj("acme-producer", "acme", "org-producer"),
			orgRoleObj("acme-lead", "acme", "org-lead"))
		waitAdmission(ctx, deleteOp(ctx, ns, "acme-producer", &orgrbacv1alpha1.OrganizationRole{}), denied(
			`OrganizationRole "acme-producer" (slug "org-producer") is the default role of Organization "acme"`,
			`an existing Role, or OrganizationRole of organization "acme"`,
			`kubectl annotate organizationroles.orgrbac.dev acme-producer`))

		By("accepting another OrganizationRole of the organization as the replacement")
		annotate(ctx, get(ctx, ns, "acme-producer", &orgrbacv1alpha1.OrganizationRole{}), "org-lead")
		waitAdmission(ctx, deleteOp(ctx, ns, "acme-producer", &orgrbacv1alpha1.OrganizationRole{}), allowedWith(
			`deleting OrganizationRole "org-producer": the default role of Organization "acme" becomes "org-lead"`))

		By("allowing every delete once the organization is gone")
		annotate(ctx, get(ctx, ns, "acme-producer", &orgrbacv1alpha1.OrganizationRole{}), "")
		waitAdmission(ctx, deleteOp(ctx, ns, "acme-producer", &orgrbacv1alpha1.OrganizationRole{}), denied(`is the default role of Organization "acme"`))
		Expect(k8s.Delete(ctx, get(ctx, ns, "acme", &orgrbacv1alpha1.Organization{}))).To(Succeed())
		waitAdmission(ctx, deleteOp(ctx, ns, "acme-producer", &orgrbacv1alpha1.OrganizationRole{}), allowedWith())
	}, SpecTimeout(time.Minute))

	It("allows every delete while the namespace is terminating", func(ctx SpecContext) {
		create(ctx, ns, envObj("videos", "member", false), roleObj("member"), orgObj("acme", ""), memberObj("acme-a", "acme", "a", "member"))
		waitAdmission(ctx, deleteOp(ctx, ns, "member", &orgrbacv1alpha1.Role{}), denied(`is the default role of Environment "videos"`))

		Expect(k8s.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
		Expect(k8s.Delete(ctx, get(ctx, ns, "member", &orgrbacv1alpha1.Role{}))).To(Succeed())
		Expect(warned.take()).To(BeEmpty())
		Eventually(func() error {
			return k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "member"}, &orgrbacv1alpha1.Role{})
		}).WithContext(ctx).Should(Satisfy(apierrors.IsNotFound), "the finalizer lets go at once")
		Expect(get(ctx, ns, "acme-a", &orgrbacv1alpha1.Membership{}).Spec.Roles).To(Equal([]string{"member"}),
			"nothing is rewritten in a namespace that is going away")
	}, SpecTimeout(time.Minute))
})
