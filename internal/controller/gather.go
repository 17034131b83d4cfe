package controller

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/index"
	"github.com/orgrbac/orgrbac/internal/resolve"
)

// Reads from the cache are read-only: objects are not deep-copied, and nothing
// gathered here may be modified.
var readOnly = client.UnsafeDisableDeepCopy

func metaOf(o metav1.Object) resolve.Meta {
	return resolve.Meta{Name: o.GetName(), Created: o.GetCreationTimestamp().Time}
}

// deleting reports whether an object is being deleted: a role being deleted grants
// nothing while its finalizer moves its holders elsewhere (fail closed).
func deleting(o metav1.Object) bool { return o.GetDeletionTimestamp() != nil }

// gatherInput reads, for namespace ns, everything the resolver needs to resolve
// memberships of the named organizations.
func gatherInput(ctx context.Context, c client.Reader, ns string, orgs ...string) (resolve.Input, error) {
	var in resolve.Input

	var envs orgrbacv1alpha1.EnvironmentList
	if err := c.List(ctx, &envs, client.InNamespace(ns), readOnly); err != nil {
		return in, fmt.Errorf("listing environments: %w", err)
	}
	for i := range envs.Items {
		if e := &envs.Items[i]; !deleting(e) {
			in.Environments = append(in.Environments, resolve.Environment{Meta: metaOf(e),
				DefaultRole: e.Spec.DefaultRole, RolePriority: e.Spec.RolePriority, MultipleRoles: e.Spec.MultipleRoles})
		}
	}

	var roles orgrbacv1alpha1.RoleList
	if err := c.List(ctx, &roles, client.InNamespace(ns), readOnly); err != nil {
		return in, fmt.Errorf("listing roles: %w", err)
	}
	in.Roles = make([]resolve.Role, 0, len(roles.Items))
	for i := range roles.Items {
		if r := &roles.Items[i]; !deleting(r) {
			in.Roles = append(in.Roles, resolve.Role{Meta: metaOf(r), Slug: r.EffectiveSlug(), Permissions: r.Spec.Permissions})
		}
	}

	for _, name := range orgs {
		var o orgrbacv1alpha1.Organization
		if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, &o); err != nil {
			if apierrors.IsNotFound(err) {
				continue
			}
			return in, fmt.Errorf("reading organization %s: %w", name, err)
		}
		if deleting(&o) {
			continue
		}
		in.Organizations = append(in.Organizations, resolve.Organization{Meta: metaOf(&o), ExternalID: o.Spec.ExternalID,
			DefaultRole: o.Spec.DefaultRole, RolePriority: o.Spec.RolePriority})

		var oroles orgrbacv1alpha1.OrganizationRoleList
		if err := c.List(ctx, &oroles, client.InNamespace(ns),
			client.MatchingFields{index.OrganizationRoleByOrganization: name}, readOnly); err != nil {
			return in, fmt.Errorf("listing organization roles of %s: %w", name, err)
		}
		for i := range oroles.Items {
			if r := &oroles.Items[i]; !deleting(r) {
				in.OrganizationRoles = append(in.OrganizationRoles, resolve.OrganizationRole{Meta: metaOf(r),
					Organization: r.Spec.Organization, Slug: r.Spec.Slug, Permissions: r.Spec.Permissions})
			}
		}

		var gms orgrbacv1alpha1.GroupMappingList
		if err := c.List(ctx, &gms, client.InNamespace(ns),
			client.MatchingFields{index.GroupMappingByOrganization: name}, readOnly); err != nil {
			return in, fmt.Errorf("listing group mappings of %s: %w", name, err)
		}
		for i := range gms.Items {
			if g := &gms.Items[i]; !deleting(g) {
				in.GroupMappings = append(in.GroupMappings, toResolveMapping(g))
			}
		}
	}
	return in, nil
}

func toResolveMapping(g *orgrbacv1alpha1.GroupMapping) resolve.GroupMapping {
	return resolve.GroupMapping{Meta: metaOf(g), Organization: g.Spec.Organization,
		Source: resolve.Source(g.Spec.Source), Group: g.Spec.Group, Role: g.Spec.Role}
}

func toResolveMembership(m *orgrbacv1alpha1.Membership) resolve.Membership {
	return resolve.Membership{Meta: metaOf(m), Organization: m.Spec.Organization, User: m.Spec.User,
		Roles: m.Spec.Roles, DirectoryGroups: m.Spec.DirectoryGroups, SSOGroups: m.Spec.SSOGroups,
		State: resolve.State(m.Spec.State)}
}

// gatherNamespace reads everything the resolver needs to resolve any membership
// of namespace ns: every organization with its roles and mappings. With every
// organization's ids, the resolver finds the duplicates among them
// (resolve.IndexOrganizations), whose members get nothing.
func gatherNamespace(ctx context.Context, c client.Reader, ns string) (resolve.Input, error) {
	var orgs orgrbacv1alpha1.OrganizationList
	if err := c.List(ctx, &orgs, client.InNamespace(ns), readOnly); err != nil {
		return resolve.Input{}, fmt.Errorf("listing organizations: %w", err)
	}
	in, err := gatherInput(ctx, c, ns)
	if err != nil {
		return in, err
	}
	for i := range orgs.Items {
		if o := &orgs.Items[i]; !deleting(o) {
			in.Organizations = append(in.Organizations, resolve.Organization{Meta: metaOf(o), ExternalID: o.Spec.ExternalID,
				DefaultRole: o.Spec.DefaultRole, RolePriority: o.Spec.RolePriority})
		}
	}
	var oroles orgrbacv1alpha1.OrganizationRoleList
	if err := c.List(ctx, &oroles, client.InNamespace(ns), readOnly); err != nil {
		return in, fmt.Errorf("listing organization roles: %w", err)
	}
	for i := range oroles.Items {
		if r := &oroles.Items[i]; !deleting(r) {
			in.OrganizationRoles = append(in.OrganizationRoles, resolve.OrganizationRole{Meta: metaOf(r),
				Organization: r.Spec.Organization, Slug: r.Spec.Slug, Permissions: r.Spec.Permissions})
		}
	}
	var gms orgrbacv1alpha1.GroupMappingList
	if err := c.List(ctx, &gms, client.InNamespace(ns), readOnly); err != nil {
		return in, fmt.Errorf("listing group mappings: %w", err)
	}
	for i := range gms.Items {
		if g := &gms.Items[i]; !deleting(g) {
			in.GroupMappings = append(in.GroupMappings, toResolveMapping(g))
		}
	}
	return in, nil
}
