package controller

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
)

func TestPermissionStatus(t *testing.T) {
	self := declaring(objMeta("videos.view", 5), "videos:view")
	winner := permissionInputs{name: "videos.view", slug: "videos:view",
		all: []orgrbacv1alpha1.Permission{self, declaring(objMeta("videos.edit", 1), "videos:edit")}}
	with := func(others ...orgrbacv1alpha1.Permission) permissionInputs {
		in := winner
		in.all = append([]orgrbacv1alpha1.Permission{self}, others...)
		return in
	}
	duplicate := func(older string, gen int64, at metav1.Time) metav1.Condition {
		return notReadyAt(orgrbacv1alpha1.ReasonDuplicate, "Permission \""+older+"\" declares the same slug and is older", gen, at)
	}
	settled := orgrbacv1alpha1.PermissionStatus{ObservedGeneration: 1, Slug: "videos:view", Conditions: []metav1.Condition{readyAt(1, tBefore)}}

	tests := map[string]struct {
		old  orgrbacv1alpha1.PermissionStatus
		gen  int64
		in   permissionInputs
		want orgrbacv1alpha1.PermissionStatus
	}{
		"first pass: the only one declaring its slug": {
			gen: 1, in: winner,
			want: orgrbacv1alpha1.PermissionStatus{ObservedGeneration: 1, Slug: "videos:view", Conditions: []metav1.Condition{readyAt(1, tNow)}},
		},
		"unchanged inputs give the old status, transition time kept": {
			old: settled, gen: 1, in: winner, want: settled,
		},
		"a new generation moves observedGeneration, not the transition time": {
			old: settled, gen: 2, in: winner,
			want: orgrbacv1alpha1.PermissionStatus{ObservedGeneration: 2, Slug: "videos:view", Conditions: []metav1.Condition{readyAt(2, tBefore)}},
		},
		"an older Permission named for the slug wins: Duplicate": {
			old: settled, gen: 1, in: with(declaring(objMeta("videos:view", 2), "")),
			want: orgrbacv1alpha1.PermissionStatus{ObservedGeneration: 1, Slug: "videos:view",
				Conditions: []metav1.Condition{duplicate("videos:view", 1, tNow)}},
		},
		"a younger one loses": {
			gen: 1, in: with(declaring(objMeta("view", 9), "videos:view")),
			want: orgrbacv1alpha1.PermissionStatus{ObservedGeneration: 1, Slug: "videos:view", Conditions: []metav1.Condition{readyAt(1, tNow)}},
		},
		"an older one being deleted does not win": {
			gen: 1, in: with(declaring(goneMeta("view", 1), "videos:view")),
			want: orgrbacv1alpha1.PermissionStatus{ObservedGeneration: 1, Slug: "videos:view", Conditions: []metav1.Condition{readyAt(1, tNow)}},
		},
		"equally old: the smaller name wins": {
			gen: 1, in: with(declaring(objMeta("a-view", 5), "videos:view")),
			want: orgrbacv1alpha1.PermissionStatus{ObservedGeneration: 1, Slug: "videos:view",
				Conditions: []metav1.Condition{duplicate("a-view", 1, tNow)}},
		},
		"the older one goes: Ready flips now": {
			old: orgrbacv1alpha1.PermissionStatus{ObservedGeneration: 1, Slug: "videos:view",
				Conditions: []metav1.Condition{duplicate("videos:view", 1, tBefore)}},
			gen: 1, in: winner,
			want: orgrbacv1alpha1.PermissionStatus{ObservedGeneration: 1, Slug: "videos:view", Conditions: []metav1.Condition{readyAt(1, tNow)}},
		},
		"an internal error is replaced, and the conditions of other writers kept": {
			old: orgrbacv1alpha1.PermissionStatus{ObservedGeneration: 1, Slug: "videos:view",
				Conditions: []metav1.Condition{internalErrorAt(1, tBefore), foreignCondition}},
			gen: 1, in: winner,
			want: orgrbacv1alpha1.PermissionStatus{ObservedGeneration: 1, Slug: "videos:view",
				Conditions: []metav1.Condition{readyAt(1, tNow), foreignCondition}},
		},
		// Names of 253 characters keep the message within the bound.
		"the message bound": {
			gen: 1, in: permissionInputs{name: strings.Repeat("b", 253), slug: "x",
				all: []orgrbacv1alpha1.Permission{declaring(objMeta(strings.Repeat("b", 253), 5), "x"), declaring(objMeta(strings.Repeat("a", 253), 1), "x")}},
			want: orgrbacv1alpha1.PermissionStatus{ObservedGeneration: 1, Slug: "x",
				Conditions: []metav1.Condition{duplicate(strings.Repeat("a", 253), 1, tNow)}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := permissionStatus(tc.old, tc.gen, tc.in, tNow)
			checkBuilt(t, got, tc.want, func(s orgrbacv1alpha1.PermissionStatus) []metav1.Condition { return s.Conditions },
				func(old orgrbacv1alpha1.PermissionStatus, now metav1.Time) orgrbacv1alpha1.PermissionStatus {
					return permissionStatus(old, tc.gen, tc.in, now)
				})
		})
	}
}
