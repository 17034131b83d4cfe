package events

import (
	"testing"
	"time"
)

// While a namespace's memberships settle its emissions wait, for at most
// SettleMax in a row; other namespaces do not wait.
func TestSettleWait(t *testing.T) {
	settling := map[string]bool{"a": true}
	e := &Emitter{opts: Options{Settling: func(ns string) bool { return settling[ns] }}.withDefaults(),
		settleSince: map[string]time.Time{}}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	steps := []struct {
		name   string
		ns     string
		at     time.Duration
		settle bool
		want   bool
	}{
		{"settling: the first wait", "a", 0, true, true},
		{"another namespace does not wait", "b", 0, false, false},
		{"still settling, within SettleMax", "a", DefaultSettleMax - time.Millisecond, true, true},
		{"SettleMax reached: emits", "a", DefaultSettleMax, true, false},
		{"batches that remain follow at once", "a", DefaultSettleMax + time.Second, true, false},
		{"settled: emits", "a", DefaultSettleMax + 2*time.Second, false, false},
		{"settling again: a new wait", "a", DefaultSettleMax + 3*time.Second, true, true},
		{"the new wait is bounded afresh", "a", 2*DefaultSettleMax + 2*time.Second, true, true},
		{"and ends SettleMax after it began", "a", 2*DefaultSettleMax + 3*time.Second, true, false},
	}
	for _, st := range steps {
		settling["a"] = st.settle
		if got := e.settleWait(st.ns, t0.Add(st.at)); got != st.want {
			t.Fatalf("%s: settleWait = %v, want %v", st.name, got, st.want)
		}
	}
	delete(e.settleSince, "a") // what an emission without more batches does
	settling["a"] = true
	if !e.settleWait("a", t0.Add(3*DefaultSettleMax)) {
		t.Fatal("after a complete emission: settleWait = false, want a new wait")
	}
	none := &Emitter{opts: Options{}.withDefaults(), settleSince: map[string]time.Time{}}
	if none.settleWait("a", t0) {
		t.Fatal("without Settling: settleWait = true")
	}
}
