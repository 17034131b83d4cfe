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
	"github.com/orgrbac/orgrbac/internal/index"
)

// RoleReconciler keeps a Role's status: its effective slug, Ready (False for a
// duplicate slug) and ReferencesResolved (undeclared permissions). It counts
// nothing, so memberships never wake it (kubectl orgrbac members counts them).
type RoleReconciler struct {
	Client client.Client
	Clock  clock.PassiveClock
}

// Reconcile computes the role's status (roleStatus) and writes it when it changed.
func (r *RoleReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var role orgrbacv1alpha1.Role
	if ok, err := begin(ctx, r.Client, req, &role); !ok {
		return ctrl.Result{}, err
	}
	_, err := reconcileStatus(ctx, r.Client, r.Clock, &role,
		func(r *orgrbacv1alpha1.Role) *orgrbacv1alpha1.RoleStatus { return &r.Status }, r.gather, roleStatus)
	return ctrl.Result{}, err
}

// gather reads the role's inputs from the cache.
func (r *RoleReconciler) gather(ctx context.Context, role *orgrbacv1alpha1.Role) (roleInputs, error) {
	in := roleInputs{name: role.Name, slug: role.EffectiveSlug(), permissions: role.Spec.Permissions}
	var same orgrbacv1alpha1.RoleList
	if err := r.Client.List(ctx, &same, client.InNamespace(role.Namespace), client.MatchingFields{index.RoleBySlug: in.slug}, readOnly); err != nil {
		return in, fmt.Errorf("listing roles with slug %s: %w", in.slug, err)
	}
	in.sameSlug = same.Items
	var err error
	in.catalog, err = permissionCatalog(ctx, r.Client, role.Namespace, in.permissions)
	return in, err
}

// permissionCatalog lists the namespace's Permissions, when there are
// permissions to check against them (nil otherwise).
func permissionCatalog(ctx context.Context, c client.Reader, ns string, perms []string) ([]orgrbacv1alpha1.Permission, error) {
	if len(perms) == 0 {
		return nil, nil
	}
	var catalog orgrbacv1alpha1.PermissionList
	if err := c.List(ctx, &catalog, client.InNamespace(ns), readOnly); err != nil {
		return nil, fmt.Errorf("listing permissions: %w", err)
	}
	return catalog.Items, nil
}

// SetupWithManager registers the controller.
func (r *RoleReconciler) SetupWithManager(mgr ctrl.Manager, opts controller.Options) error {
	m := &roleMapper{c: mgr.GetClient()}
	return ctrl.NewControllerManagedBy(mgr).
		Named("role").
		For(&orgrbacv1alpha1.Role{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		// Another role with the same slug decides which one is the duplicate.
		Watches(&orgrbacv1alpha1.Role{}, createDelete(m.roleToRoles)).
		Watches(&orgrbacv1alpha1.Permission{}, onSpecChange(m.permissionToRoles)).
		WithOptions(opts).
		Complete(r)
}
