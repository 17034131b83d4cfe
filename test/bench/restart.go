package main

import (
	"context"
	"time"
)

// restartResult is what a new manager writes over an environment the last one
// left converged: nothing, when every status and ownerReference is already
// right (issue 14's restart target).
type restartResult struct {
	// Seconds is from the new manager's start until its reconciles stood still.
	Seconds        float64            `json:"seconds"`
	Writes         float64            `json:"writes"`
	Requests       map[string]float64 `json:"requestsByMethodAndCode"`
	ObjectsWritten int                `json:"membershipsWritten"`
	Reconciles     map[string]float64 `json:"reconcilesByController"`
	CPUSeconds     map[string]float64 `json:"cpuSecondsByProcess"`
}

// restart stops the manager of a converged environment and starts a new one on
// it, as an upgrade or a leader failover that misses the cache does, and
// counts what the new one writes until its reconciles stand still.
func (b *bench) restart(ctx context.Context) error {
	if err := b.mgr.stop(); err != nil {
		return err
	}
	b.t.resetUpdates()
	cpu0 := b.cpu.read()
	t0 := time.Now()
	if err := b.startManager(ctx); err != nil {
		return err
	}
	s, err := b.waitSettled(ctx)
	if err != nil {
		return err
	}
	settled := time.Since(t0)
	objects, _ := b.t.updateCounts()
	b.res.Restart = &restartResult{Seconds: round3(settled.Seconds()), Writes: writes(s.Requests),
		Requests: s.RequestsByCode, ObjectsWritten: objects, Reconciles: s.Reconciles,
		CPUSeconds: roundAll(delta(cpu0, b.cpu.read()))}
	logf("  a new manager settled after %.1f s: %.0f writes, %d memberships written", settled.Seconds(),
		writes(s.Requests), objects)
	return nil
}

// waitSettled waits until the manager's reconcile and write counters have
// both stood still for twice cfg.quiet (at most 10 minutes) and returns the
// last snapshot: a manager that has just started has nothing to converge to,
// so its own work ending is the signal.
func (b *bench) waitSettled(ctx context.Context) (snapshot, error) {
	return b.waitStill(ctx, 2*b.cfg.quiet, 10*time.Minute, "the manager kept reconciling; counting anyway",
		func(prev, next snapshot) bool {
			return writes(next.Requests) != writes(prev.Requests) || total(next.Reconciles) != total(prev.Reconciles)
		})
}
