package index

import (
	"reflect"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
)

func TestMembershipExtractors(t *testing.T) {
	m := &orgrbacv1alpha1.Membership{
		Spec: orgrbacv1alpha1.MembershipSpec{
			Organization: "acme", User: "u1",
			Roles:           []string{"editor", "admin", "editor"},
			DirectoryGroups: []string{"g2", "g1"},
			SSOGroups:       []string{"g1"},
		},
		Status: orgrbacv1alpha1.MembershipStatus{Roles: []string{"viewer", "admin"}, Source: orgrbacv1alpha1.SourceDirectory},
	}
	empty := &orgrbacv1alpha1.Membership{Spec: orgrbacv1alpha1.MembershipSpec{Organization: "acme", User: "u2"}}

	tests := map[string]struct {
		fn   func(*orgrbacv1alpha1.Membership) []string
		m    *orgrbacv1alpha1.Membership
		want []string
	}{
		"organization":               {MembershipOrganization, m, []string{"acme"}},
		"org and user":               {MembershipOrgUser, m, []string{"acme\x00u1"}},
		"role refs: spec and status": {MembershipRoleRefs, m, []string{"admin", "editor", "viewer"}},
		"role refs: none":            {MembershipRoleRefs, empty, nil},
		"groups of both sources": {MembershipGroups, m, []string{
			GroupKey("acme", orgrbacv1alpha1.GroupSourceDirectory, "g1"),
			GroupKey("acme", orgrbacv1alpha1.GroupSourceDirectory, "g2"),
			GroupKey("acme", orgrbacv1alpha1.GroupSourceSSO, "g1"),
		}},
		"groups: none":           {MembershipGroups, empty, nil},
		"resolution: source":     {MembershipResolution, m, []string{"Directory"}},
		"resolution: unresolved": {MembershipResolution, empty, []string{NotResolved}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := tc.fn(tc.m); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	if !reflect.DeepEqual(m.Spec.Roles, []string{"editor", "admin", "editor"}) {
		t.Errorf("an extractor modified the object: %q", m.Spec.Roles)
	}
}

func TestOtherExtractors(t *testing.T) {
	named := &orgrbacv1alpha1.Role{ObjectMeta: metav1.ObjectMeta{Name: "admin"}}
	slugged := &orgrbacv1alpha1.Role{ObjectMeta: metav1.ObjectMeta{Name: "admin-role"}, Spec: orgrbacv1alpha1.RoleSpec{Slug: "admin_v2"}}
	gm := &orgrbacv1alpha1.GroupMapping{Spec: orgrbacv1alpha1.GroupMappingSpec{Organization: "acme", Role: "admin"}}
	or := &orgrbacv1alpha1.OrganizationRole{Spec: orgrbacv1alpha1.OrganizationRoleSpec{Organization: "acme", Slug: "org-x"}}
	org := &orgrbacv1alpha1.Organization{Spec: orgrbacv1alpha1.OrganizationSpec{DefaultRole: "viewer", RolePriority: []string{"admin", "viewer"}}}

	tests := map[string]struct {
		got, want []string
	}{
		"role slug defaults to the name": {RoleSlug(named), []string{"admin"}},
		"role slug from spec":            {RoleSlug(slugged), []string{"admin_v2"}},
		"mapping organization":           {GroupMappingOrganization(gm), []string{"acme"}},
		"mapping role":                   {GroupMappingRole(gm), []string{"admin"}},
		"organization role organization": {OrganizationRoleOrganization(or), []string{"acme"}},
		"organization role refs":         {OrganizationRoleRefs(org), []string{"admin", "viewer"}},
		"organization without refs":      {OrganizationRoleRefs(&orgrbacv1alpha1.Organization{}), nil},
		"organization ids: name and externalID": {OrganizationIDs(&orgrbacv1alpha1.Organization{ObjectMeta: metav1.ObjectMeta{Name: "acme"},
			Spec: orgrbacv1alpha1.OrganizationSpec{ExternalID: "org_acme"}}), []string{"acme", "org_acme"}},
		"organization ids: no externalID": {OrganizationIDs(&orgrbacv1alpha1.Organization{ObjectMeta: metav1.ObjectMeta{Name: "acme"}}),
			[]string{"acme"}},
		"organization ids: externalID equal to the name": {OrganizationIDs(&orgrbacv1alpha1.Organization{ObjectMeta: metav1.ObjectMeta{Name: "acme"},
			Spec: orgrbacv1alpha1.OrganizationSpec{ExternalID: "acme"}}), []string{"acme"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if !reflect.DeepEqual(tc.got, tc.want) {
				t.Errorf("got %q, want %q", tc.got, tc.want)
			}
		})
	}
}

func TestKeysDoNotCollide(t *testing.T) {
	// A separator that slugs, names and group ids cannot contain keeps keys apart.
	if OrgUserKey("a-b", "c") == OrgUserKey("a", "b-c") {
		t.Error("OrgUserKey collides")
	}
	if GroupKey("a", orgrbacv1alpha1.GroupSourceSSO, "g") == GroupKey("a", orgrbacv1alpha1.GroupSourceDirectory, "g") {
		t.Error("GroupKey ignores the source")
	}
}
