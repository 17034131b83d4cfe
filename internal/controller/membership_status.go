package controller

import (
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/resolve"
	"github.com/orgrbac/orgrbac/internal/textlist"
)

// membershipStatus is the status a membership at generation gen should have given
// its resolution. It is pure: old only supplies the conditions' transition times.
//
// A resolution that does not fit the status (oversize) fails closed: Ready is
// False, and the status holds no roles, assignments or permissions, so the
// decision API, the publisher and pkg/authz grant nothing. Writing the oversize
// status instead would fail forever while the previous one kept granting.
func membershipStatus(old *orgrbacv1alpha1.MembershipStatus, gen int64, res resolve.Result, now metav1.Time) orgrbacv1alpha1.MembershipStatus {
	st := orgrbacv1alpha1.MembershipStatus{ObservedGeneration: gen}
	ready := readyCondition("", "", gen)
	switch reason, message := oversize(res); {
	case !res.Ready:
		ready = readyCondition(readyReason(res.Reason), res.Message, gen)
	case reason != "":
		ready = readyCondition(reason, message, gen)
	default:
		st.Role, st.Roles, st.Source, st.Permissions = res.Role, res.Roles, orgrbacv1alpha1.RoleSource(res.Source), res.Permissions
		for _, a := range res.Assignments {
			st.Assignments = append(st.Assignments, orgrbacv1alpha1.RoleAssignment{
				Role: a.Role, Source: orgrbacv1alpha1.RoleSource(a.Source), Group: a.Group})
		}
	}
	refReason, refMessage := referenceProblems(res)
	st.Conditions = mergeConditions(old.Conditions, now, ready, referencesCondition(refReason, refMessage, gen))
	return st
}

// readyReason maps the resolver's reason to the Ready condition's: the one
// place resolve.Reason meets api/v1alpha1. A reason it does not know (a
// resolver change not carried here) reads InternalError, never a value the
// API does not document.
func readyReason(r resolve.Reason) string {
	switch r {
	case resolve.ReasonResolved:
		return orgrbacv1alpha1.ReasonResolved
	case resolve.ReasonDefaultRoleMissing:
		return orgrbacv1alpha1.ReasonDefaultRoleMissing
	case resolve.ReasonOrganizationNotFound:
		return orgrbacv1alpha1.ReasonOrganizationNotFound
	case resolve.ReasonOrganizationDuplicate:
		return orgrbacv1alpha1.ReasonOrganizationDuplicate
	case resolve.ReasonRoleNotFound:
		return orgrbacv1alpha1.ReasonRoleNotFound
	case resolve.ReasonTooManyRoles:
		return orgrbacv1alpha1.ReasonTooManyRoles
	case resolve.ReasonDuplicate:
		return orgrbacv1alpha1.ReasonDuplicate
	}
	return orgrbacv1alpha1.ReasonInternalError
}

// oversize returns the reason and message of a resolution with more roles or
// permissions than a Membership's status holds; "" when it fits.
func oversize(res resolve.Result) (reason, message string) {
	if n := max(len(res.Roles), len(res.Assignments)); n > orgrbacv1alpha1.MaxMembershipRoles {
		return orgrbacv1alpha1.ReasonTooManyRoles, fmt.Sprintf(
			"the membership resolves to %d roles (from %s) and its status holds at most %d: it grants nothing "+
				"until it resolves to fewer roles", n, res.Source, orgrbacv1alpha1.MaxMembershipRoles)
	}
	if n := len(res.Permissions); n > orgrbacv1alpha1.MaxMembershipPermissions {
		return orgrbacv1alpha1.ReasonTooManyPermissions, fmt.Sprintf(
			"the membership's %d roles grant %d distinct permissions and its status holds at most %d: "+
				"it grants nothing until its roles grant fewer", len(res.Roles), n, orgrbacv1alpha1.MaxMembershipPermissions)
	}
	return "", ""
}

// referenceProblems summarises the candidate slugs the resolver had to ignore.
func referenceProblems(res resolve.Result) (reason, message string) {
	var parts []string
	if len(res.Dropped) > 0 {
		reason = orgrbacv1alpha1.ReasonRoleNotFound
		var b strings.Builder
		// The count first: a message cut to its bound still says it.
		if len(res.Dropped) == 1 {
			b.WriteString("1 role reference names no role: ")
		} else {
			fmt.Fprintf(&b, "%d role references name no role: ", len(res.Dropped))
		}
		textlist.Write(&b, len(res.Dropped), func(i int) {
			d := res.Dropped[i]
			if d.Group != "" {
				fmt.Fprintf(&b, "%s (%s group %s)", d.Role, d.Source, d.Group)
			} else {
				fmt.Fprintf(&b, "%s (%s)", d.Role, d.Source)
			}
		})
		parts = append(parts, b.String())
	}
	if len(res.Extra) > 0 {
		if reason == "" {
			reason = orgrbacv1alpha1.ReasonTooManyRoles
		}
		parts = append(parts, fmt.Sprintf("the environment allows one role per membership: spec.roles holds %d roles "+
			"and only the highest-priority one counts; ignored: %s", len(res.Extra)+1, textlist.Join(res.Extra)))
	}
	return reason, strings.Join(parts, "; ")
}
