package v1alpha1

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/index"
	"github.com/orgrbac/orgrbac/internal/resolve"
)

// EnvironmentValidator denies a second Environment in a namespace and warns about
// unknown role slugs in defaultRole and rolePriority.
type EnvironmentValidator struct{ l *lookup }

// ValidateCreate denies a duplicate and warns about unknown slugs.
func (v *EnvironmentValidator) ValidateCreate(ctx context.Context, e *orgrbacv1alpha1.Environment) (admission.Warnings, error) {
	ns := namespaceOf(ctx, e)
	envs, err := v.l.environments(ctx, ns)
	if err != nil {
		return nil, err
	}
	for i := range envs {
		if envs[i].Name != e.Name {
			return nil, fmt.Errorf("environment %q already exists in namespace %q: one namespace is one environment, edit that one instead",
				envs[i].Name, ns)
		}
	}
	return v.warnings(ctx, e)
}

// ValidateUpdate warns about unknown slugs.
func (v *EnvironmentValidator) ValidateUpdate(ctx context.Context, _, e *orgrbacv1alpha1.Environment) (admission.Warnings, error) {
	return v.warnings(ctx, e)
}

// ValidateDelete allows every delete.
func (v *EnvironmentValidator) ValidateDelete(context.Context, *orgrbacv1alpha1.Environment) (admission.Warnings, error) {
	return nil, nil
}

func (v *EnvironmentValidator) warnings(ctx context.Context, e *orgrbacv1alpha1.Environment) (admission.Warnings, error) {
	known, err := v.l.slugs(ctx, namespaceOf(ctx, e), "")
	if err != nil {
		return nil, err
	}
	return priorityWarnings(known, "", e.Spec.DefaultRole, e.Spec.RolePriority), nil
}

// priorityWarnings warns about a defaultRole and rolePriority entries naming no
// known slug.
func priorityWarnings(known map[string]bool, org, def string, priority []string) admission.Warnings {
	var w admission.Warnings
	if u := unknown([]string{def}, known); len(u) > 0 {
		w = append(w, unknownRolesWarning("spec.defaultRole", org, u))
	}
	if u := unknown(priority, known); len(u) > 0 {
		w = append(w, unknownRolesWarning("spec.rolePriority", org, u))
	}
	return w
}

// OrganizationValidator denies an Organization whose name or externalID is
// another organization's name or externalID, and warns about unknown role slugs
// in defaultRole and rolePriority.
type OrganizationValidator struct{ l *lookup }

// ValidateCreate denies a colliding id and warns about unknown slugs.
func (v *OrganizationValidator) ValidateCreate(ctx context.Context, o *orgrbacv1alpha1.Organization) (admission.Warnings, error) {
	if err := v.collision(ctx, o, o.Name, o.Spec.ExternalID); err != nil {
		return nil, err
	}
	return v.warnings(ctx, o)
}

// ValidateUpdate denies a new externalID that collides and warns about unknown
// slugs. An unchanged externalID is allowed even when it collides (a race past
// this webhook, settled by the controller), so that either organization can
// still be fixed.
func (v *OrganizationValidator) ValidateUpdate(ctx context.Context, old, o *orgrbacv1alpha1.Organization) (admission.Warnings, error) {
	if o.Spec.ExternalID != old.Spec.ExternalID {
		if err := v.collision(ctx, o, "", o.Spec.ExternalID); err != nil {
			return nil, err
		}
	}
	return v.warnings(ctx, o)
}

// collision returns the denial of o when another organization (not being
// deleted) holds name or externalID (when not empty) as its name or externalID.
func (v *OrganizationValidator) collision(ctx context.Context, o *orgrbacv1alpha1.Organization, name, externalID string) error {
	ns := namespaceOf(ctx, o)
	for _, c := range []struct{ field, key string }{{resolve.FieldName, name}, {resolve.FieldExternalID, externalID}} {
		if c.key == "" {
			continue
		}
		var others orgrbacv1alpha1.OrganizationList
		if err := v.l.c.List(ctx, &others, client.InNamespace(ns), readOnly,
			client.MatchingFields{index.OrganizationByID: c.key}); err != nil {
			return fmt.Errorf("listing organizations with id %s: %w", c.key, err)
		}
		for i := range others.Items {
			p := &others.Items[i]
			if p.Name == o.Name || deleting(p) {
				continue
			}
			held := resolve.FieldExternalID
			if p.Name == c.key {
				held = resolve.FieldName
			}
			return errors.New(organizationIDDenial(c.field, c.key, p.Name, held))
		}
	}
	return nil
}

// ValidateDelete allows every delete (garbage collection removes what it owns).
func (v *OrganizationValidator) ValidateDelete(context.Context, *orgrbacv1alpha1.Organization) (admission.Warnings, error) {
	return nil, nil
}

func (v *OrganizationValidator) warnings(ctx context.Context, o *orgrbacv1alpha1.Organization) (admission.Warnings, error) {
	known, err := v.l.slugs(ctx, namespaceOf(ctx, o), o.Name)
	if err != nil {
		return nil, err
	}
	return priorityWarnings(known, o.Name, o.Spec.DefaultRole, o.Spec.RolePriority), nil
}

// MembershipValidator denies a second Membership for the same (organization,
// user) and warns about an unknown organization, unknown role slugs, and several
// roles in a single-role environment.
type MembershipValidator struct{ l *lookup }

// ValidateCreate denies a duplicate and warns about references.
func (v *MembershipValidator) ValidateCreate(ctx context.Context, m *orgrbacv1alpha1.Membership) (admission.Warnings, error) {
	ns := namespaceOf(ctx, m)
	var peers orgrbacv1alpha1.MembershipList
	if err := v.l.c.List(ctx, &peers, client.InNamespace(ns), readOnly,
		client.MatchingFields{index.MembershipByOrgUser: index.OrgUserKey(m.Spec.Organization, m.Spec.User)}); err != nil {
		return nil, fmt.Errorf("listing memberships of user %s: %w", m.Spec.User, err)
	}
	for i := range peers.Items {
		if p := &peers.Items[i]; p.Name != m.Name && !deleting(p) {
			return nil, fmt.Errorf("membership %q already exists for user %q in organization %q: a user has one membership per organization, edit that one instead",
				p.Name, m.Spec.User, m.Spec.Organization)
		}
	}
	return v.warnings(ctx, m)
}

// ValidateUpdate warns about references.
func (v *MembershipValidator) ValidateUpdate(ctx context.Context, _, m *orgrbacv1alpha1.Membership) (admission.Warnings, error) {
	return v.warnings(ctx, m)
}

// ValidateDelete allows every delete.
func (v *MembershipValidator) ValidateDelete(context.Context, *orgrbacv1alpha1.Membership) (admission.Warnings, error) {
	return nil, nil
}

func (v *MembershipValidator) warnings(ctx context.Context, m *orgrbacv1alpha1.Membership) (admission.Warnings, error) {
	ns := namespaceOf(ctx, m)
	var w admission.Warnings
	org, err := v.l.organization(ctx, ns, m.Spec.Organization)
	if err != nil {
		return nil, err
	}
	if org == nil {
		w = append(w, unknownOrganizationWarning("membership", m.Spec.Organization))
	}
	if len(m.Spec.Roles) > 0 {
		known, err := v.l.slugs(ctx, ns, m.Spec.Organization)
		if err != nil {
			return nil, err
		}
		if u := unknown(m.Spec.Roles, known); len(u) > 0 {
			w = append(w, unknownRolesWarning("spec.roles", m.Spec.Organization, u))
		}
	}
	if distinct := slices.Compact(slices.Sorted(slices.Values(m.Spec.Roles))); len(distinct) > 1 {
		multiple, err := v.l.multipleRoles(ctx, ns)
		if err != nil {
			return nil, err
		}
		if !multiple {
			w = append(w, tooManyRolesWarning(m.Spec.Roles))
		}
	}
	return w, nil
}

// GroupMappingValidator warns about an unknown organization or role.
type GroupMappingValidator struct{ l *lookup }

// ValidateCreate warns about references.
func (v *GroupMappingValidator) ValidateCreate(ctx context.Context, g *orgrbacv1alpha1.GroupMapping) (admission.Warnings, error) {
	return v.warnings(ctx, g)
}

// ValidateUpdate warns about references.
func (v *GroupMappingValidator) ValidateUpdate(ctx context.Context, _, g *orgrbacv1alpha1.GroupMapping) (admission.Warnings, error) {
	return v.warnings(ctx, g)
}

// ValidateDelete allows every delete.
func (v *GroupMappingValidator) ValidateDelete(context.Context, *orgrbacv1alpha1.GroupMapping) (admission.Warnings, error) {
	return nil, nil
}

func (v *GroupMappingValidator) warnings(ctx context.Context, g *orgrbacv1alpha1.GroupMapping) (admission.Warnings, error) {
	ns := namespaceOf(ctx, g)
	var w admission.Warnings
	org, err := v.l.organization(ctx, ns, g.Spec.Organization)
	if err != nil {
		return nil, err
	}
	if org == nil {
		w = append(w, unknownOrganizationWarning("group mapping", g.Spec.Organization))
	}
	known, err := v.l.slugs(ctx, ns, g.Spec.Organization)
	if err != nil {
		return nil, err
	}
	if u := unknown([]string{g.Spec.Role}, known); len(u) > 0 {
		w = append(w, unknownRolesWarning("spec.role", g.Spec.Organization, u))
	}
	return w, nil
}

// RoleValidator denies a second Role with one slug and deleting a default role
// without a replacement; it warns about undeclared permissions, an unknown
// replacement, and previews what a delete changes.
type RoleValidator struct{ l *lookup }

// ValidateCreate denies a duplicate slug and warns about references.
func (v *RoleValidator) ValidateCreate(ctx context.Context, r *orgrbacv1alpha1.Role) (admission.Warnings, error) {
	ns, slug := namespaceOf(ctx, r), r.EffectiveSlug()
	same, err := v.l.roles(ctx, ns, slug)
	if err != nil {
		return nil, err
	}
	for i := range same {
		if same[i].Name != r.Name {
			return nil, fmt.Errorf("role %q already has the slug %q: role slugs are unique in an environment, edit that one instead",
				same[i].Name, slug)
		}
	}
	return v.warnings(ctx, r)
}

// ValidateUpdate warns about references.
func (v *RoleValidator) ValidateUpdate(ctx context.Context, _, r *orgrbacv1alpha1.Role) (admission.Warnings, error) {
	return v.warnings(ctx, r)
}

// ValidateDelete denies deleting a default role without a replacement and
// previews the effect of a delete.
func (v *RoleValidator) ValidateDelete(ctx context.Context, r *orgrbacv1alpha1.Role) (admission.Warnings, error) {
	return v.l.validateRoleDelete(ctx, deleteTarget{kind: "Role", resource: "roles", name: r.Name,
		namespace: namespaceOf(ctx, r), slug: r.EffectiveSlug()}, r)
}

func (v *RoleValidator) warnings(ctx context.Context, r *orgrbacv1alpha1.Role) (admission.Warnings, error) {
	ns := namespaceOf(ctx, r)
	w, err := v.l.permissionWarnings(ctx, ns, r.Spec.Permissions)
	if err != nil {
		return nil, err
	}
	rw, err := v.l.replacementWarning(ctx, ns, "", r)
	return append(w, rw...), err
}

// OrganizationRoleValidator denies a second OrganizationRole with one slug in an
// organization and deleting its organization's default role without a
// replacement; it warns about an unknown organization, undeclared permissions, an
// unknown replacement, and previews what a delete changes.
type OrganizationRoleValidator struct{ l *lookup }

// ValidateCreate denies a duplicate slug and warns about references.
func (v *OrganizationRoleValidator) ValidateCreate(ctx context.Context, r *orgrbacv1alpha1.OrganizationRole) (admission.Warnings, error) {
	ns := namespaceOf(ctx, r)
	siblings, err := v.l.orgRoles(ctx, ns, r.Spec.Organization)
	if err != nil {
		return nil, err
	}
	for i := range siblings {
		if s := &siblings[i]; s.Name != r.Name && s.Spec.Slug == r.Spec.Slug {
			return nil, fmt.Errorf("organization role %q already has the slug %q in organization %q: slugs are unique within an organization, edit that one instead",
				s.Name, r.Spec.Slug, r.Spec.Organization)
		}
	}
	return v.warnings(ctx, r)
}

// ValidateUpdate warns about references.
func (v *OrganizationRoleValidator) ValidateUpdate(ctx context.Context, _, r *orgrbacv1alpha1.OrganizationRole) (admission.Warnings, error) {
	return v.warnings(ctx, r)
}

// ValidateDelete denies deleting the organization's default role without a
// replacement and previews the effect of a delete.
func (v *OrganizationRoleValidator) ValidateDelete(ctx context.Context, r *orgrbacv1alpha1.OrganizationRole) (admission.Warnings, error) {
	return v.l.validateRoleDelete(ctx, deleteTarget{kind: "OrganizationRole", resource: "organizationroles", name: r.Name,
		namespace: namespaceOf(ctx, r), slug: r.Spec.Slug, org: r.Spec.Organization}, r)
}

func (v *OrganizationRoleValidator) warnings(ctx context.Context, r *orgrbacv1alpha1.OrganizationRole) (admission.Warnings, error) {
	ns := namespaceOf(ctx, r)
	var w admission.Warnings
	org, err := v.l.organization(ctx, ns, r.Spec.Organization)
	if err != nil {
		return nil, err
	}
	if org == nil {
		w = append(w, unknownOrganizationWarning("organization role", r.Spec.Organization))
	}
	pw, err := v.l.permissionWarnings(ctx, ns, r.Spec.Permissions)
	if err != nil {
		return nil, err
	}
	rw, err := v.l.replacementWarning(ctx, ns, r.Spec.Organization, r)
	return append(append(w, pw...), rw...), err
}

// permissionWarnings warns about permissions no Permission declares, when the
// namespace has a Permission catalog.
func (l *lookup) permissionWarnings(ctx context.Context, ns string, perms []string) (admission.Warnings, error) {
	if len(perms) == 0 {
		return nil, nil
	}
	catalog, ok, err := l.permissionCatalog(ctx, ns)
	if err != nil || !ok {
		return nil, err
	}
	if u := unknown(perms, catalog); len(u) > 0 {
		return admission.Warnings{undeclaredPermissionsWarning(u)}, nil
	}
	return nil, nil
}

// replacementWarning warns when the replacement annotation names no role visible
// to org (any organization when org is empty).
func (l *lookup) replacementWarning(ctx context.Context, ns, org string, r client.Object) (admission.Warnings, error) {
	repl := r.GetAnnotations()[orgrbacv1alpha1.AnnotationReplacementRole]
	if repl == "" {
		return nil, nil
	}
	ok, err := l.replacementExists(ctx, ns, org, repl, r)
	if err != nil || ok {
		return nil, err
	}
	t := deleteTarget{org: org}
	return admission.Warnings{fmt.Sprintf("annotation %s names %q, which is not %s (yet): deleting this role would be denied, or, if allowed, remove its references instead of moving them",
		orgrbacv1alpha1.AnnotationReplacementRole, repl, t.replacementHint())}, nil
}
