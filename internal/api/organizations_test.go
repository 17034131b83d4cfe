package api

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	"k8s.io/utils/clock"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/api/store"
	"github.com/orgrbac/orgrbac/internal/api/store/storetest"
	"github.com/orgrbac/orgrbac/internal/model"
	"github.com/orgrbac/orgrbac/internal/workos"
)

// getJSON serves a GET as app and decodes the JSON object it answers.
func getJSON(t *testing.T, s *Server, target string) (int, map[string]any) {
	t.Helper()
	w, _ := serve(s, http.MethodGet, target, "app", "")
	var body map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatalf("GET %s: %d %q is not a JSON object: %v", target, w.Code, w.Body, err)
	}
	return w.Code, body
}

func TestOrganizationGet(t *testing.T) {
	s, _, _ := newOrgRoleServer(t, orgRoleInput())
	acme := map[string]any{"object": "organization", "id": "org_acme", "name": "Acme Inc.", "external_id": "org_acme",
		"allow_profiles_outside_organization": false, "domains": []any{}, "metadata": map[string]any{},
		"created_at": "2026-01-02T03:08:05.000Z", "updated_at": "2026-01-02T03:08:05.000Z"}
	globex := map[string]any{"object": "organization", "id": "globex", "name": "globex", "external_id": nil,
		"allow_profiles_outside_organization": false, "domains": []any{}, "metadata": map[string]any{},
		"created_at": "2026-01-02T03:09:05.000Z", "updated_at": "2026-01-02T03:09:05.000Z"}
	for _, tc := range []struct {
		target string
		code   int
		want   map[string]any // nil: a 404
	}{
		{"/organizations/org_acme", http.StatusOK, acme},
		{"/organizations/acme", http.StatusOK, acme}, // the name is an id too
		{"/organizations/globex", http.StatusOK, globex},
		{"/organizations/external_id/org_acme", http.StatusOK, acme},
		{"/organizations/external_id/acme", http.StatusNotFound, nil}, // a name is no external id
		{"/organizations/external_id/globex", http.StatusNotFound, nil},
		{"/organizations/initech", http.StatusNotFound, nil},
		{"/organizations/external_id/initech", http.StatusNotFound, nil},
		// A duplicate (resolve.IndexOrganizations) answers to no id.
		{"/organizations/dupe", http.StatusNotFound, nil},
		{"/organizations/org_acme?namespace=other", http.StatusForbidden, nil},
	} {
		code, body := getJSON(t, s, tc.target)
		if code != tc.code {
			t.Errorf("GET %s: %d %v, want %d", tc.target, code, body, tc.code)
			continue
		}
		if tc.want == nil {
			if body["code"] == "" || body["message"] == "" {
				t.Errorf("GET %s: error body %v", tc.target, body)
			}
			continue
		}
		if got, _ := json.Marshal(body); !jsonEqual(t, body, tc.want) {
			t.Errorf("GET %s = %s, want %v", tc.target, got, tc.want)
		}
	}
}

func jsonEqual(t *testing.T, a, b map[string]any) bool {
	t.Helper()
	ja, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	jb, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return string(ja) == string(jb)
}

// orgListInput is an environment of seven organizations o1..o7, created in
// that order, whose display names say whether they are even.
func orgListInput() *storetest.Objects {
	in := &storetest.Objects{Objects: model.Objects{Environments: []orgrbacv1alpha1.Environment{{ObjectMeta: storetest.ObjMeta("env", 0)}}}}
	for i := 1; i <= 7; i++ {
		o := orgrbacv1alpha1.Organization{ObjectMeta: storetest.ObjMeta(fmt.Sprintf("n%d", i), 10+i)}
		o.Spec.ExternalID = fmt.Sprintf("o%d", i)
		o.Spec.DisplayName = map[bool]string{true: "Even Org", false: "Odd Org"}[i%2 == 0]
		in.Organizations = append(in.Organizations, o)
	}
	// A younger duplicate of o3's external id: never listed.
	in.Organizations = append(in.Organizations, orgrbacv1alpha1.Organization{ObjectMeta: storetest.ObjMeta("n8", 30),
		Spec: orgrbacv1alpha1.OrganizationSpec{ExternalID: "o3"}})
	return in
}

// orgListServer serves orgListInput in namespace videos to app, as
// newLimitedServer serves the sample environment.
func orgListServer(tb testing.TB) *Server {
	tb.Helper()
	rev := &fakeReviewer{users: map[string]*userInfo{"app": videosApp},
		allowed: map[string]bool{videosApp.name + "/videos": true}}
	s := &Server{opts: Options{Clock: clock.RealClock{}}, log: logr.Discard(),
		store: store.New(nil, clock.RealClock{}, logr.Discard()), auth: newAuthCache(rev, AuthCacheOptions{}, clock.RealClock{})}
	in := orgListInput()
	s.store.Load("videos", in.Objects, in.Memberships, 7)
	s.routes()
	return s
}

func TestOrganizationList(t *testing.T) {
	s := orgListServer(t)
	for _, tc := range []struct {
		query         string
		ids           []string
		before, after string // "" is null
	}{
		{"", []string{"o7", "o6", "o5", "o4", "o3", "o2", "o1"}, "", ""},
		{"limit=3", []string{"o7", "o6", "o5"}, "", "o5"},
		{"limit=3&after=o5", []string{"o4", "o3", "o2"}, "o4", "o2"},
		{"limit=3&after=o2", []string{"o1"}, "o1", ""},
		{"limit=3&after=o1", []string{}, "", ""},
		{"limit=3&before=o1", []string{"o4", "o3", "o2"}, "o4", "o2"},
		{"limit=3&before=o4", []string{"o7", "o6", "o5"}, "", "o5"},
		{"limit=3&before=o6", []string{"o7"}, "", "o7"},
		{"limit=3&before=o7", []string{}, "", ""},
		{"order=asc&limit=3", []string{"o1", "o2", "o3"}, "", "o3"},
		{"order=asc&limit=3&after=o3", []string{"o4", "o5", "o6"}, "o4", "o6"},
		{"order=asc&limit=3&after=o6", []string{"o7"}, "o7", ""},
		{"order=asc&limit=2&before=o4", []string{"o2", "o3"}, "o2", "o3"},
		{"order=desc&limit=100", []string{"o7", "o6", "o5", "o4", "o3", "o2", "o1"}, "", ""},
		{"order=normal&limit=1", []string{"o7"}, "", "o7"},
		// The name is an id too, as a cursor.
		{"limit=2&after=n5", []string{"o4", "o3"}, "o4", "o3"},
		// Filters: the cursor may be an organization the filter leaves out.
		{"search=even", []string{"o6", "o4", "o2"}, "", ""},
		{"search=EVEN&limit=1&after=o5", []string{"o4"}, "o4", "o4"},
		{"search=nothing", []string{}, "", ""},
		{"domains=example.com", []string{}, "", ""},
		{"domains[]=example.com", []string{}, "", ""},
		{"domains=", []string{"o7", "o6", "o5", "o4", "o3", "o2", "o1"}, "", ""},
	} {
		code, body := getJSON(t, s, "/organizations?"+tc.query)
		if code != http.StatusOK {
			t.Errorf("?%s: %d %v", tc.query, code, body)
			continue
		}
		var list struct {
			Object string `json:"object"`
			Data   []struct {
				Object string `json:"object"`
				ID     string `json:"id"`
			} `json:"data"`
			ListMetadata map[string]*string `json:"list_metadata"`
		}
		raw, _ := json.Marshal(body)
		if err := json.Unmarshal(raw, &list); err != nil || list.Object != "list" || list.Data == nil {
			t.Errorf("?%s: not a WorkOS list: %s", tc.query, raw)
			continue
		}
		ids := []string{}
		for _, d := range list.Data {
			ids = append(ids, d.ID)
			if d.Object != "organization" {
				t.Errorf("?%s: item %s is a %q", tc.query, d.ID, d.Object)
			}
		}
		deref := func(key string) string {
			v, ok := list.ListMetadata[key]
			if !ok {
				t.Errorf("?%s: list_metadata has no %s", tc.query, key)
			}
			if v == nil {
				return ""
			}
			return *v
		}
		if !slices.Equal(ids, tc.ids) || deref("before") != tc.before || deref("after") != tc.after {
			t.Errorf("?%s = %v before %q after %q; want %v before %q after %q", tc.query, ids,
				deref("before"), deref("after"), tc.ids, tc.before, tc.after)
		}
	}
	for _, query := range []string{"limit=0", "limit=101", "limit=ten", "order=sideways", "before=o2&after=o4",
		"after=o9", "before=n8", "after=dupe"} {
		code, body := getJSON(t, s, "/organizations?"+query)
		if code != http.StatusUnprocessableEntity || body["code"] != codeInvalid {
			t.Errorf("?%s: %d %v, want 422 %s", query, code, body, codeInvalid)
		}
	}
}

// Following after from the first page, and before from the last, visits
// every organization once, in order, whatever the page size.
func TestOrganizationListPagesCoverAll(t *testing.T) {
	c := contentOf(orgListInput())
	all := []string{"o7", "o6", "o5", "o4", "o3", "o2", "o1"}
	for limit := 1; limit <= 8; limit++ {
		for _, desc := range []bool{true, false} {
			want := slices.Clone(all)
			if !desc {
				slices.Reverse(want)
			}
			var got []string
			q := orgListQuery{paging: paging{limit: limit, desc: desc}}
			var last listObject[workos.Organization]
			for range 10 {
				page, err := listOrganizationsOf(c, q)
				if err != nil {
					t.Fatal(err)
				}
				for _, o := range page.Data {
					got = append(got, o.ID)
				}
				last = page
				if page.ListMetadata.After == nil {
					break
				}
				q.after = *page.ListMetadata.After
			}
			if !slices.Equal(got, want) {
				t.Errorf("limit %d desc %v forward: %v, want %v", limit, desc, got, want)
			}
			// Back from the last page.
			got = nil
			for _, o := range last.Data {
				got = append(got, o.ID)
			}
			q = orgListQuery{paging: paging{limit: limit, desc: desc}}
			for page := last; page.ListMetadata.Before != nil; {
				q.before = *page.ListMetadata.Before
				var err error
				if page, err = listOrganizationsOf(c, q); err != nil {
					t.Fatal(err)
				}
				ids := []string{}
				for _, o := range page.Data {
					ids = append(ids, o.ID)
				}
				got = append(ids, got...)
			}
			if !slices.Equal(got, want) {
				t.Errorf("limit %d desc %v backward: %v, want %v", limit, desc, got, want)
			}
		}
	}
}

// Any query string: no panic, no 5xx, a JSON answer, and only organizations
// (never a duplicate) in a list.
func FuzzOrganizationListQuery(f *testing.F) {
	for _, seed := range []string{"", "limit=3&after=o5", "order=asc&before=o1", "limit=-1", "limit=99999999999999999999",
		"after=%ff", "domains[]=a,b&domains=c", "search=%00", "order=normal&order=asc", "before=o2&after=o4", "limit=1;x",
		"namespace=videos&limit=2", "namespace=", "namespace=a&namespace=b", "%zz"} {
		f.Add(seed)
	}
	s := orgListServer(f)
	f.Fuzz(func(t *testing.T, raw string) {
		r := &http.Request{Method: http.MethodGet, URL: &url.URL{Path: "/organizations", RawQuery: raw},
			Header: http.Header{"Authorization": {"Bearer app"}}, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Host: "orgrbac", RemoteAddr: "192.0.2.1:1234", Body: http.NoBody}
		r = r.WithContext(t.Context())
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		if w.Code >= 500 {
			t.Fatalf("?%q: %d %s", raw, w.Code, w.Body)
		}
		body, _ := io.ReadAll(w.Body)
		var v struct {
			Object string `json:"object"`
			Data   []struct {
				ID string `json:"id"`
			} `json:"data"`
		}
		if err := json.Unmarshal(body, &v); err != nil {
			t.Fatalf("?%q: %d answer is not JSON: %q", raw, w.Code, body)
		}
		if w.Code == http.StatusOK {
			if v.Object != "list" || len(v.Data) > maxLimit {
				t.Fatalf("?%q: %s", raw, body)
			}
			for _, d := range v.Data {
				if !strings.HasPrefix(d.ID, "o") || d.ID == "n8" {
					t.Fatalf("?%q: lists %q", raw, d.ID)
				}
			}
		}
		// The parser alone, on the same input, never panics either.
		if q, err := url.ParseQuery(raw); err == nil {
			_, _ = parseOrganizationListQuery(func(name string) []string { return q[name] })
		}
	})
}
