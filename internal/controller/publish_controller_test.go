//go:build envtest

package controller

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/publish"
	"github.com/orgrbac/orgrbac/pkg/authz"
)

// publishedConfigMaps lists the published ConfigMaps of ns from the API server.
func publishedConfigMaps(ctx context.Context, g Gomega, ns string) map[string]*corev1.ConfigMap {
	var list corev1.ConfigMapList
	g.Expect(k8s.List(ctx, &list, client.InNamespace(ns), client.MatchingLabels{publish.LabelPublished: "true"})).To(Succeed())
	out := map[string]*corev1.ConfigMap{}
	for i := range list.Items {
		out[list.Items[i].Name] = &list.Items[i]
	}
	return out
}

// filesOf flattens ConfigMaps into the files of one mounted directory.
func filesOf(cms map[string]*corev1.ConfigMap) map[string][]byte {
	files := map[string][]byte{}
	for _, cm := range cms {
		for k, v := range cm.Data {
			files[k] = []byte(v)
		}
	}
	return files
}

// published waits until ns's published snapshot decodes and satisfies check,
// and returns it with its ConfigMaps.
func published(ctx context.Context, ns string, check func(g Gomega, s *publish.Snapshot)) (*publish.Snapshot, map[string]*corev1.ConfigMap) {
	GinkgoHelper()
	var snap *publish.Snapshot
	var cms map[string]*corev1.ConfigMap
	Eventually(func(g Gomega) {
		cms = publishedConfigMaps(ctx, g, ns)
		var err error
		snap, err = publish.Decode(filesOf(cms))
		g.Expect(err).NotTo(HaveOccurred())
		check(g, snap)
	}).WithContext(ctx).Should(Succeed(), "the snapshot published in %s", ns)
	return snap, cms
}

func revisionOf(cm *corev1.ConfigMap) int64 {
	rev, err := strconv.ParseInt(cm.Annotations[publish.AnnotationRevision], 10, 64)
	Expect(err).NotTo(HaveOccurred())
	return rev
}

// samplesSnapshot is what the samples publish: every role, and the active
// members of acme and globex (erin is inactive).
func samplesSnapshot(rev int64) *publish.Snapshot {
	env, org := publish.RoleTypeEnvironment, publish.RoleTypeOrganization
	return &publish.Snapshot{
		Revision: rev,
		Roles: []publish.Role{
			{Slug: "admin", Type: env, Permissions: []string{"settings:manage", "users:invite", "videos:create", "videos:delete", "videos:edit", "videos:view"}},
			{Slug: "editor", Type: env, Permissions: []string{"videos:create", "videos:edit", "videos:view"}},
			{Slug: "member", Type: env, Permissions: []string{"users:invite", "videos:view"}},
			{Slug: "viewer", Type: env, Permissions: []string{"videos:view"}},
			{Slug: "org-video-producer", Type: org, Organization: "acme", Permissions: []string{"videos:create", "videos:edit", "videos:view"}},
		},
		Organizations: []publish.Organization{
			{Name: "acme", ExternalID: "org_01HACME0000000000000000000", Members: []publish.Member{
				{User: "user_alice", Membership: "acme-alice", Roles: []string{"admin"}},
				{User: "user_bob", Membership: "acme-bob", Roles: []string{"org-video-producer"}},
				{User: "user_carol", Membership: "acme-carol", Roles: []string{"editor"}},
				{User: "user_dave", Membership: "acme-dave", Roles: []string{"viewer"}},
			}},
			{Name: "globex", ExternalID: "org_01HGLOBEX00000000000000000", Members: []publish.Member{
				{User: "user_frank", Membership: "globex-frank", Roles: []string{"member"}},
				{User: "user_grace", Membership: "globex-grace", Roles: []string{"editor"}},
			}},
		},
	}
}

// publishedSamples applies the samples to ns and waits for their snapshot.
func publishedSamples(ctx context.Context, ns string) (int64, map[string]*corev1.ConfigMap) {
	GinkgoHelper()
	applySamples(ns)
	snap, cms := published(ctx, ns, func(g Gomega, s *publish.Snapshot) {
		g.Expect(s).To(Equal(samplesSnapshot(s.Revision)))
	})
	return snap.Revision, cms
}

// restartManager stops the running manager and starts one with opts; the
// suite's manager comes back when the spec ends.
func restartManager(opts Options) {
	GinkgoHelper()
	stopManager()
	stopManager = startManagerWith(opts)
	DeferCleanup(func() {
		stopManager()
		stopManager = startManager()
	})
}

// setStatusRevision writes an Environment's status.revision by hand.
func setStatusRevision(ctx context.Context, ns, name string, rev int64) {
	GinkgoHelper()
	Eventually(func() error {
		env := &orgrbacv1alpha1.Environment{}
		if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, env); err != nil {
			return err
		}
		orig := env.DeepCopy()
		env.Status.Revision = rev
		return k8s.Status().Patch(ctx, env, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{}))
	}).WithContext(ctx).Should(Succeed())
}

var _ = Describe("Publishing", func() {
	var ns string
	BeforeEach(func(ctx SpecContext) { ns = newNamespace(ctx) })

	It("publishes the samples with only active members, owned by the Environment, and writes nothing when idle", SpecTimeout(2*time.Minute), func(ctx SpecContext) {
		rev, cms := publishedSamples(ctx, ns)
		Expect(cms).To(HaveLen(1))
		cm := cms[publish.ConfigMapName]
		Expect(cm.Data).To(HaveKey(publish.KeySnapshot))
		Expect(revisionOf(cm)).To(Equal(rev))
		hash, err := publish.ContentHash(samplesSnapshot(0))
		Expect(err).NotTo(HaveOccurred())
		Expect(cm.Annotations).To(HaveKeyWithValue(publish.AnnotationContentHash, hash))
		env := get(ctx, ns, "videos", &orgrbacv1alpha1.Environment{})
		Expect(cm.OwnerReferences).To(ConsistOf(And(
			HaveField("Kind", "Environment"), HaveField("Name", "videos"), HaveField("UID", env.UID),
			HaveField("Controller", HaveValue(BeTrue())))))
		Eventually(func(g Gomega) {
			env := get(ctx, ns, "videos", &orgrbacv1alpha1.Environment{})
			g.Expect(env.Status.Revision).To(Equal(rev))
			g.Expect(env.Status.PublishedConfigMaps).To(Equal([]string{publish.ConfigMapName}))
			g.Expect(env.Status.Memberships).To(BeEquivalentTo(7))
		}).WithContext(ctx).Should(Succeed())

		By("writing nothing while nothing changes")
		rv := cm.ResourceVersion
		Consistently(func(g Gomega) {
			g.Expect(publishedConfigMaps(ctx, g, ns)[publish.ConfigMapName].ResourceVersion).To(Equal(rv))
		}).WithContext(ctx).WithTimeout(3 * time.Second).Should(Succeed())

		By("writing nothing for a change that publishes nothing new, while the Environment's counts keep the revision")
		create(ctx, ns, memberObj("acme-ivan", "acme", "user_ivan", withRoles("admin"), withState(orgrbacv1alpha1.MembershipInactive)))
		Eventually(func(g Gomega) {
			env := get(ctx, ns, "videos", &orgrbacv1alpha1.Environment{})
			g.Expect(env.Status.Memberships).To(BeEquivalentTo(8))
			g.Expect(env.Status.Revision).To(Equal(rev))
			g.Expect(env.Status.PublishedConfigMaps).To(Equal([]string{publish.ConfigMapName}))
		}).WithContext(ctx).Should(Succeed())
		expectMembership(ctx, ns, "acme-ivan", resolved{role: "admin", source: "Manual", roles: []string{"admin"}})
		Consistently(func(g Gomega) {
			g.Expect(publishedConfigMaps(ctx, g, ns)[publish.ConfigMapName].ResourceVersion).To(Equal(rv))
		}).WithContext(ctx).WithTimeout(2 * time.Second).Should(Succeed())
	})

	It("republishes a role's permission change at a higher revision", SpecTimeout(2*time.Minute), func(ctx SpecContext) {
		rev, _ := publishedSamples(ctx, ns)
		update(ctx, ns, "viewer", &orgrbacv1alpha1.Role{}, func(r *orgrbacv1alpha1.Role) {
			r.Spec.Permissions = append(r.Spec.Permissions, "videos:comment")
		})
		want := samplesSnapshot(0)
		want.Roles[3].Permissions = []string{"videos:comment", "videos:view"}
		snap, cms := published(ctx, ns, func(g Gomega, s *publish.Snapshot) {
			g.Expect(s.Roles).To(Equal(want.Roles))
		})
		Expect(snap.Revision).To(BeNumerically(">", rev))
		Expect(revisionOf(cms[publish.ConfigMapName])).To(Equal(snap.Revision))
		Eventually(func(g Gomega) {
			g.Expect(get(ctx, ns, "videos", &orgrbacv1alpha1.Environment{}).Status.Revision).To(Equal(snap.Revision))
		}).WithContext(ctx).Should(Succeed())

		By("dropping a member who becomes inactive")
		update(ctx, ns, "acme-carol", &orgrbacv1alpha1.Membership{}, func(m *orgrbacv1alpha1.Membership) {
			m.Spec.State = orgrbacv1alpha1.MembershipInactive
		})
		after, _ := published(ctx, ns, func(g Gomega, s *publish.Snapshot) {
			g.Expect(s.Organizations[0].Members).NotTo(ContainElement(HaveField("User", "user_carol")))
		})
		Expect(after.Revision).To(BeNumerically(">", snap.Revision))
	})

	It("restores hand-edited and hand-deleted ConfigMaps", SpecTimeout(2*time.Minute), func(ctx SpecContext) {
		rev, cms := publishedSamples(ctx, ns)
		original := cms[publish.ConfigMapName].Data[publish.KeySnapshot]

		By("restoring edited data at the same revision: the content did not change")
		update(ctx, ns, publish.ConfigMapName, &corev1.ConfigMap{}, func(cm *corev1.ConfigMap) {
			cm.Data[publish.KeySnapshot] = `{"format":"orgrbac.dev/snapshot/v1","revision":999}`
			cm.Data["extra.json"] = "{}"
		})
		Eventually(func(g Gomega) {
			cm := publishedConfigMaps(ctx, g, ns)[publish.ConfigMapName]
			g.Expect(cm).NotTo(BeNil())
			g.Expect(cm.Data).To(Equal(map[string]string{publish.KeySnapshot: original}))
		}).WithContext(ctx).Should(Succeed())

		By("restoring a ConfigMap whose label was removed")
		update(ctx, ns, publish.ConfigMapName, &corev1.ConfigMap{}, func(cm *corev1.ConfigMap) {
			delete(cm.Labels, publish.LabelPublished)
			cm.Data[publish.KeySnapshot] = "{}"
		})
		relabelled, _ := published(ctx, ns, func(g Gomega, s *publish.Snapshot) {
			g.Expect(s.Revision).To(BeNumerically(">", rev))
			g.Expect(s).To(Equal(samplesSnapshot(s.Revision)))
		})

		By("recreating a deleted ConfigMap at a higher revision")
		Expect(k8s.Delete(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: publish.ConfigMapName}})).To(Succeed())
		recreated, cms := published(ctx, ns, func(g Gomega, s *publish.Snapshot) {
			g.Expect(s.Revision).To(BeNumerically(">", relabelled.Revision))
			g.Expect(s).To(Equal(samplesSnapshot(s.Revision)))
		})
		Expect(cms[publish.ConfigMapName].OwnerReferences).To(HaveLen(1))
		Eventually(func(g Gomega) {
			g.Expect(get(ctx, ns, "videos", &orgrbacv1alpha1.Environment{}).Status.Revision).To(Equal(recreated.Revision))
		}).WithContext(ctx).Should(Succeed())
	})

	It("publishes a namespace without an Environment, and gives the ConfigMaps an owner when one appears", SpecTimeout(2*time.Minute), func(ctx SpecContext) {
		create(ctx, ns, roleObj("member", "videos:view"), orgObj("acme", ""),
			memberObj("acme-alice", "acme", "user_alice"))
		snap, cms := published(ctx, ns, func(g Gomega, s *publish.Snapshot) {
			g.Expect(s.Organizations).To(Equal([]publish.Organization{{Name: "acme", Members: []publish.Member{
				{User: "user_alice", Membership: "acme-alice", Roles: []string{"member"}}}}}))
		})
		Expect(cms[publish.ConfigMapName].OwnerReferences).To(BeEmpty())

		create(ctx, ns, envObj("env", "", false))
		Eventually(func(g Gomega) {
			env := get(ctx, ns, "env", &orgrbacv1alpha1.Environment{})
			cm := publishedConfigMaps(ctx, g, ns)[publish.ConfigMapName]
			g.Expect(cm.OwnerReferences).To(ConsistOf(HaveField("UID", env.UID)))
			g.Expect(revisionOf(cm)).To(Equal(snap.Revision), "the content did not change")
			g.Expect(env.Status.Revision).To(Equal(snap.Revision))
			g.Expect(env.Status.PublishedConfigMaps).To(Equal([]string{publish.ConfigMapName}))
		}).WithContext(ctx).Should(Succeed())
	})

	It("coalesces a burst of membership changes into a handful of writes", SpecTimeout(3*time.Minute), func(ctx SpecContext) {
		create(ctx, ns, roleObj("member", "videos:view"), orgObj("acme", ""))
		published(ctx, ns, func(g Gomega, s *publish.Snapshot) { g.Expect(s.Organizations).To(HaveLen(1)) })

		wc, err := client.NewWithWatch(cfg, client.Options{Scheme: scheme})
		Expect(err).NotTo(HaveOccurred())
		w, err := wc.Watch(ctx, &corev1.ConfigMapList{}, client.InNamespace(ns))
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(w.Stop)
		var writes atomic.Int32
		go func() {
			for e := range w.ResultChan() {
				if cm, ok := e.Object.(*corev1.ConfigMap); ok && cm.Name == publish.ConfigMapName &&
					(e.Type == watch.Modified || e.Type == watch.Added) {
					writes.Add(1)
				}
			}
		}()

		const n = 300
		for i := range n {
			create(ctx, ns, memberObj(fmt.Sprintf("acme-%03d", i), "acme", fmt.Sprintf("user_%03d", i)))
		}
		published(ctx, ns, func(g Gomega, s *publish.Snapshot) { g.Expect(s.Organizations[0].Members).To(HaveLen(n)) })
		// n creations and n status writes.
		AddReportEntry("published ConfigMap writes for 300 memberships", writes.Load())
		Expect(writes.Load()).To(BeNumerically("<=", 15))
	})

	It("splits a large environment into shards that the library reads whole, and deletes surplus shards", Serial, SpecTimeout(3*time.Minute), func(ctx SpecContext) {
		restartManager(Options{MaxConcurrentReconciles: 4, PublishMaxBytes: 4096})
		objs := []client.Object{envObj("env", "member", true), orgObj("acme", "")}
		for r := range 20 {
			perms := make([]string, 30)
			for p := range perms {
				perms[p] = fmt.Sprintf("resource%02d:action%02d", r, p)
			}
			slug := fmt.Sprintf("role-%02d", r)
			if r == 0 {
				slug = "member"
			}
			objs = append(objs, roleObj(slug, perms...))
		}
		for m := range 40 {
			objs = append(objs, memberObj(fmt.Sprintf("acme-%02d", m), "acme", fmt.Sprintf("user_%02d", m),
				withRoles(fmt.Sprintf("role-%02d", 1+m%19), "member")))
		}
		create(ctx, ns, objs...)

		snap, cms := published(ctx, ns, func(g Gomega, s *publish.Snapshot) {
			g.Expect(s.Roles).To(HaveLen(20))
			g.Expect(s.Organizations[0].Members).To(HaveLen(40))
			for _, m := range s.Organizations[0].Members {
				g.Expect(m.Roles).To(HaveLen(2))
			}
		})
		Expect(len(cms)).To(BeNumerically(">=", 4), "a ConfigMap per 4 KiB")
		Expect(cms[publish.ConfigMapName].Data).To(HaveKey(publish.KeyIndex))
		names := make([]string, 0, len(cms))
		for name, cm := range cms {
			names = append(names, name)
			size := 0
			for k, v := range cm.Data {
				size += len(k) + len(v)
			}
			Expect(size).To(BeNumerically("<=", 4096), name)
			Expect(revisionOf(cm)).To(Equal(snap.Revision), name)
			Expect(cm.OwnerReferences).To(HaveLen(1), name)
		}
		slices.Sort(names)
		Eventually(func(g Gomega) {
			g.Expect(get(ctx, ns, "env", &orgrbacv1alpha1.Environment{}).Status.PublishedConfigMaps).To(Equal(names))
		}).WithContext(ctx).Should(Succeed())

		By("reading every shard from one mounted directory with the library")
		dir := GinkgoT().TempDir()
		for k, v := range filesOf(cms) {
			Expect(os.WriteFile(filepath.Join(dir, k), v, 0o600)).To(Succeed())
		}
		src := authz.NewFileSource(dir, authz.FileSourceOptions{})
		Expect(src.Reload()).To(Succeed())
		Expect(src.Revision()).To(Equal(snap.Revision))
		Expect(src.Allowed("acme", "user_05", "resource06:action29")).To(BeTrue())
		Expect(src.Allowed("acme", "user_05", "resource00:action00")).To(BeTrue(), "from member")
		Expect(src.Allowed("acme", "user_05", "resource07:action00")).To(BeFalse())

		By("deleting the surplus shards when the snapshot shrinks")
		for r := 10; r < 20; r++ {
			update(ctx, ns, fmt.Sprintf("role-%02d", r), &orgrbacv1alpha1.Role{}, func(role *orgrbacv1alpha1.Role) {
				role.Spec.Permissions = role.Spec.Permissions[:1]
			})
		}
		smaller, fewer := published(ctx, ns, func(g Gomega, s *publish.Snapshot) {
			g.Expect(s.Roles[len(s.Roles)-1].Permissions).To(HaveLen(1))
		})
		Expect(smaller.Revision).To(BeNumerically(">", snap.Revision))
		// fewer may still list surplus shards of the old revision, about to go.
		current := 0
		for _, cm := range fewer {
			if revisionOf(cm) == smaller.Revision {
				current++
			}
		}
		Eventually(func(g Gomega) {
			now := publishedConfigMaps(ctx, g, ns)
			g.Expect(len(now)).To(BeNumerically("<", len(cms)))
			g.Expect(now).To(HaveLen(current))
			env := get(ctx, ns, "env", &orgrbacv1alpha1.Environment{})
			g.Expect(env.Status.PublishedConfigMaps).To(HaveLen(len(now)))
			g.Expect(env.Status.Revision).To(Equal(smaller.Revision))
		}).WithContext(ctx).Should(Succeed())
	})

	It("keeps the revision growing across restarts, from the Environment's status or the ConfigMaps", Serial, SpecTimeout(3*time.Minute), func(ctx SpecContext) {
		rev, _ := publishedSamples(ctx, ns)

		By("continuing from the Environment's status when it is ahead")
		setStatusRevision(ctx, ns, "videos", rev+50)
		restartManager(Options{MaxConcurrentReconciles: 4})
		Eventually(func(g Gomega) {
			g.Expect(revisionOf(publishedConfigMaps(ctx, g, ns)[publish.ConfigMapName])).To(Equal(rev + 51))
			g.Expect(get(ctx, ns, "videos", &orgrbacv1alpha1.Environment{}).Status.Revision).To(Equal(rev + 51))
		}).WithContext(ctx).Should(Succeed())

		By("continuing from the ConfigMaps when the Environment's status is behind")
		setStatusRevision(ctx, ns, "videos", 1)
		stopManager()
		stopManager = startManagerWith(Options{MaxConcurrentReconciles: 4})
		Eventually(func(g Gomega) {
			g.Expect(get(ctx, ns, "videos", &orgrbacv1alpha1.Environment{}).Status.Revision).To(Equal(rev + 51))
		}).WithContext(ctx).Should(Succeed())
		update(ctx, ns, "viewer", &orgrbacv1alpha1.Role{}, func(r *orgrbacv1alpha1.Role) {
			r.Spec.Permissions = append(r.Spec.Permissions, "videos:comment")
		})
		published(ctx, ns, func(g Gomega, s *publish.Snapshot) { g.Expect(s.Revision).To(Equal(rev + 52)) })
	})
})
