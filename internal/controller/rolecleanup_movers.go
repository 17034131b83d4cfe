package controller

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/index"
)

// The movers of the role-cleanup finalizer: once the gate in rolecleanup.go has
// decided that a deleted role's references must move, they rewrite every object
// naming it, each step re-deriving its work from the world.

// Event reasons of the role-cleanup finalizer.
const (
	// eventRoleReplaced: an object that named a deleted role now names its replacement.
	eventRoleReplaced = "RoleReplaced"
	// eventRoleRemoved: an object that named a deleted role no longer names it.
	eventRoleRemoved = "RoleRemoved"
	// eventRoleDeleted: a GroupMapping names a deleted role and was left as is.
	eventRoleDeleted = "RoleDeleted"
	// eventReplacementNotFound: the replacement annotation names no role.
	eventReplacementNotFound = "ReplacementNotFound"
)

// cleanupWorkers is how many memberships the finalizer rewrites at once.
const cleanupWorkers = 8

// replacement returns the slug named by the replacement annotation when it names
// an existing role visible where d is, and "" otherwise (the references are then
// removed).
func (rc *roleCleanup) replacement(ctx context.Context, d deletedRole) (string, error) {
	slug := d.obj.GetAnnotations()[orgrbacv1alpha1.AnnotationReplacementRole]
	if slug == "" || slug == d.slug {
		return "", nil
	}
	ok, err := rc.slugStillDefined(ctx, d, slug)
	if err != nil || ok {
		return slug, err
	}
	rc.recorder.Eventf(d.obj, nil, corev1.EventTypeWarning, eventReplacementNotFound, "Cleanup",
		"%s names %q, which is no role here: references to %q are removed instead",
		orgrbacv1alpha1.AnnotationReplacementRole, slug, d.slug)
	return "", nil
}

// moveReferences runs the finalizer's steps in order: defaults and priority lists,
// memberships, group mappings. It returns an error, and the finalizer stays, when
// any object could not be changed.
func (rc *roleCleanup) moveReferences(ctx context.Context, d deletedRole) error {
	repl, err := rc.replacement(ctx, d)
	if err != nil {
		return err
	}
	log.FromContext(ctx).Info("Moving references to a deleted role", "role", d.slug, "replacement", repl)
	if d.org == "" {
		if err := rc.moveEnvironments(ctx, d, repl); err != nil {
			return err
		}
	}
	if err := rc.moveOrganizations(ctx, d, repl); err != nil {
		return err
	}
	if err := rc.moveMemberships(ctx, d, repl); err != nil {
		return err
	}
	return rc.moveGroupMappings(ctx, d, repl)
}

// moveEnvironments rewrites the environment's defaultRole and rolePriority. When
// the deleted Role is the implicit default (`member`, and no Environment names a
// default), the replacement becomes the oldest Environment's defaultRole, so the
// members who had the default keep one.
func (rc *roleCleanup) moveEnvironments(ctx context.Context, d deletedRole, repl string) error {
	var envs orgrbacv1alpha1.EnvironmentList
	if err := rc.client.List(ctx, &envs, client.InNamespace(d.obj.GetNamespace())); err != nil {
		return fmt.Errorf("listing environments: %w", err)
	}
	implicit := d.slug == orgrbacv1alpha1.DefaultRoleSlug && repl != ""
	for i := range envs.Items {
		if envs.Items[i].Spec.DefaultRole != "" {
			implicit = false
		}
	}
	winner := oldest(envs.Items, func(e *orgrbacv1alpha1.Environment) metav1.Object { return e })
	var errs []error
	for i := range envs.Items {
		e := &envs.Items[i]
		if deleting(e) {
			continue
		}
		errs = append(errs, rc.moveDefaultAndPriority(ctx, e, &e.Spec.DefaultRole, &e.Spec.RolePriority, d, repl,
			implicit && e.Name == winner))
	}
	return errors.Join(errs...)
}

// moveOrganizations rewrites the defaultRole and rolePriority of the organizations
// naming the role (only the role's own organization for an OrganizationRole).
func (rc *roleCleanup) moveOrganizations(ctx context.Context, d deletedRole, repl string) error {
	var orgs orgrbacv1alpha1.OrganizationList
	if err := rc.client.List(ctx, &orgs, client.InNamespace(d.obj.GetNamespace()),
		client.MatchingFields{index.OrganizationByRoleRef: d.slug}); err != nil {
		return fmt.Errorf("listing organizations naming %s: %w", d.slug, err)
	}
	var errs []error
	for i := range orgs.Items {
		o := &orgs.Items[i]
		if deleting(o) || (d.org != "" && o.Name != d.org) {
			continue
		}
		errs = append(errs, rc.moveDefaultAndPriority(ctx, o, &o.Spec.DefaultRole, &o.Spec.RolePriority, d, repl, false))
	}
	return errors.Join(errs...)
}

// moveDefaultAndPriority is the one rewrite Environments and Organizations share:
// obj's defaultRole (def) and rolePriority (prio), which point into obj's spec,
// stop naming the deleted role, and obj is patched when either changed.
// replDefault makes the replacement obj's defaultRole whatever it was (the
// implicit default, see moveEnvironments).
func (rc *roleCleanup) moveDefaultAndPriority(ctx context.Context, obj client.Object, def *string, prio *[]string,
	d deletedRole, repl string, replDefault bool) error {
	orig, _ := obj.DeepCopyObject().(client.Object)
	newDef, defChanged := replaceDefault(*def, d.slug, repl)
	if replDefault {
		newDef, defChanged = repl, true
	}
	newPrio, prioChanged := replaceSlug(*prio, d.slug, repl)
	if !defChanged && !prioChanged {
		return nil
	}
	*def, *prio = newDef, newPrio
	return rc.patch(ctx, obj, orig, d, repl, changedFields(defChanged, prioChanged))
}

func changedFields(def, prio bool) string {
	switch {
	case def && prio:
		return "spec.defaultRole and spec.rolePriority"
	case def:
		return "spec.defaultRole"
	default:
		return "spec.rolePriority"
	}
}

// moveMemberships rewrites spec.roles of every membership naming the role (in the
// role's organization for an OrganizationRole), a few at a time, and records the
// removed slug in the orgrbac.dev/removed-roles annotation.
func (rc *roleCleanup) moveMemberships(ctx context.Context, d deletedRole, repl string) error {
	var list orgrbacv1alpha1.MembershipList
	if err := rc.client.List(ctx, &list, client.InNamespace(d.obj.GetNamespace()),
		client.MatchingFields{index.MembershipByRoleRef: d.slug}); err != nil {
		return fmt.Errorf("listing memberships naming %s: %w", d.slug, err)
	}
	var todo []*orgrbacv1alpha1.Membership
	for i := range list.Items {
		m := &list.Items[i]
		if !deleting(m) && (d.org == "" || m.Spec.Organization == d.org) && slices.Contains(m.Spec.Roles, d.slug) {
			todo = append(todo, m)
		}
	}
	// One membership failing does not stop the others: each keeps its own error
	// (so no errgroup.WithContext, which would cancel the rest), and all of them
	// are returned together. Only a cancelled ctx stops starting new rewrites.
	errs := make([]error, len(todo), len(todo)+1)
	var g errgroup.Group
	g.SetLimit(cleanupWorkers)
	for i, m := range todo {
		if ctx.Err() != nil {
			break
		}
		g.Go(func() error {
			errs[i] = rc.moveMembership(ctx, m, d, repl)
			return nil
		})
	}
	_ = g.Wait() // the goroutines return nil; their errors are in errs
	errs = append(errs, ctx.Err())
	return errors.Join(errs...)
}

// moveMembership rewrites one membership; after a conflict it re-reads it from
// the API server and tries again.
func (rc *roleCleanup) moveMembership(ctx context.Context, m *orgrbacv1alpha1.Membership, d deletedRole, repl string) error {
	key, first := client.ObjectKeyFromObject(m), true
	return retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		if !first {
			m = &orgrbacv1alpha1.Membership{}
			if err := rc.apiReader.Get(ctx, key, m); err != nil {
				return client.IgnoreNotFound(err)
			}
		}
		first = false
		if deleting(m) {
			return nil
		}
		roles, changed := replaceSlug(m.Spec.Roles, d.slug, repl)
		if !changed {
			return nil
		}
		orig := m.DeepCopy()
		m.Spec.Roles = roles
		if m.Annotations == nil {
			m.Annotations = map[string]string{}
		}
		m.Annotations[orgrbacv1alpha1.AnnotationRemovedRoles] = addRemovedRole(m.Annotations[orgrbacv1alpha1.AnnotationRemovedRoles], d.slug)
		return rc.patch(ctx, m, orig, d, repl, "spec.roles")
	})
}

// moveGroupMappings repoints the mappings naming the role to the replacement; with
// no replacement they are left as they are (their controller reports them
// Ready=False, RoleNotFound) and get a Warning event.
func (rc *roleCleanup) moveGroupMappings(ctx context.Context, d deletedRole, repl string) error {
	var gms orgrbacv1alpha1.GroupMappingList
	if err := rc.client.List(ctx, &gms, client.InNamespace(d.obj.GetNamespace()),
		client.MatchingFields{index.GroupMappingByRole: d.slug}); err != nil {
		return fmt.Errorf("listing group mappings naming %s: %w", d.slug, err)
	}
	var errs []error
	for i := range gms.Items {
		g := &gms.Items[i]
		if deleting(g) || (d.org != "" && g.Spec.Organization != d.org) {
			continue
		}
		if repl == "" {
			rc.recorder.Eventf(g, d.obj, corev1.EventTypeWarning, eventRoleDeleted, "Cleanup",
				"%s %q was deleted with no replacement: this mapping grants nothing until spec.role names an existing role",
				d.kind, d.slug)
			continue
		}
		orig := g.DeepCopy()
		g.Spec.Role = repl
		errs = append(errs, rc.patch(ctx, g, orig, d, repl, "spec.role"))
	}
	return errors.Join(errs...)
}

// patch writes obj with an optimistic lock and records an event on it.
func (rc *roleCleanup) patch(ctx context.Context, obj, orig client.Object, d deletedRole, repl, field string) error {
	if err := rc.client.Patch(ctx, obj, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("updating %s of %T %s: %w", field, obj, obj.GetName(), err)
	}
	reason := eventRoleReplaced
	if repl == "" {
		reason = eventRoleRemoved
	}
	rc.recorder.Eventf(obj, d.obj, corev1.EventTypeNormal, reason, "Cleanup",
		"%s in %s: %s %q was deleted", describeMove(d.slug, repl), field, d.kind, d.slug)
	return nil
}
