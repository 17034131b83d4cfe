package api

import (
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
	"sigs.k8s.io/yaml"
)

// The callers of TestRouteAccess, each granted some accesses in videos.
var accessCallers = map[string][]access{
	"checker":  {mayCheck},
	"lister":   {mayListMemberships},
	"getter":   {mayGetMembership},
	"reader":   {mayGetMembership, mayListMemberships, mayGetRole, mayListRoles, mayGetOrgRole, mayListOrgRoles},
	"roles":    {mayGetRole, mayListRoles},
	"orgroles": {mayGetOrgRole, mayListOrgRoles},
	"nothing":  nil,
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
}

// Every route × every caller: 200 with what the route table requires, 403
// without (naming the missing access), and nothing served from a cached
// answer about another access.
func TestRouteAccess(t *testing.T) {
	s, rev := newLimitedServer(t, Options{})
	rev.grants = map[string][]access{}
	for name, grants := range accessCallers {
		u := &userInfo{name: "system:serviceaccount:videos:" + name}
		rev.users[name] = u
		rev.grants[u.name+"/videos"] = grants
	}
	// The expectations, spelled out rather than derived from routeTable.
	want := map[string][]string{ // route -> the callers answered 200
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
				code := http.StatusForbidden
				if slices.Contains(want[rt.pattern], name) {
					code = http.StatusOK
				}
				if w.Code != code {
					t.Errorf("%s as %s: %d %s; want %d", rt.pattern, name, w.Code, w.Body, code)
					continue
				}
				if code == http.StatusForbidden {
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
	row := regexp.MustCompile("(?m)^\\| `((?:GET|POST) [^`]+)` \\| (`[a-z]+ [a-z]+`(?: and `[a-z]+ [a-z]+`)*) \\|")
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
// reads and no check; the aggregated viewer all of them.
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
				slices.Contains(r.Verbs, a.verb)
		})
	}
	for _, rt := range routeTable {
		for _, a := range rt.needs {
			isCheck := a == mayCheck
			if got := grants("api_caller_role.yaml", a); got != isCheck {
				t.Errorf("api-caller grants %s: %v; want %v (%s)", a, got, isCheck, rt.pattern)
			}
			if got := grants("api_reader_role.yaml", a); got == isCheck {
				t.Errorf("api-reader grants %s: %v; want %v (%s)", a, got, !isCheck, rt.pattern)
			}
			if !grants(filepath.Join("aggregated", "viewer_role.yaml"), a) {
				t.Errorf("the viewer ClusterRole does not grant %s (%s)", a, rt.pattern)
			}
		}
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
