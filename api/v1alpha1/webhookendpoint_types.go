package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// SecretKeyReference names a key of a Secret in the object's own namespace.
type SecretKeyReference struct {
	// name is the Secret's name.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name,omitempty"`

	// key is the key of the Secret's data holding the value; `secret` when omitted.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	Key string `json:"key,omitempty"`
}

// WebhookEndpointSpec is where and what the environment's change events are
// delivered to.
type WebhookEndpointSpec struct {
	// url is where events are POSTed: an http or https URL, at most 2048
	// characters. The manager may refuse destinations outside its allow list
	// (--webhook-destinations, docs/security.md).
	// +required
	// +kubebuilder:validation:MinLength=8
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="isURL(self) && (self.startsWith('https://') || self.startsWith('http://'))",message="url must be an http or https URL"
	URL string `json:"url,omitempty"`

	// events lists the event types delivered, e.g. `organization_membership.updated`;
	// omitted: every type. At most 32.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=64
	// +kubebuilder:validation:items:Pattern=`^[a-z_]+\.(created|updated|deleted)$`
	Events []string `json:"events,omitempty"`

	// secretRef names the Secret key holding the signing secret; each delivery
	// carries `WorkOS-Signature: t=<ms>, v1=<hex HMAC-SHA256 of "<t>.<body>">`.
	// +required
	SecretRef SecretKeyReference `json:"secretRef,omitzero"`

	// caBundle is the PEM of the CAs that sign an https url's certificate, when
	// not a public one; at most 64 KiB.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=65536
	CABundle string `json:"caBundle,omitempty"`

	// enabled turns delivery on (true, the default) or off; while off, progress is kept.
	// +optional
	// +default=true
	Enabled *bool `json:"enabled,omitempty"`

	// retryWindowSeconds is how long after its creation an event is retried,
	// with exponential backoff: a failed delivery of an older event gives it up
	// (counted in status.failedEvents) and the next one is delivered;
	// 60-604800, 259200 (3 days) when omitted.
	// +optional
	// +kubebuilder:validation:Minimum=60
	// +kubebuilder:validation:Maximum=604800
	RetryWindowSeconds int32 `json:"retryWindowSeconds,omitempty"`
}

// WebhookEndpointStatus is the delivery progress of a WebhookEndpoint.
type WebhookEndpointStatus struct {
	// conditions describe the endpoint: Ready (True, reason Delivering or Idle,
	// while deliveries succeed; False with reason Disabled, SecretMissing,
	// SecretForbidden (the manager may not read the Secret: bind
	// orgrbac-webhook-secret-reader to it in this namespace), DestinationRefused
	// (--webhook-destinations) or DeliveryFailing).
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=16
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// observedGeneration is the metadata.generation the status was computed for.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// lastDeliveredEventID is the id of the last event delivered, given up or
	// skipped by spec.events: delivery resumes after it.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	LastDeliveredEventID string `json:"lastDeliveredEventID,omitempty"`

	// lastDeliveredAt is when an event was last delivered.
	// +optional
	LastDeliveredAt *metav1.Time `json:"lastDeliveredAt,omitempty"`

	// deliveredEvents counts the events delivered.
	// +optional
	// +kubebuilder:validation:Minimum=0
	DeliveredEvents int64 `json:"deliveredEvents,omitempty"`

	// failedEvents counts the events given up after the retry window.
	// +optional
	// +kubebuilder:validation:Minimum=0
	FailedEvents int64 `json:"failedEvents,omitempty"`

	// consecutiveFailures counts the failed attempts since the last success.
	// +optional
	// +kubebuilder:validation:Minimum=0
	ConsecutiveFailures int32 `json:"consecutiveFailures,omitempty"`

	// nextRetryAt is when the next attempt is due after a failure.
	// +optional
	NextRetryAt *metav1.Time `json:"nextRetryAt,omitempty"`
}

// WebhookEndpoint delivers its environment's change events (docs/events.md),
// in order and at least once, signed as WorkOS signs its webhooks.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,shortName=owebhook,categories=orgrbac
// +kubebuilder:printcolumn:name="URL",type=string,JSONPath=`.spec.url`
// +kubebuilder:printcolumn:name="Last Event",type=string,JSONPath=`.status.lastDeliveredEventID`
// +kubebuilder:printcolumn:name="Failures",type=integer,JSONPath=`.status.consecutiveFailures`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type WebhookEndpoint struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec says where and what to deliver.
	// +required
	Spec WebhookEndpointSpec `json:"spec,omitzero"`

	// status is the delivery progress, written by the operator.
	// +optional
	Status WebhookEndpointStatus `json:"status,omitempty"`
}

// WebhookEndpointList is a list of WebhookEndpoints.
//
// +kubebuilder:object:root=true
type WebhookEndpointList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []WebhookEndpoint `json:"items"`
}
