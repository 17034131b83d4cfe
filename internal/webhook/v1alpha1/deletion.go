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
)

// validateRoleDelete checks deleting the role t (obj). Every delete is allowed
// while the namespace is terminating, when an OrganizationRole's organization is
// being deleted or gone, and when another role keeps the slug. Otherwise a role
// used as a default needs a replacement annotation naming an existing role, and
// the warnings preview what the delete changes.
func (l *lookup) validateRoleDelete(ctx context.Context, t deleteTarget, obj client.Object) (admission.Warnings, error) {
	if terminating, err := l.namespaceTerminating(ctx, t.namespace); err != nil || terminating {
		return nil, err
	}
	if t.org != "" {
		org, err := l.organization(ctx, t.namespace, t.org)
		if err != nil || org == nil {
			return nil, err
		}
	}
	if kept, err := l.replacementExists(ctx, t.namespace, t.org, t.slug, obj); err != nil || kept {
		return nil, err
	}

	var p deletePreview
	repl := obj.GetAnnotations()[orgrbacv1alpha1.AnnotationReplacementRole]
	if repl != "" && repl != t.slug {
		ok, err := l.replacementExists(ctx, t.namespace, t.org, repl, obj)
		if err != nil {
			return nil, err
		}
		if ok {
			p.replacement = repl
		}
	}
	var err error
	if p.defaultOf, p.noEnvironment, err = l.defaultUsers(ctx, t); err != nil {
		return nil, err
	}
	if len(p.defaultOf) > 0 && p.replacement == "" {
		bad := ""
		if repl != "" {
			bad = repl
		}
		return nil, errors.New(deleteDeniedMessage(t, p.defaultOf, bad))
	}
	if err := l.countUsers(ctx, t, &p); err != nil {
		return nil, err
	}
	return previewWarnings(t, p), nil
}

// replacementExists reports whether a role other than self, not being deleted,
// has slug and is visible to org: a Role (any organization when org is empty), or
// an OrganizationRole of org.
func (l *lookup) replacementExists(ctx context.Context, ns, org, slug string, self client.Object) (bool, error) {
	roles, err := l.roles(ctx, ns, slug)
	if err != nil {
		return false, err
	}
	for i := range roles {
		if roles[i].UID != self.GetUID() {
			return true, nil
		}
	}
	if org == "" {
		return false, nil
	}
	oroles, err := l.orgRoles(ctx, ns, org)
	if err != nil {
		return false, err
	}
	for i := range oroles {
		if oroles[i].Spec.Slug == slug && oroles[i].UID != self.GetUID() {
			return true, nil
		}
	}
	return false, nil
}

// defaultUsers returns who uses t as default role, sorted: Environments naming it
// as defaultRole, the environment when t is the implicit default `member` (no
// Environment names a default), and Organizations naming it as defaultRole.
// noEnvironment is true when t is the implicit default and no Environment exists.
func (l *lookup) defaultUsers(ctx context.Context, t deleteTarget) (users []string, noEnvironment bool, err error) {
	if t.org == "" {
		envs, err := l.environments(ctx, t.namespace)
		if err != nil {
			return nil, false, err
		}
		named := false
		for i := range envs {
			if d := envs[i].Spec.DefaultRole; d != "" {
				named = true
				if d == t.slug {
					users = append(users, fmt.Sprintf("Environment %q", envs[i].Name))
				}
			}
		}
		if !named && t.slug == orgrbacv1alpha1.DefaultRoleSlug {
			users = append(users, fmt.Sprintf("the environment (no Environment sets spec.defaultRole, so %q is the default)", t.slug))
			noEnvironment = len(envs) == 0
		}
	}
	var orgs orgrbacv1alpha1.OrganizationList
	if err := l.c.List(ctx, &orgs, client.InNamespace(t.namespace), readOnly,
		client.MatchingFields{index.OrganizationByRoleRef: t.slug}); err != nil {
		return nil, false, fmt.Errorf("listing organizations naming %s: %w", t.slug, err)
	}
	var orgUsers []string
	for i := range orgs.Items {
		o := &orgs.Items[i]
		if !deleting(o) && o.Spec.DefaultRole == t.slug && (t.org == "" || o.Name == t.org) {
			orgUsers = append(orgUsers, fmt.Sprintf("Organization %q", o.Name))
		}
	}
	slices.Sort(orgUsers)
	return append(users, orgUsers...), noEnvironment, nil
}

// countUsers counts the memberships naming or holding t and the group mappings
// mapping to it.
func (l *lookup) countUsers(ctx context.Context, t deleteTarget, p *deletePreview) error {
	var ms orgrbacv1alpha1.MembershipList
	if err := l.c.List(ctx, &ms, client.InNamespace(t.namespace), readOnly,
		client.MatchingFields{index.MembershipByRoleRef: t.slug}); err != nil {
		return fmt.Errorf("listing memberships naming %s: %w", t.slug, err)
	}
	for i := range ms.Items {
		m := &ms.Items[i]
		if deleting(m) || (t.org != "" && m.Spec.Organization != t.org) {
			continue
		}
		switch {
		case slices.Contains(m.Spec.Roles, t.slug):
			p.named++
		case m.Status.Source == orgrbacv1alpha1.SourceDefault && slices.Contains(m.Status.Roles, t.slug):
			p.byDefault++
		}
	}
	var gms orgrbacv1alpha1.GroupMappingList
	if err := l.c.List(ctx, &gms, client.InNamespace(t.namespace), readOnly,
		client.MatchingFields{index.GroupMappingByRole: t.slug}); err != nil {
		return fmt.Errorf("listing group mappings naming %s: %w", t.slug, err)
	}
	for i := range gms.Items {
		if g := &gms.Items[i]; !deleting(g) && (t.org == "" || g.Spec.Organization == t.org) {
			p.mappings++
		}
	}
	return nil
}
