//go:build envtest

package api

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	dto "github.com/prometheus/client_model/go"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/api/store"
	"github.com/orgrbac/orgrbac/internal/apiview"
	"github.com/orgrbac/orgrbac/internal/workos"
)

// expectError asserts a WorkOS-shaped error that carries no data.
func expectError(r response, code int, errCode string) {
	GinkgoHelper()
	Expect(r.code).To(Equal(code), "body %s", r.body)
	var e map[string]any
	r.into(&e)
	Expect(e).To(HaveKeyWithValue("code", errCode))
	Expect(e).To(HaveKey("message"))
	for k := range e {
		Expect(k).To(BeElementOf("code", "message", "errors"), "an error body carries no data")
	}
}

// allowedByStatus is what a Membership's status says about a permission.
func allowedByStatus(m *orgrbacv1alpha1.Membership, perm string) bool {
	active := m.Spec.State == "" || m.Spec.State == orgrbacv1alpha1.MembershipActive
	return active && slices.Contains(m.Status.Permissions, perm)
}

var _ = Describe("Authentication and authorization", func() {
	checkBody := map[string]any{"organization": "acme", "user": "user_alice", "permission": "videos:view"}

	It("answers 401 without a token or with a garbage token, on every route", func() {
		for _, r := range []struct{ method, path string }{
			{http.MethodPost, "/v1/check"},
			{http.MethodGet, "/v1/organizations/acme/memberships/user_alice"},
			{http.MethodGet, "/user_management/organization_memberships?organization_id=acme"},
			{http.MethodPost, "/authorization/organization_memberships/acme-alice/check"},
			{http.MethodGet, "/authorization/roles"},
			{http.MethodGet, "/no/such/route"},
		} {
			for _, token := range []string{"", "garbage", appToken + "x"} {
				res := call(r.method, r.path, token, checkBody)
				expectError(res, http.StatusUnauthorized, "unauthorized")
				Expect(res.revision).To(BeZero())
			}
		}
	})

	It("answers 403 to a ServiceAccount without the RBAC", func() {
		res := call(http.MethodPost, "/v1/check", noRBACToken, checkBody)
		expectError(res, http.StatusForbidden, "forbidden")
		Expect(res.revision).To(BeZero())
		expectError(call(http.MethodGet, "/authorization/roles", noRBACToken, nil), http.StatusForbidden, "forbidden")
	})

	It("answers 403 to a ServiceAccount of another namespace, in its own namespace and in the target", func() {
		expectError(call(http.MethodPost, "/v1/check", outsiderToken, checkBody), http.StatusForbidden, "forbidden")
		expectError(call(http.MethodGet, "/authorization/roles?namespace="+envNS, outsiderToken, nil), http.StatusForbidden, "forbidden")
		body := map[string]any{"namespace": envNS, "organization": "acme", "user": "user_alice", "permission": "videos:view"}
		expectError(call(http.MethodPost, "/v1/check", outsiderToken, body), http.StatusForbidden, "forbidden")
	})

	It("lets a ServiceAccount bound in another namespace select it, and only it", func() {
		body := map[string]any{"namespace": envNS, "organization": "acme", "user": "user_alice", "permission": "videos:view"}
		res := call(http.MethodPost, "/v1/check", crosserToken, body)
		Expect(res.code).To(Equal(http.StatusOK), "body %s", res.body)
		Expect(res.revision).To(BeNumerically(">", 0))
		Expect(call(http.MethodGet, "/authorization/roles?namespace="+envNS, crosserToken, nil).code).To(Equal(http.StatusOK))
		// Its own namespace is the default, and it has no access there.
		expectError(call(http.MethodPost, "/v1/check", crosserToken, checkBody), http.StatusForbidden, "forbidden")
		// The authorised app may not reach into another namespace either.
		expectError(call(http.MethodGet, "/authorization/roles?namespace="+otherNS, appToken, nil), http.StatusForbidden, "forbidden")
		// Conflicting namespaces are refused: 403 when the caller may not use the
		// query's namespace (its body is then never read), 422 when it may.
		expectError(call(http.MethodPost, "/v1/check?namespace="+otherNS, crosserToken, body), http.StatusForbidden, "forbidden")
		conflict := map[string]any{"namespace": otherNS, "organization": "acme", "user": "user_alice", "permission": "videos:view"}
		expectError(call(http.MethodPost, "/v1/check?namespace="+envNS, crosserToken, conflict), http.StatusUnprocessableEntity, "invalid_request_parameters")
	})

	It("refuses a token for the API server's audience (a pod's default token), and says which audience it needs", func() {
		for _, r := range []struct{ method, path string }{
			{http.MethodPost, "/v1/check"},
			{http.MethodGet, "/user_management/organization_memberships"},
			{http.MethodGet, "/authorization/roles"},
		} {
			res := call(r.method, r.path, appServerToken, checkBody)
			expectError(res, http.StatusUnauthorized, "unauthorized")
			Expect(string(res.body)).To(ContainSubstring(`the audience \"orgrbac.dev/decision-api\"`))
			Expect(res.revision).To(BeZero())
		}
		// The same ServiceAccount's token for the API's audience is accepted.
		Expect(call(http.MethodPost, "/v1/check", appToken, checkBody).code).To(Equal(http.StatusOK))
		// A token for another service's audience is refused too.
		other := token(context.Background(), envNS, "app", "https://videos.example")
		expectError(call(http.MethodPost, "/v1/check", other, checkBody), http.StatusUnauthorized, "unauthorized")
	})

	It("lets a caller with only create permissionchecks check, but not read members, and a reader read but not check", func() {
		Expect(call(http.MethodPost, "/v1/check", checkerToken, checkBody).code).To(Equal(http.StatusOK))
		Expect(call(http.MethodPost, "/authorization/organization_memberships/acme-alice/check", checkerToken,
			map[string]any{"permission_slug": "videos:view"}).code).To(Equal(http.StatusOK))
		for _, r := range []struct{ path, denied string }{
			{"/user_management/organization_memberships?organization_id=acme", "list memberships"},
			{"/user_management/organization_memberships/acme-alice", "get memberships"},
			{"/v1/organizations/acme/memberships/user_alice", "get memberships"},
			{"/v1/organizations/acme/permissions/videos:view/members", "list memberships"},
			{"/authorization/roles", "list roles"},
			{"/authorization/organizations/acme/roles", "list organizationroles"},
		} {
			res := call(http.MethodGet, r.path, checkerToken, nil)
			expectError(res, http.StatusForbidden, "forbidden")
			Expect(string(res.body)).To(ContainSubstring("may not "+r.denied+".orgrbac.dev"), r.path)
			Expect(string(res.body)).NotTo(ContainSubstring("alice"), "a 403 carries no data")

			Expect(call(http.MethodGet, r.path, readerToken, nil).code).To(Equal(http.StatusOK), r.path)
		}
		var l listObject[workos.Membership]
		call(http.MethodGet, "/user_management/organization_memberships?organization_id=acme", readerToken, nil).into(&l)
		Expect(l.Data).NotTo(BeEmpty())
		res := call(http.MethodPost, "/v1/check", readerToken, checkBody)
		expectError(res, http.StatusForbidden, "forbidden")
		Expect(string(res.body)).To(ContainSubstring("may not create permissionchecks.orgrbac.dev"))
	})

	It("serves an authorised ServiceAccount of the namespace with the revision header", func() {
		res := call(http.MethodPost, "/v1/check", appToken, checkBody)
		Expect(res.code).To(Equal(http.StatusOK), "body %s", res.body)
		Expect(res.revision).To(BeNumerically(">", 0))
		Expect(res.header.Get("X-Request-ID")).To(HavePrefix("req_"))
	})
})

var _ = Describe("Decisions", func() {
	memberships := []string{"acme-alice", "acme-bob", "acme-carol", "acme-dave", "acme-erin", "acme-paula", "acme-zoe"}
	perms := []string{"settings:manage", "videos:create", "videos:delete", "videos:edit", "videos:publish", "videos:view", "videos:*"}

	It("gives the same answers from /v1/check and the WorkOS check, equal to the Membership statuses", func(ctx SpecContext) {
		// The statuses, and what they must say (not derived from the code under test).
		want := map[string][]string{
			"acme-alice": {"settings:manage", "videos:create", "videos:delete", "videos:edit", "videos:view"},
			"acme-bob":   {"videos:create", "videos:edit", "videos:view"},
			"acme-carol": {"videos:view"},
			"acme-dave":  {"videos:create", "videos:publish"},
			"acme-zoe":   {"videos:view"},
		}
		allowed := 0
		for _, name := range memberships {
			m := membership(ctx, name)
			for _, p := range perms {
				expected := slices.Contains(want[name], p)
				Expect(allowedByStatus(m, p)).To(Equal(expected), "status of %s for %s", name, p)

				var v1 checkResponse
				res := call(http.MethodPost, "/v1/check", appToken, map[string]any{"organization": acmeID, "user": m.Spec.User, "permission": p})
				Expect(res.code).To(Equal(http.StatusOK), "body %s", res.body)
				res.into(&v1)
				Expect(v1.Allowed).To(Equal(expected), "/v1/check %s %s: %s", name, p, res.body)
				Expect(v1.Role).To(Equal(m.Status.Role))
				Expect(v1.Roles).To(Equal(append([]string{}, m.Status.Roles...)))

				var wc checkResult
				res = call(http.MethodPost, path("/authorization/organization_memberships/%s/check", name), appToken,
					map[string]any{"permission_slug": p})
				Expect(res.code).To(Equal(http.StatusOK), "body %s", res.body)
				res.into(&wc)
				Expect(wc.Authorized).To(Equal(expected), "WorkOS check %s %s", name, p)
				if expected {
					allowed++
				}
			}
		}
		Expect(allowed).To(Equal(12))
	})

	It("explains denials and requires every listed permission", func() {
		for _, tc := range []struct {
			body   map[string]any
			want   checkResponse
			reason string
		}{
			{map[string]any{"organization": "acme", "user": "user_erin", "permission": "videos:view"},
				checkResponse{Role: "admin", Roles: []string{"admin"}, Reason: store.ReasonMembershipInactive}, "inactive"},
			{map[string]any{"organization": "acme", "user": "user_paula", "permission": "videos:view"},
				checkResponse{Role: "editor", Roles: []string{"editor"}, Reason: store.ReasonMembershipPending}, "pending"},
			{map[string]any{"organization": "acme", "user": "user_nobody", "permission": "videos:view"},
				checkResponse{Roles: []string{}, Reason: store.ReasonMembershipNotFound}, "not a member"},
			{map[string]any{"organization": "umbrella", "user": "user_alice", "permission": "videos:view"},
				checkResponse{Roles: []string{}, Reason: store.ReasonOrganizationNotFound}, "no organization"},
			{map[string]any{"organization": "acme", "user": "user_bob", "permissions": []string{"videos:view", "videos:edit"}},
				checkResponse{Allowed: true, Role: "editor", Roles: []string{"editor"}, Reason: store.ReasonGranted}, "all held"},
			{map[string]any{"organization": "acme", "user": "user_bob", "permissions": []string{"videos:view", "videos:delete"}},
				checkResponse{Role: "editor", Roles: []string{"editor"}, Reason: store.ReasonPermissionNotGranted, Missing: []string{"videos:delete"}}, "one missing"},
			{map[string]any{"organization": "globex", "user": "user_alice", "permission": "videos:view"},
				checkResponse{Allowed: true, Role: "member", Roles: []string{"member"}, Reason: store.ReasonGranted}, "the other organization"},
		} {
			var got checkResponse
			res := call(http.MethodPost, "/v1/check", appToken, tc.body)
			Expect(res.code).To(Equal(http.StatusOK), tc.reason)
			res.into(&got)
			Expect(got).To(Equal(tc.want), tc.reason)
		}
	})

	It("rejects malformed checks with 422", func() {
		for _, body := range []any{
			map[string]any{"organization": "acme", "user": "user_bob"},
			map[string]any{"user": "user_bob", "permission": "videos:view"},
			map[string]any{"organization": "acme", "permission": "videos:view"},
			"not an object",
		} {
			expectError(call(http.MethodPost, "/v1/check", appToken, body), http.StatusUnprocessableEntity, "invalid_request_parameters")
		}
		expectError(call(http.MethodPost, "/authorization/organization_memberships/acme-bob/check", appToken, map[string]any{}),
			http.StatusUnprocessableEntity, "invalid_request_parameters")
	})

	It("shows a membership with the provenance of every permission", func() {
		var v apiview.Membership
		res := call(http.MethodGet, "/v1/organizations/"+acmeID+"/memberships/user_alice", appToken, nil)
		Expect(res.code).To(Equal(http.StatusOK), "body %s", res.body)
		res.into(&v)
		Expect(v.Membership).To(Equal("acme-alice"))
		Expect(v.Organization).To(Equal("acme"))
		Expect(v.OrganizationID).To(Equal(acmeID))
		Expect(v.Active).To(BeTrue())
		Expect(v.Role).To(Equal("admin"))
		Expect(v.Source).To(Equal("Directory"))
		eng := apiview.Grant{Role: "admin", Source: "Directory", Group: "eng-admins"}
		Expect(v.Assignments).To(Equal([]apiview.Grant{eng}))
		Expect(v.Permissions).To(HaveLen(5))
		Expect(v.Permissions).To(ContainElement(apiview.PermissionGrant{Permission: "settings:manage", GrantedBy: []apiview.Grant{eng}}))

		res = call(http.MethodGet, "/v1/organizations/acme/memberships/user_erin", appToken, nil)
		res.into(&v)
		Expect(v.Active).To(BeFalse())
		Expect(v.State).To(Equal("Inactive"))
		Expect(v.Permissions).To(BeEmpty())
	})

	It("lists who holds a permission, with the granting role", func() {
		var v apiview.Holders
		res := call(http.MethodGet, "/v1/organizations/acme/permissions/videos:create/members", appToken, nil)
		Expect(res.code).To(Equal(http.StatusOK), "body %s", res.body)
		res.into(&v)
		Expect(v.Members).To(Equal([]apiview.Holder{
			{User: "user_alice", Membership: "acme-alice", Role: "admin", Roles: []string{"admin"}},
			{User: "user_bob", Membership: "acme-bob", Role: "editor", Roles: []string{"editor"}},
			{User: "user_dave", Membership: "acme-dave", Role: "org-video-producer", Roles: []string{"org-video-producer"}},
		}), "active members only: erin (inactive, admin) and paula (pending, editor) hold nothing")
	})
})

var _ = Describe("WorkOS-compatible endpoints", func() {
	// acmeOrder is acme's memberships, oldest first, by the API server's clock.
	acmeOrder := func(ctx context.Context) []string {
		GinkgoHelper()
		var ms orgrbacv1alpha1.MembershipList
		Expect(k8s.List(ctx, &ms, client.InNamespace(envNS))).To(Succeed())
		slices.SortFunc(ms.Items, func(a, b orgrbacv1alpha1.Membership) int {
			if c := a.CreationTimestamp.Compare(b.CreationTimestamp.Time); c != 0 {
				return c
			}
			return strings.Compare(a.Name, b.Name)
		})
		var out []string
		for _, m := range ms.Items {
			if m.Spec.Organization == "acme" {
				out = append(out, m.Name)
			}
		}
		return out
	}

	It("paginates memberships both ways with before and after cursors", func(ctx SpecContext) {
		order := acmeOrder(ctx)
		Expect(order).To(HaveLen(7))
		for _, dir := range []string{"asc", "desc"} {
			want := slices.Clone(order)
			if dir == "desc" {
				slices.Reverse(want)
			}
			var got []string
			var pages []listObject[workos.Membership]
			after := ""
			for range 10 {
				var l listObject[workos.Membership]
				// Every status: the default lists the active memberships only (as WorkOS).
				res := call(http.MethodGet, "/user_management/organization_memberships?organization_id=acme&statuses=active,inactive,pending&limit=3&order="+dir+"&after="+after, appToken, nil)
				Expect(res.code).To(Equal(http.StatusOK), "body %s", res.body)
				res.into(&l)
				Expect(l.Object).To(Equal("list"))
				pages = append(pages, l)
				for _, m := range l.Data {
					got = append(got, m.ID)
				}
				if l.ListMetadata.After == nil {
					break
				}
				after = *l.ListMetadata.After
			}
			Expect(got).To(Equal(want), dir)
			Expect(pages).To(HaveLen(3))
			Expect(pages[0].ListMetadata.Before).To(BeNil())
			// Back from the last page with its before cursor.
			var back listObject[workos.Membership]
			call(http.MethodGet, "/user_management/organization_memberships?organization_id="+acmeID+"&statuses=active,inactive,pending&limit=3&order="+dir+"&before="+*pages[2].ListMetadata.Before, appToken, nil).into(&back)
			Expect(back.Data).To(Equal(pages[1].Data))
		}
	})

	It("renders membership objects from the statuses and filters by user and status", func(ctx SpecContext) {
		var l listObject[workos.Membership]
		call(http.MethodGet, "/user_management/organization_memberships?user_id=user_alice", appToken, nil).into(&l)
		Expect(l.Data).To(HaveLen(2))
		for _, o := range l.Data {
			m := membership(ctx, o.ID)
			Expect(o.Object).To(Equal("organization_membership"))
			Expect(o.UserID).To(Equal("user_alice"))
			Expect(o.Role).To(Equal(&workos.SlugRef{Slug: m.Status.Role}))
			Expect(o.Status).To(Equal("active"))
			Expect(o.CreatedAt).To(Equal(m.CreationTimestamp.UTC().Format(workos.TimeFormat)))
			switch o.ID {
			case "acme-alice":
				Expect(o.OrganizationID).To(Equal(acmeID))
				Expect(o.OrganizationName).To(Equal("Acme Inc."))
				Expect(o.DirectoryManaged).To(BeTrue())
			default:
				Expect(o.OrganizationID).To(Equal("globex"))
				Expect(o.OrganizationName).To(Equal("globex"))
			}
		}
		var one workos.Membership
		call(http.MethodGet, "/user_management/organization_memberships/acme-erin", appToken, nil).into(&one)
		Expect(one.Status).To(Equal("inactive"))
		Expect(one.Roles).To(Equal([]workos.SlugRef{{Slug: "admin"}}))

		var pending listObject[workos.Membership]
		call(http.MethodGet, "/user_management/organization_memberships?organization_id=acme&statuses=pending,inactive", appToken, nil).into(&pending)
		var ids []string
		for _, o := range pending.Data {
			ids = append(ids, o.ID)
		}
		Expect(ids).To(ConsistOf("acme-erin", "acme-paula"))
	})

	It("lists roles in priority order", func() {
		var env listObject[workos.Role]
		call(http.MethodGet, "/authorization/roles", appToken, nil).into(&env)
		var slugs []string
		for _, r := range env.Data {
			slugs = append(slugs, r.Slug)
			Expect(r.Type).To(Equal("EnvironmentRole"))
		}
		Expect(slugs).To(Equal([]string{"admin", "editor", "member", "viewer"}))

		var org listObject[workos.Role]
		call(http.MethodGet, "/authorization/organizations/"+acmeID+"/roles", appToken, nil).into(&org)
		slugs = nil
		for _, r := range org.Data {
			slugs = append(slugs, r.Slug)
		}
		Expect(slugs).To(Equal([]string{"org-video-producer", "admin", "editor", "member", "viewer"}))

		var r workos.Role
		call(http.MethodGet, "/authorization/organizations/acme/roles/org-video-producer", appToken, nil).into(&r)
		Expect(r).To(Equal(workos.Role{Object: "role", ID: "acme-producer", Name: "Video producer", Slug: "org-video-producer",
			Permissions: []string{"videos:create", "videos:publish"}, Type: "OrganizationRole", CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}))
		Expect(r.CreatedAt).To(MatchRegexp(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`))
		call(http.MethodGet, "/authorization/roles/editor", appToken, nil).into(&r)
		Expect(r.Name).To(Equal("Editor"))
		Expect(r.Description).To(Equal("Editor role"))
		Expect(r.Permissions).To(Equal([]string{"videos:create", "videos:edit", "videos:view"}))
	})

	It("answers 404 and 422 in WorkOS's shape", func() {
		for _, p := range []string{
			"/user_management/organization_memberships/nope",
			"/authorization/roles/nope",
			"/authorization/roles/org-video-producer", // an organization role is not an environment role
			"/authorization/organizations/umbrella/roles",
			"/authorization/organizations/acme/roles/nope",
			"/authorization/organizations/globex/roles/org-video-producer",
			"/v1/organizations/acme/memberships/user_nobody",
			"/v1/organizations/umbrella/permissions/videos:view/members",
			"/no/such/route",
		} {
			expectError(call(http.MethodGet, p, appToken, nil), http.StatusNotFound, "entity_not_found")
		}
		expectError(call(http.MethodPost, "/authorization/organization_memberships/nope/check", appToken,
			map[string]any{"permission_slug": "videos:view"}), http.StatusNotFound, "entity_not_found")
		for _, q := range []string{"limit=0", "limit=101", "order=up", "statuses=gone", "after=nope", "before=a&after=b"} {
			expectError(call(http.MethodGet, "/user_management/organization_memberships?"+q, appToken, nil),
				http.StatusUnprocessableEntity, "invalid_request_parameters")
		}
	})
})

var _ = Describe("Freshness", func() {
	It("denies a permission removed from a role within a second, then answers under the next published revision", func(ctx SpecContext) {
		check := func() (bool, int64) {
			var v checkResponse
			res := call(http.MethodPost, "/v1/check", appToken, map[string]any{"organization": "initech", "user": "user_ivan", "permission": "tests:run"})
			res.into(&v)
			return v.Allowed, res.revision
		}
		var before int64
		Eventually(func(g Gomega) {
			var env orgrbacv1alpha1.Environment
			g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: envNS, Name: "videos"}, &env)).To(Succeed())
			allowed, rev := check()
			g.Expect(allowed).To(BeTrue())
			g.Expect(rev).To(Equal(env.Status.Revision), "the header is the published revision")
			before = rev
		}).WithContext(ctx).Should(Succeed())

		var r orgrbacv1alpha1.OrganizationRole
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: envNS, Name: "initech-tester"}, &r)).To(Succeed())
		orig := r.DeepCopy()
		r.Spec.Permissions = []string{"tests:view"}
		// A merge patch: the controllers write the role's metadata too.
		Expect(k8s.Patch(ctx, &r, client.MergeFrom(orig))).To(Succeed())
		start := time.Now()
		Eventually(func() bool { ok, _ := check(); return ok }).WithTimeout(time.Second).Should(BeFalse())
		GinkgoWriter.Printf("permission removal denied after %v\n", time.Since(start))
		AddReportEntry("removal-to-deny latency", time.Since(start).String())
		Eventually(func(g Gomega) {
			var env orgrbacv1alpha1.Environment
			g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: envNS, Name: "videos"}, &env)).To(Succeed())
			allowed, rev := check()
			g.Expect(allowed).To(BeFalse())
			g.Expect(rev).To(BeNumerically(">", before))
			g.Expect(rev).To(Equal(env.Status.Revision))
		}).WithContext(ctx).Should(Succeed(), "the revision grows once the change is published")
		AddReportEntry("removal-to-new-revision latency", time.Since(start).String())
	})
})

var _ = Describe("Metrics", func() {
	It("counts requests, decisions and auth cache lookups in the controller-runtime registry", func() {
		body := map[string]any{"organization": "acme", "user": "user_bob", "permission": "videos:view"}
		call(http.MethodPost, "/v1/check", appToken, body)
		call(http.MethodPost, "/v1/check", appToken, body) // a token cache hit
		call(http.MethodPost, "/v1/check", "", body)       // a 401
		families, err := metrics.Registry.Gather()
		Expect(err).NotTo(HaveOccurred())
		byName := map[string]*dto.MetricFamily{}
		for _, f := range families {
			byName[f.GetName()] = f
		}
		for _, name := range []string{"orgrbac_api_requests_total", "orgrbac_api_request_duration_seconds",
			"orgrbac_api_decisions_total", "orgrbac_api_auth_cache_total", "orgrbac_api_snapshot_age_seconds",
			"orgrbac_api_index_rebuild_duration_seconds"} {
			Expect(byName).To(HaveKey(name))
		}
		value := func(name string, labels map[string]string) float64 {
			for _, m := range byName[name].GetMetric() {
				match := true
				for _, l := range m.GetLabel() {
					if v, ok := labels[l.GetName()]; ok && v != l.GetValue() {
						match = false
					}
				}
				if match {
					return m.GetCounter().GetValue()
				}
			}
			return 0
		}
		Expect(value("orgrbac_api_requests_total", map[string]string{"route": "POST /v1/check", "code": "200"})).To(BeNumerically(">", 0))
		Expect(value("orgrbac_api_requests_total", map[string]string{"route": "POST /v1/check", "code": "401"})).To(BeNumerically(">", 0))
		Expect(value("orgrbac_api_decisions_total", map[string]string{"endpoint": "v1", "result": "allowed"})).To(BeNumerically(">", 0))
		Expect(value("orgrbac_api_auth_cache_total", map[string]string{"cache": "token", "result": "hit"})).To(BeNumerically(">", 0))
		Expect(value("orgrbac_api_auth_cache_total", map[string]string{"cache": "access", "result": "miss"})).To(BeNumerically(">", 0))
	})
})

var _ = Describe("Transport", func() {
	It("refuses plain HTTP on the TLS port and serves plain HTTP only when asked", func(ctx SpecContext) {
		res, err := http.Get(strings.Replace(baseURL, "https://", "http://", 1) + "/authorization/roles")
		Expect(err).NotTo(HaveOccurred())
		_ = res.Body.Close()
		Expect(res.StatusCode).To(Equal(http.StatusBadRequest), "Go's TLS server answers plain HTTP with 400")

		addr := freeAddr()
		plain, err := NewServer(Options{BindAddress: addr, Insecure: true, Cache: srv.opts.Cache, Config: cfg,
			TokenAudience: DefaultTokenAudience})
		Expect(err).NotTo(HaveOccurred())
		Expect(plain.CertificatePEM()).To(BeNil())
		sctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- plain.Start(sctx) }()
		DeferCleanup(func() {
			cancel()
			Expect(<-done).To(Succeed())
		})
		Eventually(func() error { return plain.ReadyzCheck()(nil) }).Should(Succeed())
		req, err := http.NewRequest(http.MethodGet, fmt.Sprintf("http://%s/authorization/roles", addr), nil)
		Expect(err).NotTo(HaveOccurred())
		req.Header.Set("Authorization", "Bearer "+appToken)
		res, err = http.DefaultClient.Do(req)
		Expect(err).NotTo(HaveOccurred())
		_ = res.Body.Close()
		Expect(res.StatusCode).To(Equal(http.StatusOK))

		tr := &http.Transport{TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12}}
		_, err = (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Get(baseURL + "/authorization/roles")
		Expect(err).To(HaveOccurred(), "the self-signed certificate is not trusted by default")
	})
})
