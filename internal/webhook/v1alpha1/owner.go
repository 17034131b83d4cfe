package v1alpha1

import (
	"context"
	"strings"

	"github.com/go-logr/logr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
)

// The mutating webhooks, generated into config/webhook/manifests.yaml: on create,
// a Membership, OrganizationRole or GroupMapping gets the ownerReference to its
// Organization (Organization.AddOwnerReferenceTo), which saves the controller a
// second write per object. failurePolicy is Ignore: the reference is an
// optimisation, and the controllers add it to an object admitted without one
// (ensureOrganizationOwner in internal/controller), so the manager being
// unreachable must never block a create.
//
// +kubebuilder:webhook:path=/mutate-orgrbac-dev-v1alpha1-membership,mutating=true,failurePolicy=ignore,sideEffects=None,groups=orgrbac.dev,resources=memberships,verbs=create,versions=v1alpha1,name=mmembership.orgrbac.dev,admissionReviewVersions=v1,timeoutSeconds=5
// +kubebuilder:webhook:path=/mutate-orgrbac-dev-v1alpha1-organizationrole,mutating=true,failurePolicy=ignore,sideEffects=None,groups=orgrbac.dev,resources=organizationroles,verbs=create,versions=v1alpha1,name=morganizationrole.orgrbac.dev,admissionReviewVersions=v1,timeoutSeconds=5
// +kubebuilder:webhook:path=/mutate-orgrbac-dev-v1alpha1-groupmapping,mutating=true,failurePolicy=ignore,sideEffects=None,groups=orgrbac.dev,resources=groupmappings,verbs=create,versions=v1alpha1,name=mgroupmapping.orgrbac.dev,admissionReviewVersions=v1,timeoutSeconds=5

// OrganizationOwner is the defaulter of a kind an Organization owns: it adds the
// ownerReference to the Organization named by organization(obj), read from the
// cache, unless obj has one. It never denies: when the Organization does not
// exist (yet), is being deleted or cannot be read, it adds nothing, and the
// controller adds the reference once it is due.
type OrganizationOwner[T client.Object] struct {
	l            *lookup
	organization func(T) string
}

// Default adds the ownerReference; it never returns an error.
func (d *OrganizationOwner[T]) Default(ctx context.Context, obj T) error {
	name := d.organization(obj)
	if name == "" {
		return nil
	}
	org, err := d.l.organization(ctx, namespaceOf(ctx, obj), name)
	if err != nil {
		// A denial would make the manager's cache an availability dependency of
		// every create; the controller adds the reference instead.
		logf.FromContext(ctx).V(1).Info("Admitting without the organization ownerReference: reading the organization failed",
			"organization", name, "error", err)
		return nil
	}
	if org != nil {
		org.AddOwnerReferenceTo(obj)
	}
	return nil
}

func membershipOrganization(m *orgrbacv1alpha1.Membership) string { return m.Spec.Organization }

func organizationRoleOrganization(r *orgrbacv1alpha1.OrganizationRole) string {
	return r.Spec.Organization
}

func groupMappingOrganization(g *orgrbacv1alpha1.GroupMapping) string { return g.Spec.Organization }

// registerOwner serves d at the path controller-runtime's builder would give the
// defaulting webhook of obj's kind (/mutate-<group>-<version>-<kind>, as the
// markers above say). It does not use the builder's WithDefaulter alone: that
// webhook's patch is the difference between the request and the decoded object
// marshalled again, which also holds `add /status {}` (the status struct is
// marshalled even when empty). The API server drops status on create, but the
// patch should say what the webhook does, so ownerReferencesOnly keeps only the
// operations on metadata.ownerReferences. Fields the Go types do not know are
// kept: the default WithDefaulter (without DefaulterRemoveUnknownOrOmitableFields)
// drops the removals the types would cause.
func registerOwner[T client.Object](mgr ctrl.Manager, obj T, d *OrganizationOwner[T]) error {
	gvk, err := apiutil.GVKForObject(obj, mgr.GetScheme())
	if err != nil {
		return err
	}
	path := "/mutate-" + strings.ReplaceAll(gvk.Group, ".", "-") + "-" + gvk.Version + "-" + strings.ToLower(gvk.Kind)
	wh := admission.WithDefaulter[T](mgr.GetScheme(), d)
	wh.Handler = ownerReferencesOnly{next: wh.Handler}
	wh.LogConstructor = func(base logr.Logger, req *admission.Request) logr.Logger {
		return admission.DefaultLogConstructor(base.WithValues("webhookGroup", gvk.Group, "webhookKind", gvk.Kind), req)
	}
	mgr.GetWebhookServer().Register(path, wh)
	return nil
}

// ownerReferencesPath is the JSON pointer of metadata.ownerReferences.
const ownerReferencesPath = "/metadata/ownerReferences"

// ownerReferencesOnly keeps the patch operations of next on
// metadata.ownerReferences and drops the others; it turns every answer but an
// allowed one into an allowed answer without a patch, so that the webhook never
// denies.
type ownerReferencesOnly struct{ next admission.Handler }

// Handle implements admission.Handler.
func (h ownerReferencesOnly) Handle(ctx context.Context, req admission.Request) admission.Response {
	r := h.next.Handle(ctx, req)
	if !r.Allowed {
		msg := ""
		if r.Result != nil {
			msg = r.Result.Message
		}
		logf.FromContext(ctx).V(1).Info("Admitting without the organization ownerReference", "reason", msg)
		return admission.Allowed("")
	}
	kept := r.Patches[:0]
	for _, p := range r.Patches {
		if p.Path == ownerReferencesPath || strings.HasPrefix(p.Path, ownerReferencesPath+"/") {
			kept = append(kept, p)
		}
	}
	r.Patches = kept
	if len(r.Patches) == 0 {
		r.Patches, r.PatchType = nil, nil
	}
	return r
}
