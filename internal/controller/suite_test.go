//go:build envtest

package controller

import (
	"context"
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/testenv"
	"github.com/orgrbac/orgrbac/internal/testobj"
)

var (
	env    *testenv.Env
	cfg    *rest.Config
	k8s    client.Client
	scheme *runtime.Scheme
	// stopManager stops the running manager and waits for it to exit.
	stopManager func()
)

func TestControllers(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Controller suite")
}

var _ = BeforeSuite(func(_ SpecContext) {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	EnforceDefaultTimeoutsWhenUsingContexts()
	SetDefaultEventuallyTimeout(30 * time.Second)
	SetDefaultEventuallyPollingInterval(100 * time.Millisecond)

	var err error
	env, err = testenv.Start(testenv.Options{})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(env.Stop)
	cfg, k8s, scheme = env.Config, env.Client, env.Scheme
	stopManager = startManager()
	DeferCleanup(func() { stopManager() })
}, NodeTimeout(3*time.Minute))

// startManager starts a manager running every controller, as cmd/main.go does,
// and returns a function that stops it.
func startManager() func() {
	GinkgoHelper()
	return startManagerWith(Options{MaxConcurrentReconciles: 4})
}

// startManagerWith starts a manager with the given controller options.
func startManagerWith(opts Options) func() {
	GinkgoHelper()
	mgr, err := ctrl.NewManager(cfg, env.ManagerOptions())
	Expect(err).NotTo(HaveOccurred())
	ctx, cancel := context.WithCancel(context.Background())
	Expect(Setup(ctx, mgr, opts)).To(Succeed())
	stop := testenv.StartManager(ctx, mgr)
	return func() {
		cancel()
		Expect(stop()).To(Succeed(), "the manager stopped")
	}
}

// newNamespace creates a namespace (an environment) for one spec.
func newNamespace(ctx context.Context) string {
	GinkgoHelper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "env-"}}
	Expect(k8s.Create(ctx, ns)).To(Succeed())
	return ns.Name
}

// create creates objects in order, in namespace ns.
func create(ctx context.Context, ns string, objs ...client.Object) {
	GinkgoHelper()
	for _, o := range objs {
		o.SetNamespace(ns)
		Expect(k8s.Create(ctx, o)).To(Succeed(), "creating %T %s", o, o.GetName())
	}
}

// Object builders.

var (
	envObj        = testobj.Environment
	roleObj       = testobj.Role
	orgObj        = testobj.Organization
	orgRoleObj    = testobj.OrganizationRole
	mappingObj    = testobj.GroupMapping
	memberObj     = testobj.Membership
	withRoles     = testobj.WithRoles
	withDirectory = testobj.WithDirectory
	withSSO       = testobj.WithSSO
	withState     = testobj.WithState
)

// resolved is what a membership's status should say.
type resolved struct {
	role, source, reason string
	roles, permissions   []string
}

// expectMembership waits until the membership's status says want.
func expectMembership(ctx context.Context, ns, name string, want resolved) {
	GinkgoHelper()
	Eventually(func(g Gomega) {
		var m orgrbacv1alpha1.Membership
		g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &m)).To(Succeed())
		g.Expect(m.Status.ObservedGeneration).To(Equal(m.Generation), "observedGeneration")
		g.Expect(m.Status.Role).To(Equal(want.role), "role")
		g.Expect(string(m.Status.Source)).To(Equal(want.source), "source")
		g.Expect(m.Status.Roles).To(Equal(want.roles), "roles")
		g.Expect(m.Status.Permissions).To(Equal(want.permissions), "permissions")
		reason := want.reason
		if reason == "" {
			reason = orgrbacv1alpha1.ReasonResolved
		}
		g.Expect(m.Status.Conditions).To(ContainElement(And(
			HaveField("Type", orgrbacv1alpha1.ConditionReady),
			HaveField("Reason", reason))), "Ready condition")
	}).WithContext(ctx).Should(Succeed(), "membership %s/%s", ns, name)
}

// get reads an object of ns.
func get[T client.Object](ctx context.Context, ns, name string, obj T) T {
	GinkgoHelper()
	Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, obj)).To(Succeed())
	return obj
}

// update re-reads an object and applies change to it until the update succeeds.
func update[T client.Object](ctx context.Context, ns, name string, obj T, change func(T)) {
	GinkgoHelper()
	Eventually(func() error {
		if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, obj); err != nil {
			return err
		}
		change(obj)
		return k8s.Update(ctx, obj)
	}).WithContext(ctx).Should(Succeed(), fmt.Sprintf("updating %s", name))
}
