package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// EnvironmentSpec holds the settings of the environment its namespace is.
type EnvironmentSpec struct {
	// defaultRole is the slug of the environment Role a membership gets when no
	// group mapping or hand assignment gives it one and its Organization names no
	// default. When empty, or when it names no Role (reported in the
	// ReferencesResolved condition), the Role whose slug is `member` is the default.
	// 1-64 characters of a-z, 0-9, `_` and `-`.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^[a-z0-9_-]+$`
	DefaultRole string `json:"defaultRole,omitempty"`

	// rolePriority lists environment role slugs, highest priority first, without
	// repeats; at most 512. Roles not listed follow in creation order (oldest
	// first). Slugs that name no Role are ignored and reported in the
	// ReferencesResolved condition. Each is 1-64 characters of a-z, 0-9, `_` and `-`.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=512
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=64
	// +kubebuilder:validation:items:Pattern=`^[a-z0-9_-]+$`
	RolePriority []string `json:"rolePriority,omitempty"`

	// multipleRoles lets a membership hold several roles at once. When false (the
	// default) each membership keeps only its highest-priority role, and a
	// membership assigning several by hand is reported (TooManyRoles).
	// +optional
	MultipleRoles bool `json:"multipleRoles,omitempty"`

	// events sets how long the environment's change-event log keeps events
	// (docs/events.md). Omitted: 30 days and at most 100000 events.
	// +optional
	Events EventRetention `json:"events,omitempty"`
}

// EventRetention bounds an environment's change-event log: events older than
// maxAgeDays, or beyond the newest maxEvents, are pruned (whole segments, the
// oldest first).
type EventRetention struct {
	// maxAgeDays is how many days an event is kept, 1-3650; 30 when omitted.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=3650
	MaxAgeDays int32 `json:"maxAgeDays,omitempty"`

	// maxEvents is how many events are kept at most, 1000-10000000; 100000
	// when omitted.
	// +optional
	// +kubebuilder:validation:Minimum=1000
	// +kubebuilder:validation:Maximum=10000000
	MaxEvents int32 `json:"maxEvents,omitempty"`
}

// EnvironmentStatus is the observed state of an Environment.
type EnvironmentStatus struct {
	// conditions describe the state of the environment: Ready (False with reason
	// Duplicate when an older Environment is in the namespace) and
	// ReferencesResolved (False with reason UnknownRoles when defaultRole or
	// rolePriority names no Role).
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=16
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// observedGeneration is the metadata.generation the status was computed for.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// roles is the number of Roles in the environment (its namespace).
	// +optional
	Roles int32 `json:"roles,omitempty"`

	// organizations is the number of Organizations in the environment (its namespace).
	// +optional
	Organizations int32 `json:"organizations,omitempty"`

	// memberships is the number of Memberships in the environment (its namespace).
	// +optional
	Memberships int32 `json:"memberships,omitempty"`

	// revision is the revision of the last published snapshot, as the published
	// ConfigMaps and the decision API's X-Orgrbac-Revision header carry it; it only
	// grows.
	// +optional
	Revision int64 `json:"revision,omitempty"`

	// publishedConfigMaps names the ConfigMaps of this namespace holding the
	// published snapshot (`orgrbac-permissions`, or its numbered shards), sorted.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:MaxLength=253
	PublishedConfigMaps []string `json:"publishedConfigMaps,omitempty"`
}

// Environment holds the RBAC settings of its namespace: the default role, the role
// priority order and whether memberships may hold several roles. One per namespace;
// a namespace without one uses the defaults.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,shortName=orgenv,categories=orgrbac
// +kubebuilder:printcolumn:name="Default",type=string,JSONPath=`.spec.defaultRole`
// +kubebuilder:printcolumn:name="Multiple",type=boolean,JSONPath=`.spec.multipleRoles`
// +kubebuilder:printcolumn:name="Roles",type=integer,JSONPath=`.status.roles`
// +kubebuilder:printcolumn:name="Orgs",type=integer,JSONPath=`.status.organizations`
// +kubebuilder:printcolumn:name="Members",type=integer,JSONPath=`.status.memberships`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Environment struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec holds the environment settings; every field is optional.
	// +optional
	Spec EnvironmentSpec `json:"spec,omitempty"`

	// status is the environment's observed state, written by the operator.
	// +optional
	Status EnvironmentStatus `json:"status,omitempty"`
}

// EnvironmentList is a list of Environments.
//
// +kubebuilder:object:root=true
type EnvironmentList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Environment `json:"items"`
}
