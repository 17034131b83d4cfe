//go:build envtest

package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	goruntime "runtime"
	"strconv"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/publish"
)

// Security review M1: a status written by someone else than the controller is
// put back, and an equal status is never written again.
var _ = Describe("Membership status integrity", func() {
	It("puts back a forged status within seconds, then writes nothing", SpecTimeout(time.Minute), func(ctx SpecContext) {
		ns := newNamespace(ctx)
		create(ctx, ns, roleObj("member", "videos:view"), roleObj("admin", "settings:manage", "videos:delete"),
			orgObj("acme", ""), memberObj("acme-eve", "acme", "u_eve", withRoles("member")))
		isMember := func(g Gomega) *orgrbacv1alpha1.Membership {
			m := &orgrbacv1alpha1.Membership{}
			g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "acme-eve"}, m)).To(Succeed())
			g.Expect(m.Status.Roles).To(Equal([]string{"member"}))
			g.Expect(m.Status.Role).To(Equal("member"))
			g.Expect(m.Status.Permissions).To(Equal([]string{"videos:view"}))
			g.Expect(meta.IsStatusConditionTrue(m.Status.Conditions, orgrbacv1alpha1.ConditionReady)).To(BeTrue())
			return m
		}
		Eventually(isMember).WithContext(ctx).Should(Not(BeNil()))

		By("forging status.roles and permissions through the status subresource")
		m := get(ctx, ns, "acme-eve", &orgrbacv1alpha1.Membership{})
		orig := m.DeepCopy()
		m.Status.Roles, m.Status.Role = []string{"admin"}, "admin"
		m.Status.Permissions = []string{"settings:manage", "videos:delete"}
		Expect(k8s.Status().Patch(ctx, m, client.MergeFrom(orig))).To(Succeed())
		forgedAt := time.Now()

		var restored *orgrbacv1alpha1.Membership
		Eventually(func(g Gomega) { restored = isMember(g) }).WithContext(ctx).WithTimeout(5 * time.Second).Should(Succeed())
		AddReportEntry("forged Membership status put back after", time.Since(forgedAt).String())

		By("writing nothing once the status equals its resolution")
		Consistently(func(g Gomega) {
			g.Expect(get(ctx, ns, "acme-eve", &orgrbacv1alpha1.Membership{}).ResourceVersion).To(Equal(restored.ResourceVersion))
		}).WithContext(ctx).WithTimeout(3 * time.Second).Should(Succeed())
	})
})

// Security review H2, H3, L6: the published ConfigMaps belong to the publisher.
var _ = Describe("Publication integrity", func() {
	var ns string
	BeforeEach(func(ctx SpecContext) { ns = newNamespace(ctx) })

	It("repairs a main ConfigMap forged at revision MaxInt64 at the next revision", SpecTimeout(2*time.Minute), func(ctx SpecContext) {
		rev, _ := publishedSamples(ctx, ns)
		forged := samplesSnapshot(publish.MaxRevision)
		forged.Organizations[1].Members = append(forged.Organizations[1].Members,
			publish.Member{User: "user_mallory", Membership: "globex-mallory", Roles: []string{"admin"}})
		cms, err := publish.Encode(forged, 0)
		Expect(err).NotTo(HaveOccurred())
		doc := strings.Replace(cms[0].Data[publish.KeySnapshot], `"revision":`+strconv.FormatInt(publish.MaxRevision, 10),
			`"revision":`+strconv.FormatInt(math.MaxInt64, 10), 1)
		update(ctx, ns, publish.ConfigMapName, &corev1.ConfigMap{}, func(cm *corev1.ConfigMap) {
			cm.Data = map[string]string{publish.KeySnapshot: doc}
			cm.Annotations[publish.AnnotationRevision] = strconv.FormatInt(math.MaxInt64, 10)
			cm.Annotations[publish.AnnotationContentHash] = "sha256:forged"
		})
		repaired, cms2 := published(ctx, ns, func(g Gomega, s *publish.Snapshot) {
			g.Expect(s).To(Equal(samplesSnapshot(s.Revision)))
		})
		Expect(repaired.Revision).To(Equal(rev + 1))
		Expect(revisionOf(cms2[publish.ConfigMapName])).To(Equal(rev + 1))
		Eventually(func(g Gomega) {
			env := get(ctx, ns, "videos", &orgrbacv1alpha1.Environment{})
			g.Expect(env.Status.Revision).To(Equal(rev + 1))
			g.Expect(env.Status.Conditions).To(ContainElement(And(
				HaveField("Type", orgrbacv1alpha1.ConditionPublished), HaveField("Status", metav1.ConditionTrue),
				HaveField("Reason", orgrbacv1alpha1.ReasonPublished))))
		}).WithContext(ctx).Should(Succeed())
	})

	It("does not adopt an unlabelled orgrbac-permissions ConfigMap: a ConfigMapConflict condition instead", SpecTimeout(2*time.Minute), func(ctx SpecContext) {
		foreign := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: publish.ConfigMapName, Namespace: ns,
			Labels: map[string]string{"app": "someone-else"}}, Data: map[string]string{"config.yaml": "mine: true"}}
		Expect(k8s.Create(ctx, foreign)).To(Succeed())
		applySamples(ns)
		Eventually(func(g Gomega) {
			env := get(ctx, ns, "videos", &orgrbacv1alpha1.Environment{})
			c := meta.FindStatusCondition(env.Status.Conditions, orgrbacv1alpha1.ConditionPublished)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(c.Reason).To(Equal(orgrbacv1alpha1.ReasonConfigMapConflict))
			g.Expect(c.Message).To(ContainSubstring(publish.ConfigMapName))
		}).WithContext(ctx).Should(Succeed())
		Consistently(func(g Gomega) {
			cm := get(ctx, ns, publish.ConfigMapName, &corev1.ConfigMap{})
			g.Expect(cm.Data).To(Equal(foreign.Data))
			g.Expect(cm.Labels).To(Equal(foreign.Labels))
			g.Expect(cm.OwnerReferences).To(BeEmpty())
			g.Expect(cm.ResourceVersion).To(Equal(foreign.ResourceVersion))
		}).WithContext(ctx).WithTimeout(3 * time.Second).Should(Succeed())
	})

	It("caches no data of the labelled ConfigMaps anyone plants", Serial, SpecTimeout(2*time.Minute), func(ctx SpecContext) {
		c, err := newPublishedCache(cfg, cache.Options{Scheme: scheme})
		Expect(err).NotTo(HaveOccurred())
		cctx, cancel := context.WithCancel(ctx)
		DeferCleanup(cancel)
		go func() { _ = c.Start(cctx) }()
		Expect(c.WaitForCacheSync(ctx)).To(BeTrue())
		list := func(g Gomega) []metav1.PartialObjectMetadata {
			l := &metav1.PartialObjectMetadataList{}
			l.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("ConfigMapList"))
			g.Expect(c.List(ctx, l, client.InNamespace(ns))).To(Succeed())
			return l.Items
		}
		Eventually(list).WithContext(ctx).Should(BeEmpty()) // starts the metadata informer

		goruntime.GC()
		var before goruntime.MemStats
		goruntime.ReadMemStats(&before)
		const n = 40
		data := strings.Repeat("x", 700<<10)
		padding := strings.Repeat("y", 100<<10)
		planted := 0
		for i := range n {
			name := fmt.Sprintf("planted-%02d", i)
			if i%4 == 0 {
				name = fmt.Sprintf("orgrbac-permissions-%d", 100+i) // look-alike names too
			}
			Expect(k8s.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns,
				Labels:      map[string]string{publish.LabelPublished: "true"},
				Annotations: map[string]string{publish.AnnotationRevision: "9223372036854775807", "padding": padding}},
				Data: map[string]string{"snapshot.json": data}})).To(Succeed())
			planted += len(data) + len(padding)
		}
		// The look-alikes may already be gone: in a namespace with no orgrbac
		// object, the publisher deletes labelled ConfigMaps with its names.
		Eventually(func(g Gomega) {
			g.Expect(list(g)).To(HaveEach(HaveField("Name", Not(BeEmpty()))))
			planted := 0
			for _, m := range list(g) {
				if strings.HasPrefix(m.Name, "planted-") {
					planted++
				}
			}
			g.Expect(planted).To(Equal(n - n/4))
		}).WithContext(ctx).Should(Succeed())
		for _, m := range list(Default) {
			b, err := json.Marshal(m)
			Expect(err).NotTo(HaveOccurred())
			Expect(len(b)).To(BeNumerically("<", 1024), m.Name)
			Expect(m.Annotations).NotTo(HaveKey("padding"))
		}
		goruntime.GC()
		var after goruntime.MemStats
		goruntime.ReadMemStats(&after)
		grown := int64(after.HeapAlloc) - int64(before.HeapAlloc)
		AddReportEntry("heap growth for planted ConfigMaps", fmt.Sprintf("%d KiB for %d KiB planted", grown>>10, planted>>10))
		Expect(grown).To(BeNumerically("<", planted/4), "the heap grew by %d bytes for %d bytes planted", grown, planted)
	})
})
