package controller

import (
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/resolve"
	"github.com/orgrbac/orgrbac/internal/textlist"
)

// organizationInputs is what an Organization's status is computed from, as the
// Organization controller gathers it from the cache and the namespace's
// compiled environment.
type organizationInputs struct {
	// self is the organization's identity: its name, age and externalID.
	self resolve.OrganizationRef
	// peers are the other organizations of the namespace, not being deleted,
	// whose name or externalID is one of self's.
	peers []resolve.OrganizationRef
	// unknownDefault is its defaultRole when that names no role visible to it,
	// unknownPriority its rolePriority entries naming none.
	unknownDefault  string
	unknownPriority []string
}

// organizationStatus is the status an Organization at generation gen should
// have given in. It is pure: old only supplies the conditions' transition
// times, so inputs that did not change give a status equal to old.
//
// Ready says whether the organization answers to its ids: it is False, reason
// Duplicate, when an older organization holds its name or externalID as an id
// (resolve.IndexOrganizations, rule R9, as the decision API and the publisher
// apply it: a duplicate answers to no id and its members resolve to nothing).
// Ready does not summarise ReferencesResolved: a defaultRole naming no role
// falls back to the environment's default, and rolePriority entries naming no
// role are ignored, so the organization still works; ReferencesResolved=False
// says what was ignored.
func organizationStatus(old orgrbacv1alpha1.OrganizationStatus, gen int64, in organizationInputs, now metav1.Time) orgrbacv1alpha1.OrganizationStatus {
	ready := readyCondition("", "", gen)
	if conflict, dup := resolve.IndexOrganizations(append([]resolve.OrganizationRef{in.self}, in.peers...)).Duplicate(in.self.Name); dup {
		ready = readyCondition(orgrbacv1alpha1.ReasonDuplicate, conflict.Message(), gen)
	}
	reason, message := unknownRoles(in.unknownDefault, in.unknownPriority)
	return orgrbacv1alpha1.OrganizationStatus{ObservedGeneration: gen,
		Conditions: mergeConditions(old.Conditions, now, ready, referencesCondition(reason, message, gen))}
}

// unknownRoles describes a defaultRole and rolePriority entries naming no role.
func unknownRoles(unknownDefault string, unknownPriority []string) (reason, message string) {
	var parts []string
	if unknownDefault != "" {
		parts = append(parts, fmt.Sprintf("defaultRole %s names no role", unknownDefault))
	}
	if len(unknownPriority) > 0 {
		parts = append(parts, "rolePriority names no role for: "+textlist.Join(unknownPriority)+" (ignored)")
	}
	if len(parts) == 0 {
		return "", ""
	}
	return orgrbacv1alpha1.ReasonUnknownPriorityRoles, strings.Join(parts, "; ")
}
