package testobj_test

import (
	"reflect"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/testobj"
)

var (
	t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	t1 = t0.Add(time.Hour)
)

func objectMeta(name string) metav1.ObjectMeta {
	del := metav1.NewTime(t1)
	return metav1.ObjectMeta{Name: name, Namespace: "ns", CreationTimestamp: metav1.NewTime(t0), DeletionTimestamp: &del,
		Labels: map[string]string{"k": "v"}, Generation: 3}
}

func ready(ok bool, reason string) []metav1.Condition {
	st := metav1.ConditionFalse
	if ok {
		st = metav1.ConditionTrue
	}
	return []metav1.Condition{{Type: orgrbacv1alpha1.ConditionReady, Status: st, Reason: reason, LastTransitionTime: metav1.NewTime(t1)}}
}

// TestBuilders sets every field each builder offers and compares with the
// object written out.
func TestBuilders(t *testing.T) {
	for name, tc := range map[string]struct{ got, want any }{
		"membership": {
			testobj.MakeMembership("m").Namespace("ns").Created(t0).Deleting(t1).Label("k", "v").Generation(3).
				Org("acme").User("u").Email("u@example.com").Roles("editor", "viewer").Directory("d").SSO("s").
				State(orgrbacv1alpha1.MembershipInactive).Resolved("editor", "viewer").Permissions("a", "b").
				Ready(true, "Resolved", t0).Ready(true, "Resolved", t1).Obj(),
			&orgrbacv1alpha1.Membership{ObjectMeta: objectMeta("m"),
				Spec: orgrbacv1alpha1.MembershipSpec{Organization: "acme", User: "u", Email: "u@example.com",
					Roles: []string{"editor", "viewer"}, DirectoryGroups: []string{"d"}, SSOGroups: []string{"s"},
					State: orgrbacv1alpha1.MembershipInactive},
				Status: orgrbacv1alpha1.MembershipStatus{Role: "editor", Roles: []string{"editor", "viewer"},
					Source: orgrbacv1alpha1.SourceManual, Permissions: []string{"a", "b"},
					Assignments: []orgrbacv1alpha1.RoleAssignment{
						{Role: "editor", Source: orgrbacv1alpha1.SourceManual}, {Role: "viewer", Source: orgrbacv1alpha1.SourceManual}},
					Conditions: ready(true, "Resolved")}},
		},
		"membership without roles": {
			testobj.MakeMembership("m").Resolved("x").Resolved().Obj(),
			&orgrbacv1alpha1.Membership{ObjectMeta: metav1.ObjectMeta{Name: "m"}},
		},
		"organization": {
			testobj.MakeOrganization("o").Namespace("ns").Created(t0).Deleting(t1).Label("k", "v").Generation(3).
				DisplayName("O").ExternalID("org_1").DefaultRole("r").Priority("a", "b").Ready(false, "Duplicate", t1).Obj(),
			&orgrbacv1alpha1.Organization{ObjectMeta: objectMeta("o"),
				Spec: orgrbacv1alpha1.OrganizationSpec{DisplayName: "O", ExternalID: "org_1", DefaultRole: "r",
					RolePriority: []string{"a", "b"}},
				Status: orgrbacv1alpha1.OrganizationStatus{Conditions: ready(false, "Duplicate")}},
		},
		"environment": {
			testobj.MakeEnvironment("e").Namespace("ns").Created(t0).Deleting(t1).Label("k", "v").Generation(3).
				DefaultRole("r").Priority("a").MultipleRoles(true).Revision(7).Ready(true, "Resolved", t1).Obj(),
			&orgrbacv1alpha1.Environment{ObjectMeta: objectMeta("e"),
				Spec:   orgrbacv1alpha1.EnvironmentSpec{DefaultRole: "r", RolePriority: []string{"a"}, MultipleRoles: true},
				Status: orgrbacv1alpha1.EnvironmentStatus{Revision: 7, Conditions: ready(true, "Resolved")}},
		},
		"role": {
			testobj.MakeRole("r").Namespace("ns").Created(t0).Deleting(t1).Label("k", "v").Generation(3).
				Slug("s").DisplayName("R").Description("d").Perms("p").Ready(true, "Resolved", t1).Obj(),
			&orgrbacv1alpha1.Role{ObjectMeta: objectMeta("r"),
				Spec:   orgrbacv1alpha1.RoleSpec{Slug: "s", DisplayName: "R", Description: "d", Permissions: []string{"p"}},
				Status: orgrbacv1alpha1.RoleStatus{Conditions: ready(true, "Resolved")}},
		},
		"organization role": {
			testobj.MakeOrganizationRole("r").Namespace("ns").Created(t0).Deleting(t1).Label("k", "v").Generation(3).
				Org("acme").Slug("org-s").DisplayName("R").Description("d").Perms("p").Ready(true, "Resolved", t1).Obj(),
			&orgrbacv1alpha1.OrganizationRole{ObjectMeta: objectMeta("r"),
				Spec: orgrbacv1alpha1.OrganizationRoleSpec{Organization: "acme", Slug: "org-s", DisplayName: "R",
					Description: "d", Permissions: []string{"p"}},
				Status: orgrbacv1alpha1.OrganizationRoleStatus{Conditions: ready(true, "Resolved")}},
		},
		"directory group mapping": {
			testobj.MakeGroupMapping("g").Namespace("ns").Created(t0).Deleting(t1).Label("k", "v").Generation(3).
				Org("acme").Directory("eng").Role("editor").Ready(true, "Resolved", t1).Obj(),
			&orgrbacv1alpha1.GroupMapping{ObjectMeta: objectMeta("g"),
				Spec: orgrbacv1alpha1.GroupMappingSpec{Organization: "acme", Source: orgrbacv1alpha1.GroupSourceDirectory,
					Group: "eng", Role: "editor"},
				Status: orgrbacv1alpha1.GroupMappingStatus{Conditions: ready(true, "Resolved")}},
		},
		"sso group mapping": {
			testobj.MakeGroupMapping("g").SSO("eng").Obj(),
			&orgrbacv1alpha1.GroupMapping{ObjectMeta: metav1.ObjectMeta{Name: "g"},
				Spec: orgrbacv1alpha1.GroupMappingSpec{Source: orgrbacv1alpha1.GroupSourceSSO, Group: "eng"}},
		},
		"permission": {
			testobj.MakePermission("p").Namespace("ns").Created(t0).Deleting(t1).Label("k", "v").Generation(3).
				Slug("videos:view").DisplayName("P").Description("d").Ready(true, "Resolved", t1).Obj(),
			&orgrbacv1alpha1.Permission{ObjectMeta: objectMeta("p"),
				Spec:   orgrbacv1alpha1.PermissionSpec{Slug: "videos:view", DisplayName: "P", Description: "d"},
				Status: orgrbacv1alpha1.PermissionStatus{Conditions: ready(true, "Resolved")}},
		},
	} {
		t.Run(name, func(t *testing.T) {
			if !reflect.DeepEqual(tc.got, tc.want) {
				t.Errorf("built\n %+v\nwant\n %+v", tc.got, tc.want)
			}
		})
	}
}

// TestObjIsACopy checks that a builder can stamp out several objects: changing
// one built object, or the builder afterwards, leaves the others alone.
func TestObjIsACopy(t *testing.T) {
	b := testobj.MakeMembership("m").Org("acme").User("u").Roles("editor")
	first := b.Obj()
	first.Spec.Roles[0] = "changed"
	second := b.Roles("admin").Label("k", "v").Obj()
	if got := b.Obj().Spec.Roles; !reflect.DeepEqual(got, []string{"admin"}) {
		t.Errorf("the builder's roles = %v after changing a built object", got)
	}
	if first.Labels != nil || second.Labels["k"] != "v" {
		t.Errorf("labels: first %v, second %v", first.Labels, second.Labels)
	}
}

// TestPositionalAndFluentAgree ties the older positional helpers to the builders.
func TestPositionalAndFluentAgree(t *testing.T) {
	for name, tc := range map[string]struct{ positional, fluent any }{
		"membership": {
			testobj.Membership("m", "acme", "u", testobj.WithRoles("editor"), testobj.WithDirectory("d"),
				testobj.WithSSO("s"), testobj.WithState(orgrbacv1alpha1.MembershipPending)),
			testobj.MakeMembership("m").Org("acme").User("u").Roles("editor").Directory("d").SSO("s").
				State(orgrbacv1alpha1.MembershipPending).Obj(),
		},
		"environment": {
			testobj.Environment("e", "r", true, "a", "b"),
			testobj.MakeEnvironment("e").DefaultRole("r").MultipleRoles(true).Priority("a", "b").Obj(),
		},
		"role":         {testobj.Role("r", "p"), testobj.MakeRole("r").Perms("p").Obj()},
		"organization": {testobj.Organization("o", "r", "a"), testobj.MakeOrganization("o").DefaultRole("r").Priority("a").Obj()},
		"organization role": {
			testobj.OrganizationRole("n", "acme", "org-x", "p"),
			testobj.MakeOrganizationRole("n").Org("acme").Slug("org-x").Perms("p").Obj(),
		},
		"group mapping": {
			testobj.GroupMapping("g", "acme", orgrbacv1alpha1.GroupSourceSSO, "eng", "editor"),
			testobj.MakeGroupMapping("g").Org("acme").SSO("eng").Role("editor").Obj(),
		},
	} {
		if !reflect.DeepEqual(tc.positional, tc.fluent) {
			t.Errorf("%s: positional %+v, fluent %+v", name, tc.positional, tc.fluent)
		}
	}
}
