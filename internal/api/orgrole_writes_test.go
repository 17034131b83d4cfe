package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/api/store/storetest"
)

// orgRoleInput is the sample environment with the organization roles the
// write tests need: org-lite (a group mapping's role), org-spare (unused),
// org-specced (named by a membership's spec only, not resolved yet), globex's
// own org-spare, and a younger organization that duplicates acme's external
// id.
func orgRoleInput() *storetest.Objects {
	in := storetest.Sample()
	orole := func(name, org, slug string, age int, display, desc string, perms ...string) orgrbacv1alpha1.OrganizationRole {
		return orgrbacv1alpha1.OrganizationRole{ObjectMeta: storetest.ObjMeta(name, age), Spec: orgrbacv1alpha1.OrganizationRoleSpec{
			Organization: org, Slug: slug, DisplayName: display, Description: desc, Permissions: perms}}
	}
	in.OrganizationRoles = append(in.OrganizationRoles,
		orole("acme-lite", "acme", "org-lite", 7, "Lite", "Light access", "videos:view"),
		orole("acme-spare", "acme", "org-spare", 8, "", ""),
		orole("acme-specced", "acme", "org-specced", 9, "", ""),
		orole("globex-spare", "globex", "org-spare", 10, "", ""))
	in.Organizations = append(in.Organizations, orgrbacv1alpha1.Organization{ObjectMeta: storetest.ObjMeta("dupe", 20),
		Spec: orgrbacv1alpha1.OrganizationSpec{ExternalID: "org_acme"}})
	in.GroupMappings = append(in.GroupMappings, orgrbacv1alpha1.GroupMapping{ObjectMeta: storetest.ObjMeta("acme-leads", 16),
		Spec: orgrbacv1alpha1.GroupMappingSpec{Organization: "acme", Source: orgrbacv1alpha1.GroupSourceSSO,
			Group: "leads", Role: "org-lite"}})
	grace := orgrbacv1alpha1.Membership{ObjectMeta: storetest.ObjMeta("grace", 17), Spec: orgrbacv1alpha1.MembershipSpec{
		Organization: "acme", User: "u_grace", Roles: []string{"org-specced"}}}
	in.Memberships = append(in.Memberships, grace)
	return in
}

// writeLog records the writes made through the fake write client.
type writeLog struct {
	mu     sync.Mutex
	writes []string // "create", "update", "delete"
	owners []client.FieldOwner
	fail   map[string][]error // verb -> errors returned by the next calls
}

func (l *writeLog) record(verb string, opts []any) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.writes = append(l.writes, verb)
	for _, o := range opts {
		if fo, ok := o.(client.FieldOwner); ok {
			l.owners = append(l.owners, fo)
		}
	}
	if errs := l.fail[verb]; len(errs) > 0 {
		l.fail[verb] = errs[1:]
		return errs[0]
	}
	return nil
}

func anys[T any](s []T) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// newOrgRoleServer serves in (namespace videos, revision 7) with a fake
// write client holding the same objects; the log records every write.
func newOrgRoleServer(t *testing.T, in *storetest.Objects) (*Server, client.Client, *writeLog) {
	t.Helper()
	sch := runtime.NewScheme()
	if err := orgrbacv1alpha1.AddToScheme(sch); err != nil {
		t.Fatal(err)
	}
	var objs []client.Object
	for i := range in.Environments {
		objs = append(objs, in.Environments[i].DeepCopy())
	}
	for i := range in.Roles {
		objs = append(objs, in.Roles[i].DeepCopy())
	}
	for i := range in.Organizations {
		objs = append(objs, in.Organizations[i].DeepCopy())
	}
	for i := range in.OrganizationRoles {
		objs = append(objs, in.OrganizationRoles[i].DeepCopy())
	}
	for i := range in.Memberships {
		objs = append(objs, in.Memberships[i].DeepCopy())
	}
	for i := range in.GroupMappings {
		objs = append(objs, in.GroupMappings[i].DeepCopy())
	}
	log := &writeLog{fail: map[string][]error{}}
	c := fake.NewClientBuilder().WithScheme(sch).WithObjects(objs...).WithInterceptorFuncs(interceptor.Funcs{
		Create: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
			if err := log.record("create", anys(opts)); err != nil {
				return err
			}
			return c.Create(ctx, obj, opts...)
		},
		Update: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.UpdateOption) error {
			if err := log.record("update", anys(opts)); err != nil {
				return err
			}
			return c.Update(ctx, obj, opts...)
		},
		Delete: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.DeleteOption) error {
			if err := log.record("delete", anys(opts)); err != nil {
				return err
			}
			return c.Delete(ctx, obj, opts...)
		},
		Patch: func(context.Context, client.WithWatch, client.Object, client.Patch, ...client.PatchOption) error {
			_ = log.record("patch", nil)
			return fmt.Errorf("the organization-role writes never patch")
		},
	}).Build()
	s, _ := newLimitedServer(t, Options{Client: c})
	s.store.Load("videos", in.Objects, in.Memberships, 7)
	return s, c, log
}

// orgRolesOf returns the OrganizationRoles the write client holds, by name.
func orgRolesOf(t *testing.T, c client.Client) map[string]orgrbacv1alpha1.OrganizationRole {
	t.Helper()
	var list orgrbacv1alpha1.OrganizationRoleList
	if err := c.List(context.Background(), &list, client.InNamespace("videos")); err != nil {
		t.Fatal(err)
	}
	out := map[string]orgrbacv1alpha1.OrganizationRole{}
	for _, o := range list.Items {
		out[o.Name] = o
	}
	return out
}

// roleBySlug returns the OrganizationRole of org with slug, nil when none.
func roleBySlug(t *testing.T, c client.Client, org, slug string) *orgrbacv1alpha1.OrganizationRole {
	t.Helper()
	for _, o := range orgRolesOf(t, c) {
		if o.Spec.Organization == org && o.Spec.Slug == slug {
			return &o
		}
	}
	return nil
}

// checkRoleJSON checks a role object as the SDKs deserialize it.
func checkRoleJSON(t *testing.T, body map[string]any, slug, name string, perms ...string) {
	t.Helper()
	if body["object"] != "role" || body["type"] != "OrganizationRole" || body["slug"] != slug || body["name"] != name ||
		body["resource_type_slug"] != "organization" {
		t.Errorf("role object %v; want slug %s, name %s, type OrganizationRole", body, slug, name)
	}
	for _, k := range []string{"id", "created_at", "updated_at"} {
		if v, ok := body[k].(string); !ok || v == "" {
			t.Errorf("role object: %s is %v, want a string", k, body[k])
		}
	}
	if _, ok := body["description"]; !ok {
		t.Error("role object: no description (string or null)")
	}
	got, ok := body["permissions"].([]any)
	if !ok {
		t.Fatalf("role object: permissions %v is not an array", body["permissions"])
	}
	if want := anys(perms); !slices.Equal(got, want) {
		t.Errorf("role object: permissions %v, want %v", got, want)
	}
}

// orgRoleCase is one request of an organization-role write and what it must
// answer and leave.
type orgRoleCase struct {
	name, method, target, body string
	token                      string // "app" when empty
	code                       int
	errCode                    string // the WorkOS error code of a refusal
	writes                     []string
	check                      func(t *testing.T, c client.Client, body map[string]any)
}

func runOrgRoleCases(t *testing.T, cases []orgRoleCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, c, log := newOrgRoleServer(t, orgRoleInput())
			before := orgRolesOf(t, c)
			token := tc.token
			if token == "" {
				token = "app"
			}
			w, _ := serve(s, tc.method, tc.target, token, tc.body)
			if w.Code != tc.code {
				t.Fatalf("%s %s: %d %s; want %d", tc.method, tc.target, w.Code, w.Body, tc.code)
			}
			var body map[string]any
			if w.Code != http.StatusNoContent {
				if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
					t.Fatalf("answer %q is not a JSON object: %v", w.Body, err)
				}
			} else if w.Body.Len() != 0 {
				t.Errorf("204 with a body: %s", w.Body)
			}
			if tc.errCode != "" {
				if body["code"] != tc.errCode || body["message"] == "" {
					t.Errorf("error body %v; want code %s with a message", body, tc.errCode)
				}
			}
			if !slices.Equal(log.writes, tc.writes) {
				t.Errorf("writes %v, want %v", log.writes, tc.writes)
			}
			for _, o := range log.owners {
				if o != DefaultFieldManager {
					t.Errorf("written with field owner %q, want %q", o, DefaultFieldManager)
				}
			}
			if len(tc.writes) == 0 {
				after := orgRolesOf(t, c)
				if len(after) != len(before) {
					t.Errorf("a refusal changed the roles: %d before, %d after", len(before), len(after))
				}
				for name, o := range before {
					if a, ok := after[name]; !ok || a.ResourceVersion != o.ResourceVersion {
						t.Errorf("a refusal changed OrganizationRole %s", name)
					}
				}
			}
			if tc.check != nil {
				tc.check(t, c, body)
			}
		})
	}
}

// writtenBy checks that the role records its writer.
func writtenBy(t *testing.T, o *orgrbacv1alpha1.OrganizationRole) {
	t.Helper()
	if got := o.Annotations[orgrbacv1alpha1.AnnotationWrittenBy]; got != videosApp.name {
		t.Errorf("%s written by %q, want %q", o.Name, got, videosApp.name)
	}
}

func TestOrgRoleCreate(t *testing.T) {
	const path = "/authorization/organizations/org_acme/roles"
	created := func(slug, name, desc string) func(t *testing.T, c client.Client, body map[string]any) {
		return func(t *testing.T, c client.Client, body map[string]any) {
			o := roleBySlug(t, c, "acme", slug)
			if o == nil {
				t.Fatalf("no OrganizationRole %s in acme", slug)
			}
			if o.Spec.DisplayName != name || o.Spec.Description != desc || len(o.Spec.Permissions) != 0 {
				t.Errorf("created spec %+v", o.Spec)
			}
			if want := "acme-" + slug + "-"; !strings.HasPrefix(o.Name, want) || len(o.Name) != len(want)+5 {
				t.Errorf("object name %q, want %q and a random suffix", o.Name, want)
			}
			writtenBy(t, o)
			checkRoleJSON(t, body, slug, name)
			if body["id"] != o.Name {
				t.Errorf("id %v, want the object's name %s", body["id"], o.Name)
			}
		}
	}
	runOrgRoleCases(t, []orgRoleCase{
		{name: "created", method: "POST", target: path, body: `{"slug":"org-reviewer","name":"Reviewer","description":"Reviews"}`,
			code: http.StatusCreated, writes: []string{"create"}, check: created("org-reviewer", "Reviewer", "Reviews")},
		{name: "by the organization's name", method: "POST", target: "/authorization/organizations/acme/roles",
			body: `{"slug":"org-reviewer","name":"Reviewer"}`, code: http.StatusCreated, writes: []string{"create"},
			check: created("org-reviewer", "Reviewer", "")},
		{name: "explicit resource type", method: "POST", target: path,
			body: `{"slug":"org-reviewer","name":"Reviewer","resource_type_slug":"organization"}`,
			code: http.StatusCreated, writes: []string{"create"}},
		{name: "slug generated from the name", method: "POST", target: path, body: `{"name":"Video Reviewer (EU)!"}`,
			code: http.StatusCreated, writes: []string{"create"},
			check: func(t *testing.T, c client.Client, body map[string]any) {
				slug, _ := body["slug"].(string)
				if !regexp.MustCompile(`^org-video-reviewer-eu-[a-z0-9]{8}$`).MatchString(slug) {
					t.Fatalf("generated slug %q", slug)
				}
				created(slug, "Video Reviewer (EU)!", "")(t, c, body)
			}},
		{name: "another organization's slug", method: "POST", target: path, body: `{"slug":"org-spare2","name":"S"}`,
			code: http.StatusCreated, writes: []string{"create"}},
		{name: "slug taken in the organization", method: "POST", target: path, body: `{"slug":"org-producer","name":"P"}`,
			code: http.StatusConflict, errCode: codeOrgRoleSlugConflict},
		{name: "slug taken, by the globex organization", method: "POST", target: "/authorization/organizations/globex/roles",
			body: `{"slug":"org-spare","name":"S"}`, code: http.StatusConflict, errCode: codeOrgRoleSlugConflict},
		{name: "unknown organization", method: "POST", target: "/authorization/organizations/initech/roles",
			body: `{"slug":"org-x","name":"X"}`, code: http.StatusNotFound, errCode: codeNotFound},
		{name: "duplicate organization answers to no id", method: "POST", target: "/authorization/organizations/dupe/roles",
			body: `{"slug":"org-x","name":"X"}`, code: http.StatusNotFound, errCode: codeNotFound},
		{name: "slug without org-", method: "POST", target: path, body: `{"slug":"reviewer","name":"R"}`,
			code: http.StatusUnprocessableEntity, errCode: codeInvalid},
		{name: "org_ slug (orgrbac's, not WorkOS's)", method: "POST", target: path, body: `{"slug":"org_reviewer","name":"R"}`,
			code: http.StatusUnprocessableEntity, errCode: codeInvalid},
		{name: "environment role slug", method: "POST", target: path, body: `{"slug":"admin","name":"A"}`,
			code: http.StatusUnprocessableEntity, errCode: codeInvalid},
		{name: "bare prefix", method: "POST", target: path, body: `{"slug":"org-","name":"A"}`,
			code: http.StatusUnprocessableEntity, errCode: codeInvalid},
		{name: "upper case slug", method: "POST", target: path, body: `{"slug":"org-Reviewer","name":"R"}`,
			code: http.StatusUnprocessableEntity, errCode: codeInvalid},
		{name: "slug too long", method: "POST", target: path, body: `{"slug":"org-` + strings.Repeat("a", 61) + `","name":"R"}`,
			code: http.StatusUnprocessableEntity, errCode: codeInvalid},
		{name: "no name", method: "POST", target: path, body: `{"slug":"org-reviewer"}`,
			code: http.StatusUnprocessableEntity, errCode: codeInvalid},
		{name: "blank name", method: "POST", target: path, body: `{"slug":"org-reviewer","name":"  "}`,
			code: http.StatusUnprocessableEntity, errCode: codeInvalid},
		{name: "name too long", method: "POST", target: path, body: `{"name":"` + strings.Repeat("n", 257) + `"}`,
			code: http.StatusUnprocessableEntity, errCode: codeInvalid},
		{name: "description too long", method: "POST", target: path,
			body: `{"name":"R","description":"` + strings.Repeat("d", 2049) + `"}`, code: http.StatusUnprocessableEntity, errCode: codeInvalid},
		{name: "resource-scoped role", method: "POST", target: path, body: `{"name":"R","resource_type_slug":"project"}`,
			code: http.StatusUnprocessableEntity, errCode: codeInvalid},
		{name: "malformed body", method: "POST", target: path, body: `{"name":`,
			code: http.StatusUnprocessableEntity, errCode: codeInvalid},
		{name: "not a JSON object", method: "POST", target: path, body: `["org-x"]`,
			code: http.StatusUnprocessableEntity, errCode: codeInvalid},
		{name: "caller without access", token: "stranger", method: "POST", target: path + "?namespace=videos",
			body: `{"slug":"org-x","name":"X"}`, code: http.StatusForbidden, errCode: codeForbidden},
	})
}

func TestOrgRoleUpdate(t *testing.T) {
	const lite = "/authorization/organizations/org_acme/roles/org-lite"
	spec := func(name, desc string) func(t *testing.T, c client.Client, body map[string]any) {
		return func(t *testing.T, c client.Client, body map[string]any) {
			o := roleBySlug(t, c, "acme", "org-lite")
			if o.Spec.DisplayName != name || o.Spec.Description != desc || !slices.Equal(o.Spec.Permissions, []string{"videos:view"}) {
				t.Errorf("spec after the update %+v", o.Spec)
			}
			checkRoleJSON(t, body, "org-lite", name, "videos:view")
			if desc == "" && body["description"] != nil {
				t.Errorf("description %v, want null", body["description"])
			} else if desc != "" && body["description"] != desc {
				t.Errorf("description %v, want %s", body["description"], desc)
			}
		}
	}
	runOrgRoleCases(t, []orgRoleCase{
		{name: "name", method: "PATCH", target: lite, body: `{"name":"Lighter"}`, code: http.StatusOK,
			writes: []string{"update"}, check: func(t *testing.T, c client.Client, body map[string]any) {
				spec("Lighter", "Light access")(t, c, body)
				writtenBy(t, roleBySlug(t, c, "acme", "org-lite"))
			}},
		{name: "description", method: "PATCH", target: lite, body: `{"description":"Reads"}`, code: http.StatusOK,
			writes: []string{"update"}, check: spec("Lite", "Reads")},
		{name: "null description clears it", method: "PATCH", target: lite, body: `{"description":null}`, code: http.StatusOK,
			writes: []string{"update"}, check: spec("Lite", "")},
		{name: "both", method: "PATCH", target: lite, body: `{"name":"L","description":""}`, code: http.StatusOK,
			writes: []string{"update"}, check: spec("L", "")},
		{name: "nothing to change", method: "PATCH", target: lite, body: `{}`, code: http.StatusOK,
			check: spec("Lite", "Light access")},
		{name: "the same values", method: "PATCH", target: lite, body: `{"name":"Lite","description":"Light access"}`,
			code: http.StatusOK, check: spec("Lite", "Light access")},
		{name: "unknown slug", method: "PATCH", target: "/authorization/organizations/org_acme/roles/org-nope",
			body: `{"name":"X"}`, code: http.StatusNotFound, errCode: codeNotFound},
		{name: "environment role slug", method: "PATCH", target: "/authorization/organizations/org_acme/roles/admin",
			body: `{"name":"X"}`, code: http.StatusNotFound, errCode: codeNotFound},
		{name: "another organization's role", method: "PATCH", target: "/authorization/organizations/globex/roles/org-lite",
			body: `{"name":"X"}`, code: http.StatusNotFound, errCode: codeNotFound},
		{name: "unknown organization", method: "PATCH", target: "/authorization/organizations/initech/roles/org-lite",
			body: `{"name":"X"}`, code: http.StatusNotFound, errCode: codeNotFound},
		{name: "null name", method: "PATCH", target: lite, body: `{"name":null}`,
			code: http.StatusUnprocessableEntity, errCode: codeInvalid},
		{name: "empty name", method: "PATCH", target: lite, body: `{"name":""}`,
			code: http.StatusUnprocessableEntity, errCode: codeInvalid},
		{name: "name not a string", method: "PATCH", target: lite, body: `{"name":7}`,
			code: http.StatusUnprocessableEntity, errCode: codeInvalid},
		{name: "description too long", method: "PATCH", target: lite, body: `{"description":"` + strings.Repeat("d", 2049) + `"}`,
			code: http.StatusUnprocessableEntity, errCode: codeInvalid},
	})
}

func TestOrgRoleDelete(t *testing.T) {
	const roles = "/authorization/organizations/org_acme/roles/"
	runOrgRoleCases(t, []orgRoleCase{
		// The caller is recorded on the role (for admission policies) before the
		// delete of exactly that version.
		{name: "unused", method: "DELETE", target: roles + "org-spare", code: http.StatusNoContent, writes: []string{"update", "delete"},
			check: func(t *testing.T, c client.Client, _ map[string]any) {
				if roleBySlug(t, c, "acme", "org-spare") != nil {
					t.Error("acme's org-spare is still there")
				}
				if roleBySlug(t, c, "globex", "org-spare") == nil {
					t.Error("globex's org-spare went too")
				}
			}},
		{name: "resolved for a member", method: "DELETE", target: roles + "org-producer",
			code: http.StatusConflict, errCode: codeRoleHasAssignments},
		{name: "named by a membership's spec", method: "DELETE", target: roles + "org-specced",
			code: http.StatusConflict, errCode: codeRoleHasAssignments},
		{name: "a group mapping's role", method: "DELETE", target: roles + "org-lite",
			code: http.StatusConflict, errCode: codeRoleHasGroupRoleMappings},
		{name: "environment role slug", method: "DELETE", target: roles + "admin", code: http.StatusNotFound, errCode: codeNotFound},
		{name: "unknown slug", method: "DELETE", target: roles + "org-nope", code: http.StatusNotFound, errCode: codeNotFound},
		{name: "unknown organization", method: "DELETE", target: "/authorization/organizations/initech/roles/org-spare",
			code: http.StatusNotFound, errCode: codeNotFound},
		{name: "caller without access", token: "stranger", method: "DELETE", target: roles + "org-spare?namespace=videos",
			code: http.StatusForbidden, errCode: codeForbidden},
	})
}

func TestOrgRolePermissions(t *testing.T) {
	const producer = "/authorization/organizations/org_acme/roles/org-producer/permissions"
	perms := func(want ...string) func(t *testing.T, c client.Client, body map[string]any) {
		return func(t *testing.T, c client.Client, body map[string]any) {
			o := roleBySlug(t, c, "acme", "org-producer")
			if !slices.Equal(o.Spec.Permissions, want) {
				t.Errorf("permissions %v, want %v", o.Spec.Permissions, want)
			}
			checkRoleJSON(t, body, "org-producer", "org-producer", want...)
		}
	}
	many := make([]string, maxOrgRolePermissions+1)
	for i := range many {
		many[i] = fmt.Sprintf("%q", fmt.Sprintf("p:%04d", i))
	}
	runOrgRoleCases(t, []orgRoleCase{
		// Add one.
		{name: "add", method: "POST", target: producer, body: `{"slug":"videos:publish"}`, code: http.StatusOK,
			writes: []string{"update"}, check: func(t *testing.T, c client.Client, body map[string]any) {
				perms("videos:create", "videos:publish")(t, c, body)
				writtenBy(t, roleBySlug(t, c, "acme", "org-producer"))
			}},
		{name: "add, sorted", method: "POST", target: producer, body: `{"slug":"a:b"}`, code: http.StatusOK,
			writes: []string{"update"}, check: perms("a:b", "videos:create")},
		{name: "add one already held", method: "POST", target: producer, body: `{"slug":"videos:create"}`, code: http.StatusOK,
			check: perms("videos:create")},
		{name: "add without a slug", method: "POST", target: producer, body: `{}`,
			code: http.StatusUnprocessableEntity, errCode: codeInvalid},
		{name: "add an invalid slug", method: "POST", target: producer, body: `{"slug":"Videos View"}`,
			code: http.StatusUnprocessableEntity, errCode: codeInvalid},
		{name: "add to an environment role", method: "POST", target: "/authorization/organizations/org_acme/roles/admin/permissions",
			body: `{"slug":"a:b"}`, code: http.StatusNotFound, errCode: codeNotFound},
		{name: "add to an unknown organization", method: "POST", target: "/authorization/organizations/initech/roles/org-producer/permissions",
			body: `{"slug":"a:b"}`, code: http.StatusNotFound, errCode: codeNotFound},
		// Set them all.
		{name: "set", method: "PUT", target: producer, body: `{"permissions":["b:x","a:y","a:y"]}`, code: http.StatusOK,
			writes: []string{"update"}, check: perms("a:y", "b:x")},
		{name: "set none", method: "PUT", target: producer, body: `{"permissions":[]}`, code: http.StatusOK,
			writes: []string{"update"}, check: perms()},
		{name: "set the same", method: "PUT", target: producer, body: `{"permissions":["videos:create"]}`, code: http.StatusOK,
			check: perms("videos:create")},
		{name: "set without permissions", method: "PUT", target: producer, body: `{}`,
			code: http.StatusUnprocessableEntity, errCode: codeInvalid},
		{name: "set null", method: "PUT", target: producer, body: `{"permissions":null}`,
			code: http.StatusUnprocessableEntity, errCode: codeInvalid},
		{name: "set an empty slug", method: "PUT", target: producer, body: `{"permissions":["a:b",""]}`,
			code: http.StatusUnprocessableEntity, errCode: codeInvalid},
		{name: "set too many", method: "PUT", target: producer, body: `{"permissions":[` + strings.Join(many, ",") + `]}`,
			code: http.StatusUnprocessableEntity, errCode: codeInvalid},
		{name: "set on an unknown role", method: "PUT", target: "/authorization/organizations/org_acme/roles/org-nope/permissions",
			body: `{"permissions":[]}`, code: http.StatusNotFound, errCode: codeNotFound},
		// Remove one.
		{name: "remove", method: "DELETE", target: producer + "/videos:create", code: http.StatusOK,
			writes: []string{"update"}, check: perms()},
		{name: "remove one not held", method: "DELETE", target: producer + "/videos:view",
			code: http.StatusNotFound, errCode: codeNotFound},
		{name: "remove from an environment role", method: "DELETE",
			target: "/authorization/organizations/org_acme/roles/admin/permissions/videos:view", code: http.StatusNotFound, errCode: codeNotFound},
	})
}

// A write that loses a race with another writer is retried on the object as
// it is then, and a refusal of the API server answers in WorkOS's shape.
func TestOrgRoleWritesMeetTheAPIServer(t *testing.T) {
	conflict := apierrors.NewConflict(schema.GroupResource{Group: CheckGroup, Resource: OrganizationRoleResource},
		"acme-producer", fmt.Errorf("the object has been modified"))
	s, c, log := newOrgRoleServer(t, orgRoleInput())
	log.fail["update"] = []error{conflict}
	w, _ := serve(s, "POST", "/authorization/organizations/org_acme/roles/org-producer/permissions", "app", `{"slug":"a:b"}`)
	if w.Code != http.StatusOK || !slices.Equal(log.writes, []string{"update", "update"}) {
		t.Fatalf("after a conflict: %d %s, writes %v; want 200 after a second update", w.Code, w.Body, log.writes)
	}
	if got := roleBySlug(t, c, "acme", "org-producer").Spec.Permissions; !slices.Equal(got, []string{"a:b", "videos:create"}) {
		t.Errorf("permissions %v after the retried write", got)
	}

	s, _, log = newOrgRoleServer(t, orgRoleInput())
	log.fail["create"] = []error{apierrors.NewForbidden(schema.GroupResource{Group: CheckGroup, Resource: OrganizationRoleResource},
		"", fmt.Errorf("denied by the admission webhook"))}
	w, _ = serve(s, "POST", "/authorization/organizations/org_acme/roles", "app", `{"slug":"org-x","name":"X"}`)
	if w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), `"code":"forbidden"`) {
		t.Errorf("admission refusal: %d %s; want 403 forbidden", w.Code, w.Body)
	}
}

// Without a write client, every write route answers 501 and writes nothing.
func TestOrgRoleWritesNeedAClient(t *testing.T) {
	s, _ := newLimitedServer(t, Options{})
	for _, rq := range [][3]string{
		{"POST", "/authorization/organizations/org_acme/roles", `{"slug":"org-x","name":"X"}`},
		{"PATCH", "/authorization/organizations/org_acme/roles/org-producer", `{"name":"X"}`},
		{"DELETE", "/authorization/organizations/org_acme/roles/org-producer", ""},
		{"POST", "/authorization/organizations/org_acme/roles/org-producer/permissions", `{"slug":"a:b"}`},
		{"PUT", "/authorization/organizations/org_acme/roles/org-producer/permissions", `{"permissions":[]}`},
		{"DELETE", "/authorization/organizations/org_acme/roles/org-producer/permissions/videos:create", ""},
	} {
		if w, _ := serve(s, rq[0], rq[1], "app", rq[2]); w.Code != http.StatusNotImplemented {
			t.Errorf("%s %s without a client: %d %s", rq[0], rq[1], w.Code, w.Body)
		}
	}
}

func TestOrgRoleSlugsAndNames(t *testing.T) {
	for _, tc := range []struct{ name, pattern string }{
		{"Reviewer", `^org-reviewer-[a-z0-9]{8}$`},
		{"  Video  Reviewer  ", `^org-video-reviewer-[a-z0-9]{8}$`},
		{"Événement", `^org-v-nement-[a-z0-9]{8}$`},
		{"日本語", `^org-[a-z0-9]{8}$`},
		{"---", `^org-[a-z0-9]{8}$`},
		{strings.Repeat("ab ", 40), `^org-(ab-)*ab-[a-z0-9]{8}$`},
	} {
		got := generatedOrgRoleSlug(tc.name)
		if !regexp.MustCompile(tc.pattern).MatchString(got) || !validOrgRoleSlug(got) {
			t.Errorf("generatedOrgRoleSlug(%q) = %q, want %s and a valid slug", tc.name, got, tc.pattern)
		}
	}
	dns := regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?-$`)
	for _, tc := range []struct{ org, slug, want string }{
		{"acme", "org-producer", "acme-org-producer-"},
		{"acme.example", "org_lite", "acme-example-org-lite-"},
		{strings.Repeat("a", 60), "org-x", strings.Repeat("a", 57) + "-"},
		{strings.Repeat("a", 55) + ".b", "org-x", strings.Repeat("a", 55) + "-b-"},
		{strings.Repeat("a", 56) + ".b", "org-x", strings.Repeat("a", 56) + "-"},
	} {
		got := orgRoleGenerateName(tc.org, tc.slug)
		if got != tc.want || !dns.MatchString(got) {
			t.Errorf("orgRoleGenerateName(%q, %q) = %q, want %q", tc.org, tc.slug, got, tc.want)
		}
	}
}
