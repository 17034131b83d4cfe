// Package storetest holds the objects the tests of the decision API's store
// and of its HTTP face answer from: a small sample environment and a
// synthetic one of any scale. It imports neither package, so that both may
// use it.
package storetest

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/model"
)

// Objects are the cached objects of one namespace: the ones its structure is
// built from, and its Memberships.
type Objects struct {
	model.Objects
	Memberships []orgrbacv1alpha1.Membership
}

// T0 is the time the fixtures are created at: every object is created some
// minutes after it.
var T0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// ObjMeta is the metadata of an object named name in namespace videos, created
// age minutes after T0.
func ObjMeta(name string, age int) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: "videos", CreationTimestamp: metav1.NewTime(T0.Add(time.Duration(age) * time.Minute))}
}

// ReadyCond is a Ready condition, True when ok, that last changed at at.
func ReadyCond(ok bool, reason string, at time.Time) []metav1.Condition {
	st := metav1.ConditionTrue
	if !ok {
		st = metav1.ConditionFalse
	}
	return []metav1.Condition{{Type: orgrbacv1alpha1.ConditionReady, Status: st, Reason: reason, LastTransitionTime: metav1.NewTime(at)}}
}

// Member builds a Membership created age minutes after T0 whose status holds
// roles (highest first) and perms; ready=false marks it not Ready.
func Member(name, org, user string, age int, state orgrbacv1alpha1.MembershipState, ready bool, roles []string, perms ...string) orgrbacv1alpha1.Membership {
	m := orgrbacv1alpha1.Membership{ObjectMeta: ObjMeta(name, age),
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
	m.Status.Conditions = ReadyCond(ready, reason, T0.Add(time.Duration(age+1)*time.Minute))
	return m
}

// Sample is the environment most tests answer from: three roles (admin above
// editor above member), two organizations (acme with an externalID and an
// OrganizationRole, globex without), and memberships in every state, one of
// them a not-Ready duplicate.
func Sample() *Objects {
	return &Objects{Objects: model.Objects{
		Environments: []orgrbacv1alpha1.Environment{{ObjectMeta: ObjMeta("env", 0),
			Spec: orgrbacv1alpha1.EnvironmentSpec{RolePriority: []string{"admin", "editor"}}}},
		Roles: []orgrbacv1alpha1.Role{
			{ObjectMeta: ObjMeta("member", 1), Spec: orgrbacv1alpha1.RoleSpec{Permissions: []string{"videos:view"}}},
			{ObjectMeta: ObjMeta("editor", 2), Spec: orgrbacv1alpha1.RoleSpec{DisplayName: "Editor", Permissions: []string{"videos:edit", "videos:view"}}},
			{ObjectMeta: ObjMeta("admin", 3), Spec: orgrbacv1alpha1.RoleSpec{Description: "All", Permissions: []string{"videos:delete", "videos:edit", "videos:view"}}},
		},
		Organizations: []orgrbacv1alpha1.Organization{
			{ObjectMeta: ObjMeta("acme", 4), Spec: orgrbacv1alpha1.OrganizationSpec{DisplayName: "Acme Inc.", ExternalID: "org_acme",
				RolePriority: []string{"org-producer"}}},
			{ObjectMeta: ObjMeta("globex", 5)},
		},
		OrganizationRoles: []orgrbacv1alpha1.OrganizationRole{{ObjectMeta: ObjMeta("acme-producer", 6),
			Spec: orgrbacv1alpha1.OrganizationRoleSpec{Organization: "acme", Slug: "org-producer", Permissions: []string{"videos:create"}}}},
	},
		Memberships: []orgrbacv1alpha1.Membership{
			Member("alice", "acme", "u_alice", 10, "", true, []string{"admin"}, "videos:delete", "videos:edit", "videos:view"),
			Member("bob", "acme", "u_bob", 11, orgrbacv1alpha1.MembershipActive, true, []string{"org-producer", "member"}, "videos:create", "videos:view"),
			Member("carol", "acme", "u_carol", 12, orgrbacv1alpha1.MembershipInactive, true, []string{"editor"}),
			Member("dave", "acme", "u_dave", 13, orgrbacv1alpha1.MembershipPending, true, []string{"editor"}),
			// A stale status that still lists permissions must not grant them once the spec says Inactive.
			Member("erin", "acme", "u_erin", 14, orgrbacv1alpha1.MembershipInactive, true, []string{"editor"}, "videos:edit", "videos:view"),
			Member("frank", "globex", "u_frank", 15, "", true, []string{"member"}, "videos:view"),
			// A duplicate of alice: not Ready, so alice's Ready membership answers.
			Member("alice-dup", "acme", "u_alice", 9, "", false, nil),
		},
	}
}
