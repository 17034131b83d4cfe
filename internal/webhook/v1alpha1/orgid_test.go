//go:build envtest

package v1alpha1_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
)

// withExternalID is an Organization named name with an externalID.
func withExternalID(name, externalID string) *orgrbacv1alpha1.Organization {
	o := orgObj(name, "")
	o.Spec.ExternalID = externalID
	return o
}

// Security review M2: organization names and externalIDs are one key space.
var _ = Describe("Organization ids", func() {
	var ns string
	BeforeEach(func(ctx SpecContext) { ns = newNamespace(ctx) })

	It("colliding externalIDs are rejected", func(ctx SpecContext) {
		create(ctx, ns, withExternalID("acme", "org_01ACME"), orgObj("globex", ""), withExternalID("umbrella", "umbrella-corp"))

		By("an externalID equal to another organization's externalID")
		waitAdmission(ctx, createOp(ctx, ns, withExternalID("zzz", "org_01ACME")),
			denied(`spec.externalID "org_01ACME" is already the externalID of organization "acme"`, "choose another externalID"))
		By("an externalID equal to another organization's name")
		waitAdmission(ctx, createOp(ctx, ns, withExternalID("evil", "acme")),
			denied(`spec.externalID "acme" is already the name of organization "acme"`, "choose another externalID"))
		waitAdmission(ctx, createOp(ctx, ns, withExternalID("evil", "globex")),
			denied(`spec.externalID "globex" is already the name of organization "globex"`))
		By("a name equal to another organization's externalID")
		waitAdmission(ctx, createOp(ctx, ns, orgObj("umbrella-corp", "")),
			denied(`metadata.name "umbrella-corp" is already the externalID of organization "umbrella"`, "choose another name"))

		By("allowing an organization whose externalID is its own name, and distinct ids")
		waitAdmission(ctx, createOp(ctx, ns, withExternalID("initech", "initech")), allowedWith())
		waitAdmission(ctx, createOp(ctx, ns, withExternalID("initech", "org_01INITECH")), allowedWith())

		By("denying an update to a colliding externalID, allowing others")
		var globex orgrbacv1alpha1.Organization
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "globex"}, &globex)).To(Succeed())
		globex.Spec.ExternalID = "org_01ACME"
		waitAdmission(ctx, func() error { return k8s.Update(ctx, globex.DeepCopy(), client.DryRunAll) },
			denied(`spec.externalID "org_01ACME" is already the externalID of organization "acme"`))
		globex.Spec.ExternalID = "org_01GLOBEX"
		waitAdmission(ctx, func() error { return k8s.Update(ctx, globex.DeepCopy(), client.DryRunAll) }, allowedWith())

		By("an organization being deleted holds no id")
		Expect(k8s.Delete(ctx, orgObjIn(ns, "acme"))).To(Succeed())
		waitAdmission(ctx, createOp(ctx, ns, withExternalID("zzz", "org_01ACME")), allowedWith())
	})
})

// orgObjIn is a reference to the Organization name of ns, for deletes.
func orgObjIn(ns, name string) *orgrbacv1alpha1.Organization {
	o := orgObj(name, "")
	o.Namespace = ns
	return o
}
