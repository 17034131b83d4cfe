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
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/orgrbac/orgrbac/internal/publish"
)

// The manager's identity in the test: what config/default's replacements put
// into the policy.
const policyManager = "system:serviceaccount:orgrbac-system:orgrbac-controller-manager"

// shippedPolicy reads config/policy's ValidatingAdmissionPolicy and names the
// manager in it as config/default does.
func shippedPolicy() *admissionregistrationv1.ValidatingAdmissionPolicy {
	GinkgoHelper()
	data, err := os.ReadFile(filepath.Join("..", "..", "config", "policy", "published_configmaps.yaml"))
	Expect(err).NotTo(HaveOccurred())
	policy := &admissionregistrationv1.ValidatingAdmissionPolicy{}
	Expect(yaml.UnmarshalStrict([]byte(strings.Split(string(data), "\n---\n")[0]), policy)).To(Succeed())
	v := &policy.Spec.Variables[0]
	Expect(v.Name).To(Equal("manager"))
	parts := strings.Split(v.Expression, "'")
	Expect(parts).To(HaveLen(9), v.Expression)
	parts[3], parts[7] = "orgrbac-system", "orgrbac-controller-manager"
	v.Expression = strings.Join(parts, "'")
	policy.Name = "test-published-configmaps"
	return policy
}

// Security review H3 and M6: only the manager writes the published ConfigMaps
// and the published label.
var _ = Describe("The published ConfigMaps policy", func() {
	It("refuses a user with ConfigMap rights and allows the manager's ServiceAccount", SpecTimeout(2*time.Minute), func(ctx SpecContext) {
		ns := newNamespace(ctx)
		update(ctx, "", ns, &corev1.Namespace{}, func(n *corev1.Namespace) {
			if n.Labels == nil {
				n.Labels = map[string]string{}
			}
			n.Labels["orgrbac-policy-test"] = "true"
		})
		policy := shippedPolicy()
		Expect(k8s.Create(ctx, policy)).To(Succeed())
		DeferCleanup(func(ctx SpecContext) { Expect(client.IgnoreNotFound(k8s.Delete(ctx, policy))).To(Succeed()) })
		// The shipped binding, limited to this spec's namespace (the suite's
		// manager runs as the admin).
		binding := &admissionregistrationv1.ValidatingAdmissionPolicyBinding{ObjectMeta: metav1.ObjectMeta{Name: policy.Name},
			Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{PolicyName: policy.Name,
				ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny},
				MatchResources: &admissionregistrationv1.MatchResources{NamespaceSelector: &metav1.LabelSelector{
					MatchLabels: map[string]string{"orgrbac-policy-test": "true"}}}}}
		Expect(k8s.Create(ctx, binding)).To(Succeed())
		DeferCleanup(func(ctx SpecContext) { Expect(client.IgnoreNotFound(k8s.Delete(ctx, binding))).To(Succeed()) })

		// Both may write ConfigMaps as far as RBAC goes.
		role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{GenerateName: "configmaps-"},
			Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"*"}}}}
		Expect(k8s.Create(ctx, role)).To(Succeed())
		DeferCleanup(func(ctx SpecContext) { Expect(k8s.Delete(ctx, role)).To(Succeed()) })
		rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "configmaps", Namespace: ns},
			RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
			Subjects: []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: "User", Name: "tenant-editor"},
				{Kind: "ServiceAccount", Name: "orgrbac-controller-manager", Namespace: "orgrbac-system"}}}
		Expect(k8s.Create(ctx, rb)).To(Succeed())
		tenant := impersonating("tenant-editor")
		manager := impersonating(policyManager, "system:serviceaccounts", "system:serviceaccounts:orgrbac-system")
		cm := func(name string, labels map[string]string) *corev1.ConfigMap {
			return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels},
				Data: map[string]string{"snapshot.json": "{}"}}
		}
		published := map[string]string{publish.LabelPublished: "true"}
		forbidden := func(err error) bool { return apierrors.IsForbidden(err) || apierrors.IsInvalid(err) }

		By("refusing the tenant once the policy is active")
		Eventually(func() bool {
			return forbidden(tenant.Create(ctx, cm(publish.ConfigMapName, nil), client.DryRunAll))
		}).WithContext(ctx).Should(BeTrue())
		for _, tc := range []struct {
			what string
			obj  *corev1.ConfigMap
		}{
			{"the main ConfigMap", cm(publish.ConfigMapName, nil)},
			{"a look-alike shard without the label", cm("orgrbac-permissions-4", nil)},
			{"a look-alike name", cm("orgrbac-permissions-evil", nil)},
			{"the label on another ConfigMap", cm("settings", published)},
			{"the decision API's CA bundle", cm("orgrbac-api-ca", nil)},
		} {
			err := tenant.Create(ctx, tc.obj)
			Expect(forbidden(err)).To(BeTrue(), "%s: %v", tc.what, err)
		}
		Expect(tenant.Create(ctx, cm("settings", nil))).To(Succeed(), "other ConfigMaps are the tenant's")

		By("allowing the manager's ServiceAccount")
		Expect(manager.Create(ctx, cm(publish.ConfigMapName, published))).To(Succeed())
		Expect(manager.Create(ctx, cm("orgrbac-permissions-1", published))).To(Succeed())

		By("refusing the tenant's changes and deletions of the manager's ConfigMaps, and of the label")
		main := get(ctx, ns, publish.ConfigMapName, &corev1.ConfigMap{})
		main.Data["snapshot.json"] = `{"forged":true}`
		Expect(forbidden(tenant.Update(ctx, main))).To(BeTrue())
		Expect(forbidden(tenant.Delete(ctx, cm("orgrbac-permissions-1", nil)))).To(BeTrue())
		settings := get(ctx, ns, "settings", &corev1.ConfigMap{})
		settings.Labels = published
		Expect(forbidden(tenant.Update(ctx, settings))).To(BeTrue())
		settings = get(ctx, ns, "settings", &corev1.ConfigMap{})
		settings.Data = map[string]string{"a": "b"}
		Expect(tenant.Update(ctx, settings)).To(Succeed())

		By("letting the manager update and delete them")
		main = get(ctx, ns, publish.ConfigMapName, &corev1.ConfigMap{})
		main.Data["snapshot.json"] = `{}`
		Expect(manager.Update(ctx, main)).To(Succeed())
		Expect(manager.Delete(ctx, cm("orgrbac-permissions-1", nil))).To(Succeed())

		By("letting the manager write its CA bundle, and no ConfigMap of anyone else (M6)")
		Expect(manager.Create(ctx, cm("orgrbac-api-ca", nil))).To(Succeed())
		ca := get(ctx, ns, "orgrbac-api-ca", &corev1.ConfigMap{})
		ca.Data = map[string]string{"ca.crt": "an attacker's CA"}
		Expect(forbidden(tenant.Update(ctx, ca))).To(BeTrue(), "the tenant replaced the CA bundle workloads trust")
		Expect(forbidden(tenant.Delete(ctx, cm("orgrbac-api-ca", nil)))).To(BeTrue(), "the tenant deleted the CA bundle")
		for _, tc := range []struct {
			what string
			obj  *corev1.ConfigMap
		}{
			{"another ConfigMap", cm("coredns", nil)},
			{"a look-alike name", cm("orgrbac-permissions-evil", published)},
			{"shard 0", cm("orgrbac-permissions-0", published)},
		} {
			err := manager.Create(ctx, tc.obj)
			Expect(forbidden(err)).To(BeTrue(), "%s: %v", tc.what, err)
		}
		settings = get(ctx, ns, "settings", &corev1.ConfigMap{})
		settings.Data = map[string]string{"hijacked": "true"}
		Expect(forbidden(manager.Update(ctx, settings))).To(BeTrue(), "the manager changed the tenant's ConfigMap")
		Expect(forbidden(manager.Delete(ctx, cm("settings", nil)))).To(BeTrue(), "the manager deleted the tenant's ConfigMap")
	})
})

// impersonating returns a client of the suite's API server acting as user, in
// groups and system:authenticated.
func impersonating(user string, groups ...string) client.Client {
	GinkgoHelper()
	c := rest.CopyConfig(cfg)
	c.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: append(groups, "system:authenticated")}
	cl, err := client.New(c, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
	return cl
}
