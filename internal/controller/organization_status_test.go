package controller

import (
	"fmt"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/resolve"
)

func TestOrganizationStatus(t *testing.T) {
	ref := func(name string, minutes int, externalID string) resolve.OrganizationRef {
		return resolve.OrganizationRef{Meta: resolve.Meta{Name: name, Created: objMeta(name, minutes).CreationTimestamp.Time}, ExternalID: externalID}
	}
	acme := organizationInputs{self: ref("acme", 5, "org_01")}
	with := func(change func(*organizationInputs)) organizationInputs {
		in := acme
		change(&in)
		return in
	}
	settled := orgrbacv1alpha1.OrganizationStatus{ObservedGeneration: 1,
		Conditions: []metav1.Condition{readyAt(1, tBefore), refsAt(1, tBefore)}}
	// The messages of resolve.OrganizationConflict, written out: the status
	// says them word for word.
	holdsExternalID := `Organization "acme-old" is older and has "org_01" as its externalID, which is this one's externalID: ` +
		"organization names and externalIDs are one key space and the oldest wins; " +
		"this organization answers to no id and grants nothing until you change or remove spec.externalID"
	holdsName := `Organization "initech" is older and has "acme" as its externalID, which is this one's name: ` +
		"organization names and externalIDs are one key space and the oldest wins; " +
		"this organization answers to no id and grants nothing until you recreate this organization under another name"

	tests := map[string]struct {
		old  orgrbacv1alpha1.OrganizationStatus
		gen  int64
		in   organizationInputs
		want orgrbacv1alpha1.OrganizationStatus
	}{
		"first pass: no collision, every reference found": {
			gen: 1, in: acme,
			want: orgrbacv1alpha1.OrganizationStatus{ObservedGeneration: 1,
				Conditions: []metav1.Condition{readyAt(1, tNow), refsAt(1, tNow)}},
		},
		"unchanged inputs give the old status, transition times kept": {
			old: settled, gen: 1, in: acme, want: settled,
		},
		"a new generation moves observedGeneration, not the transition times": {
			old: settled, gen: 2, in: acme,
			want: orgrbacv1alpha1.OrganizationStatus{ObservedGeneration: 2,
				Conditions: []metav1.Condition{readyAt(2, tBefore), refsAt(2, tBefore)}},
		},
		"an older organization with its externalID: Duplicate": {
			old: settled, gen: 1, in: with(func(in *organizationInputs) { in.peers = []resolve.OrganizationRef{ref("acme-old", 1, "org_01")} }),
			want: orgrbacv1alpha1.OrganizationStatus{ObservedGeneration: 1,
				Conditions: []metav1.Condition{notReadyAt(orgrbacv1alpha1.ReasonDuplicate, holdsExternalID, 1, tNow), refsAt(1, tBefore)}},
		},
		"an older organization whose externalID is its name: Duplicate": {
			gen: 1, in: with(func(in *organizationInputs) { in.peers = []resolve.OrganizationRef{ref("initech", 1, "acme")} }),
			want: orgrbacv1alpha1.OrganizationStatus{ObservedGeneration: 1,
				Conditions: []metav1.Condition{notReadyAt(orgrbacv1alpha1.ReasonDuplicate, holdsName, 1, tNow), refsAt(1, tNow)}},
		},
		"a younger organization with its externalID: this one wins": {
			gen: 1, in: with(func(in *organizationInputs) { in.peers = []resolve.OrganizationRef{ref("acme-new", 9, "org_01")} }),
			want: orgrbacv1alpha1.OrganizationStatus{ObservedGeneration: 1,
				Conditions: []metav1.Condition{readyAt(1, tNow), refsAt(1, tNow)}},
		},
		"the older one goes: Ready flips now": {
			old: orgrbacv1alpha1.OrganizationStatus{ObservedGeneration: 1,
				Conditions: []metav1.Condition{notReadyAt(orgrbacv1alpha1.ReasonDuplicate, holdsExternalID, 1, tBefore), refsAt(1, tBefore)}},
			gen: 1, in: acme,
			want: orgrbacv1alpha1.OrganizationStatus{ObservedGeneration: 1,
				Conditions: []metav1.Condition{readyAt(1, tNow), refsAt(1, tBefore)}},
		},
		"a defaultRole naming no role: ReferencesResolved False, Ready still True": {
			old: settled, gen: 1, in: with(func(in *organizationInputs) { in.unknownDefault = "ghost" }),
			want: orgrbacv1alpha1.OrganizationStatus{ObservedGeneration: 1,
				Conditions: []metav1.Condition{readyAt(1, tBefore), refsMissingAt(orgrbacv1alpha1.ReasonUnknownPriorityRoles,
					"defaultRole ghost names no role", 1, tNow)}},
		},
		"rolePriority entries naming no role, with the defaultRole": {
			gen: 1, in: with(func(in *organizationInputs) {
				in.unknownDefault, in.unknownPriority = "ghost", []string{"phantom", "spectre"}
			}),
			want: orgrbacv1alpha1.OrganizationStatus{ObservedGeneration: 1,
				Conditions: []metav1.Condition{readyAt(1, tNow), refsMissingAt(orgrbacv1alpha1.ReasonUnknownPriorityRoles,
					"defaultRole ghost names no role; rolePriority names no role for: phantom, spectre (ignored)", 1, tNow)}},
		},
		"an internal error is replaced, and the conditions of other writers kept": {
			old: orgrbacv1alpha1.OrganizationStatus{ObservedGeneration: 1,
				Conditions: []metav1.Condition{internalErrorAt(1, tBefore), refsAt(1, tBefore), foreignCondition}},
			gen: 1, in: acme,
			want: orgrbacv1alpha1.OrganizationStatus{ObservedGeneration: 1,
				Conditions: []metav1.Condition{readyAt(1, tNow), refsAt(1, tBefore), foreignCondition}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := organizationStatus(tc.old, tc.gen, tc.in, tNow)
			checkBuilt(t, got, tc.want, func(s orgrbacv1alpha1.OrganizationStatus) []metav1.Condition { return s.Conditions },
				func(old orgrbacv1alpha1.OrganizationStatus, now metav1.Time) orgrbacv1alpha1.OrganizationStatus {
					return organizationStatus(old, tc.gen, tc.in, now)
				})
		})
	}
}

// TestOrganizationStatusMessageBound: a rolePriority of 512 roles of 64
// characters naming no role gives a message within the CRD's bound that still
// says how many were left out.
func TestOrganizationStatusMessageBound(t *testing.T) {
	prio := make([]string, 512)
	for i := range prio {
		prio[i] = fmt.Sprintf("%03d%s", i, strings.Repeat("r", 61))
	}
	in := organizationInputs{self: resolve.OrganizationRef{Meta: resolve.Meta{Name: "globex"}}, unknownDefault: strings.Repeat("z", 64), unknownPriority: prio}
	st := organizationStatus(orgrbacv1alpha1.OrganizationStatus{}, 1, in, tNow)
	refs := meta.FindStatusCondition(st.Conditions, orgrbacv1alpha1.ConditionReferencesResolved)
	if refs == nil || refs.Reason != orgrbacv1alpha1.ReasonUnknownPriorityRoles {
		t.Fatalf("ReferencesResolved = %+v", refs)
	}
	if len(refs.Message) > orgrbacv1alpha1.MaxConditionMessage || !strings.Contains(refs.Message, "and 502 more (ignored)") {
		t.Errorf("a message of %d bytes: %q", len(refs.Message), refs.Message)
	}
}
