//go:build envtest

package plugin

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/yaml"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/controller"
	"github.com/orgrbac/orgrbac/internal/testenv"
	webhookv1alpha1 "github.com/orgrbac/orgrbac/internal/webhook/v1alpha1"
)

// The suite runs the plugin in-process against envtest with the real controllers
// and admission webhooks, on the samples of config/samples (namespace videos), as
// users with only the RBAC the commands need.
const samplesNS = "videos"

var (
	// testEnv is the control plane (testenv's Env.Environment).
	testEnv *envtest.Environment
	k8s     client.Client
	// readerKube is the kubeconfig of a user who may read the orgrbac kinds and
	// the published ConfigMaps, and delete roles (for the dry run).
	readerKube string
	// strangerKube is the kubeconfig of a user without any RBAC.
	strangerKube string
)

func TestPlugin(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "kubectl orgrbac suite")
}

var _ = BeforeSuite(func(ctx SpecContext) {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	SetDefaultEventuallyTimeout(30 * time.Second)
	SetDefaultEventuallyPollingInterval(100 * time.Millisecond)

	env, err := testenv.Start(testenv.Options{Webhooks: true})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(env.Stop)
	testEnv, k8s = env.Environment, env.Client

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

	applySamples(ctx)
	readerKube = userKubeconfig("reader", &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "orgrbac-plugin-reader"},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{orgrbacv1alpha1.GroupVersion.Group}, Resources: []string{rbacv1.ResourceAll}, Verbs: []string{"get", "list"}},
			{APIGroups: []string{orgrbacv1alpha1.GroupVersion.Group}, Resources: []string{"roles", "organizationroles"}, Verbs: []string{"delete"}},
			{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get"}},
		},
	})
	strangerKube = userKubeconfig("stranger", nil)
}, NodeTimeout(3*time.Minute))

// applySamples creates the objects of config/samples in their namespace and
// waits until every membership resolved and the environment is published.
func applySamples(ctx context.Context) {
	GinkgoHelper()
	dir := filepath.Join("..", "..", "config", "samples")
	var kust struct {
		Namespace string   `json:"namespace"`
		Resources []string `json:"resources"`
	}
	data, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	Expect(err).NotTo(HaveOccurred())
	Expect(yaml.Unmarshal(data, &kust)).To(Succeed())
	Expect(kust.Namespace).To(Equal(samplesNS))
	for _, res := range kust.Resources {
		f, err := os.Open(filepath.Join(dir, res))
		Expect(err).NotTo(HaveOccurred())
		dec := utilyaml.NewYAMLOrJSONDecoder(f, 4096)
		for {
			u := &unstructured.Unstructured{}
			if err := dec.Decode(&u.Object); err != nil {
				Expect(err.Error()).To(Equal("EOF"), res)
				break
			}
			if len(u.Object) == 0 {
				continue
			}
			if u.GetKind() != "Namespace" {
				u.SetNamespace(kust.Namespace)
			}
			Expect(k8s.Create(ctx, u)).To(Succeed(), "creating %s %s", u.GetKind(), u.GetName())
		}
		_ = f.Close()
	}
	Eventually(func(g Gomega) {
		var ms orgrbacv1alpha1.MembershipList
		g.Expect(k8s.List(ctx, &ms, client.InNamespace(samplesNS))).To(Succeed())
		g.Expect(ms.Items).NotTo(BeEmpty())
		for _, m := range ms.Items {
			g.Expect(m.Status.ObservedGeneration).To(Equal(m.Generation), m.Name)
			g.Expect(ready(m.Status.Conditions)).To(BeTrue(), m.Name)
		}
		var env orgrbacv1alpha1.Environment
		g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: samplesNS, Name: "videos"}, &env)).To(Succeed())
		g.Expect(env.Status.Revision).To(BeNumerically(">", 0))
		g.Expect(ready(env.Status.Conditions)).To(BeTrue())
		var orgs orgrbacv1alpha1.OrganizationList
		g.Expect(k8s.List(ctx, &orgs, client.InNamespace(samplesNS))).To(Succeed())
		conds := map[string][]metav1.Condition{"Environment/videos": env.Status.Conditions}
		for _, o := range orgs.Items {
			conds["Organization/"+o.Name] = o.Status.Conditions
		}
		for name, cs := range conds {
			rc := condition(cs, orgrbacv1alpha1.ConditionReferencesResolved)
			g.Expect(rc).NotTo(BeNil(), name)
			g.Expect(rc.Status).To(Equal(metav1.ConditionTrue), "%s: %s", name, rc.Message)
		}
	}).WithContext(ctx).Should(Succeed(), "the samples resolve and are published")
}

// userKubeconfig provisions a user bound to role (none when nil) and returns the
// path of its kubeconfig.
func userKubeconfig(name string, role *rbacv1.ClusterRole) string {
	GinkgoHelper()
	ctx := context.Background()
	user, err := testEnv.AddUser(envtest.User{Name: name}, nil)
	Expect(err).NotTo(HaveOccurred())
	if role != nil {
		Expect(k8s.Create(ctx, role)).To(Succeed())
		Expect(k8s.Create(ctx, &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: role.Name + "-" + name},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: name}},
		})).To(Succeed())
	}
	data, err := user.KubeConfig()
	Expect(err).NotTo(HaveOccurred())
	path := filepath.Join(GinkgoT().TempDir(), name+".kubeconfig")
	Expect(os.WriteFile(path, data, 0o600)).To(Succeed())
	return path
}

// result is one run of the plugin.
type result struct {
	code           int
	stdout, stderr string
}

// run runs kubectl orgrbac in-process with a kubeconfig.
func run(kubeconfig string, args ...string) result {
	GinkgoHelper()
	var out, errOut bytes.Buffer
	streams := genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}
	code := Run(context.Background(), append([]string{"--kubeconfig", kubeconfig}, args...), streams)
	return result{code: code, stdout: out.String(), stderr: errOut.String()}
}
