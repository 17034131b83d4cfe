package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// GroupMappingSpec maps an identity-provider group of an organization to a role.
type GroupMappingSpec struct {
	// organization is the name (metadata.name) of the Organization whose members
	// the mapping applies to. Required, 1-253 characters. Immutable.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="organization is immutable"
	Organization string `json:"organization,omitempty"`

	// source is the channel the group comes from: Directory (SCIM groups, matched
	// against a membership's directoryGroups) or SSO (matched against its
	// ssoGroups). Directory mappings take precedence over SSO mappings, which take
	// precedence over manual roles. Required.
	// +required
	Source GroupSource `json:"source,omitempty"`

	// group is the identity provider's group id. Required, 1-256 printable
	// characters with single spaces between words (no leading, trailing or
	// repeated spaces, no control, zero-width or format characters).
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	// +kubebuilder:validation:XValidation:rule="self.matches(r'^[^\\p{C}\\p{Z}]+( [^\\p{C}\\p{Z}]+)*$')",message="group must be printable characters, with single spaces between words: no leading, trailing or repeated spaces, and no control, zero-width, format or other whitespace characters"
	Group string `json:"group,omitempty"`

	// role is the slug of the role (an environment Role or one of the
	// organization's OrganizationRoles) members of the group get; when it names
	// none, the mapping grants nothing and is Ready=False, RoleNotFound. Required,
	// 1-64 characters of a-z, 0-9, `_` and `-`.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^[a-z0-9_-]+$`
	Role string `json:"role,omitempty"`
}

// GroupMappingStatus is the observed state of a GroupMapping.
type GroupMappingStatus struct {
	// conditions describe the state of the mapping: Ready (False with reason
	// OrganizationNotFound or RoleNotFound).
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=16
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// observedGeneration is the metadata.generation the status was computed for.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
}

// GroupMapping assigns a role to the members of an identity-provider group
// (WorkOS "IdP role assignment").
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,shortName=gmap,categories=orgrbac
// +kubebuilder:printcolumn:name="Organization",type=string,JSONPath=`.spec.organization`
// +kubebuilder:printcolumn:name="Source",type=string,JSONPath=`.spec.source`
// +kubebuilder:printcolumn:name="Group",type=string,JSONPath=`.spec.group`
// +kubebuilder:printcolumn:name="Role",type=string,JSONPath=`.spec.role`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type GroupMapping struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec defines the mapping; every field of it is required.
	// +required
	Spec GroupMappingSpec `json:"spec,omitzero"`

	// status is the mapping's observed state, written by the operator.
	// +optional
	Status GroupMappingStatus `json:"status,omitempty"`
}

// GroupMappingList is a list of GroupMappings.
//
// +kubebuilder:object:root=true
type GroupMappingList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []GroupMapping `json:"items"`
}
