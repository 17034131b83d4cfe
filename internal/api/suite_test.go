//go:build envtest

package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	clocktesting "k8s.io/utils/clock/testing"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/yaml"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/controller"
	"github.com/orgrbac/orgrbac/internal/testenv"
	"github.com/orgrbac/orgrbac/internal/tokens"
)

// The suite's world: one environment namespace with the objects below, and a
// second namespace for callers from elsewhere.
const (
	envNS   = "videos"
	otherNS = "elsewhere"
	acmeID  = "org_01ACME"
	// tokenNS holds the access tokens' signing keys' Secret.
	tokenNS = "orgrbac-system"
)

// The signing keys' schedule in the suite, on keyClock (a fake clock that only
// the specs move): a key signs for an hour, is published a minute before, and
// stays in the public set ten minutes after its successor signs.
const (
	keyRotationPeriod = time.Hour
	keyPublishDelay   = time.Minute
	keyOverlap        = 10 * time.Minute
)

var (
	// testEnv is the control plane (env.Environment).
	testEnv *envtest.Environment
	cfg     *rest.Config
	k8s     client.Client
	cs      kubernetes.Interface

	// srv is the API under test and baseURL where it serves (HTTPS).
	srv     *Server
	baseURL string
	// httpc trusts srv's self-signed certificate.
	httpc *http.Client

	// Bearer tokens of ServiceAccounts, for the API's audience unless said otherwise.
	appToken      string // videos/app, bound to api-caller and api-reader in videos
	noRBACToken   string // videos/no-rbac, no binding
	outsiderToken string // elsewhere/outsider, no binding anywhere
	crosserToken  string // elsewhere/crosser, bound to api-caller and api-reader in videos only
	checkerToken  string // videos/checker, bound to api-caller only
	readerToken   string // videos/reader, bound to api-reader only
	// appServerToken is a token of videos/app for the API server's audience,
	// as a pod's default ServiceAccount token is.
	appServerToken string
	writerToken    string // videos/writer, bound to api-writer, api-reader and api-caller
	minterToken    string // videos/minter, bound to api-token-minter only

	// keySet signs the access tokens and serves their public keys; keyRotator
	// rotates them in the Secret tokenNS/tokens.DefaultSecretName; both tell
	// the time with keyClock.
	keySet     *tokens.KeySet
	keyRotator *tokens.Rotator
	keyClock   *clocktesting.FakeClock
)

// The shipped ClusterRoles of config/rbac the callers are bound to.
const (
	callerRole = "api_caller_role.yaml"
	readerRole = "api_reader_role.yaml"
	writerRole = "api_writer_role.yaml"
	minterRole = "api_token_minter_role.yaml"
)

func TestAPI(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Decision API suite")
}

var _ = BeforeSuite(func(ctx SpecContext) {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	SetDefaultEventuallyTimeout(30 * time.Second)
	SetDefaultEventuallyPollingInterval(50 * time.Millisecond)

	env, err := testenv.Start(testenv.Options{})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(env.Stop)
	testEnv, cfg, k8s = env.Environment, env.Config, env.Client
	cs, err = kubernetes.NewForConfig(cfg)
	Expect(err).NotTo(HaveOccurred())

	mgr, err := ctrl.NewManager(cfg, env.ManagerOptions())
	Expect(err).NotTo(HaveOccurred())
	mctx, cancel := context.WithCancel(context.Background())
	Expect(controller.Setup(mctx, mgr, controller.Options{MaxConcurrentReconciles: 2})).To(Succeed())
	Expect(k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: tokenNS}})).To(Succeed())
	keyClock = clocktesting.NewFakeClock(time.Now())
	keyOpts := tokens.Options{Namespace: tokenNS, RotationPeriod: keyRotationPeriod, PublishDelay: keyPublishDelay,
		Overlap: keyOverlap, TokenTTL: DefaultTokenTTL, Clock: keyClock, Logger: logf.Log.WithName("tokens")}
	keySet, err = tokens.NewKeySet(cs, keyOpts)
	Expect(err).NotTo(HaveOccurred())
	keyRotator, err = tokens.NewRotator(cs, keyOpts)
	Expect(err).NotTo(HaveOccurred())
	Expect(mgr.Add(keySet)).To(Succeed())
	Expect(mgr.Add(keyRotator)).To(Succeed())
	addr := freeAddr()
	srv, err = NewServer(Options{BindAddress: addr, Cache: mgr.GetCache(), Config: mgr.GetConfig(),
		TokenAudience: DefaultTokenAudience,
		// The WorkOS writes, with the suite's (admin) client as the manager's
		// own; access tokens signed by keySet, issued by the API's URL.
		Client: k8s, Tokens: keySet, TokenIssuerURL: "https://" + addr,
		Logger: logf.Log.WithName("api"), AuthCache: AuthCacheOptions{TTL: 5 * time.Second, NegativeTTL: time.Second}})
	Expect(err).NotTo(HaveOccurred())
	Expect(mgr.Add(srv)).To(Succeed())
	stop := testenv.StartManager(mctx, mgr)
	DeferCleanup(func() {
		cancel()
		Expect(stop()).To(Succeed(), "the manager stopped")
	})

	httpc, err = testenv.HTTPSClient(srv.CertificatePEM())
	Expect(err).NotTo(HaveOccurred())
	baseURL = "https://" + addr
	Eventually(func() error { return srv.ReadyzCheck()(nil) }).Should(Succeed(), "the API becomes ready")
	Eventually(keySet.ReadyzCheck).WithArguments((*http.Request)(nil)).Should(Succeed(), "the first signing key is loaded")

	createWorld(ctx)
	appToken = serviceAccount(ctx, envNS, "app", envNS, callerRole, readerRole)
	noRBACToken = serviceAccount(ctx, envNS, "no-rbac", "")
	outsiderToken = serviceAccount(ctx, otherNS, "outsider", "")
	crosserToken = serviceAccount(ctx, otherNS, "crosser", envNS, callerRole, readerRole)
	checkerToken = serviceAccount(ctx, envNS, "checker", envNS, callerRole)
	readerToken = serviceAccount(ctx, envNS, "reader", envNS, readerRole)
	appServerToken = token(ctx, envNS, "app") // no audience: the API server's
	writerToken = serviceAccount(ctx, envNS, "writer", envNS, writerRole, readerRole, callerRole)
	minterToken = serviceAccount(ctx, envNS, "minter", envNS, minterRole)
}, NodeTimeout(3*time.Minute))

// freeAddr returns a free loopback address.
func freeAddr() string {
	GinkgoHelper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	defer func() { _ = ln.Close() }()
	return ln.Addr().String()
}

// shippedRole is a ClusterRole of config/rbac (file is its file name).
func shippedRole(file string) *rbacv1.ClusterRole {
	GinkgoHelper()
	data, err := os.ReadFile(filepath.Join("..", "..", "config", "rbac", file))
	Expect(err).NotTo(HaveOccurred())
	var cr rbacv1.ClusterRole
	Expect(yaml.UnmarshalStrict(data, &cr)).To(Succeed())
	return &cr
}

// serviceAccount creates a ServiceAccount, binds it in bindIn (unless empty)
// to the shipped ClusterRoles of the files roles, and returns a real token
// for the API's audience from the TokenRequest API.
func serviceAccount(ctx context.Context, ns, name, bindIn string, roles ...string) string {
	GinkgoHelper()
	Expect(k8s.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}})).To(Succeed())
	for _, file := range roles {
		role := shippedRole(file).Name
		Expect(k8s.Create(ctx, &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Namespace: bindIn, Name: role + "-" + ns + "-" + name},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: name}},
		})).To(Succeed())
	}
	return token(ctx, ns, name, DefaultTokenAudience)
}

// token returns a token of the ServiceAccount ns/name from the TokenRequest
// API, for audiences (the API server's own when none), as a projected
// serviceAccountToken volume gets it.
func token(ctx context.Context, ns, name string, audiences ...string) string {
	GinkgoHelper()
	tr, err := cs.CoreV1().ServiceAccounts(ns).CreateToken(ctx, name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{Audiences: audiences, ExpirationSeconds: new(int64(3600))}}, metav1.CreateOptions{})
	Expect(err).NotTo(HaveOccurred(), "TokenRequest for %s/%s", ns, name)
	Expect(tr.Status.Token).NotTo(BeEmpty())
	return tr.Status.Token
}

// createWorld creates the environment and waits until every membership resolved.
func createWorld(ctx context.Context) {
	GinkgoHelper()
	for _, ns := range []string{envNS, otherNS} {
		Expect(k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
	}
	for _, file := range []string{callerRole, readerRole, writerRole, minterRole} {
		Expect(k8s.Create(ctx, shippedRole(file))).To(Succeed())
	}
	role := func(slug, display string, perms ...string) client.Object {
		return &orgrbacv1alpha1.Role{ObjectMeta: metav1.ObjectMeta{Name: slug},
			Spec: orgrbacv1alpha1.RoleSpec{DisplayName: display, Description: display + " role", Permissions: perms}}
	}
	objs := []client.Object{
		&orgrbacv1alpha1.Environment{ObjectMeta: metav1.ObjectMeta{Name: "videos"},
			Spec: orgrbacv1alpha1.EnvironmentSpec{DefaultRole: "member", RolePriority: []string{"admin", "editor", "member", "viewer"}}},
		role("admin", "Admin", "settings:manage", "videos:create", "videos:delete", "videos:edit", "videos:view"),
		role("editor", "Editor", "videos:create", "videos:edit", "videos:view"),
		role("member", "Member", "videos:view"),
		role("viewer", "Viewer", "videos:view"),
		&orgrbacv1alpha1.Organization{ObjectMeta: metav1.ObjectMeta{Name: "acme"},
			Spec: orgrbacv1alpha1.OrganizationSpec{DisplayName: "Acme Inc.", ExternalID: acmeID, RolePriority: []string{"org-video-producer"}}},
		&orgrbacv1alpha1.Organization{ObjectMeta: metav1.ObjectMeta{Name: "globex"}},
		&orgrbacv1alpha1.Organization{ObjectMeta: metav1.ObjectMeta{Name: "initech"}},
		&orgrbacv1alpha1.OrganizationRole{ObjectMeta: metav1.ObjectMeta{Name: "acme-producer"},
			Spec: orgrbacv1alpha1.OrganizationRoleSpec{Organization: "acme", Slug: "org-video-producer", DisplayName: "Video producer",
				Permissions: []string{"videos:create", "videos:publish"}}},
		&orgrbacv1alpha1.OrganizationRole{ObjectMeta: metav1.ObjectMeta{Name: "initech-tester"},
			Spec: orgrbacv1alpha1.OrganizationRoleSpec{Organization: "initech", Slug: "org-tester", Permissions: []string{"tests:run", "tests:view"}}},
		&orgrbacv1alpha1.GroupMapping{ObjectMeta: metav1.ObjectMeta{Name: "acme-eng-admins"},
			Spec: orgrbacv1alpha1.GroupMappingSpec{Organization: "acme", Source: orgrbacv1alpha1.GroupSourceDirectory, Group: "eng-admins", Role: "admin"}},
	}
	member := func(name, org, user string, change func(*orgrbacv1alpha1.MembershipSpec)) client.Object {
		m := &orgrbacv1alpha1.Membership{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: orgrbacv1alpha1.MembershipSpec{Organization: org, User: user}}
		if change != nil {
			change(&m.Spec)
		}
		return m
	}
	objs = append(objs,
		member("acme-alice", "acme", "user_alice", func(s *orgrbacv1alpha1.MembershipSpec) { s.DirectoryGroups = []string{"eng-admins"} }),
		member("acme-bob", "acme", "user_bob", func(s *orgrbacv1alpha1.MembershipSpec) { s.Roles = []string{"editor"} }),
		member("acme-carol", "acme", "user_carol", nil),
		member("acme-dave", "acme", "user_dave", func(s *orgrbacv1alpha1.MembershipSpec) { s.Roles = []string{"org-video-producer"} }),
		member("acme-erin", "acme", "user_erin", func(s *orgrbacv1alpha1.MembershipSpec) {
			s.Roles, s.State = []string{"admin"}, orgrbacv1alpha1.MembershipInactive
		}),
		member("acme-paula", "acme", "user_paula", func(s *orgrbacv1alpha1.MembershipSpec) {
			s.Roles, s.State = []string{"editor"}, orgrbacv1alpha1.MembershipPending
		}),
		member("acme-zoe", "acme", "user_zoe", func(s *orgrbacv1alpha1.MembershipSpec) { s.Roles = []string{"viewer"} }),
		member("globex-alice", "globex", "user_alice", nil),
		member("initech-ivan", "initech", "user_ivan", func(s *orgrbacv1alpha1.MembershipSpec) { s.Roles = []string{"org-tester"} }),
	)
	for _, o := range objs {
		o.SetNamespace(envNS)
		Expect(k8s.Create(ctx, o)).To(Succeed(), "creating %T %s", o, o.GetName())
	}
	Eventually(func(g Gomega) {
		var ms orgrbacv1alpha1.MembershipList
		g.Expect(k8s.List(ctx, &ms, client.InNamespace(envNS))).To(Succeed())
		g.Expect(ms.Items).To(HaveLen(9))
		for _, m := range ms.Items {
			g.Expect(m.Status.ObservedGeneration).To(Equal(m.Generation), m.Name)
			g.Expect(m.Status.Conditions).To(ContainElement(And(HaveField("Type", orgrbacv1alpha1.ConditionReady),
				HaveField("Status", metav1.ConditionTrue))), m.Name)
		}
	}).WithContext(ctx).Should(Succeed(), "every membership resolves")
	Eventually(func(g Gomega) {
		var env orgrbacv1alpha1.Environment
		g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: envNS, Name: "videos"}, &env)).To(Succeed())
		g.Expect(env.Status.Revision).To(BeNumerically(">", 0))
	}).WithContext(ctx).Should(Succeed(), "the environment is published")
}

// response is an HTTP answer of the API.
type response struct {
	code     int
	header   http.Header
	body     []byte
	revision int64
}

// call sends a request with a bearer token (none when empty) and a JSON body
// (none when nil).
func call(method, path, token string, body any) response {
	GinkgoHelper()
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		Expect(err).NotTo(HaveOccurred())
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, baseURL+path, rd)
	Expect(err).NotTo(HaveOccurred())
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := httpc.Do(req)
	Expect(err).NotTo(HaveOccurred())
	defer func() { _ = res.Body.Close() }()
	data, err := io.ReadAll(res.Body)
	Expect(err).NotTo(HaveOccurred())
	rev, err := strconv.ParseInt(res.Header.Get(RevisionHeader), 10, 64)
	Expect(err).NotTo(HaveOccurred(), "every response carries %s", RevisionHeader)
	Expect(res.Header.Get("Content-Type")).To(Equal("application/json"), "%s %s", method, path)
	return response{code: res.StatusCode, header: res.Header, body: data, revision: rev}
}

// into decodes the body into v.
func (r response) into(v any) {
	GinkgoHelper()
	Expect(json.Unmarshal(r.body, v)).To(Succeed(), "body %s", r.body)
}

// membership reads a Membership of the environment.
func membership(ctx context.Context, name string) *orgrbacv1alpha1.Membership {
	GinkgoHelper()
	var m orgrbacv1alpha1.Membership
	Expect(k8s.Get(ctx, client.ObjectKey{Namespace: envNS, Name: name}, &m)).To(Succeed())
	return &m
}

func path(format string, args ...any) string { return fmt.Sprintf(format, args...) }
