package controller

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/index"
)

// OrganizationRoleReconciler keeps an OrganizationRole's status: Ready (False for
// a duplicate slug in its organization, or a missing organization),
// ReferencesResolved (undeclared permissions) and memberCount.
type OrganizationRoleReconciler struct {
	Client   client.Client
	Clock    clock.PassiveClock
	throttle *throttle
}

// Reconcile computes the role's status and writes it when it changed.
func (r *OrganizationRoleReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var role orgrbacv1alpha1.OrganizationRole
	if ok, res, err := beginCount(ctx, r.Client, r.throttle, req, &role); !ok {
		return res, err
	}
	if err := ensureOrganizationOwner(ctx, r.Client, &role, role.Spec.Organization); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}

	orgMissing := ""
	var org orgrbacv1alpha1.Organization
	if err := r.Client.Get(ctx, types.NamespacedName{Namespace: role.Namespace, Name: role.Spec.Organization}, &org); err != nil {
		if !apierrors.IsNotFound(err) {
			return ctrl.Result{}, fmt.Errorf("reading organization: %w", err)
		}
		orgMissing = role.Spec.Organization
	}

	var siblings orgrbacv1alpha1.OrganizationRoleList
	if err := r.Client.List(ctx, &siblings, client.InNamespace(role.Namespace),
		client.MatchingFields{index.OrganizationRoleByOrganization: role.Spec.Organization}, readOnly); err != nil {
		return ctrl.Result{}, fmt.Errorf("listing organization roles: %w", err)
	}
	var same []orgrbacv1alpha1.OrganizationRole
	for _, s := range siblings.Items {
		if s.Spec.Slug == role.Spec.Slug {
			same = append(same, s)
		}
	}
	winner := oldest(same, func(r *orgrbacv1alpha1.OrganizationRole) metav1.Object { return r })

	count, err := countHolders(ctx, r.Client, role.Namespace, role.Spec.Organization, role.Spec.Slug)
	if err != nil {
		return ctrl.Result{}, err
	}
	undeclared, err := undeclaredPermissions(ctx, r.Client, role.Namespace, role.Spec.Permissions)
	if err != nil {
		return ctrl.Result{}, err
	}

	orig := role.DeepCopy()
	role.Status = orgrbacv1alpha1.OrganizationRoleStatus{ObservedGeneration: role.Generation}
	dupOf := ""
	if winner != "" && winner != role.Name {
		dupOf = winner
	} else if orgMissing == "" {
		role.Status.MemberCount = count
	}
	role.Status.Conditions = roleConditions(orig.Status.Conditions, role.Generation, "OrganizationRole", dupOf, orgMissing, undeclared, metav1.NewTime(r.Clock.Now()))
	if _, err := patchStatus(ctx, r.Client, &role, orig, orig.Status, role.Status); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	return ctrl.Result{}, nil
}

// SetupWithManager registers the controller.
func (r *OrganizationRoleReconciler) SetupWithManager(mgr ctrl.Manager, opts controller.Options) error {
	r.throttle = newThrottle(r.Clock)
	c := mgr.GetClient()
	return ctrl.NewControllerManagedBy(mgr).
		Named("organizationrole").
		For(&orgrbacv1alpha1.OrganizationRole{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&orgrbacv1alpha1.OrganizationRole{}, createDelete(func(ctx context.Context, o client.Object) []reconcile.Request {
			return orgRolesOf(ctx, c, o.GetNamespace(), o.(*orgrbacv1alpha1.OrganizationRole).Spec.Organization)
		})).
		Watches(&orgrbacv1alpha1.Organization{}, createDelete(func(ctx context.Context, o client.Object) []reconcile.Request {
			return orgRolesOf(ctx, c, o.GetNamespace(), o.GetName())
		})).
		Watches(&orgrbacv1alpha1.Permission{}, onSpecChange(func(ctx context.Context, o client.Object) []reconcile.Request {
			return orgRolesOf(ctx, c, o.GetNamespace(), "")
		})).
		Watches(&orgrbacv1alpha1.Membership{}, onUpdateWhere(func(ctx context.Context, o client.Object) []reconcile.Request {
			m := o.(*orgrbacv1alpha1.Membership)
			if len(m.Status.Roles) == 0 {
				return nil
			}
			return orgRolesOf(ctx, c, m.Namespace, m.Spec.Organization)
		}, statusRolesChanged)).
		WithOptions(opts).
		Complete(r)
}

// orgRolesOf returns requests for the OrganizationRoles of org (all of ns when org is empty).
func orgRolesOf(ctx context.Context, c client.Reader, ns, org string) []reconcile.Request {
	opts := []client.ListOption{client.InNamespace(ns), readOnly}
	if org != "" {
		opts = append(opts, client.MatchingFields{index.OrganizationRoleByOrganization: org})
	}
	var roles orgrbacv1alpha1.OrganizationRoleList
	if err := c.List(ctx, &roles, opts...); err != nil {
		log.FromContext(ctx).Error(err, "Listing organization roles to enqueue", "namespace", ns)
		return nil
	}
	return requestsOf(roles.Items)
}
