//go:build envtest

package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr/funcr"
	authv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
)

// startTestCluster starts a cluster with kube-controller-manager, or skips the
// test when no binaries are configured.
func startTestCluster(t *testing.T) (*Cluster, *kubernetes.Clientset) {
	t.Helper()
	if os.Getenv(AssetsEnv) == "" {
		t.Fatalf("%s is not set: it must name a folder with etcd, kube-apiserver, kube-controller-manager and kubectl "+
			"(`make test` builds them from source and sets it)", AssetsEnv)
	}
	ctrllog.SetLogger(funcr.New(func(prefix, args string) {
		fmt.Fprintln(os.Stderr, prefix, args)
	}, funcr.Options{}))

	logDir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	began := time.Now()
	c, err := Start(ctx, Options{WithControllerManager: true, LogDir: logDir})
	if err != nil {
		dumpLogs(t, logDir)
		t.Fatalf("Start: %v", err)
	}
	t.Logf("cluster with kube-controller-manager ready in %s at %s", time.Since(began).Round(time.Millisecond), c.Host())
	t.Cleanup(func() {
		if t.Failed() {
			dumpLogs(t, logDir)
		}
		if err := c.Stop(); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	cs, err := kubernetes.NewForConfig(c.Config())
	if err != nil {
		t.Fatal(err)
	}
	return c, cs
}

// dumpLogs prints the end of each component log.
func dumpLogs(t *testing.T, dir string) {
	t.Helper()
	for _, name := range []string{"kube-controller-manager.log", "kube-apiserver.log", "etcd.log"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			continue
		}
		lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
		if len(lines) > 40 {
			lines = lines[len(lines)-40:]
		}
		t.Logf("--- last lines of %s ---\n%s", name, strings.Join(lines, "\n"))
	}
}

// eventually polls cond every 250ms until it returns true or timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func(ctx context.Context) (bool, error)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	began := time.Now()
	var lastErr error
	for {
		ok, err := cond(ctx)
		if ok {
			t.Logf("%s: after %s", what, time.Since(began).Round(time.Millisecond))
			return
		}
		lastErr = err
		select {
		case <-ctx.Done():
			t.Fatalf("%s: not within %s (last error: %v)", what, timeout, lastErr)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func TestLocalClusterControllers(t *testing.T) {
	c, cs := startTestCluster(t)
	ctx := context.Background()

	t.Run("garbage collection of owned objects", func(t *testing.T) {
		cms := cs.CoreV1().ConfigMaps(metav1.NamespaceDefault)
		owner, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "gc-owner"}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		dependent := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{
			Name: "gc-dependent",
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "v1",
				Kind:       "ConfigMap",
				Name:       owner.Name,
				UID:        owner.UID,
			}},
		}}
		if _, err := cms.Create(ctx, dependent, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		// Background propagation: the owner goes at once, the garbage
		// collector must remove the dependent.
		bg := metav1.DeletePropagationBackground
		if err := cms.Delete(ctx, owner.Name, metav1.DeleteOptions{PropagationPolicy: &bg}); err != nil {
			t.Fatal(err)
		}
		eventually(t, 60*time.Second, "dependent ConfigMap garbage-collected", func(ctx context.Context) (bool, error) {
			_, err := cms.Get(ctx, dependent.Name, metav1.GetOptions{})
			return apierrors.IsNotFound(err), err
		})
	})

	t.Run("default ServiceAccount and root CA in a new namespace", func(t *testing.T) {
		ns, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "sa-"}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		eventually(t, 60*time.Second, "default ServiceAccount in "+ns.Name, func(ctx context.Context) (bool, error) {
			_, err := cs.CoreV1().ServiceAccounts(ns.Name).Get(ctx, "default", metav1.GetOptions{})
			return err == nil, err
		})
		eventually(t, 60*time.Second, "kube-root-ca.crt in "+ns.Name, func(ctx context.Context) (bool, error) {
			cm, err := cs.CoreV1().ConfigMaps(ns.Name).Get(ctx, "kube-root-ca.crt", metav1.GetOptions{})
			return err == nil && strings.Contains(cm.Data["ca.crt"], "BEGIN CERTIFICATE"), err
		})
		// The ServiceAccount admission plugin is on again, and the API server
		// can mint tokens with envtest's signing key.
		tr, err := cs.CoreV1().ServiceAccounts(ns.Name).CreateToken(ctx, "default", &authv1.TokenRequest{}, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("TokenRequest for %s/default: %v", ns.Name, err)
		}
		if tr.Status.Token == "" {
			t.Fatal("TokenRequest returned an empty token")
		}
	})

	t.Run("namespace deletion is finalized", func(t *testing.T) {
		ns, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "del-"}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		// Give the namespace content, so that the namespace controller has
		// something to delete before it can remove the finalizer.
		if _, err := cs.CoreV1().ConfigMaps(ns.Name).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "content"}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := cs.CoreV1().Namespaces().Delete(ctx, ns.Name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		eventually(t, 60*time.Second, "namespace "+ns.Name+" gone", func(ctx context.Context) (bool, error) {
			_, err := cs.CoreV1().Namespaces().Get(ctx, ns.Name, metav1.GetOptions{})
			return apierrors.IsNotFound(err), err
		})
	})

	t.Run("admin kubeconfig works with kubectl", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "kubeconfig")
		if err := c.WriteKubeconfig(path); err != nil {
			t.Fatal(err)
		}
		kubectl := filepath.Join(c.BinDir(), "kubectl")
		if _, err := os.Stat(kubectl); errors.Is(err, os.ErrNotExist) {
			t.Fatalf("no kubectl in %s", c.BinDir())
		}
		out, err := exec.Command(kubectl, "--kubeconfig", path, "get", "namespace", "kube-system", "-o", "name").CombinedOutput()
		if err != nil {
			t.Fatalf("kubectl: %v\n%s", err, out)
		}
		if got := strings.TrimSpace(string(out)); got != "namespace/kube-system" {
			t.Fatalf("kubectl printed %q", got)
		}
	})

	t.Run("non-admin user is subject to RBAC", func(t *testing.T) {
		cfg, err := c.AddUser("alice", "dev")
		if err != nil {
			t.Fatal(err)
		}
		alice, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			t.Fatal(err)
		}
		_, err = alice.CoreV1().Secrets(metav1.NamespaceDefault).List(ctx, metav1.ListOptions{})
		if !apierrors.IsForbidden(err) {
			t.Fatalf("listing secrets as alice: want Forbidden, got %v", err)
		}
	})

	if !c.ControllerManagerRunning() {
		t.Fatal("kube-controller-manager is not running any more")
	}
}

// TestStopLeavesNoProcesses checks that Stop waits for every child to exit.
func TestStopLeavesNoProcesses(t *testing.T) {
	c, _ := startTestCluster(t)
	kcmPid := c.kcm.Process.Pid
	// Each child's command line names a folder unique to this cluster.
	certDir := c.env.ControlPlane.APIServer.CertDir
	etcdDir := c.env.ControlPlane.Etcd.DataDir
	markers := map[string]string{
		"kube-apiserver":          "--cert-dir=" + certDir,
		"etcd":                    "--data-dir=" + etcdDir,
		"kube-controller-manager": "--kubeconfig=" + filepath.Join(c.dataDir, "kube-controller-manager.kubeconfig"),
	}
	for name, marker := range markers {
		if pids := pidsWithArg(marker); len(pids) != 1 {
			t.Fatalf("expected one running %s with %q, found pids %v", name, marker, pids)
		}
	}
	if err := c.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if c.ControllerManagerRunning() {
		t.Fatal("kube-controller-manager still running after Stop")
	}
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", kcmPid)); err == nil {
		t.Fatalf("process %d (kube-controller-manager) still exists after Stop", kcmPid)
	}
	for name, marker := range markers {
		if pids := pidsWithArg(marker); len(pids) != 0 {
			t.Fatalf("%s still running after Stop: pids %v", name, pids)
		}
	}
	if _, err := os.Stat(certDir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("envtest certificate folder %s not removed: %v", certDir, err)
	}
	if c.ownsData {
		if _, err := os.Stat(c.dataDir); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("data folder %s not removed: %v", c.dataDir, err)
		}
	}
	// Stop is idempotent.
	if err := c.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
}

// pidsWithArg returns the processes that have arg among their command-line
// arguments.
func pidsWithArg(arg string) []int {
	return findProcesses(func(argv []string) bool {
		return slices.Contains(argv[1:], arg)
	})
}

// TestStopStrays plays a crashed parent: the components of a running cluster
// on a fixed DataDir are what StopStrays must find and stop; Stop must cope
// with components that are already gone.
func TestStopStrays(t *testing.T) {
	if os.Getenv(AssetsEnv) == "" {
		t.Fatalf("%s is not set (`make test` sets it)", AssetsEnv)
	}
	dataDir := t.TempDir()
	c, err := Start(context.Background(), Options{DataDir: dataDir, WithControllerManager: true})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer func() { _ = c.Stop() }()
	pids, err := StopStrays(dataDir, 10*time.Second)
	if err != nil {
		t.Fatalf("StopStrays: %v", err)
	}
	if len(pids) != 3 {
		t.Fatalf("StopStrays stopped %v, want etcd, kube-apiserver and kube-controller-manager", pids)
	}
	if err := c.Stop(); err != nil {
		t.Fatalf("Stop after StopStrays: %v", err)
	}
	if pids, _ := StopStrays(dataDir, time.Second); len(pids) != 0 {
		t.Fatalf("processes left after Stop: %v", pids)
	}
	entries, _ := os.ReadDir(dataDir)
	for _, e := range entries {
		if e.Name() != "logs" {
			t.Errorf("Stop left %s in DataDir", e.Name())
		}
	}
}
