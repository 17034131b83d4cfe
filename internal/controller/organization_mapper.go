package controller

import (
	"context"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/index"
)

// organizationMapper finds, through the field indexes, the Organizations whose
// status an event may change. The namespace's compiled environment is
// invalidated before, by the watch's predicate (model.Cache.Invalidator).
type organizationMapper struct {
	c client.Reader
}

// organizationToPeers: the other organizations whose ids collide with its own
// (idPeerRequests).
func (om *organizationMapper) organizationToPeers(ctx context.Context, obj client.Object) []reconcile.Request {
	return idPeerRequests(ctx, om.c, obj)
}

// organizationRoleToOrganization: the organization to which the role is
// visible, whose defaultRole or rolePriority may name it.
func (om *organizationMapper) organizationRoleToOrganization(_ context.Context, obj client.Object) []reconcile.Request {
	r, ok := obj.(*orgrbacv1alpha1.OrganizationRole)
	if !ok {
		return nil
	}
	return []reconcile.Request{{NamespacedName: client.ObjectKey{Namespace: r.Namespace, Name: r.Spec.Organization}}}
}

// roleToOrganizations: every organization of the namespace, to all of which an
// environment Role is visible.
func (om *organizationMapper) roleToOrganizations(ctx context.Context, obj client.Object) []reconcile.Request {
	return byIndex(ctx, om.c, &orgrbacv1alpha1.OrganizationList{}, obj.GetNamespace(), "", "")
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
		reqs = append(reqs, byIndexWhere(ctx, c, &orgrbacv1alpha1.OrganizationList{}, org.Namespace, index.OrganizationByID, key,
			func(p *orgrbacv1alpha1.Organization) bool { return p.Name != org.Name })...)
	}
	return reqs
}
