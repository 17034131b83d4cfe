//go:build envtest

package v1alpha1_test

import (
	"context"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
)

// owned are the kinds an Organization owns, each made for an organization.
var owned = map[string]func(name, org string) client.Object{
	"Membership": func(name, org string) client.Object { return memberObj(name, org, "user-"+name) },
	"OrganizationRole": func(name, org string) client.Object {
		return orgRoleObj(name, org, "org-"+name)
	},
	"GroupMapping": func(name, org string) client.Object {
		return mappingObj(name, org, orgrbacv1alpha1.GroupSourceSSO, "group-"+name, "member")
	},
}

// admit creates obj in ns and returns what the API server stored at admission
// (the create's answer: before any controller could write it), ignoring warnings.
func admit(ctx context.Context, ns string, obj client.Object, opts ...client.CreateOption) client.Object {
	GinkgoHelper()
	o, _ := obj.DeepCopyObject().(client.Object)
	o.SetNamespace(ns)
	Expect(k8s.Create(ctx, o, opts...)).To(Succeed(), "creating %T %s: the mutating webhook never denies", o, o.GetName())
	warned.take()
	return o
}

// ownerRefs reads obj back from the API server and returns its ownerReferences.
func ownerRefs(ctx context.Context, obj client.Object) []metav1.OwnerReference {
	GinkgoHelper()
	o, _ := obj.DeepCopyObject().(client.Object)
	Expect(k8s.Get(ctx, client.ObjectKeyFromObject(obj), o)).To(Succeed())
	return o.GetOwnerReferences()
}

// webhookSees waits until the webhook's cache holds org as it is in the API
// server: a dry-run create of a Membership of org gets the reference exactly when
// org exists and is not being deleted.
func webhookSees(ctx context.Context, ns string, org *orgrbacv1alpha1.Organization, withRef bool) {
	GinkgoHelper()
	Eventually(func(g Gomega) {
		o := admit(ctx, ns, memberObj("probe", org.Name, "probe"), client.DryRunAll)
		if withRef {
			g.Expect(o.GetOwnerReferences()).To(ConsistOf(org.OwnerReference()))
		} else {
			g.Expect(o.GetOwnerReferences()).To(BeEmpty())
		}
	}).WithContext(ctx).WithTimeout(ownerTimeout).Should(Succeed())
}

// ownerTimeout bounds the waits of these specs: with a context, Eventually has no
// default timeout, and a webhook that never answers should fail the spec, not hang.
const ownerTimeout = 30 * time.Second

var _ = Describe("The organization ownerReference at admission", func() {
	var ns string
	BeforeEach(func(ctx SpecContext) { ns = newNamespace(ctx) })

	It("is set on a Membership, OrganizationRole and GroupMapping created after their Organization, once", func(ctx SpecContext) {
		create(ctx, ns, orgObj("acme", ""))
		acme := get(ctx, ns, "acme", &orgrbacv1alpha1.Organization{})
		webhookSees(ctx, ns, acme, true)

		for kind, obj := range owned {
			By(kind)
			admitted := admit(ctx, ns, obj("acme-"+strings.ToLower(kind), "acme"))
			Expect(admitted.GetOwnerReferences()).To(ConsistOf(acme.OwnerReference()), "set at admission")
			Expect(ownerRefs(ctx, admitted)).To(ConsistOf(And(HaveField("Kind", "Organization"), HaveField("Name", "acme"),
				HaveField("UID", acme.UID), HaveField("Controller", BeNil()), HaveField("BlockOwnerDeletion", BeNil()))))
			Consistently(func() []metav1.OwnerReference { return ownerRefs(ctx, admitted) }).WithContext(ctx).
				WithTimeout(time.Second).Should(HaveLen(1), "the controller adds no second reference")
		}
	})

	It("admits an object created before its Organization without a reference; the controller adds it later", func(ctx SpecContext) {
		for kind, obj := range owned {
			By(kind)
			admitted := admit(ctx, ns, obj("later-"+strings.ToLower(kind), "later"))
			Expect(admitted.GetOwnerReferences()).To(BeEmpty())
		}

		create(ctx, ns, orgObj("later", ""))
		later := get(ctx, ns, "later", &orgrbacv1alpha1.Organization{})
		for kind, obj := range owned {
			o := obj("later-"+strings.ToLower(kind), "later")
			o.SetNamespace(ns)
			Eventually(func() []metav1.OwnerReference { return ownerRefs(ctx, o) }).WithContext(ctx).WithTimeout(ownerTimeout).
				Should(ConsistOf(later.OwnerReference()), "the controller's fallback, %s", kind)
		}
	})

	It("keeps exactly one reference on an object created with it", func(ctx SpecContext) {
		create(ctx, ns, orgObj("acme", ""))
		acme := get(ctx, ns, "acme", &orgrbacv1alpha1.Organization{})
		webhookSees(ctx, ns, acme, true)

		for kind, obj := range owned {
			By(kind)
			o := obj("acme-"+strings.ToLower(kind), "acme")
			o.SetOwnerReferences([]metav1.OwnerReference{acme.OwnerReference()})
			admitted := admit(ctx, ns, o)
			Expect(admitted.GetOwnerReferences()).To(ConsistOf(acme.OwnerReference()))
			Expect(ownerRefs(ctx, admitted)).To(ConsistOf(acme.OwnerReference()))
		}
	})

	It("adds no reference to an Organization being deleted", func(ctx SpecContext) {
		const hold = "test.orgrbac.dev/hold"
		doomed := orgObj("doomed", "")
		doomed.Finalizers = []string{hold}
		create(ctx, ns, doomed)
		doomed = get(ctx, ns, "doomed", &orgrbacv1alpha1.Organization{})
		webhookSees(ctx, ns, doomed, true)
		DeferCleanup(func(ctx SpecContext) {
			o := get(ctx, ns, "doomed", &orgrbacv1alpha1.Organization{})
			o.Finalizers = nil
			Expect(k8s.Update(ctx, o)).To(Succeed())
		})

		Expect(k8s.Delete(ctx, doomed)).To(Succeed())
		webhookSees(ctx, ns, doomed, false)
		for kind, obj := range owned {
			By(kind)
			admitted := admit(ctx, ns, obj("doomed-"+strings.ToLower(kind), "doomed"))
			Expect(admitted.GetOwnerReferences()).To(BeEmpty())
			Consistently(func() []metav1.OwnerReference { return ownerRefs(ctx, admitted) }).WithContext(ctx).
				WithTimeout(time.Second).Should(BeEmpty(), "nor does the controller")
		}
	})
})
