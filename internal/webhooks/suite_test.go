//go:build envtest

package webhooks

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/events"
	"github.com/orgrbac/orgrbac/internal/testenv"
	"github.com/orgrbac/orgrbac/internal/workos"
)

var (
	env *testenv.Env
	k8s client.Client
	// stopManager stops the running manager and waits for it to exit.
	stopManager func()
	// sdkDir is the npm prefix of the pinned @workos-inc/node; goReceiver the
	// built test/workos-go binary.
	sdkDir, sdkVersion, goReceiver string
)

// suitePolicy opens the receivers' loopback address only: 127.0.0.2 stays refused.
const suitePolicy = "cluster,127.0.0.1"

func TestWebhooks(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Webhook delivery suite")
}

var _ = BeforeSuite(func(ctx SpecContext) {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	EnforceDefaultTimeoutsWhenUsingContexts()
	SetDefaultEventuallyTimeout(45 * time.Second)
	SetDefaultEventuallyPollingInterval(100 * time.Millisecond)

	sdkVersion = npmVersion("@workos-inc/node")
	sdkDir = installNPM(ctx, "@workos-inc/node", sdkVersion)
	goReceiver = buildGoReceiver(ctx)

	var err error
	env, err = testenv.Start(testenv.Options{})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(env.Stop)
	k8s = env.Client
	stopManager = startManager()
	DeferCleanup(func() { stopManager() })
}, NodeTimeout(5*time.Minute))

// startManager starts a manager running the deliveries, as cmd/main.go does.
func startManager() func() {
	GinkgoHelper()
	mgr, err := ctrl.NewManager(env.Config, env.ManagerOptions())
	Expect(err).NotTo(HaveOccurred())
	policy, err := ParseDestinations(suitePolicy)
	Expect(err).NotTo(HaveOccurred())
	Expect(Setup(mgr, Options{Destinations: policy})).To(Succeed())
	stop := testenv.StartManager(context.Background(), mgr)
	return func() { Expect(stop()).To(Succeed(), "the manager stopped") }
}

// npmVersion reads the pinned version of a dependency of test/workos-sdk/package.json.
func npmVersion(name string) string {
	GinkgoHelper()
	v, err := testenv.NPMPin(name)
	Expect(err).NotTo(HaveOccurred())
	return v
}

// installNPM installs name@version into its own prefix of the cache, shared
// with internal/api's suites (testenv.InstallNPM), and returns it.
func installNPM(ctx context.Context, name, version string) string {
	GinkgoHelper()
	dir, err := testenv.InstallNPM(ctx, name, version)
	Expect(err).NotTo(HaveOccurred())
	return dir
}

// buildGoReceiver builds test/workos-go (its receive mode is the Go SDK's receiver).
func buildGoReceiver(ctx context.Context) string {
	GinkgoHelper()
	bin := filepath.Join(GinkgoT().TempDir(), "workos-go")
	Expect(testenv.BuildWorkOSGo(ctx, bin)).To(Succeed())
	return bin
}

// receiver is a running receiver process of one SDK (testenv.WebhookReceiver).
type receiver struct{ *testenv.WebhookReceiver }

// startReceiver starts the receiver of sdk ("node" or "go") with the signing
// secret, failing the first failFirst deliveries; it is stopped at the spec's end.
func startReceiver(sdk, secret string, failFirst int) receiver {
	GinkgoHelper()
	var cmd *exec.Cmd
	switch sdk {
	case "node":
		cmd = exec.Command("node", filepath.Join("..", "..", "test", "workos-sdk", "receiver.mjs"))
		cmd.Env = append(os.Environ(), "WORKOS_SDK_DIR="+sdkDir)
	case "go":
		cmd = exec.Command(goReceiver, "receive")
	}
	cmd.Stderr = GinkgoWriter
	r, err := testenv.StartWebhookReceiver(cmd, sdk, secret, failFirst)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(r.Stop)
	return receiver{r}
}

func (r receiver) url() string { return r.URL() }

func (r receiver) stats(g Gomega) testenv.ReceiverStats {
	s, err := r.Stats()
	g.Expect(err).NotTo(HaveOccurred())
	return s
}

// newNamespace creates a namespace (an environment) for one spec.
func newNamespace(ctx context.Context) string {
	GinkgoHelper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "hooks-"}}
	Expect(k8s.Create(ctx, ns)).To(Succeed())
	return ns.Name
}

func createSecret(ctx context.Context, ns, name, key, value string) {
	GinkgoHelper()
	Expect(k8s.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Data: map[string][]byte{key: []byte(value)}})).To(Succeed())
}

func createEndpoint(ctx context.Context, ns, name, url, secret string, change ...func(*orgrbacv1alpha1.WebhookEndpoint)) {
	GinkgoHelper()
	ep := &orgrbacv1alpha1.WebhookEndpoint{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: orgrbacv1alpha1.WebhookEndpointSpec{URL: url, SecretRef: orgrbacv1alpha1.SecretKeyReference{Name: secret}}}
	for _, c := range change {
		c(ep)
	}
	Expect(k8s.Create(ctx, ep)).To(Succeed())
}

func endpoint(ctx context.Context, g Gomega, ns, name string) *orgrbacv1alpha1.WebhookEndpoint {
	ep := &orgrbacv1alpha1.WebhookEndpoint{}
	g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, ep)).To(Succeed())
	return ep
}

func ready(ep *orgrbacv1alpha1.WebhookEndpoint) metav1.Condition {
	for _, c := range ep.Status.Conditions {
		if c.Type == orgrbacv1alpha1.ConditionReady {
			return c
		}
	}
	return metav1.Condition{}
}

// emitter writes Events segments as internal/events' emitter would: ids in
// emission order, sequence numbers from 1 without gaps.
type emitter struct {
	ns   string
	next int64
	ids  []string
}

// emit writes one segment of n events created at (or, with age, before) now.
// The data are WorkOS objects as the decision API serves them, with names
// that Go's encoding would escape and JavaScript's not.
func (e *emitter) emit(ctx context.Context, n int, age time.Duration) []string {
	GinkgoHelper()
	first := e.next + 1
	var out []string
	evs := make([]orgrbacv1alpha1.StoredEvent, 0, n)
	for i := range n {
		seq := first + int64(i)
		at := time.Now().Add(-age)
		id := events.ID(seq, at)
		var typ string
		var data any
		stamp := workos.FormatTime(at)
		if seq%2 == 0 {
			typ = "organization.updated"
			data = workos.Organization{Object: "organization", ID: fmt.Sprintf("org_%d", seq),
				Name: fmt.Sprintf("Acme <%d> & Söhne \u2028 \"quoted\"", seq), Domains: []struct{}{},
				Metadata: map[string]string{}, CreatedAt: stamp, UpdatedAt: stamp}
		} else {
			typ = "organization_membership.updated"
			data = workos.Membership{Object: "organization_membership", ID: fmt.Sprintf("om_%d", seq),
				UserID: "user_" + fmt.Sprint(seq), OrganizationID: "org_1", OrganizationName: "A&B <Inc>",
				Status: "active", Role: &workos.SlugRef{Slug: "member"}, Roles: []workos.SlugRef{{Slug: "member"}},
				CustomAttributes: map[string]string{}, CreatedAt: stamp, UpdatedAt: stamp}
		}
		raw, err := json.Marshal(data)
		Expect(err).NotTo(HaveOccurred())
		evs = append(evs, orgrbacv1alpha1.StoredEvent{ID: id, Event: typ, Key: fmt.Sprintf("test/%d", seq),
			Digest: "0123456789abcdef", CreatedAtMillis: at.UnixMilli(), Data: runtime.RawExtension{Raw: raw}})
		out = append(out, id)
	}
	seg := &orgrbacv1alpha1.EventSegment{
		ObjectMeta: metav1.ObjectMeta{Namespace: e.ns, Name: events.SegmentName(first),
			Labels: map[string]string{orgrbacv1alpha1.LabelEventSegment: string(orgrbacv1alpha1.EventSegmentEvents)}},
		Spec: orgrbacv1alpha1.EventSegmentSpec{Type: orgrbacv1alpha1.EventSegmentEvents, First: &first, Events: evs}}
	Expect(k8s.Create(ctx, seg)).To(Succeed())
	e.next += int64(n)
	e.ids = append(e.ids, out...)
	return out
}

// dedupe returns ids without repeats (keeping first places) and how many
// repeats there were: a receiver spots redeliveries by event id.
func dedupe(ids []string) (unique []string, duplicates int) {
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			duplicates++
			continue
		}
		seen[id] = true
		unique = append(unique, id)
	}
	return unique, duplicates
}
