package controller

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// begin reads the object of a status reconciler that counts nothing into obj:
// ok is false when it is gone or being deleted, and there is nothing to do.
func begin(ctx context.Context, c client.Reader, req ctrl.Request, obj client.Object) (bool, error) {
	if err := c.Get(ctx, req.NamespacedName, obj); err != nil {
		return false, client.IgnoreNotFound(err)
	}
	return !deleting(obj), nil
}

// reconcileStatus is the one shape of the status reconcilers, once their object
// obj is read (begin, or beginCount) and not being deleted: gather the inputs
// (I/O only), build the status from them with a pure builder, and write it when
// it changed. status points into an object at its status.
//
// A gather that fails leaves nothing half-computed: obj shows Ready=Unknown,
// reason InternalError (internalError), and the error is returned for
// controller-runtime to log and retry with backoff. An object deleted meanwhile
// is no error. It reports whether it wrote, for the callers that record events.
func reconcileStatus[O conditioned, S, I any](ctx context.Context, c client.Client, clk clock.PassiveClock, obj O,
	status func(O) *S,
	gather func(context.Context, O) (I, error),
	build func(old S, gen int64, in I, now metav1.Time) S,
) (bool, error) {
	in, err := gather(ctx, obj)
	if err != nil {
		return false, internalError(ctx, c, clk, obj, err)
	}
	orig, ok := obj.DeepCopyObject().(O)
	if !ok {
		return false, fmt.Errorf("copying %T", obj)
	}
	old := *status(orig)
	*status(obj) = build(old, obj.GetGeneration(), in, metav1.NewTime(clk.Now()))
	wrote, err := patchStatus(ctx, c, obj, orig, old, *status(obj))
	if err != nil {
		return false, client.IgnoreNotFound(fmt.Errorf("writing status: %w", err))
	}
	return wrote, nil
}
