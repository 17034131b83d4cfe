package controller

import (
	"context"
	"fmt"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/index"
	"github.com/orgrbac/orgrbac/internal/resolve"
	"github.com/orgrbac/orgrbac/internal/textlist"
)

// RoleReconciler keeps a Role's status: its effective slug, Ready (False for a
// duplicate slug), ReferencesResolved (undeclared permissions) and memberCount.
type RoleReconciler struct {
	Client   client.Client
	Clock    clock.PassiveClock
	throttle *throttle
}

// Reconcile computes the role's status and writes it when it changed.
func (r *RoleReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var role orgrbacv1alpha1.Role
	if ok, res, err := beginCount(ctx, r.Client, r.throttle, req, &role); !ok {
		return res, err
	}
	slug := role.EffectiveSlug()

	var same orgrbacv1alpha1.RoleList
	if err := r.Client.List(ctx, &same, client.InNamespace(role.Namespace), client.MatchingFields{index.RoleBySlug: slug}, readOnly); err != nil {
		return ctrl.Result{}, fmt.Errorf("listing roles with slug %s: %w", slug, err)
	}
	winner := oldest(same.Items, func(r *orgrbacv1alpha1.Role) metav1.Object { return r })

	count, err := countHolders(ctx, r.Client, role.Namespace, "", slug)
	if err != nil {
		return ctrl.Result{}, err
	}
	undeclared, err := undeclaredPermissions(ctx, r.Client, role.Namespace, role.Spec.Permissions)
	if err != nil {
		return ctrl.Result{}, err
	}

	orig := role.DeepCopy()
	role.Status = orgrbacv1alpha1.RoleStatus{ObservedGeneration: role.Generation, Slug: slug}
	dupOf := ""
	if winner != "" && winner != role.Name {
		dupOf = winner
	} else {
		role.Status.MemberCount = count
	}
	role.Status.Conditions = roleConditions(orig.Status.Conditions, role.Generation, "Role", dupOf, "", undeclared, metav1.NewTime(r.Clock.Now()))
	if _, err := patchStatus(ctx, r.Client, &role, orig, orig.Status, role.Status); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	return ctrl.Result{}, nil
}

// roleConditions are the conditions of a Role or OrganizationRole: Ready is False
// when the organization is missing (orgMissing names it) or the role duplicates an
// older one (dupOf names it); ReferencesResolved lists undeclared permissions.
func roleConditions(existing []metav1.Condition, gen int64, kind, dupOf, orgMissing string, undeclared []string, now metav1.Time) []metav1.Condition {
	ready := readyCondition("", "", gen)
	switch {
	case orgMissing != "":
		ready = readyCondition(orgrbacv1alpha1.ReasonOrganizationNotFound,
			fmt.Sprintf("organization %q not found", orgMissing), gen)
	case dupOf != "":
		ready = readyCondition(orgrbacv1alpha1.ReasonDuplicate,
			fmt.Sprintf("%s %q has the same slug and is older: it wins, this one grants nothing", kind, dupOf), gen)
	}
	refs := referencesCondition("", "", gen)
	if len(undeclared) > 0 {
		refs = referencesCondition(orgrbacv1alpha1.ReasonUndeclaredPermissions,
			fmt.Sprintf("no Permission declares %d of its permissions: %s", len(undeclared), textlist.Join(undeclared)), gen)
	}
	return mergeConditions(existing, now, ready, refs)
}

// oldest returns the name of the winner among duplicates (resolve.Oldest, rule
// R8), objects being deleted left out; "" when none.
func oldest[T any](items []T, obj func(*T) metav1.Object) string {
	i := resolve.Oldest(items, func(t *T) (resolve.Meta, bool) {
		o := obj(t)
		return metaOf(o), !deleting(o)
	})
	if i < 0 {
		return ""
	}
	return obj(&items[i]).GetName()
}

// countHolders counts the memberships (of org, or of any organization when org is
// empty) whose effective roles include slug.
//
// An organization's count reads the organization's members, not every holder
// of the slug: organization roles of many organizations share slugs
// ("org-admin"), and at 1,000 organizations reading all the holders to keep one
// organization's took most of the manager's CPU.
func countHolders(ctx context.Context, c client.Reader, ns, org, slug string) (int32, error) {
	var ms orgrbacv1alpha1.MembershipList
	sel := client.MatchingFields{index.MembershipByRoleRef: slug}
	if org != "" {
		sel = client.MatchingFields{index.MembershipByOrganization: org}
	}
	if err := c.List(ctx, &ms, client.InNamespace(ns), sel, readOnly); err != nil {
		return 0, fmt.Errorf("listing memberships holding %s: %w", slug, err)
	}
	var n int32
	for i := range ms.Items {
		m := &ms.Items[i]
		if (org == "" || m.Spec.Organization == org) && !deleting(m) && slices.Contains(m.Status.Roles, slug) {
			n++
		}
	}
	return n, nil
}

// undeclaredPermissions returns the permissions missing from the namespace's
// Permission catalog; nil when there is no catalog.
func undeclaredPermissions(ctx context.Context, c client.Reader, ns string, perms []string) ([]string, error) {
	if len(perms) == 0 {
		return nil, nil
	}
	var catalog orgrbacv1alpha1.PermissionList
	if err := c.List(ctx, &catalog, client.InNamespace(ns), readOnly); err != nil {
		return nil, fmt.Errorf("listing permissions: %w", err)
	}
	slugs := make([]string, 0, len(catalog.Items))
	for i := range catalog.Items {
		if !deleting(&catalog.Items[i]) {
			slugs = append(slugs, catalog.Items[i].EffectiveSlug())
		}
	}
	return resolve.UndeclaredPermissions(perms, slugs), nil
}

// statusRolesChanged is true when a membership's effective roles changed.
func statusRolesChanged(oldObj, newObj client.Object) bool {
	o, ok1 := oldObj.(*orgrbacv1alpha1.Membership)
	n, ok2 := newObj.(*orgrbacv1alpha1.Membership)
	return ok1 && ok2 && !slices.Equal(o.Status.Roles, n.Status.Roles)
}

// SetupWithManager registers the controller.
func (r *RoleReconciler) SetupWithManager(mgr ctrl.Manager, opts controller.Options) error {
	r.throttle = newThrottle(r.Clock)
	c := mgr.GetClient()
	return ctrl.NewControllerManagedBy(mgr).
		Named("role").
		For(&orgrbacv1alpha1.Role{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		// Another role with the same slug decides which one is the duplicate.
		Watches(&orgrbacv1alpha1.Role{}, createDelete(func(ctx context.Context, o client.Object) []reconcile.Request {
			return rolesWithSlug(ctx, c, o.GetNamespace(), o.(*orgrbacv1alpha1.Role).EffectiveSlug())
		})).
		Watches(&orgrbacv1alpha1.Permission{}, onSpecChange(func(ctx context.Context, o client.Object) []reconcile.Request {
			return rolesWithSlug(ctx, c, o.GetNamespace(), "")
		})).
		Watches(&orgrbacv1alpha1.Membership{}, onUpdateWhere(func(ctx context.Context, o client.Object) []reconcile.Request {
			var reqs []reconcile.Request
			for _, slug := range o.(*orgrbacv1alpha1.Membership).Status.Roles {
				reqs = append(reqs, rolesWithSlug(ctx, c, o.GetNamespace(), slug)...)
			}
			return reqs
		}, statusRolesChanged)).
		WithOptions(opts).
		Complete(r)
}

// rolesWithSlug returns requests for the Roles of ns with that slug (all when slug is empty).
func rolesWithSlug(ctx context.Context, c client.Reader, ns, slug string) []reconcile.Request {
	field := ""
	if slug != "" {
		field = index.RoleBySlug
	}
	return byIndex(ctx, c, &orgrbacv1alpha1.RoleList{}, ns, field, slug)
}

// requestsOf returns one request per object.
func requestsOf[T any, PT interface {
	*T
	client.Object
}](items []T) []reconcile.Request {
	reqs := make([]reconcile.Request, 0, len(items))
	for i := range items {
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(PT(&items[i]))})
	}
	return reqs
}
