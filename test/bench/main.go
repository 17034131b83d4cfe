// Command bench is orgrbac's scale benchmark (issue 7). It starts the
// source-built control plane (etcd and kube-apiserver from test/cluster), builds
// the manager and runs it as a separate process with its real flags, generates a
// seeded synthetic environment, and measures the manager against the API
// server's own limit measured in the same run:
//
//   - setup: the environment created by a bare, unthrottled client; the manager's
//     RSS with no memberships (the baseline);
//   - coldstart: the manager started on N memberships, time until every one is
//     Ready with its expected source, peak RSS, API requests per membership;
//   - limit: a bare client doing the fan-out's status writes (same objects, same
//     concurrency as the manager's workers) as fast as it can;
//   - fanout: one role's permissions edited, time until every affected status
//     shows it, ratio to the limit, API writes ÷ memberships changed, and a CPU
//     profile of the manager when it serves pprof;
//   - idle: API writes in a quiet window after convergence (must be 0);
//   - revocation: a permission removed from a role, time until the decision API
//     denies it (at fan-out scale once, and in trials on a smaller role);
//   - api: the decision API's throughput and latency at concurrency 1/16/64 and
//     at half its peak, against a bare net/http handler behind the same TLS;
//     auth calls per check;
//   - library: pkg/authz's Allowed against casbin v2 (RBAC with domains) on the
//     same 100k-membership snapshot, in the test/bench/library module.
//
// The fan-out also times the published ConfigMaps, decoded, until they show
// the role edit. Phases are a list (see phases).
//
//	KUBEBUILDER_ASSETS=$(hack/controlplane.sh) go run ./test/bench --scale=10k --out=docs/bench-results
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/certs"
	"github.com/orgrbac/orgrbac/internal/publish"
	"github.com/orgrbac/orgrbac/internal/resolve"
	"github.com/orgrbac/orgrbac/test/cluster"
)

// config holds the command-line settings.
type config struct {
	scale         string
	memberships   int
	seed          uint64
	workers       int
	createWorkers int
	limitWorkers  int
	idle          time.Duration
	quiet         time.Duration
	timeout       time.Duration
	pprofSeconds  int
	// coldStartProfileSeconds is the length of the CPU profile taken from the
	// start of the cold start (0: none).
	coldStartProfileSeconds int
	out                     string
	repo                    string
	skip                    map[string]bool
	only                    map[string]bool

	revocationTrials int
	apiTokens        int
	apiConcurrency   []int
	// apiPaced are the fractions of the API's peak of the paced load levels.
	apiPaced []float64
	// gate is the performance gate's file (gate.go); empty: no gate.
	gate string
	// admission creates the memberships through a standby manager's admission
	// webhooks (admission.go); false: with the bare client alone.
	admission        bool
	apiDuration      time.Duration
	apiPin           bool
	apiMaxRequests   int
	libraryBenchtime string

	// serveBare and bareCertDir make this process the bare handler of the api
	// phase (the benchmark re-executes itself with them).
	serveBare   string
	bareCertDir string
}

func parseFlags(args []string) (config, error) {
	var c config
	var skip, only, conc, paced string
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.StringVar(&c.scale, "scale", "10k", "Number of memberships: 1k, 10k, 100k or a plain number.")
	fs.Uint64Var(&c.seed, "seed", 1, "Seed of the synthetic environment.")
	fs.IntVar(&c.workers, "max-concurrent-reconciles", 4, "The manager's --max-concurrent-reconciles.")
	fs.IntVar(&c.createWorkers, "create-workers", 16, "Parallel creates of the bare client during setup.")
	fs.IntVar(&c.limitWorkers, "limit-workers", 0, "Concurrency of the limit phase (0: the same as --max-concurrent-reconciles).")
	fs.DurationVar(&c.idle, "idle", 120*time.Second, "Length of the idle window after the fan-out.")
	fs.DurationVar(&c.quiet, "quiet", 5*time.Second,
		"After a convergence, how long the manager's write counter must stand still before the phase's counts are read.")
	fs.DurationVar(&c.timeout, "timeout", 0, "Longest wait for one convergence (0: scaled to --scale).")
	fs.IntVar(&c.coldStartProfileSeconds, "coldstart-profile-seconds", 60,
		"Length of the manager CPU profile taken from the start of the cold start (0: none).")
	fs.IntVar(&c.pprofSeconds, "pprof-seconds", 0,
		"Length of the manager CPU profile taken from the start of the fan-out (0: the limit phase's time plus half, at least 5 s).")
	fs.StringVar(&c.out, "out", "docs/bench-results", "Folder for <date>-<scale>.md and .json.")
	fs.StringVar(&c.repo, "repo", ".", "Root of the orgrbac module (holds cmd/ and config/crd/bases).")
	fs.StringVar(&skip, "skip", "", "Comma-separated phases to skip (limit, fanout, idle, restart, revocation, api, library).")
	fs.StringVar(&only, "only", "",
		"Comma-separated phases to run (setup and coldstart run too when one of them needs the cluster); e.g. --only=library.")
	fs.IntVar(&c.revocationTrials, "revocation-trials", 20, "Revocation trials (edit, wait for denial, restore, wait for allow).")
	fs.IntVar(&c.apiTokens, "api-tokens", 8, "ServiceAccount tokens the decision-API load uses in turn (as pods of one workload).")
	fs.StringVar(&conc, "api-concurrency", "1,16,64", "Closed-loop concurrencies of the decision-API load.")
	fs.StringVar(&paced, "api-paced", "0.9,0.5,0.1",
		"Comma-separated fractions of the API's peak at which paced loads measure latency (empty: none).")
	fs.BoolVar(&c.admission, "admission", true,
		"Create the memberships through a standby manager's admission webhooks, as in a cluster where orgrbac runs "+
			"(false: with the bare client alone, as objects applied before orgrbac was installed).")
	fs.StringVar(&c.gate, "gate", "",
		"A performance gate file (test/bench/gate.yaml): hold the run's ratios against its limits and fail when one is exceeded.")
	fs.DurationVar(&c.apiDuration, "api-duration", 8*time.Second, "Measured length of each decision-API load level (after 1 s of warm-up).")
	fs.BoolVar(&c.apiPin, "api-pin", true,
		"Pin the servers to CPU 0 and the load generator and control plane to the other CPUs during the decision-API phase.")
	fs.IntVar(&c.apiMaxRequests, "api-max-requests", 1000000, "Most requests of one decision-API load level.")
	fs.StringVar(&c.libraryBenchtime, "library-benchtime", "1s", "go test -benchtime of the library comparison.")
	fs.StringVar(&c.serveBare, "serve-bare", "", "Internal: serve the bare handler on this address and do nothing else.")
	fs.StringVar(&c.bareCertDir, "bare-cert-dir", "", "Internal: the bare handler's tls.crt and tls.key.")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	n, err := parseScale(c.scale)
	if err != nil {
		return c, err
	}
	c.memberships = n
	if c.workers < 1 || c.createWorkers < 1 || c.limitWorkers < 0 {
		return c, errors.New("worker counts must be positive")
	}
	if c.limitWorkers == 0 {
		c.limitWorkers = c.workers
	}
	if c.timeout == 0 {
		c.timeout = max(5*time.Minute, time.Duration(n)*20*time.Millisecond)
	}
	if c.revocationTrials < 0 || c.apiTokens < 1 || c.apiDuration <= 0 || c.apiMaxRequests < 1 {
		return c, errors.New("--revocation-trials, --api-tokens, --api-duration and --api-max-requests must be positive")
	}
	for s := range strings.SplitSeq(conc, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return c, fmt.Errorf("bad --api-concurrency %q", conc)
		}
		c.apiConcurrency = append(c.apiConcurrency, n)
	}
	for s := range strings.SplitSeq(paced, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || f <= 0 || f > 1 {
			return c, fmt.Errorf("bad --api-paced %q: want fractions in (0, 1]", paced)
		}
		c.apiPaced = append(c.apiPaced, f)
	}
	c.skip, c.only = nameSet(skip), nameSet(only)
	for name := range c.only {
		if !slices.ContainsFunc(phases, func(p phase) bool { return p.name == name }) {
			return c, fmt.Errorf("unknown phase %q in --only", name)
		}
	}
	return c, nil
}

// nameSet splits a comma-separated list into a set.
func nameSet(list string) map[string]bool {
	out := map[string]bool{}
	for s := range strings.SplitSeq(list, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out[s] = true
		}
	}
	return out
}

// parseScale reads "10k", "100k", "1500" as a membership count.
func parseScale(s string) (int, error) {
	mult := 1
	num := strings.ToLower(strings.TrimSpace(s))
	if rest, ok := strings.CutSuffix(num, "k"); ok {
		mult, num = 1000, rest
	}
	n, err := strconv.Atoi(num)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("bad --scale %q: want a positive count such as 10k", s)
	}
	return n * mult, nil
}

// bench is the state shared by the phases of one run.
type bench struct {
	cfg        config
	w          *world
	cl         *cluster.Cluster
	c          client.Client
	scheme     *runtime.Scheme
	workDir    string
	kubeconfig string
	mgrBin     string
	hasPprof   bool
	mgr        *managerProc
	t          *tracker
	cpu        *cpuMeter
	res        *results
	// baselineRSS is the manager's RSS with every object but the memberships.
	baselineRSS int64
	// profile is the pending CPU profile of the fan-out, if any.
	profile chan error
	// certDir holds the decision API's serving certificate, certPEM its PEM.
	certDir string
	certPEM []byte
	// api calls the decision API as the benchmark's ServiceAccount (set up by
	// the first phase that needs it).
	api *apiCaller
	// resolved is the pure resolver's result for every membership of w.
	resolved []resolve.Result
}

// phase is one step of the benchmark.
type phase struct {
	name string
	run  func(*bench, context.Context) error
	// cluster is true when the phase needs the control plane and the manager.
	cluster bool
}

// phases run in order; setup and coldstart cannot be skipped when a phase needs
// the cluster.
var phases = []phase{
	{"setup", (*bench).setup, true},
	{"coldstart", (*bench).coldStart, true},
	{"limit", (*bench).limit, true},
	{"fanout", (*bench).fanOut, true},
	{"idle", (*bench).idleWindow, true},
	{"restart", (*bench).restart, true},
	{"revocation", (*bench).revocation, true},
	{"api", (*bench).decisionAPI, true},
	{"library", (*bench).library, false},
}

// selectPhases returns the phases to run: --only's (with setup and coldstart
// when one of them needs the cluster), else every phase but --skip's.
func selectPhases(only, skip map[string]bool) []phase {
	var out []phase
	needCluster := false
	for _, p := range phases {
		if only[p.name] && p.cluster {
			needCluster = true
		}
	}
	for _, p := range phases {
		base := p.name == "setup" || p.name == "coldstart"
		if len(only) > 0 {
			if only[p.name] || (needCluster && base) {
				out = append(out, p)
			}
		} else if !skip[p.name] || base {
			out = append(out, p)
		}
	}
	return out
}

var started = time.Now()

func logf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "[%6.1fs] %s\n", time.Since(started).Seconds(), fmt.Sprintf(format, a...))
}

func main() {
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		os.Exit(2)
	}
	if cfg.serveBare != "" {
		if err := serveBare(cfg.serveBare, cfg.bareCertDir); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	// controller-runtime's cache (the tracker) logs through this logger.
	ctrllog.SetLogger(zap.New(zap.WriteTo(os.Stderr)))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg); err != nil {
		logf("FAILED: %v", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg config) (retErr error) {
	b := &bench{cfg: cfg, scheme: runtime.NewScheme()}
	utilruntime.Must(clientgoscheme.AddToScheme(b.scheme))
	utilruntime.Must(orgrbacv1alpha1.AddToScheme(b.scheme))
	selected := selectPhases(cfg.only, cfg.skip)
	needCluster := slices.ContainsFunc(selected, func(p phase) bool { return p.cluster })

	var err error
	if b.workDir, err = os.MkdirTemp("", "orgrbac-bench-"); err != nil {
		return err
	}
	logf("work folder %s (manager and control-plane logs; removed on success)", b.workDir)
	defer func() {
		if retErr == nil {
			_ = os.RemoveAll(b.workDir)
		}
	}()
	binDir := os.Getenv(cluster.AssetsEnv)
	b.cpu = &cpuMeter{pids: map[string]int{"bench": os.Getpid()}}
	b.res = &results{
		Date:         started.Format("2006-01-02"),
		Scale:        cfg.scale,
		Seed:         cfg.seed,
		Command:      commandLine(),
		Machine:      machineFacts(ctx, binDir),
		Workers:      cfg.workers,
		PhaseSeconds: map[string]float64{},
	}
	if !needCluster {
		b.res.Scale = "library"
	}
	if needCluster {
		stop, err := b.startCluster(ctx, binDir)
		if stop != nil {
			defer stop()
		}
		if err != nil {
			return err
		}
	}
	// The watches end before the control plane stops (defers run last first).
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	for _, p := range selected {
		logf("phase %s", p.name)
		t0 := time.Now()
		if err := p.run(b, ctx); err != nil {
			err = fmt.Errorf("phase %s: %w (logs in %s)", p.name, err, b.workDir)
			// What the phases before it measured is kept, in a report named
			// as failed.
			b.res.Notes = append(b.res.Notes, fmt.Sprintf("FAILED: %v; the phases before it completed.", err))
			b.res.evaluate()
			return errors.Join(err, b.writeAs("-failed"))
		}
		b.res.PhaseSeconds[p.name] = round3(time.Since(t0).Seconds())
	}
	b.finishProfile(ctx)
	if cfg.gate != "" {
		logf("performance gate %s", cfg.gate)
		if err := b.runGate(ctx); err != nil {
			return err
		}
	}
	b.res.evaluate()
	if err := b.write(); err != nil {
		return err
	}
	return gateFailure(b.res.Gate)
}

// startCluster builds the manager, starts etcd and kube-apiserver, and creates
// the decision API's certificate and the bare client. stop stops the manager
// and the control plane.
func (b *bench) startCluster(ctx context.Context, binDir string) (stop func(), err error) {
	logf("building the manager")
	if b.mgrBin, err = buildManager(ctx, b.cfg.repo, b.workDir); err != nil {
		return nil, err
	}
	b.hasPprof = hasFlag(ctx, b.mgrBin, "pprof-bind-address")
	if !b.hasPprof {
		b.res.Notes = append(b.res.Notes, "The manager has no --pprof-bind-address flag yet, so no CPU profile was taken; "+
			"the per-process CPU seconds show where the time goes.")
	}
	b.certDir = filepath.Join(b.workDir, "api-cert")
	// The decision API's serving certificate, signed by a CA made for the run,
	// written by the manager's own local-mode generator; the load trusts the CA.
	if b.certPEM, err = certs.SelfSigned(b.certDir, []string{"127.0.0.1", "localhost"}, time.Now(), 7*24*time.Hour); err != nil {
		return nil, fmt.Errorf("the decision API's certificate: %w", err)
	}

	dataDir := filepath.Join(b.workDir, "cluster")
	logf("starting etcd and kube-apiserver from %s", binDir)
	b.cl, err = cluster.Start(ctx, cluster.Options{
		BinDir:   binDir,
		DataDir:  dataDir,
		LogDir:   filepath.Join(b.workDir, "logs"),
		CRDPaths: []string{filepath.Join(b.cfg.repo, "config", "crd", "bases")},
		// etcd's default 2 GiB quota fills at 100k memberships ("database space
		// exceeded" seen in the first 100k run).
		EtcdQuotaBytes: 8 << 30,
	})
	if err != nil {
		return nil, fmt.Errorf("starting the control plane: %w", err)
	}
	stop = func() {
		if b.mgr != nil {
			if err := b.mgr.stop(); err != nil {
				logf("%v", err)
			}
		}
		if err := b.cl.Stop(); err != nil {
			logf("stopping the control plane: %v", err)
		}
	}
	b.res.Machine.Kubernetes = machineFacts(ctx, b.cl.BinDir()).Kubernetes
	b.kubeconfig = filepath.Join(b.workDir, "kubeconfig")
	if err := b.cl.WriteKubeconfig(b.kubeconfig); err != nil {
		return stop, err
	}
	rc := b.cl.Config()
	rc.QPS = -1 // unthrottled: the bare client is the yardstick
	if b.c, err = client.New(rc, client.Options{Scheme: b.scheme}); err != nil {
		return stop, fmt.Errorf("creating the client: %w", err)
	}
	b.cpu.pids["kube-apiserver"] = findProcess(filepath.Join(b.cl.BinDir(), "kube-apiserver"), dataDir)
	b.cpu.pids["etcd"] = findProcess(filepath.Join(b.cl.BinDir(), "etcd"), dataDir)
	return stop, nil
}

// commandLine is how this run was invoked, for the report.
func commandLine() string {
	if s := strings.TrimSpace(os.Getenv("BENCH_COMMAND")); s != "" {
		return s
	}
	return "go run ./test/bench " + strings.Join(os.Args[1:], " ")
}

// write stores the results as <date>-<scale>.{md,json} in the output folder and
// prints the markdown.
func (b *bench) write() error { return b.writeAs("") }

// writeAs writes the report with suffix after the date and scale in its names.
func (b *bench) writeAs(suffix string) error {
	if err := os.MkdirAll(b.cfg.out, 0o755); err != nil {
		return err
	}
	base := filepath.Join(b.cfg.out, fmt.Sprintf("%s-%s%s", b.res.Date, b.res.Scale, suffix))
	js, err := b.res.json()
	if err != nil {
		return err
	}
	md := b.res.markdown()
	if err := os.WriteFile(base+".json", js, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(base+".md", []byte(md), 0o644); err != nil {
		return err
	}
	fmt.Print(md)
	logf("results written to %s.{md,json}", base)
	return nil
}

// parallel runs f(i) for i in [0, n) on workers goroutines and returns the first
// error; after an error the remaining items are skipped.
func parallel(ctx context.Context, n, workers int, f func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var next atomic.Int64
	var once sync.Once
	var first error
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := f(ctx, i); err != nil {
					once.Do(func() { first = err; cancel() })
					return
				}
			}
		})
	}
	wg.Wait()
	if first == nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return first
}

func createAll[T client.Object](ctx context.Context, c client.Client, objs []T, workers int) error {
	return parallel(ctx, len(objs), workers, func(ctx context.Context, i int) error {
		if err := c.Create(ctx, objs[i]); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating %s: %w", objs[i].GetName(), err)
		}
		return nil
	})
}

// startManager starts the manager and waits for its readiness probe.
func (b *bench) startManager(ctx context.Context) error {
	m, err := startManager(managerConfig{
		bin: b.mgrBin, kubeconfig: b.kubeconfig, workers: b.cfg.workers,
		logPath: filepath.Join(b.workDir, "manager.log"), pprof: b.hasPprof, apiCertDir: b.certDir,
	})
	if err != nil {
		return err
	}
	b.mgr = m
	b.cpu.pids["manager"] = m.pid()
	// As long as the manager itself waits for its caches (--cache-sync-timeout).
	return m.waitReady(ctx, 10*time.Minute)
}

// waitQuiet waits until the manager's write counter has stood still for
// cfg.quiet (at most max(cfg.quiet*6, 1m)) and returns the last snapshot.
func (b *bench) waitQuiet(ctx context.Context) (snapshot, error) {
	return b.waitQuietWithin(ctx, max(b.cfg.quiet*6, time.Minute))
}

// waitQuietWithin is waitQuiet that waits at most limit.
func (b *bench) waitQuietWithin(ctx context.Context, limit time.Duration) (snapshot, error) {
	// Changes not yet in the event log are writes to come: the emitter waits
	// while memberships settle and after a long emission.
	return b.waitStill(ctx, b.cfg.quiet, limit, "the manager kept writing; counting anyway",
		func(prev, next snapshot) bool {
			return writes(next.Requests) != writes(prev.Requests) || next.EmitLag > 0
		})
}

// baselineQuiet bounds the wait for the baseline manager to finish: it writes
// every object's status and, for the organization roles and mappings created
// before any manager ran, their owner references (5,688 of them at 100k), which
// the cold start must find done.
const baselineQuiet = 10 * time.Minute

// waitStill scrapes the manager every half second until moved has reported no
// change between two scrapes for hold (at most until limit has passed, which
// is logged as note) and returns the last snapshot.
func (b *bench) waitStill(ctx context.Context, hold, limit time.Duration, note string,
	moved func(prev, next snapshot) bool) (snapshot, error) {
	deadline := time.Now().Add(limit)
	s, err := b.mgr.scrape(ctx)
	if err != nil {
		return s, err
	}
	since := time.Now()
	for time.Since(since) < hold {
		if time.Now().After(deadline) {
			logf("  %s", note)
			return s, nil
		}
		select {
		case <-ctx.Done():
			return s, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
		next, err := b.mgr.scrape(ctx)
		if err != nil {
			return s, err
		}
		if moved(s, next) {
			since = time.Now()
		}
		s = next
	}
	return s, nil
}

// setup creates the environment: everything but the memberships first, then a
// baseline manager run, then the memberships with the manager stopped.
func (b *bench) setup(ctx context.Context) error {
	b.w = generate(b.cfg.memberships, b.cfg.seed)
	w := b.w
	bySource := map[string]int{}
	for k, v := range w.sourceCounts() {
		bySource[string(k)] = v
	}
	b.res.Environment = environment{
		Memberships: len(w.Memberships), Organizations: len(w.Organizations), Roles: len(w.Roles),
		OrganizationRoles: len(w.OrganizationRoles), GroupMappings: len(w.GroupMappings),
		Permissions: len(w.Permissions), BySource: bySource, FanOutMembers: len(w.fanOutNames()),
	}
	logf("  %d memberships, %d organizations, %d roles, %d organization roles, %d mappings, %d permissions",
		len(w.Memberships), len(w.Organizations), len(w.Roles), len(w.OrganizationRoles), len(w.GroupMappings), len(w.Permissions))

	if err := b.c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: w.Namespace}}); err != nil {
		return fmt.Errorf("creating the namespace: %w", err)
	}
	n := b.cfg.createWorkers
	if err := b.c.Create(ctx, w.Environment); err != nil {
		return fmt.Errorf("creating the environment: %w", err)
	}
	if err := createAll(ctx, b.c, w.Permissions, n); err != nil {
		return err
	}
	// Roles one by one: their creation order is their priority order.
	for _, r := range w.Roles {
		if err := b.c.Create(ctx, r); err != nil {
			return fmt.Errorf("creating role %s: %w", r.Name, err)
		}
	}
	if err := createAll(ctx, b.c, w.Organizations, n); err != nil {
		return err
	}
	if err := createAll(ctx, b.c, w.OrganizationRoles, n); err != nil {
		return err
	}
	if err := createAll(ctx, b.c, w.GroupMappings, n); err != nil {
		return err
	}

	logf("  baseline: the manager on the environment without memberships")
	if err := b.startManager(ctx); err != nil {
		return err
	}
	if _, err := b.waitQuietWithin(ctx, baselineQuiet); err != nil {
		return err
	}
	mem, err := readMemory(b.mgr.pid())
	if err != nil {
		return err
	}
	b.baselineRSS = mem.Current
	b.res.Setup.BaselineRSSBytes = mem.Current
	if err := b.mgr.stop(); err != nil {
		return err
	}
	b.mgr = nil
	logf("  baseline RSS %s", mib(mem.Current))

	if b.t, err = startTracker(ctx, b.cl.Config(), b.scheme, w.Namespace); err != nil {
		return err
	}
	stopAdmission := func() error { return nil }
	how := "with the bare client (no orgrbac running: no ownerReferences)"
	if b.cfg.admission {
		logf("  a standby manager serves the admission webhooks (the benchmark holds the leader lease)")
		stop, err := b.startAdmission(ctx)
		if err != nil {
			if stop != nil {
				err = errors.Join(err, stop())
			}
			return err
		}
		stopAdmission, how = stop, "through the admission webhooks"
	}
	logf("  creating %d memberships with %d workers %s", len(w.Memberships), n, how)
	t0 := time.Now()
	if err := createAll(ctx, b.c, w.Memberships, n); err != nil {
		return errors.Join(err, stopAdmission())
	}
	d := time.Since(t0).Seconds()
	if err := stopAdmission(); err != nil {
		return err
	}
	b.res.Setup.ThroughAdmission = b.cfg.admission
	b.res.Setup.CreateWorkers = n
	b.res.Setup.MembershipsSeconds = round3(d)
	b.res.Setup.CreatesPerSecond = round3(float64(len(w.Memberships)) / d)
	logf("  created in %.1f s (%.0f/s)", d, float64(len(w.Memberships))/d)
	return nil
}

// coldStart starts the manager on the populated environment and times it until
// every membership is Ready with its expected source.
func (b *bench) coldStart(ctx context.Context) error {
	names := b.w.membershipNames()
	w0, err := b.apiserverWriteCounts(ctx)
	if err != nil {
		return err
	}
	cpu0 := b.cpu.read()
	t0 := time.Now()
	g := b.t.await(names, t0, func(name string, s *mstate) bool { return s.readyAs(b.w.Expected[name].Source) })
	if err := b.startManager(ctx); err != nil {
		return err
	}
	// A CPU profile of the cold start's first minute: where the manager's
	// share of the two cores goes while it competes with the API server.
	cpuProfile, cpuPath := make(chan error, 1), ""
	if b.hasPprof && b.cfg.coldStartProfileSeconds > 0 {
		if cpuPath, err = b.profilePath("coldstart-cpu"); err != nil {
			return err
		}
		go func() { cpuProfile <- b.mgr.cpuProfile(ctx, b.cfg.coldStartProfileSeconds, cpuPath) }()
	}
	times, err := b.t.wait(b.mgr.alive(ctx), g, b.cfg.timeout, "cold start")
	if err != nil {
		return b.mgr.exitError(err)
	}
	conv := times[len(times)-1]
	logf("  every membership Ready after %.1f s", conv.Seconds())
	mem, err := readMemory(b.mgr.pid())
	if err != nil {
		return err
	}
	cpu1 := b.cpu.read()
	s, err := b.waitQuiet(ctx)
	if err != nil {
		return err
	}
	samples, err := b.apiserverMetrics(ctx)
	if err != nil {
		return err
	}
	n := float64(len(names))
	b.res.ColdStart = &coldStart{
		APIServerWrites:           delta(w0, apiserverWrites(samples)),
		StorageBytes:              storageSize(samples),
		Seconds:                   round3(conv.Seconds()),
		P50Seconds:                round3(percentile(times, 50).Seconds()),
		P99Seconds:                round3(percentile(times, 99).Seconds()),
		PeakRSSBytes:              mem.Peak,
		RSSBytes:                  mem.Current,
		HeapInuseBytes:            s.HeapInuse,
		Memstats:                  s.Memstats,
		PeakRSSPerMembership:      round3(float64(mem.Peak) / n),
		MarginalRSSPerMembership:  round3(float64(mem.Peak-b.baselineRSS) / n),
		Requests:                  s.Requests,
		RequestsByCode:            s.RequestsByCode,
		RequestsPerMembership:     round3(total(s.Requests) / n),
		WritesPerMembership:       round3(writes(s.Requests) / n),
		Reconciles:                s.Reconciles,
		ReconcileSeconds:          roundAll(s.ReconcileSeconds),
		CPUSeconds:                roundAll(delta(cpu0, cpu1)),
		MembershipStatusWriteRate: round3(n / conv.Seconds()),
		Orgrbac:                   roundAll(s.Orgrbac),
	}
	logf("  peak RSS %s (%.2f KiB per membership), %.2f requests per membership",
		mib(mem.Peak), float64(mem.Peak)/n/1024, total(s.Requests)/n)
	if cpuPath != "" {
		if err := <-cpuProfile; err != nil {
			logf("cold start CPU profile: %v", err)
		} else {
			b.res.ColdStart.CPUProfile, b.res.ColdStart.CPUProfileSeconds = cpuPath, b.cfg.coldStartProfileSeconds
			b.profileTop(ctx, cpuPath)
		}
	}
	if b.hasPprof {
		path, err := b.profilePath("coldstart-heap")
		if err != nil {
			return err
		}
		if err := b.mgr.heapProfile(ctx, path); err != nil {
			logf("heap profile: %v", err)
		} else {
			b.res.ColdStart.HeapProfile = path
			b.profileTop(ctx, path)
		}
	}
	return nil
}

// limit has a bare client write the fan-out memberships' statuses as fast as it
// can with the manager's concurrency: each merge patch sends the conditions the
// membership already has with the Ready condition's lastTransitionTime moved by
// one second, a real change the manager neither reacts to nor reverts.
func (b *bench) limit(ctx context.Context) error {
	var err error
	if b.res.Limit, err = b.measureLimit(ctx, b.w.fanOutNames()); err != nil {
		return err
	}
	// The cold start's limit: every membership's status, as a cold start
	// writes them all.
	b.res.LimitAll, err = b.measureLimit(ctx, b.w.membershipNames())
	return err
}

// measureLimit writes the statuses of the memberships names with the bare
// client, cfg.limitWorkers at a time, and returns how fast the API server took
// them.
func (b *bench) measureLimit(ctx context.Context, names []string) (*limitResult, error) {
	want := make(map[string]bool, len(names))
	for _, n := range names {
		want[n] = true
	}
	bodies := make(map[string][]byte, len(names))
	var list orgrbacv1alpha1.MembershipList
	for cont := ""; ; {
		if err := b.c.List(ctx, &list, client.InNamespace(b.w.Namespace), client.Limit(500), client.Continue(cont)); err != nil {
			return nil, fmt.Errorf("listing memberships: %w", err)
		}
		for i := range list.Items {
			m := &list.Items[i]
			if !want[m.Name] {
				continue
			}
			body, err := bumpedConditions(m.Status.Conditions)
			if err != nil {
				return nil, fmt.Errorf("membership %s: %w", m.Name, err)
			}
			bodies[m.Name] = body
		}
		if cont = list.Continue; cont == "" {
			break
		}
	}
	if len(bodies) != len(names) {
		return nil, fmt.Errorf("found %d of the %d memberships", len(bodies), len(names))
	}

	before, err := b.mgr.scrape(ctx)
	if err != nil {
		return nil, err
	}
	cpu0 := b.cpu.read()
	workers := b.cfg.limitWorkers
	t0 := time.Now()
	err = parallel(ctx, len(names), workers, func(ctx context.Context, i int) error {
		m := &orgrbacv1alpha1.Membership{ObjectMeta: metav1.ObjectMeta{Namespace: b.w.Namespace, Name: names[i]}}
		if err := b.c.Status().Patch(ctx, m, client.RawPatch(types.MergePatchType, bodies[names[i]])); err != nil {
			return fmt.Errorf("patching %s: %w", names[i], err)
		}
		return nil
	})
	d := time.Since(t0)
	if err != nil {
		return nil, err
	}
	cpu1 := b.cpu.read()
	after, err := b.waitQuiet(ctx)
	if err != nil {
		return nil, err
	}
	res := &limitResult{
		Writes:          len(names),
		Concurrency:     workers,
		Seconds:         round3(d.Seconds()),
		WritesPerSecond: round3(float64(len(names)) / d.Seconds()),
		ManagerWrites:   writes(delta(before.Requests, after.Requests)),
		Orgrbac:         roundAll(delta(before.Orgrbac, after.Orgrbac)),
		CPUSeconds:      roundAll(delta(cpu0, cpu1)),
	}
	logf("  %d status writes in %.1f s (%.0f/s) with %d workers", len(names), d.Seconds(), float64(len(names))/d.Seconds(), workers)
	return res, nil
}

// bumpedConditions is the merge patch {"status":{"conditions":...}} with the
// Ready condition's lastTransitionTime one second later.
func bumpedConditions(conds []metav1.Condition) ([]byte, error) {
	out := make([]metav1.Condition, len(conds))
	copy(out, conds)
	c := meta.FindStatusCondition(out, orgrbacv1alpha1.ConditionReady)
	if c == nil {
		return nil, errors.New("no Ready condition")
	}
	c.LastTransitionTime = metav1.NewTime(c.LastTransitionTime.Add(time.Second))
	body, err := json.Marshal(map[string]any{"status": map[string]any{"conditions": out}})
	if err != nil {
		return nil, fmt.Errorf("encoding the patch: %w", err)
	}
	return body, nil
}

// fanOut adds a permission to the fan-out role and times it until every affected
// membership's status lists it.
func (b *bench) fanOut(ctx context.Context) error {
	marker := markerPrefix + "fanout-" + strconv.FormatUint(b.cfg.seed, 10)
	// The permission exists first, so that the role edit is the only change.
	perm := &orgrbacv1alpha1.Permission{
		ObjectMeta: metav1.ObjectMeta{Namespace: b.w.Namespace, Name: strings.NewReplacer(":", "-").Replace(marker)},
		Spec:       orgrbacv1alpha1.PermissionSpec{Slug: marker},
	}
	if err := b.c.Create(ctx, perm); err != nil {
		return fmt.Errorf("creating permission %s: %w", marker, err)
	}
	var role orgrbacv1alpha1.Role
	if err := b.c.Get(ctx, types.NamespacedName{Namespace: b.w.Namespace, Name: fanOutRole}, &role); err != nil {
		return fmt.Errorf("reading role %s: %w", fanOutRole, err)
	}
	before, err := b.waitQuiet(ctx)
	if err != nil {
		return err
	}
	names := b.w.fanOutNames()
	b.t.resetUpdates()
	cpu0 := b.cpu.read()

	profilePath := ""
	if b.hasPprof {
		var err error
		if profilePath, err = b.profilePath("fanout"); err != nil {
			return err
		}
		seconds := b.cfg.pprofSeconds
		if seconds == 0 {
			seconds = 30
			if l := b.res.Limit; l != nil {
				seconds = max(5, int(l.Seconds*1.5+0.5))
			}
		}
		b.profile = make(chan error, 1)
		go func() { b.profile <- b.mgr.cpuProfile(ctx, seconds, profilePath) }()
	}

	// The published ConfigMaps, decoded as a workload would, through their own watch.
	pubCtx, stopPub := context.WithCancel(ctx)
	defer stopPub()
	pub, err := startPublishedWatcher(pubCtx, b.cl.Config(), b.scheme, b.w.Namespace)
	if err != nil {
		return err
	}
	snap0, err := pub.settled(ctx, b.cfg.timeout)
	if err != nil {
		return fmt.Errorf("before the fan-out: %w", err)
	}

	t0 := time.Now()
	g := b.t.await(names, t0, func(_ string, s *mstate) bool { return s.hasMarker(marker) })
	pg := pub.await(t0, func(s *publish.Snapshot) bool { return roleHas(s, fanOutRole, marker) })
	patched := role.DeepCopy()
	patched.Spec.Permissions = append(patched.Spec.Permissions, marker)
	if err := b.c.Patch(ctx, patched, client.MergeFrom(&role)); err != nil {
		return fmt.Errorf("editing role %s: %w", fanOutRole, err)
	}
	times, err := b.t.wait(ctx, g, b.cfg.timeout, "fan-out")
	if err != nil {
		return err
	}
	conv := times[len(times)-1]
	cpu1 := b.cpu.read()
	logf("  every affected membership shows %s after %.1f s", marker, conv.Seconds())
	cmTime, snap1, err := pub.wait(ctx, pg, b.cfg.timeout)
	if err != nil {
		return err
	}
	_, cms, cmBytes, _ := pub.current()
	logf("  the published ConfigMaps show it after %.2f s (revision %d → %d, %d ConfigMaps, %d bytes)",
		cmTime.Seconds(), snap0.Revision, snap1.Revision, cms, cmBytes)
	after, err := b.waitQuiet(ctx)
	if err != nil {
		return err
	}
	objects, changes := b.t.updateCounts()
	w := delta(before.Requests, after.Requests)
	for k := range w {
		if !isMutating(k) {
			delete(w, k)
		}
	}
	n := float64(len(names))
	f := &fanOutResult{
		Affected:         len(names),
		Seconds:          round3(conv.Seconds()),
		P50Seconds:       round3(percentile(times, 50).Seconds()),
		P99Seconds:       round3(percentile(times, 99).Seconds()),
		PerSecond:        round3(n / conv.Seconds()),
		ObjectsWritten:   objects,
		ObjectChanges:    changes,
		Writes:           w,
		StatusWrites:     w["PATCH"] + w["PUT"],
		WritesPerChanged: round3(writes(w) / n),
		Reconciles:       delta(before.Reconciles, after.Reconciles),
		ReconcileSeconds: roundAll(delta(before.ReconcileSeconds, after.ReconcileSeconds)),
		CPUSeconds:       roundAll(delta(cpu0, cpu1)),
		Orgrbac:          roundAll(delta(before.Orgrbac, after.Orgrbac)),
		Profile:          profilePath,
		ConfigMaps: &publishedResult{
			Seconds: round3(cmTime.Seconds()), RevisionBefore: snap0.Revision, RevisionAfter: snap1.Revision,
			ConfigMaps: cms, Bytes: cmBytes,
		},
	}
	if l := b.res.Limit; l != nil {
		f.RatioToLimit = round3(ratio(conv.Seconds(), l.Seconds))
		f.ConfigMaps.RatioToLimit = round3(ratio(cmTime.Seconds(), l.Seconds))
	}
	b.res.FanOut = f
	logf("  %.0f writes for %d changed memberships (%.3f each), ratio to the limit %.2f",
		writes(w), len(names), f.WritesPerChanged, f.RatioToLimit)
	return nil
}

func isMutating(method string) bool { return slices.Contains(mutatingMethods, method) }

// idleWindow counts the manager's writes in a quiet window after convergence.
func (b *bench) idleWindow(ctx context.Context) error {
	before, err := b.mgr.scrape(ctx)
	if err != nil {
		return err
	}
	b.t.resetUpdates()
	logf("  idle for %s", b.cfg.idle)
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(b.cfg.idle):
	}
	after, err := b.mgr.scrape(ctx)
	if err != nil {
		return err
	}
	objects, _ := b.t.updateCounts()
	d := delta(before.Requests, after.Requests)
	mem, err := readMemory(b.mgr.pid())
	if err != nil {
		return err
	}
	b.res.Idle = &idleResult{Seconds: b.cfg.idle.Seconds(), Writes: writes(d), Requests: d, ObjectsWritten: objects,
		RSSBytes: mem.Current, HeapInuseBytes: after.HeapInuse,
		SteadyRSSPerMembership: round3(float64(mem.Current-b.baselineRSS) / float64(len(b.w.Memberships)))}
	logf("  %.0f writes, %d memberships written; RSS %s at the end", writes(d), objects, mib(mem.Current))
	b.finishProfile(ctx)
	return nil
}

// finishProfile waits for the fan-out's CPU profile, if one is being taken, and
// writes `go tool pprof -top` of it next to it.
func (b *bench) finishProfile(ctx context.Context) {
	if b.profile == nil {
		return
	}
	err := <-b.profile
	b.profile = nil
	if err != nil {
		logf("CPU profile: %v", err)
		b.res.FanOut.Profile = ""
		return
	}
	b.profileTop(ctx, b.res.FanOut.Profile)
}

// profileTop writes `go tool pprof -top -cum` of a profile next to it (.top.txt).
func (b *bench) profileTop(ctx context.Context, path string) {
	out, err := exec.CommandContext(ctx, "go", "tool", "pprof", "-top", "-cum", "-nodecount=60", b.mgrBin, path).CombinedOutput()
	if err != nil {
		logf("go tool pprof: %v", err)
		return
	}
	if err := os.WriteFile(strings.TrimSuffix(path, ".pprof")+".top.txt", out, 0o644); err != nil {
		logf("writing the profile summary: %v", err)
	}
}

// profilePath is where a profile of this run is stored: next to the results.
func (b *bench) profilePath(what string) (string, error) {
	if err := os.MkdirAll(b.cfg.out, 0o755); err != nil {
		return "", err
	}
	return filepath.Join(b.cfg.out, fmt.Sprintf("%s-%s-%s.pprof", b.res.Date, b.cfg.scale, what)), nil
}
