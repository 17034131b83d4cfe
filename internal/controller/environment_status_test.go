package controller

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
)

var (
	envT0 = metav1.NewTime(time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC))
	envT1 = metav1.NewTime(envT0.Add(time.Hour))
)

// publishedPart is the publisher's part of a status, which environmentStatus keeps.
func publishedPart() orgrbacv1alpha1.EnvironmentStatus {
	return orgrbacv1alpha1.EnvironmentStatus{Revision: 7, PublishedConfigMaps: []string{"orgrbac-permissions"},
		Conditions: []metav1.Condition{{Type: orgrbacv1alpha1.ConditionPublished, Status: metav1.ConditionTrue,
			Reason: orgrbacv1alpha1.ReasonPublished, Message: "revision 7 in 1 ConfigMap(s)", ObservedGeneration: 1, LastTransitionTime: envT0}}}
}

func TestEnvironmentStatus(t *testing.T) {
	type cond struct {
		status metav1.ConditionStatus
		reason string
	}
	for _, tc := range []struct {
		name       string
		in         environmentInputs
		wantCounts [3]int32
		ready      cond
		refs       cond
		message    string // of the False condition, when one is
	}{
		{name: "counts, everything found", in: environmentInputs{roles: 3, organizations: 2, memberships: 40},
			wantCounts: [3]int32{3, 2, 40},
			ready:      cond{metav1.ConditionTrue, orgrbacv1alpha1.ReasonResolved},
			refs:       cond{metav1.ConditionTrue, orgrbacv1alpha1.ReasonAllFound}},
		{name: "a second Environment is a Duplicate, and nothing else is checked",
			in:         environmentInputs{roles: 1, older: "first", unknownDefault: "ghost"},
			wantCounts: [3]int32{1, 0, 0},
			ready:      cond{metav1.ConditionFalse, orgrbacv1alpha1.ReasonDuplicate},
			refs:       cond{metav1.ConditionTrue, orgrbacv1alpha1.ReasonAllFound},
			message:    `Environment "first" is older and holds this namespace's settings; this one is ignored`},
		{name: "an unknown default role", in: environmentInputs{roles: 1, unknownDefault: "ghost"},
			wantCounts: [3]int32{1, 0, 0},
			ready:      cond{metav1.ConditionTrue, orgrbacv1alpha1.ReasonResolved},
			refs:       cond{metav1.ConditionFalse, orgrbacv1alpha1.ReasonUnknownPriorityRoles}},
		{name: "unknown priority roles", in: environmentInputs{roles: 1, unknownPriority: []string{"ghost", "phantom"}},
			wantCounts: [3]int32{1, 0, 0},
			ready:      cond{metav1.ConditionTrue, orgrbacv1alpha1.ReasonResolved},
			refs:       cond{metav1.ConditionFalse, orgrbacv1alpha1.ReasonUnknownPriorityRoles}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			old := publishedPart()
			st := environmentStatus(&old, 4, tc.in, envT0)
			if st.ObservedGeneration != 4 {
				t.Errorf("observedGeneration %d, want 4", st.ObservedGeneration)
			}
			if got := [3]int32{st.Roles, st.Organizations, st.Memberships}; got != tc.wantCounts {
				t.Errorf("counts %v, want %v", got, tc.wantCounts)
			}
			for typ, want := range map[string]cond{orgrbacv1alpha1.ConditionReady: tc.ready, orgrbacv1alpha1.ConditionReferencesResolved: tc.refs} {
				c := meta.FindStatusCondition(st.Conditions, typ)
				if c == nil || c.Status != want.status || c.Reason != want.reason || c.ObservedGeneration != 4 {
					t.Errorf("%s = %+v, want %v", typ, c, want)
					continue
				}
				if c.Status == metav1.ConditionFalse && tc.message != "" && c.Message != tc.message {
					t.Errorf("%s message %q, want %q", typ, c.Message, tc.message)
				}
			}
			if refs := meta.FindStatusCondition(st.Conditions, orgrbacv1alpha1.ConditionReferencesResolved); len(tc.in.unknownPriority) > 0 {
				for _, slug := range tc.in.unknownPriority {
					if !strings.Contains(refs.Message, slug) {
						t.Errorf("ReferencesResolved message %q does not name %s", refs.Message, slug)
					}
				}
			}
			// The publisher's part is old's, untouched.
			if got, want := ownedByPublisher(&st), ownedByPublisher(&old); !equality.Semantic.DeepEqual(got, want) {
				t.Errorf("the publisher's part changed: %+v, want %+v", got, want)
			}

			// Nothing churns: the same input an hour later is the same status,
			// transition times included, so nothing is written.
			again := environmentStatus(&st, 4, tc.in, envT1)
			if !reflect.DeepEqual(again, st) {
				t.Errorf("unchanged input changed the status:\n got %+v\nwant %+v", again, st)
			}
			if environmentStatusWriter.differs(&st, &again) {
				t.Error("the environment controller would write an unchanged status")
			}
		})
	}
}

// A status flip gets a new transition time; a condition that keeps its status
// keeps its time.
func TestEnvironmentStatusTransitions(t *testing.T) {
	old := publishedPart()
	first := environmentStatus(&old, 1, environmentInputs{roles: 1}, envT0)
	dup := environmentStatus(&first, 1, environmentInputs{roles: 1, older: "first"}, envT1)
	if c := meta.FindStatusCondition(dup.Conditions, orgrbacv1alpha1.ConditionReady); !c.LastTransitionTime.Equal(&envT1) {
		t.Errorf("Ready flipped at %v, want %v", c.LastTransitionTime, envT1)
	}
	if c := meta.FindStatusCondition(dup.Conditions, orgrbacv1alpha1.ConditionReferencesResolved); !c.LastTransitionTime.Equal(&envT0) {
		t.Errorf("ReferencesResolved kept True but moved to %v, want %v", c.LastTransitionTime, envT0)
	}
}

// The internal error is Ready Unknown, InternalError; the counts and the
// other conditions keep their values, and a repeat writes nothing.
func TestEnvironmentInternalErrorStatus(t *testing.T) {
	old := publishedPart()
	good := environmentStatus(&old, 2, environmentInputs{roles: 2, organizations: 1, memberships: 3}, envT0)
	st := environmentInternalErrorStatus(&good, 3, envT1)
	ready := meta.FindStatusCondition(st.Conditions, orgrbacv1alpha1.ConditionReady)
	if ready.Status != metav1.ConditionUnknown || ready.Reason != orgrbacv1alpha1.ReasonInternalError ||
		ready.Message != internalErrorMessage || ready.ObservedGeneration != 3 {
		t.Errorf("Ready = %+v", ready)
	}
	if st.ObservedGeneration != 2 || st.Roles != 2 || st.Organizations != 1 || st.Memberships != 3 {
		t.Errorf("the computed fields moved: %+v", st)
	}
	if got, want := ownedByPublisher(&st), ownedByPublisher(&good); !equality.Semantic.DeepEqual(got, want) {
		t.Errorf("the publisher's part changed: %+v", got)
	}
	if repeat := environmentInternalErrorStatus(&st, 3, envT1); environmentStatusWriter.differs(&st, &repeat) {
		t.Error("a repeated internal error would be written again")
	}
}
