package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/yaml"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/api/store/storetest"
)

// The callers of TestRouteAccess, each granted some accesses in videos.
var accessCallers = map[string][]access{
	"checker": {mayCheck},
	"lister":  {mayListMemberships},
	"getter":  {mayGetMembership},
	"reader": {mayGetMembership, mayListMemberships, mayGetRole, mayListRoles, mayGetOrgRole, mayListOrgRoles,
		mayGetOrg, mayListOrgs, mayListEvents},
	"roles":    {mayGetRole, mayListRoles},
	"orgroles": {mayGetOrgRole, mayListOrgRoles},
	"orgs":     {mayGetOrg, mayListOrgs},
	"writer": {mayCreateMembership, mayUpdateMembership, mayDeleteMembership, mayCreateOrgRole, mayUpdateOrgRole,
		mayDeleteOrgRole},
	"minter":  {mayMintToken},
	"nothing": nil,
}

// A sample request of every route of routeTable, on the sample environment.
var routeSamples = map[string]struct{ method, target, body string }{
	"POST /v1/check": {"POST", "/v1/check", `{"organization":"acme","user":"u_alice","permission":"videos:view"}`},
	"POST /authorization/organization_memberships/{id}/check": {"POST",
		"/authorization/organization_memberships/alice/check", `{"permission_slug":"videos:view"}`},
	"GET /v1/organizations/{org}/memberships/{user}":               {"GET", "/v1/organizations/acme/memberships/u_alice", ""},
	"GET /v1/organizations/{org}/permissions/{permission}/members": {"GET", "/v1/organizations/acme/permissions/videos:view/members", ""},
	"GET /user_management/organization_memberships":                {"GET", "/user_management/organization_memberships", ""},
	"GET /user_management/organization_memberships/{id}":           {"GET", "/user_management/organization_memberships/alice", ""},
	"GET /authorization/roles":                                     {"GET", "/authorization/roles", ""},
	"GET /authorization/roles/{slug}":                              {"GET", "/authorization/roles/admin", ""},
	"GET /authorization/organizations/{id}/roles":                  {"GET", "/authorization/organizations/acme/roles", ""},
	"GET /authorization/organizations/{id}/roles/{slug}":           {"GET", "/authorization/organizations/acme/roles/org-producer", ""},
	"GET /organizations/{id}/roles":                                {"GET", "/organizations/org_acme/roles", ""},
	"GET /organizations":                                           {"GET", "/organizations", ""},
	"GET /organizations/{id}":                                      {"GET", "/organizations/org_acme", ""},
	"GET /organizations/external_id/{external_id}":                 {"GET", "/organizations/external_id/org_acme", ""},
	"GET /events": {"GET", "/events?events=organization_membership.created&limit=5", ""},
	"POST /user_management/organization_memberships": {"POST", "/user_management/organization_memberships",
		`{"user_id":"u_new","organization_id":"org_acme","role_slug":"member"}`},
	"PUT /user_management/organization_memberships/{id}": {"PUT", "/user_management/organization_memberships/alice",
		`{"role_slug":"editor"}`},
	"DELETE /user_management/organization_memberships/{id}":         {"DELETE", "/user_management/organization_memberships/alice", ""},
	"PUT /user_management/organization_memberships/{id}/deactivate": {"PUT", "/user_management/organization_memberships/alice/deactivate", ""},
	"PUT /user_management/organization_memberships/{id}/reactivate": {"PUT", "/user_management/organization_memberships/carol/reactivate", ""},
	"POST /authorization/organizations/{id}/roles": {"POST", "/authorization/organizations/org_acme/roles",
		`{"slug":"org-new","name":"New"}`},
	"PATCH /authorization/organizations/{id}/roles/{slug}": {"PATCH", "/authorization/organizations/org_acme/roles/org-producer",
		`{"name":"Producer"}`},
	"DELETE /authorization/organizations/{id}/roles/{slug}": {"DELETE", "/authorization/organizations/org_acme/roles/org-temp", ""},
	"POST /authorization/organizations/{id}/roles/{slug}/permissions": {"POST",
		"/authorization/organizations/org_acme/roles/org-producer/permissions", `{"slug":"videos:view"}`},
	"PUT /authorization/organizations/{id}/roles/{slug}/permissions": {"PUT",
		"/authorization/organizations/org_acme/roles/org-producer/permissions", `{"permissions":["videos:create","videos:view"]}`},
	"DELETE /authorization/organizations/{id}/roles/{slug}/permissions/{permission}": {"DELETE",
		"/authorization/organizations/org_acme/roles/org-producer/permissions/videos:create", ""},
	"POST /v1/tokens": {"POST", "/v1/tokens", `{"organization":"org_acme","user":"u_alice"}`},
}

// accessWriteClient is the write client of TestRouteAccess: it holds the
// sample environment's memberships and organization roles (and org-temp, a
// role nobody holds), and its writes store nothing, so that every caller
// allowed a write gets the same answer every time.
func accessWriteClient(t *testing.T) client.Client {
	t.Helper()
	sch := runtime.NewScheme()
	if err := orgrbacv1alpha1.AddToScheme(sch); err != nil {
		t.Fatal(err)
	}
	in := storetest.Sample()
	b := fake.NewClientBuilder().WithScheme(sch).WithInterceptorFuncs(interceptor.Funcs{
		Create: func(context.Context, client.WithWatch, client.Object, ...client.CreateOption) error { return nil },
		Update: func(context.Context, client.WithWatch, client.Object, ...client.UpdateOption) error { return nil },
		Delete: func(context.Context, client.WithWatch, client.Object, ...client.DeleteOption) error { return nil },
	})
	for i := range in.Memberships {
		b = b.WithObjects(&in.Memberships[i])
	}
	for i := range in.OrganizationRoles {
		b = b.WithObjects(&in.OrganizationRoles[i])
	}
	return b.WithObjects(&orgrbacv1alpha1.OrganizationRole{ObjectMeta: storetest.ObjMeta("acme-temp", 8),
		Spec: orgrbacv1alpha1.OrganizationRoleSpec{Organization: "acme", Slug: "org-temp"}}).Build()
}

// Every route × every caller: a success (2xx) with what the route table
// requires, 403 without (naming the missing access), and nothing served from
// a cached answer about another access.
func TestRouteAccess(t *testing.T) {
	// Every caller is denied most routes: the failure budgets must not throttle them.
	s, rev := newLimitedServer(t, Options{Client: accessWriteClient(t), Tokens: &fakeIssuer{}, Cache: sampleEventCache(t, 5),
		AuthCache: AuthCacheOptions{FailureQPS: 1e6, FailureBurst: 1e6, CallerFailureQPS: 1e6, CallerFailureBurst: 1e6}})
	rev.grants = map[string][]access{}
	for name, grants := range accessCallers {
		u := &userInfo{name: "system:serviceaccount:videos:" + name}
		rev.users[name] = u
		rev.grants[u.name+"/videos"] = grants
	}
	// The expectations, spelled out rather than derived from routeTable.
	want := map[string][]string{ // route -> the callers answered 2xx
		"POST /v1/check": {"checker"},
		"POST /authorization/organization_memberships/{id}/check":      {"checker"},
		"GET /v1/organizations/{org}/memberships/{user}":               {"getter", "reader"},
		"GET /v1/organizations/{org}/permissions/{permission}/members": {"lister", "reader"},
		"GET /user_management/organization_memberships":                {"lister", "reader"},
		"GET /user_management/organization_memberships/{id}":           {"getter", "reader"},
		"GET /authorization/roles":                                     {"reader", "roles"},
		"GET /authorization/roles/{slug}":                              {"reader", "roles"},
		"GET /authorization/organizations/{id}/roles":                  {"reader"},
		"GET /authorization/organizations/{id}/roles/{slug}":           {"reader"},
		"GET /organizations/{id}/roles":                                {"reader"},
		"GET /organizations":                                           {"orgs", "reader"},
		"GET /organizations/{id}":                                      {"orgs", "reader"},
		"GET /organizations/external_id/{external_id}":                 {"orgs", "reader"},
		"GET /events": {"reader"},
		"POST /user_management/organization_memberships":                                 {"writer"},
		"PUT /user_management/organization_memberships/{id}":                             {"writer"},
		"DELETE /user_management/organization_memberships/{id}":                          {"writer"},
		"PUT /user_management/organization_memberships/{id}/deactivate":                  {"writer"},
		"PUT /user_management/organization_memberships/{id}/reactivate":                  {"writer"},
		"POST /authorization/organizations/{id}/roles":                                   {"writer"},
		"PATCH /authorization/organizations/{id}/roles/{slug}":                           {"writer"},
		"DELETE /authorization/organizations/{id}/roles/{slug}":                          {"writer"},
		"POST /authorization/organizations/{id}/roles/{slug}/permissions":                {"writer"},
		"PUT /authorization/organizations/{id}/roles/{slug}/permissions":                 {"writer"},
		"DELETE /authorization/organizations/{id}/roles/{slug}/permissions/{permission}": {"writer"},
		"POST /v1/tokens": {"minter"},
	}
	if len(want) != len(routeTable) || len(routeSamples) != len(routeTable) {
		t.Fatalf("%d expectations and %d samples for %d routes", len(want), len(routeSamples), len(routeTable))
	}
	for _, rt := range routeTable {
		sample, ok := routeSamples[rt.pattern]
		if !ok {
			t.Fatalf("no sample request for %s", rt.pattern)
		}
		for name := range accessCallers {
			// Twice: the second answer comes from the access cache.
			for range 2 {
				w, _ := serve(s, sample.method, sample.target, name, sample.body)
				allowed := slices.Contains(want[rt.pattern], name)
				if success := w.Code >= 200 && w.Code < 300; success != allowed || !allowed && w.Code != http.StatusForbidden {
					t.Errorf("%s as %s: %d %s; want success %v (else 403)", rt.pattern, name, w.Code, w.Body, allowed)
					continue
				}
				if !allowed {
					var e errorObject
					if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Code != codeForbidden ||
						!strings.Contains(e.Message, "may not ") || !strings.Contains(e.Message, ".orgrbac.dev in namespace \"videos\"") {
						t.Errorf("%s as %s: 403 body %s", rt.pattern, name, w.Body)
					}
				}
			}
		}
	}
}

// The SubjectAccessReview asks for exactly the route's accesses, and a
// caller's answers for different accesses are cached apart.
func TestAccessCacheKeyIncludesTheAccess(t *testing.T) {
	s, rev := newLimitedServer(t, Options{})
	u := &userInfo{name: "system:serviceaccount:videos:checker"}
	rev.users["checker"] = u
	rev.grants = map[string][]access{u.name + "/videos": {mayCheck}}
	if w, _ := serve(s, "POST", "/v1/check", "checker", routeSamples["POST /v1/check"].body); w.Code != http.StatusOK {
		t.Fatalf("check: %d %s", w.Code, w.Body)
	}
	if w, _ := serve(s, "GET", "/user_management/organization_memberships", "checker", ""); w.Code != http.StatusForbidden {
		t.Fatalf("list after an allowed check: %d %s (served from the check's cached answer?)", w.Code, w.Body)
	} else if !strings.Contains(w.Body.String(), `may not list memberships.orgrbac.dev in namespace \"videos\"`) {
		t.Errorf("403 body %s does not name the missing access", w.Body)
	}
	if w, _ := serve(s, "POST", "/v1/check", "checker", routeSamples["POST /v1/check"].body); w.Code != http.StatusOK {
		t.Fatalf("check after a denied list: %d %s", w.Code, w.Body)
	}
	if want := []access{mayCheck, mayListMemberships}; !slices.Equal(rev.asked, want) {
		t.Errorf("SubjectAccessReviews for %v; want %v (then cached)", rev.asked, want)
	}
}

// docs/decision-api.md lists every route with exactly the accesses of
// routeTable, and config/rbac's api-caller and api-reader grant them.
func TestRouteTableMatchesTheDocs(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "docs", "decision-api.md"))
	if err != nil {
		t.Fatal(err)
	}
	// Rows of the table "| `ROUTE` | `verb resource` [and `verb resource`] | why |".
	row := regexp.MustCompile("(?m)^\\| `((?:GET|POST|PUT|PATCH|DELETE) [^`]+)` \\| (`[a-z]+ [a-z]+`(?: and `[a-z]+ [a-z]+`)*) \\|")
	documented := map[string]string{}
	for _, m := range row.FindAllStringSubmatch(string(data), -1) {
		documented[m[1]] = m[2]
	}
	for _, rt := range routeTable {
		var parts []string
		for _, a := range rt.needs {
			parts = append(parts, "`"+a.verb+" "+a.resource+"`")
		}
		if got, want := documented[rt.pattern], strings.Join(parts, " and "); got != want {
			t.Errorf("docs/decision-api.md: %s needs %q; routeTable says %q", rt.pattern, got, want)
		}
	}
	if len(documented) != len(routeTable) {
		t.Errorf("docs/decision-api.md documents %d routes, routeTable has %d", len(documented), len(routeTable))
	}
}

// config/rbac's api-caller grants the checks and nothing else; api-reader the
// reads (get, list) only; api-writer the writes only; api-token-minter the
// minting only. The aggregated viewer grants the reads and checks, not the
// writes or the minting; the editor the writes too, not the minting; the
// admin everything.
func TestShippedRolesGrantTheRoutes(t *testing.T) {
	grants := func(file string, a access) bool {
		t.Helper()
		data, err := os.ReadFile(filepath.Join("..", "..", "config", "rbac", file))
		if err != nil {
			t.Fatal(err)
		}
		var cr rbacv1.ClusterRole
		if err := yaml.UnmarshalStrict(data, &cr); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		return slices.ContainsFunc(cr.Rules, func(r rbacv1.PolicyRule) bool {
			return slices.Contains(r.APIGroups, CheckGroup) && slices.Contains(r.Resources, a.resource) &&
				(slices.Contains(r.Verbs, a.verb) || slices.Contains(r.Verbs, rbacv1.VerbAll))
		})
	}
	seen := map[string]bool{}
	for _, rt := range routeTable {
		for _, a := range rt.needs {
			isCheck, isMint := a == mayCheck, a == mayMintToken
			isRead := a.verb == "get" || a.verb == "list"
			isWrite := !isCheck && !isMint && !isRead
			if isWrite && !slices.Contains([]string{"create", "update", "delete"}, a.verb) {
				t.Errorf("%s needs %s: neither a check, a read, a write nor minting", rt.pattern, a)
			}
			kind := map[bool]string{true: "write"}[isWrite] + map[bool]string{true: "read"}[isRead] +
				map[bool]string{true: "check"}[isCheck] + map[bool]string{true: "mint"}[isMint]
			seen[kind] = true
			for _, role := range []struct {
				file string
				want bool
			}{
				{"api_caller_role.yaml", isCheck},
				{"api_reader_role.yaml", isRead},
				{"api_writer_role.yaml", isWrite},
				{"api_token_minter_role.yaml", isMint},
				{filepath.Join("aggregated", "viewer_role.yaml"), isRead || isCheck},
				{filepath.Join("aggregated", "editor_role.yaml"), !isMint},
				{filepath.Join("aggregated", "admin_role.yaml"), true},
			} {
				if got := grants(role.file, a); got != role.want {
					t.Errorf("%s grants %s: %v; want %v (%s)", role.file, a, got, role.want, rt.pattern)
				}
			}
		}
	}
	if len(seen) != 4 {
		t.Errorf("the route table needs %v; want checks, reads, writes and minting", seen)
	}
}

// Every route names at least one access (the server refuses to start
// otherwise), and a caller of a route naming none is refused, never served.
func TestEveryRouteNamesAnAccess(t *testing.T) {
	for _, rt := range routeTable {
		if len(rt.needs) == 0 {
			t.Errorf("route %s names no access", rt.pattern)
		}
	}
	s := &Server{log: logr.Discard()}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/v1/anything", nil)
	if _, allowed, done := s.allowedIn(rec, req, caller{userInfo: &userInfo{}}, "videos"); allowed || !done {
		t.Errorf("a route naming no access: allowed %v, done %v; want refused", allowed, done)
	}
	if rec.Code != http.StatusForbidden {
		t.Errorf("a route naming no access answered %d, want 403", rec.Code)
	}
}
