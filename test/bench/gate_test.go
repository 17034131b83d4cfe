package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeGate(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "gate.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestReadGate(t *testing.T) {
	for name, tc := range map[string]struct {
		text, wantErr string
	}{
		"valid":         {text: "rules:\n- value: idleWrites\n  max: 0\n- value: apiPeakToBarePeak\n  min: 0.5\n"},
		"unknown value": {text: "rules:\n- value: coldStartSeconds\n  max: 60\n", wantErr: "unknown value"},
		"no bound":      {text: "rules:\n- value: idleWrites\n", wantErr: "neither max nor min"},
		"no rules":      {text: "rules: []\n", wantErr: "no rules"},
		"unknown field": {text: "rules:\n- value: idleWrites\n  maximum: 0\n", wantErr: "unknown field"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := readGate(writeGate(t, tc.text))
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("readGate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("readGate error = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

// The shipped gate parses and bounds every value the gate knows.
func TestShippedGate(t *testing.T) {
	g, err := readGate("gate.yaml")
	if err != nil {
		t.Fatal(err)
	}
	bounded := map[string]bool{}
	for _, r := range g.Rules {
		bounded[r.Value] = true
	}
	for _, v := range gateValueNames {
		if !bounded[v] {
			t.Errorf("gate.yaml does not bound %s", v)
		}
	}
}

func TestGateCheck(t *testing.T) {
	one, half, zero := 1.0, 0.5, 0.0
	g := &gateFile{Rules: []gateRule{
		{Value: "coldStartToLimit", Max: &one},
		{Value: "apiPeakToBarePeak", Min: &half},
		{Value: "idleWrites", Max: &zero},
		{Value: "restartWrites", Max: &zero},
	}}
	checks := g.check(map[string]float64{"coldStartToLimit": 1.0, "apiPeakToBarePeak": 0.4, "idleWrites": 0})
	want := []struct {
		passed, missing bool
	}{{true, false}, {false, false}, {true, false}, {false, true}}
	for i, c := range checks {
		if c.Passed != want[i].passed || c.Missing != want[i].missing {
			t.Errorf("%s: passed %v missing %v, want %v %v", c.Value, c.Passed, c.Missing, want[i].passed, want[i].missing)
		}
	}
	err := gateFailure(checks)
	if err == nil {
		t.Fatal("gateFailure passed a failed gate")
	}
	for _, part := range []string{"apiPeakToBarePeak = 0.4, limit ≥ 0.5", "restartWrites: not measured"} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("gate error %q lacks %q", err, part)
		}
	}
	if err := gateFailure(checks[:1]); err != nil {
		t.Errorf("gateFailure of a passed check: %v", err)
	}
}

func TestGateValues(t *testing.T) {
	allocs := 0.0
	r := &results{
		ColdStart: &coldStart{Seconds: 30, WritesPerMembership: 1.2},
		LimitAll:  &limitResult{Seconds: 20},
		FanOut:    &fanOutResult{RatioToLimit: 1.1, WritesPerChanged: 1.004},
		Idle:      &idleResult{Writes: 0},
		API:       &apiResult{BarePeak: 100, PeakToBarePeak: 0.8},
	}
	r.AllowedAllocs = &allocs
	v := r.gateValues()
	for name, want := range map[string]float64{
		"coldStartToLimit": 1.5, "coldStartWritesPerMembership": 1.2, "fanOutToLimit": 1.1,
		"fanOutWritesPerChanged": 1.004, "idleWrites": 0, "apiPeakToBarePeak": 0.8, "allowedAllocsPerOp": 0,
	} {
		if got, ok := v[name]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", name, got, ok, want)
		}
	}
	if _, ok := v["restartWrites"]; ok {
		t.Error("restartWrites present without a restart phase")
	}
}

func TestAPIServerWrites(t *testing.T) {
	samples, err := parseMetrics(strings.NewReader(`
apiserver_request_total{code="200",component="apiserver",dry_run="",group="orgrbac.dev",resource="memberships",scope="resource",subresource="status",verb="PATCH",version="v1alpha1"} 7
apiserver_request_total{code="409",component="apiserver",dry_run="",group="orgrbac.dev",resource="memberships",scope="resource",subresource="status",verb="PATCH",version="v1alpha1"} 1
apiserver_request_total{code="201",component="apiserver",dry_run="",group="orgrbac.dev",resource="eventsegments",scope="resource",subresource="",verb="POST",version="v1alpha1"} 2
apiserver_request_total{code="200",component="apiserver",dry_run="",group="orgrbac.dev",resource="memberships",scope="namespace",subresource="",verb="LIST",version="v1alpha1"} 9
apiserver_storage_size_bytes{storage_cluster_id="etcd-0"} 4096
`))
	if err != nil {
		t.Fatal(err)
	}
	got := apiserverWrites(samples)
	if len(got) != 2 || got["PATCH memberships/status"] != 8 || got["POST eventsegments"] != 2 {
		t.Errorf("apiserverWrites = %v, want PATCH memberships/status 8, POST eventsegments 2 (no LIST)", got)
	}
	if n := storageSize(samples); n != 4096 {
		t.Errorf("storageSize = %v, want 4096", n)
	}
}
