package api

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func objMeta(name string, age int) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: "videos", CreationTimestamp: metav1.NewTime(t0.Add(time.Duration(age) * time.Minute))}
}

func readyCond(ok bool, reason string, at time.Time) []metav1.Condition {
	st := metav1.ConditionTrue
	if !ok {
		st = metav1.ConditionFalse
	}
	return []metav1.Condition{{Type: orgrbacv1alpha1.ConditionReady, Status: st, Reason: reason, LastTransitionTime: metav1.NewTime(at)}}
}

// member builds a Membership created age minutes after t0 whose status holds
// roles (highest first) and perms; ready=false marks it not Ready.
func member(name, org, user string, age int, state orgrbacv1alpha1.MembershipState, ready bool, roles []string, perms ...string) orgrbacv1alpha1.Membership {
	m := orgrbacv1alpha1.Membership{ObjectMeta: objMeta(name, age),
		Spec: orgrbacv1alpha1.MembershipSpec{Organization: org, User: user, State: state}}
	m.Status.Roles = roles
	if len(roles) > 0 {
		m.Status.Role = roles[0]
		m.Status.Source = orgrbacv1alpha1.SourceManual
		for _, r := range roles {
			m.Status.Assignments = append(m.Status.Assignments, orgrbacv1alpha1.RoleAssignment{Role: r, Source: orgrbacv1alpha1.SourceManual})
		}
	}
	m.Status.Permissions = perms
	reason := orgrbacv1alpha1.ReasonResolved
	if !ready {
		reason = orgrbacv1alpha1.ReasonDuplicate
	}
	m.Status.Conditions = readyCond(ready, reason, t0.Add(time.Duration(age+1)*time.Minute))
	return m
}

func sampleInput() *input {
	return &input{
		Environments: []orgrbacv1alpha1.Environment{{ObjectMeta: objMeta("env", 0),
			Spec: orgrbacv1alpha1.EnvironmentSpec{RolePriority: []string{"admin", "editor"}}}},
		Roles: []orgrbacv1alpha1.Role{
			{ObjectMeta: objMeta("member", 1), Spec: orgrbacv1alpha1.RoleSpec{Permissions: []string{"videos:view"}}},
			{ObjectMeta: objMeta("editor", 2), Spec: orgrbacv1alpha1.RoleSpec{DisplayName: "Editor", Permissions: []string{"videos:edit", "videos:view"}}},
			{ObjectMeta: objMeta("admin", 3), Spec: orgrbacv1alpha1.RoleSpec{Description: "All", Permissions: []string{"videos:delete", "videos:edit", "videos:view"}}},
		},
		Organizations: []orgrbacv1alpha1.Organization{
			{ObjectMeta: objMeta("acme", 4), Spec: orgrbacv1alpha1.OrganizationSpec{DisplayName: "Acme Inc.", ExternalID: "org_acme",
				RolePriority: []string{"org-producer"}}},
			{ObjectMeta: objMeta("globex", 5)},
		},
		OrganizationRoles: []orgrbacv1alpha1.OrganizationRole{{ObjectMeta: objMeta("acme-producer", 6),
			Spec: orgrbacv1alpha1.OrganizationRoleSpec{Organization: "acme", Slug: "org-producer", Permissions: []string{"videos:create"}}}},
		Memberships: []orgrbacv1alpha1.Membership{
			member("alice", "acme", "u_alice", 10, "", true, []string{"admin"}, "videos:delete", "videos:edit", "videos:view"),
			member("bob", "acme", "u_bob", 11, orgrbacv1alpha1.MembershipActive, true, []string{"org-producer", "member"}, "videos:create", "videos:view"),
			member("carol", "acme", "u_carol", 12, orgrbacv1alpha1.MembershipInactive, true, []string{"editor"}),
			member("dave", "acme", "u_dave", 13, orgrbacv1alpha1.MembershipPending, true, []string{"editor"}),
			// A stale status that still lists permissions must not grant them once the spec says Inactive.
			member("erin", "acme", "u_erin", 14, orgrbacv1alpha1.MembershipInactive, true, []string{"editor"}, "videos:edit", "videos:view"),
			member("frank", "globex", "u_frank", 15, "", true, []string{"member"}, "videos:view"),
			// A duplicate of alice: not Ready, so alice's Ready membership answers.
			member("alice-dup", "acme", "u_alice", 9, "", false, nil),
		},
	}
}

func TestDecisions(t *testing.T) {
	c := buildContent(sampleInput())
	for name, tc := range map[string]struct {
		org, user string   // the organization (id or name) and user asked about
		perms     []string // the permissions that must all hold
		want      decision // the expected answer
	}{
		"granted":                   {"acme", "u_alice", []string{"videos:delete"}, decision{allowed: true, role: "admin", roles: []string{"admin"}, reason: ReasonGranted}},
		"granted by external id":    {"org_acme", "u_alice", []string{"videos:edit", "videos:view"}, decision{allowed: true, role: "admin", roles: []string{"admin"}, reason: ReasonGranted}},
		"one of several missing":    {"acme", "u_bob", []string{"videos:view", "videos:delete"}, decision{role: "org-producer", roles: []string{"org-producer", "member"}, reason: ReasonPermissionNotGranted, missing: []string{"videos:delete"}}},
		"wildcard is literal":       {"acme", "u_alice", []string{"videos:*"}, decision{role: "admin", roles: []string{"admin"}, reason: ReasonPermissionNotGranted, missing: []string{"videos:*"}}},
		"inactive":                  {"acme", "u_carol", []string{"videos:view"}, decision{role: "editor", roles: []string{"editor"}, reason: ReasonMembershipInactive}},
		"pending":                   {"acme", "u_dave", []string{"videos:view"}, decision{role: "editor", roles: []string{"editor"}, reason: ReasonMembershipPending}},
		"inactive with stale perms": {"acme", "u_erin", []string{"videos:view"}, decision{role: "editor", roles: []string{"editor"}, reason: ReasonMembershipInactive}},
		"other organization":        {"globex", "u_alice", []string{"videos:view"}, decision{reason: ReasonMembershipNotFound}},
		"unknown organization":      {"initech", "u_alice", []string{"videos:view"}, decision{reason: ReasonOrganizationNotFound}},
	} {
		t.Run(name, func(t *testing.T) {
			if got := c.check(tc.org, tc.user, tc.perms); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("check(%s, %s, %v) = %+v, want %+v", tc.org, tc.user, tc.perms, got, tc.want)
			}
		})
	}
}

func TestNotReadyNeverGrants(t *testing.T) {
	in := sampleInput()
	in.Memberships = []orgrbacv1alpha1.Membership{member("m", "acme", "u", 1, "", false, []string{"admin"}, "videos:view")}
	c := buildContent(in)
	got := c.check("acme", "u", []string{"videos:view"})
	if got.allowed || got.reason != ReasonMembershipNotReady {
		t.Errorf("a not-Ready membership answered %+v", got)
	}
}

func TestRolesAndOrganizations(t *testing.T) {
	c := buildContent(sampleInput())
	slugs := func(rs []*roleEntry) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.slug)
		}
		return out
	}
	if got, want := slugs(c.envRoles), []string{"admin", "editor", "member"}; !slices.Equal(got, want) {
		t.Errorf("environment roles %v, want %v", got, want)
	}
	acme := c.organization("org_acme")
	if acme == nil || acme != c.organization("acme") {
		t.Fatalf("acme is not found by both its external id and its name")
	}
	if got, want := slugs(acme.roles), []string{"org-producer", "admin", "editor", "member"}; !slices.Equal(got, want) {
		t.Errorf("acme roles %v, want %v", got, want)
	}
	if got, want := slugs(c.organization("globex").roles), []string{"admin", "editor", "member"}; !slices.Equal(got, want) {
		t.Errorf("globex roles %v, want %v", got, want)
	}
	r := roleObjectOf(acme.roleBySlug["org-producer"])
	want := roleObject{Object: "role", ID: "acme-producer", Name: "org-producer", Slug: "org-producer",
		Permissions: []string{"videos:create"}, Type: "OrganizationRole",
		CreatedAt: "2026-01-02T03:10:05.000Z", UpdatedAt: "2026-01-02T03:10:05.000Z"}
	if !reflect.DeepEqual(r, want) {
		t.Errorf("role object %+v, want %+v", r, want)
	}
	if got := roleObjectOf(c.envRoleBySlug["editor"]); got.Name != "Editor" || got.Type != "EnvironmentRole" {
		t.Errorf("editor role object %+v", got)
	}

	var users []string
	for _, m := range c.holders(acme, "videos:view") {
		users = append(users, m.user)
	}
	if want := []string{"u_alice", "u_bob"}; !slices.Equal(users, want) {
		t.Errorf("holders of videos:view %v, want %v (active and Ready only)", users, want)
	}

	mo := c.membershipObject(c.members["bob"])
	wantM := membershipObject{Object: "organization_membership", ID: "bob", UserID: "u_bob", OrganizationID: "org_acme",
		OrganizationName: "Acme Inc.", Status: "active", Role: &slugRef{Slug: "org-producer"},
		Roles: []slugRef{{Slug: "org-producer"}, {Slug: "member"}}, CustomAttributes: map[string]string{},
		CreatedAt: "2026-01-02T03:15:05.000Z", UpdatedAt: "2026-01-02T03:16:05.000Z"}
	if !reflect.DeepEqual(mo, wantM) {
		t.Errorf("membership object\n got %+v\nwant %+v", mo, wantM)
	}
	if got := c.membershipObject(c.members["carol"]).Status; got != "inactive" {
		t.Errorf("carol's status %q, want inactive", got)
	}
}

func TestContentIsDeterministic(t *testing.T) {
	a, b := sampleInput(), sampleInput()
	slices.Reverse(b.Memberships)
	slices.Reverse(b.Roles)
	slices.Reverse(b.Organizations)
	if !reflect.DeepEqual(dump(buildContent(a)), dump(buildContent(b))) {
		t.Error("the content depends on the order of the cached objects")
	}
	b.Roles[0].Spec.Permissions = append(b.Roles[0].Spec.Permissions, "videos:share")
	if reflect.DeepEqual(dump(buildContent(a)), dump(buildContent(b))) {
		t.Error("a role's new permission does not change the content")
	}
}

func TestParseListQuery(t *testing.T) {
	for name, tc := range map[string]struct {
		query   map[string][]string // the query parameters
		want    listQuery           // the parsed query, when valid
		invalid []string            // the fields reported, when invalid
	}{
		"defaults":  {query: nil, want: listQuery{paging: paging{limit: 10, desc: true}}},
		"all":       {query: map[string][]string{"user_id": {"u"}, "organization_id": {"o"}, "limit": {"100"}, "order": {"asc"}, "after": {"m"}, "statuses": {"active,pending"}}, want: listQuery{paging: paging{limit: 100, after: "m"}, userID: "u", organizationID: "o", statuses: []orgrbacv1alpha1.MembershipState{"Active", "Pending"}}},
		"array":     {query: map[string][]string{"statuses[]": {"inactive"}}, want: listQuery{paging: paging{limit: 10, desc: true}, statuses: []orgrbacv1alpha1.MembershipState{"Inactive"}}},
		"bad limit": {query: map[string][]string{"limit": {"101"}}, invalid: []string{"limit"}},
		"zero":      {query: map[string][]string{"limit": {"0"}}, invalid: []string{"limit"}},
		"bad order": {query: map[string][]string{"order": {"up"}, "statuses": {"gone"}}, invalid: []string{"order", "statuses"}},
		"both":      {query: map[string][]string{"before": {"a"}, "after": {"b"}}, invalid: []string{"before"}},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := parseListQuery(func(k string) []string { return tc.query[k] })
			if tc.invalid != nil {
				var e *errInvalid
				if !errors.As(err, &e) {
					t.Fatalf("error %v, want invalid fields %v", err, tc.invalid)
				}
				var fields []string
				for _, f := range e.fields {
					fields = append(fields, f.Field)
				}
				if !slices.Equal(fields, tc.invalid) {
					t.Errorf("invalid fields %v, want %v", fields, tc.invalid)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("parseListQuery = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestPagination(t *testing.T) {
	in := &input{Organizations: []orgrbacv1alpha1.Organization{{ObjectMeta: objMeta("acme", 0)}, {ObjectMeta: objMeta("globex", 0)}}}
	for i := range 7 {
		in.Memberships = append(in.Memberships, member(fmt.Sprintf("m%d", i), "acme", fmt.Sprintf("u%d", i), i, "", true, nil))
	}
	in.Memberships = append(in.Memberships, member("g0", "globex", "u0", 3, "", true, nil))
	c := buildContent(in)
	page := func(q listQuery) (ids []string, before, after string) {
		t.Helper()
		l, err := c.listMemberships(q)
		if err != nil {
			t.Fatalf("listMemberships(%+v): %v", q, err)
		}
		for _, m := range l.Data {
			ids = append(ids, m.ID)
		}
		if l.ListMetadata.Before != nil {
			before = *l.ListMetadata.Before
		}
		if l.ListMetadata.After != nil {
			after = *l.ListMetadata.After
		}
		return ids, before, after
	}
	for name, tc := range map[string]struct {
		q             listQuery // the request
		ids           []string  // the page
		before, after string    // the cursors returned
	}{
		"desc first":       {listQuery{paging: paging{limit: 3, desc: true}, organizationID: "acme"}, []string{"m6", "m5", "m4"}, "", "m4"},
		"desc next":        {listQuery{paging: paging{limit: 3, desc: true, after: "m4"}, organizationID: "acme"}, []string{"m3", "m2", "m1"}, "m3", "m1"},
		"desc last":        {listQuery{paging: paging{limit: 3, desc: true, after: "m1"}, organizationID: "acme"}, []string{"m0"}, "m0", ""},
		"desc previous":    {listQuery{paging: paging{limit: 3, desc: true, before: "m3"}, organizationID: "acme"}, []string{"m6", "m5", "m4"}, "", "m4"},
		"asc first":        {listQuery{paging: paging{limit: 4}, organizationID: "acme"}, []string{"m0", "m1", "m2", "m3"}, "", "m3"},
		"asc before":       {listQuery{paging: paging{limit: 2, before: "m3"}, organizationID: "acme"}, []string{"m1", "m2"}, "m1", "m2"},
		"past the end":     {listQuery{paging: paging{limit: 2, after: "m6"}, organizationID: "acme"}, nil, "", ""},
		"by user":          {listQuery{paging: paging{limit: 10}, userID: "u0"}, []string{"m0", "g0"}, "", ""},
		"cursor elsewhere": {listQuery{paging: paging{limit: 2, after: "g0"}, organizationID: "acme"}, []string{"m3", "m4"}, "m3", "m4"},
		"unknown org":      {listQuery{paging: paging{limit: 2}, organizationID: "initech"}, nil, "", ""},
	} {
		t.Run(name, func(t *testing.T) {
			ids, before, after := page(tc.q)
			if !slices.Equal(ids, tc.ids) || before != tc.before || after != tc.after {
				t.Errorf("page %v before=%q after=%q, want %v before=%q after=%q", ids, before, after, tc.ids, tc.before, tc.after)
			}
		})
	}
	if _, err := c.listMemberships(listQuery{paging: paging{limit: 2, after: "nope"}}); !errors.Is(err, errUnknownCursor{"organization membership"}) {
		t.Errorf("an unknown cursor gave %v, want errUnknownCursor", err)
	}
}

func TestNamespaceOf(t *testing.T) {
	for user, want := range map[string]string{
		"system:serviceaccount:videos:app": "videos",
		"system:serviceaccount:videos":     "",
		"system:serviceaccount::app":       "",
		"alice":                            "",
		"system:node:n1":                   "",
	} {
		if got := namespaceOf(user); got != want {
			t.Errorf("namespaceOf(%q) = %q, want %q", user, got, want)
		}
	}
}

// A permission removed from a role is denied as soon as the role changes, while
// the statuses of its holders still list it (they are rewritten at the API
// server's pace); and a status listing a permission no role grants grants nothing.
func TestRoleDefinitionBoundsStatus(t *testing.T) {
	in := sampleInput()
	check := func(e *envIndex) decision { return e.check("acme", "u_alice", []string{"videos:delete"}) }
	if d := check(buildEnv(in)); !d.allowed {
		t.Fatalf("before the change alice was denied: %+v", d)
	}
	for i := range in.Roles {
		if in.Roles[i].Name == "admin" {
			in.Roles[i].Spec.Permissions = []string{"videos:edit", "videos:view"}
		}
	}
	d := check(buildEnv(in))
	if d.allowed || d.reason != ReasonPermissionNotGranted {
		t.Errorf("after admin lost videos:delete, alice (whose status still lists it) got %+v", d)
	}
	if d := buildEnv(in).check("acme", "u_alice", []string{"videos:edit"}); !d.allowed {
		t.Errorf("alice lost a permission admin still grants: %+v", d)
	}
}
