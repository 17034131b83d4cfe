package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// RoleSpec defines an environment role.
type RoleSpec struct {
	// slug is the role's identifier as memberships, mappings and priority lists name
	// it: 1-64 characters of a-z, 0-9, `_` and `-`, not starting with `org-` or
	// `org_` (reserved for OrganizationRoles). Defaults to metadata.name when
	// omitted (status.slug shows the effective slug). Unique in the environment: an
	// older Role with the same slug wins, this one is then Ready=False, Duplicate.
	// Immutable.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^[a-z0-9_-]+$`
	// +kubebuilder:validation:XValidation:rule="!self.startsWith('org-') && !self.startsWith('org_')",message="environment role slugs must not start with org- or org_ (that prefix is for OrganizationRoles)"
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

// RoleStatus is the observed state of a Role.
type RoleStatus struct {
	// conditions describe the state of the role: Ready (False with reason
	// Duplicate) and ReferencesResolved (False with reason UndeclaredPermissions).
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=16
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// observedGeneration is the metadata.generation the status was computed for.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// slug is the role's effective slug: spec.slug, or metadata.name when spec.slug
	// is omitted. The SLUG printer column shows it.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	Slug string `json:"slug,omitempty"`
}

// Role is an environment role: a named set of permissions every organization of the
// environment can use. Refer to it as `roles.orgrbac.dev` or by its short name
// `orole`: plain `role` is Kubernetes' own RBAC Role.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,shortName=orole,categories=orgrbac
// +kubebuilder:printcolumn:name="Slug",type=string,JSONPath=`.status.slug`
// +kubebuilder:printcolumn:name="Display Name",type=string,JSONPath=`.spec.displayName`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Permissions",type=string,JSONPath=`.spec.permissions`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="(has(self.spec) && has(self.spec.slug)) || (self.metadata.name.matches('^[a-z0-9-]{1,64}$') && !self.metadata.name.startsWith('org-'))",message="metadata.name is the role slug when spec.slug is omitted: it must be at most 64 characters of a-z, 0-9 and '-', and must not start with org-; set spec.slug"
// +kubebuilder:validation:XValidation:rule="((has(self.spec) && has(self.spec.slug)) ? self.spec.slug : self.metadata.name) == ((has(oldSelf.spec) && has(oldSelf.spec.slug)) ? oldSelf.spec.slug : oldSelf.metadata.name)",message="slug is immutable"
type Role struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec defines the role; every field is optional.
	// +optional
	Spec RoleSpec `json:"spec,omitempty"`

	// status is the role's observed state, written by the operator.
	// +optional
	Status RoleStatus `json:"status,omitempty"`
}

// EffectiveSlug is spec.slug, or metadata.name when it is empty.
func (r *Role) EffectiveSlug() string {
	if r.Spec.Slug != "" {
		return r.Spec.Slug
	}
	return r.Name
}

// RoleList is a list of Roles.
//
// +kubebuilder:object:root=true
type RoleList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Role `json:"items"`
}
