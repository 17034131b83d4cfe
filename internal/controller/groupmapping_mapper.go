package controller

import (
	"context"
	"slices"

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

// membershipToGroupMappings: the mappings of the membership's organization that
// match one of its groups, whose matchedMemberships count it.
func (gm *groupMappingMapper) membershipToGroupMappings(ctx context.Context, obj client.Object) []reconcile.Request {
	m, ok := obj.(*orgrbacv1alpha1.Membership)
	if !ok || len(m.Spec.DirectoryGroups)+len(m.Spec.SSOGroups) == 0 {
		return nil
	}
	return byIndexWhere(ctx, gm.c, &orgrbacv1alpha1.GroupMappingList{}, m.Namespace, index.GroupMappingByOrganization, m.Spec.Organization,
		func(g *orgrbacv1alpha1.GroupMapping) bool {
			groups := m.Spec.SSOGroups
			if g.Spec.Source == orgrbacv1alpha1.GroupSourceDirectory {
				groups = m.Spec.DirectoryGroups
			}
			return slices.Contains(groups, g.Spec.Group)
		})
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

// groupsChanged is true when a membership's groups changed: the mappings of
// the groups it left and joined count it no more or now.
func groupsChanged(oldObj, newObj client.Object) bool {
	o, ok1 := oldObj.(*orgrbacv1alpha1.Membership)
	n, ok2 := newObj.(*orgrbacv1alpha1.Membership)
	return ok1 && ok2 && (!slices.Equal(o.Spec.DirectoryGroups, n.Spec.DirectoryGroups) || !slices.Equal(o.Spec.SSOGroups, n.Spec.SSOGroups))
}
