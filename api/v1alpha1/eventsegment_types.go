package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// EventSegmentType says what an EventSegment holds.
// +kubebuilder:validation:Enum=Events;Checkpoint
type EventSegmentType string

const (
	// EventSegmentEvents holds a run of consecutive events.
	EventSegmentEvents EventSegmentType = "Events"
	// EventSegmentCheckpoint holds one part of the state the log described
	// after a given event: what retention pruned is summarised here.
	EventSegmentCheckpoint EventSegmentType = "Checkpoint"
)

// LabelEventSegment marks EventSegments with their type.
const LabelEventSegment = "orgrbac.dev/event-segment"

// StoredEvent is one change event as the log keeps it: the WorkOS envelope's
// fields, and what the operator needs to know which state it described.
type StoredEvent struct {
	// id is the event's WorkOS id: `event_` and a ULID that sorts in emission
	// order within the environment.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	ID string `json:"id,omitempty"`

	// event is the WorkOS event type, e.g. `organization_membership.updated`.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	Event string `json:"event,omitempty"`

	// key names the object the event is about, e.g. `membership/om-…`.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=600
	Key string `json:"key,omitempty"`

	// digest is the hash of what a WorkOS client sees of the object after the
	// event (16 hex digits), empty for a deletion.
	// +optional
	// +kubebuilder:validation:MaxLength=16
	Digest string `json:"digest,omitempty"`

	// organizationID is the WorkOS id of the organization the event concerns,
	// empty when none (environment roles, permissions).
	// +optional
	// +kubebuilder:validation:MaxLength=256
	OrganizationID string `json:"organizationID,omitempty"`

	// createdAtMillis is the emission time, in milliseconds since the Unix epoch.
	// +required
	// +kubebuilder:validation:Minimum=1
	CreatedAtMillis int64 `json:"createdAtMillis,omitempty"`

	// data is the event's data: the object as the decision API serves it.
	// +required
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Type=object
	// +kubebuilder:validation:MinProperties=1
	Data runtime.RawExtension `json:"data,omitempty"`
}

// EventSegmentSpec is the content of an EventSegment.
type EventSegmentSpec struct {
	// type is Events (a run of events) or Checkpoint (a part of the described state).
	// +required
	Type EventSegmentType `json:"type,omitempty"`

	// first is, for Events, the sequence number of events[0] (the sequence
	// numbers of an environment count from 1 without gaps); for a Checkpoint,
	// the sequence number of the last event its state includes (0: none).
	// +required
	// +kubebuilder:validation:Minimum=0
	First *int64 `json:"first,omitempty"`

	// events are the events of an Events segment, in emission order; at most 500.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=500
	Events []StoredEvent `json:"events,omitempty"`

	// part is the index of this Checkpoint part, from 0.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=10000
	Part int32 `json:"part,omitempty"`

	// parts is the number of parts of the Checkpoint; it is complete when all exist.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=10000
	Parts int32 `json:"parts,omitempty"`

	// state lists, for a Checkpoint, `<key> <digest>` for each object the log
	// described, sorted by key; at most 20000 per part.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=20000
	// +kubebuilder:validation:items:MaxLength=700
	State []string `json:"state,omitempty"`
}

// EventSegment is a part of an environment's change-event log, written only by
// the operator's leader: Events segments hold consecutive events in emission
// order, Checkpoint segments the state that pruned events had described. The
// decision API serves the log at GET /events and WebhookEndpoints receive it
// (docs/events.md). Nobody else writes them. They are not in the `orgrbac`
// category: `kubectl get orgrbac` lists what people write.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Namespaced,shortName=oevseg
// +kubebuilder:printcolumn:name="Type",type=string,JSONPath=`.spec.type`
// +kubebuilder:printcolumn:name="First",type=integer,JSONPath=`.spec.first`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type EventSegment struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the segment's content.
	// +required
	Spec EventSegmentSpec `json:"spec,omitzero"`
}

// EventSegmentList is a list of EventSegments.
//
// +kubebuilder:object:root=true
type EventSegmentList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []EventSegment `json:"items"`
}
