package controller

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
)

// environmentInputs is what the environment controller's part of an
// Environment's status is computed from.
type environmentInputs struct {
	// roles, organizations and memberships are the namespace's counts (Roles
	// being deleted left out).
	roles, organizations, memberships int
	// older names the older Environment that holds the namespace's settings;
	// "" when this one does.
	older string
	// unknownDefault is a defaultRole naming no Role; "" when there is none.
	unknownDefault string
	// unknownPriority are the rolePriority entries naming no Role.
	unknownPriority []string
}

// environmentStatus is the status an Environment at generation gen should
// have: old with the environment controller's fields (observedGeneration, the
// counts, Ready and ReferencesResolved) computed from in. It is pure: old only
// supplies the publisher's fields, kept as they are, and the conditions'
// transition times, so that an input that did not change gives a status
// DeepEqual to old and nothing is written.
func environmentStatus(old *orgrbacv1alpha1.EnvironmentStatus, gen int64, in environmentInputs, now metav1.Time) orgrbacv1alpha1.EnvironmentStatus {
	st := *old.DeepCopy()
	st.ObservedGeneration = gen
	st.Roles = count(in.roles)
	st.Organizations = count(in.organizations)
	st.Memberships = count(in.memberships)
	st.Conditions = environmentConditions(old.Conditions, gen, in.older, in.unknownDefault, in.unknownPriority, now)
	return st
}

// environmentConditions are an Environment's conditions: Ready is False when an
// older Environment (older names it) holds the namespace's settings, and then
// nothing else is checked; otherwise ReferencesResolved reports a defaultRole and
// rolePriority entries naming no Role.
func environmentConditions(existing []metav1.Condition, gen int64, older, unknownDefault string, unknownPriority []string, now metav1.Time) []metav1.Condition {
	if older != "" {
		return mergeConditions(existing, now, readyCondition(orgrbacv1alpha1.ReasonDuplicate,
			fmt.Sprintf("Environment %q is older and holds this namespace's settings; this one is ignored", older), gen),
			referencesCondition("", "", gen))
	}
	reason, message := unknownRoles(unknownDefault, unknownPriority)
	return mergeConditions(existing, now, readyCondition("", "", gen), referencesCondition(reason, message, gen))
}

// environmentInternalErrorStatus is old with Ready Unknown, reason
// InternalError, at generation gen: the status could not be computed, so the
// environment controller's other fields keep the values they had.
func environmentInternalErrorStatus(old *orgrbacv1alpha1.EnvironmentStatus, gen int64, now metav1.Time) orgrbacv1alpha1.EnvironmentStatus {
	st := *old.DeepCopy()
	st.Conditions = mergeConditions(old.Conditions, now, internalErrorCondition(gen))
	return st
}
