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
	return !deleting(obj), ctrl.Result{}, nil
}
