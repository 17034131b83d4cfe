package controller

import (
	"context"
	"fmt"
	"strings"

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
	"github.com/orgrbac/orgrbac/internal/index"
	"github.com/orgrbac/orgrbac/internal/resolve"
)

// OrganizationReconciler keeps an Organization's status: memberCount, and
// ReferencesResolved for a defaultRole or rolePriority naming no role.
type OrganizationReconciler struct {
	Client   client.Client
	Clock    clock.PassiveClock
	throttle *throttle
}

// Reconcile computes the organization's status and writes it when it changed.
func (r *OrganizationReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var org orgrbacv1alpha1.Organization
	if ok, res, err := beginCount(ctx, r.Client, r.throttle, req, &org); !ok {
		return res, err
	}

	in, err := gatherInput(ctx, r.Client, org.Namespace, org.Name)
	if err != nil {
		return ctrl.Result{}, err
	}
	view := resolve.Compile(in).Organization(org.Name)
	var members orgrbacv1alpha1.MembershipList
	if err := r.Client.List(ctx, &members, client.InNamespace(org.Namespace),
		client.MatchingFields{index.MembershipByOrganization: org.Name}, readOnly); err != nil {
		return ctrl.Result{}, fmt.Errorf("listing memberships: %w", err)
	}

	orig := org.DeepCopy()
	org.Status = orgrbacv1alpha1.OrganizationStatus{ObservedGeneration: org.Generation, MemberCount: count(len(members.Items))}
	reason, message := unknownRoles(view.UnknownDefault(), view.UnknownPriority())
	org.Status.Conditions = mergeConditions(orig.Status.Conditions, metav1.NewTime(r.Clock.Now()),
		readyCondition("", "", org.Generation), referencesCondition(reason, message, org.Generation))
	if _, err := patchStatus(ctx, r.Client, &org, orig, orig.Status, org.Status); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	return ctrl.Result{}, nil
}

// unknownRoles describes a defaultRole and rolePriority entries naming no role.
func unknownRoles(unknownDefault string, unknownPriority []string) (reason, message string) {
	var parts []string
	if unknownDefault != "" {
		parts = append(parts, fmt.Sprintf("defaultRole %s names no role", unknownDefault))
	}
	if len(unknownPriority) > 0 {
		parts = append(parts, "rolePriority names no role for: "+strings.Join(unknownPriority, ", ")+" (ignored)")
	}
	if len(parts) == 0 {
		return "", ""
	}
	return orgrbacv1alpha1.ReasonUnknownPriorityRoles, strings.Join(parts, "; ")
}

// SetupWithManager registers the controller.
func (r *OrganizationReconciler) SetupWithManager(mgr ctrl.Manager, opts controller.Options) error {
	r.throttle = newThrottle(r.Clock)
	c := mgr.GetClient()
	own := func(_ context.Context, o client.Object) []reconcile.Request {
		org := ""
		switch t := o.(type) {
		case *orgrbacv1alpha1.Membership:
			org = t.Spec.Organization
		case *orgrbacv1alpha1.OrganizationRole:
			org = t.Spec.Organization
		}
		return []reconcile.Request{{NamespacedName: client.ObjectKey{Namespace: o.GetNamespace(), Name: org}}}
	}
	all := func(ctx context.Context, o client.Object) []reconcile.Request {
		var orgs orgrbacv1alpha1.OrganizationList
		if err := c.List(ctx, &orgs, client.InNamespace(o.GetNamespace()), readOnly); err != nil {
			log.FromContext(ctx).Error(err, "Listing organizations to enqueue", "namespace", o.GetNamespace())
			return nil
		}
		return requestsOf(orgs.Items)
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named("organization").
		For(&orgrbacv1alpha1.Organization{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&orgrbacv1alpha1.Membership{}, createDelete(own)).
		Watches(&orgrbacv1alpha1.OrganizationRole{}, createDelete(own)).
		Watches(&orgrbacv1alpha1.Role{}, byEvent(all, nothing)).
		WithOptions(opts).
		Complete(r)
}
