package api

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// fuzzCaller is who sends a fuzzed request: its token, the revision headers
// it may see (videos is at 7, other at 3, 0 carries no data), and the data
// markers it may never see (unless the request carries them).
type fuzzCaller struct {
	token     string
	revisions []string
	forbidden []string
}

var fuzzCallers = []fuzzCaller{
	{token: "app", revisions: []string{"0", "7"}, forbidden: []string{"@other.test", "u_secret"}},
	{token: "outsider", revisions: []string{"0", "3"}, forbidden: []string{"@videos.test"}},
	{token: "stranger", revisions: []string{"0"}, forbidden: badDataMarkers},
	{token: "nope", revisions: []string{"0"}, forbidden: badDataMarkers},
}

// fuzzServe sends one request through the real handler and checks what must
// hold for any input: no panic (the fuzzer reports it), no 5xx, a JSON answer
// (or the mux's redirect to a clean path), no revision or data of a namespace
// the caller may not read.
func fuzzServe(t *testing.T, s *Server, c fuzzCaller, method, path, rawQuery string, body []byte) *httptest.ResponseRecorder {
	t.Helper()
	r := &http.Request{Method: method, URL: &url.URL{Path: path, RawQuery: rawQuery}, Header: http.Header{},
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Host: "orgrbac", RemoteAddr: "192.0.2.1:1234",
		Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body))}
	r = r.WithContext(t.Context())
	r.Header.Set("Authorization", "Bearer "+c.token)
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	if w.Code >= 500 {
		t.Fatalf("%s %s?%q: %d %.300s", method, path, rawQuery, w.Code, w.Body.String())
	}
	redirect := w.Code >= 300 && w.Code < 400 // net/http's mux cleans paths (.., //) by redirecting
	if redirect && w.Header().Get("Location") == "" {
		t.Fatalf("%s %s?%q: a %d without a Location", method, path, rawQuery, w.Code)
	}
	if !redirect && !json.Valid(w.Body.Bytes()) {
		t.Fatalf("%s %s?%q: the answer is not JSON: %.300s", method, path, rawQuery, w.Body.String())
	}
	rev := w.Header().Get(RevisionHeader)
	ok := false
	for _, r := range c.revisions {
		ok = ok || rev == r
	}
	if !ok {
		t.Fatalf("%s %s?%q as %s: answered from revision %s (%d %.300s)", method, path, rawQuery, c.token, rev, w.Code, w.Body.String())
	}
	sent := path + rawQuery + string(body)
	for _, m := range c.forbidden {
		if strings.Contains(w.Body.String(), m) && !strings.Contains(sent, m) {
			t.Fatalf("%s %s?%q as %s leaks %q: %.300s", method, path, rawQuery, c.token, m, w.Body.String())
		}
	}
	return w
}

// FuzzCheckRequest fuzzes the decoding of check requests (POST /v1/check and
// the WorkOS check): body and query string, from each kind of caller.
func FuzzCheckRequest(f *testing.F) {
	f.Add(uint8(0), false, "", []byte(`{"organization":"acme","user":"u_alice","permission":"videos:view"}`))
	f.Add(uint8(0), false, "namespace=videos", []byte(`{"namespace":"other","organization":"acme","user":"u_alice","permissions":["videos:view","videos:edit"]}`))
	f.Add(uint8(1), false, "", []byte(`{"namespace":"videos","organization":"org_acme","user":"u_alice","permission":"videos:view"}`))
	f.Add(uint8(1), false, "namespace=other", []byte(`{"organization":"acme","user":"u_secret_u_alice","permission":"videos:view"}`))
	f.Add(uint8(2), false, "namespace=vid%zzeos", []byte(`{"namespace":"videos"}`))
	f.Add(uint8(0), true, "", []byte(`{"permission_slug":"videos:view"}`))
	f.Add(uint8(1), true, "namespace=other", []byte(`{"permission_slug":"videos:view","namespace":"other"}`))
	f.Add(uint8(0), false, "", []byte(`[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[`))
	f.Add(uint8(0), false, "namespace=videos&namespace=other", []byte(`{"NAMESPACE":"other"}`))
	s := newBadInputServer(f)
	f.Fuzz(func(t *testing.T, who uint8, workos bool, rawQuery string, body []byte) {
		c := fuzzCallers[int(who)%len(fuzzCallers)]
		path := "/v1/check"
		if workos {
			path = "/authorization/organization_memberships/alice/check"
		}
		w := fuzzServe(t, s, c, http.MethodPost, path, rawQuery, body)
		if w.Code == http.StatusOK && !workos {
			var resp checkResponse
			if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil || resp.Reason == "" {
				t.Fatalf("a 200 that is not a check answer: %v %.300s", err, w.Body.String())
			}
		}
	})
}

// fuzzRoutes are the read routes, with %s for the fuzzed path segment.
var fuzzRoutes = []string{
	"/v1/organizations/%s/memberships/u_alice",
	"/v1/organizations/acme/memberships/%s",
	"/v1/organizations/%s/permissions/videos:view/members",
	"/user_management/organization_memberships",
	"/user_management/organization_memberships/%s",
	"/authorization/roles",
	"/authorization/roles/%s",
	"/authorization/organizations/%s/roles",
	"/authorization/organizations/acme/roles/%s",
	"/%s",
}

// FuzzReadRequest fuzzes the query parsing and path values of the read
// routes: namespace, pagination, filters, ids.
func FuzzReadRequest(f *testing.F) {
	f.Add(uint8(0), uint8(0), "acme", "")
	f.Add(uint8(0), uint8(3), "", "limit=5&order=asc&after=alice&statuses=active,pending")
	f.Add(uint8(1), uint8(3), "", "namespace=other&user_id=u_secret_u_alice")
	f.Add(uint8(0), uint8(3), "", "namespace=other&namespace=videos")
	f.Add(uint8(1), uint8(1), "u_secret_u_alice", "namespace=videos")
	f.Add(uint8(2), uint8(5), "", "namespace=videos")
	f.Add(uint8(0), uint8(4), "..%2F..%2Fother", "statuses[]=active&before=bob")
	f.Add(uint8(0), uint8(7), "org_acme", "namespace=Videos")
	f.Add(uint8(3), uint8(9), "admin", "namespace=other")
	s := newBadInputServer(f)
	f.Fuzz(func(t *testing.T, who, route uint8, segment, rawQuery string) {
		c := fuzzCallers[int(who)%len(fuzzCallers)]
		tmpl := fuzzRoutes[int(route)%len(fuzzRoutes)]
		path := strings.Replace(tmpl, "%s", segment, 1)
		fuzzServe(t, s, c, http.MethodGet, path, rawQuery, nil)
	})
}
