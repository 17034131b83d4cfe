package controller

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/index"
)

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

// roleCleanup holds the orgrbac.dev/role-cleanup finalizer on Roles and
// OrganizationRoles. It adds the finalizer to every role; when a role is deleted,
// it moves every reference to the role to its replacement (the
// orgrbac.dev/replacement-role annotation) or removes it, and only then removes
// the finalizer. Every step re-derives its work from the world, so a pass that
// stops half-way (an error, a restart) is finished by the next one.
type roleCleanup struct {
	client client.Client
	// apiReader reads namespaces (not cached) and re-reads objects after a conflict.
	apiReader client.Reader
	recorder  recorder.EventRecorder
}

// RoleCleanupReconciler runs the role-cleanup finalizer of Roles.
type RoleCleanupReconciler struct {
	Client    client.Client
	APIReader client.Reader
	Recorder  recorder.EventRecorder
}

// OrganizationRoleCleanupReconciler runs the role-cleanup finalizer of OrganizationRoles.
type OrganizationRoleCleanupReconciler struct {
	Client    client.Client
	APIReader client.Reader
	Recorder  recorder.EventRecorder
}

// deletedRole is a role whose references the finalizer moves.
type deletedRole struct {
	obj  client.Object
	kind string
	slug string
	// org is the organization of an OrganizationRole, "" for a Role.
	org string
}

// Reconcile adds the finalizer to a Role, or runs it when the Role is being deleted.
func (r *RoleCleanupReconciler) Reconcile(ctx context.Context, role *orgrbacv1alpha1.Role) (ctrl.Result, error) {
	rc := &roleCleanup{client: r.Client, apiReader: r.APIReader, recorder: r.Recorder}
	return rc.reconcile(ctx, deletedRole{obj: role, kind: "Role", slug: role.EffectiveSlug()})
}

// Reconcile adds the finalizer to an OrganizationRole, or runs it when the role is
// being deleted.
func (r *OrganizationRoleCleanupReconciler) Reconcile(ctx context.Context, role *orgrbacv1alpha1.OrganizationRole) (ctrl.Result, error) {
	rc := &roleCleanup{client: r.Client, apiReader: r.APIReader, recorder: r.Recorder}
	return rc.reconcile(ctx, deletedRole{obj: role, kind: "OrganizationRole", slug: role.Spec.Slug, org: role.Spec.Organization})
}

func (rc *roleCleanup) reconcile(ctx context.Context, d deletedRole) (ctrl.Result, error) {
	obj := d.obj
	if !deleting(obj) {
		if controllerutil.ContainsFinalizer(obj, orgrbacv1alpha1.FinalizerRoleCleanup) {
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, rc.setFinalizer(ctx, obj, true)
	}
	if !controllerutil.ContainsFinalizer(obj, orgrbacv1alpha1.FinalizerRoleCleanup) {
		return ctrl.Result{}, nil
	}

	skip, err := rc.nothingToMove(ctx, d)
	if err != nil {
		return ctrl.Result{}, err
	}
	if !skip {
		if err := rc.moveReferences(ctx, d); err != nil {
			return ctrl.Result{}, err
		}
	}
	// Last: the role goes once nothing names it any more.
	return ctrl.Result{}, rc.setFinalizer(ctx, obj, false)
}

// nothingToMove reports whether the references need not be moved: the namespace
// (or, for an OrganizationRole, its organization) is going away with everything
// in it, or another role with the same slug keeps the slug meaningful.
func (rc *roleCleanup) nothingToMove(ctx context.Context, d deletedRole) (bool, error) {
	ns := d.obj.GetNamespace()
	var namespace corev1.Namespace
	if err := rc.apiReader.Get(ctx, types.NamespacedName{Name: ns}, &namespace); err != nil {
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, fmt.Errorf("reading namespace %s: %w", ns, err)
	}
	if deleting(&namespace) {
		return true, nil
	}
	if d.org != "" {
		var org orgrbacv1alpha1.Organization
		if err := rc.client.Get(ctx, types.NamespacedName{Namespace: ns, Name: d.org}, &org); err != nil {
			if apierrors.IsNotFound(err) {
				return true, nil
			}
			return false, fmt.Errorf("reading organization %s: %w", d.org, err)
		}
		if deleting(&org) {
			return true, nil
		}
	}
	return rc.slugStillDefined(ctx, d, d.slug)
}

// slugStillDefined reports whether a role other than d, not being deleted, has
// slug and is visible where d is (any organization for a Role; d's organization,
// or the environment, for an OrganizationRole).
func (rc *roleCleanup) slugStillDefined(ctx context.Context, d deletedRole, slug string) (bool, error) {
	ns := d.obj.GetNamespace()
	var roles orgrbacv1alpha1.RoleList
	if err := rc.client.List(ctx, &roles, client.InNamespace(ns), client.MatchingFields{index.RoleBySlug: slug}, readOnly); err != nil {
		return false, fmt.Errorf("listing roles with slug %s: %w", slug, err)
	}
	for i := range roles.Items {
		r := &roles.Items[i]
		if !deleting(r) && (d.org != "" || r.UID != d.obj.GetUID()) {
			return true, nil
		}
	}
	if d.org == "" {
		return false, nil
	}
	var oroles orgrbacv1alpha1.OrganizationRoleList
	if err := rc.client.List(ctx, &oroles, client.InNamespace(ns),
		client.MatchingFields{index.OrganizationRoleByOrganization: d.org}, readOnly); err != nil {
		return false, fmt.Errorf("listing organization roles of %s: %w", d.org, err)
	}
	for i := range oroles.Items {
		r := &oroles.Items[i]
		if !deleting(r) && r.Spec.Slug == slug && r.UID != d.obj.GetUID() {
			return true, nil
		}
	}
	return false, nil
}

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
		orig := e.DeepCopy()
		def, defChanged := replaceDefault(e.Spec.DefaultRole, d.slug, repl)
		if implicit && e.Name == winner {
			def, defChanged = repl, true
		}
		prio, prioChanged := replaceSlug(e.Spec.RolePriority, d.slug, repl)
		if !defChanged && !prioChanged {
			continue
		}
		e.Spec.DefaultRole, e.Spec.RolePriority = def, prio
		errs = append(errs, rc.patch(ctx, e, orig, d, repl, changedFields(defChanged, prioChanged)))
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
		orig := o.DeepCopy()
		def, defChanged := replaceDefault(o.Spec.DefaultRole, d.slug, repl)
		prio, prioChanged := replaceSlug(o.Spec.RolePriority, d.slug, repl)
		if !defChanged && !prioChanged {
			continue
		}
		o.Spec.DefaultRole, o.Spec.RolePriority = def, prio
		errs = append(errs, rc.patch(ctx, o, orig, d, repl, changedFields(defChanged, prioChanged)))
	}
	return errors.Join(errs...)
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
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
		work = make(chan *orgrbacv1alpha1.Membership)
	)
	for range min(cleanupWorkers, len(todo)) {
		wg.Go(func() {
			for m := range work {
				if err := rc.moveMembership(ctx, m, d, repl); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		})
	}
	for _, m := range todo {
		if ctx.Err() != nil {
			break
		}
		work <- m
	}
	close(work)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		errs = append(errs, err)
	}
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

// setFinalizer adds (to a role not being deleted) or removes the finalizer with
// an optimistic lock; after a conflict (a status write, another finalizer) it
// re-reads the role from the API server and tries again.
func (rc *roleCleanup) setFinalizer(ctx context.Context, obj client.Object, add bool) error {
	first := true
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if !first {
			if err := rc.apiReader.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
				return err
			}
		}
		first = false
		orig, _ := obj.DeepCopyObject().(client.Object)
		var changed bool
		if add {
			changed = !deleting(obj) && controllerutil.AddFinalizer(obj, orgrbacv1alpha1.FinalizerRoleCleanup)
		} else {
			changed = controllerutil.RemoveFinalizer(obj, orgrbacv1alpha1.FinalizerRoleCleanup)
		}
		if !changed {
			return nil
		}
		return rc.client.Patch(ctx, obj, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{}))
	})
	if err := client.IgnoreNotFound(err); err != nil {
		return fmt.Errorf("updating the finalizers of %T %s: %w", obj, obj.GetName(), err)
	}
	return nil
}

// needsCleanup passes the events after which the finalizer has something to do:
// a role without the finalizer, or a role being deleted.
var needsCleanup = predicate.Funcs{
	CreateFunc: func(e event.CreateEvent) bool { return cleanupPending(e.Object) },
	UpdateFunc: func(e event.UpdateEvent) bool { return cleanupPending(e.ObjectNew) },
	DeleteFunc: func(event.DeleteEvent) bool { return false },
}

func cleanupPending(o client.Object) bool {
	return deleting(o) || !controllerutil.ContainsFinalizer(o, orgrbacv1alpha1.FinalizerRoleCleanup)
}

// SetupWithManager registers the controller.
func (r *RoleCleanupReconciler) SetupWithManager(mgr ctrl.Manager, opts controller.Options) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named("rolecleanup").
		For(&orgrbacv1alpha1.Role{}, builder.WithPredicates(needsCleanup)).
		WithOptions(opts).
		Complete(reconcile.AsReconciler(r.Client, r))
}

// SetupWithManager registers the controller.
func (r *OrganizationRoleCleanupReconciler) SetupWithManager(mgr ctrl.Manager, opts controller.Options) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named("organizationrolecleanup").
		For(&orgrbacv1alpha1.OrganizationRole{}, builder.WithPredicates(needsCleanup)).
		WithOptions(opts).
		Complete(reconcile.AsReconciler(r.Client, r))
}

var (
	_ reconcile.ObjectReconciler[*orgrbacv1alpha1.Role]             = (*RoleCleanupReconciler)(nil)
	_ reconcile.ObjectReconciler[*orgrbacv1alpha1.OrganizationRole] = (*OrganizationRoleCleanupReconciler)(nil)
)
