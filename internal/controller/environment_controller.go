package controller

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/model"
)

// EnvironmentReconciler keeps its part of an Environment's status (see
// environment_writers.go; the publisher owns the rest): the counts of its
// namespace, Ready (False for a second Environment in the namespace) and
// ReferencesResolved (a defaultRole or rolePriority naming no Role).
type EnvironmentReconciler struct {
	Client   client.Client
	Clock    clock.PassiveClock
	throttle *throttle
	// tally, when set, defers counts while memberships settle (deferCount).
	tally *membershipTally
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
	in, err := r.gather(ctx, &env)
	if err != nil {
		return ctrl.Result{}, r.internalError(ctx, &env, err)
	}
	want := environmentStatus(&env.Status, env.Generation, in, metav1.NewTime(r.Clock.Now()))
	if err := environmentStatusWriter.write(ctx, r.Client, &env, &want); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	return ctrl.Result{}, nil
}

// gather reads from the cache what env's status is computed from.
func (r *EnvironmentReconciler) gather(ctx context.Context, env *orgrbacv1alpha1.Environment) (environmentInputs, error) {
	var in environmentInputs
	ns := env.Namespace
	compiled, err := namespaceEnv(ctx, r.models, r.Client, ns)
	if err != nil {
		return in, err
	}
	var roles orgrbacv1alpha1.RoleList
	if err := r.Client.List(ctx, &roles, client.InNamespace(ns), readOnly); err != nil {
		return in, fmt.Errorf("listing roles: %w", err)
	}
	in.roles = live(roles.Items)
	var orgs orgrbacv1alpha1.OrganizationList
	if err := r.Client.List(ctx, &orgs, client.InNamespace(ns), readOnly); err != nil {
		return in, fmt.Errorf("listing organizations: %w", err)
	}
	in.organizations = len(orgs.Items)
	var members orgrbacv1alpha1.MembershipList
	if err := r.Client.List(ctx, &members, client.InNamespace(ns), readOnly); err != nil {
		return in, fmt.Errorf("listing memberships: %w", err)
	}
	in.memberships = len(members.Items)
	if winner, _ := compiled.Environment(); winner != nil && winner.Name != env.Name {
		in.older = winner.Name
	}
	in.unknownDefault, in.unknownPriority = compiled.UnknownDefault(), compiled.UnknownEnvironmentPriority()
	return in, nil
}

// internalError is the internal-error path (internalError) for an Environment:
// Ready becomes Unknown with reason InternalError, written as the environment
// controller's part of the status, so that the publisher's fields stay the
// publisher's. It returns err, joined with the write's error if that failed too.
func (r *EnvironmentReconciler) internalError(ctx context.Context, env *orgrbacv1alpha1.Environment, err error) error {
	want := environmentInternalErrorStatus(&env.Status, env.Generation, metav1.NewTime(r.Clock.Now()))
	if werr := environmentStatusWriter.write(ctx, r.Client, env, &want); werr != nil && !apierrors.IsNotFound(werr) {
		return errors.Join(err, fmt.Errorf("recording the internal error in status: %w", werr))
	}
	return err
}

// SetupWithManager registers the controller.
func (r *EnvironmentReconciler) SetupWithManager(mgr ctrl.Manager, opts controller.Options) error {
	r.throttle = newThrottle(r.Clock)
	wake, err := settleWith(mgr, r.throttle, r.tally)
	if err != nil {
		return err
	}
	if r.models == nil {
		r.models = model.NewCache(mgr.GetClient())
	}
	inv := invalidates(r.models)
	m := &environmentMapper{c: mgr.GetClient()}
	return wokenBy(ctrl.NewControllerManagedBy(mgr), wake).
		Named("environment").
		For(&orgrbacv1alpha1.Environment{}, invalidates(r.models, predicate.GenerationChangedPredicate{})).
		Watches(&orgrbacv1alpha1.Environment{}, createDelete(m.objectToEnvironments), inv).
		Watches(&orgrbacv1alpha1.Role{}, byEvent(m.objectToEnvironments, nothing), inv).
		Watches(&orgrbacv1alpha1.Organization{}, createDelete(m.objectToEnvironments), inv).
		Watches(&orgrbacv1alpha1.Membership{}, createDelete(m.objectToEnvironments)).
		WithOptions(opts).
		Complete(r)
}
