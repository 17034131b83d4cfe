package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// buildManager compiles ./cmd of the module at repo into dir/manager.
func buildManager(ctx context.Context, repo, dir string) (string, error) {
	bin := filepath.Join(dir, "manager")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd")
	cmd.Dir = repo
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build ./cmd: %w\n%s", err, out.String())
	}
	return bin, nil
}

// hasFlag reports whether the binary's -help output lists the flag.
func hasFlag(ctx context.Context, bin, flagName string) bool {
	out, _ := exec.CommandContext(ctx, bin, "-help").CombinedOutput()
	return bytes.Contains(out, []byte("-"+flagName+" "))
}

// managerProc is the manager running as a child process with its real flags.
type managerProc struct {
	cmd        *exec.Cmd
	metricsURL string
	healthURL  string
	pprofURL   string // empty when the manager has no pprof endpoint
	apiURL     string // the decision API, https://127.0.0.1:port
	exited     chan struct{}
	err        error // set before exited is closed
	logFile    *os.File
	http       *http.Client
}

// managerConfig are the settings of one manager start.
type managerConfig struct {
	bin        string
	kubeconfig string
	workers    int
	logPath    string
	pprof      bool
	// apiCertDir holds the decision API's serving certificate (--api-cert-dir).
	apiCertDir string
	// standby, when set, makes the manager a standby replica serving admission:
	// leader election on, in this namespace, for a lease the benchmark holds, and
	// the webhooks served at webhookURL (--webhook-local-url) with the generated
	// configuration webhookManifest installed while it runs.
	standby         string
	webhookURL      string
	webhookManifest string
}

// startManager starts the manager on loopback ports: plain-HTTP metrics
// (--metrics-secure=false), the decision API over HTTPS with the benchmark's
// certificate, no webhooks, no leader election (or a standby, cfg.standby).
func startManager(cfg managerConfig) (*managerProc, error) {
	ports, err := freePorts(4)
	if err != nil {
		return nil, err
	}
	addr := func(p int) string { return "127.0.0.1:" + strconv.Itoa(p) }
	args := []string{
		"--kubeconfig=" + cfg.kubeconfig,
		"--metrics-bind-address=" + addr(ports[0]),
		"--metrics-secure=false",
		"--health-probe-bind-address=" + addr(ports[1]),
		"--api-bind-address=" + addr(ports[2]),
		"--api-cert-dir=" + cfg.apiCertDir,
		"--max-concurrent-reconciles=" + strconv.Itoa(cfg.workers),
	}
	if cfg.standby != "" {
		args = append(args, "--leader-elect=true", "--leader-election-namespace="+cfg.standby,
			"--enable-webhooks=true", "--webhook-local-url="+cfg.webhookURL, "--webhook-local-manifest="+cfg.webhookManifest)
	} else {
		args = append(args, "--leader-elect=false", "--enable-webhooks=false")
	}
	m := &managerProc{
		metricsURL: "http://" + addr(ports[0]) + "/metrics",
		healthURL:  "http://" + addr(ports[1]) + "/readyz",
		apiURL:     "https://" + addr(ports[2]),
		exited:     make(chan struct{}),
		http:       &http.Client{Timeout: 10 * time.Minute},
	}
	if cfg.pprof {
		args = append(args, "--pprof-bind-address="+addr(ports[3]))
		m.pprofURL = "http://" + addr(ports[3]) + "/debug/pprof"
	}
	if m.logFile, err = os.OpenFile(cfg.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err != nil {
		return nil, fmt.Errorf("opening the manager log: %w", err)
	}
	m.cmd = exec.Command(cfg.bin, args...)
	m.cmd.Stdout = m.logFile
	m.cmd.Stderr = m.logFile
	m.cmd.SysProcAttr = childProcAttr()
	if err := m.cmd.Start(); err != nil {
		_ = m.logFile.Close()
		return nil, fmt.Errorf("starting the manager: %w", err)
	}
	go func() {
		m.err = m.cmd.Wait()
		_ = m.logFile.Close()
		close(m.exited)
	}()
	return m, nil
}

// alive returns a context that ends with ctx or when the manager exits, for
// waits that only the manager's work can end.
func (m *managerProc) alive(ctx context.Context) context.Context {
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		defer cancel()
		select {
		case <-m.exited:
		case <-ctx.Done():
		}
	}()
	return ctx
}

// exitError is err, or, when the manager has exited, why.
func (m *managerProc) exitError(err error) error {
	select {
	case <-m.exited:
		return errors.Join(fmt.Errorf("the manager exited (log: %s)", m.logFile.Name()), m.err)
	default:
		return err
	}
}

// pid is the manager's process id.
func (m *managerProc) pid() int { return m.cmd.Process.Pid }

// waitReady polls /readyz until it answers 200.
func (m *managerProc) waitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if _, err := m.get(ctx, m.healthURL); err == nil {
			return nil
		}
		select {
		case <-m.exited:
			return errors.Join(fmt.Errorf("the manager exited (log: %s)", m.logFile.Name()), m.err)
		case <-ctx.Done():
			return fmt.Errorf("the manager is not ready: %w", ctx.Err())
		case <-tick.C:
		}
	}
}

func (m *managerProc) get(ctx context.Context, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := m.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return body, nil
}

// scrape reads the manager's metrics.
func (m *managerProc) scrape(ctx context.Context) (snapshot, error) {
	body, err := m.get(ctx, m.metricsURL)
	if err != nil {
		return snapshot{}, fmt.Errorf("scraping the manager's metrics: %w", err)
	}
	samples, err := parseMetrics(bytes.NewReader(body))
	if err != nil {
		return snapshot{}, err
	}
	return summarize(samples), nil
}

// cpuProfile fetches a CPU profile of the given length into path.
func (m *managerProc) cpuProfile(ctx context.Context, seconds int, path string) error {
	return m.profile(ctx, fmt.Sprintf("profile?seconds=%d", seconds), path)
}

// heapProfile fetches a heap profile, taken after a garbage collection, into path.
func (m *managerProc) heapProfile(ctx context.Context, path string) error {
	return m.profile(ctx, "heap?gc=1", path)
}

func (m *managerProc) profile(ctx context.Context, query, path string) error {
	if m.pprofURL == "" {
		return errors.New("the manager has no pprof endpoint")
	}
	body, err := m.get(ctx, m.pprofURL+"/"+query)
	if err != nil {
		return fmt.Errorf("fetching the profile: %w", err)
	}
	if err := os.WriteFile(path, body, 0o644); err != nil {
		return fmt.Errorf("writing the profile: %w", err)
	}
	return nil
}

// managerStopTimeout is how long a manager has to exit after SIGTERM: its
// graceful shutdown (leader election released, queues drained) takes seconds.
const managerStopTimeout = 30 * time.Second

// stop sends SIGTERM and waits, killing the manager after managerStopTimeout.
func (m *managerProc) stop() error {
	timeout := managerStopTimeout
	select {
	case <-m.exited:
		return nil
	default:
	}
	if err := m.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signalling the manager: %w", err)
	}
	select {
	case <-m.exited:
		return nil
	case <-time.After(timeout):
	}
	_ = m.cmd.Process.Kill()
	<-m.exited
	return fmt.Errorf("the manager did not exit within %s of SIGTERM and was killed", timeout)
}

// memory is a process's resident memory from /proc/<pid>/status.
type memory struct {
	// Peak is VmHWM, the peak resident set size.
	Peak int64
	// Current is VmRSS.
	Current int64
}

func readMemory(pid int) (memory, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return memory{}, fmt.Errorf("reading process memory: %w", err)
	}
	return parseStatusMemory(string(data))
}

// parseStatusMemory reads VmHWM and VmRSS (in kB) from /proc/<pid>/status text.
func parseStatusMemory(status string) (memory, error) {
	var mem memory
	found := 0
	for line := range strings.Lines(status) {
		key, val, ok := strings.Cut(line, ":")
		if !ok || (key != "VmHWM" && key != "VmRSS") {
			continue
		}
		fields := strings.Fields(val)
		if len(fields) != 2 || fields[1] != "kB" {
			return mem, fmt.Errorf("unexpected %s line %q", key, line)
		}
		kb, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			return mem, fmt.Errorf("parsing %s: %w", key, err)
		}
		if key == "VmHWM" {
			mem.Peak = kb * 1024
		} else {
			mem.Current = kb * 1024
		}
		found++
	}
	if found != 2 {
		return mem, errors.New("VmHWM or VmRSS missing from process status")
	}
	return mem, nil
}

func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("finding a free port: %w", err)
		}
		ls = append(ls, l)
		addr, ok := l.Addr().(*net.TCPAddr)
		if !ok {
			return nil, fmt.Errorf("unexpected listener address %v", l.Addr())
		}
		ports = append(ports, addr.Port)
	}
	return ports, nil
}
