package controller

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clocktesting "k8s.io/utils/clock/testing"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
)

// TestReconcileStatusInternalError drives the Permission reconciler, the
// shortest user of reconcileStatus, on a fake API server whose List fails on
// demand: a failed gather shows on the object as Ready=Unknown, reason
// InternalError, with the stable message and none of the error's text; a
// failure that repeats writes nothing more; the next successful pass puts
// Ready back; and a pass that changes nothing writes nothing.
func TestReconcileStatusInternalError(t *testing.T) {
	ctx := context.Background()
	s := runtime.NewScheme()
	utilruntime.Must(orgrbacv1alpha1.AddToScheme(s))
	p := &orgrbacv1alpha1.Permission{ObjectMeta: metav1.ObjectMeta{Name: "videos.view", Namespace: "videos", Generation: 1},
		Spec: orgrbacv1alpha1.PermissionSpec{Slug: "videos:view"}}
	var failing atomic.Bool
	var statusWrites atomic.Int32
	c := fake.NewClientBuilder().WithScheme(s).WithObjects(p).WithStatusSubresource(&orgrbacv1alpha1.Permission{}).
		WithInterceptorFuncs(interceptor.Funcs{
			List: func(ctx context.Context, c client.WithWatch, list client.ObjectList, opts ...client.ListOption) error {
				if failing.Load() {
					return errors.New("cache not synced (token=s3cr3t)")
				}
				return c.List(ctx, list, opts...)
			},
			SubResourcePatch: func(ctx context.Context, c client.Client, sub string, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
				statusWrites.Add(1)
				return c.SubResource(sub).Patch(ctx, obj, patch, opts...)
			},
		}).Build()
	clk := clocktesting.NewFakePassiveClock(tBefore.Time)
	r := &PermissionReconciler{Client: c, Clock: clk}
	req := ctrl.Request{NamespacedName: client.ObjectKeyFromObject(p)}
	ready := func() *metav1.Condition {
		t.Helper()
		var got orgrbacv1alpha1.Permission
		if err := c.Get(ctx, req.NamespacedName, &got); err != nil {
			t.Fatal(err)
		}
		return meta.FindStatusCondition(got.Status.Conditions, orgrbacv1alpha1.ConditionReady)
	}
	pass := func(wantErr bool, wantWrites int32) {
		t.Helper()
		statusWrites.Store(0)
		_, err := r.Reconcile(ctx, req)
		if (err != nil) != wantErr {
			t.Fatalf("Reconcile returned %v", err)
		}
		if n := statusWrites.Load(); n != wantWrites {
			t.Fatalf("%d status writes, want %d", n, wantWrites)
		}
	}

	failing.Store(true)
	pass(true, 1)
	got := ready()
	if got == nil || got.Status != metav1.ConditionUnknown || got.Reason != orgrbacv1alpha1.ReasonInternalError ||
		got.Message != internalErrorMessage || got.ObservedGeneration != 1 || !got.LastTransitionTime.Equal(&tBefore) {
		t.Fatalf("after a failed gather, Ready = %+v", got)
	}
	if strings.Contains(got.Message, "s3cr3t") {
		t.Fatal("the condition holds the error's text")
	}

	clk.SetTime(tNow.Time)
	pass(true, 0) // the same failure again: nothing to write

	failing.Store(false)
	pass(false, 1)
	if got := ready(); got == nil || got.Status != metav1.ConditionTrue || got.Reason != orgrbacv1alpha1.ReasonResolved || !got.LastTransitionTime.Equal(&tNow) {
		t.Fatalf("after a successful pass, Ready = %+v", got)
	}
	pass(false, 0) // nothing changed: nothing written

	// A failure on an object deleted meanwhile returns the failure alone.
	failing.Store(true)
	var gone orgrbacv1alpha1.Permission
	if err := c.Get(ctx, req.NamespacedName, &gone); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, &gone); err != nil {
		t.Fatal(err)
	}
	err := internalError(ctx, c, clk, &gone, errors.New("listing permissions: boom"))
	if err == nil || err.Error() != "listing permissions: boom" {
		t.Fatalf("internalError on a deleted object returned %v", err)
	}
}
