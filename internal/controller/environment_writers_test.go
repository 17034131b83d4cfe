//go:build envtest

package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/publish"
)

// environmentStatusOwners are the Environment status fields and conditions
// and the one field manager each must belong to, as managedFields spells
// them.
var environmentStatusOwners = map[string]string{
	"f:observedGeneration":            environmentFieldManager,
	"f:roles":                         environmentFieldManager,
	"f:organizations":                 environmentFieldManager,
	"f:memberships":                   environmentFieldManager,
	`f:conditions/k:{"type":"Ready"}`: environmentFieldManager,
	`f:conditions/k:{"type":"ReferencesResolved"}`: environmentFieldManager,
	"f:revision":                          publishFieldManager,
	"f:publishedConfigMaps":               publishFieldManager,
	`f:conditions/k:{"type":"Published"}`: publishFieldManager,
}

// statusOwners maps each status field of environmentStatusOwners to the field
// managers whose managedFields entry holds it, and lists every manager that
// holds any status field.
func statusOwners(g Gomega, env *orgrbacv1alpha1.Environment) (owners map[string][]string, managers []string) {
	owners = map[string][]string{}
	for _, e := range env.ManagedFields {
		if e.FieldsV1 == nil {
			continue
		}
		var fields map[string]map[string]any
		g.Expect(json.Unmarshal(e.FieldsV1.GetRawBytes(), &fields)).To(Succeed())
		status, ok := fields["f:status"]
		if !ok {
			continue
		}
		managers = append(managers, fmt.Sprintf("%s (%s, subresource %q)", e.Manager, e.Operation, e.Subresource))
		conds, _ := status["f:conditions"].(map[string]any)
		for field := range environmentStatusOwners {
			var held bool
			if key, ok := strings.CutPrefix(field, "f:conditions/"); ok {
				_, held = conds[key]
			} else {
				_, held = status[field]
			}
			if held {
				owners[field] = append(owners[field], e.Manager)
			}
		}
	}
	return owners, managers
}

// expectOneWriterEach checks that each status field has exactly its one
// field manager (none for the absent ones), and that no other manager holds
// any status field.
func expectOneWriterEach(g Gomega, env *orgrbacv1alpha1.Environment, absent ...string) {
	owners, managers := statusOwners(g, env)
	for field, want := range environmentStatusOwners {
		if slices.Contains(absent, field) {
			g.Expect(owners[field]).To(BeEmpty(), "the managers of the absent status %s", field)
			continue
		}
		g.Expect(owners[field]).To(Equal([]string{want}), "the managers of status %s", field)
	}
	g.Expect(managers).To(ConsistOf(
		fmt.Sprintf("%s (Apply, subresource \"status\")", environmentFieldManager),
		fmt.Sprintf("%s (Apply, subresource \"status\")", publishFieldManager)), "the managers of the status")
}

// expectEnvironmentWriters waits until the Environment's status says roles,
// organizations and memberships, a publication after revision after with
// every ConfigMap named, the three conditions True at the current generation,
// and each field with its one writer; it returns the revision.
func expectEnvironmentWriters(ctx context.Context, ns, name string, roles, orgs, members int32, after int64) int64 {
	GinkgoHelper()
	var rev int64
	Eventually(func(g Gomega) {
		var env orgrbacv1alpha1.Environment
		g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &env)).To(Succeed())
		st := env.Status
		g.Expect(st.ObservedGeneration).To(Equal(env.Generation), "observedGeneration")
		g.Expect([]int32{st.Roles, st.Organizations, st.Memberships}).To(Equal([]int32{roles, orgs, members}), "counts")
		g.Expect(st.Revision).To(BeNumerically(">", after), "revision")
		g.Expect(st.PublishedConfigMaps).To(Equal([]string{publish.ConfigMapName}), "publishedConfigMaps")
		g.Expect(st.Conditions).To(HaveLen(3), "conditions")
		for _, typ := range []string{orgrbacv1alpha1.ConditionReady, orgrbacv1alpha1.ConditionReferencesResolved, orgrbacv1alpha1.ConditionPublished} {
			c := meta.FindStatusCondition(st.Conditions, typ)
			g.Expect(c).NotTo(BeNil(), typ)
			g.Expect(c.Status).To(Equal(metav1.ConditionTrue), typ)
			g.Expect(c.ObservedGeneration).To(Equal(env.Generation), typ)
		}
		published := meta.FindStatusCondition(st.Conditions, orgrbacv1alpha1.ConditionPublished)
		g.Expect(published.Message).To(Equal(fmt.Sprintf("revision %d in 1 ConfigMap(s)", st.Revision)), "Published names the revision")
		expectOneWriterEach(g, &env)
		rev = st.Revision
	}).WithContext(ctx).Should(Succeed(), "the status of Environment %s/%s", ns, name)
	return rev
}

var _ = Describe("Environment status writers", func() {
	var ns string
	BeforeEach(func(ctx SpecContext) { ns = newNamespace(ctx) })

	It("gives every status field one writer, and a burst that moves both writers' fields ends with both right", SpecTimeout(2*time.Minute), func(ctx SpecContext) {
		create(ctx, ns, envObj("videos", "member", false, "admin", "member"),
			roleObj("member", "videos:view"), roleObj("admin", "videos:view", "videos:edit"),
			orgObj("acme", ""), memberObj("acme-alice", "acme", "user_alice"), memberObj("acme-bob", "acme", "user_bob"))
		rev := expectEnvironmentWriters(ctx, ns, "videos", 2, 1, 2, 0)

		By("a burst: memberships come, a role changes and another arrives, so the counts and the revision all move")
		for i := range 5 {
			create(ctx, ns, memberObj(fmt.Sprintf("acme-user-%d", i), "acme", fmt.Sprintf("user_%d", i)))
			if i == 2 {
				update(ctx, ns, "member", &orgrbacv1alpha1.Role{}, func(r *orgrbacv1alpha1.Role) {
					r.Spec.Permissions = append(r.Spec.Permissions, "videos:comment")
				})
				create(ctx, ns, roleObj("viewer", "videos:view"))
			}
		}
		expectEnvironmentWriters(ctx, ns, "videos", 3, 1, 7, rev)
	})

	It("takes back the fields an older operator's merge patches left to another manager", SpecTimeout(2*time.Minute), func(ctx SpecContext) {
		create(ctx, ns, envObj("videos", "member", false), roleObj("member", "videos:view"),
			orgObj("acme", ""), memberObj("acme-alice", "acme", "user_alice"))
		expectEnvironmentWriters(ctx, ns, "videos", 1, 1, 1, 0)

		// legacyWrite writes the status as the operator did before, with a
		// merge patch: the field manager "manager" (Update) owns what it changes.
		legacyWrite := func(change func(*orgrbacv1alpha1.EnvironmentStatus)) {
			GinkgoHelper()
			env := get(ctx, ns, "videos", &orgrbacv1alpha1.Environment{})
			orig := env.DeepCopy()
			change(&env.Status)
			Expect(k8s.Status().Patch(ctx, env, client.MergeFrom(orig), client.FieldOwner("manager"))).To(Succeed())
		}
		status := func(g Gomega) *orgrbacv1alpha1.Environment {
			var env orgrbacv1alpha1.Environment
			g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "videos"}, &env)).To(Succeed())
			return &env
		}

		By("the old writer sets a count: its Update takes the field")
		create(ctx, ns, memberObj("acme-bob", "acme", "user_bob"))
		Eventually(func(g Gomega) { g.Expect(status(g).Status.Memberships).To(BeEquivalentTo(2)) }).WithContext(ctx).Should(Succeed())
		legacyWrite(func(s *orgrbacv1alpha1.EnvironmentStatus) { s.Memberships = 5 })
		Eventually(func(g Gomega) {
			owners, _ := statusOwners(g, status(g))
			g.Expect(owners["f:memberships"]).To(Equal([]string{"manager"}))
		}).WithContext(ctx).Should(Succeed())

		By("the memberships go: the environment controller takes the count back and it is removed")
		for _, m := range []string{"acme-alice", "acme-bob"} {
			Expect(k8s.Delete(ctx, &orgrbacv1alpha1.Membership{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: m}})).To(Succeed())
		}
		Eventually(func(g Gomega) {
			env := status(g)
			g.Expect(env.Status.Memberships).To(BeZero(), "memberships")
			owners, _ := statusOwners(g, env)
			g.Expect(owners["f:memberships"]).To(BeEmpty())
		}).WithContext(ctx).Should(Succeed())

		By("the old writer adds a ConfigMap name; at the next publication the publisher takes the list back")
		legacyWrite(func(s *orgrbacv1alpha1.EnvironmentStatus) {
			s.PublishedConfigMaps = append(s.PublishedConfigMaps, publish.ConfigMapName+"-7")
		})
		update(ctx, ns, "member", &orgrbacv1alpha1.Role{}, func(r *orgrbacv1alpha1.Role) {
			r.Spec.Permissions = append(r.Spec.Permissions, "videos:comment")
		})
		Eventually(func(g Gomega) {
			env := status(g)
			g.Expect(env.Status.PublishedConfigMaps).To(Equal([]string{publish.ConfigMapName}), "publishedConfigMaps")
			g.Expect(env.Status.Conditions).To(HaveLen(3), "conditions")
			expectOneWriterEach(g, env, "f:memberships")
		}).WithContext(ctx).Should(Succeed())
	})

	It("refuses the publisher's apply from a stale copy, so status.revision never goes back", SpecTimeout(time.Minute), func(ctx SpecContext) {
		create(ctx, ns, envObj("videos", "member", false), roleObj("member", "videos:view"),
			orgObj("acme", ""), memberObj("acme-alice", "acme", "user_alice"))
		rev := expectEnvironmentWriters(ctx, ns, "videos", 1, 1, 1, 0)
		stale := get(ctx, ns, "videos", &orgrbacv1alpha1.Environment{})
		// A metadata change moves the resourceVersion and wakes no controller.
		update(ctx, ns, "videos", &orgrbacv1alpha1.Environment{}, func(e *orgrbacv1alpha1.Environment) {
			e.Labels = map[string]string{"touched": "true"}
		})
		back := stale.Status.DeepCopy()
		back.Revision = rev - 1
		err := publishStatusWriter.apply(ctx, k8s, stale, back, true)
		Expect(apierrors.IsConflict(err)).To(BeTrue(), "a stale apply is a Conflict, got %v", err)
		Expect(get(ctx, ns, "videos", &orgrbacv1alpha1.Environment{}).Status.Revision).To(Equal(rev))
	})
})
