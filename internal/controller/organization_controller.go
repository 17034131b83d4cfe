package controller

import (
	"context"
	"fmt"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/index"
	"github.com/orgrbac/orgrbac/internal/model"
	"github.com/orgrbac/orgrbac/internal/resolve"
	"github.com/orgrbac/orgrbac/internal/textlist"
)

// OrganizationReconciler keeps an Organization's status: memberCount, and
// ReferencesResolved for a defaultRole or rolePriority naming no role.
type OrganizationReconciler struct {
	Client   client.Client
	Clock    clock.PassiveClock
	throttle *throttle
	// models holds the namespaces' compiled environments (shared with the
	// other controllers).
	models *model.Cache
}

// Reconcile computes the organization's status and writes it when it changed.
func (r *OrganizationReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var org orgrbacv1alpha1.Organization
	if ok, res, err := beginCount(ctx, r.Client, r.throttle, req, &org); !ok {
		return res, err
	}

	env, err := namespaceEnv(ctx, r.models, r.Client, org.Namespace)
	if err != nil {
		return ctrl.Result{}, err
	}
	view := env.Organization(org.Name)
	var members orgrbacv1alpha1.MembershipList
	if err := r.Client.List(ctx, &members, client.InNamespace(org.Namespace),
		client.MatchingFields{index.MembershipByOrganization: org.Name}, readOnly); err != nil {
		return ctrl.Result{}, fmt.Errorf("listing memberships: %w", err)
	}

	ready, err := organizationReady(ctx, r.Client, &org)
	if err != nil {
		return ctrl.Result{}, err
	}

	orig := org.DeepCopy()
	org.Status = orgrbacv1alpha1.OrganizationStatus{ObservedGeneration: org.Generation, MemberCount: count(len(members.Items))}
	reason, message := unknownRoles(view.UnknownDefault(), view.UnknownPriority())
	org.Status.Conditions = mergeConditions(orig.Status.Conditions, metav1.NewTime(r.Clock.Now()),
		ready, referencesCondition(reason, message, org.Generation))
	if _, err := patchStatus(ctx, r.Client, &org, orig, orig.Status, org.Status); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	return ctrl.Result{}, nil
}

// organizationReady is the Ready condition of org: False, reason Duplicate,
// when an older organization holds its name or externalID as an id
// (resolve.IndexOrganizations, the rule the decision API and the publisher
// apply: a duplicate answers to no id and grants nothing).
func organizationReady(ctx context.Context, c client.Reader, org *orgrbacv1alpha1.Organization) (metav1.Condition, error) {
	peers, err := idPeers(ctx, c, org)
	if err != nil {
		return metav1.Condition{}, err
	}
	refs := []resolve.OrganizationRef{{Meta: metaOf(org), ExternalID: org.Spec.ExternalID}}
	for _, p := range peers {
		refs = append(refs, resolve.OrganizationRef{Meta: metaOf(p), ExternalID: p.Spec.ExternalID})
	}
	if conflict, dup := resolve.IndexOrganizations(refs).Duplicate(org.Name); dup {
		return readyCondition(orgrbacv1alpha1.ReasonDuplicate, conflict.Message(), org.Generation), nil
	}
	return readyCondition("", "", org.Generation), nil
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

// idPeerRequests maps an Organization to the other organizations of its
// namespace whose ids (name or externalID) collide with its own: when it is
// created, deleted or given another externalID, they may become or stop being
// duplicates (resolve.IndexOrganizations). The Organization controller
// enqueues them, the Membership controller their memberships.
func idPeerRequests(ctx context.Context, c client.Reader, o client.Object) []reconcile.Request {
	org, ok := o.(*orgrbacv1alpha1.Organization)
	if !ok {
		return nil
	}
	var reqs []reconcile.Request
	for _, key := range index.OrganizationIDs(org) {
		var list orgrbacv1alpha1.OrganizationList
		if err := c.List(ctx, &list, client.InNamespace(org.Namespace), readOnly,
			client.MatchingFields{index.OrganizationByID: key}); err != nil {
			log.FromContext(ctx).Error(err, "Listing organizations to enqueue", "namespace", org.Namespace)
			return nil
		}
		for i := range list.Items {
			if list.Items[i].Name != org.Name {
				reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
			}
		}
	}
	return reqs
}

// unknownRoles describes a defaultRole and rolePriority entries naming no role.
func unknownRoles(unknownDefault string, unknownPriority []string) (reason, message string) {
	var parts []string
	if unknownDefault != "" {
		parts = append(parts, fmt.Sprintf("defaultRole %s names no role", unknownDefault))
	}
	if len(unknownPriority) > 0 {
		parts = append(parts, "rolePriority names no role for: "+textlist.Join(unknownPriority)+" (ignored)")
	}
	if len(parts) == 0 {
		return "", ""
	}
	return orgrbacv1alpha1.ReasonUnknownPriorityRoles, strings.Join(parts, "; ")
}

// SetupWithManager registers the controller.
func (r *OrganizationReconciler) SetupWithManager(mgr ctrl.Manager, opts controller.Options) error {
	r.throttle = newThrottle(r.Clock)
	if r.models == nil {
		r.models = model.NewCache(mgr.GetClient())
	}
	inv := invalidates(r.models)
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
	peers := func(ctx context.Context, o client.Object) []reconcile.Request { return idPeerRequests(ctx, c, o) }
	return ctrl.NewControllerManagedBy(mgr).
		Named("organization").
		For(&orgrbacv1alpha1.Organization{}, invalidates(r.models, predicate.GenerationChangedPredicate{})).
		Watches(&orgrbacv1alpha1.Organization{}, onSpecChange(peers), inv).
		Watches(&orgrbacv1alpha1.Membership{}, createDelete(own)).
		Watches(&orgrbacv1alpha1.OrganizationRole{}, createDelete(own), inv).
		Watches(&orgrbacv1alpha1.Role{}, byEvent(all, nothing), inv).
		WithOptions(opts).
		Complete(r)
}
