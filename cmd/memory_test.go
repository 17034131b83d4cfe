package main

import "testing"

func TestParseCgroupLimit(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"1073741824\n", 1 << 30},
		{"max\n", 0},                 // cgroup v2, no limit
		{"9223372036854771712\n", 0}, // cgroup v1, no limit
		{"", 0},
		{"-1", 0},
		{"garbage", 0},
	} {
		if got := parseCgroupLimit(tc.in); got != tc.want {
			t.Errorf("parseCgroupLimit(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestMemorySettings(t *testing.T) {
	env := func(vars map[string]string) func(string) string {
		return func(k string) string { return vars[k] }
	}
	for _, tc := range []struct {
		name      string
		vars      map[string]string
		limit     int64
		wantGC    int
		wantLimit int64
	}{
		{"defaults, no container limit", nil, 0, defaultGCPercent, 0},
		{"container limit", nil, 1000, defaultGCPercent, 900},
		{"GOGC set", map[string]string{"GOGC": "100"}, 0, 0, 0},
		{"GOMEMLIMIT set", map[string]string{"GOMEMLIMIT": "500MiB"}, 1000, defaultGCPercent, 0},
		{"both set", map[string]string{"GOGC": "off", "GOMEMLIMIT": "1GiB"}, 1000, 0, 0},
	} {
		gc, limit := memorySettings(env(tc.vars), tc.limit)
		if gc != tc.wantGC || limit != tc.wantLimit {
			t.Errorf("%s: got GOGC %d, limit %d; want %d, %d", tc.name, gc, limit, tc.wantGC, tc.wantLimit)
		}
	}
}
