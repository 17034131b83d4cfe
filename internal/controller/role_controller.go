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
// duplicate slug), ReferencesResolved (undeclared permissions) and memberCount.
type RoleReconciler struct {
	Client   client.Client
	Clock    clock.PassiveClock
	throttle *throttle
	// tally, when set, defers counts while memberships settle (deferCount).
	tally *membershipTally
}

// Reconcile computes the role's status (roleStatus) and writes it when it changed.
func (r *RoleReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var role orgrbacv1alpha1.Role
	if ok, res, err := beginCount(ctx, r.Client, r.throttle, req, &role); !ok {
		return res, err
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
	if in.holders, err = holders(ctx, r.Client, role.Namespace, "", in.slug); err != nil {
		return in, err
	}
	in.catalog, err = permissionCatalog(ctx, r.Client, role.Namespace, in.permissions)
	return in, err
}

// holders lists the memberships that may hold slug: those of org, or those
// naming or holding it when org is empty (holding counts those that hold it).
//
// An organization's count reads the organization's members, not every holder
// of the slug: organization roles of many organizations share slugs
// ("org-admin"), and at 1,000 organizations reading all the holders to keep one
// organization's took most of the manager's CPU.
func holders(ctx context.Context, c client.Reader, ns, org, slug string) ([]orgrbacv1alpha1.Membership, error) {
	var ms orgrbacv1alpha1.MembershipList
	sel := client.MatchingFields{index.MembershipByRoleRef: slug}
	if org != "" {
		sel = client.MatchingFields{index.MembershipByOrganization: org}
	}
	if err := c.List(ctx, &ms, client.InNamespace(ns), sel, readOnly); err != nil {
		return nil, fmt.Errorf("listing memberships holding %s: %w", slug, err)
	}
	return ms.Items, nil
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
	r.throttle = newThrottle(r.Clock)
	wake, err := settleWith(mgr, r.throttle, r.tally)
	if err != nil {
		return err
	}
	m := &roleMapper{c: mgr.GetClient()}
	return wokenBy(ctrl.NewControllerManagedBy(mgr), wake).
		Named("role").
		For(&orgrbacv1alpha1.Role{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		// Another role with the same slug decides which one is the duplicate.
		Watches(&orgrbacv1alpha1.Role{}, createDelete(m.roleToRoles)).
		Watches(&orgrbacv1alpha1.Permission{}, onSpecChange(m.permissionToRoles)).
		Watches(&orgrbacv1alpha1.Membership{}, onUpdateWhere(m.membershipToRoles, statusRolesChanged)).
		WithOptions(opts).
		Complete(r)
}
