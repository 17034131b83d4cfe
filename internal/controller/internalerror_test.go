//go:build envtest

package controller

import (
	"context"
	"errors"
	"sync/atomic"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/index"
	"github.com/orgrbac/orgrbac/internal/testenv"
)

// failingLists is a client whose List fails while failing is set, as the cache
// does when it is not synced or an index is missing.
type failingLists struct {
	client.Client
	failing *atomic.Bool
}

func (c failingLists) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	if c.failing.Load() {
		return errors.New("injected failure: the cache cannot list")
	}
	return c.Client.List(ctx, list, opts...)
}

var _ = Describe("Internal errors reach a condition", Serial, func() {
	It("shows a Role whose inputs cannot be read as Ready=Unknown, InternalError, and Ready again once they can", func(ctx SpecContext) {
		ns := newNamespace(ctx)

		By("running the Role controller alone, on a client whose List fails")
		// The suite's manager would write the Role's status too: only the
		// controller under test runs during this spec.
		stopManager()
		DeferCleanup(func() { stopManager = startManager() })
		var failing atomic.Bool
		failing.Store(true)
		mgr, err := ctrl.NewManager(cfg, env.ManagerOptions())
		Expect(err).NotTo(HaveOccurred())
		Expect(index.Setup(ctx, mgr.GetFieldIndexer())).To(Succeed())
		r := &RoleReconciler{Client: failingLists{Client: mgr.GetClient(), failing: &failing}, Clock: clock.RealClock{}}
		Expect(r.SetupWithManager(mgr, controller.Options{MaxConcurrentReconciles: 1})).To(Succeed())
		stop := testenv.StartManager(context.Background(), mgr)
		DeferCleanup(func() { Expect(stop()).To(Succeed(), "the manager stopped") })

		create(ctx, ns, roleObj("admin", "settings:manage"))
		Eventually(func(g Gomega) {
			var role orgrbacv1alpha1.Role
			g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "admin"}, &role)).To(Succeed())
			ready := meta.FindStatusCondition(role.Status.Conditions, orgrbacv1alpha1.ConditionReady)
			g.Expect(ready).NotTo(BeNil())
			g.Expect(ready.Status).To(Equal(metav1.ConditionUnknown))
			g.Expect(ready.Reason).To(Equal(orgrbacv1alpha1.ReasonInternalError))
			g.Expect(ready.Message).To(Equal(internalErrorMessage), "a stable message, without the error's text")
			g.Expect(ready.ObservedGeneration).To(Equal(role.Generation))
		}).WithContext(ctx).Should(Succeed())

		By("letting List succeed: the retry puts Ready back")
		failing.Store(false)
		Eventually(func(g Gomega) {
			var role orgrbacv1alpha1.Role
			g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "admin"}, &role)).To(Succeed())
			g.Expect(role.Status.ObservedGeneration).To(Equal(role.Generation))
			g.Expect(role.Status.Slug).To(Equal("admin"))
			ready := meta.FindStatusCondition(role.Status.Conditions, orgrbacv1alpha1.ConditionReady)
			g.Expect(ready).NotTo(BeNil())
			g.Expect(ready.Status).To(Equal(metav1.ConditionTrue))
			g.Expect(ready.Reason).To(Equal(orgrbacv1alpha1.ReasonResolved))
		}).WithContext(ctx).Should(Succeed())
	})
})
