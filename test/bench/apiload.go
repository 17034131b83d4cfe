package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// loadWarmup is how long each load level runs before it is measured (new
// connections, TLS handshakes, auth caches).
const loadWarmup = time.Second

// checkBodies prepares the load's requests: memberships spread over the world,
// each asked about a permission it holds (allowed) or about a permission drawn
// from the catalog (mostly denied), the tokens taken in turn.
func (b *bench) checkBodies(n int) ([]loadRequest, error) {
	results := b.resolution()
	out := make([]loadRequest, 0, n)
	for i := range n {
		j := (i * 7919) % len(b.w.Memberships)
		m := b.w.Memberships[j]
		perm := b.w.Permissions[(i*31)%len(b.w.Permissions)].Spec.Slug
		if held := results[j].Permissions; i%2 == 0 && len(held) > 0 {
			perm = held[i%len(held)]
		}
		body, err := json.Marshal(checkRequest{Organization: m.Spec.Organization, User: m.Spec.User, Permission: perm})
		if err != nil {
			return nil, err
		}
		out = append(out, loadRequest{body: body, token: b.api.tokens[i%len(b.api.tokens)]})
	}
	return out, nil
}

// waits reads the run-queue wait of the server process and of the load
// generator (this process); a process it cannot read is left out.
func waits(server int) map[string]time.Duration {
	out := map[string]time.Duration{}
	for name, pid := range map[string]int{"server": server, "client": os.Getpid()} {
		if d, err := runQueueWait(pid); err == nil {
			out[name] = d
		}
	}
	return out
}

// perSecond is the run-queue wait between two readings in milliseconds per
// second of load: how many of the process's threads were, on average, ready
// to run but without a CPU, times 1000.
func perSecond(before, after map[string]time.Duration, seconds float64) map[string]float64 {
	out := map[string]float64{}
	for k, a := range after {
		if b, ok := before[k]; ok && seconds > 0 {
			out[k] = round3(float64(a-b) / float64(time.Millisecond) / seconds)
		}
	}
	return out
}

// decisionAPI measures the decision API's throughput and latency with a warm
// auth cache against a bare net/http handler behind the same TLS, with the same
// load generator: closed loops of 1, 16 and 64 workers, then paced loads at half
// and a tenth of the API's peak throughput.
func (b *bench) decisionAPI(ctx context.Context) error {
	if err := b.ensureCaller(ctx); err != nil {
		return err
	}
	reqs, err := b.checkBodies(1024)
	if err != nil {
		return err
	}
	bare, err := startBare(b.certDir, filepath.Join(b.workDir, "bare.log"))
	if err != nil {
		return err
	}
	defer bare.stop()
	b.cpu.pids["bare"] = bare.cmd.Process.Pid
	defer delete(b.cpu.pids, "bare")
	tlsCfg, err := loadTLSConfig(b.certPEM)
	if err != nil {
		return err
	}
	apiPool, err := newConnPool(b.api.url, tlsCfg)
	if err != nil {
		return err
	}
	defer apiPool.close()
	barePool, err := newConnPool(bare.url, tlsCfg)
	if err != nil {
		return err
	}
	defer barePool.close()
	// The servers (the manager, then the bare handler) get a core of their
	// own, and the load generator, the bare client's process and the idle
	// control plane the others: latency is then the server's, not the
	// generator's competition for the same core.
	pinning, unpin := b.pinForLoad(bare.cmd.Process.Pid)
	defer unpin()
	const checkPath = "/v1/check"
	// The bare handler answers once it listens.
	for start := time.Now(); ; {
		s := runLoad(ctx, barePool, loadSpec{path: checkPath, requests: reqs, workers: 1, duration: 50 * time.Millisecond, maxRequests: 1})
		if s.Requests == 1 {
			break
		}
		if time.Since(start) > 30*time.Second {
			return fmt.Errorf("the bare handler does not answer (log: %s)", filepath.Join(b.workDir, "bare.log"))
		}
		time.Sleep(100 * time.Millisecond)
	}

	measure := func(pool *connPool, workers int, rate float64) (loadStats, error) {
		spec := loadSpec{path: checkPath, requests: reqs, workers: workers, duration: loadWarmup, maxRequests: b.cfg.apiMaxRequests}
		if rate > 0 {
			spec.rate = rate
		}
		if w := runLoad(ctx, pool, spec); w.NonOKAnswers+w.TransportErrs > 0 {
			return w, fmt.Errorf("warm-up of %s with %d workers: %d non-200 answers (%s), %d transport errors",
				pool.host, workers, w.NonOKAnswers, w.FirstNonOK, w.TransportErrs)
		}
		spec.duration = b.cfg.apiDuration
		server := b.mgr.pid()
		if pool == barePool {
			server = bare.cmd.Process.Pid
		}
		w0 := waits(server)
		s := runLoad(ctx, pool, spec)
		s.RunQueueWait = perSecond(w0, waits(server), s.Seconds)
		if s.NonOKAnswers+s.TransportErrs > 0 {
			return s, fmt.Errorf("%s with %d workers: %d non-200 answers (%s), %d transport errors",
				pool.host, workers, s.NonOKAnswers, s.FirstNonOK, s.TransportErrs)
		}
		return s, nil
	}

	before, err := b.mgr.scrape(ctx)
	if err != nil {
		return err
	}
	cpu0 := b.cpu.read()
	res := &apiResult{Tokens: len(b.api.tokens), DurationSeconds: b.cfg.apiDuration.Seconds(), Pinning: pinning}
	peak := 0.0
	for i, c := range b.cfg.apiConcurrency {
		// A CPU profile of the manager under the highest closed-loop load.
		var profile chan error
		path := ""
		if b.hasPprof && i == len(b.cfg.apiConcurrency)-1 {
			if path, err = b.profilePath("api"); err != nil {
				return err
			}
			profile = make(chan error, 1)
			go func() {
				time.Sleep(loadWarmup)
				profile <- b.mgr.cpuProfile(ctx, max(1, int(b.cfg.apiDuration.Seconds())), path)
			}()
		}
		a, err := measure(apiPool, c, 0)
		if profile != nil {
			if perr := <-profile; perr != nil {
				logf("API CPU profile: %v", perr)
			} else {
				res.Profile = path
				b.profileTop(ctx, path)
			}
		}
		if err != nil {
			return err
		}
		bs, err := measure(barePool, c, 0)
		if err != nil {
			return err
		}
		lvl := apiLevel{Concurrency: c, API: a, Bare: bs, Ratio: round3(ratio(a.PerSecond, bs.PerSecond))}
		res.Levels = append(res.Levels, lvl)
		peak = max(peak, a.PerSecond)
		logf("  concurrency %d: API %.0f/s (p50 %.0f µs, p99 %.0f µs), bare %.0f/s (p50 %.0f µs, p99 %.0f µs): %.2f×",
			c, a.PerSecond, a.P50Micros, a.P99Micros, bs.PerSecond, bs.P50Micros, bs.P99Micros, lvl.Ratio)
	}
	// Paced loads: 90 %, half (the target) and a tenth of the API's peak, with
	// as many workers as the peak needed.
	workers := 0
	for _, l := range res.Levels {
		if l.API.PerSecond == peak {
			workers = l.Concurrency
		}
	}
	for _, fraction := range b.cfg.apiPaced {
		if peak == 0 {
			break
		}
		rate := peak * fraction
		a, err := measure(apiPool, workers, rate)
		if err != nil {
			return err
		}
		bs, err := measure(barePool, workers, rate)
		if err != nil {
			return err
		}
		res.Paced = append(res.Paced, pacedLevel{Fraction: fraction,
			apiLevel: apiLevel{Concurrency: workers, API: a, Bare: bs, Ratio: round3(ratio(a.PerSecond, bs.PerSecond))}})
		logf("  paced at %.0f/s (%.0f%% of the API's peak): API p50 %.0f µs, p99 %.0f µs, p999 %.0f µs (%d late starts); bare p50 %.0f µs, p99 %.0f µs, p999 %.0f µs",
			rate, fraction*100, a.P50Micros, a.P99Micros, a.P999Micros, a.LateStarts, bs.P50Micros, bs.P99Micros, bs.P999Micros)
	}
	after, err := b.mgr.scrape(ctx)
	if err != nil {
		return err
	}
	res.CPUSeconds = roundAll(delta(cpu0, b.cpu.read()))
	res.AuthCache = delta(before.AuthCache, after.AuthCache)
	res.CacheMisses = authMisses(res.AuthCache)
	res.Checks = delta(before.Orgrbac, after.Orgrbac)["orgrbac_api_decisions_total"]
	// Every TokenReview and SubjectAccessReview is a POST to the API server, and
	// the idle manager makes no other. Concurrent misses of one key share a
	// review, so there are fewer reviews than misses.
	res.AuthCalls = delta(before.Requests, after.Requests)["POST"]
	res.AuthCallsPerCheck = ratio(res.AuthCalls, res.Checks)
	for _, l := range res.Levels {
		if l.API.PerSecond == peak {
			res.PeakRatio = l.Ratio
			res.PeakConcurrency = l.Concurrency
		}
		res.BarePeak = max(res.BarePeak, l.Bare.PerSecond)
	}
	res.Peak = peak
	res.PeakToBarePeak = round3(ratio(peak, res.BarePeak))
	b.res.API = res
	logf("  %.0f auth calls (reviews POSTed to the API server) for %.0f checks (%.2g per check); %.0f auth cache misses",
		res.AuthCalls, res.Checks, res.AuthCallsPerCheck, res.CacheMisses)
	return nil
}

// pinForLoad pins the manager and the bare handler (pid bare) to the first CPU
// this process may use and the benchmark itself (the load generator), etcd and
// kube-apiserver to the others, for the decision-API phase. It returns how it pinned, for the report,
// and a function that undoes it. On one CPU, or where pinning fails, the phase
// runs unpinned and says so.
func (b *bench) pinForLoad(bare int) (string, func()) {
	if !b.cfg.apiPin {
		return "unpinned (--api-pin=false)", func() {}
	}
	cpus, err := allowedCPUs()
	if err != nil || len(cpus) < 2 {
		return fmt.Sprintf("unpinned (CPUs %v, %v)", cpus, err), func() {}
	}
	server, rest := cpus[:1], cpus[1:]
	var undo []func()
	unpin := func() {
		for _, u := range undo {
			u()
		}
	}
	for _, p := range []struct {
		name string
		pid  int
		cpus []int
	}{
		{"manager", b.mgr.pid(), server},
		{"bare handler", bare, server},
		{"load generator", os.Getpid(), rest},
		{"etcd", b.cpu.pids["etcd"], rest},
		{"kube-apiserver", b.cpu.pids["kube-apiserver"], rest},
	} {
		if p.pid <= 0 {
			continue
		}
		u, err := pinThreads(p.pid, p.cpus)
		if err != nil {
			unpin()
			logf("  CPU pinning failed (%v): the phase runs unpinned", err)
			return fmt.Sprintf("unpinned (%v)", err), func() {}
		}
		undo = append(undo, u)
	}
	return fmt.Sprintf("the manager and the bare handler on CPU %d; the load generator, etcd and kube-apiserver on CPUs %v",
		server[0], rest), unpin
}
