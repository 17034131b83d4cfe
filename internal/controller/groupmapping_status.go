package controller

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
)

// groupMappingInputs is what a GroupMapping's status is computed from, as the
// GroupMapping controller gathers it from the cache and the namespace's
// compiled environment.
type groupMappingInputs struct {
	// organization and role are the mapping's spec's.
	organization, role string
	// organizationFound is whether the organization exists (and is not being
	// deleted); roleFound whether role names a role visible to it.
	organizationFound, roleFound bool
}

// groupMappingStatus is the status a GroupMapping at generation gen should have
// given in: Ready, False when the organization or the
// role does not exist (the mapping then grants nothing). It is pure: old only
// supplies the condition's transition time, so inputs that did not change give
// a status equal to old.
func groupMappingStatus(old orgrbacv1alpha1.GroupMappingStatus, gen int64, in groupMappingInputs, now metav1.Time) orgrbacv1alpha1.GroupMappingStatus {
	ready := readyCondition("", "", gen)
	switch {
	case !in.organizationFound:
		ready = readyCondition(orgrbacv1alpha1.ReasonOrganizationNotFound,
			fmt.Sprintf("organization %q not found", in.organization), gen)
	case !in.roleFound:
		ready = readyCondition(orgrbacv1alpha1.ReasonRoleNotFound,
			fmt.Sprintf("role %q is neither a Role of the environment nor an OrganizationRole of %q: the mapping grants nothing",
				in.role, in.organization), gen)
	}
	return orgrbacv1alpha1.GroupMappingStatus{ObservedGeneration: gen,
		Conditions: mergeConditions(old.Conditions, now, ready)}
}
