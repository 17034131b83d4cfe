package controller

import (
	"context"
	"slices"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/index"
)

// roleMapper finds, through the field indexes, the Roles whose status an event
// may change.
type roleMapper struct {
	c client.Reader
}

// roleToRoles: the Roles with the same slug, one of which a role created or
// deleted may make or stop being a duplicate.
func (rm *roleMapper) roleToRoles(ctx context.Context, obj client.Object) []reconcile.Request {
	r, ok := obj.(*orgrbacv1alpha1.Role)
	if !ok {
		return nil
	}
	return rm.withSlug(ctx, r.Namespace, r.EffectiveSlug())
}

// permissionToRoles: every Role of the namespace, whose permissions the catalog
// declares or not.
func (rm *roleMapper) permissionToRoles(ctx context.Context, obj client.Object) []reconcile.Request {
	return rm.withSlug(ctx, obj.GetNamespace(), "")
}

// membershipToRoles: the Roles a membership holds, whose memberCount counts it.
func (rm *roleMapper) membershipToRoles(ctx context.Context, obj client.Object) []reconcile.Request {
	m, ok := obj.(*orgrbacv1alpha1.Membership)
	if !ok {
		return nil
	}
	var reqs []reconcile.Request
	for _, slug := range m.Status.Roles {
		reqs = append(reqs, rm.withSlug(ctx, m.Namespace, slug)...)
	}
	return reqs
}

// withSlug returns requests for the Roles of ns with that slug (all when slug is empty).
func (rm *roleMapper) withSlug(ctx context.Context, ns, slug string) []reconcile.Request {
	field := ""
	if slug != "" {
		field = index.RoleBySlug
	}
	return byIndex(ctx, rm.c, &orgrbacv1alpha1.RoleList{}, ns, field, slug)
}

// statusRolesChanged is true when a membership's effective roles changed: the
// counts of the roles it held and holds change.
func statusRolesChanged(oldObj, newObj client.Object) bool {
	o, ok1 := oldObj.(*orgrbacv1alpha1.Membership)
	n, ok2 := newObj.(*orgrbacv1alpha1.Membership)
	return ok1 && ok2 && !slices.Equal(o.Status.Roles, n.Status.Roles)
}
