package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Memberships, OrganizationRoles and GroupMappings are owned (not controlled) by
// their Organization, so that deleting the Organization lets garbage collection
// delete them. The mutating webhook sets the reference at admission; the
// controllers add it when the webhook did not (an object created before its
// Organization, or while the webhook was unreachable). Both use the methods here.

// OwnerReference is the ownerReference an object of o carries: not a controller
// reference, and without blockOwnerDeletion.
func (o *Organization) OwnerReference() metav1.OwnerReference {
	return metav1.OwnerReference{
		APIVersion: GroupVersion.String(),
		Kind:       "Organization",
		Name:       o.Name,
		UID:        o.UID,
	}
}

// IsOwnerOf reports whether obj has an ownerReference to o (by UID).
func (o *Organization) IsOwnerOf(obj metav1.Object) bool {
	if o.UID == "" {
		return false
	}
	for _, ref := range obj.GetOwnerReferences() {
		if ref.UID == o.UID {
			return true
		}
	}
	return false
}

// AddOwnerReferenceTo appends o's OwnerReference to obj's ownerReferences unless
// obj already has one to o, and reports whether it changed obj. An o without a
// UID (not read from the API server) adds nothing: a reference needs one.
func (o *Organization) AddOwnerReferenceTo(obj metav1.Object) bool {
	if o.UID == "" || o.IsOwnerOf(obj) {
		return false
	}
	obj.SetOwnerReferences(append(obj.GetOwnerReferences(), o.OwnerReference()))
	return true
}
