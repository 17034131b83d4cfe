package controller

import (
	"context"
	"fmt"
	"slices"

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
)

// GroupMappingReconciler keeps a GroupMapping's status: matchedMemberships, and
// Ready (False when the organization or the role does not exist).
type GroupMappingReconciler struct {
	Client   client.Client
	Clock    clock.PassiveClock
	throttle *throttle
	// models holds the namespaces' compiled environments (shared with the
	// other controllers).
	models *model.Cache
}

// Reconcile computes the mapping's status and writes it when it changed.
func (r *GroupMappingReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var gm orgrbacv1alpha1.GroupMapping
	if ok, res, err := beginCount(ctx, r.Client, r.throttle, req, &gm); !ok {
		return res, err
	}
	if err := ensureOrganizationOwner(ctx, r.Client, &gm, gm.Spec.Organization); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}

	env, err := namespaceEnv(ctx, r.models, r.Client, gm.Namespace)
	if err != nil {
		return ctrl.Result{}, err
	}
	view := env.Organization(gm.Spec.Organization)
	var members orgrbacv1alpha1.MembershipList
	if err := r.Client.List(ctx, &members, client.InNamespace(gm.Namespace),
		client.MatchingFields{index.MembershipByGroup: index.GroupKey(gm.Spec.Organization, gm.Spec.Source, gm.Spec.Group)}, readOnly); err != nil {
		return ctrl.Result{}, fmt.Errorf("listing memberships: %w", err)
	}

	ready := readyCondition("", "", gm.Generation)
	if view == nil {
		ready = readyCondition(orgrbacv1alpha1.ReasonOrganizationNotFound,
			fmt.Sprintf("organization %q not found", gm.Spec.Organization), gm.Generation)
	} else if _, ok := view.Role(gm.Spec.Role); !ok {
		ready = readyCondition(orgrbacv1alpha1.ReasonRoleNotFound,
			fmt.Sprintf("role %q is neither a Role of the environment nor an OrganizationRole of %q: the mapping grants nothing",
				gm.Spec.Role, gm.Spec.Organization), gm.Generation)
	}

	orig := gm.DeepCopy()
	gm.Status = orgrbacv1alpha1.GroupMappingStatus{ObservedGeneration: gm.Generation, MatchedMemberships: count(len(members.Items))}
	gm.Status.Conditions = mergeConditions(orig.Status.Conditions, metav1.NewTime(r.Clock.Now()), ready)
	if _, err := patchStatus(ctx, r.Client, &gm, orig, orig.Status, gm.Status); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	return ctrl.Result{}, nil
}

// groupsChanged is true when a membership's groups changed.
func groupsChanged(oldObj, newObj client.Object) bool {
	o, ok1 := oldObj.(*orgrbacv1alpha1.Membership)
	n, ok2 := newObj.(*orgrbacv1alpha1.Membership)
	return ok1 && ok2 && (!slices.Equal(o.Spec.DirectoryGroups, n.Spec.DirectoryGroups) || !slices.Equal(o.Spec.SSOGroups, n.Spec.SSOGroups))
}

// SetupWithManager registers the controller.
func (r *GroupMappingReconciler) SetupWithManager(mgr ctrl.Manager, opts controller.Options) error {
	r.throttle = newThrottle(r.Clock)
	if r.models == nil {
		r.models = model.NewCache(mgr.GetClient())
	}
	inv := invalidates(r.models)
	c := mgr.GetClient()
	mappings := func(ctx context.Context, ns, field, value string, keep func(*orgrbacv1alpha1.GroupMapping) bool) []reconcile.Request {
		var gms orgrbacv1alpha1.GroupMappingList
		if err := c.List(ctx, &gms, client.InNamespace(ns), client.MatchingFields{field: value}, readOnly); err != nil {
			log.FromContext(ctx).Error(err, "Listing group mappings to enqueue", "namespace", ns, "index", field)
			return nil
		}
		var reqs []reconcile.Request
		for i := range gms.Items {
			if keep == nil || keep(&gms.Items[i]) {
				reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&gms.Items[i])})
			}
		}
		return reqs
	}
	// A membership counts for the mappings of its organization that match one of its groups.
	fromMembership := func(ctx context.Context, o client.Object) []reconcile.Request {
		m := o.(*orgrbacv1alpha1.Membership)
		if len(m.Spec.DirectoryGroups)+len(m.Spec.SSOGroups) == 0 {
			return nil
		}
		return mappings(ctx, m.Namespace, index.GroupMappingByOrganization, m.Spec.Organization, func(g *orgrbacv1alpha1.GroupMapping) bool {
			groups := m.Spec.SSOGroups
			if g.Spec.Source == orgrbacv1alpha1.GroupSourceDirectory {
				groups = m.Spec.DirectoryGroups
			}
			return slices.Contains(groups, g.Spec.Group)
		})
	}
	bySlug := func(ctx context.Context, o client.Object) []reconcile.Request {
		switch t := o.(type) {
		case *orgrbacv1alpha1.Role:
			return mappings(ctx, t.Namespace, index.GroupMappingByRole, t.EffectiveSlug(), nil)
		case *orgrbacv1alpha1.OrganizationRole:
			return mappings(ctx, t.Namespace, index.GroupMappingByRole, t.Spec.Slug,
				func(g *orgrbacv1alpha1.GroupMapping) bool { return g.Spec.Organization == t.Spec.Organization })
		}
		return nil
	}
	byOrg := func(ctx context.Context, o client.Object) []reconcile.Request {
		return mappings(ctx, o.GetNamespace(), index.GroupMappingByOrganization, o.GetName(), nil)
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named("groupmapping").
		For(&orgrbacv1alpha1.GroupMapping{}, invalidates(r.models, predicate.GenerationChangedPredicate{})).
		Watches(&orgrbacv1alpha1.Membership{}, onUpdateWhere(fromMembership, groupsChanged)).
		Watches(&orgrbacv1alpha1.Role{}, byEvent(bySlug, nothing), inv).
		Watches(&orgrbacv1alpha1.OrganizationRole{}, byEvent(bySlug, nothing), inv).
		Watches(&orgrbacv1alpha1.Organization{}, byEvent(byOrg, nothing), inv).
		WithOptions(opts).
		Complete(r)
}
