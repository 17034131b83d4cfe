package model

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/resolve"
)

func TestInput(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	gone := metav1.NewTime(t0.Add(time.Hour))
	om := func(name string, s int) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, Namespace: "videos", CreationTimestamp: metav1.NewTime(t0.Add(time.Duration(s) * time.Second))}
	}
	deletingMeta := func(name string) metav1.ObjectMeta {
		m := om(name, 9)
		m.DeletionTimestamp, m.Finalizers = &gone, []string{"orgrbac.dev/x"}
		return m
	}
	meta := func(name string, s int) resolve.Meta {
		return resolve.Meta{Name: name, Created: t0.Add(time.Duration(s) * time.Second)}
	}
	for _, tc := range []struct {
		name string
		objs Objects
		want resolve.Input
	}{
		{name: "empty", want: resolve.Input{}},
		{
			name: "every kind",
			objs: Objects{
				Environments: []orgrbacv1alpha1.Environment{{ObjectMeta: om("env", 1), Spec: orgrbacv1alpha1.EnvironmentSpec{
					DefaultRole: "member", RolePriority: []string{"admin", "member"}, MultipleRoles: true}}},
				Roles: []orgrbacv1alpha1.Role{
					{ObjectMeta: om("admin-role", 2), Spec: orgrbacv1alpha1.RoleSpec{Slug: "admin", Permissions: []string{"videos:write"}}},
					{ObjectMeta: om("member", 3), Spec: orgrbacv1alpha1.RoleSpec{Permissions: []string{"videos:read"}}},
				},
				Organizations: []orgrbacv1alpha1.Organization{{ObjectMeta: om("acme", 4), Spec: orgrbacv1alpha1.OrganizationSpec{
					ExternalID: "org_01", DefaultRole: "org-viewer", RolePriority: []string{"org-viewer"}}}},
				OrganizationRoles: []orgrbacv1alpha1.OrganizationRole{{ObjectMeta: om("acme-viewer", 5), Spec: orgrbacv1alpha1.OrganizationRoleSpec{
					Organization: "acme", Slug: "org-viewer", Permissions: []string{"videos:read"}}}},
				GroupMappings: []orgrbacv1alpha1.GroupMapping{{ObjectMeta: om("acme-admins", 6), Spec: orgrbacv1alpha1.GroupMappingSpec{
					Organization: "acme", Source: orgrbacv1alpha1.GroupSourceDirectory, Group: "g1", Role: "admin"}}},
			},
			want: resolve.Input{
				Environments: []resolve.Environment{{Meta: meta("env", 1), DefaultRole: "member",
					RolePriority: []string{"admin", "member"}, MultipleRoles: true}},
				Roles: []resolve.Role{
					{Meta: meta("admin-role", 2), Slug: "admin", Permissions: []string{"videos:write"}},
					{Meta: meta("member", 3), Slug: "member", Permissions: []string{"videos:read"}}, // slug: the name
				},
				Organizations: []resolve.Organization{{Meta: meta("acme", 4), ExternalID: "org_01",
					DefaultRole: "org-viewer", RolePriority: []string{"org-viewer"}}},
				OrganizationRoles: []resolve.OrganizationRole{{Meta: meta("acme-viewer", 5), Organization: "acme",
					Slug: "org-viewer", Permissions: []string{"videos:read"}}},
				GroupMappings: []resolve.GroupMapping{{Meta: meta("acme-admins", 6), Organization: "acme",
					Source: resolve.SourceDirectory, Group: "g1", Role: "admin"}},
			},
		},
		{
			name: "objects being deleted are left out",
			objs: Objects{
				Environments:      []orgrbacv1alpha1.Environment{{ObjectMeta: deletingMeta("env")}},
				Roles:             []orgrbacv1alpha1.Role{{ObjectMeta: deletingMeta("member")}, {ObjectMeta: om("admin", 1)}},
				Organizations:     []orgrbacv1alpha1.Organization{{ObjectMeta: deletingMeta("acme")}},
				OrganizationRoles: []orgrbacv1alpha1.OrganizationRole{{ObjectMeta: deletingMeta("acme-viewer")}},
				GroupMappings:     []orgrbacv1alpha1.GroupMapping{{ObjectMeta: deletingMeta("acme-admins")}},
			},
			want: resolve.Input{Roles: []resolve.Role{{Meta: meta("admin", 1), Slug: "admin"}}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, Input(tc.objs), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Input (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCompileIsCompileOfInput(t *testing.T) {
	objs := Objects{Roles: []orgrbacv1alpha1.Role{{ObjectMeta: metav1.ObjectMeta{Name: "member"}}},
		Organizations: []orgrbacv1alpha1.Organization{{ObjectMeta: metav1.ObjectMeta{Name: "acme"}}}}
	env := Compile(objs)
	if v := env.Organization("acme"); v == nil || !v.Defines("member") {
		t.Errorf("Compile: organizations %v", env.OrganizationNames())
	}
}
