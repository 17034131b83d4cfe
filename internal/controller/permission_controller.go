package controller

import (
	"context"
	"fmt"

	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
)

// PermissionReconciler keeps a Permission's status: its effective slug and the
// Ready condition, False for a second Permission declaring the same slug.
type PermissionReconciler struct {
	Client client.Client
	Clock  clock.PassiveClock
}

// Reconcile computes the permission's status (permissionStatus) and writes it
// when it changed. It counts nothing, so it is not throttled.
func (r *PermissionReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var p orgrbacv1alpha1.Permission
	if ok, err := begin(ctx, r.Client, req, &p); !ok {
		return ctrl.Result{}, err
	}
	_, err := reconcileStatus(ctx, r.Client, r.Clock, &p,
		func(p *orgrbacv1alpha1.Permission) *orgrbacv1alpha1.PermissionStatus { return &p.Status }, r.gather, permissionStatus)
	return ctrl.Result{}, err
}

// gather reads the permission's inputs from the cache.
func (r *PermissionReconciler) gather(ctx context.Context, p *orgrbacv1alpha1.Permission) (permissionInputs, error) {
	in := permissionInputs{name: p.Name, slug: p.EffectiveSlug()}
	var all orgrbacv1alpha1.PermissionList
	if err := r.Client.List(ctx, &all, client.InNamespace(p.Namespace), readOnly); err != nil {
		return in, fmt.Errorf("listing permissions: %w", err)
	}
	in.all = all.Items
	return in, nil
}

// SetupWithManager registers the controller.
func (r *PermissionReconciler) SetupWithManager(mgr ctrl.Manager, opts controller.Options) error {
	m := &permissionMapper{c: mgr.GetClient()}
	return ctrl.NewControllerManagedBy(mgr).
		Named("permission").
		For(&orgrbacv1alpha1.Permission{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		// Another permission with the same slug decides which one is the duplicate.
		Watches(&orgrbacv1alpha1.Permission{}, createDelete(m.permissionToPermissions)).
		WithOptions(opts).
		Complete(r)
}
