package controller

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
)

// Memberships, OrganizationRoles and GroupMappings are owned (not controlled) by
// their Organization, so that deleting the Organization lets garbage collection
// delete them.

// organizationOwnerRef is the ownerReference an object of org carries.
func organizationOwnerRef(org *orgrbacv1alpha1.Organization) metav1.OwnerReference {
	return metav1.OwnerReference{
		APIVersion: orgrbacv1alpha1.GroupVersion.String(),
		Kind:       "Organization",
		Name:       org.Name,
		UID:        org.UID,
	}
}

// ensureOrganizationOwner gives obj an ownerReference to its organization, named
// org in obj's namespace, when the organization exists and obj lacks one. It
// patches obj's metadata in place (with an optimistic lock) and leaves status alone.
func ensureOrganizationOwner(ctx context.Context, c client.Client, obj client.Object, org string) error {
	var o orgrbacv1alpha1.Organization
	if err := c.Get(ctx, types.NamespacedName{Namespace: obj.GetNamespace(), Name: org}, &o); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("reading organization %s: %w", org, err)
	}
	if deleting(&o) {
		return nil
	}
	for _, ref := range obj.GetOwnerReferences() {
		if ref.UID == o.UID {
			return nil
		}
	}
	orig, ok := obj.DeepCopyObject().(client.Object)
	if !ok {
		return fmt.Errorf("copying %T", obj)
	}
	obj.SetOwnerReferences(append(obj.GetOwnerReferences(), organizationOwnerRef(&o)))
	if err := c.Patch(ctx, obj, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil {
		return fmt.Errorf("adding the organization ownerReference: %w", err)
	}
	return nil
}
