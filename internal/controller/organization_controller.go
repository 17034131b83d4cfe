package controller

import (
	"context"
	"fmt"
	"slices"

	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/index"
	"github.com/orgrbac/orgrbac/internal/model"
	"github.com/orgrbac/orgrbac/internal/resolve"
)

// OrganizationReconciler keeps an Organization's status: Ready (False for an
// organization whose ids an older one holds) and ReferencesResolved for a
// defaultRole or rolePriority naming no role. It counts nothing, so
// memberships never wake it.
type OrganizationReconciler struct {
	Client client.Client
	Clock  clock.PassiveClock
	// models holds the namespaces' compiled environments (shared with the
	// other controllers).
	models *model.Cache
}

// Reconcile computes the organization's status (organizationStatus) and writes
// it when it changed.
func (r *OrganizationReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var org orgrbacv1alpha1.Organization
	if ok, err := begin(ctx, r.Client, req, &org); !ok {
		return ctrl.Result{}, err
	}
	_, err := reconcileStatus(ctx, r.Client, r.Clock, &org,
		func(o *orgrbacv1alpha1.Organization) *orgrbacv1alpha1.OrganizationStatus { return &o.Status },
		r.gather, organizationStatus)
	return ctrl.Result{}, err
}

// gather reads the organization's inputs from the cache and the namespace's
// compiled environment.
func (r *OrganizationReconciler) gather(ctx context.Context, org *orgrbacv1alpha1.Organization) (organizationInputs, error) {
	in := organizationInputs{self: resolve.OrganizationRef{Meta: metaOf(org), ExternalID: org.Spec.ExternalID}}
	env, err := namespaceEnv(ctx, r.models, r.Client, org.Namespace)
	if err != nil {
		return in, err
	}
	// The Organization watches invalidate the compiled environment before the
	// organization is reconciled, but a reconcile from another watch (an
	// organization role's) can run on an environment compiled just before this
	// organization reached the cache: compile once more before calling it an
	// internal error.
	view := env.Organization(org.Name)
	if view == nil && r.models != nil {
		r.models.Invalidate(org.Namespace)
		if env, err = namespaceEnv(ctx, r.models, r.Client, org.Namespace); err != nil {
			return in, err
		}
		view = env.Organization(org.Name)
	}
	if view == nil {
		return in, fmt.Errorf("organization %s is missing from the compiled environment of %s", org.Name, org.Namespace)
	}
	in.unknownDefault, in.unknownPriority = view.UnknownDefault(), view.UnknownPriority()

	peers, err := idPeers(ctx, r.Client, org)
	if err != nil {
		return in, err
	}
	for _, p := range peers {
		in.peers = append(in.peers, resolve.OrganizationRef{Meta: metaOf(p), ExternalID: p.Spec.ExternalID})
	}
	return in, nil
}

// idPeers returns the other organizations of org's namespace, not being
// deleted, whose name or externalID is one of org's.
func idPeers(ctx context.Context, c client.Reader, org *orgrbacv1alpha1.Organization) ([]*orgrbacv1alpha1.Organization, error) {
	var out []*orgrbacv1alpha1.Organization
	for _, key := range index.OrganizationIDs(org) {
		var list orgrbacv1alpha1.OrganizationList
		if err := c.List(ctx, &list, client.InNamespace(org.Namespace), readOnly,
			client.MatchingFields{index.OrganizationByID: key}); err != nil {
			return nil, fmt.Errorf("listing organizations with id %s: %w", key, err)
		}
		for i := range list.Items {
			p := &list.Items[i]
			if p.Name != org.Name && !deleting(p) && !slices.ContainsFunc(out, func(q *orgrbacv1alpha1.Organization) bool { return q.Name == p.Name }) {
				out = append(out, p)
			}
		}
	}
	return out, nil
}

// SetupWithManager registers the controller.
func (r *OrganizationReconciler) SetupWithManager(mgr ctrl.Manager, opts controller.Options) error {
	if r.models == nil {
		r.models = model.NewCache(mgr.GetClient())
	}
	inv := invalidates(r.models)
	m := &organizationMapper{c: mgr.GetClient()}
	return ctrl.NewControllerManagedBy(mgr).
		Named("organization").
		For(&orgrbacv1alpha1.Organization{}, invalidates(r.models, predicate.GenerationChangedPredicate{})).
		Watches(&orgrbacv1alpha1.Organization{}, onSpecChange(m.organizationToPeers), inv).
		Watches(&orgrbacv1alpha1.OrganizationRole{}, createDelete(m.organizationRoleToOrganization), inv).
		Watches(&orgrbacv1alpha1.Role{}, byEvent(m.roleToOrganizations, nothing), inv).
		WithOptions(opts).
		Complete(r)
}
