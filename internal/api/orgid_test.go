package api

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"

	"github.com/go-logr/logr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/api/store"
	"github.com/orgrbac/orgrbac/internal/api/store/storetest"
	"github.com/orgrbac/orgrbac/internal/model"
	"github.com/orgrbac/orgrbac/internal/resolve/orgidtest"
	"github.com/orgrbac/orgrbac/internal/workos"
)

// orgidInput is a case of the shared organization-id table as cached objects:
// a Role "r" granting "p", and in every organization one Ready, Active member
// user_<organization> holding r.
func orgidInput(tc orgidtest.Case) *storetest.Objects {
	in := &storetest.Objects{Objects: model.Objects{Roles: []orgrbacv1alpha1.Role{{ObjectMeta: metav1.ObjectMeta{Name: "r", Namespace: "videos",
		CreationTimestamp: metav1.NewTime(orgidtest.T0)}, Spec: orgrbacv1alpha1.RoleSpec{Permissions: []string{"p"}}}}}}
	for _, o := range tc.Orgs {
		meta := metav1.ObjectMeta{Name: o.Name, Namespace: "videos", CreationTimestamp: metav1.NewTime(o.Created())}
		in.Organizations = append(in.Organizations, orgrbacv1alpha1.Organization{ObjectMeta: meta,
			Spec: orgrbacv1alpha1.OrganizationSpec{ExternalID: o.ExternalID}})
		m := storetest.Member(o.Name+"-m", o.Name, "user_"+o.Name, 0, orgrbacv1alpha1.MembershipActive, true, []string{"r"}, "p")
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
			c := contentOf(orgidInput(tc))
			for key, want := range tc.Lookups {
				got := ""
				if o := c.Organization(key); o != nil {
					got = o.Name()
				}
				if got != want {
					t.Errorf("organization(%q) = %q, want %q", key, got, want)
				}
				for _, o := range tc.Orgs {
					if d := c.Check(key, "user_"+o.Name, []string{"p"}); d.Allowed != (o.Name == want) {
						t.Errorf("check(%q, user_%s) = %+v; %q should name %q", key, o.Name, d, key, want)
					}
				}
				if key == "" {
					continue // no organization_id filter
				}
				list, err := listMembershipsOf(c, listQuery{paging: paging{limit: 10}, organizationID: key})
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
			// about, and are served nowhere: not by id, not in any list, and
			// never under their organization's raw name, which may be another
			// organization's id.
			all, err := listMembershipsOf(c, listQuery{paging: paging{limit: 100}})
			if err != nil {
				t.Fatal(err)
			}
			listed := map[string]string{}
			for _, mo := range all.Data {
				listed[mo.ID] = mo.OrganizationID
			}
			for _, o := range tc.Orgs {
				name := o.Name
				i := slices.IndexFunc(c.Memberships(), func(m *store.Member) bool { return m.Name() == name+"-m" })
				if i < 0 {
					t.Fatalf("membership %s-m not indexed", name)
				}
				m := c.Memberships()[i]
				if !slices.Contains(tc.Duplicates, name) {
					if c.Membership(name+"-m") != m {
						t.Errorf("the member of %q is not served", name)
					}
					want := o.ExternalID
					if want == "" {
						want = name
					}
					if listed[name+"-m"] != want {
						t.Errorf("the member of %q is listed with organization_id %q, want %q", name, listed[name+"-m"], want)
					}
					continue
				}
				if d := store.Decide(c.OrganizationOf(m), m, []string{"p"}); d.Allowed {
					t.Errorf("a member of duplicate %q is granted p", name)
				}
				if got := c.Membership(name + "-m"); got != nil {
					t.Errorf("a member of duplicate %q is served by id", name)
				}
				if id, ok := listed[name+"-m"]; ok {
					t.Errorf("a member of duplicate %q is listed, with organization_id %q", name, id)
				}
				if id, _ := c.OrgID(m); id != "" {
					t.Errorf("a member of duplicate %q has organization_id %q, want none", name, id)
				}
				byUser, err := listMembershipsOf(c, listQuery{paging: paging{limit: 10}, userID: "user_" + name})
				if err != nil {
					t.Fatal(err)
				}
				if len(byUser.Data) != 0 {
					t.Errorf("a member of duplicate %q is listed by user_id: %+v", name, byUser.Data)
				}
				if _, err := listMembershipsOf(c, listQuery{paging: paging{after: name + "-m", limit: 10}}); err == nil {
					t.Errorf("a member of duplicate %q is accepted as a cursor", name)
				}
			}
			if want := len(tc.Orgs) - len(tc.Duplicates); len(all.Data) != want {
				t.Errorf("the unfiltered list holds %d memberships, want %d", len(all.Data), want)
			}
		})
	}
}

// The review's case through the HTTP routes: the older acme has externalID
// globex, and a younger organization named globex got past the webhook. Its
// member is not served as an active member of organization_id "globex" (which
// is acme's) by any membership route; acme's member is.
func TestDuplicateOrganizationMembersAreNotServed(t *testing.T) {
	tc := orgidtest.Case{Orgs: []orgidtest.Org{{Name: "acme", ExternalID: "globex"}, {Name: "globex", Age: 1}}}
	rev := &fakeReviewer{users: map[string]*userInfo{"app": videosApp}, allowed: map[string]bool{videosApp.name + "/videos": true}}
	s := &Server{opts: Options{Clock: clock.RealClock{}}, log: logr.Discard(), store: store.New(nil, clock.RealClock{}, logr.Discard()),
		auth: newAuthCache(rev, AuthCacheOptions{}, clock.RealClock{})}
	in := orgidInput(tc)
	s.store.Load("videos", in.Objects, in.Memberships, 1)
	s.routes()

	get := func(method, target, body string, wantCode int) []byte {
		t.Helper()
		w, _ := serve(s, method, target, "app", body)
		if w.Code != wantCode {
			t.Fatalf("%s %s: %d %s, want %d", method, target, w.Code, w.Body, wantCode)
		}
		return w.Body.Bytes()
	}
	get(http.MethodGet, "/user_management/organization_memberships/globex-m?namespace=videos", "", http.StatusNotFound)
	get(http.MethodPost, "/authorization/organization_memberships/globex-m/check?namespace=videos",
		`{"permission_slug":"p"}`, http.StatusNotFound)
	get(http.MethodGet, "/v1/organizations/globex/memberships/user_globex?namespace=videos", "", http.StatusNotFound)

	var one workos.Membership
	if err := json.Unmarshal(get(http.MethodGet, "/user_management/organization_memberships/acme-m?namespace=videos", "",
		http.StatusOK), &one); err != nil {
		t.Fatal(err)
	}
	if one.OrganizationID != "globex" || one.UserID != "user_acme" || one.Status != "active" {
		t.Errorf("acme's member: %+v", one)
	}
	for _, target := range []string{"/user_management/organization_memberships?namespace=videos",
		"/user_management/organization_memberships?namespace=videos&organization_id=globex",
		"/user_management/organization_memberships?namespace=videos&user_id=user_globex"} {
		var list listObject[workos.Membership]
		if err := json.Unmarshal(get(http.MethodGet, target, "", http.StatusOK), &list); err != nil {
			t.Fatal(err)
		}
		for _, m := range list.Data {
			if m.UserID != "user_acme" || m.OrganizationID != "globex" {
				t.Errorf("%s lists %+v", target, m)
			}
		}
	}
}
