package controller

import (
	"context"
	"slices"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/index"
)

// membershipMapper finds, through the field indexes, the memberships whose
// resolution an event may change. The namespace's compiled environment is
// invalidated before, by the watch's predicate (model.Cache.Invalidator).
type membershipMapper struct {
	c client.Reader
}

// memberships returns requests for the memberships of ns whose index field
// holds value (all of ns when field is empty), of organization org (of any
// when org is empty).
//
// With an organization it lists the organization's members and keeps those
// whose field holds value: listing by field first would read every holder of
// the value in every organization (organization roles of 1,000 organizations
// share slugs, and at a cold start every membership is NotResolved), once per
// organization role — at 100k memberships the manager's first pass over the
// organization roles did not end within the cache-sync timeout.
func (mm *membershipMapper) memberships(ctx context.Context, ns, field, value, org string) []reconcile.Request {
	if org == "" {
		return byIndex(ctx, mm.c, &orgrbacv1alpha1.MembershipList{}, ns, field, value)
	}
	extract, ok := index.MembershipValues[field]
	if !ok {
		return byIndexWhere(ctx, mm.c, &orgrbacv1alpha1.MembershipList{}, ns, field, value,
			func(m *orgrbacv1alpha1.Membership) bool { return m.Spec.Organization == org })
	}
	return byIndexWhere(ctx, mm.c, &orgrbacv1alpha1.MembershipList{}, ns, index.MembershipByOrganization, org,
		func(m *orgrbacv1alpha1.Membership) bool { return slices.Contains(extract(m), value) })
}

// membershipToPeers: the memberships of the same (organization, user).
func (mm *membershipMapper) membershipToPeers(ctx context.Context, obj client.Object) []reconcile.Request {
	m, ok := obj.(*orgrbacv1alpha1.Membership)
	if !ok {
		return nil
	}
	return mm.memberships(ctx, m.Namespace, index.MembershipByOrgUser, index.OrgUserKey(m.Spec.Organization, m.Spec.User), "")
}

// environmentToMemberships: every membership of the namespace (the
// environment's settings apply to all of them).
func (mm *membershipMapper) environmentToMemberships(ctx context.Context, obj client.Object) []reconcile.Request {
	return mm.memberships(ctx, obj.GetNamespace(), "", "", "")
}

// organizationToMemberships: the organization's memberships, and those of the
// organizations whose ids collide with its own (idPeerRequests), which may
// become or stop being duplicates, whose members resolve to nothing.
func (mm *membershipMapper) organizationToMemberships(ctx context.Context, obj client.Object) []reconcile.Request {
	reqs := mm.memberships(ctx, obj.GetNamespace(), index.MembershipByOrganization, obj.GetName(), "")
	for _, peer := range idPeerRequests(ctx, mm.c, obj) {
		reqs = append(reqs, mm.memberships(ctx, peer.Namespace, index.MembershipByOrganization, peer.Name, "")...)
	}
	return reqs
}

// groupMappingToMemberships: the memberships in the mapped group.
func (mm *membershipMapper) groupMappingToMemberships(ctx context.Context, obj client.Object) []reconcile.Request {
	g, ok := obj.(*orgrbacv1alpha1.GroupMapping)
	if !ok {
		return nil
	}
	return mm.memberships(ctx, g.Namespace, index.MembershipByGroup,
		index.GroupKey(g.Spec.Organization, g.Spec.Source, g.Spec.Group), "")
}

// roleChangeToMemberships: a role's permissions changed; the memberships
// naming or holding it.
func (mm *membershipMapper) roleChangeToMemberships(ctx context.Context, _, obj client.Object) []reconcile.Request {
	r, ok := obj.(*orgrbacv1alpha1.Role)
	if !ok {
		return nil
	}
	return mm.memberships(ctx, r.Namespace, index.MembershipByRoleRef, r.EffectiveSlug(), "")
}

// organizationRoleChangeToMemberships: an organization role's permissions
// changed; the memberships of its organization naming or holding it.
func (mm *membershipMapper) organizationRoleChangeToMemberships(ctx context.Context, _, obj client.Object) []reconcile.Request {
	r, ok := obj.(*orgrbacv1alpha1.OrganizationRole)
	if !ok {
		return nil
	}
	return mm.memberships(ctx, r.Namespace, index.MembershipByRoleRef, r.Spec.Slug, r.Spec.Organization)
}

// roleToMemberships: a role appeared or went away.
func (mm *membershipMapper) roleToMemberships(ctx context.Context, obj client.Object) []reconcile.Request {
	r, ok := obj.(*orgrbacv1alpha1.Role)
	if !ok {
		return nil
	}
	return mm.slugAppearedOrWent(ctx, r.Namespace, "", r.EffectiveSlug())
}

// organizationRoleToMemberships: an organization role appeared or went away.
func (mm *membershipMapper) organizationRoleToMemberships(ctx context.Context, obj client.Object) []reconcile.Request {
	r, ok := obj.(*orgrbacv1alpha1.OrganizationRole)
	if !ok {
		return nil
	}
	return mm.slugAppearedOrWent(ctx, r.Namespace, r.Spec.Organization, r.Spec.Slug)
}

// slugAppearedOrWent returns the memberships (of org, or of every organization
// when org is empty) whose resolution may depend on whether slug names a role:
// those naming or holding it, those in a group mapped to it, and, when it is or
// may be a default role, those resolved to a default or not resolved at all.
func (mm *membershipMapper) slugAppearedOrWent(ctx context.Context, ns, org, slug string) []reconcile.Request {
	reqs := mm.memberships(ctx, ns, index.MembershipByRoleRef, slug, org)

	var gms orgrbacv1alpha1.GroupMappingList
	if err := mm.c.List(ctx, &gms, client.InNamespace(ns), client.MatchingFields{index.GroupMappingByRole: slug}, readOnly); err != nil {
		log.FromContext(ctx).Error(err, "Listing group mappings to enqueue", "namespace", ns)
	}
	for i := range gms.Items {
		g := &gms.Items[i]
		if org == "" || g.Spec.Organization == org {
			reqs = append(reqs, mm.groupMappingToMemberships(ctx, g)...)
		}
	}

	if mm.mayBeDefault(ctx, ns, slug) {
		reqs = append(reqs, mm.memberships(ctx, ns, index.MembershipByResolution, string(orgrbacv1alpha1.SourceDefault), org)...)
		reqs = append(reqs, mm.memberships(ctx, ns, index.MembershipByResolution, index.NotResolved, org)...)
	}
	return reqs
}

// mayBeDefault reports whether slug is `member` or named by an Environment's
// defaultRole or an Organization's defaultRole or rolePriority.
func (mm *membershipMapper) mayBeDefault(ctx context.Context, ns, slug string) bool {
	if slug == orgrbacv1alpha1.DefaultRoleSlug {
		return true
	}
	var envs orgrbacv1alpha1.EnvironmentList
	if err := mm.c.List(ctx, &envs, client.InNamespace(ns), readOnly); err != nil {
		return true
	}
	for i := range envs.Items {
		if envs.Items[i].Spec.DefaultRole == slug {
			return true
		}
	}
	var orgs orgrbacv1alpha1.OrganizationList
	if err := mm.c.List(ctx, &orgs, client.InNamespace(ns), client.MatchingFields{index.OrganizationByRoleRef: slug}, readOnly); err != nil {
		return true
	}
	return len(orgs.Items) > 0
}
