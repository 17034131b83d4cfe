package plugin

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/testobj"
)

// membersWorld is an environment with two organizations (acme with an
// OrganizationRole, globex), a membership of an organization that does not
// exist, memberships in every state, a duplicate Role, a membership being
// deleted and one not resolved for its latest generation.
func membersWorld() *objects {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	later := t0.Add(time.Hour)
	directory := func(role, group string) orgrbacv1alpha1.RoleAssignment {
		return orgrbacv1alpha1.RoleAssignment{Role: role, Source: orgrbacv1alpha1.SourceDirectory, Group: group}
	}
	sso := func(role, group string) orgrbacv1alpha1.RoleAssignment {
		return orgrbacv1alpha1.RoleAssignment{Role: role, Source: orgrbacv1alpha1.SourceSSO, Group: group}
	}
	withAssignments := func(m *orgrbacv1alpha1.Membership, as ...orgrbacv1alpha1.RoleAssignment) orgrbacv1alpha1.Membership {
		m.Status.Assignments = as
		m.Status.Source = as[0].Source
		return *m
	}
	return &objects{
		namespace: "videos",
		roles: []orgrbacv1alpha1.Role{
			*testobj.MakeRole("admin").Created(t0).Perms("videos:delete").Obj(),
			*testobj.MakeRole("editor").Created(t0).Perms("videos:edit").Obj(),
			*testobj.MakeRole("viewer").Created(t0).Perms("videos:view").Obj(),
			// A duplicate of viewer: it holds nobody.
			*testobj.MakeRole("viewer-copy").Slug("viewer").Created(later).Perms("videos:view").Obj(),
		},
		organizations: []orgrbacv1alpha1.Organization{
			*testobj.MakeOrganization("globex").Created(t0).ExternalID("org_globex").Obj(),
			*testobj.MakeOrganization("acme").Created(t0).ExternalID("org_acme").Obj(),
		},
		organizationRoles: []orgrbacv1alpha1.OrganizationRole{
			*testobj.MakeOrganizationRole("acme-producer").Org("acme").Slug("org-producer").Created(t0).Perms("videos:create").Obj(),
		},
		groupMappings: []orgrbacv1alpha1.GroupMapping{
			*testobj.MakeGroupMapping("acme-sso-video").Org("acme").SSO("video").Role("org-producer").Created(t0).Obj(),
			*testobj.MakeGroupMapping("acme-directory-admins").Org("acme").Directory("admins").Role("admin").Created(t0).Obj(),
			// The same group id, from the other source: it matches nobody.
			*testobj.MakeGroupMapping("acme-directory-video").Org("acme").Directory("video").Role("editor").Created(t0).Obj(),
			*testobj.MakeGroupMapping("globex-sso-admins").Org("globex").SSO("admins").Role("admin").Created(t0).Obj(),
		},
		memberships: []orgrbacv1alpha1.Membership{
			// In the admins directory group and the video SSO group: the
			// directory mapping wins.
			withAssignments(testobj.MakeMembership("acme-alice").Org("acme").User("alice").Directory("admins").SSO("video").
				Ready(true, "Resolved", t0).Resolved("admin").Obj(), directory("admin", "admins")),
			withAssignments(testobj.MakeMembership("acme-bob").Org("acme").User("bob").SSO("video").
				Ready(true, "Resolved", t0).Resolved("org-producer").Obj(), sso("org-producer", "video")),
			// Inactive, in the admins group: it keeps its role and counts.
			withAssignments(testobj.MakeMembership("acme-erin").Org("acme").User("erin").Directory("admins").
				State(orgrbacv1alpha1.MembershipInactive).Ready(true, "Resolved", t0).Resolved("admin").Obj(),
				directory("admin", "admins")),
			*testobj.MakeMembership("acme-pat").Org("acme").User("pat").State(orgrbacv1alpha1.MembershipPending).
				Ready(true, "Resolved", t0).Resolved("viewer").Obj(),
			// Active, but its spec changed since its status was computed: it
			// still counts with the roles its status has.
			*testobj.MakeMembership("acme-carol").Org("acme").User("carol").Roles("editor").
				Generation(2).Ready(true, "Resolved", t0).Resolved("viewer").Obj(),
			// Not resolved at all yet.
			*testobj.MakeMembership("acme-dan").Org("acme").User("dan").Obj(),
			// Being deleted: left out.
			*testobj.MakeMembership("acme-gone").Org("acme").User("gone").Deleting(later).
				Ready(true, "Resolved", t0).Resolved("admin").Obj(),
			// Its status names a slug no role has any more.
			*testobj.MakeMembership("globex-frank").Org("globex").User("frank").SSO("admins").
				Ready(true, "Resolved", t0).Resolved("editor", "org-retired").Obj(),
			*testobj.MakeMembership("initech-ivan").Org("initech").User("ivan").
				Ready(false, orgrbacv1alpha1.ReasonOrganizationNotFound, t0).Obj(),
		},
	}
}

func TestCountMembers(t *testing.T) {
	roleRows := func(admin, adminGranting, editor, viewer, viewerGranting int) []roleMembers {
		return []roleMembers{
			{Kind: "Role", Name: "admin", Slug: "admin", Members: admin, Granting: adminGranting},
			{Kind: "Role", Name: "editor", Slug: "editor", Members: editor, Granting: editor},
			{Kind: "Role", Name: "viewer", Slug: "viewer", Members: viewer, Granting: viewerGranting},
		}
	}
	acme := organizationMembers{Name: "acme", ExternalID: "org_acme", Total: 6, Granting: 3, Inactive: 1, Pending: 1, NotReady: 1}
	globex := organizationMembers{Name: "globex", ExternalID: "org_globex", Total: 1, Granting: 1}
	initech := organizationMembers{Name: "initech", Missing: true, Total: 1, NotReady: 1}
	producer := roleMembers{Kind: "OrganizationRole", Name: "acme-producer", Organization: "acme", Slug: "org-producer", Members: 1, Granting: 1}
	acmeMappings := []groupMappingMembers{
		{Name: "acme-directory-admins", Organization: "acme", Source: "Directory", Group: "admins", Role: "admin", Matched: 2, Assigned: 2},
		{Name: "acme-directory-video", Organization: "acme", Source: "Directory", Group: "video", Role: "editor"},
		{Name: "acme-sso-video", Organization: "acme", Source: "SSO", Group: "video", Role: "org-producer", Matched: 2, Assigned: 1},
	}
	globexMapping := groupMappingMembers{Name: "globex-sso-admins", Organization: "globex", Source: "SSO", Group: "admins", Role: "admin", Matched: 1}

	tests := map[string]struct {
		organization string
		want         environmentMembers
		notFound     bool
	}{
		"every organization": {
			want: environmentMembers{Namespace: "videos",
				Organizations: []organizationMembers{acme, globex, initech},
				Roles: append(roleRows(2, 1, 1, 2, 1), producer,
					roleMembers{Kind: "OrganizationRole", Organization: "globex", Slug: "org-retired", Members: 1, Granting: 1}),
				GroupMappings: append(acmeMappings, globexMapping),
				Resolving:     2},
		},
		"one organization by its externalID": {
			organization: "org_acme",
			want: environmentMembers{Namespace: "videos", Organization: "acme",
				Organizations: []organizationMembers{acme},
				Roles:         append(roleRows(2, 1, 0, 2, 1), producer),
				GroupMappings: acmeMappings,
				Resolving:     2},
		},
		"one organization by its name": {
			organization: "globex",
			want: environmentMembers{Namespace: "videos", Organization: "globex",
				Organizations: []organizationMembers{globex},
				Roles: append(roleRows(0, 0, 1, 0, 0),
					roleMembers{Kind: "OrganizationRole", Organization: "globex", Slug: "org-retired", Members: 1, Granting: 1}),
				GroupMappings: []groupMappingMembers{globexMapping}},
		},
		"an organization only its memberships name": {
			organization: "initech",
			want: environmentMembers{Namespace: "videos", Organization: "initech",
				Organizations: []organizationMembers{initech},
				Roles:         roleRows(0, 0, 0, 0, 0),
				GroupMappings: []groupMappingMembers{}},
		},
		"an unknown organization": {
			organization: "umbrella",
			notFound:     true,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, found := countMembers(membersWorld(), tc.organization)
			if found == tc.notFound {
				t.Fatalf("found = %v, want %v", found, !tc.notFound)
			}
			if tc.notFound {
				return
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("countMembers(%q) (-want +got):\n%s", tc.organization, diff)
			}
		})
	}
}

func TestCountMembersEmpty(t *testing.T) {
	got, found := countMembers(&objects{namespace: "empty"}, "")
	want := environmentMembers{Namespace: "empty", Organizations: []organizationMembers{}, Roles: []roleMembers{},
		GroupMappings: []groupMappingMembers{}}
	if !found {
		t.Fatal("found = false without --organization")
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("countMembers of nothing (-want +got):\n%s", diff)
	}
}
