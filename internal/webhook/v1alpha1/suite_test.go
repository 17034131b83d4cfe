//go:build envtest

package v1alpha1_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/controller"
	"github.com/orgrbac/orgrbac/internal/testenv"
	"github.com/orgrbac/orgrbac/internal/testobj"
	webhookv1alpha1 "github.com/orgrbac/orgrbac/internal/webhook/v1alpha1"
)

var (
	// k8s is a client whose admission warnings land in warned.
	k8s    client.Client
	warned = &warningRecorder{}
)

func TestWebhooks(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Webhook suite")
}

// warningRecorder keeps the warnings the API server returned.
type warningRecorder struct {
	mu   sync.Mutex
	msgs []string
}

// HandleWarningHeader records a warning.
func (w *warningRecorder) HandleWarningHeader(_ int, _, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = append(w.msgs, text)
}

// take returns the warnings recorded since the last call.
func (w *warningRecorder) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.msgs
	w.msgs = nil
	return out
}

var _ = BeforeSuite(func(ctx SpecContext) {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	SetDefaultEventuallyTimeout(30 * time.Second)
	SetDefaultEventuallyPollingInterval(100 * time.Millisecond)

	env, err := testenv.Start(testenv.Options{Webhooks: true})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(env.Stop)

	wcfg := rest.CopyConfig(env.Config)
	wcfg.WarningHandler = warned
	k8s, err = client.New(wcfg, client.Options{Scheme: env.Scheme})
	Expect(err).NotTo(HaveOccurred())

	mgr, err := ctrl.NewManager(env.Config, env.ManagerOptions())
	Expect(err).NotTo(HaveOccurred())
	mctx, cancel := context.WithCancel(context.Background())
	Expect(controller.Setup(mctx, mgr, controller.Options{MaxConcurrentReconciles: 2})).To(Succeed())
	Expect(webhookv1alpha1.Setup(mgr)).To(Succeed())
	stop := testenv.StartManager(mctx, mgr)
	DeferCleanup(func() {
		cancel()
		Expect(stop()).To(Succeed(), "the manager stopped")
	})

	// The webhook server's certificate, verified with the CA envtest made for it.
	Eventually(env.DialWebhookServer).WithContext(ctx).Should(Succeed(), "the webhook server listens")
}, NodeTimeout(3*time.Minute))

// newNamespace creates a namespace (an environment) for one spec.
func newNamespace(ctx context.Context) string {
	GinkgoHelper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "env-"}}
	Expect(k8s.Create(ctx, ns)).To(Succeed())
	return ns.Name
}

// create creates objects in order, in namespace ns, and expects no warning.
func create(ctx context.Context, ns string, objs ...client.Object) {
	GinkgoHelper()
	for _, o := range objs {
		o.SetNamespace(ns)
		Expect(k8s.Create(ctx, o)).To(Succeed(), "creating %T %s", o, o.GetName())
	}
	warned.take()
}

// get reads an object of ns.
func get[T client.Object](ctx context.Context, ns, name string, obj T) T {
	GinkgoHelper()
	Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, obj)).To(Succeed())
	return obj
}

// admitted is what the API server answered to a request: its error and warnings.
type admitted struct {
	err      error
	warnings []string
}

// dryRun runs op with the client's warnings captured.
func dryRun(op func() error) admitted {
	warned.take()
	err := op()
	return admitted{err: err, warnings: warned.take()}
}

// waitAdmission retries a dry-run request until its answer matches; the webhooks
// read a cache that follows the API server closely, not instantly.
func waitAdmission(ctx context.Context, op func() error, match func(Gomega, admitted)) {
	GinkgoHelper()
	Eventually(func(g Gomega) { match(g, dryRun(op)) }).WithContext(ctx).Should(Succeed())
}

var (
	envObj     = testobj.Environment
	roleObj    = testobj.Role
	orgObj     = testobj.Organization
	orgRoleObj = testobj.OrganizationRole
	mappingObj = testobj.GroupMapping
)

// memberObj is a Membership with hand-assigned roles.
func memberObj(name, org, user string, roles ...string) *orgrbacv1alpha1.Membership {
	return testobj.Membership(name, org, user, testobj.WithRoles(roles...))
}

func permissionObj(slug string) *orgrbacv1alpha1.Permission {
	p := &orgrbacv1alpha1.Permission{ObjectMeta: metav1.ObjectMeta{GenerateName: "perm-"}}
	p.Spec.Slug = slug
	return p
}

// annotate sets the replacement-role annotation of a role.
func annotate(ctx context.Context, obj client.Object, repl string) {
	GinkgoHelper()
	Eventually(func() error {
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
			return err
		}
		a := obj.GetAnnotations()
		if a == nil {
			a = map[string]string{}
		}
		a[orgrbacv1alpha1.AnnotationReplacementRole] = repl
		obj.SetAnnotations(a)
		return k8s.Update(ctx, obj)
	}).WithContext(ctx).Should(Succeed(), fmt.Sprintf("annotating %s", obj.GetName()))
}
