package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"
)

// The performance gate (make bench-gate): a small run of this benchmark whose
// ratios are held against limits chosen from repeated runs (test/bench/gate.yaml).
// Every gated value is a ratio within the run or a count, never an absolute
// time: the machines are noisy, and a ratio to the same run's API server limit
// cancels most of it.

// gateFile is test/bench/gate.yaml.
type gateFile struct {
	Rules []gateRule `json:"rules"`
}

// gateRule bounds one gated value.
type gateRule struct {
	// Value names a gateValues key.
	Value string `json:"value"`
	// Max and Min bound it (either or both).
	Max *float64 `json:"max,omitempty"`
	Min *float64 `json:"min,omitempty"`
}

// gateCheck is a rule held against this run.
type gateCheck struct {
	Value    string  `json:"value"`
	Limit    string  `json:"limit"`
	Measured float64 `json:"measured"`
	Passed   bool    `json:"passed"`
	Missing  bool    `json:"missing,omitempty"`
}

// readGate reads and checks a gate file.
func readGate(path string) (*gateFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the gate: %w", err)
	}
	var g gateFile
	if err := yaml.UnmarshalStrict(data, &g); err != nil {
		return nil, fmt.Errorf("gate %s: %w", path, err)
	}
	if len(g.Rules) == 0 {
		return nil, fmt.Errorf("gate %s has no rules", path)
	}
	for _, r := range g.Rules {
		if !slices.Contains(gateValueNames, r.Value) {
			return nil, fmt.Errorf("gate %s: unknown value %q (known: %s)", path, r.Value, strings.Join(gateValueNames, ", "))
		}
		if r.Max == nil && r.Min == nil {
			return nil, fmt.Errorf("gate %s: %s has neither max nor min", path, r.Value)
		}
	}
	return &g, nil
}

// gateValueNames are the values a gate can bound.
var gateValueNames = []string{
	"coldStartToLimit", "coldStartWritesPerMembership", "fanOutToLimit", "fanOutWritesPerChanged",
	"idleWrites", "restartWrites", "apiPeakToBarePeak", "allowedAllocsPerOp",
}

// gateValues are this run's gated values; a phase that did not run leaves its
// values out (and a rule on them fails).
func (r *results) gateValues() map[string]float64 {
	v := map[string]float64{}
	if c, l := r.ColdStart, r.LimitAll; c != nil && l != nil && l.Seconds > 0 {
		v["coldStartToLimit"] = round3(c.Seconds / l.Seconds)
		v["coldStartWritesPerMembership"] = c.WritesPerMembership
	}
	if f := r.FanOut; f != nil {
		v["fanOutToLimit"] = f.RatioToLimit
		v["fanOutWritesPerChanged"] = f.WritesPerChanged
	}
	if i := r.Idle; i != nil {
		v["idleWrites"] = i.Writes
	}
	if rs := r.Restart; rs != nil {
		v["restartWrites"] = rs.Writes
	}
	if a := r.API; a != nil && a.BarePeak > 0 {
		v["apiPeakToBarePeak"] = a.PeakToBarePeak
	}
	if r.AllowedAllocs != nil {
		v["allowedAllocsPerOp"] = *r.AllowedAllocs
	}
	return v
}

// check holds the run against g.
func (g *gateFile) check(values map[string]float64) []gateCheck {
	out := make([]gateCheck, 0, len(g.Rules))
	for _, rule := range g.Rules {
		c := gateCheck{Value: rule.Value}
		var limits []string
		if rule.Min != nil {
			limits = append(limits, fmt.Sprintf("≥ %g", *rule.Min))
		}
		if rule.Max != nil {
			limits = append(limits, fmt.Sprintf("≤ %g", *rule.Max))
		}
		c.Limit = strings.Join(limits, ", ")
		m, ok := values[rule.Value]
		c.Measured, c.Missing = m, !ok
		c.Passed = ok && (rule.Min == nil || m >= *rule.Min) && (rule.Max == nil || m <= *rule.Max)
		out = append(out, c)
	}
	return out
}

// gateFailure is the error of a failed gate, listing the failed checks.
func gateFailure(checks []gateCheck) error {
	var failed []string
	for _, c := range checks {
		switch {
		case c.Missing:
			failed = append(failed, c.Value+": not measured (its phase did not run)")
		case !c.Passed:
			failed = append(failed, fmt.Sprintf("%s = %g, limit %s", c.Value, c.Measured, c.Limit))
		}
	}
	if len(failed) == 0 {
		return nil
	}
	return errors.New("the performance gate failed: " + strings.Join(failed, "; "))
}

// allowedAllocs runs pkg/authz's BenchmarkAllowed and returns its allocations
// per check: the library's hot path must not allocate.
func allowedAllocs(ctx context.Context, repo string) (float64, error) {
	cmd := exec.CommandContext(ctx, "go", "test", "-run=^$", "-bench=^BenchmarkAllowed$", "-benchmem",
		"-benchtime=200000x", "./pkg/authz/")
	cmd.Dir = repo
	out, err := cmd.CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("go test -bench BenchmarkAllowed: %w\n%s", err, out)
	}
	lines, err := parseBenchOutput(string(out))
	if err != nil {
		return 0, err
	}
	worst := 0.0
	for _, l := range lines {
		if strings.HasPrefix(l.Name, "BenchmarkAllowed") {
			worst = max(worst, l.AllocsOp)
		}
	}
	return worst, nil
}

// runGate measures what only the gate needs, holds the run against the gate
// file and records the checks.
func (b *bench) runGate(ctx context.Context) error {
	g, err := readGate(b.cfg.gate)
	if err != nil {
		return err
	}
	allocs, err := allowedAllocs(ctx, b.cfg.repo)
	if err != nil {
		return err
	}
	b.res.AllowedAllocs = &allocs
	b.res.Gate = g.check(b.res.gateValues())
	b.res.GateFile = filepath.ToSlash(b.cfg.gate)
	for _, c := range b.res.Gate {
		verdict := "pass"
		switch {
		case c.Missing:
			verdict = "FAIL (not measured)"
		case !c.Passed:
			verdict = "FAIL"
		}
		logf("  gate %-30s %10.3f  limit %-14s %s", c.Value, c.Measured, c.Limit, verdict)
	}
	return nil
}
