package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// MembershipSpec places a user in an organization.
type MembershipSpec struct {
	// organization is the name (metadata.name) of the Organization the user is a
	// member of. Required, 1-253 characters. Immutable.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="organization is immutable"
	Organization string `json:"organization,omitempty"`

	// user is the user's id (e.g. a WorkOS `user_01H...` id, or an email),
	// unique within the organization: an older Membership for the same user wins,
	// this one is then Ready=False, Duplicate. Required, 1-256 printable ASCII
	// characters (`!` to `~`): no spaces, control, zero-width or other non-ASCII
	// characters, so that two ids that look alike are equal. Immutable.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	// +kubebuilder:validation:XValidation:rule="self.matches('^[!-~]+$')",message="user must be printable ASCII characters without spaces ('!' to '~'): no whitespace, control, zero-width or other non-ASCII characters"
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="user is immutable"
	User string `json:"user,omitempty"`

	// email is the user's email address, for people reading the object; at most
	// 320 characters: a local part and a domain joined by one `@`, both printable
	// ASCII without spaces (an internationalized domain in its `xn--` form). It
	// plays no part in decisions.
	// +optional
	// +kubebuilder:validation:MaxLength=320
	// +kubebuilder:validation:XValidation:rule="self == '' || self.matches('^[!-?A-~]+@[!-?A-~]+$')",message="email must be an address like name@example.com: one '@' between a local part and a domain of printable ASCII characters, without spaces or control characters"
	Email string `json:"email,omitempty"`

	// roles are role slugs assigned by hand or through an API (the Manual source),
	// used when no group mapping gives a role. Without repeats, at most 64, each 1-64
	// characters of a-z, 0-9, `_` and `-`. Slugs that name no role visible to the
	// organization are ignored and reported (RoleNotFound); in a single-role
	// environment only the highest-priority one is kept (TooManyRoles).
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=64
	// +kubebuilder:validation:items:Pattern=`^[a-z0-9_-]+$`
	Roles []string `json:"roles,omitempty"`

	// directoryGroups are the ids of the directory (SCIM) groups the user is in,
	// matched against Directory GroupMappings. Without repeats, at most 512, each
	// 1-256 printable characters with single spaces between words (no leading,
	// trailing or repeated spaces, no control, zero-width or format characters).
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=512
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=256
	// +kubebuilder:validation:items:XValidation:rule="self.matches(r'^[^\\p{C}\\p{Z}]+( [^\\p{C}\\p{Z}]+)*$')",message="group ids must be printable characters, with single spaces between words: no leading, trailing or repeated spaces, and no control, zero-width, format or other whitespace characters"
	DirectoryGroups []string `json:"directoryGroups,omitempty"`

	// ssoGroups are the ids of the SSO groups the user is in, matched against SSO
	// GroupMappings. Without repeats, at most 512, each 1-256 printable
	// characters with single spaces between words (no leading, trailing or
	// repeated spaces, no control, zero-width or format characters).
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=512
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=256
	// +kubebuilder:validation:items:XValidation:rule="self.matches(r'^[^\\p{C}\\p{Z}]+( [^\\p{C}\\p{Z}]+)*$')",message="group ids must be printable characters, with single spaces between words: no leading, trailing or repeated spaces, and no control, zero-width, format or other whitespace characters"
	SSOGroups []string `json:"ssoGroups,omitempty"`

	// state is the membership status (WorkOS `status`): Active members get their
	// permissions, Inactive and Pending members keep their roles but get no
	// permissions. Defaults to Active.
	// +optional
	// +default="Active"
	State MembershipState `json:"state,omitempty"`
}

// RoleAssignment records where one effective role came from.
type RoleAssignment struct {
	// role is the slug of the effective role.
	// +required
	// +kubebuilder:validation:MaxLength=64
	Role string `json:"role,omitempty"`

	// source is where the role came from: Directory or SSO (a GroupMapping of that
	// source), Manual (spec.roles) or Default (the organization's or environment's
	// default role).
	// +required
	Source RoleSource `json:"source,omitempty"`

	// group is the mapped identity-provider group, when the source is Directory or
	// SSO; empty otherwise.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	Group string `json:"group,omitempty"`
}

// MembershipStatus is the resolved state of a Membership.
type MembershipStatus struct {
	// conditions describe the resolution: Ready (False with reason
	// DefaultRoleMissing, OrganizationNotFound, Duplicate, TooManyRoles or
	// TooManyPermissions: the membership then grants nothing) and
	// ReferencesResolved (False with reason RoleNotFound or TooManyRoles). Messages
	// are at most 1024 bytes.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=16
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// observedGeneration is the metadata.generation the status was computed for.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// role is the highest-priority effective role (the "primary role"); empty when
	// none resolves.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	Role string `json:"role,omitempty"`

	// roles are the effective roles, highest priority first: at most one unless
	// the Environment sets multipleRoles. At most 64: a membership resolving to
	// more has none and is Ready=False, TooManyRoles.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=64
	Roles []string `json:"roles,omitempty"`

	// source is where the effective roles came from, the first source with a role
	// in this order: Directory, SSO, Manual, Default.
	// +optional
	Source RoleSource `json:"source,omitempty"`

	// assignments records the provenance of each effective role, in the order of
	// roles.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=64
	Assignments []RoleAssignment `json:"assignments,omitempty"`

	// permissions is the sorted union of the effective roles' permissions. Empty for
	// memberships that are not Active or not Ready. At most 8192: a membership whose
	// roles grant more has none and is Ready=False, TooManyPermissions.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=8192
	// +kubebuilder:validation:items:MaxLength=128
	Permissions []string `json:"permissions,omitempty"`
}

// Membership is a user's membership of an organization. The operator resolves its
// effective roles and permissions into status. Its organization, user, state,
// role and source are selectable fields: kubectl get memberships
// --field-selector spec.organization=acme lists an organization's members.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,shortName=omember,categories=orgrbac
// +kubebuilder:selectablefield:JSONPath=`.spec.organization`
// +kubebuilder:selectablefield:JSONPath=`.spec.user`
// +kubebuilder:selectablefield:JSONPath=`.spec.state`
// +kubebuilder:selectablefield:JSONPath=`.status.role`
// +kubebuilder:selectablefield:JSONPath=`.status.source`
// +kubebuilder:printcolumn:name="Organization",type=string,JSONPath=`.spec.organization`
// +kubebuilder:printcolumn:name="User",type=string,JSONPath=`.spec.user`
// +kubebuilder:printcolumn:name="Role",type=string,JSONPath=`.status.role`
// +kubebuilder:printcolumn:name="Source",type=string,JSONPath=`.status.source`
// +kubebuilder:printcolumn:name="State",type=string,JSONPath=`.spec.state`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Permissions",type=string,JSONPath=`.status.permissions`,priority=1
// +kubebuilder:printcolumn:name="Written By",type=string,JSONPath=`.metadata.annotations.orgrbac\.dev/written-by`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Membership struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec places the user in the organization.
	// +required
	Spec MembershipSpec `json:"spec,omitzero"`

	// status is the membership's resolved roles and permissions, written by the
	// operator.
	// +optional
	Status MembershipStatus `json:"status,omitempty"`
}

// MembershipList is a list of Memberships.
//
// +kubebuilder:object:root=true
type MembershipList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Membership `json:"items"`
}
