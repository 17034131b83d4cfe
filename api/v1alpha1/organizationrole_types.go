package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// OrganizationRoleSpec defines a role that exists only in one organization.
type OrganizationRoleSpec struct {
	// organization is the name (metadata.name) of the Organization the role
	// belongs to; only that organization's memberships and mappings can use it.
	// Required, 1-253 characters. Immutable.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="organization is immutable"
	Organization string `json:"organization,omitempty"`

	// slug is the role's identifier as the organization's memberships, mappings and
	// priority list name it. Required: 1-64 characters of a-z, 0-9, `_` and `-`,
	// starting with `org-` or `org_`, unique within its organization (an older
	// OrganizationRole with the same slug wins; this one is then Ready=False,
	// Duplicate). Immutable.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^[a-z0-9_-]+$`
	// +kubebuilder:validation:XValidation:rule="self.startsWith('org-') || self.startsWith('org_')",message="organization role slugs must start with org- or org_"
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="slug is immutable"
	Slug string `json:"slug,omitempty"`

	// displayName is a human-readable name (WorkOS `name`), at most 256 characters.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	DisplayName string `json:"displayName,omitempty"`

	// description says what the role is for, at most 2048 characters.
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	Description string `json:"description,omitempty"`

	// permissions lists the permission slugs the role grants, without repeats; at
	// most 1024, each 1-128 characters of a-z, 0-9, `_`, `.`, `:`, `*` and `-`,
	// matched literally (`*` is not a wildcard). Once the environment declares any
	// Permission, undeclared slugs are reported in the ReferencesResolved condition.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=1024
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=128
	// +kubebuilder:validation:items:Pattern=`^[a-z0-9_.:*-]+$`
	Permissions []string `json:"permissions,omitempty"`
}

// OrganizationRoleStatus is the observed state of an OrganizationRole.
type OrganizationRoleStatus struct {
	// conditions describe the state of the role: Ready (False with reason
	// OrganizationNotFound or Duplicate) and ReferencesResolved (False with reason
	// UndeclaredPermissions).
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=16
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// observedGeneration is the metadata.generation the status was computed for.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
}

// OrganizationRole is a role visible only to one organization.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,shortName=orgrole,categories=orgrbac
// +kubebuilder:printcolumn:name="Organization",type=string,JSONPath=`.spec.organization`
// +kubebuilder:printcolumn:name="Slug",type=string,JSONPath=`.spec.slug`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Permissions",type=string,JSONPath=`.spec.permissions`,priority=1
// +kubebuilder:printcolumn:name="Written By",type=string,JSONPath=`.metadata.annotations.orgrbac\.dev/written-by`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type OrganizationRole struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec defines the role.
	// +required
	Spec OrganizationRoleSpec `json:"spec,omitzero"`

	// status is the role's observed state, written by the operator.
	// +optional
	Status OrganizationRoleStatus `json:"status,omitempty"`
}

// OrganizationRoleList is a list of OrganizationRoles.
//
// +kubebuilder:object:root=true
type OrganizationRoleList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []OrganizationRole `json:"items"`
}
