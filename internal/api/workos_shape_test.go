package api

import (
	"encoding/json"
	"net/http"
	"reflect"
	"slices"
	"testing"

	"github.com/orgrbac/orgrbac/internal/api/store/storetest"
	"github.com/orgrbac/orgrbac/internal/workos"
)

// The membership list holds the active memberships unless statuses asks for
// others, as WorkOS's.
func TestShapeMembershipListDefaultsToActive(t *testing.T) {
	s, _ := newLimitedServer(t, Options{})
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"organization_id=org_acme&order=asc", []string{"alice-dup", "alice", "bob"}},
		{"organization_id=org_acme&order=asc&statuses=inactive", []string{"carol", "erin"}},
		{"organization_id=org_acme&order=asc&statuses=pending,active", []string{"alice-dup", "alice", "bob", "dave"}},
		{"organization_id=org_acme&order=asc&statuses=active,inactive,pending", []string{"alice-dup", "alice", "bob", "carol", "dave", "erin"}},
		{"user_id=u_frank", []string{"frank"}},
	} {
		w, _ := serve(s, http.MethodGet, "/user_management/organization_memberships?"+tc.query, "app", "")
		var l listObject[workos.Membership]
		if err := json.Unmarshal(w.Body.Bytes(), &l); err != nil || w.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", tc.query, w.Code, w.Body)
		}
		var ids []string
		for _, m := range l.Data {
			ids = append(ids, m.ID)
		}
		if !slices.Equal(ids, tc.want) {
			t.Errorf("%s: %v, want %v", tc.query, ids, tc.want)
		}
	}
}

// Role objects carry WorkOS's resource_type_slug, and a null description when
// they have none.
func TestShapeRoleObjects(t *testing.T) {
	s, _ := newLimitedServer(t, Options{})
	for _, tc := range []struct {
		target      string
		description any
	}{
		{"/authorization/roles/admin", "All"},
		{"/authorization/roles/editor", nil},
		{"/authorization/organizations/org_acme/roles/org-producer", nil},
	} {
		w, _ := serve(s, http.MethodGet, tc.target, "app", "")
		var raw map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &raw); err != nil || w.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", tc.target, w.Code, w.Body)
		}
		desc, ok := raw["description"]
		if !ok || desc != tc.description || raw["resource_type_slug"] != "organization" || raw["object"] != "role" {
			t.Errorf("%s: %s", tc.target, w.Body)
		}
		// The SDKs' decoding of it is unchanged.
		var r workos.Role
		if err := json.Unmarshal(w.Body.Bytes(), &r); err != nil || r.Slug == "" {
			t.Errorf("%s: decoded %+v, %v", tc.target, r, err)
		}
	}
}

// role is never null on a membership that has roles: a status without a
// primary role (written by an older controller) gives its first role.
func TestShapeMembershipRoleNeverNull(t *testing.T) {
	in := storetest.Sample()
	in.Memberships[1].Status.Role = "" // bob: roles org-producer, member
	c := contentOf(in)
	for _, tc := range []struct {
		name string
		want *workos.SlugRef
	}{
		{"bob", &workos.SlugRef{Slug: "org-producer"}},
		{"alice", &workos.SlugRef{Slug: "admin"}},
		{"alice-dup", nil}, // no roles: no role
	} {
		got := workos.MembershipOf(c, c.Membership(tc.name)).Role
		if (got == nil) != (tc.want == nil) || got != nil && *got != *tc.want {
			t.Errorf("%s: role %v, want %v", tc.name, got, tc.want)
		}
	}
}

// WorkOS checks accept the membership's organization as the resource; any
// other resource is not found, and malformed resource fields are refused.
func TestShapeResourceChecks(t *testing.T) {
	s, _ := newLimitedServer(t, Options{})
	frank := "/authorization/organization_memberships/frank/check" // globex: its WorkOS id is its name
	alice := "/authorization/organization_memberships/alice/check"
	for _, tc := range []struct {
		name, target, body string
		code               int
		errCode, field     string
		authorized         bool
	}{
		{"no resource", alice, `{"permission_slug":"videos:delete"}`, 200, "", "", true},
		{"the organization by external id", alice,
			`{"permission_slug":"videos:delete","resource_type_slug":"organization","resource_external_id":"org_acme"}`, 200, "", "", true},
		{"the organization by id", alice, `{"permission_slug":"videos:delete","resource_id":"org_acme"}`, 200, "", "", true},
		{"not granted on the organization", alice,
			`{"permission_slug":"videos:create","resource_type_slug":"organization","resource_external_id":"org_acme"}`, 200, "", "", false},
		{"an organization without external id", frank,
			`{"permission_slug":"videos:view","resource_type_slug":"organization","resource_external_id":"globex"}`, 200, "", "", true},
		{"the organization's name is not its id", alice, `{"permission_slug":"videos:delete","resource_id":"acme"}`,
			404, codeNotFound, "", false},
		{"another organization", alice,
			`{"permission_slug":"videos:delete","resource_type_slug":"organization","resource_external_id":"globex"}`,
			404, codeNotFound, "", false},
		{"another organization by id", frank, `{"permission_slug":"videos:view","resource_id":"org_acme"}`,
			404, codeNotFound, "", false},
		{"another resource type", alice,
			`{"permission_slug":"videos:delete","resource_type_slug":"video","resource_external_id":"v1"}`,
			404, codeNotFound, "", false},
		{"resource_id and an external id", alice,
			`{"permission_slug":"videos:delete","resource_id":"org_acme","resource_type_slug":"organization","resource_external_id":"org_acme"}`,
			422, codeInvalid, "resource_id", false},
		{"an external id without type", alice, `{"permission_slug":"videos:delete","resource_external_id":"org_acme"}`,
			422, codeInvalid, "resource_type_slug", false},
		{"a type without external id", alice, `{"permission_slug":"videos:delete","resource_type_slug":"organization"}`,
			422, codeInvalid, "resource_external_id", false},
	} {
		w, _ := serve(s, http.MethodPost, tc.target, "app", tc.body)
		if w.Code != tc.code {
			t.Errorf("%s: %d %s, want %d", tc.name, w.Code, w.Body, tc.code)
			continue
		}
		if tc.errCode == "" {
			var res checkResult
			if err := json.Unmarshal(w.Body.Bytes(), &res); err != nil || res.Authorized != tc.authorized {
				t.Errorf("%s: %s, want authorized %v", tc.name, w.Body, tc.authorized)
			}
			continue
		}
		var e errorObject
		if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Code != tc.errCode ||
			tc.field != "" && (len(e.Errors) != 1 || e.Errors[0].Field != tc.field) {
			t.Errorf("%s: %s, want %s on %q", tc.name, w.Body, tc.errCode, tc.field)
		}
	}
}

// Roles and memberships become WorkOS's role and organization_membership
// objects, names, types and times included.
func TestShapeRoleAndMembershipObjects(t *testing.T) {
	c := contentOf(storetest.Sample())
	acme := c.Organization("org_acme")
	r := workos.RoleOf(acme.RoleBySlug("org-producer"))
	want := workos.Role{Object: "role", ID: "acme-producer", Name: "org-producer", Slug: "org-producer",
		Permissions: []string{"videos:create"}, Type: "OrganizationRole",
		CreatedAt: "2026-01-02T03:10:05.000Z", UpdatedAt: "2026-01-02T03:10:05.000Z"}
	if !reflect.DeepEqual(r, want) {
		t.Errorf("role object %+v, want %+v", r, want)
	}
	if got := workos.RoleOf(c.EnvironmentRole("editor")); got.Name != "Editor" || got.Type != "EnvironmentRole" {
		t.Errorf("editor role object %+v", got)
	}

	mo := workos.MembershipOf(c, c.Membership("bob"))
	wantM := workos.Membership{Object: "organization_membership", ID: "bob", UserID: "u_bob", OrganizationID: "org_acme",
		OrganizationName: "Acme Inc.", Status: "active", Role: &workos.SlugRef{Slug: "org-producer"},
		Roles: []workos.SlugRef{{Slug: "org-producer"}, {Slug: "member"}}, CustomAttributes: map[string]string{},
		CreatedAt: "2026-01-02T03:15:05.000Z", UpdatedAt: "2026-01-02T03:16:05.000Z"}
	if !reflect.DeepEqual(mo, wantM) {
		t.Errorf("membership object\n got %+v\nwant %+v", mo, wantM)
	}
	if got := workos.MembershipOf(c, c.Membership("carol")).Status; got != "inactive" {
		t.Errorf("carol's status %q, want inactive", got)
	}
}
