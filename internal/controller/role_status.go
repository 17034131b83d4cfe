package controller

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/resolve"
	"github.com/orgrbac/orgrbac/internal/textlist"
)

// roleInputs is what a Role's status is computed from, as the Role controller
// gathers it from the cache.
type roleInputs struct {
	// name is the role's name, slug its effective slug and permissions its
	// spec.permissions.
	name, slug  string
	permissions []string
	// sameSlug are the namespace's Roles with that slug, the role itself
	// included: the oldest one not being deleted wins (R8).
	sameSlug []orgrbacv1alpha1.Role
	// catalog is the namespace's Permissions, nil when the role has no
	// permissions (nothing to check them against).
	catalog []orgrbacv1alpha1.Permission
}

// roleStatus is the status a Role at generation gen should have given in. It is
// pure: old only supplies the conditions' transition times, so inputs that did
// not change give a status equal to old.
func roleStatus(old orgrbacv1alpha1.RoleStatus, gen int64, in roleInputs, now metav1.Time) orgrbacv1alpha1.RoleStatus {
	st := orgrbacv1alpha1.RoleStatus{ObservedGeneration: gen, Slug: in.slug}
	dupOf := ""
	if winner := oldest(in.sameSlug, func(r *orgrbacv1alpha1.Role) metav1.Object { return r }); winner != "" && winner != in.name {
		dupOf = winner
	}
	st.Conditions = roleConditions(old.Conditions, gen, "Role", dupOf, "", undeclared(in.permissions, in.catalog), now)
	return st
}

// roleConditions are the conditions of a Role or OrganizationRole: Ready is False
// when the organization is missing (orgMissing names it) or the role duplicates an
// older one (dupOf names it); ReferencesResolved lists undeclared permissions.
func roleConditions(existing []metav1.Condition, gen int64, kind, dupOf, orgMissing string, undeclared []string, now metav1.Time) []metav1.Condition {
	ready := readyCondition("", "", gen)
	switch {
	case orgMissing != "":
		ready = readyCondition(orgrbacv1alpha1.ReasonOrganizationNotFound,
			fmt.Sprintf("organization %q not found", orgMissing), gen)
	case dupOf != "":
		ready = readyCondition(orgrbacv1alpha1.ReasonDuplicate,
			fmt.Sprintf("%s %q has the same slug and is older: it wins, this one grants nothing", kind, dupOf), gen)
	}
	refs := referencesCondition("", "", gen)
	if len(undeclared) > 0 {
		refs = referencesCondition(orgrbacv1alpha1.ReasonUndeclaredPermissions,
			fmt.Sprintf("no Permission declares %d of its permissions: %s", len(undeclared), textlist.Join(undeclared)), gen)
	}
	return mergeConditions(existing, now, ready, refs)
}

// undeclared returns the permissions missing from the Permission catalog, those
// being deleted left out; nil when there is no catalog.
func undeclared(perms []string, catalog []orgrbacv1alpha1.Permission) []string {
	slugs := make([]string, 0, len(catalog))
	for i := range catalog {
		if !deleting(&catalog[i]) {
			slugs = append(slugs, catalog[i].EffectiveSlug())
		}
	}
	return resolve.UndeclaredPermissions(perms, slugs)
}
