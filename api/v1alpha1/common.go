package v1alpha1

// Well-known names used on orgrbac objects.
const (
	// FinalizerRoleCleanup is held by Role and OrganizationRole objects until every
	// reference to the role (defaults, priority lists, memberships, group mappings)
	// has been moved to the replacement role or removed.
	FinalizerRoleCleanup = "orgrbac.dev/role-cleanup"

	// AnnotationReplacementRole on a Role or OrganizationRole names the slug that takes
	// its place when it is deleted.
	AnnotationReplacementRole = "orgrbac.dev/replacement-role"

	// AnnotationRemovedRoles on a Membership lists, comma-separated, the role slugs the
	// operator removed from spec.roles because the roles were deleted.
	AnnotationRemovedRoles = "orgrbac.dev/removed-roles"

	// AnnotationWrittenBy on a Membership or OrganizationRole names the
	// Kubernetes user (as authenticated by the API server) whose request to the
	// decision API's WorkOS write routes last wrote the object.
	AnnotationWrittenBy = "orgrbac.dev/written-by"

	// AnnotationWrittenByGroups holds, comma-separated, the groups of that
	// user, so that admission policies that judge writers by their groups (as
	// config/policy/recipes/organization_writers.yaml) judge the caller, not the
	// decision API, which writes with its own identity.
	AnnotationWrittenByGroups = "orgrbac.dev/written-by-groups"

	// AnnotationWriteRequest is a new random id on every write of the decision
	// API: an update by the API's identity that changes it is a write for a
	// caller (judged by AnnotationWrittenByGroups), one that keeps it is the
	// manager's own (a role cleanup).
	AnnotationWriteRequest = "orgrbac.dev/write-request"

	// LabelPublished marks the ConfigMaps the operator publishes for workloads.
	LabelPublished = "orgrbac.dev/published"

	// DefaultRoleSlug is the role used as the default when neither the organization nor
	// the environment names one.
	DefaultRoleSlug = "member"
)

// Condition types.
const (
	// ConditionReady summarises an object: True when the operator has resolved it and
	// it takes part in authorization decisions.
	ConditionReady = "Ready"

	// ConditionReferencesResolved is False when some slugs the object names (roles in a
	// priority list, roles assigned to a membership, permissions of a role) were
	// ignored because they name nothing, or because there are too many of them.
	ConditionReferencesResolved = "ReferencesResolved"

	// ConditionPublished on an Environment says whether its namespace's snapshot is
	// published in the ConfigMaps orgrbac-permissions*: True when the published
	// snapshot is the current one, False while publication fails (the reason says
	// why, lastTransitionTime since when).
	ConditionPublished = "Published"
)

// Limits of what the operator writes in statuses. The numbers of the list limits
// are also the kubebuilder MaxItems markers of the status fields they name (a
// test checks that the CRDs in config/crd/bases say the same).
const (
	// MaxMembershipRoles is the most effective roles a Membership's status.roles
	// and status.assignments hold. A membership resolving to more is Ready=False,
	// TooManyRoles, with no roles and no permissions.
	MaxMembershipRoles = 64
	// MaxMembershipPermissions is the most permissions a Membership's
	// status.permissions holds. A membership whose roles grant more is
	// Ready=False, TooManyPermissions, with no roles and no permissions.
	MaxMembershipPermissions = 8192
	// MaxConditions is the most conditions a status holds (the conditions' MaxItems
	// of every orgrbac CRD). Conditions the operator does not write are dropped
	// first when a status would hold more.
	MaxConditions = 16
	// MaxConditionMessage is the most bytes of a condition message the operator
	// writes, far below the CRD's 32768: a longer message is cut at a character
	// boundary and ends saying how many bytes were left out.
	MaxConditionMessage = 1024
)

// Condition reasons.
const (
	// ReasonResolved: the object was resolved with no problem.
	ReasonResolved = "Resolved"
	// ReasonDefaultRoleMissing: a membership needs the default role and none resolves;
	// it gets no permissions (fail closed).
	ReasonDefaultRoleMissing = "DefaultRoleMissing"
	// ReasonOrganizationNotFound: the named Organization does not exist.
	ReasonOrganizationNotFound = "OrganizationNotFound"
	// ReasonOrganizationDuplicate: the named Organization is a duplicate (an older
	// organization holds its name or externalID as its own id: they are one key
	// space and the oldest wins), so it answers to no id; the membership gets no
	// roles and no permissions (fail closed) until the collision is removed.
	ReasonOrganizationDuplicate = "OrganizationDuplicate"
	// ReasonRoleNotFound: a slug names no role visible to the organization.
	ReasonRoleNotFound = "RoleNotFound"
	// ReasonTooManyRoles: on ReferencesResolved (False), a single-role environment
	// and a membership naming several roles: only the highest-priority one counts.
	// On Ready (False), the membership resolves to more roles than status.roles
	// and status.assignments can hold (MaxMembershipRoles): it grants nothing
	// (fail closed) until it resolves to fewer.
	ReasonTooManyRoles = "TooManyRoles"
	// ReasonTooManyPermissions: on Ready (False), the membership's roles grant more
	// distinct permissions than status.permissions can hold
	// (MaxMembershipPermissions): it grants nothing (fail closed) until they grant
	// fewer.
	ReasonTooManyPermissions = "TooManyPermissions"
	// ReasonDuplicate: an older object already holds this identity; this one grants nothing.
	ReasonDuplicate = "Duplicate"
	// ReasonUndeclaredPermissions: Permission objects exist and the role lists a slug
	// none of them declares.
	ReasonUndeclaredPermissions = "UndeclaredPermissions"
	// ReasonUnknownPriorityRoles: a rolePriority or defaultRole names no role.
	ReasonUnknownPriorityRoles = "UnknownRoles"
	// ReasonAllFound: every reference resolved.
	ReasonAllFound = "AllFound"
	// ReasonInternalError: the operator could not finish; details are in its log.
	ReasonInternalError = "InternalError"

	// ReasonPublished: the current snapshot is published (Published True).
	ReasonPublished = "Published"
	// ReasonRevisionReset: the current snapshot is published, at a revision
	// restarted from 1 because the highest known revision left no room (Published
	// True). Readers of pkg/authz follow after their StaleGrace.
	ReasonRevisionReset = "RevisionReset"
	// ReasonTooLarge: the snapshot does not fit in 255 ConfigMaps, or one role or
	// member does not fit in one (Published False).
	ReasonTooLarge = "TooLarge"
	// ReasonConfigMapConflict: a ConfigMap the snapshot needs exists and is not the
	// publisher's (no orgrbac.dev/published label and no ownerReference to this
	// Environment, or another controller); it is left alone (Published False).
	ReasonConfigMapConflict = "ConfigMapConflict"
	// ReasonWriteFailed: writing a published ConfigMap failed (Published False).
	ReasonWriteFailed = "WriteFailed"
)

// RoleSource says where a membership's effective role came from.
// +kubebuilder:validation:Enum=Directory;SSO;Manual;Default
type RoleSource string

// Role sources, highest precedence first.
const (
	// SourceDirectory: a Directory GroupMapping matched one of the membership's directory groups.
	SourceDirectory RoleSource = "Directory"
	// SourceSSO: an SSO GroupMapping matched one of the membership's SSO groups.
	SourceSSO RoleSource = "SSO"
	// SourceManual: the membership's spec.roles.
	SourceManual RoleSource = "Manual"
	// SourceDefault: the organization's or environment's default role.
	SourceDefault RoleSource = "Default"
)

// GroupSource is the identity-provider channel a GroupMapping applies to.
// +kubebuilder:validation:Enum=Directory;SSO
type GroupSource string

// Group sources.
const (
	// GroupSourceDirectory maps directory (SCIM) groups.
	GroupSourceDirectory GroupSource = "Directory"
	// GroupSourceSSO maps SSO (SAML/OIDC) groups.
	GroupSourceSSO GroupSource = "SSO"
)

// MembershipState is the WorkOS organization membership status.
// +kubebuilder:validation:Enum=Active;Inactive;Pending
type MembershipState string

// Membership states.
const (
	// MembershipActive members get their permissions.
	MembershipActive MembershipState = "Active"
	// MembershipInactive members keep their roles but get no permissions.
	MembershipInactive MembershipState = "Inactive"
	// MembershipPending members (invited) keep their roles but get no permissions.
	MembershipPending MembershipState = "Pending"
)
