//go:build envtest

// Package e2e tests orgrbac as a cluster admin uses it: the built manager binary,
// authenticated as its own ServiceAccount, against a control plane with
// kube-controller-manager (garbage collection and namespace deletion happen),
// installed from config/ and driven with kubectl.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/orgrbac/orgrbac/test/cluster"
)

const (
	systemNamespace = "orgrbac-system"
	serviceAccount  = "orgrbac-controller-manager"
)

var (
	cl *cluster.Cluster
	// root is the repository root; work holds the binaries, kubeconfigs and logs.
	root, work string
	kubectlBin string
	managerBin string
	adminKube  string
	// managerKube is a kubeconfig holding a token of the manager's ServiceAccount.
	managerKube string
)

func TestE2E(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "orgrbac end-to-end suite")
}

var _ = BeforeSuite(func(ctx SpecContext) {
	SetDefaultEventuallyTimeout(60 * time.Second)
	SetDefaultEventuallyPollingInterval(250 * time.Millisecond)
	var err error
	root, err = filepath.Abs(filepath.Join("..", ".."))
	Expect(err).NotTo(HaveOccurred())
	work = GinkgoT().TempDir()

	By("building the manager")
	managerBin = filepath.Join(work, "manager")
	build := exec.CommandContext(ctx, "go", "build", "-o", managerBin, "./cmd")
	build.Dir = root
	out, err := build.CombinedOutput()
	Expect(err).NotTo(HaveOccurred(), string(out))

	By("starting etcd, kube-apiserver and kube-controller-manager")
	cl, err = cluster.Start(ctx, cluster.Options{WithControllerManager: true, LogDir: filepath.Join(work, "logs")})
	Expect(err).NotTo(HaveOccurred(), "`make test` sets KUBEBUILDER_ASSETS to the source-built control plane")
	DeferCleanup(func() { Expect(cl.Stop()).To(Succeed()) })
	kubectlBin = filepath.Join(cl.BinDir(), "kubectl")
	adminKube = filepath.Join(work, "admin.kubeconfig")
	Expect(cl.WriteKubeconfig(adminKube)).To(Succeed())

	By("installing the CRDs and RBAC from config/")
	kubectl("apply", "--server-side", "-k", filepath.Join(root, "test", "e2e", "install"))
	kubectl("wait", "--for=condition=Established", "--timeout=60s", "-f", filepath.Join(root, "config", "crd", "bases"))

	By("getting a token of the manager's ServiceAccount")
	Eventually(func() error {
		_, err := kubectlErr("get", "serviceaccount", "-n", systemNamespace, serviceAccount)
		return err
	}).Should(Succeed())
	managerKube = serviceAccountKubeconfig(systemNamespace, serviceAccount)
	whoami := kubectlAs(managerKube, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}")
	Expect(whoami).To(Equal("system:serviceaccount:" + systemNamespace + ":" + serviceAccount))
	GinkgoWriter.Printf("The manager runs as %s\n", whoami)
	writeWebhookCertificate(filepath.Join(work, "webhook-certs"))
}, NodeTimeout(10*time.Minute))

// kubectl runs kubectl as the cluster admin and returns its standard output.
func kubectl(args ...string) string {
	GinkgoHelper()
	out, err := kubectlErr(args...)
	Expect(err).NotTo(HaveOccurred())
	return out
}

// kubectlErr runs kubectl as the cluster admin.
func kubectlErr(args ...string) (string, error) {
	return runKubectl(adminKube, "", args...)
}

// kubectlAs runs kubectl with another kubeconfig.
func kubectlAs(kubeconfig string, args ...string) string {
	GinkgoHelper()
	out, err := runKubectl(kubeconfig, "", args...)
	Expect(err).NotTo(HaveOccurred())
	return out
}

func runKubectl(kubeconfig, stdin string, args ...string) (string, error) {
	cmd := exec.Command(kubectlBin, append([]string{"--kubeconfig", kubeconfig}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	if err := cmd.Run(); err != nil {
		return strings.TrimSpace(stdout.String()), fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(stdout.String()), nil
}

// serviceAccountKubeconfig writes a kubeconfig authenticating with a fresh token
// of the ServiceAccount (TokenRequest) and returns its path.
func serviceAccountKubeconfig(ns, name string) string {
	GinkgoHelper()
	token := kubectl("create", "token", "-n", ns, name, "--duration=2h")
	cfg := cl.Config()
	path := filepath.Join(work, ns+"-"+name+".kubeconfig")
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: %s
  user:
    token: %s
contexts:
- name: local
  context: {cluster: local, user: %s}
current-context: local
`, cfg.Host, b64(cfg.CAData), name, token, name)
	Expect(os.WriteFile(path, []byte(kc), 0o600)).To(Succeed())
	return path
}

// freePort returns a free loopback port.
func freePort() int {
	GinkgoHelper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port
}

// manager is a running manager process.
type manager struct {
	name                            string
	cmd                             *exec.Cmd
	log                             string
	metricsPort, probePort, apiPort int
	webhookPort                     int
	exited                          chan struct{}
}

// startManager runs the built manager as the manager's ServiceAccount, with
// leader election, and waits until it is healthy.
func startManager(ctx context.Context, name string) *manager {
	GinkgoHelper()
	return startProcess(ctx, name, managerBin, func(m *manager) []string {
		return []string{
			"--kubeconfig", managerKube,
			"--leader-elect", "--leader-election-namespace", systemNamespace,
			fmt.Sprintf("--webhook-port=%d", m.webhookPort),
			"--webhook-cert-dir", filepath.Join(work, "webhook-certs"),
			// The Secret test/e2e/install creates empty, as the installs do.
			"--token-signing-secret", systemNamespace + "/orgrbac-token-signing-keys",
			// The change-event story's receivers listen on loopback.
			"--webhook-destinations=127.0.0.1",
		}
	})
}

// startProcess runs bin (the built manager) with args, its listeners on free
// loopback ports, and waits until it is ready. The decision API and /metrics serve
// the webhook certificate, for 127.0.0.1: the tests verify it with webhookCA.
func startProcess(ctx context.Context, name, bin string, args func(m *manager) []string) *manager {
	GinkgoHelper()
	m := &manager{name: name, log: filepath.Join(work, "manager-"+name+".log"),
		metricsPort: freePort(), probePort: freePort(), apiPort: freePort(), webhookPort: freePort(), exited: make(chan struct{})}
	logFile, err := os.Create(m.log)
	Expect(err).NotTo(HaveOccurred())
	m.cmd = exec.Command(bin, append(args(m),
		fmt.Sprintf("--metrics-bind-address=127.0.0.1:%d", m.metricsPort),
		fmt.Sprintf("--health-probe-bind-address=127.0.0.1:%d", m.probePort),
		fmt.Sprintf("--api-bind-address=127.0.0.1:%d", m.apiPort),
		"--api-cert-dir", filepath.Join(work, "webhook-certs"),
		"--metrics-cert-dir", filepath.Join(work, "webhook-certs"),
	)...)
	m.cmd.Stdout, m.cmd.Stderr = logFile, logFile
	Expect(m.cmd.Start()).To(Succeed())
	go func() {
		_ = m.cmd.Wait()
		_ = logFile.Close()
		close(m.exited)
	}()
	DeferCleanup(m.stop)
	Eventually(func() error {
		select {
		case <-m.exited:
			return StopTrying("the manager exited; see " + m.log)
		default:
		}
		return httpGetOK(ctx, fmt.Sprintf("http://127.0.0.1:%d/readyz", m.probePort))
	}).WithContext(ctx).Should(Succeed())
	return m
}

// stop terminates the manager (SIGTERM) and waits for it.
func (m *manager) stop() {
	select {
	case <-m.exited:
		return
	default:
	}
	_ = m.cmd.Process.Signal(os.Interrupt)
	select {
	case <-m.exited:
	case <-time.After(20 * time.Second):
		_ = m.cmd.Process.Kill()
		<-m.exited
	}
}

// kill ends the manager at once (SIGKILL), as a crash would.
func (m *manager) kill() {
	_ = m.cmd.Process.Kill()
	<-m.exited
}

// dumpOnFailure prints the managers' logs and the namespace's objects and events
// when the spec fails.
func dumpOnFailure(ns string, managers ...*manager) {
	DeferOnFailure(func() {
		for _, m := range managers {
			data, _ := os.ReadFile(m.log)
			GinkgoWriter.Printf("===== manager %s log (last 200 lines)\n%s\n", m.name, lastLines(string(data), 200))
		}
		if ns != "" {
			out, _ := kubectlErr("get", "orgrbac,events", "-n", ns, "-o", "yaml")
			GinkgoWriter.Printf("===== objects and events of %s\n%s\n", ns, out)
		}
	})
}

func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
