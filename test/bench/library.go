package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// libraryScale is the environment of the library comparison, whatever --scale
// says: 100k memberships in 1,000 organizations with 200 roles (issue 7).
const libraryScale = 100000

// benchLine is one result line of `go test -bench`.
type benchLine struct {
	Name       string             `json:"name"`
	Iterations int64              `json:"iterations"`
	NsPerOp    float64            `json:"nsPerOp"`
	BytesPerOp float64            `json:"bytesPerOp"`
	AllocsOp   float64            `json:"allocsPerOp"`
	Metrics    map[string]float64 `json:"metrics,omitempty"`
}

// parseBenchOutput reads the Benchmark lines of `go test -bench -benchmem`
// output: name (without its -GOMAXPROCS suffix), iterations, then value-unit
// pairs.
func parseBenchOutput(out string) ([]benchLine, error) {
	var lines []benchLine
	for line := range strings.Lines(out) {
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") || len(f)%2 != 0 {
			continue
		}
		n, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			continue // a "BenchmarkX" log line, not a result
		}
		name := f[0]
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i]
			}
		}
		l := benchLine{Name: name, Iterations: n, Metrics: map[string]float64{}}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return nil, fmt.Errorf("benchmark %s: value %q: %w", name, f[i], err)
			}
			switch f[i+1] {
			case "ns/op":
				l.NsPerOp = v
			case "B/op":
				l.BytesPerOp = v
			case "allocs/op":
				l.AllocsOp = v
			default:
				l.Metrics[f[i+1]] = v
			}
		}
		lines = append(lines, l)
	}
	if len(lines) == 0 {
		return nil, fmt.Errorf("no benchmark results in:\n%s", out)
	}
	return lines, nil
}

// library compares pkg/authz's Allowed with casbin v2 (RBAC with domains) in
// the test/bench/library module, on the snapshot of the 100k environment
// resolved by the pure resolver and encoded as the publisher shards it.
func (b *bench) library(ctx context.Context) error {
	// The manager is not needed any more: stop it so that it does not share the
	// CPUs with the benchmark.
	if b.mgr != nil {
		if err := b.mgr.stop(); err != nil {
			return err
		}
		b.mgr = nil
	}
	w := b.w
	if w == nil || len(w.Memberships) != libraryScale {
		w = generate(libraryScale, b.cfg.seed)
	}
	t0 := time.Now()
	env, results := resolveAll(w)
	snap := snapshotOf(w, env, results)
	dir := filepath.Join(b.workDir, "library-snapshot")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	size, err := writeSnapshot(dir, snap)
	if err != nil {
		return err
	}
	members := 0
	for _, o := range snap.Organizations {
		members += len(o.Members)
	}
	logf("  %d members of %d organizations, %d roles: %d bytes of snapshot, resolved and encoded in %.1f s",
		members, len(snap.Organizations), len(snap.Roles), size, time.Since(t0).Seconds())

	args := []string{"test", "-run", "^TestAgree", "-bench", ".", "-benchmem",
		"-benchtime", b.cfg.libraryBenchtime, "-count", "1", "."}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = filepath.Join(b.cfg.repo, "test", "bench", "library")
	cmd.Env = append(os.Environ(), "ORGRBAC_BENCH_SNAPSHOT="+dir)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	t1 := time.Now()
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go %s (in %s): %w\n%s", strings.Join(args, " "), cmd.Dir, err, out.String())
	}
	lines, err := parseBenchOutput(out.String())
	if err != nil {
		return err
	}
	r := &libraryResult{
		Command:       "go " + strings.Join(args, " ") + " (in test/bench/library)",
		Memberships:   len(w.Memberships),
		Members:       members,
		Organizations: len(snap.Organizations),
		Roles:         len(snap.Roles),
		SnapshotBytes: size,
		Benchmarks:    lines,
		Seconds:       round3(time.Since(t1).Seconds()),
	}
	byName := map[string]benchLine{}
	for _, l := range lines {
		byName[l.Name] = l
	}
	authz, casbin, cached := byName["BenchmarkAuthzAllowed"], byName["BenchmarkCasbinEnforce"], byName["BenchmarkCasbinCachedEnforce"]
	if authz.NsPerOp == 0 || casbin.NsPerOp == 0 {
		return fmt.Errorf("missing benchmark results in:\n%s", out.String())
	}
	r.AuthzNsPerOp, r.AuthzAllocs = authz.NsPerOp, authz.AllocsOp
	r.CasbinNsPerOp, r.CasbinAllocs = casbin.NsPerOp, casbin.AllocsOp
	r.SpeedRatio = round3(casbin.NsPerOp / authz.NsPerOp)
	if cached.NsPerOp > 0 {
		r.CachedCasbinNsPerOp = cached.NsPerOp
		r.CachedSpeedRatio = round3(cached.NsPerOp / authz.NsPerOp)
	}
	b.res.Library = r
	logf("  authz %.1f ns/op (%.0f allocs), casbin %.0f ns/op (%.0f allocs): %.0f× faster; cached casbin %.0f ns/op (%.1f×)",
		r.AuthzNsPerOp, r.AuthzAllocs, r.CasbinNsPerOp, r.CasbinAllocs, r.SpeedRatio, r.CachedCasbinNsPerOp, r.CachedSpeedRatio)
	return nil
}
