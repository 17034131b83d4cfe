package controller

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
)

// PermissionReconciler keeps a Permission's status: its effective slug and the
// Ready condition, False for a second Permission declaring the same slug.
type PermissionReconciler struct {
	Client client.Client
	Clock  clock.PassiveClock
}

// Reconcile computes the permission's status and writes it when it changed.
func (r *PermissionReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var p orgrbacv1alpha1.Permission
	if err := r.Client.Get(ctx, req.NamespacedName, &p); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if deleting(&p) {
		return ctrl.Result{}, nil
	}
	var all orgrbacv1alpha1.PermissionList
	if err := r.Client.List(ctx, &all, client.InNamespace(p.Namespace), readOnly); err != nil {
		return ctrl.Result{}, fmt.Errorf("listing permissions: %w", err)
	}
	var same []orgrbacv1alpha1.Permission
	for _, o := range all.Items {
		if o.EffectiveSlug() == p.EffectiveSlug() {
			same = append(same, o)
		}
	}
	ready := readyCondition("", "", p.Generation)
	if winner := oldest(same, func(p *orgrbacv1alpha1.Permission) metav1.Object { return p }); winner != "" && winner != p.Name {
		ready = readyCondition(orgrbacv1alpha1.ReasonDuplicate,
			fmt.Sprintf("Permission %q declares the same slug and is older", winner), p.Generation)
	}

	orig := p.DeepCopy()
	p.Status.ObservedGeneration = p.Generation
	p.Status.Slug = p.EffectiveSlug()
	p.Status.Conditions = mergeConditions(orig.Status.Conditions, metav1.NewTime(r.Clock.Now()), ready)
	if _, err := patchStatus(ctx, r.Client, &p, orig, orig.Status, p.Status); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	return ctrl.Result{}, nil
}

// SetupWithManager registers the controller.
func (r *PermissionReconciler) SetupWithManager(mgr ctrl.Manager, opts controller.Options) error {
	c := mgr.GetClient()
	return ctrl.NewControllerManagedBy(mgr).
		Named("permission").
		For(&orgrbacv1alpha1.Permission{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&orgrbacv1alpha1.Permission{}, createDelete(func(ctx context.Context, o client.Object) []reconcile.Request {
			var list orgrbacv1alpha1.PermissionList
			if err := c.List(ctx, &list, client.InNamespace(o.GetNamespace()), readOnly); err != nil {
				log.FromContext(ctx).Error(err, "Listing permissions to enqueue", "namespace", o.GetNamespace())
				return nil
			}
			return requestsOf(list.Items)
		})).
		WithOptions(opts).
		Complete(r)
}
