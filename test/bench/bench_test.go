package main

import (
	"encoding/json"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/resolve"
)

func TestParseScale(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    int
		wantErr bool
	}{
		{"10k", 10000, false},
		{"100K", 100000, false},
		{"1500", 1500, false},
		{" 1k ", 1000, false},
		{"0", 0, true},
		{"-1k", 0, true},
		{"ten", 0, true},
		{"", 0, true},
	} {
		got, err := parseScale(tc.in)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("parseScale(%q) = %d, %v; want %d, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestFanOutOrganizations(t *testing.T) {
	for _, tc := range []struct{ n, orgs, fan int }{
		{50, 1, 1},
		{1000, 10, 10},
		{10000, 100, 100},
		{100000, 1000, 100},
		{250000, 2500, 100},
	} {
		if got := numOrganizations(tc.n); got != tc.orgs {
			t.Errorf("numOrganizations(%d) = %d, want %d", tc.n, got, tc.orgs)
		}
		if got := numFanOutOrganizations(tc.n); got != tc.fan {
			t.Errorf("numFanOutOrganizations(%d) = %d, want %d", tc.n, got, tc.fan)
		}
	}
}

// TestGenerateMatchesResolver checks the generator's expectations against the
// pure resolver: every membership resolves Ready with the expected source, and
// holds the fan-out role with permissions exactly when it is expected to change
// on the fan-out.
func TestGenerateMatchesResolver(t *testing.T) {
	for _, n := range []int{150, 2000, 12000} {
		w := generate(n, 7)
		env := resolve.Compile(resolverInput(w))
		if len(w.Memberships) != n {
			t.Fatalf("n=%d: %d memberships", n, len(w.Memberships))
		}
		for i, m := range w.Memberships {
			s := &m.Spec
			res := env.Resolve(resolve.Membership{
				Meta:         resolve.Meta{Name: m.Name, Created: time.Date(2026, 1, 2, 0, 0, 0, i, time.UTC)},
				Organization: s.Organization, User: s.User, Roles: s.Roles,
				DirectoryGroups: s.DirectoryGroups, SSOGroups: s.SSOGroups, State: resolve.State(s.State),
			})
			exp := w.Expected[m.Name]
			if !res.Ready || orgrbacv1alpha1.RoleSource(res.Source) != exp.Source {
				t.Fatalf("n=%d %s: resolved Ready=%v source %q (%s), expected %q", n, m.Name, res.Ready, res.Source, res.Message, exp.Source)
			}
			changes := slices.Contains(res.Roles, fanOutRole) && len(res.Permissions) > 0
			if changes != exp.FanOut {
				t.Fatalf("n=%d %s: roles %v, permissions %d, expected fan-out %v", n, m.Name, res.Roles, len(res.Permissions), exp.FanOut)
			}
		}
	}
}

func TestGenerateShape(t *testing.T) {
	w := generate(10000, 1)
	if got := len(w.Roles); got != numRoles {
		t.Errorf("%d roles, want %d", got, numRoles)
	}
	for _, r := range w.Roles {
		if len(r.Spec.Permissions) != permsPerRole {
			t.Errorf("role %s has %d permissions", r.Name, len(r.Spec.Permissions))
		}
	}
	if got := len(w.Organizations); got != 100 {
		t.Errorf("%d organizations, want 100", got)
	}
	counts := w.sourceCounts()
	for src, share := range map[orgrbacv1alpha1.RoleSource]float64{
		orgrbacv1alpha1.SourceDirectory: 0.40, orgrbacv1alpha1.SourceSSO: 0.25,
		orgrbacv1alpha1.SourceManual: 0.20, orgrbacv1alpha1.SourceDefault: 0.15,
	} {
		if got := float64(counts[src]) / 10000; got < share-0.03 || got > share+0.03 {
			t.Errorf("source %s: share %.3f, want about %.2f", src, got, share)
		}
	}
	// At 10k nearly everyone holds the fan-out role (all but the inactive and pending);
	// at 100k about 10k do.
	if got := len(w.fanOutNames()); got < 9500 || got > 10000 {
		t.Errorf("10k: %d fan-out memberships", got)
	}
	if got := len(generate(100000, 1).fanOutNames()); got < 9500 || got > 10000 {
		t.Errorf("100k: %d fan-out memberships", got)
	}
}

func TestGenerateDeterministic(t *testing.T) {
	a, b := generate(3000, 42), generate(3000, 42)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("the same seed gave different worlds")
	}
	if c := generate(3000, 43); reflect.DeepEqual(a.Memberships, c.Memberships) {
		t.Fatal("different seeds gave the same memberships")
	}
}

func TestParseMetrics(t *testing.T) {
	text := `# HELP rest_client_requests_total Number of HTTP requests.
# TYPE rest_client_requests_total counter
rest_client_requests_total{code="200",host="127.0.0.1:4000",method="GET"} 120
rest_client_requests_total{code="200",host="127.0.0.1:4000",method="PATCH"} 10
rest_client_requests_total{code="409",host="127.0.0.1:4000",method="PATCH"} 2
rest_client_requests_total{code="201",host="127.0.0.1:4000",method="POST"} 3
controller_runtime_reconcile_total{controller="membership",result="success"} 50
controller_runtime_reconcile_total{controller="membership",result="error"} 1
controller_runtime_reconcile_time_seconds_sum{controller="membership"} 1.5
weird_metric{path="a\"b,c}",x="y"} 4e+06
orgrbac_api_index_rebuild_duration_seconds_bucket{le="0.1"} 3
orgrbac_api_index_rebuild_duration_seconds_sum 0.25
orgrbac_api_index_rebuild_duration_seconds_count 4
orgrbac_api_checks_total{result="allowed"} 5
orgrbac_api_checks_total{result="denied"} 2
orgrbac_api_auth_cache_total{cache="token",result="hit"} 90
orgrbac_api_auth_cache_total{cache="token",result="miss"} 2
orgrbac_api_auth_cache_total{cache="access",result="miss"} 3
go_memstats_heap_inuse_bytes 1.2e+07
go_memstats_heap_released_bytes 3e+06
go_memstats_mallocs_total 1e+06
orgrbac_events_emit_lag_seconds 2.5
`
	samples, err := parseMetrics(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	if got := samples[7].Labels["path"]; got != `a"b,c}` {
		t.Errorf("escaped label = %q", got)
	}
	s := summarize(samples)
	want := snapshot{
		Requests:         map[string]float64{"GET": 120, "PATCH": 12, "POST": 3},
		RequestsByCode:   map[string]float64{"GET 200": 120, "PATCH 200": 10, "PATCH 409": 2, "POST 201": 3},
		Reconciles:       map[string]float64{"membership": 51},
		ReconcileSeconds: map[string]float64{"membership": 1.5},
		HeapInuse:        1.2e7,
		Memstats:         map[string]float64{"heap_inuse": 1.2e7, "heap_released": 3e6},
		Orgrbac: map[string]float64{
			"orgrbac_api_index_rebuild_duration_seconds_sum":   0.25,
			"orgrbac_api_index_rebuild_duration_seconds_count": 4,
			"orgrbac_api_checks_total":                         7,
			"orgrbac_api_auth_cache_total":                     95,
		},
		AuthCache: map[string]float64{"token/hit": 90, "token/miss": 2, "access/miss": 3},
		EmitLag:   2.5,
	}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("summarize = %+v, want %+v", s, want)
	}
	if got := authMisses(s.AuthCache); got != 5 {
		t.Errorf("authMisses = %v, want 5", got)
	}
	if got := writes(s.Requests); got != 15 {
		t.Errorf("writes = %v, want 15", got)
	}
	if got := delta(map[string]float64{"GET": 100, "PATCH": 12}, s.Requests); !reflect.DeepEqual(got, map[string]float64{"GET": 20, "POST": 3}) {
		t.Errorf("delta = %v", got)
	}
	for _, bad := range []string{"novalue{a=\"b\"}", "x{a=b} 1", "x{a=\"b} 1", "x notanumber"} {
		if _, err := parseMetrics(strings.NewReader(bad)); err == nil {
			t.Errorf("parseMetrics(%q): no error", bad)
		}
	}
}

func TestProcParsers(t *testing.T) {
	mem, err := parseStatusMemory("Name:\tmanager\nVmPeak:\t 900 kB\nVmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\n")
	if err != nil || mem != (memory{Peak: 2048 * 1024, Current: 1024 * 1024}) {
		t.Errorf("parseStatusMemory = %+v, %v", mem, err)
	}
	if _, err := parseStatusMemory("VmRSS:\t 1 kB\n"); err == nil {
		t.Error("parseStatusMemory without VmHWM: no error")
	}
	// The command name holds a space and a parenthesis; utime 250, stime 50 ticks.
	stat := "4242 (my (odd) cmd) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 12 0 100 0 0"
	if got, err := parseStatCPU(stat); err != nil || got != 3 {
		t.Errorf("parseStatCPU = %v, %v; want 3", got, err)
	}
	if _, err := parseStatCPU("4242 (x) S 1"); err == nil {
		t.Error("parseStatCPU of a short line: no error")
	}
}

func TestBumpedConditions(t *testing.T) {
	t0 := metav1.NewTime(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	conds := []metav1.Condition{
		{Type: orgrbacv1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: "Resolved", LastTransitionTime: t0},
		{Type: "ReferencesResolved", Status: metav1.ConditionTrue, Reason: "AllFound", LastTransitionTime: t0},
	}
	body, err := bumpedConditions(conds)
	if err != nil {
		t.Fatal(err)
	}
	var patch struct {
		Status struct {
			Conditions []metav1.Condition `json:"conditions"`
		} `json:"status"`
	}
	if err := json.Unmarshal(body, &patch); err != nil {
		t.Fatal(err)
	}
	got := patch.Status.Conditions
	if len(got) != 2 || !got[0].LastTransitionTime.Equal(&metav1.Time{Time: t0.Add(time.Second)}) ||
		!got[1].LastTransitionTime.Equal(&t0) || got[0].Reason != "Resolved" {
		t.Errorf("patch conditions = %+v", got)
	}
	if !conds[0].LastTransitionTime.Equal(&t0) {
		t.Error("bumpedConditions modified its input")
	}
	if _, err := bumpedConditions(conds[1:]); err == nil {
		t.Error("no Ready condition: no error")
	}
}

func TestPercentile(t *testing.T) {
	d := []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for _, tc := range []struct {
		p    float64
		want time.Duration
	}{{0, 1}, {50, 5}, {99, 9}, {100, 10}} {
		if got := percentile(d, tc.p); got != tc.want {
			t.Errorf("percentile(%v) = %v, want %v", tc.p, got, tc.want)
		}
	}
	if got := percentile(nil, 50); got != 0 {
		t.Errorf("percentile(nil) = %v", got)
	}
}

func TestParseSchedstatWait(t *testing.T) {
	if d, err := parseSchedstatWait("123456 7890000 42\n"); err != nil || d != 7890*time.Microsecond {
		t.Errorf("parseSchedstatWait = %v, %v; want 7.89ms", d, err)
	}
	if _, err := parseSchedstatWait("1 2"); err == nil {
		t.Error("a short schedstat parses")
	}
	if d, err := runQueueWait(os.Getpid()); err != nil || d < 0 {
		t.Errorf("runQueueWait(self) = %v, %v", d, err)
	}
	got := perSecond(map[string]time.Duration{"server": time.Second}, map[string]time.Duration{"server": 3 * time.Second, "client": time.Second}, 4)
	if !reflect.DeepEqual(got, map[string]float64{"server": 500}) {
		t.Errorf("perSecond = %v; want server 500 ms/s and no client (no reading before)", got)
	}
}
