// Package testobj builds orgrbac objects for tests: the minimal spec of each
// kind, without a namespace (the test's create helper sets it). The positional
// helpers of this file (Membership(name, org, user, opts...), ...) stay for the
// existing suites; new tests use the fluent builders of builders.go
// (MakeMembership("m1").Org("acme").User("u").Roles("editor").Obj(), ...),
// which also set metadata, status and the Ready condition.
package testobj

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
)

// Environment is an Environment with a default role, multipleRoles and a priority order.
func Environment(name, def string, multiple bool, priority ...string) *orgrbacv1alpha1.Environment {
	return &orgrbacv1alpha1.Environment{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: orgrbacv1alpha1.EnvironmentSpec{DefaultRole: def, MultipleRoles: multiple, RolePriority: priority}}
}

// Role is a Role named slug (its slug defaults to the name) granting perms.
func Role(slug string, perms ...string) *orgrbacv1alpha1.Role {
	return &orgrbacv1alpha1.Role{ObjectMeta: metav1.ObjectMeta{Name: slug},
		Spec: orgrbacv1alpha1.RoleSpec{Permissions: perms}}
}

// Organization is an Organization with a default role and a priority order.
func Organization(name, def string, priority ...string) *orgrbacv1alpha1.Organization {
	return &orgrbacv1alpha1.Organization{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: orgrbacv1alpha1.OrganizationSpec{DefaultRole: def, RolePriority: priority}}
}

// OrganizationRole is an OrganizationRole of org with a slug and permissions.
func OrganizationRole(name, org, slug string, perms ...string) *orgrbacv1alpha1.OrganizationRole {
	return &orgrbacv1alpha1.OrganizationRole{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: orgrbacv1alpha1.OrganizationRoleSpec{Organization: org, Slug: slug, Permissions: perms}}
}

// GroupMapping maps group of src in org to role.
func GroupMapping(name, org string, src orgrbacv1alpha1.GroupSource, group, role string) *orgrbacv1alpha1.GroupMapping {
	return &orgrbacv1alpha1.GroupMapping{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: orgrbacv1alpha1.GroupMappingSpec{Organization: org, Source: src, Group: group, Role: role}}
}

// MemberOpt sets one field of a Membership.
type MemberOpt func(*orgrbacv1alpha1.Membership)

// WithRoles sets the hand-assigned roles.
func WithRoles(r ...string) MemberOpt {
	return func(m *orgrbacv1alpha1.Membership) { m.Spec.Roles = r }
}

// WithDirectory sets the directory groups.
func WithDirectory(g ...string) MemberOpt {
	return func(m *orgrbacv1alpha1.Membership) { m.Spec.DirectoryGroups = g }
}

// WithSSO sets the SSO groups.
func WithSSO(g ...string) MemberOpt {
	return func(m *orgrbacv1alpha1.Membership) { m.Spec.SSOGroups = g }
}

// WithState sets the membership state.
func WithState(s orgrbacv1alpha1.MembershipState) MemberOpt {
	return func(m *orgrbacv1alpha1.Membership) { m.Spec.State = s }
}

// Membership is user's Membership of org, with opts applied.
func Membership(name, org, user string, opts ...MemberOpt) *orgrbacv1alpha1.Membership {
	m := &orgrbacv1alpha1.Membership{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: orgrbacv1alpha1.MembershipSpec{Organization: org, User: user}}
	for _, o := range opts {
		o(m)
	}
	return m
}
