package controller

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/resolve"
)

func TestMembershipStatus(t *testing.T) {
	t0 := metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	t1 := metav1.NewTime(t0.Add(time.Hour))
	readyTrue := metav1.Condition{Type: orgrbacv1alpha1.ConditionReady, Status: metav1.ConditionTrue,
		Reason: orgrbacv1alpha1.ReasonResolved, ObservedGeneration: 1, LastTransitionTime: t0}
	refsTrue := metav1.Condition{Type: orgrbacv1alpha1.ConditionReferencesResolved, Status: metav1.ConditionTrue,
		Reason: orgrbacv1alpha1.ReasonAllFound, ObservedGeneration: 1, LastTransitionTime: t0}
	admin := resolve.Result{Ready: true, Reason: resolve.ReasonResolved, Role: "admin", Roles: []string{"admin"},
		Source: resolve.SourceDirectory, Assignments: []resolve.Assignment{{Role: "admin", Source: resolve.SourceDirectory, Group: "g"}},
		Permissions: []string{"a", "b"}, Active: true}

	tests := map[string]struct {
		old  orgrbacv1alpha1.MembershipStatus
		now  metav1.Time
		gen  int64
		res  resolve.Result
		want orgrbacv1alpha1.MembershipStatus
	}{
		"first resolution": {
			now: t0, gen: 1, res: admin,
			want: orgrbacv1alpha1.MembershipStatus{ObservedGeneration: 1, Role: "admin", Roles: []string{"admin"},
				Source: orgrbacv1alpha1.SourceDirectory, Permissions: []string{"a", "b"},
				Assignments: []orgrbacv1alpha1.RoleAssignment{{Role: "admin", Source: orgrbacv1alpha1.SourceDirectory, Group: "g"}},
				Conditions:  []metav1.Condition{readyTrue, refsTrue}},
		},
		"unchanged conditions keep their transition time": {
			old: orgrbacv1alpha1.MembershipStatus{Conditions: []metav1.Condition{readyTrue, refsTrue}},
			now: t1, gen: 2, res: admin,
			want: orgrbacv1alpha1.MembershipStatus{ObservedGeneration: 2, Role: "admin", Roles: []string{"admin"},
				Source: orgrbacv1alpha1.SourceDirectory, Permissions: []string{"a", "b"},
				Assignments: []orgrbacv1alpha1.RoleAssignment{{Role: "admin", Source: orgrbacv1alpha1.SourceDirectory, Group: "g"}},
				Conditions: []metav1.Condition{
					{Type: orgrbacv1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: orgrbacv1alpha1.ReasonResolved, ObservedGeneration: 2, LastTransitionTime: t0},
					{Type: orgrbacv1alpha1.ConditionReferencesResolved, Status: metav1.ConditionTrue, Reason: orgrbacv1alpha1.ReasonAllFound, ObservedGeneration: 2, LastTransitionTime: t0},
				}},
		},
		"failing closed clears everything and flips Ready": {
			old: orgrbacv1alpha1.MembershipStatus{Role: "admin", Roles: []string{"admin"}, Conditions: []metav1.Condition{readyTrue, refsTrue}},
			now: t1, gen: 1, res: resolve.Result{Reason: resolve.ReasonDefaultRoleMissing, Message: "no default", Active: true},
			want: orgrbacv1alpha1.MembershipStatus{ObservedGeneration: 1, Conditions: []metav1.Condition{
				{Type: orgrbacv1alpha1.ConditionReady, Status: metav1.ConditionFalse, Reason: orgrbacv1alpha1.ReasonDefaultRoleMissing, Message: "no default", ObservedGeneration: 1, LastTransitionTime: t1},
				refsTrue,
			}},
		},
		"dropped and extra roles are reported, RoleNotFound first": {
			now: t0, gen: 1, res: resolve.Result{Ready: true, Role: "admin", Roles: []string{"admin"}, Source: resolve.SourceManual,
				Assignments: []resolve.Assignment{{Role: "admin", Source: resolve.SourceManual}},
				Dropped:     []resolve.Dropped{{Role: "ghost", Source: resolve.SourceManual}, {Role: "gone", Source: resolve.SourceSSO, Group: "g"}},
				Extra:       []string{"editor"}, Active: true},
			want: orgrbacv1alpha1.MembershipStatus{ObservedGeneration: 1, Role: "admin", Roles: []string{"admin"}, Source: orgrbacv1alpha1.SourceManual,
				Assignments: []orgrbacv1alpha1.RoleAssignment{{Role: "admin", Source: orgrbacv1alpha1.SourceManual}},
				Conditions: []metav1.Condition{readyTrue, {Type: orgrbacv1alpha1.ConditionReferencesResolved, Status: metav1.ConditionFalse,
					Reason: orgrbacv1alpha1.ReasonRoleNotFound, ObservedGeneration: 1, LastTransitionTime: t0,
					Message: "2 role references name no role: ghost (Manual), gone (SSO group g); the environment allows one role per membership: " +
						"spec.roles holds 2 roles and only the highest-priority one counts; ignored: editor"}}},
		},
		"65 roles fail closed: Ready False, TooManyRoles, an admin held before is gone": {
			old: orgrbacv1alpha1.MembershipStatus{Role: "admin", Roles: []string{"admin"}, Permissions: []string{"a"},
				Conditions: []metav1.Condition{readyTrue, refsTrue}},
			now: t1, gen: 1, res: many(orgrbacv1alpha1.MaxMembershipRoles+1, 1),
			want: orgrbacv1alpha1.MembershipStatus{ObservedGeneration: 1, Conditions: []metav1.Condition{
				{Type: orgrbacv1alpha1.ConditionReady, Status: metav1.ConditionFalse, Reason: orgrbacv1alpha1.ReasonTooManyRoles,
					Message: "the membership resolves to 65 roles (from Directory) and its status holds at most 64: " +
						"it grants nothing until it resolves to fewer roles", ObservedGeneration: 1, LastTransitionTime: t1},
				refsTrue,
			}},
		},
		"8193 permissions fail closed: Ready False, TooManyPermissions": {
			now: t0, gen: 1, res: many(1, orgrbacv1alpha1.MaxMembershipPermissions+1),
			want: orgrbacv1alpha1.MembershipStatus{ObservedGeneration: 1, Conditions: []metav1.Condition{
				{Type: orgrbacv1alpha1.ConditionReady, Status: metav1.ConditionFalse, Reason: orgrbacv1alpha1.ReasonTooManyPermissions,
					Message: "the membership's 1 roles grant 8193 distinct permissions and its status holds at most 8192: " +
						"it grants nothing until its roles grant fewer", ObservedGeneration: 1, LastTransitionTime: t0},
				refsTrue,
			}},
		},
		"many dropped roles: ten are listed, the rest counted": {
			now: t0, gen: 1, res: resolve.Result{Ready: true, Role: "admin", Roles: []string{"admin"}, Source: resolve.SourceManual,
				Assignments: []resolve.Assignment{{Role: "admin", Source: resolve.SourceManual}},
				Dropped:     dropped(150), Extra: []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"}, Active: true},
			want: orgrbacv1alpha1.MembershipStatus{ObservedGeneration: 1, Role: "admin", Roles: []string{"admin"}, Source: orgrbacv1alpha1.SourceManual,
				Assignments: []orgrbacv1alpha1.RoleAssignment{{Role: "admin", Source: orgrbacv1alpha1.SourceManual}},
				Conditions: []metav1.Condition{readyTrue, {Type: orgrbacv1alpha1.ConditionReferencesResolved, Status: metav1.ConditionFalse,
					Reason: orgrbacv1alpha1.ReasonRoleNotFound, ObservedGeneration: 1, LastTransitionTime: t0,
					Message: "150 role references name no role: r0 (Directory group g0), r1 (Directory group g1), r2 (Directory group g2), " +
						"r3 (Directory group g3), r4 (Directory group g4), r5 (Directory group g5), r6 (Directory group g6), " +
						"r7 (Directory group g7), r8 (Directory group g8), r9 (Directory group g9) and 140 more; " +
						"the environment allows one role per membership: spec.roles holds 13 roles and only the " +
						"highest-priority one counts; ignored: a, b, c, d, e, f, g, h, i, j and 2 more"}}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := membershipStatus(&tc.old, tc.gen, tc.res, tc.now)
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("status (-want +got):\n%s", d)
			}
		})
	}
}

// many is a Ready resolution to roles Directory roles granting perms
// permissions in all.
func many(roles, perms int) resolve.Result {
	res := resolve.Result{Ready: true, Reason: resolve.ReasonResolved, Source: resolve.SourceDirectory, Active: true}
	for i := range roles {
		slug := fmt.Sprintf("r%03d", i)
		res.Roles = append(res.Roles, slug)
		res.Assignments = append(res.Assignments, resolve.Assignment{Role: slug, Source: resolve.SourceDirectory, Group: "g" + slug})
	}
	res.Role = res.Roles[0]
	for i := range perms {
		res.Permissions = append(res.Permissions, fmt.Sprintf("p%05d", i))
	}
	return res
}

// dropped is n Directory mappings to missing roles.
func dropped(n int) []resolve.Dropped {
	out := make([]resolve.Dropped, n)
	for i := range out {
		out[i] = resolve.Dropped{Role: fmt.Sprintf("r%d", i), Source: resolve.SourceDirectory, Group: fmt.Sprintf("g%d", i)}
	}
	return out
}

// TestMembershipStatusAtTheLimits: the largest resolution the status holds is
// written as it is.
func TestMembershipStatusAtTheLimits(t *testing.T) {
	now := metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	for _, res := range []resolve.Result{many(orgrbacv1alpha1.MaxMembershipRoles, 1), many(1, orgrbacv1alpha1.MaxMembershipPermissions)} {
		st := membershipStatus(&orgrbacv1alpha1.MembershipStatus{}, 1, res, now)
		if !meta.IsStatusConditionTrue(st.Conditions, orgrbacv1alpha1.ConditionReady) ||
			len(st.Roles) != len(res.Roles) || len(st.Assignments) != len(res.Roles) || len(st.Permissions) != len(res.Permissions) {
			t.Errorf("%d roles, %d permissions: got Ready %v with %d roles, %d assignments, %d permissions", len(res.Roles), len(res.Permissions),
				meta.IsStatusConditionTrue(st.Conditions, orgrbacv1alpha1.ConditionReady), len(st.Roles), len(st.Assignments), len(st.Permissions))
		}
	}
}
