package controller

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/index"
)

// OrganizationRoleReconciler keeps an OrganizationRole's status: Ready (False for
// a duplicate slug in its organization, or a missing organization) and
// ReferencesResolved (undeclared permissions). It counts nothing, so
// memberships never wake it.
type OrganizationRoleReconciler struct {
	Client client.Client
	Clock  clock.PassiveClock
}

// Reconcile computes the role's status (organizationRoleStatus) and writes it
// when it changed.
func (r *OrganizationRoleReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var role orgrbacv1alpha1.OrganizationRole
	if ok, err := begin(ctx, r.Client, req, &role); !ok {
		return ctrl.Result{}, err
	}
	if err := ensureOrganizationOwner(ctx, r.Client, &role, role.Spec.Organization); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	_, err := reconcileStatus(ctx, r.Client, r.Clock, &role,
		func(r *orgrbacv1alpha1.OrganizationRole) *orgrbacv1alpha1.OrganizationRoleStatus { return &r.Status },
		r.gather, organizationRoleStatus)
	return ctrl.Result{}, err
}

// gather reads the role's inputs from the cache.
func (r *OrganizationRoleReconciler) gather(ctx context.Context, role *orgrbacv1alpha1.OrganizationRole) (organizationRoleInputs, error) {
	in := organizationRoleInputs{name: role.Name, organization: role.Spec.Organization, slug: role.Spec.Slug,
		permissions: role.Spec.Permissions, organizationFound: true}
	var org orgrbacv1alpha1.Organization
	if err := r.Client.Get(ctx, types.NamespacedName{Namespace: role.Namespace, Name: in.organization}, &org); err != nil {
		if !apierrors.IsNotFound(err) {
			return in, fmt.Errorf("reading organization: %w", err)
		}
		in.organizationFound = false
	}
	var siblings orgrbacv1alpha1.OrganizationRoleList
	if err := r.Client.List(ctx, &siblings, client.InNamespace(role.Namespace),
		client.MatchingFields{index.OrganizationRoleByOrganization: in.organization}, readOnly); err != nil {
		return in, fmt.Errorf("listing organization roles: %w", err)
	}
	in.siblings = siblings.Items
	var err error
	in.catalog, err = permissionCatalog(ctx, r.Client, role.Namespace, in.permissions)
	return in, err
}

// SetupWithManager registers the controller.
func (r *OrganizationRoleReconciler) SetupWithManager(mgr ctrl.Manager, opts controller.Options) error {
	m := &organizationRoleMapper{c: mgr.GetClient()}
	return ctrl.NewControllerManagedBy(mgr).
		Named("organizationrole").
		For(&orgrbacv1alpha1.OrganizationRole{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&orgrbacv1alpha1.OrganizationRole{}, createDelete(m.organizationRoleToOrganizationRoles)).
		Watches(&orgrbacv1alpha1.Organization{}, createDelete(m.organizationToOrganizationRoles)).
		Watches(&orgrbacv1alpha1.Permission{}, onSpecChange(m.permissionToOrganizationRoles)).
		WithOptions(opts).
		Complete(r)
}
