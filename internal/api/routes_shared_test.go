package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/orgrbac/orgrbac/internal/workos"
)

// GET /organizations/external_id/{external_id} and the legacy GET
// /organizations/{id}/roles overlap (/organizations/external_id/roles matches
// both), which http.ServeMux refuses: they are served under one pattern, each
// still needing its own accesses.
func TestSharedPatterns(t *testing.T) {
	s, rev := newLimitedServer(t, Options{})
	orgReader := &userInfo{name: "system:serviceaccount:videos:org-reader"}
	roleReader := &userInfo{name: "system:serviceaccount:videos:role-reader"}
	rev.users["org-reader"], rev.users["role-reader"] = orgReader, roleReader
	rev.grants = map[string][]access{
		orgReader.name + "/videos":  {mayGetOrg},
		roleReader.name + "/videos": {mayListOrgRoles, mayListRoles},
	}
	for _, tc := range []struct {
		target, caller string
		code           int
		want           string // in the body
	}{
		// The lookup by external id, whatever the id.
		{"/organizations/external_id/org_acme", "org-reader", http.StatusOK, `"object":"organization"`},
		{"/organizations/external_id/org_acme", "role-reader", http.StatusForbidden, "may not get organizations.orgrbac.dev"},
		{"/organizations/external_id/roles", "org-reader", http.StatusNotFound, "entity_not_found"},
		{"/organizations/external_id/roles", "role-reader", http.StatusForbidden, "may not get organizations.orgrbac.dev"},
		// The legacy roles route, for every other id.
		{"/organizations/org_acme/roles", "role-reader", http.StatusOK, `"object":"list"`},
		{"/organizations/org_acme/roles", "org-reader", http.StatusForbidden, "may not list organizationroles.orgrbac.dev"},
		// Neither: a path no route serves, to authenticated callers only.
		{"/organizations/org_acme/members", "org-reader", http.StatusNotFound, "could not be found"},
		{"/organizations/org_acme/members", "", http.StatusUnauthorized, "unauthorized"},
	} {
		w, _ := serve(s, "GET", tc.target, tc.caller, "")
		if w.Code != tc.code || !strings.Contains(w.Body.String(), tc.want) {
			t.Errorf("GET %s as %q: %d %s; want %d with %q", tc.target, tc.caller, w.Code, w.Body, tc.code, tc.want)
		}
	}
	// The legacy route answers as the route it stands for.
	legacy, _ := serve(s, "GET", "/organizations/org_acme/roles", "role-reader", "")
	current, _ := serve(s, "GET", "/authorization/organizations/org_acme/roles", "role-reader", "")
	var a, b listObject[workos.Role]
	if json.Unmarshal(legacy.Body.Bytes(), &a) != nil || json.Unmarshal(current.Body.Bytes(), &b) != nil || len(a.Data) == 0 ||
		legacy.Body.String() != current.Body.String() {
		t.Errorf("legacy roles %s; want the same as /authorization/organizations/org_acme/roles %s", legacy.Body, current.Body)
	}
	// Every pattern a shared pattern names is a route of the table, served once.
	for _, sp := range sharedPatterns {
		for _, p := range sp.routes {
			found := 0
			for _, rt := range routeTable {
				if rt.pattern == p {
					found++
				}
			}
			if found != 1 {
				t.Errorf("%s names %s, found %d times in routeTable", sp.pattern, p, found)
			}
		}
	}
}
