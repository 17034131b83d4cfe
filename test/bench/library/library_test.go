package library

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/orgrbac/orgrbac/internal/publish"
	"github.com/orgrbac/orgrbac/pkg/authz"
)

// sample is a small environment: acme and globex share the environment roles;
// acme has its own org-producer role.
func sample() *authz.Snapshot {
	return publish.Normalize(&authz.Snapshot{
		Revision: 3,
		Roles: []authz.Role{
			{Slug: "admin", Type: publish.RoleTypeEnvironment, Permissions: []string{"settings:manage", "videos:create", "videos:view"}},
			{Slug: "member", Type: publish.RoleTypeEnvironment, Permissions: []string{"users:invite", "videos:view"}},
			{Slug: "org-producer", Type: publish.RoleTypeOrganization, Organization: "acme", Permissions: []string{"videos:create", "videos:edit"}},
		},
		Organizations: []authz.Organization{
			{Name: "acme", ExternalID: "org_01ACME", Members: []authz.Member{
				{User: "user_alice", Membership: "acme-alice", Roles: []string{"admin"}},
				{User: "user_bob", Membership: "acme-bob", Roles: []string{"org-producer", "member"}},
			}},
			{Name: "globex", Members: []authz.Member{
				{User: "user_frank", Membership: "globex-frank", Roles: []string{"member"}},
				{User: "user_bob", Membership: "globex-bob", Roles: []string{"admin"}},
			}},
		},
	})
}

// writeSnapshot encodes s into dir the way the publisher shards it.
func writeSnapshot(t testing.TB, dir string, s *authz.Snapshot, maxBytes int) {
	t.Helper()
	cms, err := publish.Encode(s, maxBytes)
	if err != nil {
		t.Fatal(err)
	}
	for _, cm := range cms {
		for k, v := range cm.Data {
			if err := os.WriteFile(filepath.Join(dir, k), []byte(v), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestSplitPermission(t *testing.T) {
	for _, tc := range []struct{ in, obj, act string }{
		{"videos:create", "videos", "create"},
		{"a:b:c", "a:b", "c"},
		{"plain", "plain", ""},
		{":x", "", "x"},
	} {
		if obj, act := SplitPermission(tc.in); obj != tc.obj || act != tc.act {
			t.Errorf("SplitPermission(%q) = %q, %q; want %q, %q", tc.in, obj, act, tc.obj, tc.act)
		}
	}
}

// agree checks that authz and both casbin enforcers answer every query alike,
// and that the queries mix allowed and denied answers.
func agree(t *testing.T, src *authz.FileSource, s *authz.Snapshot, qs []Query) {
	t.Helper()
	rules := RulesOf(s)
	for _, cached := range []bool{false, true} {
		e, err := NewEnforcer(rules, cached)
		if err != nil {
			t.Fatal(err)
		}
		allowed := 0
		for _, q := range qs {
			want := src.Allowed(q.Org, q.User, q.Permission)
			got, err := e.Enforce(q.User, q.Org, q.Obj, q.Act)
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Fatalf("cached=%v %+v: casbin %v, authz %v", cached, q, got, want)
			}
			if want {
				allowed++
			}
		}
		if allowed == 0 || allowed == len(qs) {
			t.Fatalf("%d of %d queries allowed: want a mix", allowed, len(qs))
		}
	}
}

func TestAgreeOnSample(t *testing.T) {
	s := sample()
	dir := t.TempDir()
	writeSnapshot(t, dir, s, publish.DefaultMaxBytes)
	src, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	e, err := NewEnforcer(RulesOf(s), false)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		org, user, perm string
		want            bool
	}{
		{"acme", "user_alice", "settings:manage", true},
		{"acme", "user_bob", "videos:edit", true},       // organization role
		{"globex", "user_bob", "videos:edit", false},    // acme's role does not reach globex
		{"globex", "user_bob", "settings:manage", true}, // bob is admin in globex only
		{"acme", "user_bob", "settings:manage", false},
		{"globex", "user_frank", "videos:view", true},
		{"acme", "user_frank", "videos:view", false}, // not a member of acme
		{"acme", "user_nobody", "videos:view", false},
		{"initech", "user_alice", "videos:view", false},
	} {
		obj, act := SplitPermission(tc.perm)
		got, err := e.Enforce(tc.user, tc.org, obj, act)
		if err != nil {
			t.Fatal(err)
		}
		if got != tc.want || src.Allowed(tc.org, tc.user, tc.perm) != tc.want {
			t.Errorf("%s/%s %s: casbin %v, authz %v, want %v", tc.org, tc.user, tc.perm, got, src.Allowed(tc.org, tc.user, tc.perm), tc.want)
		}
	}
	qs, err := Queries(s, 400, 1)
	if err != nil {
		t.Fatal(err)
	}
	agree(t, src, s, qs)
}

func TestQueriesDeterministic(t *testing.T) {
	s := sample()
	a, err := Queries(s, 100, 9)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Queries(s, 100, 9)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("query %d differs: %+v, %+v", i, a[i], b[i])
		}
	}
	if _, err := Queries(&authz.Snapshot{}, 10, 1); err == nil {
		t.Error("an empty snapshot gave queries")
	}
}

// fixture is the harness's snapshot (ORGRBAC_BENCH_SNAPSHOT), loaded once.
type fixture struct {
	src     *authz.FileSource
	queries []Query
	rules   Rules
}

var (
	fixtureOnce sync.Once
	shared      *fixture
	fixtureErr  error
)

func load(tb testing.TB) *fixture {
	tb.Helper()
	fixtureOnce.Do(func() {
		dir := os.Getenv(SnapshotEnv)
		if dir == "" {
			fixtureErr = fmt.Errorf("%s is not set: run this through the benchmark harness, `go run ./test/bench --only=library`", SnapshotEnv)
			return
		}
		f := &fixture{}
		if f.src, fixtureErr = Load(dir); fixtureErr != nil {
			return
		}
		if f.queries, fixtureErr = Queries(f.src.Snapshot(), 4096, 1); fixtureErr != nil {
			return
		}
		f.rules = RulesOf(f.src.Snapshot())
		shared = f
	})
	if fixtureErr != nil {
		tb.Fatal(fixtureErr)
	}
	return shared
}

// TestAgreeOnBenchSnapshot checks the benchmarks' premise on the harness's
// snapshot: both libraries give the same answers to the benchmark's queries.
func TestAgreeOnBenchSnapshot(t *testing.T) {
	f := load(t)
	agree(t, f.src, f.src.Snapshot(), f.queries[:512])
}

func BenchmarkAuthzAllowed(b *testing.B) {
	f := load(b)
	qs := f.queries
	b.ReportAllocs()
	i, hits := 0, 0
	for b.Loop() {
		q := &qs[i%len(qs)]
		if f.src.Allowed(q.Org, q.User, q.Permission) {
			hits++
		}
		i++
	}
	b.ReportMetric(float64(hits)/float64(i), "hit-ratio")
}

func benchmarkCasbin(b *testing.B, cached bool) {
	f := load(b)
	e, err := NewEnforcer(f.rules, cached)
	if err != nil {
		b.Fatal(err)
	}
	qs := f.queries
	if cached { // warm: every query answered once
		for _, q := range qs {
			if _, err := e.Enforce(q.User, q.Org, q.Obj, q.Act); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportAllocs()
	i, hits := 0, 0
	for b.Loop() {
		q := &qs[i%len(qs)]
		ok, err := e.Enforce(q.User, q.Org, q.Obj, q.Act)
		if err != nil {
			b.Fatal(err)
		}
		if ok {
			hits++
		}
		i++
	}
	b.ReportMetric(float64(hits)/float64(i), "hit-ratio")
	b.ReportMetric(float64(len(f.rules.Policies)), "policies")
	b.ReportMetric(float64(len(f.rules.Groupings)), "groupings")
}

func BenchmarkCasbinEnforce(b *testing.B) { benchmarkCasbin(b, false) }

func BenchmarkCasbinCachedEnforce(b *testing.B) { benchmarkCasbin(b, true) }
