package controller

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/source"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
)

// throttle spaces out the reconciles of one object that count other objects: a
// burst of thousands of membership events then costs one count per interval, not
// one per event. The first reconcile of an object is never delayed.
type throttle struct {
	clock    clock.PassiveClock
	interval time.Duration

	mu   sync.Mutex
	last map[types.NamespacedName]time.Time
	// hold delays an object beyond the interval (see holdOff).
	hold map[types.NamespacedName]time.Time

	// settling, when set, reports whether a namespace's memberships are still
	// being resolved (membershipTally.settling); deferred holds when each object
	// first waited for it (deferCount).
	settling func(ns string) bool
	deferred map[types.NamespacedName]time.Time
	// settleMax bounds one deferral (settleMax, the constant, when zero).
	settleMax time.Duration

	// wakeups, once wakeSource made it, carries the deferred keys whose
	// namespace has settled back to their controller (Start sends them);
	// waiting holds those keys by namespace until then. Without it a deferred
	// key polls every interval.
	wakeups chan event.GenericEvent
	waiting map[string]map[types.NamespacedName]bool
}

// wakeEvery is how often Start looks for namespaces that have settled.
const wakeEvery = time.Second

var _ manager.LeaderElectionRunnable = (*throttle)(nil)

// count is len(n) as an int32 status field, saturated.
func count(n int) int32 {
	return int32(min(n, math.MaxInt32)) //nolint:gosec // saturated above
}

func newThrottle(c clock.PassiveClock) *throttle {
	return &throttle{clock: c, interval: countInterval, last: map[types.NamespacedName]time.Time{}}
}

// wait returns how long to wait before counting for key again; when it is zero
// the caller counts now and the time is recorded.
func (t *throttle) wait(key types.NamespacedName) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.clock.Now()
	if until, ok := t.hold[key]; ok {
		if d := until.Sub(now); d > 0 {
			return d
		}
		delete(t.hold, key)
	}
	if last, ok := t.last[key]; ok {
		if d := t.interval - now.Sub(last); d > 0 {
			return d
		}
	}
	t.last[key] = now
	return 0
}

// holdOff makes the next wait for key last at least d from now, for work whose
// cost grows with the data: its interval grows with it.
func (t *throttle) holdOff(key types.NamespacedName, d time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.hold == nil {
		t.hold = map[types.NamespacedName]time.Time{}
	}
	t.hold[key] = t.clock.Now().Add(d)
}

// forget drops key, for objects that are gone.
func (t *throttle) forget(key types.NamespacedName) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.last, key)
	delete(t.hold, key)
	delete(t.deferred, key)
	t.unwait(key)
}

// endDeferral ends key's deferral, if any: the next starts afresh.
func (t *throttle) endDeferral(key types.NamespacedName) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.deferred, key)
	t.unwait(key)
}

// unwait drops key from waiting; the caller holds mu.
func (t *throttle) unwait(key types.NamespacedName) {
	if keys, ok := t.waiting[key.Namespace]; ok {
		delete(keys, key)
		if len(keys) == 0 {
			delete(t.waiting, key.Namespace)
		}
	}
}

// deferCount returns how long a count of key, whose own spec its status has
// observed, waits for its namespace's memberships to settle; zero when it
// counts now. While thousands of memberships are resolved (a cold start, a bulk
// import) the count changes with every one, and writing it each countInterval
// cost a third of a cold start's writes; once they settle it is written once.
// A deferral lasts at most settleMax in a row. With wakeSource the key waits to
// be woken (Start) and the duration returned is only that bound; without it the
// key polls every interval.
func (t *throttle) deferCount(key types.NamespacedName) time.Duration {
	if t.settling == nil {
		return 0
	}
	settling := t.settling(key.Namespace)
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.clock.Now()
	if !settling {
		delete(t.deferred, key)
		t.unwait(key)
		return 0
	}
	if t.deferred == nil {
		t.deferred = map[types.NamespacedName]time.Time{}
	}
	first, ok := t.deferred[key]
	if !ok {
		first = now
		t.deferred[key] = now
	}
	limit := t.settleMax
	if limit == 0 {
		limit = settleMax
	}
	left := limit - now.Sub(first)
	if left <= 0 {
		delete(t.deferred, key)
		t.unwait(key)
		return 0
	}
	if t.wakeups == nil {
		return min(t.interval, left)
	}
	if t.waiting == nil {
		t.waiting = map[string]map[types.NamespacedName]bool{}
	}
	if t.waiting[key.Namespace] == nil {
		t.waiting[key.Namespace] = map[types.NamespacedName]bool{}
	}
	t.waiting[key.Namespace][key] = true
	return left
}

// settleWith makes t's counts wait for tally's namespaces to settle, woken by
// the manager running t: the controller must watch the source it returns (nil
// without a tally, when nothing waits).
func settleWith(mgr manager.Manager, t *throttle, tally *membershipTally) (source.Source, error) {
	if tally == nil {
		return nil, nil
	}
	t.settling = tally.settling
	src := t.wakeSource()
	if err := mgr.Add(t); err != nil {
		return nil, fmt.Errorf("adding the settle waker: %w", err)
	}
	return src, nil
}

// wokenBy adds the source of settleWith to b, when there is one.
func wokenBy(b *builder.Builder, wake source.Source) *builder.Builder {
	if wake == nil {
		return b
	}
	return b.WatchesRawSource(wake)
}

// wakeSource makes deferred keys wait to be woken instead of polling: the
// controller watches the source it returns, and the manager runs the throttle
// (Start), which feeds it.
func (t *throttle) wakeSource() source.Source {
	t.wakeups = make(chan event.GenericEvent, 64)
	return source.Channel(t.wakeups, &handler.EnqueueRequestForObject{})
}

// Start wakes, every wakeEvery, the deferred keys whose namespace has settled,
// until ctx ends. One pass over the waiting namespaces replaces the poll of
// every deferred key every interval (two million reconciles in a 100k cold
// start).
func (t *throttle) Start(ctx context.Context) error {
	tick := time.NewTicker(wakeEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		for _, key := range t.settled() {
			obj := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}}
			select {
			case t.wakeups <- event.GenericEvent{Object: obj}:
			case <-ctx.Done():
				return nil
			}
		}
	}
}

// NeedLeaderElection is true: it wakes the leader's controllers.
func (t *throttle) NeedLeaderElection() bool { return true }

// settled removes from waiting and returns, sorted, the keys whose namespace no
// longer settles.
func (t *throttle) settled() []types.NamespacedName {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []types.NamespacedName
	for ns, keys := range t.waiting {
		if t.settling(ns) {
			continue
		}
		for k := range keys {
			out = append(out, k)
		}
		delete(t.waiting, ns)
	}
	slices.SortFunc(out, func(a, b types.NamespacedName) int {
		if c := strings.Compare(a.Namespace, b.Namespace); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out
}

// beginCount starts the reconcile of an object that counts others: it waits out
// the throttle, reads the object into obj and skips one being deleted. When ok is
// false the reconcile ends with res and err.
func beginCount(ctx context.Context, c client.Reader, t *throttle, req ctrl.Request, obj client.Object) (ok bool, res ctrl.Result, err error) {
	if d := t.wait(req.NamespacedName); d > 0 {
		return false, ctrl.Result{RequeueAfter: d}, nil
	}
	if err := c.Get(ctx, req.NamespacedName, obj); err != nil {
		t.forget(req.NamespacedName)
		return false, ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if deleting(obj) {
		return false, ctrl.Result{}, nil
	}
	// A change of the object's own spec is never deferred, only counts; it
	// counts now, so a deferral that began earlier ends.
	if !observedCurrent(obj) {
		t.endDeferral(req.NamespacedName)
	} else if d := t.deferCount(req.NamespacedName); d > 0 {
		return false, ctrl.Result{RequeueAfter: d}, nil
	}
	return true, ctrl.Result{}, nil
}

// observedCurrent reports whether obj, an object that counts (the
// Environment), has a status that observed its generation.
func observedCurrent(obj client.Object) bool {
	env, ok := obj.(*orgrbacv1alpha1.Environment)
	return ok && env.Status.ObservedGeneration == env.Generation
}
