package controller

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/model"
)

// EnvironmentReconciler keeps an Environment's status: the counts of its
// namespace, Ready (False for a second Environment in the namespace) and
// ReferencesResolved (a defaultRole or rolePriority naming no Role).
type EnvironmentReconciler struct {
	Client   client.Client
	Clock    clock.PassiveClock
	throttle *throttle
	// models holds the namespaces' compiled environments (shared with the
	// other controllers).
	models *model.Cache
}

// Reconcile computes the environment's status and writes it when it changed.
func (r *EnvironmentReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var env orgrbacv1alpha1.Environment
	if ok, res, err := beginCount(ctx, r.Client, r.throttle, req, &env); !ok {
		return res, err
	}
	ns := env.Namespace

	compiled, err := namespaceEnv(ctx, r.models, r.Client, ns)
	if err != nil {
		return ctrl.Result{}, err
	}
	var roles orgrbacv1alpha1.RoleList
	if err := r.Client.List(ctx, &roles, client.InNamespace(ns), readOnly); err != nil {
		return ctrl.Result{}, fmt.Errorf("listing roles: %w", err)
	}
	liveRoles := 0
	for i := range roles.Items {
		if !deleting(&roles.Items[i]) {
			liveRoles++
		}
	}
	var orgs orgrbacv1alpha1.OrganizationList
	if err := r.Client.List(ctx, &orgs, client.InNamespace(ns), readOnly); err != nil {
		return ctrl.Result{}, fmt.Errorf("listing organizations: %w", err)
	}
	var members orgrbacv1alpha1.MembershipList
	if err := r.Client.List(ctx, &members, client.InNamespace(ns), readOnly); err != nil {
		return ctrl.Result{}, fmt.Errorf("listing memberships: %w", err)
	}

	orig := env.DeepCopy()
	env.Status.ObservedGeneration = env.Generation
	env.Status.Roles = count(liveRoles)
	env.Status.Organizations = count(len(orgs.Items))
	env.Status.Memberships = count(len(members.Items))

	older := ""
	if winner, _ := compiled.Environment(); winner != nil && winner.Name != env.Name {
		older = winner.Name
	}
	env.Status.Conditions = environmentConditions(orig.Status.Conditions, env.Generation, older,
		compiled.UnknownDefault(), compiled.UnknownEnvironmentPriority(), metav1.NewTime(r.Clock.Now()))
	if _, err := patchStatus(ctx, r.Client, &env, orig, orig.Status, env.Status); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	return ctrl.Result{}, nil
}

// environmentConditions are an Environment's conditions: Ready is False when an
// older Environment (older names it) holds the namespace's settings, and then
// nothing else is checked; otherwise ReferencesResolved reports a defaultRole and
// rolePriority entries naming no Role.
func environmentConditions(existing []metav1.Condition, gen int64, older, unknownDefault string, unknownPriority []string, now metav1.Time) []metav1.Condition {
	if older != "" {
		return mergeConditions(existing, now, readyCondition(orgrbacv1alpha1.ReasonDuplicate,
			fmt.Sprintf("Environment %q is older and holds this namespace's settings; this one is ignored", older), gen),
			referencesCondition("", "", gen))
	}
	reason, message := unknownRoles(unknownDefault, unknownPriority)
	return mergeConditions(existing, now, readyCondition("", "", gen), referencesCondition(reason, message, gen))
}

// SetupWithManager registers the controller.
func (r *EnvironmentReconciler) SetupWithManager(mgr ctrl.Manager, opts controller.Options) error {
	r.throttle = newThrottle(r.Clock)
	if r.models == nil {
		r.models = model.NewCache(mgr.GetClient())
	}
	inv := invalidates(r.models)
	c := mgr.GetClient()
	envs := func(ctx context.Context, o client.Object) []reconcile.Request {
		var list orgrbacv1alpha1.EnvironmentList
		if err := c.List(ctx, &list, client.InNamespace(o.GetNamespace()), readOnly); err != nil {
			log.FromContext(ctx).Error(err, "Listing environments to enqueue", "namespace", o.GetNamespace())
			return nil
		}
		return requestsOf(list.Items)
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named("environment").
		For(&orgrbacv1alpha1.Environment{}, invalidates(r.models, predicate.GenerationChangedPredicate{})).
		Watches(&orgrbacv1alpha1.Environment{}, createDelete(envs), inv).
		Watches(&orgrbacv1alpha1.Role{}, byEvent(envs, nothing), inv).
		Watches(&orgrbacv1alpha1.Organization{}, createDelete(envs), inv).
		Watches(&orgrbacv1alpha1.Membership{}, createDelete(envs)).
		WithOptions(opts).
		Complete(r)
}
