package api

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/resolve/orgidtest"
)

// orgidInput is a case of the shared organization-id table as cached objects:
// a Role "r" granting "p", and in every organization one Ready, Active member
// user_<organization> holding r.
func orgidInput(tc orgidtest.Case) *input {
	in := &input{Roles: []orgrbacv1alpha1.Role{{ObjectMeta: metav1.ObjectMeta{Name: "r", Namespace: "videos",
		CreationTimestamp: metav1.NewTime(orgidtest.T0)}, Spec: orgrbacv1alpha1.RoleSpec{Permissions: []string{"p"}}}}}
	for _, o := range tc.Orgs {
		meta := metav1.ObjectMeta{Name: o.Name, Namespace: "videos", CreationTimestamp: metav1.NewTime(o.Created())}
		in.Organizations = append(in.Organizations, orgrbacv1alpha1.Organization{ObjectMeta: meta,
			Spec: orgrbacv1alpha1.OrganizationSpec{ExternalID: o.ExternalID}})
		m := member(o.Name+"-m", o.Name, "user_"+o.Name, 0, orgrbacv1alpha1.MembershipActive, true, []string{"r"}, "p")
		m.CreationTimestamp = metav1.NewTime(o.Created())
		in.Memberships = append(in.Memberships, m)
	}
	return in
}

// The shared organization-id table (internal/resolve/orgidtest): the decision
// API answers as pkg/authz does for the same organizations. Every lookup path
// is checked: a check, an organization's own routes (answerOrg) and the
// membership list filtered by organization_id.
func TestOrganizationIDsSharedTable(t *testing.T) {
	for _, tc := range orgidtest.Cases {
		t.Run(tc.Name, func(t *testing.T) {
			c := buildContent(orgidInput(tc))
			for key, want := range tc.Lookups {
				got := ""
				if o := c.organization(key); o != nil {
					got = o.name
				}
				if got != want {
					t.Errorf("organization(%q) = %q, want %q", key, got, want)
				}
				for _, o := range tc.Orgs {
					if d := c.check(key, "user_"+o.Name, []string{"p"}); d.allowed != (o.Name == want) {
						t.Errorf("check(%q, user_%s) = %+v; %q should name %q", key, o.Name, d, key, want)
					}
				}
				if key == "" {
					continue // no organization_id filter
				}
				list, err := c.listMemberships(listQuery{organizationID: key, limit: 10})
				if err != nil {
					t.Fatal(err)
				}
				var users []string
				for _, m := range list.Data {
					users = append(users, m.UserID)
				}
				if (want == "" && len(users) != 0) || (want != "" && (len(users) != 1 || users[0] != "user_"+want)) {
					t.Errorf("memberships of organization_id %q: %q, want those of %q", key, users, want)
				}
			}
			// A duplicate's members grant nothing, whichever way they are asked
			// about, and are not listed under another organization's id.
			for _, name := range tc.Duplicates {
				m := c.members[name+"-m"]
				if m == nil {
					t.Fatalf("membership %s-m not indexed", name)
				}
				if d := decide(c.orgs[m.organization], m, []string{"p"}); d.allowed {
					t.Errorf("a member of duplicate %q is granted p", name)
				}
				if id, _ := c.orgID(m); id != name {
					t.Errorf("a member of duplicate %q is listed with organization_id %q, want its organization's name", name, id)
				}
			}
		})
	}
}
