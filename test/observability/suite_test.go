//go:build envtest

// Package observability tests the observability kit of config/prometheus: the
// alerts with promtool (check and unit tests), and that every metric the Grafana
// dashboard and the alerts read is exported by the manager, scraped from its
// metrics endpoint in an envtest run with the real controllers, webhooks and
// decision API exercised.
package observability

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/api"
	"github.com/orgrbac/orgrbac/internal/controller"
	"github.com/orgrbac/orgrbac/internal/testenv"
	"github.com/orgrbac/orgrbac/internal/testobj"
	webhookv1alpha1 "github.com/orgrbac/orgrbac/internal/webhook/v1alpha1"
)

var (
	k8s client.Client
	// metricsURL is the manager's /metrics endpoint.
	metricsURL string
	// apiURL is the decision API and apiClient trusts its certificate.
	apiURL    string
	apiClient *http.Client
	cs        kubernetes.Interface
)

func TestObservability(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Observability suite")
}

func freeAddr() string {
	GinkgoHelper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	defer func() { _ = ln.Close() }()
	return ln.Addr().String()
}

var _ = BeforeSuite(func(ctx SpecContext) {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	SetDefaultEventuallyTimeout(30 * time.Second)
	SetDefaultEventuallyPollingInterval(100 * time.Millisecond)
	env, err := testenv.Start(testenv.Options{Webhooks: true})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(env.Stop)
	k8s = env.Client
	cs, err = kubernetes.NewForConfig(env.Config)
	Expect(err).NotTo(HaveOccurred())

	// The manager as cmd runs it: controllers, webhooks, the decision API, and
	// the metrics endpoint (plain HTTP here: its authentication is e2e's subject).
	metricsAddr, apiAddr := freeAddr(), freeAddr()
	mopts := env.ManagerOptions()
	mopts.Metrics = metricsserver.Options{BindAddress: metricsAddr}
	mgr, err := ctrl.NewManager(env.Config, mopts)
	Expect(err).NotTo(HaveOccurred())
	mctx, cancel := context.WithCancel(context.Background())
	Expect(controller.Setup(mctx, mgr, controller.Options{MaxConcurrentReconciles: 2})).To(Succeed())
	Expect(webhookv1alpha1.Setup(mgr)).To(Succeed())
	srv, err := api.NewServer(api.Options{BindAddress: apiAddr, Cache: mgr.GetCache(), Config: mgr.GetConfig(),
		Logger: logf.Log.WithName("api")})
	Expect(err).NotTo(HaveOccurred())
	Expect(mgr.Add(srv)).To(Succeed())
	stop := testenv.StartManager(mctx, mgr)
	DeferCleanup(func() {
		cancel()
		Expect(stop()).To(Succeed(), "the manager stopped")
	})

	apiClient, err = testenv.HTTPSClient(srv.CertificatePEM())
	Expect(err).NotTo(HaveOccurred())
	apiURL, metricsURL = "https://"+apiAddr, "http://"+metricsAddr+"/metrics"
	Eventually(func() error { return srv.ReadyzCheck()(nil) }).WithContext(ctx).Should(Succeed())
	Eventually(env.DialWebhookServer).WithContext(ctx).Should(Succeed(), "the webhook server listens")
	exercise(ctx)
}, NodeTimeout(3*time.Minute))

// exercise makes the manager do what a live one does, so that every series
// exists: resolve memberships (one of them not Ready), publish, answer
// decisions through both faces of the API, and admit and deny requests.
func exercise(ctx context.Context) {
	GinkgoHelper()
	ns := "videos"
	Expect(k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
	objs := []client.Object{
		testobj.Environment("videos", "member", false, "admin", "member"),
		testobj.Role("admin", "videos:delete", "videos:view"),
		testobj.Role("member", "videos:view"),
		testobj.Organization("acme", ""),
		testobj.Membership("acme-alice", "acme", "user_alice", testobj.WithRoles("admin")),
		testobj.Membership("acme-dave", "acme", "user_dave"),
		testobj.Membership("acme-erin", "acme", "user_erin", testobj.WithState(orgrbacv1alpha1.MembershipInactive)),
		// An organization that does not exist: not Ready.
		testobj.Membership("initech-ivan", "initech", "user_ivan"),
	}
	for _, o := range objs {
		o.SetNamespace(ns)
		Expect(k8s.Create(ctx, o)).To(Succeed(), "creating %s", o.GetName())
	}
	Eventually(func(g Gomega) {
		var env orgrbacv1alpha1.Environment
		g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "videos"}, &env)).To(Succeed())
		g.Expect(env.Status.Revision).To(BeNumerically(">", 0))
		var ms orgrbacv1alpha1.MembershipList
		g.Expect(k8s.List(ctx, &ms, client.InNamespace(ns))).To(Succeed())
		for _, m := range ms.Items {
			g.Expect(m.Status.ObservedGeneration).To(Equal(m.Generation), m.Name)
		}
	}).WithContext(ctx).Should(Succeed())

	// A ServiceAccount allowed to call the API.
	Expect(k8s.Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "orgrbac-api-caller"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{api.CheckGroup}, Resources: []string{api.CheckResource}, Verbs: []string{api.CheckVerb}},
			// The membership view below returns member data (L1).
			{APIGroups: []string{api.CheckGroup}, Resources: []string{api.MembershipResource}, Verbs: []string{"get"}}}})).To(Succeed())
	Expect(k8s.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"}})).To(Succeed())
	Expect(k8s.Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app-api"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "orgrbac-api-caller"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: "app"}}})).To(Succeed())
	tr, err := cs.CoreV1().ServiceAccounts(ns).CreateToken(ctx, "app", &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	Expect(err).NotTo(HaveOccurred())
	token := tr.Status.Token
	Eventually(func() int {
		return call(ctx, token, http.MethodPost, "/v1/check", `{"organization":"acme","user":"user_alice","permission":"videos:delete"}`)
	}).WithContext(ctx).Should(Equal(http.StatusOK))
	for range 3 {
		Expect(call(ctx, token, http.MethodPost, "/v1/check", `{"organization":"acme","user":"user_dave","permission":"videos:delete"}`)).To(Equal(http.StatusOK))
		Expect(call(ctx, token, http.MethodPost, "/authorization/organization_memberships/acme-alice/check", `{"permission_slug":"videos:view"}`)).To(Equal(http.StatusOK))
		Expect(call(ctx, token, http.MethodGet, "/v1/organizations/acme/memberships/user_alice", "")).To(Equal(http.StatusOK))
	}
	Expect(call(ctx, "not-a-token", http.MethodPost, "/v1/check", `{}`)).To(Equal(http.StatusUnauthorized))

	// The webhooks: an allowed create and a denied delete (the default role).
	extra := testobj.Role("viewer", "videos:view")
	extra.SetNamespace(ns)
	Expect(k8s.Create(ctx, extra)).To(Succeed())
	member := &orgrbacv1alpha1.Role{}
	Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "member"}, member)).To(Succeed())
	Expect(k8s.Delete(ctx, member)).NotTo(Succeed(), "the webhook denies deleting the default role")
}

// call sends a request to the decision API and returns the status code.
func call(ctx context.Context, token, method, path, body string) int {
	GinkgoHelper()
	var rd io.Reader
	if body != "" {
		rd = bytes.NewBufferString(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, apiURL+path, rd)
	Expect(err).NotTo(HaveOccurred())
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := apiClient.Do(req)
	Expect(err).NotTo(HaveOccurred())
	defer func() { _ = res.Body.Close() }()
	_, _ = io.Copy(io.Discard, res.Body)
	return res.StatusCode
}

// scrape returns the manager's /metrics.
func scrape(ctx context.Context) []byte {
	GinkgoHelper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, metricsURL, nil)
	Expect(err).NotTo(HaveOccurred())
	res, err := http.DefaultClient.Do(req)
	Expect(err).NotTo(HaveOccurred())
	defer func() { _ = res.Body.Close() }()
	Expect(res.StatusCode).To(Equal(http.StatusOK))
	data, err := io.ReadAll(res.Body)
	Expect(err).NotTo(HaveOccurred())
	return data
}

// readJSON decodes a JSON file.
func readJSON(path string, v any) {
	GinkgoHelper()
	data, err := os.ReadFile(path)
	Expect(err).NotTo(HaveOccurred())
	Expect(json.Unmarshal(data, v)).To(Succeed(), "decoding %s", path)
}
