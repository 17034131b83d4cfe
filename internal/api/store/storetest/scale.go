package storetest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/model"
)

// Scale describes a synthetic environment shaped like `make bench`'s: roles of
// rolePerms permissions drawn from permissions, organizations of about
// members/orgs memberships, each with 2 or 3 organization roles.
type Scale struct {
	members, orgs, roles, permissions, rolePerms int
}

// Scale100k is the benchmark's 100k environment: 100,000 memberships, 1,000
// organizations, 200 roles of 10 permissions out of 400.
var Scale100k = Scale{members: 100_000, orgs: 1000, roles: 200, permissions: 400, rolePerms: 10}

// ScaleObjects generates the environment of sc, seeded so the same scale always
// gives the same objects. Memberships hold 1 or 2 roles and the union of their
// permissions; 2 % are Inactive, 1 % Pending, and 1 % not Ready.
func ScaleObjects(sc Scale) *Objects {
	rng := rand.New(rand.NewPCG(1, 2)) //nolint:gosec // G404: seeded on purpose, so that a scale always gives the same objects
	perm := func(i int) string { return fmt.Sprintf("service-%02d:action-%03d", i%40, i) }
	roleName := func(i int) string { return fmt.Sprintf("role-%03d", i) }
	in := &Objects{Objects: model.Objects{Environments: []orgrbacv1alpha1.Environment{{ObjectMeta: ObjMeta("env", 0),
		Spec:   orgrbacv1alpha1.EnvironmentSpec{MultipleRoles: true, DefaultRole: roleName(0)},
		Status: orgrbacv1alpha1.EnvironmentStatus{Revision: 7}}}}}
	rolePerms := make([][]string, sc.roles)
	for i := range sc.roles {
		for range sc.rolePerms {
			rolePerms[i] = append(rolePerms[i], perm(rng.IntN(sc.permissions)))
		}
		slices.Sort(rolePerms[i])
		rolePerms[i] = slices.Compact(rolePerms[i])
		in.Roles = append(in.Roles, orgrbacv1alpha1.Role{ObjectMeta: ObjMeta(roleName(i), 1),
			Spec: orgrbacv1alpha1.RoleSpec{DisplayName: fmt.Sprintf("Role %d", i), Permissions: rolePerms[i]}})
	}
	orgRolePerms := map[string][]string{} // by organization/slug
	for o := range sc.orgs {
		org := fmt.Sprintf("org-%04d", o)
		in.Organizations = append(in.Organizations, orgrbacv1alpha1.Organization{ObjectMeta: ObjMeta(org, 2),
			Spec: orgrbacv1alpha1.OrganizationSpec{DisplayName: "Organization " + org, ExternalID: "org_" + org}})
		for r := range 2 + o%2 {
			slug := fmt.Sprintf("org-role-%d", r)
			var perms []string
			for range 3 {
				perms = append(perms, perm(rng.IntN(sc.permissions)))
			}
			slices.Sort(perms)
			perms = slices.Compact(perms)
			orgRolePerms[org+"/"+slug] = perms
			in.OrganizationRoles = append(in.OrganizationRoles, orgrbacv1alpha1.OrganizationRole{
				ObjectMeta: ObjMeta(org+"-"+slug, 3),
				Spec:       orgrbacv1alpha1.OrganizationRoleSpec{Organization: org, Slug: slug, Permissions: perms}})
		}
	}
	// Like `make bench`, each organization maps a directory group and an SSO
	// group to roles; members get their roles from a mapping (65 %), by hand
	// (20 %) or by default (15 %).
	type mapped struct{ dir, sso string }
	orgMaps := make([]mapped, sc.orgs)
	for o := range orgMaps {
		orgMaps[o] = mapped{dir: roleName(2 + rng.IntN(sc.roles-2)), sso: roleName(2 + rng.IntN(sc.roles-2))}
	}
	permsOf := func(org, role string) []string {
		if p, ok := orgRolePerms[org+"/"+role]; ok {
			return p
		}
		var i int
		_, _ = fmt.Sscanf(role, "role-%d", &i)
		return rolePerms[i]
	}
	in.Memberships = make([]orgrbacv1alpha1.Membership, 0, sc.members)
	for i := range sc.members {
		o := rng.IntN(sc.orgs)
		org := fmt.Sprintf("org-%04d", o)
		m := orgrbacv1alpha1.Membership{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("om_%08d", i), Namespace: "videos",
			CreationTimestamp: metav1.NewTime(T0.Add(time.Duration(i) * time.Second))},
			Spec: orgrbacv1alpha1.MembershipSpec{Organization: org, User: fmt.Sprintf("user_%08d", i),
				Email: fmt.Sprintf("user%d@example.com", i)}}
		switch n := rng.IntN(100); {
		case n < 2:
			m.Spec.State = orgrbacv1alpha1.MembershipInactive
		case n < 3:
			m.Spec.State = orgrbacv1alpha1.MembershipPending
		}
		var source orgrbacv1alpha1.RoleSource
		var roles []string
		group := ""
		switch n := rng.IntN(100); {
		case n < 40:
			source, group, roles = orgrbacv1alpha1.SourceDirectory, "dir-eng", []string{orgMaps[o].dir}
			if rng.IntN(2) == 0 {
				group, roles = "dir-ops", []string{"org-role-0"}
			}
		case n < 65:
			source, group, roles = orgrbacv1alpha1.SourceSSO, "sso-sales", []string{orgMaps[o].sso}
		case n < 85:
			source, roles = orgrbacv1alpha1.SourceManual, []string{roleName(2 + rng.IntN(sc.roles-2))}
			if rng.IntN(3) == 0 {
				roles = append(roles, "org-role-1")
			}
		default:
			source, roles = orgrbacv1alpha1.SourceDefault, []string{roleName(0)}
		}
		var perms []string
		for _, r := range roles {
			m.Status.Assignments = append(m.Status.Assignments, orgrbacv1alpha1.RoleAssignment{Role: r, Source: source, Group: group})
			perms = append(perms, permsOf(org, r)...)
		}
		slices.Sort(perms)
		m.Status.Roles, m.Status.Role, m.Status.Source, m.Status.Permissions = roles, roles[0], source, slices.Compact(perms)
		ready := rng.IntN(100) != 0
		reason := orgrbacv1alpha1.ReasonResolved
		if !ready {
			reason = orgrbacv1alpha1.ReasonDuplicate
		}
		m.Status.Conditions = ReadyCond(ready, reason, m.CreationTimestamp.Add(time.Minute))
		in.Memberships = append(in.Memberships, m)
	}
	return in
}
