package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
)

// results is everything one benchmark run measured; it is written as JSON and as a
// markdown table.
type results struct {
	Date        string        `json:"date"`
	Scale       string        `json:"scale"`
	Seed        uint64        `json:"seed"`
	Command     string        `json:"command"`
	Machine     machine       `json:"machine"`
	Workers     int           `json:"managerWorkers"`
	Environment environment   `json:"environment"`
	Setup       setupResult   `json:"setup"`
	ColdStart   *coldStart    `json:"coldStart,omitempty"`
	Limit       *limitResult  `json:"limit,omitempty"`
	FanOut      *fanOutResult `json:"fanOut,omitempty"`
	// LimitAll is the limit phase over every membership: the cold start's
	// reference (Limit is the fan-out set's).
	LimitAll   *limitResult      `json:"limitAllMemberships,omitempty"`
	Idle       *idleResult       `json:"idle,omitempty"`
	Restart    *restartResult    `json:"restart,omitempty"`
	Revocation *revocationResult `json:"revocation,omitempty"`
	API        *apiResult        `json:"decisionAPI,omitempty"`
	Library    *libraryResult    `json:"library,omitempty"`
	Targets    []target          `json:"targets"`
	// AllowedAllocs is pkg/authz BenchmarkAllowed's allocations per check
	// (measured for the gate).
	AllowedAllocs *float64 `json:"allowedAllocsPerOp,omitempty"`
	// Gate holds the run against GateFile's limits (make bench-gate).
	Gate         []gateCheck        `json:"gate,omitempty"`
	GateFile     string             `json:"gateFile,omitempty"`
	Notes        []string           `json:"notes,omitempty"`
	PhaseSeconds map[string]float64 `json:"phaseSeconds"`
}

// environment counts the generated objects.
type environment struct {
	Memberships       int            `json:"memberships"`
	Organizations     int            `json:"organizations"`
	Roles             int            `json:"roles"`
	OrganizationRoles int            `json:"organizationRoles"`
	GroupMappings     int            `json:"groupMappings"`
	Permissions       int            `json:"permissions"`
	BySource          map[string]int `json:"membershipsBySource"`
	FanOutMembers     int            `json:"fanOutMemberships"`
}

// setupResult is the creation of the environment by the bare client.
type setupResult struct {
	CreateWorkers      int     `json:"createWorkers"`
	MembershipsSeconds float64 `json:"membershipsSeconds"`
	CreatesPerSecond   float64 `json:"membershipCreatesPerSecond"`
	BaselineRSSBytes   int64   `json:"managerBaselineRSSBytes"`
	// ThroughAdmission says the memberships were created through a standby
	// manager's admission webhooks (--admission).
	ThroughAdmission bool `json:"throughAdmissionWebhooks"`
}

// coldStart is the manager started on the populated environment.
type coldStart struct {
	Seconds        float64 `json:"seconds"`
	P50Seconds     float64 `json:"p50Seconds"`
	P99Seconds     float64 `json:"p99Seconds"`
	PeakRSSBytes   int64   `json:"peakRSSBytes"`
	RSSBytes       int64   `json:"rssBytesAfter"`
	HeapInuseBytes float64 `json:"heapInuseBytesAfter"`
	// Memstats are the manager's go_memstats_*_bytes after convergence.
	Memstats                 map[string]float64 `json:"memstatsAfter,omitempty"`
	PeakRSSPerMembership     float64            `json:"peakRSSPerMembershipBytes"`
	MarginalRSSPerMembership float64            `json:"marginalPeakRSSPerMembershipBytes"`
	Requests                 map[string]float64 `json:"requestsByMethod"`
	RequestsByCode           map[string]float64 `json:"requestsByMethodAndCode"`
	RequestsPerMembership    float64            `json:"requestsPerMembership"`
	WritesPerMembership      float64            `json:"writesPerMembership"`
	// APIServerWrites are the writes the API server counted during the cold
	// start, by "VERB resource[/subresource]" (apiserverWrites).
	APIServerWrites map[string]float64 `json:"apiServerWritesByResource,omitempty"`
	// StorageBytes is etcd's database size after the cold start as the API
	// server reports it (apiserver_storage_size_bytes): every object and the
	// history etcd has not compacted yet.
	StorageBytes              float64            `json:"etcdDatabaseBytesAfter,omitempty"`
	Reconciles                map[string]float64 `json:"reconcilesByController"`
	ReconcileSeconds          map[string]float64 `json:"reconcileSecondsByController"`
	CPUSeconds                map[string]float64 `json:"cpuSecondsByProcess"`
	MembershipStatusWriteRate float64            `json:"membershipsResolvedPerSecond"`
	Orgrbac                   map[string]float64 `json:"orgrbacMetrics"`
	HeapProfile               string             `json:"heapProfile,omitempty"`
	// CPUProfile is the manager's CPU profile of the cold start's first
	// CPUProfileSeconds.
	CPUProfileSeconds int    `json:"cpuProfileSeconds,omitempty"`
	CPUProfile        string `json:"cpuProfile,omitempty"`
}

// limitResult is the bare client doing the fan-out's status writes.
type limitResult struct {
	Writes          int                `json:"writes"`
	Concurrency     int                `json:"concurrency"`
	Seconds         float64            `json:"seconds"`
	WritesPerSecond float64            `json:"writesPerSecond"`
	ManagerWrites   float64            `json:"managerWritesDuring"`
	Orgrbac         map[string]float64 `json:"orgrbacMetrics"`
	CPUSeconds      map[string]float64 `json:"cpuSecondsByProcess"`
}

// fanOutResult is one role's permissions edited.
type fanOutResult struct {
	Affected         int                `json:"affectedMemberships"`
	Seconds          float64            `json:"seconds"`
	P50Seconds       float64            `json:"p50Seconds"`
	P99Seconds       float64            `json:"p99Seconds"`
	PerSecond        float64            `json:"membershipsPerSecond"`
	RatioToLimit     float64            `json:"ratioToLimit"`
	ObjectsWritten   int                `json:"membershipsWritten"`
	ObjectChanges    int                `json:"membershipChanges"`
	Writes           map[string]float64 `json:"writesByMethod"`
	StatusWrites     float64            `json:"patchPutWrites"`
	WritesPerChanged float64            `json:"writesPerChangedMembership"`
	Reconciles       map[string]float64 `json:"reconcilesByController"`
	ReconcileSeconds map[string]float64 `json:"reconcileSecondsByController"`
	CPUSeconds       map[string]float64 `json:"cpuSecondsByProcess"`
	Orgrbac          map[string]float64 `json:"orgrbacMetrics"`
	Profile          string             `json:"cpuProfile,omitempty"`
	ConfigMaps       *publishedResult   `json:"configMaps,omitempty"`
}

// publishedResult is the time until the published ConfigMaps, decoded, show the
// fan-out's role edit.
type publishedResult struct {
	Seconds        float64 `json:"seconds"`
	RatioToLimit   float64 `json:"ratioToLimit"`
	RevisionBefore int64   `json:"revisionBefore"`
	RevisionAfter  int64   `json:"revisionAfter"`
	ConfigMaps     int     `json:"configMaps"`
	Bytes          int     `json:"bytes"`
}

// idleResult is the quiet window after convergence.
type idleResult struct {
	Seconds        float64            `json:"seconds"`
	Writes         float64            `json:"writes"`
	Requests       map[string]float64 `json:"requestsByMethod"`
	ObjectsWritten int                `json:"membershipsWritten"`
	// RSSBytes is the manager's RSS at the end of the window: steady state,
	// every membership cached, no work.
	RSSBytes int64 `json:"rssBytesAtEnd"`
	// SteadyRSSPerMembership is (RSSBytes − the baseline) ÷ memberships.
	SteadyRSSPerMembership float64 `json:"steadyRSSPerMembershipBytes"`
	// HeapInuseBytes is go_memstats_heap_inuse_bytes at the end of the window.
	HeapInuseBytes float64 `json:"heapInuseBytesAtEnd"`
}

// revocationResult is a permission removed from a role until the decision API
// denies it.
type revocationResult struct {
	FullScale *fullScaleRevocation `json:"fanOutScale,omitempty"`
	Trials    *revocationTrials    `json:"trials,omitempty"`
}

// fullScaleRevocation is the fan-out's permission removed from the fan-out role
// once, with a sample of its holders polled through the API.
type fullScaleRevocation struct {
	Holders             int                `json:"holders"`
	Sampled             int                `json:"sampledHolders"`
	PollIntervalSeconds float64            `json:"pollIntervalPerHolderSeconds"`
	DeniedP50Seconds    float64            `json:"deniedP50Seconds"`
	DeniedP99Seconds    float64            `json:"deniedP99Seconds"`
	DeniedMaxSeconds    float64            `json:"deniedMaxSeconds"`
	StatusesSeconds     float64            `json:"allStatusesSeconds"`
	StatusesP50Seconds  float64            `json:"statusesP50Seconds"`
	CPUSeconds          map[string]float64 `json:"cpuSecondsByProcess"`
}

// revocationTrials are repeated revocations on one role: each trial's time is
// the time until every sampled holder is denied.
type revocationTrials struct {
	Role            string             `json:"role"`
	Holders         int                `json:"holders"`
	Sampled         int                `json:"sampledHolders"`
	Trials          int                `json:"trials"`
	DenySeconds     []float64          `json:"denySeconds"`
	DenyP50Seconds  float64            `json:"denyP50Seconds"`
	DenyP99Seconds  float64            `json:"denyP99Seconds"`
	DenyMaxSeconds  float64            `json:"denyMaxSeconds"`
	AllowP50Seconds float64            `json:"allowAgainP50Seconds"`
	AllowP99Seconds float64            `json:"allowAgainP99Seconds"`
	CPUSeconds      map[string]float64 `json:"cpuSecondsByProcess"`
}

// apiLevel is the decision API and the bare handler under the same load.
type apiLevel struct {
	Concurrency int       `json:"concurrency"`
	API         loadStats `json:"api"`
	Bare        loadStats `json:"bare"`
	// Ratio is the API's throughput ÷ the bare handler's.
	Ratio float64 `json:"ratio"`
}

// pacedLevel is a paced load at a fraction of the API's peak throughput.
type pacedLevel struct {
	Fraction float64 `json:"fractionOfAPIPeak"`
	apiLevel
}

// apiResult is the decision-API load phase.
type apiResult struct {
	Tokens          int          `json:"tokens"`
	DurationSeconds float64      `json:"secondsPerLevel"`
	Levels          []apiLevel   `json:"levels"`
	Paced           []pacedLevel `json:"paced,omitempty"`
	// Pinning says which CPUs the servers and the load generator ran on.
	Pinning           string             `json:"pinning,omitempty"`
	Peak              float64            `json:"apiPeakPerSecond"`
	PeakConcurrency   int                `json:"apiPeakConcurrency"`
	PeakRatio         float64            `json:"ratioAtAPIPeak"`
	BarePeak          float64            `json:"barePeakPerSecond"`
	PeakToBarePeak    float64            `json:"apiPeakToBarePeak"`
	AuthCache         map[string]float64 `json:"authCacheLookups"`
	CacheMisses       float64            `json:"authCacheMisses"`
	AuthCalls         float64            `json:"authCalls"`
	Checks            float64            `json:"checks"`
	AuthCallsPerCheck float64            `json:"authCallsPerCheck"`
	CPUSeconds        map[string]float64 `json:"cpuSecondsByProcess"`
	Profile           string             `json:"cpuProfile,omitempty"`
}

// libraryResult is pkg/authz against casbin.
type libraryResult struct {
	Command             string      `json:"command"`
	Memberships         int         `json:"memberships"`
	Members             int         `json:"publishedMembers"`
	Organizations       int         `json:"organizations"`
	Roles               int         `json:"roles"`
	SnapshotBytes       int         `json:"snapshotBytes"`
	Benchmarks          []benchLine `json:"benchmarks"`
	AuthzNsPerOp        float64     `json:"authzNsPerOp"`
	AuthzAllocs         float64     `json:"authzAllocsPerOp"`
	CasbinNsPerOp       float64     `json:"casbinNsPerOp"`
	CasbinAllocs        float64     `json:"casbinAllocsPerOp"`
	SpeedRatio          float64     `json:"casbinToAuthz"`
	CachedCasbinNsPerOp float64     `json:"cachedCasbinNsPerOp"`
	CachedSpeedRatio    float64     `json:"cachedCasbinToAuthz"`
	Seconds             float64     `json:"seconds"`
}

// target is one of issue 7's targets and whether this run met it.
type target struct {
	Name   string `json:"name"`
	Target string `json:"target"`
	Value  string `json:"value"`
	Met    string `json:"met"` // yes, no, or n/a (not measured in this run)
}

func (r *results) json() ([]byte, error) {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding results: %w", err)
	}
	return append(b, '\n'), nil
}

// evaluate fills Targets from the measured phases.
func (r *results) evaluate() {
	yes := func(ok bool) string {
		if ok {
			return "yes"
		}
		return "no"
	}
	var t []target
	if f, l := r.FanOut, r.Limit; f != nil && l != nil {
		t = append(t, target{"fan-out time ÷ the limit's time", "≤ 1.2", fmt.Sprintf("%.2f", f.RatioToLimit), yes(f.RatioToLimit <= 1.2)})
	}
	if c, l := r.ColdStart, r.LimitAll; c != nil && l != nil && l.Seconds > 0 {
		t = append(t, target{"cold start time ÷ the limit's time for every membership", "≤ 1.3",
			fmt.Sprintf("%.2f (%.1f s ÷ %.1f s)", c.Seconds/l.Seconds, c.Seconds, l.Seconds), yes(c.Seconds/l.Seconds <= 1.3)})
		t = append(t, target{"API writes per membership at the cold start", "≤ 1.1",
			fmt.Sprintf("%.2f", c.WritesPerMembership), yes(c.WritesPerMembership <= 1.1)})
	}
	if f := r.FanOut; f != nil {
		t = append(t, target{"API writes ÷ memberships changed (fan-out)", "≤ 1.05", fmt.Sprintf("%.3f", f.WritesPerChanged), yes(f.WritesPerChanged <= 1.05)})
	}
	if i := r.Idle; i != nil {
		t = append(t, target{fmt.Sprintf("API writes in the idle window (%.0f s)", i.Seconds), "0", fmt.Sprintf("%.0f", i.Writes), yes(i.Writes == 0)})
	}
	if rs := r.Restart; rs != nil {
		t = append(t, target{"API writes of a new manager over the converged environment (restart)", "0",
			fmt.Sprintf("%.0f", rs.Writes), yes(rs.Writes == 0)})
	}
	if c := r.ColdStart; c != nil {
		t = append(t, target{"RSS per cached membership (peak − baseline) ÷ memberships", "≤ 8 KiB",
			fmt.Sprintf("%.2f KiB", c.MarginalRSSPerMembership/1024), yes(c.MarginalRSSPerMembership <= 8*1024)})
		if r.Environment.Memberships >= 100000 {
			t = append(t, target{"100k memberships converge", "all Ready", fmt.Sprintf("in %.0f s", c.Seconds), "yes"})
		}
	}
	if f := r.FanOut; f != nil && f.ConfigMaps != nil && r.Limit != nil {
		t = append(t, target{"fan-out: published ConfigMaps reflect the edit, time ÷ the limit's time", "≤ 1.2",
			fmt.Sprintf("%.3f (%.2f s)", f.ConfigMaps.RatioToLimit, f.ConfigMaps.Seconds), yes(f.ConfigMaps.RatioToLimit <= 1.2)})
	}
	if rv := r.Revocation; rv != nil {
		if f := rv.FullScale; f != nil {
			t = append(t, target{fmt.Sprintf("revocation p99, role held by %d memberships (fan-out scale, %d sampled)", f.Holders, f.Sampled),
				"≤ 1 s", fmt.Sprintf("%.2f s (p50 %.2f s)", f.DeniedP99Seconds, f.DeniedP50Seconds), yes(f.DeniedP99Seconds <= 1)})
		}
		if tr := rv.Trials; tr != nil {
			t = append(t, target{fmt.Sprintf("revocation p99 over %d trials, role %s held by %d memberships", tr.Trials, tr.Role, tr.Holders),
				"≤ 1 s", fmt.Sprintf("%.3f s (p50 %.3f s)", tr.DenyP99Seconds, tr.DenyP50Seconds), yes(tr.DenyP99Seconds <= 1)})
		}
	}
	if a := r.API; a != nil {
		t = append(t, target{"decision API peak throughput ÷ bare handler's peak", "≥ 0.7",
			fmt.Sprintf("%.2f (%.0f/s ÷ %.0f/s)", a.PeakToBarePeak, a.Peak, a.BarePeak), yes(a.PeakToBarePeak >= 0.7)})
		for _, h := range a.Paced {
			if h.Fraction == 0.5 {
				t = append(t, target{"decision API p99 at half its peak load", "≤ 1 ms",
					fmt.Sprintf("%.0f µs at %.0f/s (bare handler: %.0f µs)", h.API.P99Micros, h.API.OfferedRate, h.Bare.P99Micros),
					yes(h.API.P99Micros <= 1000)})
			}
		}
		t = append(t, target{"auth calls ÷ checks (warm cache)", "≤ 0.01",
			fmt.Sprintf("%.2g (%.0f ÷ %.0f)", a.AuthCallsPerCheck, a.AuthCalls, a.Checks), yes(a.AuthCallsPerCheck <= 0.01)})
	}
	if l := r.Library; l != nil {
		t = append(t, target{"library Allowed ns/op and allocs", "≤ 100 ns, 0 allocs",
			fmt.Sprintf("%.1f ns, %.0f allocs", l.AuthzNsPerOp, l.AuthzAllocs), yes(l.AuthzNsPerOp <= 100 && l.AuthzAllocs == 0)})
		t = append(t, target{"library speed ÷ casbin v2 (RBAC with domains)", "≥ 1000×",
			fmt.Sprintf("%.0f×", l.SpeedRatio), yes(l.SpeedRatio >= 1000)})
	}
	r.Targets = t
}

// markdown renders the results as a document with the tables.
func (r *results) markdown() string {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	p("# orgrbac scale benchmark — %s, %s\n\n", r.Scale, r.Date)
	p("Command: `%s` (seed %d, manager `--max-concurrent-reconciles=%d`).\n\n", r.Command, r.Seed, r.Workers)
	m := r.Machine
	kube := ""
	if m.Kubernetes != "" {
		kube = ", " + m.Kubernetes
	}
	p("Machine: %d CPUs (%s), %.1f GiB, Linux %s, %s%s; load average at start %s.\n\n",
		m.CPUs, m.CPUModel, m.MemoryGiB, m.Kernel, m.GoVersion, kube, m.LoadAvg)
	if e := r.Environment; e.Memberships > 0 {
		p("Environment: %d memberships (%s), %d organizations, %d roles, %d organization roles, %d group mappings, %d permissions; the fan-out role is held by %d active memberships.\n\n",
			e.Memberships, formatCounts(e.BySource), e.Organizations, e.Roles, e.OrganizationRoles, e.GroupMappings, e.Permissions, e.FanOutMembers)
	}

	p("## Targets\n\n| target | goal | measured | met |\n|---|---|---|---|\n")
	for _, t := range r.Targets {
		p("| %s | %s | %s | %s |\n", t.Name, t.Target, t.Value, t.Met)
	}

	if len(r.Gate) > 0 {
		p("\n## Performance gate (%s)\n\n| value | limit | measured | passed |\n|---|---|---|---|\n", r.GateFile)
		for _, c := range r.Gate {
			verdict := "yes"
			switch {
			case c.Missing:
				verdict = "no (not measured)"
			case !c.Passed:
				verdict = "no"
			}
			p("| %s | %s | %.3f | %s |\n", c.Value, c.Limit, c.Measured, verdict)
		}
	}

	p("\n## Results\n\n| phase | metric | value |\n|---|---|---|\n")
	if s := r.Setup; s.MembershipsSeconds > 0 {
		how := "bare client, no orgrbac running"
		if s.ThroughAdmission {
			how = "bare client through a standby manager's admission webhooks"
		}
		p("| setup | membership creates (%s, %d workers) | %.1f s, %.0f/s |\n", how, s.CreateWorkers, s.MembershipsSeconds, s.CreatesPerSecond)
		p("| setup | manager RSS with no memberships (baseline) | %s |\n", mib(s.BaselineRSSBytes))
	}
	if c := r.ColdStart; c != nil {
		p("| cold start | manager start → every membership Ready with its expected source | %.1f s (%.0f memberships/s) |\n", c.Seconds, c.MembershipStatusWriteRate)
		p("| cold start | time to Ready, p50 / p99 | %.1f s / %.1f s |\n", c.P50Seconds, c.P99Seconds)
		p("| cold start | manager peak RSS (VmHWM) / RSS after / Go heap in use after | %s / %s / %s |\n", mib(c.PeakRSSBytes), mib(c.RSSBytes), mib(int64(c.HeapInuseBytes)))
		p("| cold start | peak RSS ÷ memberships; (peak − baseline) ÷ memberships | %.2f KiB; %.2f KiB |\n", c.PeakRSSPerMembership/1024, c.MarginalRSSPerMembership/1024)
		p("| cold start | API requests per membership (all; writes) | %.2f; %.2f |\n", c.RequestsPerMembership, c.WritesPerMembership)
		p("| cold start | API requests by method | %s |\n", formatFloats(c.Requests))
		p("| cold start | API requests by method and status code | %s |\n", formatFloats(c.RequestsByCode))
		p("| cold start | writes the API server counted, by resource | %s |\n", formatFloats(c.APIServerWrites))
		if c.StorageBytes > 0 {
			p("| cold start | etcd database after the cold start (history not compacted included) | %s (%.0f B per membership) |\n",
				mib(int64(c.StorageBytes)), c.StorageBytes/float64(r.Environment.Memberships))
		}
		p("| cold start | reconciles by controller | %s |\n", formatFloats(c.Reconciles))
		p("| cold start | CPU seconds by process | %s |\n", formatSeconds(c.CPUSeconds))
		if c.CPUProfile != "" {
			p("| cold start | manager CPU profile of the first %d s | `%s` |\n", c.CPUProfileSeconds, c.CPUProfile)
		}
		if c.HeapProfile != "" {
			p("| cold start | manager heap profile after convergence | `%s` |\n", c.HeapProfile)
		}
	}
	if l := r.Limit; l != nil {
		p("| limit | bare-client status merge patches, %d workers | %d in %.1f s = %.0f/s |\n", l.Concurrency, l.Writes, l.Seconds, l.WritesPerSecond)
		p("| limit | manager writes meanwhile | %.0f |\n", l.ManagerWrites)
		p("| limit | CPU seconds by process | %s |\n", formatSeconds(l.CPUSeconds))
	}
	if l := r.LimitAll; l != nil {
		p("| limit | every membership: bare-client status merge patches, %d workers | %d in %.1f s = %.0f/s (manager writes meanwhile %.0f) |\n",
			l.Concurrency, l.Writes, l.Seconds, l.WritesPerSecond, l.ManagerWrites)
	}
	if f := r.FanOut; f != nil {
		p("| fan-out | role edit → every affected status shows it (%d memberships) | %.1f s (%.0f/s) |\n", f.Affected, f.Seconds, f.PerSecond)
		p("| fan-out | time to reflect, p50 / p99 | %.1f s / %.1f s |\n", f.P50Seconds, f.P99Seconds)
		p("| fan-out | ratio to the limit | %.2f× |\n", f.RatioToLimit)
		p("| fan-out | manager writes (by method) | %s |\n", formatFloats(f.Writes))
		p("| fan-out | writes ÷ memberships changed | %.3f |\n", f.WritesPerChanged)
		p("| fan-out | memberships written / changes seen by the benchmark's watch | %d / %d |\n", f.ObjectsWritten, f.ObjectChanges)
		p("| fan-out | reconciles by controller | %s |\n", formatFloats(f.Reconciles))
		p("| fan-out | CPU seconds by process | %s |\n", formatSeconds(f.CPUSeconds))
		if len(f.Orgrbac) > 0 {
			p("| fan-out | orgrbac metrics (change) | %s |\n", formatSeconds(f.Orgrbac))
		}
		if f.Profile != "" {
			p("| fan-out | manager CPU profile | `%s` |\n", f.Profile)
		}
	}
	if i := r.Idle; i != nil {
		p("| idle | manager writes in %.0f s after convergence | %.0f (requests: %s) |\n", i.Seconds, i.Writes, formatFloats(i.Requests))
		p("| idle | memberships written | %d |\n", i.ObjectsWritten)
		if i.RSSBytes > 0 {
			p("| idle | manager RSS / Go heap in use at the end (steady state) | %s / %s |\n", mib(i.RSSBytes), mib(int64(i.HeapInuseBytes)))
			p("| idle | steady RSS per cached membership: (RSS − baseline) ÷ memberships | %.2f KiB |\n", i.SteadyRSSPerMembership/1024)
		}
	}
	if rs := r.Restart; rs != nil {
		p("| restart | a new manager over the converged environment: start → reconciles stand still | %.1f s |\n", rs.Seconds)
		p("| restart | manager writes; memberships written | %.0f (requests: %s); %d |\n", rs.Writes, formatFloats(rs.Requests), rs.ObjectsWritten)
		p("| restart | reconciles by controller | %s |\n", formatFloats(rs.Reconciles))
		p("| restart | CPU seconds by process | %s |\n", formatSeconds(rs.CPUSeconds))
	}
	r.markdownLater(p)
	for _, n := range r.Notes {
		p("\n- %s", n)
	}
	if len(r.Notes) > 0 {
		p("\n")
	}
	return b.String()
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// formatMap lists m's entries sorted by key, each as "key value" with the value
// in verb, separated by commas.
func formatMap[V any](m map[string]V, verb string) string {
	keys := slices.Sorted(maps.Keys(m))
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s "+verb, k, m[k]))
	}
	return strings.Join(parts, ", ")
}

func formatCounts(m map[string]int) string { return formatMap(m, "%d") }

func formatFloats(m map[string]float64) string {
	if len(m) == 0 {
		return "none"
	}
	return formatMap(m, "%.0f")
}

// formatSeconds lists m with one decimal (CPU seconds and other fractional values).
func formatSeconds(m map[string]float64) string { return formatMap(m, "%.1f") }

// ratio is a/b, or 0 when b is 0.
func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// round3 rounds to three decimals for readable JSON.
func round3(f float64) float64 { return math.Round(f*1000) / 1000 }

// roundAll rounds every value of m to three decimals.
func roundAll(m map[string]float64) map[string]float64 {
	out := make(map[string]float64, len(m))
	for k, v := range m {
		out[k] = round3(v)
	}
	return out
}

// markdownLater renders the revocation, decision-API and library rows.
func (r *results) markdownLater(p func(string, ...any)) {
	if f := r.FanOut; f != nil && f.ConfigMaps != nil {
		c := f.ConfigMaps
		p("| fan-out | role edit → the published ConfigMaps, decoded, show it | %.2f s (%.3f× the limit) |\n", c.Seconds, c.RatioToLimit)
		p("| fan-out | published revision before → after; ConfigMaps, bytes | %d → %d; %d, %d |\n", c.RevisionBefore, c.RevisionAfter, c.ConfigMaps, c.Bytes)
	}
	if rv := r.Revocation; rv != nil {
		if f := rv.FullScale; f != nil {
			p("| revocation | fan-out role loses the permission: API denies, %d of %d holders sampled (each polled every %.2f s), p50 / p99 / max | %.2f s / %.2f s / %.2f s |\n",
				f.Sampled, f.Holders, f.PollIntervalSeconds, f.DeniedP50Seconds, f.DeniedP99Seconds, f.DeniedMaxSeconds)
			p("| revocation | fan-out role: every status lost it (p50) | %.1f s (%.1f s) |\n", f.StatusesSeconds, f.StatusesP50Seconds)
			p("| revocation | fan-out role: CPU seconds by process | %s |\n", formatSeconds(f.CPUSeconds))
		}
		if t := rv.Trials; t != nil {
			p("| revocation | %d trials on role %s (%d holders, %d sampled): all sampled denied, p50 / p99 / max | %.3f s / %.3f s / %.3f s |\n",
				t.Trials, t.Role, t.Holders, t.Sampled, t.DenyP50Seconds, t.DenyP99Seconds, t.DenyMaxSeconds)
			p("| revocation | trials: restored → all sampled allowed again, p50 / p99 | %.3f s / %.3f s |\n", t.AllowP50Seconds, t.AllowP99Seconds)
			p("| revocation | trials: CPU seconds by process | %s |\n", formatSeconds(t.CPUSeconds))
		}
	}
	if a := r.API; a != nil {
		row := func(what string, l apiLevel) {
			p("| decision API | %s: API %.0f/s, p50 %.0f µs, p99 %.0f µs; bare %.0f/s, p50 %.0f µs, p99 %.0f µs | %.2f× |\n",
				what, l.API.PerSecond, l.API.P50Micros, l.API.P99Micros, l.Bare.PerSecond, l.Bare.P50Micros, l.Bare.P99Micros, l.Ratio)
		}
		waitRow := func(what string, l apiLevel) {
			if l.API.RunQueueWait != nil {
				p("| decision API | %s, ms per s (API run: server %.0f, load generator %.0f; bare run: server %.0f, load generator %.0f) | |\n",
					what, l.API.RunQueueWait["server"], l.API.RunQueueWait["client"], l.Bare.RunQueueWait["server"], l.Bare.RunQueueWait["client"])
			}
		}
		for _, l := range a.Levels {
			row(fmt.Sprintf("concurrency %d", l.Concurrency), l)
		}
		if a.Pinning != "" {
			p("| decision API | CPUs | %s |\n", a.Pinning)
		}
		for _, h := range a.Paced {
			p("| decision API | paced at %.0f/s (%.0f%% of the API's peak), %d workers: API p50 %.0f µs, p99 %.0f µs, p999 %.0f µs (%d late starts); bare p50 %.0f µs, p99 %.0f µs, p999 %.0f µs | |\n",
				h.API.OfferedRate, h.Fraction*100, h.Concurrency, h.API.P50Micros, h.API.P99Micros, h.API.P999Micros, h.API.LateStarts,
				h.Bare.P50Micros, h.Bare.P99Micros, h.Bare.P999Micros)
			waitRow(fmt.Sprintf("paced at %.0f%%: threads ready to run but waiting for a CPU", h.Fraction*100), h.apiLevel)
		}
		for _, l := range a.Levels {
			waitRow(fmt.Sprintf("concurrency %d: run-queue wait", l.Concurrency), l)
		}
		p("| decision API | auth calls (TokenReview and SubjectAccessReview POSTs) ÷ checks, %d tokens | %.0f ÷ %.0f = %.2g (cache lookups: %s) |\n",
			a.Tokens, a.AuthCalls, a.Checks, a.AuthCallsPerCheck, formatFloats(a.AuthCache))
		p("| decision API | CPU seconds by process | %s |\n", formatSeconds(a.CPUSeconds))
		if a.Profile != "" {
			p("| decision API | manager CPU profile at the highest concurrency | `%s` |\n", a.Profile)
		}
	}
	if l := r.Library; l != nil {
		p("| library | snapshot: %d memberships, %d published members, %d organizations, %d roles | %d bytes |\n",
			l.Memberships, l.Members, l.Organizations, l.Roles, l.SnapshotBytes)
		for _, b := range l.Benchmarks {
			p("| library | `%s` | %.1f ns/op, %.0f B/op, %.0f allocs/op%s |\n", b.Name, b.NsPerOp, b.BytesPerOp, b.AllocsOp, formatMetrics(b.Metrics))
		}
		p("| library | casbin ÷ authz; cached casbin ÷ authz | %.0f×; %.1f× |\n", l.SpeedRatio, l.CachedSpeedRatio)
	}
}

// formatMetrics lists a benchmark's extra metrics after a semicolon.
func formatMetrics(m map[string]float64) string {
	if len(m) == 0 {
		return ""
	}
	keys := slices.Sorted(maps.Keys(m))
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %g", k, m[k]))
	}
	return "; " + strings.Join(parts, ", ")
}
