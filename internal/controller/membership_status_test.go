package controller

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
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
					Message: "no such role: ghost (Manual), gone (SSO group g); the environment allows one role per membership: " +
						"spec.roles holds 2 roles and only the highest-priority one counts; ignored: editor"}}},
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
