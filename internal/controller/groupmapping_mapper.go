package controller

import (
	"context"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/index"
)

// groupMappingMapper finds, through the field indexes, the GroupMappings whose
// status an event may change. The namespace's compiled environment is
// invalidated before, by the watch's predicate (model.Cache.Invalidator).
type groupMappingMapper struct {
	c client.Reader
}

// roleToGroupMappings: the mappings to the role's slug, which it makes found or
// not.
func (gm *groupMappingMapper) roleToGroupMappings(ctx context.Context, obj client.Object) []reconcile.Request {
	r, ok := obj.(*orgrbacv1alpha1.Role)
	if !ok {
		return nil
	}
	return byIndex(ctx, gm.c, &orgrbacv1alpha1.GroupMappingList{}, r.Namespace, index.GroupMappingByRole, r.EffectiveSlug())
}

// organizationRoleToGroupMappings: the mappings of the role's organization to
// its slug, which it makes found or not.
func (gm *groupMappingMapper) organizationRoleToGroupMappings(ctx context.Context, obj client.Object) []reconcile.Request {
	r, ok := obj.(*orgrbacv1alpha1.OrganizationRole)
	if !ok {
		return nil
	}
	return byIndexWhere(ctx, gm.c, &orgrbacv1alpha1.GroupMappingList{}, r.Namespace, index.GroupMappingByRole, r.Spec.Slug,
		func(g *orgrbacv1alpha1.GroupMapping) bool { return g.Spec.Organization == r.Spec.Organization })
}

// organizationToGroupMappings: the organization's mappings, which it makes
// found or not.
func (gm *groupMappingMapper) organizationToGroupMappings(ctx context.Context, obj client.Object) []reconcile.Request {
	return byIndex(ctx, gm.c, &orgrbacv1alpha1.GroupMappingList{}, obj.GetNamespace(), index.GroupMappingByOrganization, obj.GetName())
}
