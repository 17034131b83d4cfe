package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"strconv"
	"strings"

	"k8s.io/client-go/kubernetes"
)

// sample is one line of the Prometheus text exposition format.
type sample struct {
	Name   string
	Labels map[string]string
	Value  float64
}

// parseMetrics reads the Prometheus text format (what controller-runtime's
// /metrics serves): comments are skipped, timestamps are not expected.
func parseMetrics(r io.Reader) ([]sample, error) {
	var out []sample
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		s, err := parseSample(text)
		if err != nil {
			return nil, fmt.Errorf("metrics line %d: %w", line, err)
		}
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading metrics: %w", err)
	}
	return out, nil
}

func parseSample(text string) (sample, error) {
	s := sample{Labels: map[string]string{}}
	end := strings.IndexAny(text, "{ ")
	if end <= 0 {
		return s, fmt.Errorf("no metric name in %q", text)
	}
	s.Name = text[:end]
	rest := text[end:]
	if strings.HasPrefix(rest, "{") {
		var err error
		if rest, err = parseLabels(rest[1:], s.Labels); err != nil {
			return s, err
		}
	}
	fields := strings.Fields(rest)
	if len(fields) == 0 {
		return s, fmt.Errorf("no value in %q", text)
	}
	v, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return s, fmt.Errorf("value of %s: %w", s.Name, err)
	}
	s.Value = v
	return s, nil
}

// parseLabels parses `a="x",b="y"}` into labels and returns what follows the '}'.
func parseLabels(s string, labels map[string]string) (string, error) {
	for {
		s = strings.TrimLeft(s, " ,")
		if strings.HasPrefix(s, "}") {
			return s[1:], nil
		}
		eq := strings.IndexByte(s, '=')
		if eq <= 0 || len(s) < eq+2 || s[eq+1] != '"' {
			return "", fmt.Errorf("bad label in %q", s)
		}
		key := strings.TrimSpace(s[:eq])
		var val strings.Builder
		i := eq + 2
		for ; i < len(s) && s[i] != '"'; i++ {
			if s[i] == '\\' && i+1 < len(s) {
				i++
				switch s[i] {
				case 'n':
					val.WriteByte('\n')
				default:
					val.WriteByte(s[i])
				}
				continue
			}
			val.WriteByte(s[i])
		}
		if i >= len(s) {
			return "", fmt.Errorf("unterminated label value in %q", s)
		}
		labels[key] = val.String()
		s = s[i+1:]
	}
}

// snapshot is the part of a manager's /metrics the benchmark uses.
type snapshot struct {
	// Requests is rest_client_requests_total summed by method (GET, LIST is GET
	// too, PATCH, PUT, POST, DELETE, WATCH shows as GET).
	Requests map[string]float64
	// RequestsByCode is rest_client_requests_total summed by method and
	// status code ("PATCH 200", "PATCH 409"): a write refused by an optimistic
	// lock is a request that wrote nothing.
	RequestsByCode map[string]float64
	// Reconciles is controller_runtime_reconcile_total summed by controller.
	Reconciles map[string]float64
	// ReconcileSeconds is controller_runtime_reconcile_time_seconds_sum by controller.
	ReconcileSeconds map[string]float64
	// HeapInuse is go_memstats_heap_inuse_bytes.
	HeapInuse float64
	// Memstats are the go_memstats_*_bytes gauges by their middle name
	// (heap_alloc, heap_idle, heap_released, stack_inuse, sys, ...).
	Memstats map[string]float64
	// Orgrbac holds orgrbac's own counters and histogram sums and counts
	// (orgrbac_*_total, _sum, _count), summed over their labels.
	Orgrbac map[string]float64
	// AuthCache is orgrbac_api_auth_cache_total by "cache/result" (token/hit,
	// token/miss, access/hit, access/miss): each miss is one TokenReview or
	// SubjectAccessReview.
	AuthCache map[string]float64
	// EmitLag is orgrbac_events_emit_lag_seconds: the age of the oldest change
	// not yet in an event log (0 when every change is written).
	EmitLag float64
}

// summarize extracts a snapshot from parsed samples.
func summarize(samples []sample) snapshot {
	s := snapshot{Requests: map[string]float64{}, RequestsByCode: map[string]float64{}, Reconciles: map[string]float64{}, ReconcileSeconds: map[string]float64{},
		Orgrbac: map[string]float64{}, AuthCache: map[string]float64{}, Memstats: map[string]float64{}}
	for _, m := range samples {
		if strings.HasPrefix(m.Name, "orgrbac_") && (strings.HasSuffix(m.Name, "_total") ||
			strings.HasSuffix(m.Name, "_sum") || strings.HasSuffix(m.Name, "_count")) {
			s.Orgrbac[m.Name] += m.Value
		}
		if name, ok := strings.CutPrefix(m.Name, "go_memstats_"); ok {
			if name, ok := strings.CutSuffix(name, "_bytes"); ok {
				s.Memstats[name] = m.Value
			}
		}
		switch m.Name {
		case "rest_client_requests_total":
			s.Requests[m.Labels["method"]] += m.Value
			s.RequestsByCode[m.Labels["method"]+" "+m.Labels["code"]] += m.Value
		case "controller_runtime_reconcile_total":
			s.Reconciles[m.Labels["controller"]] += m.Value
		case "controller_runtime_reconcile_time_seconds_sum":
			s.ReconcileSeconds[m.Labels["controller"]] += m.Value
		case "go_memstats_heap_inuse_bytes":
			s.HeapInuse = m.Value
		case "orgrbac_api_auth_cache_total":
			s.AuthCache[m.Labels["cache"]+"/"+m.Labels["result"]] += m.Value
		case "orgrbac_events_emit_lag_seconds":
			s.EmitLag = max(s.EmitLag, m.Value)
		}
	}
	return s
}

// mutatingMethods are the HTTP methods that write.
var mutatingMethods = []string{"POST", "PUT", "PATCH", "DELETE"}

// delta is after minus before, per key; keys that did not move are dropped.
func delta(before, after map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for k, v := range after {
		if d := v - before[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}

// authMisses sums the auth cache misses of a "cache/result" map: the
// TokenReviews and SubjectAccessReviews the decision API asked for.
func authMisses(byKey map[string]float64) float64 {
	var n float64
	for k, v := range byKey {
		if strings.HasSuffix(k, "/miss") {
			n += v
		}
	}
	return n
}

// writes sums the mutating methods of a per-method map.
func writes(byMethod map[string]float64) float64 {
	var n float64
	for _, m := range mutatingMethods {
		n += byMethod[m]
	}
	return n
}

// total sums every value of m.
func total(m map[string]float64) float64 {
	var n float64
	for v := range maps.Values(m) {
		n += v
	}
	return n
}

// apiserverWrites reads the API server's own apiserver_request_total and sums
// the writes by "VERB resource[/subresource]" (its verbs: POST creates, PUT
// updates, PATCH, APPLY, DELETE, DELETECOLLECTION): where a phase's writes
// went, which the manager's client metrics (by method only) cannot tell.
func apiserverWrites(samples []sample) map[string]float64 {
	out := map[string]float64{}
	for _, s := range samples {
		if s.Name != "apiserver_request_total" {
			continue
		}
		verb := s.Labels["verb"]
		switch verb {
		case "POST", "PUT", "PATCH", "APPLY", "DELETE", "DELETECOLLECTION":
		default:
			continue
		}
		key := verb + " " + s.Labels["resource"]
		if sub := s.Labels["subresource"]; sub != "" {
			key += "/" + sub
		}
		out[key] += s.Value
	}
	return out
}

// apiserverMetrics scrapes the API server's /metrics with the benchmark's
// admin client.
func (b *bench) apiserverMetrics(ctx context.Context) ([]sample, error) {
	cs, err := kubernetes.NewForConfig(b.cl.Config())
	if err != nil {
		return nil, fmt.Errorf("the API server's metrics client: %w", err)
	}
	body, err := cs.RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return nil, fmt.Errorf("scraping the API server's metrics: %w", err)
	}
	return parseMetrics(bytes.NewReader(body))
}

// apiserverWriteCounts returns apiserverWrites of the API server's metrics now.
func (b *bench) apiserverWriteCounts(ctx context.Context) (map[string]float64, error) {
	samples, err := b.apiserverMetrics(ctx)
	if err != nil {
		return nil, err
	}
	return apiserverWrites(samples), nil
}

// storageSize is apiserver_storage_size_bytes (etcd's database, history not
// yet compacted included), summed over the storage clusters.
func storageSize(samples []sample) float64 {
	var n float64
	for _, s := range samples {
		if s.Name == "apiserver_storage_size_bytes" {
			n += s.Value
		}
	}
	return n
}
