// Command localcluster runs the local development cluster (etcd,
// kube-apiserver and kube-controller-manager, see package test/cluster).
//
//	localcluster up   --dir .local [--bin-dir DIR] [--crds PATH,...] [--controller-manager=true]
//	localcluster down --dir .local [--timeout 30s]
//	localcluster certs --dir .local/api-certs [--hosts 127.0.0.1,localhost]
//
// "up" runs in the foreground until SIGTERM or SIGINT. It writes
//
//	<dir>/localcluster.pid  the pid of this process (written first)
//	<dir>/kubeconfig        admin (system:masters) kubeconfig
//	<dir>/ready             once the API server answers and kube-controller-manager runs
//	<dir>/logs/             etcd.log, kube-apiserver.log, kube-controller-manager.log
//
// and on shutdown removes "ready" first, stops everything, then removes the pid
// file. "down" sends SIGTERM to the pid in the pid file and waits for it to
// exit. Each start is a fresh, empty cluster. "certs" writes a throw-away CA
// (ca.crt) and a serving certificate signed by it (tls.crt, tls.key) for the
// decision API of a manager run by `make run`, so that callers verify it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/go-logr/logr/funcr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/orgrbac/orgrbac/internal/certs"
	"github.com/orgrbac/orgrbac/test/cluster"
)

const (
	pidFileName        = "localcluster.pid"
	readyFileName      = "ready"
	kubeconfigFileName = "kubeconfig"
	logDirName         = "logs"
	dataDirName        = "data"
)

func main() {
	log.SetFlags(log.LstdFlags)
	log.SetPrefix("localcluster: ")
	if len(os.Args) < 2 {
		usage(os.Stderr)
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "up":
		err = up(os.Args[2:])
	case "down":
		err = down(os.Args[2:])
	case "certs":
		err = writeCerts(os.Args[2:])
	case "-h", "--help", "help":
		usage(os.Stdout)
		return
	default:
		usage(os.Stderr)
		os.Exit(2)
	}
	if err != nil {
		log.Print(err)
		os.Exit(1)
	}
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage:
  localcluster up   --dir DIR [--bin-dir DIR] [--crds PATH,...] [--controller-manager=true] [--start-timeout 2m]
  localcluster down --dir DIR [--timeout 30s]
  localcluster certs --dir DIR [--hosts 127.0.0.1,localhost,::1] [--validity 720h]

up starts etcd, kube-apiserver and kube-controller-manager in the foreground
and writes DIR/kubeconfig, DIR/localcluster.pid, DIR/ready and DIR/logs/.
SIGTERM or SIGINT stops everything. down sends SIGTERM to the pid in
DIR/localcluster.pid and waits for it to exit.
Binaries come from --bin-dir, default $KUBEBUILDER_ASSETS. certs writes
DIR/ca.crt, DIR/tls.crt and DIR/tls.key: a new CA and a serving certificate
for the hosts, for the manager's --api-cert-dir.
`)
}

// writeCerts writes a new CA and a serving certificate signed by it.
func writeCerts(args []string) error {
	fs := flag.NewFlagSet("certs", flag.ContinueOnError)
	dir := fs.String("dir", filepath.Join(".local", "api-certs"), "folder for ca.crt, tls.crt and tls.key")
	hosts := fs.String("hosts", "127.0.0.1,localhost,::1", "comma-separated IP addresses and DNS names of the certificate")
	validity := fs.Duration("validity", 30*24*time.Hour, "how long the certificates are valid")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}
	ca, err := certs.SelfSigned(*dir, strings.Split(*hosts, ","), time.Now(), *validity)
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(*dir, "ca.crt"), ca)
}

func up(args []string) error {
	fs := flag.NewFlagSet("up", flag.ContinueOnError)
	dir := fs.String("dir", ".local", "state folder (kubeconfig, pid file, ready file, logs)")
	binDir := fs.String("bin-dir", os.Getenv(cluster.AssetsEnv), "folder with etcd, kube-apiserver, kube-controller-manager, kubectl (default $"+cluster.AssetsEnv+")")
	crds := fs.String("crds", "", "comma-separated CRD files or folders to install")
	withKCM := fs.Bool("controller-manager", true, "also run kube-controller-manager")
	startTimeout := fs.Duration("start-timeout", 2*time.Minute, "per-component start timeout")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", fs.Args())
	}

	absDir, err := filepath.Abs(*dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(absDir, 0o755); err != nil {
		return err
	}
	pidFile := filepath.Join(absDir, pidFileName)
	readyFile := filepath.Join(absDir, readyFileName)

	if pid, alive := runningPid(pidFile); alive {
		return fmt.Errorf("a local cluster is already running in %s (pid %d); run \"localcluster down --dir %s\" first", absDir, pid, *dir)
	}
	_ = os.Remove(readyFile)
	if err := writeFileAtomic(pidFile, []byte(strconv.Itoa(os.Getpid())+"\n")); err != nil {
		return err
	}
	defer os.Remove(pidFile)
	defer os.Remove(readyFile)

	ctrllog.SetLogger(funcr.New(func(prefix, args string) {
		log.Print(strings.TrimSpace(prefix + " " + args))
	}, funcr.Options{}))

	// Catch the signals before starting anything, so that a "down" during
	// start-up still stops what was started. Later signals are ignored while
	// shutting down (stopping takes bounded time; dying half-way would leak
	// the control-plane processes).
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	var crdPaths []string
	for _, p := range strings.Split(*crds, ",") {
		if p = strings.TrimSpace(p); p != "" {
			crdPaths = append(crdPaths, p)
		}
	}

	began := time.Now()
	log.Printf("starting control plane (binaries from %s, state in %s)", *binDir, absDir)
	c, err := cluster.Start(ctx, cluster.Options{
		BinDir:                *binDir,
		DataDir:               filepath.Join(absDir, dataDirName),
		LogDir:                filepath.Join(absDir, logDirName),
		CRDPaths:              crdPaths,
		WithControllerManager: *withKCM,
		StartTimeout:          *startTimeout,
	})
	if err != nil {
		return fmt.Errorf("starting the local cluster (logs in %s): %w", filepath.Join(absDir, logDirName), err)
	}
	defer func() {
		_ = os.Remove(readyFile)
		log.Print("stopping control plane")
		stopBegan := time.Now()
		if err := c.Stop(); err != nil {
			log.Printf("stop: %v", err)
		} else {
			log.Printf("stopped in %s", time.Since(stopBegan).Round(time.Millisecond))
		}
	}()

	kubeconfig := filepath.Join(absDir, kubeconfigFileName)
	if err := c.WriteKubeconfig(kubeconfig); err != nil {
		return err
	}
	readyNote := fmt.Sprintf("server=%s\nkubeconfig=%s\npid=%d\nstarted=%s\n",
		c.Host(), kubeconfig, os.Getpid(), time.Now().UTC().Format(time.RFC3339))
	if err := writeFileAtomic(readyFile, []byte(readyNote)); err != nil {
		return err
	}
	log.Printf("ready in %s: %s (controller manager: %t)", time.Since(began).Round(time.Millisecond), c.Host(), *withKCM)
	log.Printf("export KUBECONFIG=%s", kubeconfig)

	var kcmExited <-chan struct{}
	if *withKCM {
		kcmExited = c.ControllerManagerExited()
	}
	select {
	case <-ctx.Done():
		log.Print("signal received")
		return nil
	case <-kcmExited:
		return fmt.Errorf("kube-controller-manager exited unexpectedly; see %s",
			filepath.Join(c.LogDir(), "kube-controller-manager.log"))
	}
}

func down(args []string) error {
	fs := flag.NewFlagSet("down", flag.ContinueOnError)
	dir := fs.String("dir", ".local", "state folder given to \"up\"")
	timeout := fs.Duration("timeout", 30*time.Second, "how long to wait for the cluster to stop")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	pidFile := filepath.Join(*dir, pidFileName)
	pid, alive := runningPid(pidFile)
	if !alive {
		if pid == 0 {
			log.Printf("no local cluster running (no pid file %s)", pidFile)
		} else {
			log.Printf("pid %d from %s is not running; removing stale files", pid, pidFile)
			_ = os.Remove(pidFile)
			_ = os.Remove(filepath.Join(*dir, readyFileName))
		}
		// If "up" was killed with SIGKILL, etcd and kube-apiserver outlive it.
		strays, err := cluster.StopStrays(filepath.Join(*dir, dataDirName), *timeout)
		if len(strays) > 0 {
			log.Printf("stopped orphaned control-plane processes %v", strays)
		}
		return err
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		if errors.Is(err, syscall.ESRCH) {
			return nil
		}
		return fmt.Errorf("signalling pid %d: %w", pid, err)
	}
	log.Printf("sent SIGTERM to pid %d, waiting up to %s", pid, *timeout)
	deadline := time.Now().Add(*timeout)
	for time.Now().Before(deadline) {
		if !processAlive(pid) {
			log.Printf("local cluster stopped")
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("pid %d still running %s after SIGTERM; its logs are in %s",
		pid, *timeout, filepath.Join(*dir, logDirName))
}

// runningPid reads the pid file. It returns 0 when there is no usable pid
// file, and whether that pid is a live localcluster process.
func runningPid(pidFile string) (int, bool) {
	raw, err := os.ReadFile(pidFile)
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil || pid <= 0 {
		return 0, false
	}
	if pid == os.Getpid() {
		return pid, false
	}
	return pid, processAlive(pid) && isLocalcluster(pid)
}

// processAlive reports whether pid exists and is not a zombie.
func processAlive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	if runtime.GOOS != "linux" {
		return true
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return !errors.Is(err, os.ErrNotExist)
	}
	// Format: "pid (comm) state ...". comm may contain spaces and parens.
	s := string(stat)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z' && s[i+2] != 'X'
	}
	return true
}

// isLocalcluster guards against a recycled pid: on Linux it checks that the
// process runs a binary called localcluster (go run and go build both name
// it so). Elsewhere it trusts the pid file.
func isLocalcluster(pid int) bool {
	if runtime.GOOS != "linux" {
		return true
	}
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return true
	}
	argv0, _, _ := strings.Cut(string(raw), "\x00")
	return strings.Contains(filepath.Base(argv0), "localcluster")
}

// writeFileAtomic writes data next to path and renames it into place, so
// that pollers never read a partial file.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
