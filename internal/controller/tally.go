package controller

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/cache"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
)

// settleQuiet is how long after the last membership of a namespace was resolved
// its remaining unresolved memberships still count as settling: past it they are
// stuck (their reconciles fail), not converging, and counts stop waiting.
const settleQuiet = 10 * time.Second

// settleMax is the longest a count waits for its namespace to settle, so that a
// namespace whose memberships never stop changing still gets its counts. The
// whole status of the counting object, the Environment, waits with its counts
// (its conditions too), which bounds it: a cold start of 100k memberships,
// about 15 minutes on two cores, writes the counts it defers twice.
const settleMax = 10 * time.Minute

// membershipTally is fed by the Membership informer's events and keeps, without
// listing or copying a membership:
//   - per namespace, how many memberships are unresolved (their status has not
//     observed their generation) and when the last one was resolved, which tells
//     the counting reconcilers (the Environment's; the publisher and the
//     events emitter wait the same way) that the namespace is still converging
//     (settling), so that a cold start writes each count once, at the end,
//     instead of once per countInterval while thousands of statuses arrive;
//   - the number of memberships by state, Ready status and reason, which the
//     orgrbac_memberships metric reports.
type membershipTally struct {
	clock clock.PassiveClock

	mu         sync.Mutex
	unresolved map[string]int
	progress   map[string]time.Time
	byKey      map[tallyKey]int

	// changes counts the membership events since the last release of memory
	// and lastChange is the time of the latest (releaseDue).
	changes    int
	lastChange time.Time
}

// The memory a burst of membership changes freed (a cold start, a bulk import,
// a role edit held by thousands) is returned to the kernel once the burst is
// over (releaseDue, Options.ReleaseMemory):
const (
	// releaseChanges is the smallest burst: each change decoded a membership
	// and discarded the old one.
	releaseChanges = 1000
	// releaseQuiet is how long no membership changed before the release.
	releaseQuiet = 20 * time.Second
	// releaseGap is the shortest time between two releases: each collects the
	// whole heap, about a CPU-second at 100k memberships.
	releaseGap = 2 * time.Minute
)

// tallyKey is a membership's orgrbac_memberships labels.
type tallyKey struct{ state, ready, reason string }

func newMembershipTally(c clock.PassiveClock) *membershipTally {
	return &membershipTally{clock: c, unresolved: map[string]int{}, progress: map[string]time.Time{}, byKey: map[tallyKey]int{}}
}

// tallyOf is what the tally counts of m.
func tallyOf(m *orgrbacv1alpha1.Membership) (tallyKey, bool) {
	k := tallyKey{state: string(m.Spec.State), ready: "unknown"}
	if k.state == "" {
		k.state = string(orgrbacv1alpha1.MembershipActive)
	}
	for _, cond := range m.Status.Conditions {
		if cond.Type == orgrbacv1alpha1.ConditionReady {
			switch cond.Status {
			case metav1.ConditionTrue:
				k.ready = "true"
			case metav1.ConditionFalse:
				k.ready = "false"
			}
			k.reason = cond.Reason
		}
	}
	unresolved := m.DeletionTimestamp == nil && m.Status.ObservedGeneration != m.Generation
	return k, unresolved
}

// change moves the tally from old (nil for an add) to new (nil for a delete).
func (t *membershipTally) change(old, new *orgrbacv1alpha1.Membership) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var wasUnresolved, isUnresolved bool
	ns := ""
	if old != nil {
		var k tallyKey
		k, wasUnresolved = tallyOf(old)
		if t.byKey[k]--; t.byKey[k] <= 0 {
			delete(t.byKey, k)
		}
		ns = old.Namespace
	}
	if new != nil {
		var k tallyKey
		k, isUnresolved = tallyOf(new)
		t.byKey[k]++
		ns = new.Namespace
	}
	switch {
	case wasUnresolved && !isUnresolved:
		t.progress[ns] = t.clock.Now()
		if t.unresolved[ns]--; t.unresolved[ns] <= 0 {
			delete(t.unresolved, ns)
		}
	case !wasUnresolved && isUnresolved:
		if t.unresolved[ns] == 0 {
			// A namespace starts settling: its quiet time counts from now, not
			// from its last progress long ago.
			t.progress[ns] = t.clock.Now()
		}
		t.unresolved[ns]++
	}
	t.changes++
	t.lastChange = t.clock.Now()
}

// releaseDue reports whether the memory of a burst is to be returned now: at
// least releaseChanges membership changes since the last release, none for
// quiet, and the last release (lastRelease) releaseGap ago. When it reports true
// the next burst counts from zero.
func (t *membershipTally) releaseDue(lastRelease time.Time, quiet time.Duration) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.clock.Now()
	if t.changes < releaseChanges || now.Sub(t.lastChange) < quiet || now.Sub(lastRelease) < releaseGap {
		return false
	}
	t.changes = 0
	return true
}

// settling reports whether ns has unresolved memberships and resolved one within
// settleQuiet.
func (t *membershipTally) settling(ns string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.unresolved[ns] > 0 && t.clock.Since(t.progress[ns]) < settleQuiet
}

// counts returns a copy of the memberships by state, Ready status and reason.
func (t *membershipTally) counts() map[tallyKey]int {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[tallyKey]int, len(t.byKey))
	for k, n := range t.byKey {
		out[k] = n
	}
	return out
}

// membershipOf unwraps an informer event's object.
func membershipOf(obj any) *orgrbacv1alpha1.Membership {
	if d, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	m, _ := obj.(*orgrbacv1alpha1.Membership)
	return m
}

// handler is the tally's informer event handler.
func (t *membershipTally) handler() toolscache.ResourceEventHandler {
	return toolscache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			if m := membershipOf(obj); m != nil {
				t.change(nil, m)
			}
		},
		UpdateFunc: func(oldObj, newObj any) {
			o, n := membershipOf(oldObj), membershipOf(newObj)
			if o != nil && n != nil {
				t.change(o, n)
			}
		},
		DeleteFunc: func(obj any) {
			if m := membershipOf(obj); m != nil {
				t.change(m, nil)
			}
		},
	}
}

// watch feeds the tally from c's Membership informer.
func (t *membershipTally) watch(ctx context.Context, c cache.Cache) error {
	inf, err := c.GetInformer(ctx, &orgrbacv1alpha1.Membership{})
	if err != nil {
		return fmt.Errorf("getting the membership informer: %w", err)
	}
	if _, err := inf.AddEventHandler(t.handler()); err != nil {
		return fmt.Errorf("watching memberships for the tally: %w", err)
	}
	return nil
}

// releaser calls release (debug.FreeOSMemory in the manager) when releaseDue:
// the garbage of a burst is otherwise returned to the kernel over many minutes,
// and until then the container's memory, which the kubelet reads for
// evictions and the limits are sized on, is well above what the cache holds.
type releaser struct {
	tally   *membershipTally
	release func()
	// quiet is releaseQuiet plus up to 10 s of jitter, so that the replicas,
	// which all see the same burst, do not collect at the same moment.
	quiet time.Duration
	// every is how often it asks releaseDue.
	every time.Duration
}

func newReleaser(t *membershipTally, release func()) releaser {
	jitter := rand.N(10 * time.Second) //nolint:gosec // spreads the replicas' collections, not a secret
	return releaser{tally: t, release: release, quiet: releaseQuiet + jitter, every: 5 * time.Second}
}

// Start runs until ctx ends.
func (r releaser) Start(ctx context.Context) error {
	tick := time.NewTicker(r.every)
	defer tick.Stop()
	var last time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		if r.tally.releaseDue(last, r.quiet) {
			r.release()
			last = r.tally.clock.Now()
		}
	}
}

// NeedLeaderElection is false: every replica caches the memberships.
func (releaser) NeedLeaderElection() bool { return false }
