package controller

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
)

// organizationRoleInputs is what an OrganizationRole's status is computed from,
// as the OrganizationRole controller gathers it from the cache.
type organizationRoleInputs struct {
	// name is the role's name; organization, slug and permissions its spec's.
	name, organization, slug string
	permissions              []string
	// organizationFound is whether the organization exists.
	organizationFound bool
	// siblings are the OrganizationRoles of the organization, the role itself
	// included: among those with its slug, the oldest one not being deleted
	// wins (R8).
	siblings []orgrbacv1alpha1.OrganizationRole
	// catalog is the namespace's Permissions, nil when the role has no
	// permissions (nothing to check them against).
	catalog []orgrbacv1alpha1.Permission
}

// organizationRoleStatus is the status an OrganizationRole at generation gen
// should have given in. It is pure: old only supplies the conditions'
// transition times, so inputs that did not change give a status equal to old.
//
// A role of a missing organization, or a duplicate (an older role of the
// organization has its slug), grants nothing.
func organizationRoleStatus(old orgrbacv1alpha1.OrganizationRoleStatus, gen int64, in organizationRoleInputs, now metav1.Time) orgrbacv1alpha1.OrganizationRoleStatus {
	st := orgrbacv1alpha1.OrganizationRoleStatus{ObservedGeneration: gen}
	var same []orgrbacv1alpha1.OrganizationRole
	for _, s := range in.siblings {
		if s.Spec.Slug == in.slug {
			same = append(same, s)
		}
	}
	orgMissing := ""
	if !in.organizationFound {
		orgMissing = in.organization
	}
	dupOf := ""
	if winner := oldest(same, func(r *orgrbacv1alpha1.OrganizationRole) metav1.Object { return r }); winner != "" && winner != in.name {
		dupOf = winner
	}
	st.Conditions = roleConditions(old.Conditions, gen, "OrganizationRole", dupOf, orgMissing,
		undeclared(in.permissions, in.catalog), now)
	return st
}
