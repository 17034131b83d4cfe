package controller

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
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

// byIndex is the one "list by index → requests" step of the mappers: the
// requests of the objects of list's kind in namespace ns whose field index field
// holds value (every object of ns when field is ""). list is filled, so pass a
// new one. A failed list is logged and maps nothing: the cache only fails when
// it is not synced or the index is missing, and the next event maps again.
func byIndex(ctx context.Context, c client.Reader, list client.ObjectList, ns, field, value string) []reconcile.Request {
	return listRequests(ctx, c, list, ns, field, value, nil)
}

// byIndexWhere is byIndex keeping only the objects for which keep holds: for a
// mapping that an index narrows but does not decide (an organization role's
// slug is only unique within its organization).
func byIndexWhere[T client.Object](ctx context.Context, c client.Reader, list client.ObjectList, ns, field, value string, keep func(T) bool) []reconcile.Request {
	return listRequests(ctx, c, list, ns, field, value, func(o client.Object) bool {
		t, ok := o.(T)
		return ok && keep(t)
	})
}

// listRequests is byIndex, keeping only the objects for which keep holds (all
// when keep is nil).
func listRequests(ctx context.Context, c client.Reader, list client.ObjectList, ns, field, value string, keep func(client.Object) bool) []reconcile.Request {
	opts := []client.ListOption{client.InNamespace(ns), readOnly}
	if field != "" {
		opts = append(opts, client.MatchingFields{field: value})
	}
	if err := c.List(ctx, list, opts...); err != nil {
		log.FromContext(ctx).Error(err, "Listing objects to enqueue", "list", fmt.Sprintf("%T", list),
			"namespace", ns, "index", field, "value", value)
		return nil
	}
	reqs := make([]reconcile.Request, 0, meta.LenList(list))
	_ = meta.EachListItem(list, func(o runtime.Object) error {
		if obj, ok := o.(client.Object); ok && (keep == nil || keep(obj)) {
			reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(obj)})
		}
		return nil
	})
	return reqs
}
