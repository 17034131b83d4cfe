package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// OrganizationSpec defines an organization (a customer of the environment).
type OrganizationSpec struct {
	// displayName is the organization's name as users see it (WorkOS `name`), at
	// most 256 characters. The decision API returns it as `organization_name`.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	DisplayName string `json:"displayName,omitempty"`

	// externalID is the organization's id in WorkOS or another system, e.g.
	// `org_01H...`: at most 128 characters of A-Z, a-z, 0-9, `_`, `.`, `:` and `-`.
	// The decision API uses it as the organization id when set; when empty, the
	// organization id is metadata.name. Callers name an organization by either,
	// so names and externalIDs are one key space: the webhook denies an
	// externalID that is another organization's externalID or name (and a name
	// that is another's externalID); of two that collide anyway, the younger is
	// Ready=False, Duplicate, and answers to no id.
	// +optional
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9_.:-]+$`
	ExternalID string `json:"externalID,omitempty"`

	// defaultRole is the slug of the role (an environment Role or one of this
	// organization's OrganizationRoles) its memberships get when no group mapping
	// or hand assignment gives them one. When empty, or when it names no role
	// (reported in the ReferencesResolved condition), the environment's default
	// applies. 1-64 characters of a-z, 0-9, `_` and `-`.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^[a-z0-9_-]+$`
	DefaultRole string `json:"defaultRole,omitempty"`

	// rolePriority lists role slugs (environment or organization roles), highest
	// priority first, without repeats; at most 512. It is followed by the
	// organization's other OrganizationRoles in creation order (oldest first), then
	// by the environment's order. Slugs that name no role are ignored and reported
	// in the ReferencesResolved condition. Each is 1-64 characters of a-z, 0-9, `_`
	// and `-`.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=512
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=64
	// +kubebuilder:validation:items:Pattern=`^[a-z0-9_-]+$`
	RolePriority []string `json:"rolePriority,omitempty"`
}

// OrganizationStatus is the observed state of an Organization.
type OrganizationStatus struct {
	// conditions describe the state of the organization: Ready (False with
	// reason Duplicate when an older organization holds its name or externalID
	// as an id: it then answers to no id and grants nothing), and
	// ReferencesResolved (False with reason UnknownRoles when defaultRole or
	// rolePriority names no role).
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=16
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// observedGeneration is the metadata.generation the status was computed for.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
}

// Organization is a customer organization of the environment. Deleting it deletes
// its Memberships, OrganizationRoles and GroupMappings.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,shortName=org,categories=orgrbac
// +kubebuilder:printcolumn:name="Display Name",type=string,JSONPath=`.spec.displayName`
// +kubebuilder:printcolumn:name="External ID",type=string,JSONPath=`.spec.externalID`
// +kubebuilder:printcolumn:name="Default",type=string,JSONPath=`.spec.defaultRole`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Organization struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec defines the organization; every field is optional.
	// +optional
	Spec OrganizationSpec `json:"spec,omitempty"`

	// status is the organization's observed state, written by the operator.
	// +optional
	Status OrganizationStatus `json:"status,omitempty"`
}

// OrganizationList is a list of Organizations.
//
// +kubebuilder:object:root=true
type OrganizationList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Organization `json:"items"`
}
