package controller

import (
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/resolve"
)

// membershipStatus is the status a membership at generation gen should have given
// its resolution. It is pure: old only supplies the conditions' transition times.
func membershipStatus(old *orgrbacv1alpha1.MembershipStatus, gen int64, res resolve.Result, now metav1.Time) orgrbacv1alpha1.MembershipStatus {
	st := orgrbacv1alpha1.MembershipStatus{
		ObservedGeneration: gen,
		Role:               res.Role,
		Roles:              res.Roles,
		Source:             orgrbacv1alpha1.RoleSource(res.Source),
		Permissions:        res.Permissions,
	}
	for _, a := range res.Assignments {
		st.Assignments = append(st.Assignments, orgrbacv1alpha1.RoleAssignment{
			Role: a.Role, Source: orgrbacv1alpha1.RoleSource(a.Source), Group: a.Group})
	}

	ready := readyCondition("", "", gen)
	if !res.Ready {
		ready = readyCondition(res.Reason, res.Message, gen)
	}
	refReason, refMessage := referenceProblems(res)
	st.Conditions = mergeConditions(old.Conditions, now, ready, referencesCondition(refReason, refMessage, gen))
	return st
}

// referenceProblems summarises the candidate slugs the resolver had to ignore.
func referenceProblems(res resolve.Result) (reason, message string) {
	var parts []string
	if len(res.Dropped) > 0 {
		reason = orgrbacv1alpha1.ReasonRoleNotFound
		names := make([]string, 0, len(res.Dropped))
		for _, d := range res.Dropped {
			switch {
			case d.Group != "":
				names = append(names, fmt.Sprintf("%s (%s group %s)", d.Role, d.Source, d.Group))
			default:
				names = append(names, fmt.Sprintf("%s (%s)", d.Role, d.Source))
			}
		}
		parts = append(parts, "no such role: "+strings.Join(names, ", "))
	}
	if len(res.Extra) > 0 {
		if reason == "" {
			reason = orgrbacv1alpha1.ReasonTooManyRoles
		}
		parts = append(parts, fmt.Sprintf("the environment allows one role per membership: spec.roles holds %d roles "+
			"and only the highest-priority one counts; ignored: %s", len(res.Extra)+1, strings.Join(res.Extra, ", ")))
	}
	return reason, strings.Join(parts, "; ")
}
