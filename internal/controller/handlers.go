package controller

import (
	"context"

	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// A mapFunc maps an object to the requests of the objects it affects.
type mapFunc func(ctx context.Context, obj client.Object) []reconcile.Request

// An updateFunc maps an update of an object to the requests of the objects it affects.
type updateFunc func(ctx context.Context, oldObj, newObj client.Object) []reconcile.Request

type queue = workqueue.TypedRateLimitingInterface[reconcile.Request]

func add(q queue, reqs []reconcile.Request) {
	for _, r := range reqs {
		q.Add(r)
	}
}

// createDelete maps only creations and deletions.
func createDelete(f mapFunc) handler.EventHandler {
	return handler.Funcs{
		CreateFunc: func(ctx context.Context, e event.CreateEvent, q queue) { add(q, f(ctx, e.Object)) },
		DeleteFunc: func(ctx context.Context, e event.DeleteEvent, q queue) { add(q, f(ctx, e.Object)) },
	}
}

// onSpecChange maps creations, deletions, the start of a deletion, and updates
// that change metadata.generation (the spec), mapping both the old and the new
// object. Status-only updates map nothing.
func onSpecChange(f mapFunc) handler.EventHandler {
	return byEvent(f, func(ctx context.Context, oldObj, newObj client.Object) []reconcile.Request {
		return append(f(ctx, oldObj), f(ctx, newObj)...)
	})
}

// byEvent maps creations, deletions and the start of a deletion with full, and
// updates that change metadata.generation with changed.
func byEvent(full mapFunc, changed updateFunc) handler.EventHandler {
	return handler.Funcs{
		CreateFunc: func(ctx context.Context, e event.CreateEvent, q queue) { add(q, full(ctx, e.Object)) },
		DeleteFunc: func(ctx context.Context, e event.DeleteEvent, q queue) { add(q, full(ctx, e.Object)) },
		UpdateFunc: func(ctx context.Context, e event.UpdateEvent, q queue) {
			switch {
			case e.ObjectOld.GetDeletionTimestamp() == nil && e.ObjectNew.GetDeletionTimestamp() != nil:
				add(q, full(ctx, e.ObjectNew))
			case e.ObjectOld.GetGeneration() != e.ObjectNew.GetGeneration():
				add(q, changed(ctx, e.ObjectOld, e.ObjectNew))
			}
		},
	}
}

// onUpdateWhere maps creations, deletions, and updates for which relevant holds;
// both the old and the new object are mapped.
func onUpdateWhere(f mapFunc, relevant func(oldObj, newObj client.Object) bool) handler.EventHandler {
	return handler.Funcs{
		CreateFunc: func(ctx context.Context, e event.CreateEvent, q queue) { add(q, f(ctx, e.Object)) },
		DeleteFunc: func(ctx context.Context, e event.DeleteEvent, q queue) { add(q, f(ctx, e.Object)) },
		UpdateFunc: func(ctx context.Context, e event.UpdateEvent, q queue) {
			if relevant(e.ObjectOld, e.ObjectNew) {
				add(q, f(ctx, e.ObjectOld))
				add(q, f(ctx, e.ObjectNew))
			}
		},
	}
}

// nothing maps an update to no request.
func nothing(context.Context, client.Object, client.Object) []reconcile.Request { return nil }
