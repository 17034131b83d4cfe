package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/go-logr/logr"
	"k8s.io/utils/clock"

	"github.com/orgrbac/orgrbac/internal/api/store"
	"github.com/orgrbac/orgrbac/internal/api/store/storetest"
	"github.com/orgrbac/orgrbac/internal/badinput"
)

// The bad-input catalog of the decision API (issue #13; docs/security.md,
// "Bad-input catalog"): every entry is a request a client must never get
// anything but a clean refusal for. Each one goes to the real handlers, over
// TLS, with the fake reviewer, and must be answered with its status code and
// WorkOS error code, a JSON error object, no membership data of any namespace
// and no panic.
//
// To add an entry, append it to badAPIInputs below with the answer the API
// must give; minBadAPIInputs is the floor the catalog may not shrink below.

// minBadAPIInputs is this package's share of the catalog's 120 inputs (see
// docs/security.md: the CRD and snapshot catalogs have floors of their own).
const minBadAPIInputs = 75

// badAPIRan and badAPIFailed tell TestMain what to print.
var badAPIRan, badAPIFailed atomic.Int64

func TestMain(m *testing.M) {
	code := m.Run()
	badinput.Report("api", int(badAPIRan.Load()), int(badAPIFailed.Load()))
	os.Exit(code)
}

// Callers of the catalog: tokens -> users, and where each may use the API.
var (
	badApp      = &userInfo{name: "system:serviceaccount:videos:app"} // may use videos
	badHuman    = &userInfo{name: "alice@example.com"}                // may use videos, has no namespace
	badOutsider = &userInfo{name: "system:serviceaccount:other:app"}  // may use other only
	badStranger = &userInfo{name: "system:serviceaccount:nowhere:x"}  // may use nothing
	badOdd      = &userInfo{name: "system:serviceaccount:"}           // a malformed ServiceAccount name
)

// Markers of the membership data the two environments hold: none may appear in
// a refusal (unless the request itself carries it, as a path echoed in a 404).
var badDataMarkers = []string{"@videos.test", "@other.test", "u_secret"}

// newBadInputServer serves the sample environment in namespace videos (revision
// 7) and another environment in namespace other (revision 3) whose members
// have secret-looking ids and emails.
func newBadInputServer(t testing.TB) *Server {
	t.Helper()
	clk := clock.RealClock{}
	rev := &fakeReviewer{
		users: map[string]*userInfo{"app": badApp, "human": badHuman, "outsider": badOutsider,
			"stranger": badStranger, "odd": badOdd},
		allowed: map[string]bool{badApp.name + "/videos": true, badHuman.name + "/videos": true,
			badOutsider.name + "/other": true},
	}
	// The catalog sends many refused requests from one address and one
	// identity: the failure budgets are not what it tests.
	opts := Options{Clock: clk, AuthCache: AuthCacheOptions{FailureQPS: 1e6, FailureBurst: 1 << 20,
		CallerFailureQPS: 1e6, CallerFailureBurst: 1 << 20}}
	for _, add := range badCallers {
		add(rev)
	}
	s := &Server{opts: opts, log: logr.Discard(), store: store.New(nil, clk, logr.Discard()),
		auth: newAuthCache(rev, opts.AuthCache, clk)}
	in := storetest.Sample()
	for i := range in.Memberships {
		in.Memberships[i].Spec.Email = in.Memberships[i].Name + "@videos.test"
	}
	s.store.Load("videos", in.Objects, in.Memberships, 7)
	o := storetest.Sample()
	for i := range o.Memberships {
		o.Memberships[i].Namespace = "other"
		o.Memberships[i].Spec.User = "u_secret_" + o.Memberships[i].Spec.User
		o.Memberships[i].Spec.Email = o.Memberships[i].Name + "@other.test"
	}
	s.store.Load("other", o.Objects, o.Memberships, 3)
	s.routes()
	return s
}

// badCallers and moreBadInputs let other files of the catalog add callers to
// the fake reviewer and entries to the catalog.
var (
	badCallers    []func(*fakeReviewer)
	moreBadInputs []func() []badRequest
)

// badRequest is one catalog entry.
type badRequest struct {
	area   string // body, path, query, header, token
	name   string
	method string
	target string
	token  string            // bearer token, "" for none
	header map[string]string // raw headers, set after the token
	body   string
	// direct sends the request to the handler in process instead of over TLS:
	// for bodies the server refuses without reading them, which a client may
	// fail to finish writing.
	direct bool
	// The answer: status, WorkOS error code, and the field a 422 names ("" to
	// not check it).
	status int
	code   string
	field  string
}

func badAPIInputs() []badRequest {
	const check = `{"organization":"acme","user":"u_alice","permission":"videos:view"}`
	perms := func(n int) string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("%q", fmt.Sprintf("videos:p%d", i))
		}
		return "[" + strings.Join(out, ",") + "]"
	}
	long := func(n int) string { return strings.Repeat("x", n) }
	auth := func(v string) map[string]string { return map[string]string{"Authorization": v} }
	const (
		unauth = http.StatusUnauthorized
		forbid = http.StatusForbidden
		gone   = http.StatusNotFound
		bad    = http.StatusUnprocessableEntity
	)
	list := "/user_management/organization_memberships"
	wcheck := "/authorization/organization_memberships/alice/check"
	return []badRequest{
		// Headers: no usable bearer token.
		{area: "header", name: "no Authorization", method: "POST", target: "/v1/check", body: check, status: unauth, code: codeUnauthorized},
		{area: "header", name: "Basic credentials", method: "POST", target: "/v1/check", header: auth("Basic YXBwOmFwcA=="), body: check, status: unauth, code: codeUnauthorized},
		{area: "header", name: "Bearer without a token", method: "POST", target: "/v1/check", header: auth("Bearer"), body: check, status: unauth, code: codeUnauthorized},
		{area: "header", name: "Bearer and blanks", method: "POST", target: "/v1/check", header: auth("Bearer     "), body: check, status: unauth, code: codeUnauthorized},
		{area: "header", name: "another scheme", method: "POST", target: "/v1/check", header: auth("Token app"), body: check, status: unauth, code: codeUnauthorized},
		{area: "header", name: "scheme glued to the token", method: "POST", target: "/v1/check", header: auth("Bearerapp"), body: check, status: unauth, code: codeUnauthorized},
		{area: "header", name: "token then garbage", method: "POST", target: "/v1/check", header: auth("Bearer app app"), body: check, status: unauth, code: codeUnauthorized},
		{area: "header", name: "Authorization empty", method: "GET", target: "/authorization/roles", header: auth(""), status: unauth, code: codeUnauthorized},
		{area: "header", name: "token in the query, not the header", method: "GET", target: "/authorization/roles?access_token=app", status: unauth, code: codeUnauthorized},
		{area: "header", name: "token in a cookie", method: "GET", target: "/authorization/roles", header: map[string]string{"Cookie": "token=app"}, status: unauth, code: codeUnauthorized},
		{area: "header", name: "no token on an unknown path", method: "GET", target: "/admin", status: unauth, code: codeUnauthorized},
		{area: "header", name: "no token on a member read", method: "GET", target: "/v1/organizations/acme/memberships/u_alice", status: unauth, code: codeUnauthorized},

		// Tokens that the reviewer does not accept.
		{area: "token", name: "garbage token", method: "POST", target: "/v1/check", token: "nope", body: check, status: unauth, code: codeUnauthorized},
		{area: "token", name: "JWT-shaped unknown token", method: "POST", target: "/v1/check", token: "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln", body: check, status: unauth, code: codeUnauthorized},
		{area: "token", name: "8 KiB token", method: "GET", target: "/authorization/roles", token: long(8 << 10), status: unauth, code: codeUnauthorized},
		{area: "token", name: "token of another case", method: "GET", target: "/authorization/roles", token: "APP", status: unauth, code: codeUnauthorized},
		{area: "token", name: "non-ASCII token", method: "GET", target: "/authorization/roles", token: "äpp", status: unauth, code: codeUnauthorized},
		// A token valid for the API server but not for the decision API's
		// audience: the reviewer answers no user (kubeReviewer refuses a
		// TokenReview whose status lacks the audience; auth_test.go proves it).
		{area: "token", name: "token for another audience", method: "POST", target: "/v1/check", token: "kube-apiserver-audience", body: check, status: unauth, code: codeUnauthorized},
		{area: "token", name: "invalid token on a member list", method: "GET", target: list, token: "nope", status: unauth, code: codeUnauthorized},

		// Bodies of POST /v1/check.
		{area: "body", name: "not JSON", method: "POST", target: "/v1/check", token: "app", body: "organization=acme&user=u_alice", status: bad, code: codeInvalid, field: "body"},
		{area: "body", name: "empty body", method: "POST", target: "/v1/check", token: "app", body: "", status: bad, code: codeInvalid},
		{area: "body", name: "JSON null", method: "POST", target: "/v1/check", token: "app", body: "null", status: bad, code: codeInvalid, field: "organization"},
		{area: "body", name: "JSON array", method: "POST", target: "/v1/check", token: "app", body: `[` + check + `]`, status: bad, code: codeInvalid, field: "body"},
		{area: "body", name: "JSON string", method: "POST", target: "/v1/check", token: "app", body: `"acme"`, status: bad, code: codeInvalid, field: "body"},
		{area: "body", name: "JSON number", method: "POST", target: "/v1/check", token: "app", body: `42`, status: bad, code: codeInvalid, field: "body"},
		{area: "body", name: "trailing garbage", method: "POST", target: "/v1/check", token: "app", body: check + ` x`, status: bad, code: codeInvalid, field: "body"},
		{area: "body", name: "two objects", method: "POST", target: "/v1/check", token: "app", body: check + check, status: bad, code: codeInvalid, field: "body"},
		{area: "body", name: "unterminated", method: "POST", target: "/v1/check", token: "app", body: `{"organization":"acme`, status: bad, code: codeInvalid, field: "body"},
		{area: "body", name: "byte-order mark", method: "POST", target: "/v1/check", token: "app", body: "\ufeff" + check, status: bad, code: codeInvalid, field: "body"},
		{area: "body", name: "raw NUL in a string", method: "POST", target: "/v1/check", token: "app", body: "{\"organization\":\"ac\x00me\",\"user\":\"u\",\"permission\":\"p\"}", status: bad, code: codeInvalid, field: "body"},
		{area: "body", name: "20,000 nested arrays", method: "POST", target: "/v1/check", token: "app", body: strings.Repeat("[", 20000) + strings.Repeat("]", 20000), status: bad, code: codeInvalid, field: "body"},
		{area: "body", name: "10,000 nested objects", method: "POST", target: "/v1/check", token: "app", body: strings.Repeat(`{"a":`, 10000) + "1" + strings.Repeat("}", 10000), status: bad, code: codeInvalid},
		{area: "body", name: "organization is a number", method: "POST", target: "/v1/check", token: "app", body: `{"organization":1,"user":"u_alice","permission":"videos:view"}`, status: bad, code: codeInvalid, field: "body"},
		{area: "body", name: "permission is a boolean", method: "POST", target: "/v1/check", token: "app", body: `{"organization":"acme","user":"u_alice","permission":true}`, status: bad, code: codeInvalid, field: "body"},
		{area: "body", name: "permissions is a string", method: "POST", target: "/v1/check", token: "app", body: `{"organization":"acme","user":"u_alice","permissions":"videos:view"}`, status: bad, code: codeInvalid, field: "body"},
		{area: "body", name: "permissions holds a number", method: "POST", target: "/v1/check", token: "app", body: `{"organization":"acme","user":"u_alice","permissions":[1]}`, status: bad, code: codeInvalid, field: "body"},
		{area: "body", name: "user is an object", method: "POST", target: "/v1/check", token: "app", body: `{"organization":"acme","user":{"id":"u_alice"},"permission":"videos:view"}`, status: bad, code: codeInvalid, field: "body"},
		{area: "body", name: "namespace is an array", method: "POST", target: "/v1/check", token: "app", body: `{"namespace":["videos"],"organization":"acme","user":"u_alice","permission":"videos:view"}`, status: bad, code: codeInvalid, field: "body"},
		{area: "body", name: "one byte over the check limit", method: "POST", target: "/v1/check", token: "app", direct: true, body: `{"organization":"acme","user":"u_alice","permission":"` + long(maxCheckBody) + `"}`, status: bad, code: codeInvalid, field: "body"},
		{area: "body", name: "1 MiB body", method: "POST", target: "/v1/check", token: "app", direct: true, body: `{"organization":"acme","user":"u_alice","permission":"` + long(1<<20) + `"}`, status: bad, code: codeInvalid, field: "body"},
		{area: "body", name: "101 permissions", method: "POST", target: "/v1/check", token: "app", body: `{"organization":"acme","user":"u_alice","permissions":` + perms(101) + `}`, status: bad, code: codeInvalid, field: "permissions"},
		{area: "body", name: "100 permissions and one more", method: "POST", target: "/v1/check", token: "app", body: `{"organization":"acme","user":"u_alice","permission":"videos:view","permissions":` + perms(100) + `}`, status: bad, code: codeInvalid, field: "permissions"},
		{area: "body", name: "an empty permission", method: "POST", target: "/v1/check", token: "app", body: `{"organization":"acme","user":"u_alice","permissions":["videos:view",""]}`, status: bad, code: codeInvalid, field: "permissions"},
		{area: "body", name: "no permission", method: "POST", target: "/v1/check", token: "app", body: `{"organization":"acme","user":"u_alice"}`, status: bad, code: codeInvalid, field: "permission"},
		{area: "body", name: "empty permission list", method: "POST", target: "/v1/check", token: "app", body: `{"organization":"acme","user":"u_alice","permission":"","permissions":[]}`, status: bad, code: codeInvalid, field: "permission"},
		{area: "body", name: "no organization", method: "POST", target: "/v1/check", token: "app", body: `{"user":"u_alice","permission":"videos:view"}`, status: bad, code: codeInvalid, field: "organization"},
		{area: "body", name: "no user", method: "POST", target: "/v1/check", token: "app", body: `{"organization":"acme","permission":"videos:view"}`, status: bad, code: codeInvalid, field: "user"},
		{area: "body", name: "null user", method: "POST", target: "/v1/check", token: "app", body: `{"organization":"acme","user":null,"permission":"videos:view"}`, status: bad, code: codeInvalid, field: "user"},
		{area: "body", name: "empty object", method: "POST", target: "/v1/check", token: "app", body: `{}`, status: bad, code: codeInvalid, field: "organization"},
		{area: "body", name: "body namespace not a namespace name", method: "POST", target: "/v1/check", token: "app", body: `{"namespace":"Videos","organization":"acme","user":"u_alice","permission":"videos:view"}`, status: bad, code: codeInvalid, field: "namespace"},
		{area: "body", name: "body namespace with dot-dot", method: "POST", target: "/v1/check", token: "app", body: `{"namespace":"../other","organization":"acme","user":"u_alice","permission":"videos:view"}`, status: bad, code: codeInvalid, field: "namespace"},
		{area: "body", name: "body namespace differs from the query's", method: "POST", target: "/v1/check?namespace=videos", token: "app", body: `{"namespace":"other","organization":"acme","user":"u_alice","permission":"videos:view"}`, status: bad, code: codeInvalid, field: "namespace"},
		{area: "body", name: "body names a foreign namespace", method: "POST", target: "/v1/check", token: "app", body: `{"namespace":"other","organization":"acme","user":"u_secret_u_alice","permission":"videos:view"}`, status: forbid, code: codeForbidden},
		{area: "body", name: "case-folded NAMESPACE key names a foreign namespace", method: "POST", target: "/v1/check", token: "app", body: `{"NAMESPACE":"other","organization":"acme","user":"u_alice","permission":"videos:view"}`, status: forbid, code: codeForbidden},
		{area: "body", name: "a stranger's body names no namespace it may use", method: "POST", target: "/v1/check", token: "stranger", body: check, status: forbid, code: codeForbidden},
		{area: "body", name: "a stranger's garbage body", method: "POST", target: "/v1/check", token: "stranger", body: "not json", status: forbid, code: codeForbidden},
		{area: "body", name: "a human's body names no namespace", method: "POST", target: "/v1/check", token: "human", body: check, status: bad, code: codeInvalid, field: "namespace"},
		{area: "body", name: "WorkOS check without permission_slug", method: "POST", target: wcheck, token: "app", body: `{}`, status: bad, code: codeInvalid, field: "permission_slug"},
		// Resources: only the membership's organization is one (WorkOS's root resource).
		{area: "body", name: "WorkOS check with a resource_id that is not the organization", method: "POST", target: wcheck, token: "app", body: `{"permission_slug":"videos:view","resource_id":"r1"}`, status: gone, code: codeNotFound},
		{area: "body", name: "WorkOS check with resource_external_id alone", method: "POST", target: wcheck, token: "app", body: `{"permission_slug":"videos:view","resource_external_id":"r1"}`, status: bad, code: codeInvalid, field: "resource_type_slug"},
		{area: "body", name: "WorkOS check with resource_type_slug alone", method: "POST", target: wcheck, token: "app", body: `{"permission_slug":"videos:view","resource_type_slug":"video"}`, status: bad, code: codeInvalid, field: "resource_external_id"},
		{area: "body", name: "WorkOS check with another resource type", method: "POST", target: wcheck, token: "app", body: `{"permission_slug":"videos:view","resource_type_slug":"video","resource_external_id":"v1"}`, status: gone, code: codeNotFound},
		{area: "body", name: "WorkOS check, not JSON", method: "POST", target: wcheck, token: "app", body: `permission_slug=videos:view`, status: bad, code: codeInvalid, field: "body"},
		{area: "body", name: "WorkOS check, permission_slug a list", method: "POST", target: wcheck, token: "app", body: `{"permission_slug":["videos:view"]}`, status: bad, code: codeInvalid, field: "body"},
		{area: "body", name: "WorkOS check over its limit", method: "POST", target: wcheck, token: "app", direct: true, body: `{"permission_slug":"` + long(maxWorkOSCheckBody) + `"}`, status: bad, code: codeInvalid, field: "body"},

		// Paths.
		{area: "path", name: "unknown path", method: "GET", target: "/admin", token: "app", status: gone, code: codeNotFound},
		{area: "path", name: "unknown path naming a foreign namespace", method: "GET", target: "/admin?namespace=other", token: "app", status: gone, code: codeNotFound},
		{area: "path", name: "GET on the check route", method: "GET", target: "/v1/check", token: "app", status: gone, code: codeNotFound},
		{area: "path", name: "PATCH a membership (WorkOS updates with PUT)", method: "PATCH", target: list + "/alice", token: "app", body: `{}`, status: gone, code: codeNotFound},
		{area: "path", name: "PATCH the membership list", method: "PATCH", target: list, token: "app", body: `{}`, status: gone, code: codeNotFound},
		{area: "path", name: "encoded dot-dot slashes in the organization", method: "GET", target: "/v1/organizations/..%2F..%2Fother/memberships/u_alice", token: "app", status: gone, code: codeNotFound},
		{area: "path", name: "encoded dot-dot as the organization", method: "GET", target: "/v1/organizations/%2e%2e/memberships/u_alice", token: "app", status: gone, code: codeNotFound},
		{area: "path", name: "encoded NUL in the organization", method: "GET", target: "/v1/organizations/acme%00/memberships/u_alice", token: "app", status: gone, code: codeNotFound},
		{area: "path", name: "no user segment", method: "GET", target: "/v1/organizations/acme/memberships/", token: "app", status: gone, code: codeNotFound},
		{area: "path", name: "unknown organization", method: "GET", target: "/v1/organizations/initech/memberships/u_alice", token: "app", status: gone, code: codeNotFound},
		{area: "path", name: "another namespace's user", method: "GET", target: "/v1/organizations/acme/memberships/u_secret_u_alice", token: "app", status: gone, code: codeNotFound},
		{area: "path", name: "30,000-character organization", method: "GET", target: "/v1/organizations/" + long(30000) + "/memberships/u_alice", token: "app", status: gone, code: codeNotFound},
		{area: "path", name: "30,000-character membership id", method: "GET", target: list + "/" + long(30000), token: "app", status: gone, code: codeNotFound},
		{area: "path", name: "unknown membership id", method: "GET", target: list + "/nobody", token: "app", status: gone, code: codeNotFound},
		{area: "path", name: "non-ASCII membership id", method: "GET", target: list + "/%C3%A4lice", token: "app", status: gone, code: codeNotFound},
		{area: "path", name: "WorkOS check of an unknown membership", method: "POST", target: "/authorization/organization_memberships/nobody/check", token: "app", body: `{"permission_slug":"videos:view"}`, status: gone, code: codeNotFound},
		{area: "path", name: "unknown environment role", method: "GET", target: "/authorization/roles/root", token: "app", status: gone, code: codeNotFound},
		{area: "path", name: "organization role of an unknown organization", method: "GET", target: "/authorization/organizations/initech/roles", token: "app", status: gone, code: codeNotFound},
		{area: "path", name: "unknown organization role", method: "GET", target: "/authorization/organizations/acme/roles/org-root", token: "app", status: gone, code: codeNotFound},
		{area: "path", name: "members of an unknown organization", method: "GET", target: "/v1/organizations/initech/permissions/videos:view/members", token: "app", status: gone, code: codeNotFound},

		// Queries.
		{area: "query", name: "undecodable namespace on a check", method: "POST", target: "/v1/check?namespace=vid%zzeos", token: "outsider", body: check, status: bad, code: codeInvalid, field: "query"},
		{area: "query", name: "undecodable namespace on a read", method: "GET", target: "/authorization/roles?namespace=vid%zzeos", token: "app", status: bad, code: codeInvalid, field: "query"},
		{area: "query", name: "undecodable limit", method: "GET", target: list + "?limit=%zz", token: "app", status: bad, code: codeInvalid, field: "query"},
		{area: "query", name: "semicolon separator", method: "GET", target: "/authorization/roles?namespace=videos;x=y", token: "app", status: bad, code: codeInvalid, field: "query"},
		{area: "query", name: "empty namespace", method: "GET", target: "/authorization/roles?namespace=", token: "app", status: bad, code: codeInvalid, field: "namespace"},
		{area: "query", name: "namespace given twice, same value", method: "GET", target: "/authorization/roles?namespace=videos&namespace=videos", token: "app", status: bad, code: codeInvalid, field: "namespace"},
		{area: "query", name: "namespace given twice, foreign first", method: "GET", target: "/v1/organizations/acme/memberships/u_alice?namespace=other&namespace=videos", token: "app", status: bad, code: codeInvalid, field: "namespace"},
		{area: "query", name: "namespace given twice on a check", method: "POST", target: "/v1/check?namespace=videos&namespace=other", token: "app", body: check, status: bad, code: codeInvalid, field: "namespace"},
		{area: "query", name: "upper-case namespace", method: "GET", target: "/authorization/roles?namespace=Videos", token: "app", status: bad, code: codeInvalid, field: "namespace"},
		{area: "query", name: "namespace with dot-dot", method: "GET", target: "/authorization/roles?namespace=../other", token: "app", status: bad, code: codeInvalid, field: "namespace"},
		{area: "query", name: "namespace with NUL", method: "GET", target: "/authorization/roles?namespace=videos%00", token: "app", status: bad, code: codeInvalid, field: "namespace"},
		{area: "query", name: "namespace of 64 characters", method: "GET", target: "/authorization/roles?namespace=" + long(64), token: "app", status: bad, code: codeInvalid, field: "namespace"},
		{area: "query", name: "non-ASCII namespace", method: "GET", target: "/authorization/roles?namespace=v%C3%ADdeos", token: "app", status: bad, code: codeInvalid, field: "namespace"},
		{area: "query", name: "namespace with a trailing space", method: "GET", target: "/authorization/roles?namespace=videos%20", token: "app", status: bad, code: codeInvalid, field: "namespace"},
		{area: "query", name: "foreign namespace", method: "GET", target: "/v1/organizations/acme/memberships/u_alice?namespace=other", token: "app", status: forbid, code: codeForbidden},
		{area: "query", name: "foreign namespace on a member list", method: "GET", target: list + "?namespace=other", token: "app", status: forbid, code: codeForbidden},
		{area: "query", name: "foreign namespace on a check", method: "POST", target: "/v1/check?namespace=videos", token: "outsider", body: check, status: forbid, code: codeForbidden},
		{area: "query", name: "a human names no namespace", method: "GET", target: "/authorization/roles", token: "human", status: bad, code: codeInvalid, field: "namespace"},
		{area: "query", name: "a malformed ServiceAccount names no namespace", method: "GET", target: "/authorization/roles", token: "odd", status: bad, code: codeInvalid, field: "namespace"},
		{area: "query", name: "limit 0", method: "GET", target: list + "?limit=0", token: "app", status: bad, code: codeInvalid, field: "limit"},
		{area: "query", name: "limit 101", method: "GET", target: list + "?limit=101", token: "app", status: bad, code: codeInvalid, field: "limit"},
		{area: "query", name: "limit -1", method: "GET", target: list + "?limit=-1", token: "app", status: bad, code: codeInvalid, field: "limit"},
		{area: "query", name: "limit not a number", method: "GET", target: list + "?limit=ten", token: "app", status: bad, code: codeInvalid, field: "limit"},
		{area: "query", name: "limit in exponent form", method: "GET", target: list + "?limit=1e1", token: "app", status: bad, code: codeInvalid, field: "limit"},
		{area: "query", name: "limit beyond int64", method: "GET", target: list + "?limit=99999999999999999999", token: "app", status: bad, code: codeInvalid, field: "limit"},
		{area: "query", name: "order sideways", method: "GET", target: list + "?order=sideways", token: "app", status: bad, code: codeInvalid, field: "order"},
		{area: "query", name: "order in upper case", method: "GET", target: list + "?order=ASC", token: "app", status: bad, code: codeInvalid, field: "order"},
		{area: "query", name: "unknown status", method: "GET", target: list + "?statuses=deleted", token: "app", status: bad, code: codeInvalid, field: "statuses"},
		{area: "query", name: "unknown status in an array parameter", method: "GET", target: list + "?statuses[]=active&statuses[]=banned", token: "app", status: bad, code: codeInvalid, field: "statuses"},
		{area: "query", name: "before and after", method: "GET", target: list + "?before=alice&after=bob", token: "app", status: bad, code: codeInvalid, field: "before"},
		{area: "query", name: "unknown after cursor", method: "GET", target: list + "?after=nobody", token: "app", status: bad, code: codeInvalid, field: "after"},
		{area: "query", name: "unknown before cursor", method: "GET", target: list + "?before=nobody", token: "app", status: bad, code: codeInvalid, field: "before"},
		{area: "query", name: "cursor of another namespace", method: "GET", target: list + "?after=alice&namespace=other", token: "app", status: forbid, code: codeForbidden},
	}
}

// TestBadInputsToTheDecisionAPI runs the catalog.
func TestBadInputsToTheDecisionAPI(t *testing.T) {
	s := newBadInputServer(t)
	ts := httptest.NewUnstartedServer(s)
	ts.EnableHTTP2 = false
	ts.StartTLS()
	t.Cleanup(ts.Close)
	c := ts.Client() // trusts the test server's certificate

	inputs := badAPIInputs()
	for _, more := range moreBadInputs {
		inputs = append(inputs, more()...)
	}
	if len(inputs) < minBadAPIInputs {
		t.Errorf("the catalog holds %d inputs, fewer than its floor of %d", len(inputs), minBadAPIInputs)
	}
	names := map[string]bool{}
	perArea := map[string]int{}
	for _, in := range inputs {
		if names[in.name] {
			t.Errorf("two entries are named %q", in.name)
		}
		names[in.name] = true
		perArea[in.area]++
		badAPIRan.Add(1)
		if !t.Run(in.area+"/"+in.name, func(t *testing.T) { runBadRequest(t, s, c, ts.URL, in) }) {
			badAPIFailed.Add(1)
		}
	}
	t.Logf("bad-input catalog (api): %d inputs per area %v", len(inputs), perArea)
}

// runBadRequest sends one entry and checks that its answer is the expected
// clean refusal.
func runBadRequest(t *testing.T, s *Server, c *http.Client, base string, in badRequest) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			t.Errorf("panic: %v", p)
		}
	}()
	var (
		status int
		header http.Header
		body   []byte
	)
	if in.direct {
		r := httptest.NewRequest(in.method, in.target, strings.NewReader(in.body))
		setBadHeaders(r, in)
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		status, header, body = w.Code, w.Header(), w.Body.Bytes()
	} else {
		var rd io.Reader
		if in.body != "" {
			rd = strings.NewReader(in.body)
		}
		r, err := http.NewRequest(in.method, base+in.target, rd)
		if err != nil {
			t.Fatalf("building the request: %v", err)
		}
		setBadHeaders(r, in)
		resp, err := c.Do(r)
		if err != nil {
			t.Fatalf("sending: %v", err)
		}
		defer func() { _ = resp.Body.Close() }()
		if body, err = io.ReadAll(resp.Body); err != nil {
			t.Fatalf("reading the answer: %v", err)
		}
		status, header = resp.StatusCode, resp.Header
	}
	if status != in.status {
		t.Errorf("status %d, want %d: %.300s", status, in.status, body)
	}
	if ct := header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	var e struct {
		Code    string       `json:"code"`
		Message string       `json:"message"`
		Errors  []fieldError `json:"errors"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&e); err != nil {
		t.Errorf("the answer is not a JSON error object: %v: %.300s", err, body)
	}
	if e.Code != in.code || e.Message == "" {
		t.Errorf("error code %q (message %q), want code %q", e.Code, e.Message, in.code)
	}
	if in.field != "" {
		found := false
		for _, f := range e.Errors {
			found = found || f.Field == in.field
		}
		if !found {
			t.Errorf("the 422 names fields %+v, want %q", e.Errors, in.field)
		}
	}
	// Only the error object's keys: no decision, no membership, no list.
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(body, &keys); err == nil {
		for k := range keys {
			if k != "code" && k != "message" && k != "errors" {
				t.Errorf("the refusal carries %q: %.300s", k, body)
			}
		}
	}
	for _, m := range badDataMarkers {
		if bytes.Contains(body, []byte(m)) && !strings.Contains(in.target+in.body, m) {
			t.Errorf("the refusal leaks membership data (%q): %.300s", m, body)
		}
	}
	if status == http.StatusUnauthorized || status == http.StatusForbidden {
		if rev := header.Get(RevisionHeader); rev != "0" {
			t.Errorf("a %d carries revision %q, want 0 (no environment data)", status, rev)
		}
	}
}

func setBadHeaders(r *http.Request, in badRequest) {
	if in.token != "" {
		r.Header.Set("Authorization", "Bearer "+in.token)
	}
	for k, v := range in.header {
		r.Header.Set(k, v)
	}
}

// The leak check of the catalog is not vacuous: the markers are in the data
// that the same server answers to callers allowed to read it.
func TestBadInputMarkersAreInTheData(t *testing.T) {
	s := newBadInputServer(t)
	for _, tc := range []struct{ token, target, want string }{
		{"app", "/v1/organizations/acme/memberships/u_alice", "@videos.test"},
		{"outsider", "/v1/organizations/acme/memberships/u_secret_u_alice", "@other.test"},
		{"outsider", "/user_management/organization_memberships?namespace=other", "u_secret"},
	} {
		w, _ := serve(s, "GET", tc.target, tc.token, "")
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), tc.want) {
			t.Errorf("GET %s as %s: %d %.300s; want 200 with %q", tc.target, tc.token, w.Code, w.Body.String(), tc.want)
		}
	}
}
