package api

import (
	"net/http"
	"testing"
)

// Bad inputs of the decision API's split rights (security review L1): a caller
// that may only check (create permissionchecks) reads no member data.
func init() {
	checker := &userInfo{name: "system:serviceaccount:videos:checker"}
	badCallers = append(badCallers, func(f *fakeReviewer) {
		f.users["checker"] = checker
		if f.grants == nil {
			f.grants = map[string][]access{}
		}
		f.grants[checker.name+"/videos"] = []access{mayCheck}
	})
	moreBadInputs = append(moreBadInputs, func() []badRequest {
		read := func(name, target string) badRequest {
			return badRequest{area: "token", name: name, method: "GET", target: target, token: "checker",
				status: http.StatusForbidden, code: codeForbidden}
		}
		return []badRequest{
			read("a checker reads a membership", "/v1/organizations/acme/memberships/u_alice"),
			read("a checker reads the holders of a permission", "/v1/organizations/acme/permissions/videos:view/members"),
			read("a checker lists memberships", "/user_management/organization_memberships"),
			read("a checker gets a membership", "/user_management/organization_memberships/alice"),
		}
	})
}

// The checker of the catalog may check: its 403s above are about member data.
func TestBadInputCheckerMayCheck(t *testing.T) {
	s := newBadInputServer(t)
	w, _ := serve(s, "POST", "/v1/check", "checker", `{"organization":"acme","user":"u_alice","permission":"videos:view"}`)
	if w.Code != http.StatusOK {
		t.Fatalf("a checker's check: %d %s", w.Code, w.Body.String())
	}
}
