package resolve

import (
	"reflect"
	"testing"
	"time"
)

// roleSet is a RoleSet from a map of slug to sorted permissions.
type roleSet map[string][]string

func (r roleSet) Role(slug string) ([]string, bool) {
	p, ok := r[slug]
	return p, ok
}

func (r roleSet) Defines(slug string) bool {
	_, ok := r[slug]
	return ok
}

func TestDecide(t *testing.T) {
	roles := roleSet{"admin": {"videos:delete", "videos:view"}, "viewer": {"videos:view"}}
	admin := &Resolved{Ready: true, Role: "admin", Roles: []string{"admin"}, Permissions: []string{"videos:delete", "videos:view"}}
	for name, tc := range map[string]struct {
		o     RoleSet   // the organization's roles (nil: no organization)
		m     *Resolved // the membership (nil: none)
		perms []string  // the permissions asked for
		want  Decision  // the expected answer
	}{
		"granted":        {roles, admin, []string{"videos:view", "videos:delete"}, Decision{Allowed: true, Role: "admin", Roles: []string{"admin"}, Reason: DecisionGranted}},
		"no membership":  {roles, nil, []string{"videos:view"}, Decision{Reason: DecisionMembershipNotFound}},
		"missing":        {roles, admin, []string{"videos:edit", "videos:view"}, Decision{Role: "admin", Roles: []string{"admin"}, Reason: DecisionPermissionNotGranted, Missing: []string{"videos:edit"}}},
		"wildcard":       {roles, admin, []string{"videos:*"}, Decision{Role: "admin", Roles: []string{"admin"}, Reason: DecisionPermissionNotGranted, Missing: []string{"videos:*"}}},
		"role shrank":    {roleSet{"admin": {"videos:view"}}, admin, []string{"videos:delete"}, Decision{Role: "admin", Roles: []string{"admin"}, Reason: DecisionPermissionNotGranted, Missing: []string{"videos:delete"}}},
		"role gone":      {roleSet{}, admin, []string{"videos:view"}, Decision{Role: "admin", Roles: []string{"admin"}, Reason: DecisionPermissionNotGranted, Missing: []string{"videos:view"}}},
		"no org":         {nil, admin, []string{"videos:view"}, Decision{Role: "admin", Roles: []string{"admin"}, Reason: DecisionPermissionNotGranted, Missing: []string{"videos:view"}}},
		"status behind":  {roleSet{"admin": {"videos:delete", "videos:edit", "videos:view"}}, admin, []string{"videos:edit"}, Decision{Role: "admin", Roles: []string{"admin"}, Reason: DecisionPermissionNotGranted, Missing: []string{"videos:edit"}}},
		"inactive":       {roles, &Resolved{State: StateInactive, Ready: true, Role: "admin", Roles: []string{"admin"}, Permissions: admin.Permissions}, []string{"videos:view"}, Decision{Role: "admin", Roles: []string{"admin"}, Reason: DecisionMembershipInactive}},
		"pending":        {roles, &Resolved{State: StatePending, Ready: true}, []string{"videos:view"}, Decision{Reason: DecisionMembershipPending}},
		"not ready":      {roles, &Resolved{Ready: false, Permissions: admin.Permissions, Roles: []string{"admin"}, Role: "admin"}, []string{"videos:view"}, Decision{Role: "admin", Roles: []string{"admin"}, Reason: DecisionMembershipNotReady}},
		"unknown state":  {roles, &Resolved{State: "Suspended", Ready: true, Roles: []string{"admin"}, Permissions: admin.Permissions}, []string{"videos:view"}, Decision{Roles: []string{"admin"}, Reason: DecisionMembershipNotReady}},
		"explicit state": {roles, &Resolved{State: StateActive, Ready: true, Roles: []string{"viewer"}, Permissions: []string{"videos:view"}}, []string{"videos:view"}, Decision{Allowed: true, Roles: []string{"viewer"}, Reason: DecisionGranted}},
	} {
		t.Run(name, func(t *testing.T) {
			if got := Decide(tc.o, tc.m, tc.perms); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Decide = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestGrantingRoles(t *testing.T) {
	roles := roleSet{"admin": {"videos:delete", "videos:view"}, "viewer": {"videos:view"}}
	if got, want := GrantingRoles(roles, []string{"viewer", "ghost", "admin"}, "videos:view"), []string{"viewer", "admin"}; !reflect.DeepEqual(got, want) {
		t.Errorf("GrantingRoles = %v, want %v", got, want)
	}
	if got := GrantingRoles(nil, []string{"admin"}, "videos:view"); got != nil {
		t.Errorf("GrantingRoles without an organization = %v, want none", got)
	}
}

func TestPrefer(t *testing.T) {
	t0 := time.Unix(1000, 0)
	old := Candidate{Meta: Meta{Name: "b", Created: t0}}
	young := Candidate{Meta: Meta{Name: "a", Created: t0.Add(time.Second)}}
	sameAge := Candidate{Meta: Meta{Name: "c", Created: t0}}
	readyYoung := young
	readyYoung.Ready = true
	for name, tc := range map[string]struct {
		a, b Candidate
		want bool
	}{
		"older wins":        {old, young, true},
		"younger loses":     {young, old, false},
		"name breaks ties":  {old, sameAge, true},
		"ready beats older": {readyYoung, old, true},
		"not ready loses":   {old, readyYoung, false},
	} {
		if got := Prefer(tc.a, tc.b); got != tc.want {
			t.Errorf("%s: Prefer = %v, want %v", name, got, tc.want)
		}
	}
}
