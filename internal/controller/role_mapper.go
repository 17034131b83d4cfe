package controller

import (
	"context"

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

// withSlug returns requests for the Roles of ns with that slug (all when slug is empty).
func (rm *roleMapper) withSlug(ctx context.Context, ns, slug string) []reconcile.Request {
	field := ""
	if slug != "" {
		field = index.RoleBySlug
	}
	return byIndex(ctx, rm.c, &orgrbacv1alpha1.RoleList{}, ns, field, slug)
}
