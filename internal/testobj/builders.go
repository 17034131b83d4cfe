package testobj

import (
	"time"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
)

// The fluent builders: MakeX(name) starts an X with that name, each method sets
// one field and returns the builder, and Obj returns a deep copy of the object,
// so one builder can stamp out several objects:
//
//	testobj.MakeMembership("m1").Org("acme").User("u").Roles("editor").Obj()
//
// The metadata methods (Namespace, Created, Deleting, Label) are shared by every
// builder; a builder of a kind with a Ready condition has Ready too.

// meta holds the metadata methods every builder has; B is the builder, which
// each method returns.
type meta[B any] struct {
	self B
	m    *metav1.ObjectMeta
}

// Namespace sets the namespace.
func (o meta[B]) Namespace(ns string) B { o.m.Namespace = ns; return o.self }

// Created sets the creation time (the age that oldest-wins rules compare).
func (o meta[B]) Created(t time.Time) B { o.m.CreationTimestamp = metav1.NewTime(t); return o.self }

// Deleting marks the object as being deleted at t.
func (o meta[B]) Deleting(t time.Time) B {
	at := metav1.NewTime(t)
	o.m.DeletionTimestamp = &at
	return o.self
}

// Label sets one label.
func (o meta[B]) Label(key, value string) B {
	if o.m.Labels == nil {
		o.m.Labels = map[string]string{}
	}
	o.m.Labels[key] = value
	return o.self
}

// Generation sets metadata.generation.
func (o meta[B]) Generation(g int64) B { o.m.Generation = g; return o.self }

// conditions holds the Ready method of the kinds whose status has conditions.
type conditions[B any] struct {
	self  B
	conds *[]metav1.Condition
}

// Ready sets the Ready condition: True when ok, else False, with reason and
// its last transition at t.
func (c conditions[B]) Ready(ok bool, reason string, at time.Time) B {
	st := metav1.ConditionFalse
	if ok {
		st = metav1.ConditionTrue
	}
	apimeta.SetStatusCondition(c.conds, metav1.Condition{Type: orgrbacv1alpha1.ConditionReady, Status: st,
		Reason: reason, LastTransitionTime: metav1.NewTime(at)})
	// SetStatusCondition keeps the old time when the status does not change.
	apimeta.FindStatusCondition(*c.conds, orgrbacv1alpha1.ConditionReady).LastTransitionTime = metav1.NewTime(at)
	return c.self
}

// MembershipBuilder builds a Membership.
type MembershipBuilder struct {
	meta[*MembershipBuilder]
	conditions[*MembershipBuilder]
	obj orgrbacv1alpha1.Membership
}

// MakeMembership starts a Membership named name.
func MakeMembership(name string) *MembershipBuilder {
	b := &MembershipBuilder{obj: orgrbacv1alpha1.Membership{ObjectMeta: metav1.ObjectMeta{Name: name}}}
	b.meta = meta[*MembershipBuilder]{b, &b.obj.ObjectMeta}
	b.conditions = conditions[*MembershipBuilder]{b, &b.obj.Status.Conditions}
	return b
}

// Org sets spec.organization.
func (b *MembershipBuilder) Org(org string) *MembershipBuilder {
	b.obj.Spec.Organization = org
	return b
}

// User sets spec.user.
func (b *MembershipBuilder) User(user string) *MembershipBuilder { b.obj.Spec.User = user; return b }

// Email sets spec.email.
func (b *MembershipBuilder) Email(email string) *MembershipBuilder {
	b.obj.Spec.Email = email
	return b
}

// Roles sets the hand-assigned roles (spec.roles).
func (b *MembershipBuilder) Roles(r ...string) *MembershipBuilder { b.obj.Spec.Roles = r; return b }

// Directory sets the directory groups.
func (b *MembershipBuilder) Directory(g ...string) *MembershipBuilder {
	b.obj.Spec.DirectoryGroups = g
	return b
}

// SSO sets the SSO groups.
func (b *MembershipBuilder) SSO(g ...string) *MembershipBuilder { b.obj.Spec.SSOGroups = g; return b }

// State sets spec.state.
func (b *MembershipBuilder) State(s orgrbacv1alpha1.MembershipState) *MembershipBuilder {
	b.obj.Spec.State = s
	return b
}

// Resolved sets the status as the Membership controller writes it for roles
// (highest first) assigned by hand: role, roles, source and assignments.
func (b *MembershipBuilder) Resolved(roles ...string) *MembershipBuilder {
	st := &b.obj.Status
	st.Role, st.Roles, st.Source, st.Assignments = "", roles, "", nil
	if len(roles) > 0 {
		st.Role, st.Source = roles[0], orgrbacv1alpha1.SourceManual
		for _, r := range roles {
			st.Assignments = append(st.Assignments, orgrbacv1alpha1.RoleAssignment{Role: r, Source: orgrbacv1alpha1.SourceManual})
		}
	}
	return b
}

// Permissions sets status.permissions.
func (b *MembershipBuilder) Permissions(p ...string) *MembershipBuilder {
	b.obj.Status.Permissions = p
	return b
}

// Obj returns a copy of the Membership built so far.
func (b *MembershipBuilder) Obj() *orgrbacv1alpha1.Membership { return b.obj.DeepCopy() }

// OrganizationBuilder builds an Organization.
type OrganizationBuilder struct {
	meta[*OrganizationBuilder]
	conditions[*OrganizationBuilder]
	obj orgrbacv1alpha1.Organization
}

// MakeOrganization starts an Organization named name.
func MakeOrganization(name string) *OrganizationBuilder {
	b := &OrganizationBuilder{obj: orgrbacv1alpha1.Organization{ObjectMeta: metav1.ObjectMeta{Name: name}}}
	b.meta = meta[*OrganizationBuilder]{b, &b.obj.ObjectMeta}
	b.conditions = conditions[*OrganizationBuilder]{b, &b.obj.Status.Conditions}
	return b
}

// DisplayName sets spec.displayName.
func (b *OrganizationBuilder) DisplayName(n string) *OrganizationBuilder {
	b.obj.Spec.DisplayName = n
	return b
}

// ExternalID sets spec.externalID.
func (b *OrganizationBuilder) ExternalID(id string) *OrganizationBuilder {
	b.obj.Spec.ExternalID = id
	return b
}

// DefaultRole sets spec.defaultRole.
func (b *OrganizationBuilder) DefaultRole(r string) *OrganizationBuilder {
	b.obj.Spec.DefaultRole = r
	return b
}

// Priority sets spec.rolePriority.
func (b *OrganizationBuilder) Priority(r ...string) *OrganizationBuilder {
	b.obj.Spec.RolePriority = r
	return b
}

// Obj returns a copy of the Organization built so far.
func (b *OrganizationBuilder) Obj() *orgrbacv1alpha1.Organization { return b.obj.DeepCopy() }

// EnvironmentBuilder builds an Environment.
type EnvironmentBuilder struct {
	meta[*EnvironmentBuilder]
	conditions[*EnvironmentBuilder]
	obj orgrbacv1alpha1.Environment
}

// MakeEnvironment starts an Environment named name.
func MakeEnvironment(name string) *EnvironmentBuilder {
	b := &EnvironmentBuilder{obj: orgrbacv1alpha1.Environment{ObjectMeta: metav1.ObjectMeta{Name: name}}}
	b.meta = meta[*EnvironmentBuilder]{b, &b.obj.ObjectMeta}
	b.conditions = conditions[*EnvironmentBuilder]{b, &b.obj.Status.Conditions}
	return b
}

// DefaultRole sets spec.defaultRole.
func (b *EnvironmentBuilder) DefaultRole(r string) *EnvironmentBuilder {
	b.obj.Spec.DefaultRole = r
	return b
}

// Priority sets spec.rolePriority.
func (b *EnvironmentBuilder) Priority(r ...string) *EnvironmentBuilder {
	b.obj.Spec.RolePriority = r
	return b
}

// MultipleRoles sets spec.multipleRoles.
func (b *EnvironmentBuilder) MultipleRoles(on bool) *EnvironmentBuilder {
	b.obj.Spec.MultipleRoles = on
	return b
}

// Revision sets status.revision (the last published snapshot's).
func (b *EnvironmentBuilder) Revision(r int64) *EnvironmentBuilder {
	b.obj.Status.Revision = r
	return b
}

// Obj returns a copy of the Environment built so far.
func (b *EnvironmentBuilder) Obj() *orgrbacv1alpha1.Environment { return b.obj.DeepCopy() }

// RoleBuilder builds an environment Role.
type RoleBuilder struct {
	meta[*RoleBuilder]
	conditions[*RoleBuilder]
	obj orgrbacv1alpha1.Role
}

// MakeRole starts a Role named name (its slug, unless Slug sets another).
func MakeRole(name string) *RoleBuilder {
	b := &RoleBuilder{obj: orgrbacv1alpha1.Role{ObjectMeta: metav1.ObjectMeta{Name: name}}}
	b.meta = meta[*RoleBuilder]{b, &b.obj.ObjectMeta}
	b.conditions = conditions[*RoleBuilder]{b, &b.obj.Status.Conditions}
	return b
}

// Slug sets spec.slug.
func (b *RoleBuilder) Slug(s string) *RoleBuilder { b.obj.Spec.Slug = s; return b }

// DisplayName sets spec.displayName.
func (b *RoleBuilder) DisplayName(n string) *RoleBuilder { b.obj.Spec.DisplayName = n; return b }

// Description sets spec.description.
func (b *RoleBuilder) Description(d string) *RoleBuilder { b.obj.Spec.Description = d; return b }

// Perms sets spec.permissions.
func (b *RoleBuilder) Perms(p ...string) *RoleBuilder { b.obj.Spec.Permissions = p; return b }

// Obj returns a copy of the Role built so far.
func (b *RoleBuilder) Obj() *orgrbacv1alpha1.Role { return b.obj.DeepCopy() }

// OrganizationRoleBuilder builds an OrganizationRole.
type OrganizationRoleBuilder struct {
	meta[*OrganizationRoleBuilder]
	conditions[*OrganizationRoleBuilder]
	obj orgrbacv1alpha1.OrganizationRole
}

// MakeOrganizationRole starts an OrganizationRole named name.
func MakeOrganizationRole(name string) *OrganizationRoleBuilder {
	b := &OrganizationRoleBuilder{obj: orgrbacv1alpha1.OrganizationRole{ObjectMeta: metav1.ObjectMeta{Name: name}}}
	b.meta = meta[*OrganizationRoleBuilder]{b, &b.obj.ObjectMeta}
	b.conditions = conditions[*OrganizationRoleBuilder]{b, &b.obj.Status.Conditions}
	return b
}

// Org sets spec.organization.
func (b *OrganizationRoleBuilder) Org(org string) *OrganizationRoleBuilder {
	b.obj.Spec.Organization = org
	return b
}

// Slug sets spec.slug.
func (b *OrganizationRoleBuilder) Slug(s string) *OrganizationRoleBuilder {
	b.obj.Spec.Slug = s
	return b
}

// DisplayName sets spec.displayName.
func (b *OrganizationRoleBuilder) DisplayName(n string) *OrganizationRoleBuilder {
	b.obj.Spec.DisplayName = n
	return b
}

// Description sets spec.description.
func (b *OrganizationRoleBuilder) Description(d string) *OrganizationRoleBuilder {
	b.obj.Spec.Description = d
	return b
}

// Perms sets spec.permissions.
func (b *OrganizationRoleBuilder) Perms(p ...string) *OrganizationRoleBuilder {
	b.obj.Spec.Permissions = p
	return b
}

// Obj returns a copy of the OrganizationRole built so far.
func (b *OrganizationRoleBuilder) Obj() *orgrbacv1alpha1.OrganizationRole { return b.obj.DeepCopy() }

// GroupMappingBuilder builds a GroupMapping.
type GroupMappingBuilder struct {
	meta[*GroupMappingBuilder]
	conditions[*GroupMappingBuilder]
	obj orgrbacv1alpha1.GroupMapping
}

// MakeGroupMapping starts a GroupMapping named name.
func MakeGroupMapping(name string) *GroupMappingBuilder {
	b := &GroupMappingBuilder{obj: orgrbacv1alpha1.GroupMapping{ObjectMeta: metav1.ObjectMeta{Name: name}}}
	b.meta = meta[*GroupMappingBuilder]{b, &b.obj.ObjectMeta}
	b.conditions = conditions[*GroupMappingBuilder]{b, &b.obj.Status.Conditions}
	return b
}

// Org sets spec.organization.
func (b *GroupMappingBuilder) Org(org string) *GroupMappingBuilder {
	b.obj.Spec.Organization = org
	return b
}

// Directory maps the directory group g.
func (b *GroupMappingBuilder) Directory(g string) *GroupMappingBuilder {
	b.obj.Spec.Source, b.obj.Spec.Group = orgrbacv1alpha1.GroupSourceDirectory, g
	return b
}

// SSO maps the SSO group g.
func (b *GroupMappingBuilder) SSO(g string) *GroupMappingBuilder {
	b.obj.Spec.Source, b.obj.Spec.Group = orgrbacv1alpha1.GroupSourceSSO, g
	return b
}

// Role sets spec.role, the role members of the group get.
func (b *GroupMappingBuilder) Role(r string) *GroupMappingBuilder { b.obj.Spec.Role = r; return b }

// Obj returns a copy of the GroupMapping built so far.
func (b *GroupMappingBuilder) Obj() *orgrbacv1alpha1.GroupMapping { return b.obj.DeepCopy() }

// PermissionBuilder builds a Permission.
type PermissionBuilder struct {
	meta[*PermissionBuilder]
	conditions[*PermissionBuilder]
	obj orgrbacv1alpha1.Permission
}

// MakePermission starts a Permission named name (its slug, unless Slug sets another).
func MakePermission(name string) *PermissionBuilder {
	b := &PermissionBuilder{obj: orgrbacv1alpha1.Permission{ObjectMeta: metav1.ObjectMeta{Name: name}}}
	b.meta = meta[*PermissionBuilder]{b, &b.obj.ObjectMeta}
	b.conditions = conditions[*PermissionBuilder]{b, &b.obj.Status.Conditions}
	return b
}

// Slug sets spec.slug.
func (b *PermissionBuilder) Slug(s string) *PermissionBuilder { b.obj.Spec.Slug = s; return b }

// DisplayName sets spec.displayName.
func (b *PermissionBuilder) DisplayName(n string) *PermissionBuilder {
	b.obj.Spec.DisplayName = n
	return b
}

// Description sets spec.description.
func (b *PermissionBuilder) Description(d string) *PermissionBuilder {
	b.obj.Spec.Description = d
	return b
}

// Obj returns a copy of the Permission built so far.
func (b *PermissionBuilder) Obj() *orgrbacv1alpha1.Permission { return b.obj.DeepCopy() }
