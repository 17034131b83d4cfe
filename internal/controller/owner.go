package controller

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
)

// Memberships, OrganizationRoles and GroupMappings are owned (not controlled) by
// their Organization, so that deleting the Organization lets garbage collection
// delete them. The mutating webhook (internal/webhook/v1alpha1) sets the reference
// at admission; ensureOrganizationOwner is the fallback for an object the webhook
// could not give one (created before its Organization, or while the webhook was
// unreachable). The rule itself is the API's (Organization.AddOwnerReferenceTo).

// ensureOrganizationOwner gives obj an ownerReference to its organization, named
// org in obj's namespace, when the organization exists and obj lacks one. It
// patches obj's metadata in place (with an optimistic lock) and leaves status
// alone; an obj that has the reference is not written.
func ensureOrganizationOwner(ctx context.Context, c client.Client, obj client.Object, org string) error {
	var o orgrbacv1alpha1.Organization
	if err := c.Get(ctx, types.NamespacedName{Namespace: obj.GetNamespace(), Name: org}, &o); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("reading organization %s: %w", org, err)
	}
	if deleting(&o) || o.IsOwnerOf(obj) {
		return nil
	}
	orig, ok := obj.DeepCopyObject().(client.Object)
	if !ok {
		return fmt.Errorf("copying %T", obj)
	}
	if !o.AddOwnerReferenceTo(obj) {
		return nil
	}
	if err := c.Patch(ctx, obj, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil {
		return fmt.Errorf("adding the organization ownerReference: %w", err)
	}
	return nil
}
