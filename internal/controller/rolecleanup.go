package controller

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/index"
)

// roleCleanup holds the orgrbac.dev/role-cleanup finalizer on Roles and
// OrganizationRoles. It adds the finalizer to every role; when a role is deleted,
// it moves every reference to the role to its replacement (the
// orgrbac.dev/replacement-role annotation) or removes it, and only then removes
// the finalizer. Every step re-derives its work from the world, so a pass that
// stops half-way (an error, a restart) is finished by the next one. This file
// holds the gate (whether anything must move) and the finalizer;
// rolecleanup_movers.go the steps that move the references.
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
