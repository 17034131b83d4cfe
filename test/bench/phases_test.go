package main

import (
	"fmt"
	"os"
	"reflect"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/publish"
	"github.com/orgrbac/orgrbac/internal/resolve"
	"github.com/orgrbac/orgrbac/pkg/authz"
)

func phaseNames(ps []phase) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.name)
	}
	return out
}

func TestSelectPhases(t *testing.T) {
	all := phaseNames(phases)
	set := func(names ...string) map[string]bool {
		m := map[string]bool{}
		for _, n := range names {
			m[n] = true
		}
		return m
	}
	for _, tc := range []struct {
		name       string
		only, skip map[string]bool
		want       []string
	}{
		{"everything", nil, nil, all},
		{"skip", nil, set("idle", "library", "setup"), []string{"setup", "coldstart", "limit", "fanout", "restart", "revocation", "api"}},
		{"skip the restart", nil, set("restart", "library"), []string{"setup", "coldstart", "limit", "fanout", "idle", "revocation", "api"}},
		{"only the library needs no cluster", set("library"), nil, []string{"library"}},
		{"only api brings setup and coldstart", set("api"), set("setup"), []string{"setup", "coldstart", "api"}},
	} {
		if got := phaseNames(selectPhases(tc.only, tc.skip)); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestParseFlagsPhases(t *testing.T) {
	c, err := parseFlags([]string{"--only=library", "--api-concurrency=2, 8"})
	if err != nil {
		t.Fatal(err)
	}
	if !c.only["library"] || !reflect.DeepEqual(c.apiConcurrency, []int{2, 8}) {
		t.Errorf("only %v, concurrency %v", c.only, c.apiConcurrency)
	}
	for _, bad := range [][]string{{"--only=nope"}, {"--api-concurrency=0"}, {"--api-tokens=0"}, {"--revocation-trials=-1"}} {
		if _, err := parseFlags(bad); err == nil {
			t.Errorf("parseFlags(%v): no error", bad)
		}
	}
}

func TestParseBenchOutput(t *testing.T) {
	out := `goos: linux
goarch: amd64
pkg: github.com/orgrbac/orgrbac/test/bench/library
BenchmarkAuthzAllowed-2          	20000000	        59.10 ns/op	         0.2588 hit-ratio	       0 B/op	       0 allocs/op
BenchmarkCasbinEnforce-2         	      33	   9189839 ns/op	    109105 groupings	         0.2500 hit-ratio	     26880 policies	 6624514 B/op	  172951 allocs/op
BenchmarkCasbinCachedEnforce     	 1000000	       701.3 ns/op	     240 B/op	       8 allocs/op
BenchmarkNote says hello
PASS
ok  	github.com/orgrbac/orgrbac/test/bench/library	12.3s
`
	lines, err := parseBenchOutput(out)
	if err != nil {
		t.Fatal(err)
	}
	want := []benchLine{
		{Name: "BenchmarkAuthzAllowed", Iterations: 20000000, NsPerOp: 59.1, Metrics: map[string]float64{"hit-ratio": 0.2588}},
		{Name: "BenchmarkCasbinEnforce", Iterations: 33, NsPerOp: 9189839, BytesPerOp: 6624514, AllocsOp: 172951,
			Metrics: map[string]float64{"groupings": 109105, "hit-ratio": 0.25, "policies": 26880}},
		{Name: "BenchmarkCasbinCachedEnforce", Iterations: 1000000, NsPerOp: 701.3, BytesPerOp: 240, AllocsOp: 8, Metrics: map[string]float64{}},
	}
	if !reflect.DeepEqual(lines, want) {
		t.Errorf("parseBenchOutput =\n%+v\nwant\n%+v", lines, want)
	}
	if _, err := parseBenchOutput("PASS\n"); err == nil {
		t.Error("no results: no error")
	}
	if _, err := parseBenchOutput("BenchmarkX-2 10 abc ns/op\n"); err == nil {
		t.Error("a bad value: no error")
	}
}

func TestSummarizeLatencies(t *testing.T) {
	var lat []time.Duration
	for i := 100; i >= 1; i-- {
		lat = append(lat, time.Duration(i)*time.Microsecond)
	}
	s := summarizeLatencies(lat, 2*time.Second)
	if s.Requests != 100 || s.PerSecond != 50 || s.P50Micros != 50 || s.P99Micros != 99 || s.MaxMicros != 100 || s.Seconds != 2 {
		t.Errorf("summarizeLatencies = %+v", s)
	}
	if s := summarizeLatencies(nil, time.Second); s.Requests != 0 || s.PerSecond != 0 {
		t.Errorf("no requests: %+v", s)
	}
}

func TestSpread(t *testing.T) {
	if got := spread([]int{1, 2, 3}, 8); !reflect.DeepEqual(got, []int{1, 2, 3}) {
		t.Errorf("short list: %v", got)
	}
	list := make([]int, 100)
	for i := range list {
		list[i] = i
	}
	if got := spread(list, 4); !reflect.DeepEqual(got, []int{0, 25, 50, 75}) {
		t.Errorf("spread = %v", got)
	}
}

func TestRevocationRole(t *testing.T) {
	holders := map[string][]int{
		"member": {1, 2, 3, 4, 5}, "staff": {1, 2, 3, 4, 5, 6}, "role-a": {1, 2}, "role-b": {3, 4},
		"org-admin": {7, 8, 9},
	}
	env := func(s string) bool { return s != "org-admin" }
	role, idx := revocationRole(holders, env, "member", "staff")
	if role != "role-a" || !reflect.DeepEqual(idx, []int{1, 2}) {
		t.Errorf("revocationRole = %s %v, want role-a (the tie goes to the lower slug)", role, idx)
	}
	if role, _ := revocationRole(map[string][]int{"staff": {1}}, env, "staff"); role != "" {
		t.Errorf("nothing to choose: %q", role)
	}
	got := holdersByRole([]resolve.Result{
		{Ready: true, Active: true, Roles: []string{"a", "b"}},
		{Ready: true, Active: false, Roles: []string{"a"}},
		{Ready: false, Active: true},
		{Ready: true, Active: true, Roles: []string{"b"}},
	})
	if !reflect.DeepEqual(got, map[string][]int{"a": {0}, "b": {0, 3}}) {
		t.Errorf("holdersByRole = %v", got)
	}
}

// TestSnapshotOf checks the library's snapshot against the generator's
// expectations and the published format, and reads it back with pkg/authz.
func TestSnapshotOf(t *testing.T) {
	w := generate(3000, 5)
	env, results := resolveAll(w)
	s := snapshotOf(w, env, results)
	if err := publish.Validate(s); err != nil {
		t.Fatalf("invalid snapshot: %v", err)
	}
	published := map[string]bool{}
	for _, o := range s.Organizations {
		for _, m := range o.Members {
			published[m.Membership] = true
		}
	}
	for i, m := range w.Memberships {
		active := m.Spec.State == orgrbacv1alpha1.MembershipActive
		if published[m.Name] != active {
			t.Fatalf("%s (state %s) published: %v", m.Name, m.Spec.State, published[m.Name])
		}
		if w.Expected[m.Name].FanOut && !slices.Contains(results[i].Roles, fanOutRole) {
			t.Fatalf("%s does not hold %s", m.Name, fanOutRole)
		}
	}
	dir := t.TempDir()
	size, err := writeSnapshot(dir, s)
	if err != nil || size == 0 {
		t.Fatalf("writeSnapshot: %d bytes, %v", size, err)
	}
	src := authz.NewFileSource(dir, authz.FileSourceOptions{})
	if err := src.Reload(); err != nil {
		t.Fatal(err)
	}
	staffPerm := w.Roles[1].Spec.Permissions[0]
	for i, m := range w.Memberships {
		want := results[i].Active && slices.Contains(results[i].Permissions, staffPerm)
		if got := src.Allowed(m.Spec.Organization, m.Spec.User, staffPerm); got != want {
			t.Fatalf("%s: Allowed(%s) = %v, want %v", m.Name, staffPerm, got, want)
		}
	}
	if src.Allowed(w.Memberships[0].Spec.Organization, "user_nobody", staffPerm) {
		t.Error("an unknown user is allowed")
	}
	if _, err := writeSnapshot(dir+"/missing", s); err == nil {
		t.Error("writing into a missing folder: no error")
	}
	_ = os.RemoveAll(dir)
}

func TestPublishedFiles(t *testing.T) {
	s := publish.Normalize(&publish.Snapshot{Revision: 4, Roles: []publish.Role{
		{Slug: "staff", Type: publish.RoleTypeEnvironment, Permissions: []string{"a:b", "bench:x"}},
		{Slug: "org-admin", Type: publish.RoleTypeOrganization, Organization: "o", Permissions: []string{"bench:y"}},
	}, Organizations: []publish.Organization{{Name: "o"}}})
	for i := range 6 {
		s.Roles = append(s.Roles, publish.Role{Slug: fmt.Sprintf("role-%d", i), Type: publish.RoleTypeEnvironment,
			Permissions: []string{"res:read", "res:write"}})
	}
	s = publish.Normalize(s)
	cms, err := publish.Encode(s, 400) // small enough to shard
	if err != nil {
		t.Fatal(err)
	}
	if len(cms) < 3 {
		t.Fatalf("%d ConfigMaps: want an index and shards", len(cms))
	}
	byName := map[string]*corev1.ConfigMap{}
	for _, cm := range cms {
		byName[cm.Name] = &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: cm.Name}, Data: cm.Data}
	}
	if _, err := publish.Decode(configMapFiles(map[string]*corev1.ConfigMap{publish.ConfigMapName: byName[publish.ConfigMapName]})); err == nil {
		t.Error("the index without its shards decodes")
	}
	got, err := publish.Decode(configMapFiles(byName))
	if err != nil {
		t.Fatalf("decoding %d ConfigMaps: %v", len(cms), err)
	}
	if !roleHas(got, "staff", "bench:x") || roleHas(got, "staff", "bench:y") || roleHas(got, "org-admin", "bench:y") {
		t.Error("roleHas: wrong answer (organization roles do not count)")
	}
}

func TestPublishedWatcherSettles(t *testing.T) {
	s := &publish.Snapshot{Revision: 7, Organizations: []publish.Organization{{Name: "o"}}}
	for i := range 8 {
		s.Roles = append(s.Roles, publish.Role{Slug: fmt.Sprintf("role-%d", i), Type: publish.RoleTypeEnvironment,
			Permissions: []string{"res:read", "res:write"}})
	}
	cms, err := publish.Encode(publish.Normalize(s), 400)
	if err != nil {
		t.Fatal(err)
	}
	if len(cms) < 3 {
		t.Fatalf("%d ConfigMaps: want an index and shards", len(cms))
	}
	asObj := func(cm publish.ConfigMapData) *corev1.ConfigMap {
		return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: cm.Name}, Data: cm.Data}
	}
	p := &publishedWatcher{cms: map[string]*corev1.ConfigMap{}}
	// The index arrives first: the watcher sees a torn snapshot and has no good one.
	p.observe(asObj(cms[0]), false)
	if _, err := p.settled(t.Context(), 100*time.Millisecond); err == nil {
		t.Fatal("settled on a torn snapshot")
	}
	done := make(chan error, 1)
	var got *publish.Snapshot
	go func() {
		var err error
		got, err = p.settled(t.Context(), 10*time.Second)
		done <- err
	}()
	for _, cm := range cms[1:] {
		p.observe(asObj(cm), false)
	}
	if err := <-done; err != nil {
		t.Fatalf("settled after every shard arrived: %v", err)
	}
	if got.Revision != 7 || len(got.Roles) != 8 {
		t.Errorf("settled on revision %d with %d roles; want revision 7 with 8", got.Revision, len(got.Roles))
	}
}
