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
	Date          string             `json:"date"`
	Scale         string             `json:"scale"`
	Seed          uint64             `json:"seed"`
	Command       string             `json:"command"`
	Machine       machine            `json:"machine"`
	Workers       int                `json:"managerWorkers"`
	Environment   environment        `json:"environment"`
	Setup         setupResult        `json:"setup"`
	ColdStart     *coldStart         `json:"coldStart,omitempty"`
	Limit         *limitResult       `json:"limit,omitempty"`
	FanOut        *fanOutResult      `json:"fanOut,omitempty"`
	Idle          *idleResult        `json:"idle,omitempty"`
	Targets       []target           `json:"targets"`
	PendingPhases []string           `json:"pendingPhases"`
	Notes         []string           `json:"notes,omitempty"`
	PhaseSeconds  map[string]float64 `json:"phaseSeconds"`
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
}

// coldStart is the manager started on the populated environment.
type coldStart struct {
	Seconds                   float64            `json:"seconds"`
	P50Seconds                float64            `json:"p50Seconds"`
	P99Seconds                float64            `json:"p99Seconds"`
	PeakRSSBytes              int64              `json:"peakRSSBytes"`
	RSSBytes                  int64              `json:"rssBytesAfter"`
	HeapInuseBytes            float64            `json:"heapInuseBytesAfter"`
	PeakRSSPerMembership      float64            `json:"peakRSSPerMembershipBytes"`
	MarginalRSSPerMembership  float64            `json:"marginalPeakRSSPerMembershipBytes"`
	Requests                  map[string]float64 `json:"requestsByMethod"`
	RequestsPerMembership     float64            `json:"requestsPerMembership"`
	WritesPerMembership       float64            `json:"writesPerMembership"`
	Reconciles                map[string]float64 `json:"reconcilesByController"`
	ReconcileSeconds          map[string]float64 `json:"reconcileSecondsByController"`
	CPUSeconds                map[string]float64 `json:"cpuSecondsByProcess"`
	MembershipStatusWriteRate float64            `json:"membershipsResolvedPerSecond"`
	Orgrbac                   map[string]float64 `json:"orgrbacMetrics"`
	HeapProfile               string             `json:"heapProfile,omitempty"`
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
}

// idleResult is the quiet window after convergence.
type idleResult struct {
	Seconds        float64            `json:"seconds"`
	Writes         float64            `json:"writes"`
	Requests       map[string]float64 `json:"requestsByMethod"`
	ObjectsWritten int                `json:"membershipsWritten"`
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
	if f := r.FanOut; f != nil {
		t = append(t, target{"API writes ÷ memberships changed (fan-out)", "≤ 1.05", fmt.Sprintf("%.3f", f.WritesPerChanged), yes(f.WritesPerChanged <= 1.05)})
	}
	if i := r.Idle; i != nil {
		t = append(t, target{fmt.Sprintf("API writes in the idle window (%.0f s)", i.Seconds), "0", fmt.Sprintf("%.0f", i.Writes), yes(i.Writes == 0)})
	}
	if c := r.ColdStart; c != nil {
		t = append(t, target{"RSS per cached membership (peak − baseline) ÷ memberships", "≤ 8 KiB",
			fmt.Sprintf("%.2f KiB", c.MarginalRSSPerMembership/1024), yes(c.MarginalRSSPerMembership <= 8*1024)})
		if r.Environment.Memberships >= 100000 {
			t = append(t, target{"100k memberships converge", "all Ready", fmt.Sprintf("in %.0f s", c.Seconds), "yes"})
		}
	}
	for _, p := range r.PendingPhases {
		t = append(t, target{p, "see issue 7", "not measured yet", "n/a"})
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
	p("Machine: %d CPUs (%s), %.1f GiB, Linux %s, %s, %s; load average at start %s.\n\n",
		m.CPUs, m.CPUModel, m.MemoryGiB, m.Kernel, m.GoVersion, m.Kubernetes, m.LoadAvg)
	e := r.Environment
	p("Environment: %d memberships (%s), %d organizations, %d roles, %d organization roles, %d group mappings, %d permissions; the fan-out role is held by %d active memberships.\n\n",
		e.Memberships, formatCounts(e.BySource), e.Organizations, e.Roles, e.OrganizationRoles, e.GroupMappings, e.Permissions, e.FanOutMembers)

	p("## Targets\n\n| target | goal | measured | met |\n|---|---|---|---|\n")
	for _, t := range r.Targets {
		p("| %s | %s | %s | %s |\n", t.Name, t.Target, t.Value, t.Met)
	}

	p("\n## Results\n\n| phase | metric | value |\n|---|---|---|\n")
	s := r.Setup
	p("| setup | membership creates (bare client, %d workers) | %.1f s, %.0f/s |\n", s.CreateWorkers, s.MembershipsSeconds, s.CreatesPerSecond)
	p("| setup | manager RSS with no memberships (baseline) | %s |\n", mib(s.BaselineRSSBytes))
	if c := r.ColdStart; c != nil {
		p("| cold start | manager start → every membership Ready with its expected source | %.1f s (%.0f memberships/s) |\n", c.Seconds, c.MembershipStatusWriteRate)
		p("| cold start | time to Ready, p50 / p99 | %.1f s / %.1f s |\n", c.P50Seconds, c.P99Seconds)
		p("| cold start | manager peak RSS (VmHWM) / RSS after / Go heap in use after | %s / %s / %s |\n", mib(c.PeakRSSBytes), mib(c.RSSBytes), mib(int64(c.HeapInuseBytes)))
		p("| cold start | peak RSS ÷ memberships; (peak − baseline) ÷ memberships | %.2f KiB; %.2f KiB |\n", c.PeakRSSPerMembership/1024, c.MarginalRSSPerMembership/1024)
		p("| cold start | API requests per membership (all; writes) | %.2f; %.2f |\n", c.RequestsPerMembership, c.WritesPerMembership)
		p("| cold start | API requests by method | %s |\n", formatFloats(c.Requests))
		p("| cold start | reconciles by controller | %s |\n", formatFloats(c.Reconciles))
		p("| cold start | CPU seconds by process | %s |\n", formatSeconds(c.CPUSeconds))
		if c.HeapProfile != "" {
			p("| cold start | manager heap profile after convergence | `%s` |\n", c.HeapProfile)
		}
	}
	if l := r.Limit; l != nil {
		p("| limit | bare-client status merge patches, %d workers | %d in %.1f s = %.0f/s |\n", l.Concurrency, l.Writes, l.Seconds, l.WritesPerSecond)
		p("| limit | manager writes meanwhile | %.0f |\n", l.ManagerWrites)
		p("| limit | CPU seconds by process | %s |\n", formatSeconds(l.CPUSeconds))
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
	}
	if len(r.PendingPhases) > 0 {
		p("\nNot measured yet (their components are being built): %s.\n", strings.Join(r.PendingPhases, "; "))
	}
	for _, n := range r.Notes {
		p("\n- %s", n)
	}
	if len(r.Notes) > 0 {
		p("\n")
	}
	return b.String()
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

func formatCounts(m map[string]int) string {
	keys := slices.Sorted(maps.Keys(m))
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

func formatFloats(m map[string]float64) string {
	if len(m) == 0 {
		return "none"
	}
	keys := slices.Sorted(maps.Keys(m))
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %.0f", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

// formatSeconds lists m with one decimal (CPU seconds and other fractional values).
func formatSeconds(m map[string]float64) string {
	keys := slices.Sorted(maps.Keys(m))
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %.1f", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

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
