//go:build envtest

package controller

import (
	"os"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
)

// Security review L1: RBAC cannot scope Membership writers by organization; the
// recipe config/policy/recipes/organization_writers.yaml does, through groups.
var _ = Describe("The organization-writers policy recipe", func() {
	It("lets a writer touch only the organizations its groups name, and exempts the manager", SpecTimeout(2*time.Minute), func(ctx SpecContext) {
		data, err := os.ReadFile(filepath.Join("..", "..", "config", "policy", "recipes", "organization_writers.yaml"))
		Expect(err).NotTo(HaveOccurred())
		docs := strings.Split(string(data), "\n---\n")
		Expect(docs).To(HaveLen(2))
		policy := &admissionregistrationv1.ValidatingAdmissionPolicy{}
		Expect(yaml.UnmarshalStrict([]byte(docs[0]), policy)).To(Succeed())
		binding := &admissionregistrationv1.ValidatingAdmissionPolicyBinding{}
		Expect(yaml.UnmarshalStrict([]byte(docs[1]), binding)).To(Succeed())
		Expect(binding.Spec.PolicyName).To(Equal(policy.Name))

		ns := newNamespace(ctx)
		// Written before the policy applies here: someone else's organization.
		globexMember := &orgrbacv1alpha1.Membership{ObjectMeta: metav1.ObjectMeta{Name: "globex-carol", Namespace: ns},
			Spec: orgrbacv1alpha1.MembershipSpec{Organization: "globex", User: "user_carol"}}
		Expect(k8s.Create(ctx, globexMember)).To(Succeed())

		for _, o := range []client.Object{policy, binding} {
			Expect(k8s.Create(ctx, o)).To(Succeed())
			DeferCleanup(func(ctx SpecContext) { Expect(client.IgnoreNotFound(k8s.Delete(ctx, o))).To(Succeed()) })
		}
		update(ctx, "", ns, &corev1.Namespace{}, func(n *corev1.Namespace) {
			if n.Labels == nil {
				n.Labels = map[string]string{}
			}
			for k, v := range binding.Spec.MatchResources.NamespaceSelector.MatchLabels {
				n.Labels[k] = v
			}
		})

		// RBAC lets every writer below write every orgrbac kind in the namespace.
		role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{GenerateName: "orgrbac-writers-"},
			Rules: []rbacv1.PolicyRule{{APIGroups: []string{orgrbacv1alpha1.GroupVersion.Group},
				Resources: []string{"memberships", "organizationroles", "groupmappings"}, Verbs: []string{"*"}}}}
		Expect(k8s.Create(ctx, role)).To(Succeed())
		DeferCleanup(func(ctx SpecContext) { Expect(k8s.Delete(ctx, role)).To(Succeed()) })
		Expect(k8s.Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "writers", Namespace: ns},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
			Subjects: []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: "Group", Name: "system:authenticated"}}})).To(Succeed())
		acmeAdmin := impersonating("acme-admin", "orgrbac.dev:organization:acme")
		everyOrg := impersonating("platform", "orgrbac.dev:all-organizations")
		nobody := impersonating("someone")
		manager := impersonating("system:serviceaccount:orgrbac-system:orgrbac-controller-manager",
			"system:serviceaccounts", "system:serviceaccounts:orgrbac-system")
		member := func(org, user string) *orgrbacv1alpha1.Membership {
			return &orgrbacv1alpha1.Membership{ObjectMeta: metav1.ObjectMeta{Name: org + "-" + user, Namespace: ns},
				Spec: orgrbacv1alpha1.MembershipSpec{Organization: org, User: "user_" + user, Roles: []string{"admin"}}}
		}
		refused := func(err error) bool {
			return (apierrors.IsForbidden(err) || apierrors.IsInvalid(err)) &&
				strings.Contains(err.Error(), "needs the group orgrbac.dev:organization:")
		}

		By("refusing a writer outside its organizations once the policy is active")
		Eventually(func() bool {
			return refused(acmeAdmin.Create(ctx, member("globex", "mallory"), client.DryRunAll))
		}).WithContext(ctx).Should(BeTrue())
		Expect(acmeAdmin.Create(ctx, member("acme", "mallory"), client.DryRunAll)).To(Succeed(), "its own organization")
		for _, tc := range []struct {
			what string
			err  error
		}{
			{"no organization group", nobody.Create(ctx, member("acme", "eve"), client.DryRunAll)},
			{"another organization's role", acmeAdmin.Create(ctx, &orgrbacv1alpha1.OrganizationRole{
				ObjectMeta: metav1.ObjectMeta{Name: "globex-owner", Namespace: ns},
				Spec:       orgrbacv1alpha1.OrganizationRoleSpec{Organization: "globex", Slug: "org-owner"}}, client.DryRunAll)},
			{"another organization's group mapping", acmeAdmin.Create(ctx, &orgrbacv1alpha1.GroupMapping{
				ObjectMeta: metav1.ObjectMeta{Name: "globex-admins", Namespace: ns},
				Spec: orgrbacv1alpha1.GroupMappingSpec{Organization: "globex", Source: orgrbacv1alpha1.GroupSourceDirectory,
					Group: "admins", Role: "admin"}}, client.DryRunAll)},
		} {
			Expect(refused(tc.err)).To(BeTrue(), "%s: %v", tc.what, tc.err)
		}

		By("refusing changes and deletions of another organization's objects")
		// The controllers are done with the membership (its status and owner
		// reference written): the dry-run writes below conflict with nothing.
		var m *orgrbacv1alpha1.Membership
		Eventually(func(g Gomega) {
			m = &orgrbacv1alpha1.Membership{}
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(globexMember), m)).To(Succeed())
			seen := m.ResourceVersion
			time.Sleep(time.Second)
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(globexMember), m)).To(Succeed())
			g.Expect(m.ResourceVersion).To(Equal(seen), "the membership still changes")
		}).WithContext(ctx).Should(Succeed())
		m.Spec.Roles = []string{"admin"}
		Expect(refused(acmeAdmin.Update(ctx, m, client.DryRunAll))).To(BeTrue())
		Expect(refused(acmeAdmin.Delete(ctx, m, client.DryRunAll))).To(BeTrue())

		By("allowing the all-organizations group and the manager's ServiceAccount")
		Expect(everyOrg.Update(ctx, m, client.DryRunAll)).To(Succeed())
		Expect(manager.Update(ctx, m, client.DryRunAll)).To(Succeed())

		// The decision API's WorkOS writes are made with the API's identity for a
		// caller, whom they record (internal/api/writes.go markWritten): the
		// policy judges the recorded caller's groups, and keeps exempting the
		// manager's own rewrites (no new request id).
		apiOwn := impersonating("system:serviceaccount:orgrbac-system:orgrbac-api",
			"system:serviceaccounts", "system:serviceaccounts:orgrbac-system")
		forCaller := func(o client.Object, request string, groups ...string) client.Object {
			ann := map[string]string{}
			for k, v := range o.GetAnnotations() {
				ann[k] = v
			}
			ann[orgrbacv1alpha1.AnnotationWrittenBy] = "system:serviceaccount:" + ns + ":app"
			ann[orgrbacv1alpha1.AnnotationWrittenByGroups] = strings.Join(groups, ",")
			ann[orgrbacv1alpha1.AnnotationWriteRequest] = request
			o.SetAnnotations(ann)
			return o
		}
		for _, api := range []struct {
			name string
			c    client.Client
		}{{"the manager", manager}, {"the API's own ServiceAccount", apiOwn}} {
			By("judging the caller's groups on a create the decision API makes as " + api.name)
			Expect(refused(api.c.Create(ctx, forCaller(member("globex", "trent"), "req_1", "orgrbac.dev:organization:acme"),
				client.DryRunAll))).To(BeTrue(), "a caller of acme only, creating a globex member")
			Expect(refused(api.c.Create(ctx, forCaller(member("globex", "trent"), "req_1"), client.DryRunAll))).To(BeTrue(),
				"a caller with no group")
			Expect(api.c.Create(ctx, forCaller(member("globex", "trent"), "req_1", "system:authenticated",
				"orgrbac.dev:organization:globex"), client.DryRunAll)).To(Succeed(), "a caller of globex")
		}

		By("judging the caller's groups on an update with a new request id, and on the delete after it")
		withID := forCaller(get(ctx, ns, globexMember.Name, &orgrbacv1alpha1.Membership{}), "req_2", "orgrbac.dev:organization:globex")
		Expect(everyOrg.Update(ctx, withID)).To(Succeed(), "recorded for a globex caller (as the API does before a delete)")
		byAcme := forCaller(get(ctx, ns, globexMember.Name, &orgrbacv1alpha1.Membership{}), "req_3", "orgrbac.dev:organization:acme")
		Expect(refused(manager.Update(ctx, byAcme, client.DryRunAll))).To(BeTrue(), "a new request for an acme caller")
		Expect(refused(apiOwn.Update(ctx, byAcme, client.DryRunAll))).To(BeTrue(), "a new request for an acme caller")
		current := get(ctx, ns, globexMember.Name, &orgrbacv1alpha1.Membership{})
		Expect(manager.Delete(ctx, current, client.DryRunAll)).To(Succeed(), "the delete after a globex caller was recorded")
		Expect(apiOwn.Delete(ctx, current, client.DryRunAll)).To(Succeed(), "the delete after a globex caller was recorded")

		By("exempting the manager's own rewrite (the request id unchanged), not the API's own ServiceAccount's")
		current.Spec.Roles = []string{"member"}
		Expect(manager.Update(ctx, current, client.DryRunAll)).To(Succeed())
		Expect(refused(apiOwn.Update(ctx, current, client.DryRunAll))).To(BeTrue())

		By("refusing a delete by the API's identities of an object no caller was recorded on")
		plain := member("globex", "plain")
		Expect(everyOrg.Create(ctx, plain)).To(Succeed())
		Expect(refused(manager.Delete(ctx, plain, client.DryRunAll))).To(BeTrue())
		Expect(refused(apiOwn.Delete(ctx, plain, client.DryRunAll))).To(BeTrue())

		By("ignoring the annotations on anyone else's writes")
		Expect(refused(acmeAdmin.Create(ctx, forCaller(member("globex", "forged"), "req_4", "orgrbac.dev:all-organizations"),
			client.DryRunAll))).To(BeTrue(), "annotations that name an all-organizations caller")
	})
})
