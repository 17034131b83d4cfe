package v1alpha1_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/controller"
	"github.com/orgrbac/orgrbac/internal/slim"
	"github.com/orgrbac/orgrbac/internal/testobj"
)

var (
	testEnv *envtest.Environment
	scheme  = runtime.NewScheme()
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
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(orgrbacv1alpha1.AddToScheme(scheme))

	testEnv = &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join("..", "..", "..", "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		WebhookInstallOptions: envtest.WebhookInstallOptions{Paths: []string{filepath.Join("..", "..", "..", "config", "webhook")}},
	}
	cfg, err := testEnv.Start()
	Expect(err).NotTo(HaveOccurred(), "starting the control plane; `make test` sets KUBEBUILDER_ASSETS")
	DeferCleanup(testEnv.Stop)
	Expect(testEnv.WebhookInstallOptions.ValidatingWebhooks).NotTo(BeEmpty(), "config/webhook holds the generated configuration")

	wcfg := rest.CopyConfig(cfg)
	wcfg.WarningHandler = warned
	k8s, err = client.New(wcfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())

	opts := &testEnv.WebhookInstallOptions
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Cache:                  cache.Options{DefaultTransform: slim.Transform},
		Controller:             config.Controller{SkipNameValidation: new(true)},
		WebhookServer: webhook.NewServer(webhook.Options{
			Host: opts.LocalServingHost, Port: opts.LocalServingPort, CertDir: opts.LocalServingCertDir}),
	})
	Expect(err).NotTo(HaveOccurred())
	mctx, cancel := context.WithCancel(context.Background())
	Expect(controller.Setup(mctx, mgr, controller.Options{MaxConcurrentReconciles: 2, EnableWebhooks: true})).To(Succeed())
	done := make(chan struct{})
	go func() {
		defer GinkgoRecover()
		defer close(done)
		Expect(mgr.Start(mctx)).To(Succeed())
	}()
	DeferCleanup(func() { cancel(); <-done })

	addr := net.JoinHostPort(opts.LocalServingHost, strconv.Itoa(opts.LocalServingPort))
	// The webhook server's certificate, verified with the CA envtest made for it.
	roots := x509.NewCertPool()
	Expect(roots.AppendCertsFromPEM(opts.LocalServingCAData)).To(BeTrue())
	Eventually(func() error {
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: time.Second}, "tcp", addr, &tls.Config{RootCAs: roots})
		if err != nil {
			return err
		}
		return conn.Close()
	}).WithContext(ctx).Should(Succeed(), "the webhook server listens")
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
