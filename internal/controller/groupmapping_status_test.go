package controller

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
)

func TestGroupMappingStatus(t *testing.T) {
	found := groupMappingInputs{organization: "acme", role: "editor", organizationFound: true, roleFound: true}
	with := func(change func(*groupMappingInputs)) groupMappingInputs {
		in := found
		change(&in)
		return in
	}
	orgMissing := func(gen int64, at metav1.Time) metav1.Condition {
		return notReadyAt(orgrbacv1alpha1.ReasonOrganizationNotFound, `organization "acme" not found`, gen, at)
	}
	roleMissing := notReadyAt(orgrbacv1alpha1.ReasonRoleNotFound,
		`role "editor" is neither a Role of the environment nor an OrganizationRole of "acme": the mapping grants nothing`, 1, tNow)
	settled := orgrbacv1alpha1.GroupMappingStatus{ObservedGeneration: 1, Conditions: []metav1.Condition{readyAt(1, tBefore)}}

	tests := map[string]struct {
		old  orgrbacv1alpha1.GroupMappingStatus
		gen  int64
		in   groupMappingInputs
		want orgrbacv1alpha1.GroupMappingStatus
	}{
		"first pass: organization and role found": {
			gen: 1, in: found,
			want: orgrbacv1alpha1.GroupMappingStatus{ObservedGeneration: 1, Conditions: []metav1.Condition{readyAt(1, tNow)}},
		},
		"unchanged inputs give the old status, transition time kept": {
			old: settled, gen: 1, in: found, want: settled,
		},
		"a new generation moves observedGeneration, not the transition time": {
			old: settled, gen: 4, in: found,
			want: orgrbacv1alpha1.GroupMappingStatus{ObservedGeneration: 4, Conditions: []metav1.Condition{readyAt(4, tBefore)}},
		},
		"a missing organization: OrganizationNotFound": {
			old: settled, gen: 1, in: with(func(in *groupMappingInputs) { in.organizationFound, in.roleFound = false, false }),
			want: orgrbacv1alpha1.GroupMappingStatus{ObservedGeneration: 1, Conditions: []metav1.Condition{orgMissing(1, tNow)}},
		},
		"a missing role: RoleNotFound": {
			old: settled, gen: 1, in: with(func(in *groupMappingInputs) { in.roleFound = false }),
			want: orgrbacv1alpha1.GroupMappingStatus{ObservedGeneration: 1, Conditions: []metav1.Condition{roleMissing}},
		},
		"the organization comes back without the role: the reason changes, Ready stays False since before": {
			old: orgrbacv1alpha1.GroupMappingStatus{ObservedGeneration: 1, Conditions: []metav1.Condition{orgMissing(1, tBefore)}},
			gen: 1, in: with(func(in *groupMappingInputs) { in.roleFound = false }),
			want: orgrbacv1alpha1.GroupMappingStatus{ObservedGeneration: 1, Conditions: []metav1.Condition{
				notReadyAt(roleMissing.Reason, roleMissing.Message, 1, tBefore)}},
		},
		"the role appears: Ready flips now": {
			old: orgrbacv1alpha1.GroupMappingStatus{ObservedGeneration: 1, Conditions: []metav1.Condition{roleMissing}},
			gen: 1, in: found,
			want: orgrbacv1alpha1.GroupMappingStatus{ObservedGeneration: 1, Conditions: []metav1.Condition{readyAt(1, tNow)}},
		},
		"an internal error is replaced, and the conditions of other writers kept": {
			old: orgrbacv1alpha1.GroupMappingStatus{ObservedGeneration: 1,
				Conditions: []metav1.Condition{internalErrorAt(1, tBefore), foreignCondition}},
			gen: 1, in: found,
			want: orgrbacv1alpha1.GroupMappingStatus{ObservedGeneration: 1,
				Conditions: []metav1.Condition{readyAt(1, tNow), foreignCondition}},
		},
		// The longest names the CRD allows keep the message within the bound.
		"the message bound": {
			gen: 1, in: groupMappingInputs{organization: strings.Repeat("o", 253), role: strings.Repeat("r", 253), organizationFound: true},
			want: orgrbacv1alpha1.GroupMappingStatus{ObservedGeneration: 1, Conditions: []metav1.Condition{notReadyAt(orgrbacv1alpha1.ReasonRoleNotFound,
				`role "`+strings.Repeat("r", 253)+`" is neither a Role of the environment nor an OrganizationRole of "`+strings.Repeat("o", 253)+
					`": the mapping grants nothing`, 1, tNow)}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := groupMappingStatus(tc.old, tc.gen, tc.in, tNow)
			checkBuilt(t, got, tc.want, func(s orgrbacv1alpha1.GroupMappingStatus) []metav1.Condition { return s.Conditions },
				func(old orgrbacv1alpha1.GroupMappingStatus, now metav1.Time) orgrbacv1alpha1.GroupMappingStatus {
					return groupMappingStatus(old, tc.gen, tc.in, now)
				})
		})
	}
}
