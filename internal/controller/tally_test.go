package controller

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
)

// tallyMembership is a membership of ns at generation gen whose status observed
// observed, Ready with status ready (none when empty).
func tallyMembership(ns, name string, gen, observed int64, ready metav1.ConditionStatus) *orgrbacv1alpha1.Membership {
	m := &orgrbacv1alpha1.Membership{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Generation: gen}}
	m.Status.ObservedGeneration = observed
	if ready != "" {
		m.Status.Conditions = []metav1.Condition{{Type: orgrbacv1alpha1.ConditionReady, Status: ready, Reason: "Resolved"}}
	}
	return m
}

func TestMembershipTally(t *testing.T) {
	clk := clocktesting.NewFakePassiveClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	tl := newMembershipTally(clk)
	h := tl.handler()
	later := func(d time.Duration) { clk.SetTime(clk.Now().Add(d)) }

	// A cold start: two memberships of a without status, one of b resolved.
	a1 := tallyMembership("a", "m1", 1, 0, "")
	a2 := tallyMembership("a", "m2", 1, 0, "")
	b1 := tallyMembership("b", "m1", 1, 1, metav1.ConditionTrue)
	h.OnAdd(a1, true)
	h.OnAdd(a2, true)
	h.OnAdd(b1, true)
	if !tl.settling("a") || tl.settling("b") {
		t.Fatalf("settling a, b = %v, %v; want true, false", tl.settling("a"), tl.settling("b"))
	}

	// a1 resolves: a still settles, and its quiet time restarts.
	later(8 * time.Second)
	a1r := tallyMembership("a", "m1", 1, 1, metav1.ConditionTrue)
	h.OnUpdate(a1, a1r)
	later(8 * time.Second)
	if !tl.settling("a") {
		t.Fatal("a stopped settling 8 s after a membership resolved")
	}
	// Nothing resolves for settleQuiet: a2 is stuck, and counts stop waiting.
	later(settleQuiet)
	if tl.settling("a") {
		t.Fatal("a still settles with no progress for settleQuiet")
	}
	// A resync (the same object) changes nothing.
	h.OnUpdate(a2, a2)
	if tl.settling("a") {
		t.Fatal("a resync made a settle again")
	}
	// a2 resolves: a is settled.
	a2r := tallyMembership("a", "m2", 1, 1, metav1.ConditionFalse)
	h.OnUpdate(a2, a2r)
	if tl.settling("a") {
		t.Fatal("a settles with every membership resolved")
	}
	// A spec change makes a1 unresolved: a settles again from now, not from
	// its last progress.
	later(time.Minute)
	a1g2 := tallyMembership("a", "m1", 2, 1, metav1.ConditionTrue)
	h.OnUpdate(a1r, a1g2)
	if !tl.settling("a") {
		t.Fatal("a spec change did not make a settle")
	}
	// Deleting the unresolved membership (a tombstone) settles a.
	h.OnDelete(toolscache.DeletedFinalStateUnknown{Key: "a/m1", Obj: a1g2})
	if tl.settling("a") {
		t.Fatal("a settles after its unresolved membership was deleted")
	}

	want := map[tallyKey]int{
		{state: "Active", ready: "false", reason: "Resolved"}: 1,
		{state: "Active", ready: "true", reason: "Resolved"}:  1,
	}
	got := tl.counts()
	if len(got) != len(want) {
		t.Fatalf("counts = %v, want %v", got, want)
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("counts[%v] = %d, want %d (all: %v)", k, got[k], n, got)
		}
	}
	// A deleting membership is not unresolved.
	now := metav1.NewTime(clk.Now())
	d := tallyMembership("c", "m1", 1, 0, "")
	d.DeletionTimestamp = &now
	h.OnAdd(d, false)
	if tl.settling("c") {
		t.Fatal("a deleting membership made its namespace settle")
	}
}

func TestThrottleDeferCount(t *testing.T) {
	clk := clocktesting.NewFakePassiveClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	settling := map[string]bool{"a": true}
	th := newThrottle(clk)
	key := types.NamespacedName{Namespace: "a", Name: "role"}
	other := types.NamespacedName{Namespace: "b", Name: "role"}
	if d := th.deferCount(key); d != 0 {
		t.Fatalf("without a tally: deferCount = %v, want 0", d)
	}
	th.settling = func(ns string) bool { return settling[ns] }

	if d := th.deferCount(key); d != countInterval {
		t.Fatalf("settling: deferCount = %v, want %v", d, countInterval)
	}
	if d := th.deferCount(other); d != 0 {
		t.Fatalf("another namespace: deferCount = %v, want 0", d)
	}
	clk.SetTime(clk.Now().Add(settleMax - time.Second))
	if d := th.deferCount(key); d != time.Second {
		t.Fatalf("a second before settleMax: deferCount = %v, want 1s (never past the bound)", d)
	}
	clk.SetTime(clk.Now().Add(time.Second))
	if d := th.deferCount(key); d != 0 {
		t.Fatalf("after settleMax in a row: deferCount = %v, want 0 (the count is written)", d)
	}
	// The next wait starts a new deferral.
	if d := th.deferCount(key); d != countInterval {
		t.Fatalf("after the count: deferCount = %v, want %v", d, countInterval)
	}
	settling["a"] = false
	if d := th.deferCount(key); d != 0 {
		t.Fatalf("settled: deferCount = %v, want 0", d)
	}
	settling["a"] = true
	clk.SetTime(clk.Now().Add(settleMax - time.Second))
	if d := th.deferCount(key); d != countInterval {
		t.Fatalf("a new deferral after the namespace settled: deferCount = %v, want %v", d, countInterval)
	}
	th.forget(key)
	if _, ok := th.deferred[key]; ok {
		t.Fatal("forget kept the deferral")
	}
}

func TestObservedCurrent(t *testing.T) {
	meta := metav1.ObjectMeta{Generation: 2}
	for name, tc := range map[string]struct {
		obj  client.Object
		want bool
	}{
		"environment, observed":    {&orgrbacv1alpha1.Environment{ObjectMeta: meta, Status: orgrbacv1alpha1.EnvironmentStatus{ObservedGeneration: 2}}, true},
		"environment, older":       {&orgrbacv1alpha1.Environment{ObjectMeta: meta, Status: orgrbacv1alpha1.EnvironmentStatus{ObservedGeneration: 1}}, false},
		"environment, no status":   {&orgrbacv1alpha1.Environment{ObjectMeta: meta}, false},
		"role (counts nothing)":    {&orgrbacv1alpha1.Role{ObjectMeta: meta, Status: orgrbacv1alpha1.RoleStatus{ObservedGeneration: 2}}, false},
		"membership (not a count)": {&orgrbacv1alpha1.Membership{ObjectMeta: meta, Status: orgrbacv1alpha1.MembershipStatus{ObservedGeneration: 2}}, false},
	} {
		if got := observedCurrent(tc.obj); got != tc.want {
			t.Errorf("%s: observedCurrent = %v, want %v", name, got, tc.want)
		}
	}
}

// A publication waits for at most its own, shorter bound.
func TestThrottleDeferCountBound(t *testing.T) {
	clk := clocktesting.NewFakePassiveClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	th := newThrottle(clk)
	th.settleMax = publishSettleMax
	th.settling = func(string) bool { return true }
	key := types.NamespacedName{Namespace: "a", Name: "publish"}
	if d := th.deferCount(key); d != countInterval {
		t.Fatalf("settling: deferCount = %v, want %v", d, countInterval)
	}
	clk.SetTime(clk.Now().Add(publishSettleMax))
	if d := th.deferCount(key); d != 0 {
		t.Fatalf("after publishSettleMax: deferCount = %v, want 0", d)
	}
}

// With a wake source a deferred key does not poll: it waits, for at most what
// is left of settleMax, to be woken when its namespace settles.
func TestThrottleWake(t *testing.T) {
	clk := clocktesting.NewFakePassiveClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	settling := map[string]bool{"a": true, "b": true}
	th := newThrottle(clk)
	th.settling = func(ns string) bool { return settling[ns] }
	th.wakeSource()
	a1 := types.NamespacedName{Namespace: "a", Name: "r1"}
	a2 := types.NamespacedName{Namespace: "a", Name: "r2"}
	b1 := types.NamespacedName{Namespace: "b", Name: "r1"}
	for _, k := range []types.NamespacedName{a2, a1, b1} {
		if d := th.deferCount(k); d != settleMax {
			t.Fatalf("%v settling: deferCount = %v, want the whole bound %v", k, d, settleMax)
		}
	}
	clk.SetTime(clk.Now().Add(time.Minute))
	if d := th.deferCount(a1); d != settleMax-time.Minute {
		t.Fatalf("deferred again a minute later: deferCount = %v, want %v", d, settleMax-time.Minute)
	}
	if got := th.settled(); len(got) != 0 {
		t.Fatalf("nothing settled yet, woke %v", got)
	}
	settling["a"] = false
	want := []types.NamespacedName{a1, a2}
	if got := th.settled(); !slices.Equal(got, want) {
		t.Fatalf("namespace a settled: woke %v, want %v (sorted)", got, want)
	}
	if got := th.settled(); len(got) != 0 {
		t.Fatalf("woke %v twice", got)
	}
	// Woken, the key counts now and leaves nothing behind.
	if d := th.deferCount(a1); d != 0 {
		t.Fatalf("woken: deferCount = %v, want 0", d)
	}
	if _, ok := th.deferred[a1]; ok {
		t.Fatal("the woken key kept its deferral")
	}
	// A key that reaches settleMax counts and no longer waits.
	clk.SetTime(clk.Now().Add(settleMax))
	if d := th.deferCount(b1); d != 0 {
		t.Fatalf("at settleMax: deferCount = %v, want 0", d)
	}
	if _, ok := th.waiting["b"]; ok {
		t.Fatal("a key past settleMax still waits")
	}
	// A count that is not deferred (its object's spec changed) ends the
	// deferral: the next one is bounded afresh.
	clk.SetTime(clk.Now().Add(time.Minute))
	if d := th.deferCount(b1); d != settleMax {
		t.Fatalf("a new deferral: deferCount = %v, want %v", d, settleMax)
	}
	clk.SetTime(clk.Now().Add(time.Minute))
	th.endDeferral(b1)
	if _, ok := th.waiting["b"]; ok {
		t.Fatal("endDeferral kept the waiting key")
	}
	if d := th.deferCount(b1); d != settleMax {
		t.Fatalf("after endDeferral: deferCount = %v, want a fresh %v", d, settleMax)
	}
	// forget drops a waiting key.
	if d := th.deferCount(b1); d != settleMax {
		t.Fatalf("a new deferral: deferCount = %v, want %v", d, settleMax)
	}
	th.forget(b1)
	if _, ok := th.waiting["b"]; ok {
		t.Fatal("forget kept the waiting key")
	}
}

// Start sends the settled keys to the controller's source.
func TestThrottleStartWakes(t *testing.T) {
	clk := clocktesting.NewFakePassiveClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	var mu sync.Mutex
	settling := true
	th := newThrottle(clk)
	th.settling = func(string) bool { mu.Lock(); defer mu.Unlock(); return settling }
	th.wakeSource()
	key := types.NamespacedName{Namespace: "a", Name: "r"}
	if d := th.deferCount(key); d == 0 {
		t.Fatal("settling: the key did not wait")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- th.Start(ctx) }()
	select {
	case ev := <-th.wakeups:
		t.Fatalf("woke %s/%s before the namespace settled", ev.Object.GetNamespace(), ev.Object.GetName())
	case <-time.After(2 * wakeEvery):
	}
	mu.Lock()
	settling = false
	mu.Unlock()
	select {
	case ev := <-th.wakeups:
		if ev.Object.GetNamespace() != key.Namespace || ev.Object.GetName() != key.Name {
			t.Fatalf("woke %s/%s, want %v", ev.Object.GetNamespace(), ev.Object.GetName(), key)
		}
	case <-time.After(5 * wakeEvery):
		t.Fatal("the settled key was not woken")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Start: %v", err)
	}
}

// A burst of releaseChanges membership changes is released once quiet, and
// releases are releaseGap apart; a smaller burst is not released.
func TestTallyReleaseDue(t *testing.T) {
	clk := clocktesting.NewFakePassiveClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	tl := newMembershipTally(clk)
	h := tl.handler()
	burst := func(n int, from int) {
		for i := range n {
			// Two namespaces: the burst is the manager's, not a namespace's.
			h.OnAdd(tallyMembership([]string{"a", "b"}[i%2], fmt.Sprint("m", from+i), 1, 0, ""), false)
		}
	}
	var never time.Time
	burst(releaseChanges-1, 0)
	clk.SetTime(clk.Now().Add(time.Hour))
	if tl.releaseDue(never, releaseQuiet) {
		t.Fatal("released after a burst one change short of releaseChanges")
	}
	burst(1, releaseChanges)
	if tl.releaseDue(never, releaseQuiet) {
		t.Fatal("released while the burst goes on")
	}
	clk.SetTime(clk.Now().Add(releaseQuiet - time.Second))
	if tl.releaseDue(never, releaseQuiet) {
		t.Fatal("released before releaseQuiet")
	}
	clk.SetTime(clk.Now().Add(time.Second))
	if !tl.releaseDue(never, releaseQuiet) {
		t.Fatal("not released releaseQuiet after a burst of releaseChanges")
	}
	if tl.releaseDue(never, releaseQuiet) {
		t.Fatal("released twice for one burst")
	}
	last := clk.Now()
	// Updates count too (a fan-out), and the next release waits releaseGap.
	for i := range releaseChanges {
		m := tallyMembership("a", fmt.Sprint("u", i), 1, 1, metav1.ConditionTrue)
		h.OnUpdate(m, m)
	}
	clk.SetTime(clk.Now().Add(releaseQuiet))
	if tl.releaseDue(last, releaseQuiet) {
		t.Fatal("released within releaseGap of the last release")
	}
	clk.SetTime(last.Add(releaseGap))
	if !tl.releaseDue(last, releaseQuiet) {
		t.Fatal("a burst of updates not released after releaseGap")
	}
}

// The releaser releases when releaseDue, once per burst.
func TestReleaser(t *testing.T) {
	clk := clocktesting.NewFakePassiveClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	tl := newMembershipTally(clk)
	released := make(chan struct{}, 2)
	r := newReleaser(tl, func() { released <- struct{}{} })
	if r.quiet < releaseQuiet || r.quiet >= releaseQuiet+10*time.Second {
		t.Fatalf("quiet %v, want releaseQuiet plus under 10 s of jitter", r.quiet)
	}
	r.every = 10 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Start(ctx) }()
	h := tl.handler()
	for i := range releaseChanges {
		h.OnAdd(tallyMembership("a", fmt.Sprint("m", i), 1, 1, metav1.ConditionTrue), false)
	}
	select {
	case <-released:
		t.Fatal("released during the burst")
	case <-time.After(50 * time.Millisecond):
	}
	clk.SetTime(clk.Now().Add(r.quiet))
	select {
	case <-released:
	case <-time.After(5 * time.Second):
		t.Fatal("not released after the burst")
	}
	select {
	case <-released:
		t.Fatal("released twice for one burst")
	case <-time.After(50 * time.Millisecond):
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Start: %v", err)
	}
}
