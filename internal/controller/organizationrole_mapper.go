package controller

import (
	"context"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/index"
)

// organizationRoleMapper finds, through the field indexes, the
// OrganizationRoles whose status an event may change.
type organizationRoleMapper struct {
	c client.Reader
}

// organizationRoleToOrganizationRoles: the roles of the same organization, one
// of which a role created or deleted may make or stop being a duplicate.
func (rm *organizationRoleMapper) organizationRoleToOrganizationRoles(ctx context.Context, obj client.Object) []reconcile.Request {
	r, ok := obj.(*orgrbacv1alpha1.OrganizationRole)
	if !ok {
		return nil
	}
	return rm.of(ctx, r.Namespace, r.Spec.Organization)
}

// organizationToOrganizationRoles: the roles of an organization created or
// deleted, which it makes found or not.
func (rm *organizationRoleMapper) organizationToOrganizationRoles(ctx context.Context, obj client.Object) []reconcile.Request {
	return rm.of(ctx, obj.GetNamespace(), obj.GetName())
}

// permissionToOrganizationRoles: every OrganizationRole of the namespace, whose
// permissions the catalog declares or not.
func (rm *organizationRoleMapper) permissionToOrganizationRoles(ctx context.Context, obj client.Object) []reconcile.Request {
	return rm.of(ctx, obj.GetNamespace(), "")
}

// of returns requests for the OrganizationRoles of org (all of ns when org is empty).
func (rm *organizationRoleMapper) of(ctx context.Context, ns, org string) []reconcile.Request {
	field := ""
	if org != "" {
		field = index.OrganizationRoleByOrganization
	}
	return byIndex(ctx, rm.c, &orgrbacv1alpha1.OrganizationRoleList{}, ns, field, org)
}
