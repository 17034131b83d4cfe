// Package v1alpha1 holds the admission webhooks of the orgrbac.dev kinds. The
// validating ones deny creating duplicates and deleting a default role without a
// replacement, and warn (without denying) about references to objects that do not
// exist yet, so that manifests can be applied in any order. The mutating ones
// (owner.go) give a new Membership, OrganizationRole or GroupMapping its
// Organization's ownerReference, and never deny.
//
// The webhooks read the manager's cache through the field indexes of
// internal/index, which must be registered (index.Setup) before Setup.
package v1alpha1

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/index"
	"github.com/orgrbac/orgrbac/internal/resolve"
)

// The webhook configuration, generated into config/webhook/manifests.yaml. Create
// and update are checked with failurePolicy Fail. Deletes of Roles and
// OrganizationRoles are checked by separate entries with failurePolicy Ignore: the
// check only guards against a mistake (the finalizer still fails closed), and it
// must never make namespace deletion or uninstalling depend on the manager.
//
// +kubebuilder:webhook:path=/validate-orgrbac-dev-v1alpha1-environment,mutating=false,failurePolicy=fail,sideEffects=None,groups=orgrbac.dev,resources=environments,verbs=create;update,versions=v1alpha1,name=venvironment.orgrbac.dev,admissionReviewVersions=v1,timeoutSeconds=10
// +kubebuilder:webhook:path=/validate-orgrbac-dev-v1alpha1-organization,mutating=false,failurePolicy=fail,sideEffects=None,groups=orgrbac.dev,resources=organizations,verbs=create;update,versions=v1alpha1,name=vorganization.orgrbac.dev,admissionReviewVersions=v1,timeoutSeconds=10
// +kubebuilder:webhook:path=/validate-orgrbac-dev-v1alpha1-membership,mutating=false,failurePolicy=fail,sideEffects=None,groups=orgrbac.dev,resources=memberships,verbs=create;update,versions=v1alpha1,name=vmembership.orgrbac.dev,admissionReviewVersions=v1,timeoutSeconds=10
// +kubebuilder:webhook:path=/validate-orgrbac-dev-v1alpha1-groupmapping,mutating=false,failurePolicy=fail,sideEffects=None,groups=orgrbac.dev,resources=groupmappings,verbs=create;update,versions=v1alpha1,name=vgroupmapping.orgrbac.dev,admissionReviewVersions=v1,timeoutSeconds=10
// +kubebuilder:webhook:path=/validate-orgrbac-dev-v1alpha1-role,mutating=false,failurePolicy=fail,sideEffects=None,groups=orgrbac.dev,resources=roles,verbs=create;update,versions=v1alpha1,name=vrole.orgrbac.dev,admissionReviewVersions=v1,timeoutSeconds=10
// +kubebuilder:webhook:path=/validate-orgrbac-dev-v1alpha1-role,mutating=false,failurePolicy=ignore,sideEffects=None,groups=orgrbac.dev,resources=roles,verbs=delete,versions=v1alpha1,name=vrole-delete.orgrbac.dev,admissionReviewVersions=v1,timeoutSeconds=5
// +kubebuilder:webhook:path=/validate-orgrbac-dev-v1alpha1-organizationrole,mutating=false,failurePolicy=fail,sideEffects=None,groups=orgrbac.dev,resources=organizationroles,verbs=create;update,versions=v1alpha1,name=vorganizationrole.orgrbac.dev,admissionReviewVersions=v1,timeoutSeconds=10
// +kubebuilder:webhook:path=/validate-orgrbac-dev-v1alpha1-organizationrole,mutating=false,failurePolicy=ignore,sideEffects=None,groups=orgrbac.dev,resources=organizationroles,verbs=delete,versions=v1alpha1,name=vorganizationrole-delete.orgrbac.dev,admissionReviewVersions=v1,timeoutSeconds=5

// Setup registers the validating and mutating webhooks with the manager's webhook
// server.
func Setup(mgr ctrl.Manager) error {
	l := &lookup{c: mgr.GetClient(), apiReader: mgr.GetAPIReader()}
	for kind, err := range map[string]error{
		"Environment":      ctrl.NewWebhookManagedBy(mgr, &orgrbacv1alpha1.Environment{}).WithValidator(&EnvironmentValidator{l}).Complete(),
		"Organization":     ctrl.NewWebhookManagedBy(mgr, &orgrbacv1alpha1.Organization{}).WithValidator(&OrganizationValidator{l}).Complete(),
		"Membership":       ctrl.NewWebhookManagedBy(mgr, &orgrbacv1alpha1.Membership{}).WithValidator(&MembershipValidator{l}).Complete(),
		"GroupMapping":     ctrl.NewWebhookManagedBy(mgr, &orgrbacv1alpha1.GroupMapping{}).WithValidator(&GroupMappingValidator{l}).Complete(),
		"Role":             ctrl.NewWebhookManagedBy(mgr, &orgrbacv1alpha1.Role{}).WithValidator(&RoleValidator{l}).Complete(),
		"OrganizationRole": ctrl.NewWebhookManagedBy(mgr, &orgrbacv1alpha1.OrganizationRole{}).WithValidator(&OrganizationRoleValidator{l}).Complete(),
		"Membership owner": registerOwner(mgr, &orgrbacv1alpha1.Membership{},
			&OrganizationOwner[*orgrbacv1alpha1.Membership]{l, membershipOrganization}),
		"OrganizationRole owner": registerOwner(mgr, &orgrbacv1alpha1.OrganizationRole{},
			&OrganizationOwner[*orgrbacv1alpha1.OrganizationRole]{l, organizationRoleOrganization}),
		"GroupMapping owner": registerOwner(mgr, &orgrbacv1alpha1.GroupMapping{},
			&OrganizationOwner[*orgrbacv1alpha1.GroupMapping]{l, groupMappingOrganization}),
	} {
		if err != nil {
			return fmt.Errorf("registering the %s webhook: %w", kind, err)
		}
	}
	return nil
}

// lookup reads what the validators need: orgrbac objects from the cache (through
// the field indexes), namespaces from the API server.
type lookup struct {
	c         client.Reader
	apiReader client.Reader
}

// readOnly: objects read from the cache are not copied and never modified here.
var readOnly = client.UnsafeDisableDeepCopy

func deleting(o metav1.Object) bool { return o.GetDeletionTimestamp() != nil }

// namespaceOf returns the namespace of obj, or of the admission request.
func namespaceOf(ctx context.Context, obj metav1.Object) string {
	if ns := obj.GetNamespace(); ns != "" {
		return ns
	}
	if req, err := admission.RequestFromContext(ctx); err == nil {
		return req.Namespace
	}
	return ""
}

// namespaceTerminating reports whether namespace ns is being deleted (or gone).
func (l *lookup) namespaceTerminating(ctx context.Context, ns string) (bool, error) {
	var n corev1.Namespace
	if err := l.apiReader.Get(ctx, types.NamespacedName{Name: ns}, &n); err != nil {
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, fmt.Errorf("reading namespace %s: %w", ns, err)
	}
	return deleting(&n) || n.Status.Phase == corev1.NamespaceTerminating, nil
}

// organization returns the named Organization, nil when it does not exist or is
// being deleted.
func (l *lookup) organization(ctx context.Context, ns, name string) (*orgrbacv1alpha1.Organization, error) {
	var o orgrbacv1alpha1.Organization
	if err := l.c.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, &o); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("reading organization %s: %w", name, err)
	}
	if deleting(&o) {
		return nil, nil
	}
	return &o, nil
}

// roles returns the Roles with slug (all Roles when slug is empty) that are not
// being deleted.
func (l *lookup) roles(ctx context.Context, ns, slug string) ([]orgrbacv1alpha1.Role, error) {
	opts := []client.ListOption{client.InNamespace(ns), readOnly}
	if slug != "" {
		opts = append(opts, client.MatchingFields{index.RoleBySlug: slug})
	}
	var list orgrbacv1alpha1.RoleList
	if err := l.c.List(ctx, &list, opts...); err != nil {
		return nil, fmt.Errorf("listing roles: %w", err)
	}
	out := list.Items[:0:0]
	for i := range list.Items {
		if !deleting(&list.Items[i]) {
			out = append(out, list.Items[i])
		}
	}
	return out, nil
}

// orgRoles returns the OrganizationRoles of org that are not being deleted.
func (l *lookup) orgRoles(ctx context.Context, ns, org string) ([]orgrbacv1alpha1.OrganizationRole, error) {
	var list orgrbacv1alpha1.OrganizationRoleList
	if err := l.c.List(ctx, &list, client.InNamespace(ns), readOnly,
		client.MatchingFields{index.OrganizationRoleByOrganization: org}); err != nil {
		return nil, fmt.Errorf("listing organization roles of %s: %w", org, err)
	}
	out := list.Items[:0:0]
	for i := range list.Items {
		if !deleting(&list.Items[i]) {
			out = append(out, list.Items[i])
		}
	}
	return out, nil
}

// slugs returns the role slugs visible to org: the environment's Roles, and org's
// OrganizationRoles when org is not empty.
func (l *lookup) slugs(ctx context.Context, ns, org string) (map[string]bool, error) {
	roles, err := l.roles(ctx, ns, "")
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(roles))
	for i := range roles {
		out[roles[i].EffectiveSlug()] = true
	}
	if org == "" {
		return out, nil
	}
	oroles, err := l.orgRoles(ctx, ns, org)
	if err != nil {
		return nil, err
	}
	for i := range oroles {
		out[oroles[i].Spec.Slug] = true
	}
	return out, nil
}

// environments returns the namespace's Environments that are not being deleted.
func (l *lookup) environments(ctx context.Context, ns string) ([]orgrbacv1alpha1.Environment, error) {
	var list orgrbacv1alpha1.EnvironmentList
	if err := l.c.List(ctx, &list, client.InNamespace(ns), readOnly); err != nil {
		return nil, fmt.Errorf("listing environments: %w", err)
	}
	out := list.Items[:0:0]
	for i := range list.Items {
		if !deleting(&list.Items[i]) {
			out = append(out, list.Items[i])
		}
	}
	return out, nil
}

// multipleRoles reports the multipleRoles setting of the namespace's oldest
// Environment (false, the default, when there is none).
func (l *lookup) multipleRoles(ctx context.Context, ns string) (bool, error) {
	envs, err := l.environments(ctx, ns)
	if err != nil {
		return false, err
	}
	i := resolve.Oldest(envs, func(e *orgrbacv1alpha1.Environment) (resolve.Meta, bool) {
		return resolve.Meta{Name: e.Name, Created: e.CreationTimestamp.Time}, true
	})
	return i >= 0 && envs[i].Spec.MultipleRoles, nil
}

// permissionCatalog returns the declared permission slugs, and false when there is
// no catalog (no Permission objects): then no permission is reported unknown.
func (l *lookup) permissionCatalog(ctx context.Context, ns string) (map[string]bool, bool, error) {
	var list orgrbacv1alpha1.PermissionList
	if err := l.c.List(ctx, &list, client.InNamespace(ns), readOnly); err != nil {
		return nil, false, fmt.Errorf("listing permissions: %w", err)
	}
	out := make(map[string]bool, len(list.Items))
	for i := range list.Items {
		if !deleting(&list.Items[i]) {
			out[list.Items[i].EffectiveSlug()] = true
		}
	}
	return out, len(out) > 0, nil
}
