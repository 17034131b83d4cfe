package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/go-logr/logr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/api/store"
	"github.com/orgrbac/orgrbac/internal/api/store/storetest"
	"github.com/orgrbac/orgrbac/internal/workos"
)

// The callers of the write tests, by token.
var (
	memberWriter = &userInfo{name: "system:serviceaccount:videos:writer"} // writes memberships in videos
	onlyReader   = &userInfo{name: "system:serviceaccount:videos:reader"} // reads only
)

// writeInput is the model the write tests write in: a single-role
// environment (default role member), acme (external id org_acme, with an
// organization role and a Directory mapping eng-admins -> admin) and globex.
func writeInput() *storetest.Objects {
	in := storetest.Sample()
	in.Environments[0].Spec.DefaultRole = "member"
	in.GroupMappings = []orgrbacv1alpha1.GroupMapping{{ObjectMeta: storetest.ObjMeta("acme-eng-admins", 7),
		Spec: orgrbacv1alpha1.GroupMappingSpec{Organization: "acme", Source: orgrbacv1alpha1.GroupSourceDirectory,
			Group: "eng-admins", Role: "admin"}}}
	dir := storetest.Member("ivy", "acme", "u_ivy", 16, "", true, []string{"admin"}, "videos:delete", "videos:edit", "videos:view")
	dir.Spec.DirectoryGroups, dir.Spec.Roles = []string{"eng-admins"}, []string{"member"}
	in.Memberships = append(in.Memberships, dir)
	for i := range in.Memberships {
		if m := &in.Memberships[i]; m.Spec.Roles == nil {
			m.Spec.Roles = slices.Clone(m.Status.Roles)
		}
	}
	return in
}

// newWriteServer serves in (namespace videos) with a fake write client
// holding its memberships; funcs intercept the client's calls.
func newWriteServer(t *testing.T, in *storetest.Objects, funcs *interceptor.Funcs) (*Server, client.Client) {
	t.Helper()
	sch := runtime.NewScheme()
	if err := orgrbacv1alpha1.AddToScheme(sch); err != nil {
		t.Fatal(err)
	}
	b := fake.NewClientBuilder().WithScheme(sch)
	for i := range in.Memberships {
		b = b.WithObjects(in.Memberships[i].DeepCopy())
	}
	if funcs != nil {
		b = b.WithInterceptorFuncs(*funcs)
	}
	cl := b.Build()
	clk := clocktesting.NewFakeClock(storetest.T0.Add(time.Hour))
	rev := &fakeReviewer{
		users: map[string]*userInfo{"writer": memberWriter, "reader": onlyReader},
		grants: map[string][]access{
			memberWriter.name + "/videos": {mayCreateMembership, mayUpdateMembership, mayDeleteMembership},
			onlyReader.name + "/videos":   {mayGetMembership, mayListMemberships},
		},
	}
	s := &Server{opts: Options{Client: cl, Clock: clk}, log: logr.Discard(), store: store.New(nil, clk, logr.Discard()),
		auth: newAuthCache(rev, AuthCacheOptions{}, clk)}
	s.store.Load("videos", in.Objects, in.Memberships, 7)
	s.routes()
	return s, cl
}

// memberships returns the Memberships the fake client holds, by name.
func memberships(t *testing.T, cl client.Client) map[string]orgrbacv1alpha1.Membership {
	t.Helper()
	var l orgrbacv1alpha1.MembershipList
	if err := cl.List(context.Background(), &l, client.InNamespace("videos")); err != nil {
		t.Fatal(err)
	}
	out := map[string]orgrbacv1alpha1.Membership{}
	for _, m := range l.Items {
		out[m.Name] = m
	}
	return out
}

// writeAnswer is a write's JSON answer: a membership or an error.
type writeAnswer struct {
	workos.Membership
	RoleSource *string      `json:"role_source"`
	Code       string       `json:"code"`
	Message    string       `json:"message"`
	Errors     []fieldError `json:"errors"`
}

func decodeAnswer(t *testing.T, body []byte) writeAnswer {
	t.Helper()
	var a writeAnswer
	if len(body) > 0 {
		if err := json.Unmarshal(body, &a); err != nil {
			t.Fatalf("answer %s: %v", body, err)
		}
	}
	return a
}

func roleSlugs(refs []workos.SlugRef) []string {
	out := []string{}
	for _, r := range refs {
		out = append(out, r.Slug)
	}
	return out
}

var membershipName = regexp.MustCompile(`^om-[a-z2-7]{20}$`)

// Creates: validated against the served model before anything is written,
// written with the caller recorded, answered as they will resolve.
func TestMembershipWriteCreate(t *testing.T) {
	const path = "/user_management/organization_memberships"
	for _, tc := range []struct {
		name, token, body string
		multiple          bool
		code              int
		errCode, field    string   // of an error
		id                string   // the membership written ("new": a new name)
		role, source      string   // the answer's primary role and role_source
		roles             []string // the answer's roles
		specRoles         []string // spec.roles written
	}{
		{name: "one role", token: "writer", body: `{"user_id":"u_new","organization_id":"org_acme","role_slug":"editor"}`,
			code: 201, id: "new", role: "editor", source: "manual", roles: []string{"editor"}, specRoles: []string{"editor"}},
		{name: "by the organization's name", token: "writer", body: `{"user_id":"u_new","organization_id":"acme","role_slugs":["editor","editor"]}`,
			code: 201, id: "new", role: "editor", source: "manual", roles: []string{"editor"}, specRoles: []string{"editor"}},
		{name: "no role: the default", token: "writer", body: `{"user_id":"u_new","organization_id":"org_acme"}`,
			code: 201, id: "new", role: "member", source: "default", roles: []string{"member"}},
		{name: "an organization role", token: "writer", body: `{"user_id":"u_new","organization_id":"org_acme","role_slug":"org-producer"}`,
			code: 201, id: "new", role: "org-producer", source: "manual", roles: []string{"org-producer"}, specRoles: []string{"org-producer"}},
		{name: "several roles, multiple roles", token: "writer", multiple: true,
			body: `{"user_id":"u_new","organization_id":"org_acme","role_slugs":["editor","admin"]}`,
			code: 201, id: "new", role: "admin", source: "manual", roles: []string{"admin", "editor"}, specRoles: []string{"editor", "admin"}},
		{name: "an inactive membership is activated", token: "writer", body: `{"user_id":"u_carol","organization_id":"org_acme","role_slug":"admin"}`,
			code: 201, id: "carol", role: "admin", source: "manual", roles: []string{"admin"}, specRoles: []string{"admin"}},
		{name: "an active membership exists", token: "writer", body: `{"user_id":"u_alice","organization_id":"org_acme"}`,
			code: 409, errCode: codeConflict},
		{name: "a pending membership exists", token: "writer", body: `{"user_id":"u_dave","organization_id":"acme","role_slug":"member"}`,
			code: 409, errCode: codeConflict},
		{name: "unknown organization", token: "writer", body: `{"user_id":"u_new","organization_id":"org_nope"}`,
			code: 404, errCode: codeNotFound},
		{name: "unknown role", token: "writer", body: `{"user_id":"u_new","organization_id":"org_acme","role_slug":"owner"}`,
			code: 422, errCode: codeInvalid, field: "role_slug"},
		{name: "another organization's role", token: "writer", body: `{"user_id":"u_new","organization_id":"globex","role_slug":"org-producer"}`,
			code: 422, errCode: codeInvalid, field: "role_slug"},
		{name: "several roles, single role", token: "writer", body: `{"user_id":"u_new","organization_id":"org_acme","role_slugs":["editor","admin"]}`,
			code: 422, errCode: codeInvalid, field: "role_slugs"},
		{name: "both role fields", token: "writer", body: `{"user_id":"u_new","organization_id":"org_acme","role_slug":"editor","role_slugs":["editor"]}`,
			code: 422, errCode: codeInvalid, field: "role_slugs"},
		{name: "no role in role_slugs", token: "writer", body: `{"user_id":"u_new","organization_id":"org_acme","role_slugs":[]}`,
			code: 422, errCode: codeInvalid, field: "role_slugs"},
		{name: "an empty role slug", token: "writer", body: `{"user_id":"u_new","organization_id":"org_acme","role_slugs":[""]}`,
			code: 422, errCode: codeInvalid, field: "role_slugs"},
		{name: "no user", token: "writer", body: `{"organization_id":"org_acme"}`, code: 422, errCode: codeInvalid, field: "user_id"},
		{name: "a user id with a space", token: "writer", body: `{"user_id":"u new","organization_id":"org_acme"}`,
			code: 422, errCode: codeInvalid, field: "user_id"},
		{name: "no organization", token: "writer", body: `{"user_id":"u_new"}`, code: 422, errCode: codeInvalid, field: "organization_id"},
		{name: "not a JSON object", token: "writer", body: `[1]`, code: 422, errCode: codeInvalid, field: "body"},
		{name: "denied", token: "reader", body: `{"user_id":"u_new","organization_id":"org_acme","role_slug":"editor"}`,
			code: 403, errCode: codeForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := writeInput()
			in.Environments[0].Spec.MultipleRoles = tc.multiple
			s, cl := newWriteServer(t, in, nil)
			before := memberships(t, cl)
			w, _ := serve(s, http.MethodPost, path, tc.token, tc.body)
			a := decodeAnswer(t, w.Body.Bytes())
			if w.Code != tc.code || a.Code != tc.errCode {
				t.Fatalf("%d %s; want %d %q", w.Code, w.Body, tc.code, tc.errCode)
			}
			after := memberships(t, cl)
			if tc.errCode != "" {
				if tc.field != "" && (len(a.Errors) != 1 || a.Errors[0].Field != tc.field) {
					t.Errorf("errors %+v; want one for %s", a.Errors, tc.field)
				}
				for name, m := range after {
					if b, ok := before[name]; !ok || b.ResourceVersion != m.ResourceVersion {
						t.Errorf("%s was written by a refused create", name)
					}
				}
				return
			}
			id := a.ID
			if tc.id == "new" {
				if !membershipName.MatchString(id) || len(after) != len(before)+1 {
					t.Errorf("id %q, %d memberships after, %d before", id, len(after), len(before))
				}
			} else if id != tc.id || len(after) != len(before) {
				t.Errorf("id %q, want %q; %d memberships after, %d before", id, tc.id, len(after), len(before))
			}
			obj, ok := after[id]
			if !ok {
				t.Fatalf("no membership %s written", id)
			}
			if obj.Spec.Organization != "acme" && obj.Spec.Organization != "globex" ||
				obj.Spec.State != orgrbacv1alpha1.MembershipActive || !slices.Equal(obj.Spec.Roles, tc.specRoles) ||
				obj.Annotations[orgrbacv1alpha1.AnnotationWrittenBy] != memberWriter.name {
				t.Errorf("written %+v %v", obj.Spec, obj.Annotations)
			}
			if a.Object != "organization_membership" || a.OrganizationID != "org_acme" || a.OrganizationName != "Acme Inc." ||
				a.Status != "active" || a.Role == nil || a.Role.Slug != tc.role || !slices.Equal(roleSlugs(a.Roles), tc.roles) ||
				a.RoleSource == nil || *a.RoleSource != tc.source || a.UserID != obj.Spec.User {
				t.Errorf("answer %s", w.Body)
			}
		})
	}
}

// Updates of the roles, deactivations, reactivations and deletions: read
// through the write client, changed where the route says, answered as they
// will resolve; no-ops write nothing.
func TestMembershipWriteChanges(t *testing.T) {
	base := "/user_management/organization_memberships/"
	for _, tc := range []struct {
		name, method, target, token, body string
		code                              int
		errCode                           string
		written                           bool   // the object changed
		state                             string // the answer's status
		role, source                      string // the answer's primary role and role_source
		check                             func(t *testing.T, m orgrbacv1alpha1.Membership, ok bool)
	}{
		{name: "new role", method: "PUT", target: base + "alice", token: "writer", body: `{"role_slug":"editor"}`,
			code: 200, written: true, state: "active", role: "editor", source: "manual",
			check: func(t *testing.T, m orgrbacv1alpha1.Membership, _ bool) {
				if !slices.Equal(m.Spec.Roles, []string{"editor"}) {
					t.Errorf("spec.roles %v", m.Spec.Roles)
				}
			}},
		{name: "a directory mapping outranks the new role", method: "PUT", target: base + "ivy", token: "writer",
			body: `{"role_slugs":["editor"]}`, code: 200, written: true, state: "active", role: "admin", source: "directory",
			check: func(t *testing.T, m orgrbacv1alpha1.Membership, _ bool) {
				if !slices.Equal(m.Spec.Roles, []string{"editor"}) || !slices.Equal(m.Spec.DirectoryGroups, []string{"eng-admins"}) {
					t.Errorf("spec %+v", m.Spec)
				}
			}},
		{name: "no role: no change", method: "PUT", target: base + "alice", token: "writer", body: `{}`,
			code: 200, state: "active", role: "admin", source: "manual"},
		{name: "the same role: no change", method: "PUT", target: base + "alice", token: "writer", body: `{"role_slug":"admin"}`,
			code: 200, state: "active", role: "admin", source: "manual"},
		{name: "unknown role", method: "PUT", target: base + "alice", token: "writer", body: `{"role_slug":"owner"}`,
			code: 422, errCode: codeInvalid},
		{name: "update of no membership", method: "PUT", target: base + "nope", token: "writer", body: `{"role_slug":"editor"}`,
			code: 404, errCode: codeNotFound},
		{name: "update denied", method: "PUT", target: base + "alice", token: "reader", body: `{"role_slug":"editor"}`,
			code: 403, errCode: codeForbidden},
		{name: "deactivate", method: "PUT", target: base + "alice/deactivate", token: "writer",
			code: 200, written: true, state: "inactive", role: "admin", source: "manual",
			check: func(t *testing.T, m orgrbacv1alpha1.Membership, _ bool) {
				if m.Spec.State != orgrbacv1alpha1.MembershipInactive || !slices.Equal(m.Spec.Roles, []string{"admin"}) {
					t.Errorf("spec %+v", m.Spec)
				}
			}},
		{name: "deactivate an inactive membership", method: "PUT", target: base + "carol/deactivate", token: "writer",
			code: 200, state: "inactive", role: "editor", source: "manual"},
		{name: "deactivate a pending membership", method: "PUT", target: base + "dave/deactivate", token: "writer",
			code: 400, errCode: codeDeactivatePending},
		{name: "deactivate no membership", method: "PUT", target: base + "nope/deactivate", token: "writer",
			code: 404, errCode: codeNotFound},
		{name: "deactivate denied", method: "PUT", target: base + "alice/deactivate", token: "reader",
			code: 403, errCode: codeForbidden},
		{name: "reactivate keeps the roles", method: "PUT", target: base + "carol/reactivate", token: "writer",
			code: 200, written: true, state: "active", role: "editor", source: "manual",
			check: func(t *testing.T, m orgrbacv1alpha1.Membership, _ bool) {
				if m.Spec.State != orgrbacv1alpha1.MembershipActive || !slices.Equal(m.Spec.Roles, []string{"editor"}) {
					t.Errorf("spec %+v", m.Spec)
				}
			}},
		{name: "reactivate an active membership", method: "PUT", target: base + "alice/reactivate", token: "writer",
			code: 200, state: "active", role: "admin", source: "manual"},
		{name: "reactivate a pending membership", method: "PUT", target: base + "dave/reactivate", token: "writer",
			code: 400, errCode: codeReactivatePending},
		{name: "delete", method: "DELETE", target: base + "alice", token: "writer", code: 202,
			check: func(t *testing.T, _ orgrbacv1alpha1.Membership, ok bool) {
				if ok {
					t.Error("alice was not deleted")
				}
			}},
		{name: "delete no membership", method: "DELETE", target: base + "nope", token: "writer", code: 404, errCode: codeNotFound},
		{name: "delete denied", method: "DELETE", target: base + "alice", token: "reader", code: 403, errCode: codeForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, cl := newWriteServer(t, writeInput(), nil)
			before := memberships(t, cl)
			w, _ := serve(s, tc.method, tc.target, tc.token, tc.body)
			a := decodeAnswer(t, w.Body.Bytes())
			if w.Code != tc.code || a.Code != tc.errCode {
				t.Fatalf("%d %s; want %d %q", w.Code, w.Body, tc.code, tc.errCode)
			}
			after := memberships(t, cl)
			for name, b := range before {
				m, ok := after[name]
				changed := !ok || m.ResourceVersion != b.ResourceVersion
				mine := regexp.MustCompile("/" + name + "(/|$)").MatchString(tc.target)
				if wrote := mine && (tc.written || tc.method == "DELETE" && tc.errCode == ""); changed && !wrote {
					t.Errorf("%s changed", name)
				}
				if mine && tc.written && !changed {
					t.Errorf("%s was not written", name)
				}
				if mine && tc.written && m.Annotations[orgrbacv1alpha1.AnnotationWrittenBy] != memberWriter.name {
					t.Errorf("%s: annotations %v", name, m.Annotations)
				}
				if mine && tc.check != nil {
					tc.check(t, m, ok)
				}
			}
			if tc.errCode != "" || tc.method == "DELETE" {
				return
			}
			if a.Status != tc.state || a.Role == nil || a.Role.Slug != tc.role || a.RoleSource == nil || *a.RoleSource != tc.source {
				t.Errorf("answer %s", w.Body)
			}
		})
	}
}

// An update that loses a race with another writer is retried on the fresh
// object; the API server's refusals answer in WorkOS's shape; without a write
// client the routes answer 501.
func TestMembershipWriteConflictsAndRefusals(t *testing.T) {
	updates := 0
	s, cl := newWriteServer(t, writeInput(), &interceptor.Funcs{
		Update: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.UpdateOption) error {
			updates++
			if updates == 1 {
				return apierrors.NewConflict(schema.GroupResource{Group: CheckGroup, Resource: MembershipResource},
					obj.GetName(), errors.New("the object has been modified"))
			}
			return c.Update(ctx, obj, opts...)
		},
		Create: func(context.Context, client.WithWatch, client.Object, ...client.CreateOption) error {
			return apierrors.NewInvalid(schema.GroupKind{Group: CheckGroup, Kind: "Membership"}, "om-x",
				field.ErrorList{field.Invalid(field.NewPath("spec", "user"), "x", "user is refused by a policy")})
		},
	})
	w, _ := serve(s, http.MethodPut, "/user_management/organization_memberships/alice", "writer", `{"role_slug":"editor"}`)
	if w.Code != http.StatusOK || updates != 2 {
		t.Errorf("update after a conflict: %d %s, %d updates", w.Code, w.Body, updates)
	}
	if m := memberships(t, cl)["alice"]; !slices.Equal(m.Spec.Roles, []string{"editor"}) {
		t.Errorf("alice's roles %v after the retried update", m.Spec.Roles)
	}
	w, _ = serve(s, http.MethodPost, "/user_management/organization_memberships", "writer",
		`{"user_id":"u_new","organization_id":"org_acme"}`)
	if a := decodeAnswer(t, w.Body.Bytes()); w.Code != http.StatusUnprocessableEntity || a.Code != codeInvalid ||
		len(a.Errors) != 1 || a.Errors[0].Field != "spec.user" {
		t.Errorf("a create the API server refuses: %d %s", w.Code, w.Body)
	}

	s.opts.Client = nil
	for _, r := range []struct{ method, target, body string }{
		{"POST", "/user_management/organization_memberships", `{"user_id":"u_new","organization_id":"org_acme"}`},
		{"PUT", "/user_management/organization_memberships/alice", `{"role_slug":"editor"}`},
		{"PUT", "/user_management/organization_memberships/alice/deactivate", ""},
		{"PUT", "/user_management/organization_memberships/carol/reactivate", ""},
		{"DELETE", "/user_management/organization_memberships/alice", ""},
	} {
		if w, _ := serve(s, r.method, r.target, "writer", r.body); w.Code != http.StatusNotImplemented {
			t.Errorf("%s %s without a client: %d %s", r.method, r.target, w.Code, w.Body)
		}
	}
}
