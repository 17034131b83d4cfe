package store

import (
	"reflect"
	"testing"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/api/store/storetest"
)

func TestDecisions(t *testing.T) {
	c := buildContent(storetest.Sample())
	for name, tc := range map[string]struct {
		org, user string   // the organization (id or name) and user asked about
		perms     []string // the permissions that must all hold
		want      Decision // the expected answer
	}{
		"granted":                   {"acme", "u_alice", []string{"videos:delete"}, Decision{Allowed: true, Role: "admin", Roles: []string{"admin"}, Reason: ReasonGranted}},
		"granted by external id":    {"org_acme", "u_alice", []string{"videos:edit", "videos:view"}, Decision{Allowed: true, Role: "admin", Roles: []string{"admin"}, Reason: ReasonGranted}},
		"one of several missing":    {"acme", "u_bob", []string{"videos:view", "videos:delete"}, Decision{Role: "org-producer", Roles: []string{"org-producer", "member"}, Reason: ReasonPermissionNotGranted, Missing: []string{"videos:delete"}}},
		"wildcard is literal":       {"acme", "u_alice", []string{"videos:*"}, Decision{Role: "admin", Roles: []string{"admin"}, Reason: ReasonPermissionNotGranted, Missing: []string{"videos:*"}}},
		"inactive":                  {"acme", "u_carol", []string{"videos:view"}, Decision{Role: "editor", Roles: []string{"editor"}, Reason: ReasonMembershipInactive}},
		"pending":                   {"acme", "u_dave", []string{"videos:view"}, Decision{Role: "editor", Roles: []string{"editor"}, Reason: ReasonMembershipPending}},
		"inactive with stale perms": {"acme", "u_erin", []string{"videos:view"}, Decision{Role: "editor", Roles: []string{"editor"}, Reason: ReasonMembershipInactive}},
		"other organization":        {"globex", "u_alice", []string{"videos:view"}, Decision{Reason: ReasonMembershipNotFound}},
		"unknown organization":      {"initech", "u_alice", []string{"videos:view"}, Decision{Reason: ReasonOrganizationNotFound}},
	} {
		t.Run(name, func(t *testing.T) {
			if got := c.Check(tc.org, tc.user, tc.perms); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("check(%s, %s, %v) = %+v, want %+v", tc.org, tc.user, tc.perms, got, tc.want)
			}
		})
	}
}

func TestNotReadyNeverGrants(t *testing.T) {
	in := storetest.Sample()
	in.Memberships = []orgrbacv1alpha1.Membership{storetest.Member("m", "acme", "u", 1, "", false, []string{"admin"}, "videos:view")}
	c := buildContent(in)
	got := c.Check("acme", "u", []string{"videos:view"})
	if got.Allowed || got.Reason != ReasonMembershipNotReady {
		t.Errorf("a not-Ready membership answered %+v", got)
	}
}

// A permission removed from a role is denied as soon as the role changes, while
// the statuses of its holders still list it (they are rewritten at the API
// server's pace); and a status listing a permission no role grants grants nothing.
func TestRoleDefinitionBoundsStatus(t *testing.T) {
	in := storetest.Sample()
	check := func(e *EnvIndex) Decision { return e.check("acme", "u_alice", []string{"videos:delete"}) }
	if d := check(buildEnv(in)); !d.Allowed {
		t.Fatalf("before the change alice was denied: %+v", d)
	}
	for i := range in.Roles {
		if in.Roles[i].Name == "admin" {
			in.Roles[i].Spec.Permissions = []string{"videos:edit", "videos:view"}
		}
	}
	d := check(buildEnv(in))
	if d.Allowed || d.Reason != ReasonPermissionNotGranted {
		t.Errorf("after admin lost videos:delete, alice (whose status still lists it) got %+v", d)
	}
	if d := buildEnv(in).check("acme", "u_alice", []string{"videos:edit"}); !d.Allowed {
		t.Errorf("alice lost a permission admin still grants: %+v", d)
	}
}
