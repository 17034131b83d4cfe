package controller

import (
	"testing"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/resolve"
)

// TestReadyReason: every reason of the resolver maps to the documented
// condition reason of the same name; an unknown one to InternalError.
func TestReadyReason(t *testing.T) {
	for r, want := range map[resolve.Reason]string{
		resolve.ReasonResolved:              orgrbacv1alpha1.ReasonResolved,
		resolve.ReasonDefaultRoleMissing:    orgrbacv1alpha1.ReasonDefaultRoleMissing,
		resolve.ReasonOrganizationNotFound:  orgrbacv1alpha1.ReasonOrganizationNotFound,
		resolve.ReasonOrganizationDuplicate: orgrbacv1alpha1.ReasonOrganizationDuplicate,
		resolve.ReasonRoleNotFound:          orgrbacv1alpha1.ReasonRoleNotFound,
		resolve.ReasonTooManyRoles:          orgrbacv1alpha1.ReasonTooManyRoles,
		resolve.ReasonDuplicate:             orgrbacv1alpha1.ReasonDuplicate,
		"SomethingNew":                      orgrbacv1alpha1.ReasonInternalError,
	} {
		if got := readyReason(r); got != want {
			t.Errorf("readyReason(%q) = %q, want %q", r, got, want)
		}
	}
}
