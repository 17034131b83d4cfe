package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// PermissionSpec declares a permission of the environment's catalog.
type PermissionSpec struct {
	// slug is the permission's identifier as roles and checks name it, e.g.
	// `videos:create`: 1-128 characters of a-z, 0-9, `_`, `.`, `:`, `*` and `-`,
	// matched literally (`*` is not a wildcard). Defaults to metadata.name when
	// omitted (status.slug shows the effective slug). Immutable.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:Pattern=`^[a-z0-9_.:*-]+$`
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="slug is immutable"
	Slug string `json:"slug,omitempty"`

	// displayName is a human-readable name, at most 256 characters.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	DisplayName string `json:"displayName,omitempty"`

	// description says what the permission allows, at most 2048 characters.
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	Description string `json:"description,omitempty"`
}

// PermissionStatus is the observed state of a Permission.
type PermissionStatus struct {
	// conditions describe the state of the permission: Ready (False with reason
	// Duplicate when an older Permission declares the same slug).
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=16
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// observedGeneration is the metadata.generation the status was computed for.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// slug is the permission's effective slug: spec.slug, or metadata.name when
	// spec.slug is omitted. The SLUG printer column shows it.
	// +optional
	// +kubebuilder:validation:MaxLength=128
	Slug string `json:"slug,omitempty"`
}

// Permission declares a permission slug. Declaring permissions is optional: once an
// environment has any, roles listing undeclared slugs are reported.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,shortName=operm,categories=orgrbac
// +kubebuilder:printcolumn:name="Slug",type=string,JSONPath=`.status.slug`
// +kubebuilder:printcolumn:name="Display Name",type=string,JSONPath=`.spec.displayName`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="(has(self.spec) && has(self.spec.slug)) || self.metadata.name.matches('^[a-z0-9.-]{1,128}$')",message="metadata.name is the permission slug when spec.slug is omitted: it must be at most 128 characters of a-z, 0-9, '.' and '-'; set spec.slug"
// +kubebuilder:validation:XValidation:rule="((has(self.spec) && has(self.spec.slug)) ? self.spec.slug : self.metadata.name) == ((has(oldSelf.spec) && has(oldSelf.spec.slug)) ? oldSelf.spec.slug : oldSelf.metadata.name)",message="slug is immutable"
type Permission struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec declares the permission; every field is optional.
	// +optional
	Spec PermissionSpec `json:"spec,omitempty"`

	// status is the permission's observed state, written by the operator.
	// +optional
	Status PermissionStatus `json:"status,omitempty"`
}

// EffectiveSlug is spec.slug, or metadata.name when it is empty.
func (p *Permission) EffectiveSlug() string {
	if p.Spec.Slug != "" {
		return p.Spec.Slug
	}
	return p.Name
}

// PermissionList is a list of Permissions.
//
// +kubebuilder:object:root=true
type PermissionList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Permission `json:"items"`
}
