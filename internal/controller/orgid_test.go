//go:build envtest

package controller

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/publish"
)

func orgWithID(name, externalID string) *orgrbacv1alpha1.Organization {
	o := orgObj(name, "")
	o.Spec.ExternalID = externalID
	return o
}

// orgReady reads an organization (for its Ready condition).
func orgReady(ctx SpecContext, g Gomega, ns, name string) *orgrbacv1alpha1.Organization {
	var o orgrbacv1alpha1.Organization
	g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &o)).To(Succeed())
	return &o
}

// publishedIDs maps each organization of ns's published snapshot to its
// externalID.
func publishedIDs(s *publish.Snapshot) map[string]string {
	out := map[string]string{}
	for _, o := range s.Organizations {
		out[o.Name] = o.ExternalID
	}
	return out
}

// Security review M2: organizations whose ids collide despite the webhook (two
// creates at once, the webhook down; this suite runs no webhook).
var _ = Describe("Organization id collisions", func() {
	var ns string
	BeforeEach(func(ctx SpecContext) { ns = newNamespace(ctx) })

	It("marks the younger organization Duplicate, and lookups keep resolving to the oldest", func(ctx SpecContext) {
		create(ctx, ns, envObj("videos", "", false), roleObj("admin", "settings:manage"),
			orgWithID("acme", "org_01ACME"), memberObj("acme-alice", "acme", "user_alice", withRoles("admin")))
		published(ctx, ns, func(g Gomega, s *publish.Snapshot) {
			g.Expect(publishedIDs(s)).To(Equal(map[string]string{"acme": "org_01ACME"}))
			g.Expect(s.Organizations[0].Members).To(HaveLen(1))
		})
		// Creation times have a resolution of one second; "zzz" and "evil" also
		// sort after "acme", so they are younger either way.
		time.Sleep(1100 * time.Millisecond)
		create(ctx, ns,
			orgWithID("zzz", "org_01ACME"), memberObj("zzz-mallory", "zzz", "user_mallory", withRoles("admin")),
			orgWithID("evil", "acme"), memberObj("evil-mallory", "evil", "user_mallory", withRoles("admin")))

		Eventually(func(g Gomega) {
			for name, key := range map[string]string{"zzz": "org_01ACME", "evil": "acme"} {
				g.Expect(orgReady(ctx, g, ns, name).Status.Conditions).To(ContainElement(And(
					HaveField("Type", orgrbacv1alpha1.ConditionReady), HaveField("Reason", orgrbacv1alpha1.ReasonDuplicate),
					HaveField("Message", And(ContainSubstring(`Organization "acme" is older and has "`+key+`"`),
						ContainSubstring("answers to no id and grants nothing"))))), name)
			}
			g.Expect(orgReady(ctx, g, ns, "acme").Status.Conditions).To(ContainElement(And(
				HaveField("Type", orgrbacv1alpha1.ConditionReady), HaveField("Reason", orgrbacv1alpha1.ReasonResolved))))
		}).WithContext(ctx).Should(Succeed())

		By("publishing only the oldest: acme answers for org_01ACME and acme, mallory nowhere")
		published(ctx, ns, func(g Gomega, s *publish.Snapshot) {
			g.Expect(publishedIDs(s)).To(Equal(map[string]string{"acme": "org_01ACME"}))
			g.Expect(s.Organizations[0].Members).To(ConsistOf(HaveField("User", "user_alice")))
		})
		Consistently(func(g Gomega) {
			var env orgrbacv1alpha1.Environment
			g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "videos"}, &env)).To(Succeed())
			g.Expect(env.Status.Conditions).NotTo(ContainElement(And(
				HaveField("Type", orgrbacv1alpha1.ConditionPublished), HaveField("Status", metav1.ConditionFalse))))
		}).WithContext(ctx).WithTimeout(2*time.Second).Should(Succeed(), "a collision never stops publication")

		By("once the oldest goes, neither collides any more: both answer to their ids")
		Expect(k8s.Delete(ctx, orgObjIn(ns, "acme"))).To(Succeed())
		Eventually(func(g Gomega) {
			for _, name := range []string{"zzz", "evil"} {
				g.Expect(orgReady(ctx, g, ns, name).Status.Conditions).To(ContainElement(And(
					HaveField("Type", orgrbacv1alpha1.ConditionReady), HaveField("Reason", orgrbacv1alpha1.ReasonResolved))), name)
			}
		}).WithContext(ctx).Should(Succeed())
		published(ctx, ns, func(g Gomega, s *publish.Snapshot) {
			g.Expect(publishedIDs(s)).To(Equal(map[string]string{"evil": "acme", "zzz": "org_01ACME"}))
		})
	})

	// The members of a duplicate grant nothing and hold no roles in status, so
	// nothing that serves statuses (the decision API's membership routes)
	// shows them as members under an id another organization owns.
	It("resolves the members of a duplicate organization to nothing, and again once the collision goes", func(ctx SpecContext) {
		admin := resolved{role: "admin", source: "Manual", roles: []string{"admin"}, permissions: []string{"settings:manage"}}
		dup := resolved{reason: orgrbacv1alpha1.ReasonOrganizationDuplicate}
		duplicateMessage := func(g Gomega, name, older, key string) {
			var m orgrbacv1alpha1.Membership
			g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &m)).To(Succeed())
			g.Expect(m.Status.Conditions).To(ContainElement(And(
				HaveField("Type", orgrbacv1alpha1.ConditionReady), HaveField("Status", metav1.ConditionFalse),
				HaveField("Reason", orgrbacv1alpha1.ReasonOrganizationDuplicate),
				HaveField("Message", And(ContainSubstring(`Organization "`+older+`" is older and has "`+key+`"`),
					ContainSubstring("no roles and no permissions"))))))
			g.Expect(m.Status.Assignments).To(BeEmpty())
		}

		// umbrella is the oldest and collides with nothing yet.
		create(ctx, ns, envObj("videos", "", false), roleObj("admin", "settings:manage"), orgWithID("umbrella", ""))
		time.Sleep(1100 * time.Millisecond)
		create(ctx, ns, orgWithID("acme", "globex"), memberObj("acme-alice", "acme", "user_alice", withRoles("admin")))
		expectMembership(ctx, ns, "acme-alice", admin)

		By("a younger organization named after acme's externalID gets past the webhook: its member gets nothing")
		time.Sleep(1100 * time.Millisecond)
		create(ctx, ns, orgWithID("globex", ""), memberObj("globex-bob", "globex", "user_bob", withRoles("admin")))
		expectMembership(ctx, ns, "globex-bob", dup)
		Eventually(func(g Gomega) { duplicateMessage(g, "globex-bob", "acme", "globex") }).WithContext(ctx).Should(Succeed())
		expectMembership(ctx, ns, "acme-alice", admin)

		By("once acme is deleted, globex collides with nothing: its member is Ready again")
		Expect(k8s.Delete(ctx, orgObjIn(ns, "acme"))).To(Succeed())
		expectMembership(ctx, ns, "globex-bob", admin)
		expectMembership(ctx, ns, "acme-alice", resolved{reason: orgrbacv1alpha1.ReasonOrganizationNotFound})

		By("an older organization given globex as its externalID makes globex a duplicate again")
		var u orgrbacv1alpha1.Organization
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "umbrella"}, &u)).To(Succeed())
		u.Spec.ExternalID = "globex"
		Expect(k8s.Update(ctx, &u)).To(Succeed())
		expectMembership(ctx, ns, "globex-bob", dup)
		Eventually(func(g Gomega) { duplicateMessage(g, "globex-bob", "umbrella", "globex") }).WithContext(ctx).Should(Succeed())

		By("and removing that externalID gives globex its id back")
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "umbrella"}, &u)).To(Succeed())
		u.Spec.ExternalID = ""
		Expect(k8s.Update(ctx, &u)).To(Succeed())
		expectMembership(ctx, ns, "globex-bob", admin)
	})
})

func orgObjIn(ns, name string) *orgrbacv1alpha1.Organization {
	o := orgObj(name, "")
	o.Namespace = ns
	return o
}
