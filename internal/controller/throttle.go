package controller

import (
	"context"
	"math"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

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
}

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
}

// deferCount returns how long a count of key, whose own spec its status has
// observed, waits for its namespace's memberships to settle: countInterval while
// they settle, for at most settleMax in a row; zero when it counts now. While
// thousands of memberships are resolved (a cold start, a bulk import) the count
// changes with every one, and writing it each countInterval cost a third of a
// cold start's writes; once they settle it is written once.
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
		return 0
	}
	if t.deferred == nil {
		t.deferred = map[types.NamespacedName]time.Time{}
	}
	first, ok := t.deferred[key]
	if !ok {
		t.deferred[key] = now
		return t.interval
	}
	limit := t.settleMax
	if limit == 0 {
		limit = settleMax
	}
	if now.Sub(first) >= limit {
		delete(t.deferred, key)
		return 0
	}
	return t.interval
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
	// A change of the object's own spec is never deferred, only counts.
	if observedCurrent(obj) {
		if d := t.deferCount(req.NamespacedName); d > 0 {
			return false, ctrl.Result{RequeueAfter: d}, nil
		}
	}
	return true, ctrl.Result{}, nil
}

// observedCurrent reports whether obj's status has observed its generation.
func observedCurrent(obj client.Object) bool {
	var observed int64
	switch o := obj.(type) {
	case *orgrbacv1alpha1.Role:
		observed = o.Status.ObservedGeneration
	case *orgrbacv1alpha1.OrganizationRole:
		observed = o.Status.ObservedGeneration
	case *orgrbacv1alpha1.Organization:
		observed = o.Status.ObservedGeneration
	case *orgrbacv1alpha1.GroupMapping:
		observed = o.Status.ObservedGeneration
	case *orgrbacv1alpha1.Environment:
		observed = o.Status.ObservedGeneration
	default:
		return false
	}
	return observed == obj.GetGeneration()
}
