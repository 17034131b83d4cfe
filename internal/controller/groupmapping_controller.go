package controller

import (
	"context"

	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/model"
)

// GroupMappingReconciler keeps a GroupMapping's status: Ready (False when the
// organization or the role does not exist). It counts nothing, so memberships
// never wake it.
type GroupMappingReconciler struct {
	Client client.Client
	Clock  clock.PassiveClock
	// models holds the namespaces' compiled environments (shared with the
	// other controllers).
	models *model.Cache
}

// Reconcile computes the mapping's status (groupMappingStatus) and writes it
// when it changed.
func (r *GroupMappingReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var gm orgrbacv1alpha1.GroupMapping
	if ok, err := begin(ctx, r.Client, req, &gm); !ok {
		return ctrl.Result{}, err
	}
	if err := ensureOrganizationOwner(ctx, r.Client, &gm, gm.Spec.Organization); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	_, err := reconcileStatus(ctx, r.Client, r.Clock, &gm,
		func(g *orgrbacv1alpha1.GroupMapping) *orgrbacv1alpha1.GroupMappingStatus { return &g.Status },
		r.gather, groupMappingStatus)
	return ctrl.Result{}, err
}

// gather reads the mapping's inputs from the cache and the namespace's compiled
// environment.
func (r *GroupMappingReconciler) gather(ctx context.Context, gm *orgrbacv1alpha1.GroupMapping) (groupMappingInputs, error) {
	in := groupMappingInputs{organization: gm.Spec.Organization, role: gm.Spec.Role}
	env, err := namespaceEnv(ctx, r.models, r.Client, gm.Namespace)
	if err != nil {
		return in, err
	}
	if view := env.Organization(gm.Spec.Organization); view != nil {
		in.organizationFound, in.roleFound = true, view.Defines(gm.Spec.Role)
	}
	return in, nil
}

// SetupWithManager registers the controller.
func (r *GroupMappingReconciler) SetupWithManager(mgr ctrl.Manager, opts controller.Options) error {
	if r.models == nil {
		r.models = model.NewCache(mgr.GetClient())
	}
	inv := invalidates(r.models)
	m := &groupMappingMapper{c: mgr.GetClient()}
	return ctrl.NewControllerManagedBy(mgr).
		Named("groupmapping").
		For(&orgrbacv1alpha1.GroupMapping{}, invalidates(r.models, predicate.GenerationChangedPredicate{})).
		Watches(&orgrbacv1alpha1.Role{}, byEvent(m.roleToGroupMappings, nothing), inv).
		Watches(&orgrbacv1alpha1.OrganizationRole{}, byEvent(m.organizationRoleToGroupMappings, nothing), inv).
		Watches(&orgrbacv1alpha1.Organization{}, byEvent(m.organizationToGroupMappings, nothing), inv).
		WithOptions(opts).
		Complete(r)
}
