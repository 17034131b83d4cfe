package controller

import (
	"fmt"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
)

func TestOrganizationRoleStatus(t *testing.T) {
	orgRole := func(meta metav1.ObjectMeta, slug string) orgrbacv1alpha1.OrganizationRole {
		return orgrbacv1alpha1.OrganizationRole{ObjectMeta: meta, Spec: orgrbacv1alpha1.OrganizationRoleSpec{Organization: "acme", Slug: slug}}
	}
	self := orgRole(objMeta("acme-auditor", 5), "auditor")
	winner := organizationRoleInputs{name: "acme-auditor", organization: "acme", slug: "auditor", permissions: []string{"logs:read"},
		organizationFound: true, siblings: []orgrbacv1alpha1.OrganizationRole{self, orgRole(objMeta("acme-admin", 1), "admin")}, catalog: []orgrbacv1alpha1.Permission{declaring(objMeta("logs:read", 0), "")}}
	with := func(change func(*organizationRoleInputs)) organizationRoleInputs {
		in := winner
		change(&in)
		return in
	}
	duplicateOf := func(older string) string {
		return fmt.Sprintf("OrganizationRole %q has the same slug and is older: it wins, this one grants nothing", older)
	}
	orgMissing := notReadyAt(orgrbacv1alpha1.ReasonOrganizationNotFound, `organization "acme" not found`, 1, tNow)
	settled := orgrbacv1alpha1.OrganizationRoleStatus{ObservedGeneration: 1,
		Conditions: []metav1.Condition{readyAt(1, tBefore), refsAt(1, tBefore)}}

	tests := map[string]struct {
		old  orgrbacv1alpha1.OrganizationRoleStatus
		gen  int64
		in   organizationRoleInputs
		want orgrbacv1alpha1.OrganizationRoleStatus
	}{
		"first pass: the winner is Ready": {
			gen: 1, in: winner,
			want: orgrbacv1alpha1.OrganizationRoleStatus{ObservedGeneration: 1,
				Conditions: []metav1.Condition{readyAt(1, tNow), refsAt(1, tNow)}},
		},
		"unchanged inputs give the old status, transition times kept": {
			old: settled, gen: 1, in: winner, want: settled,
		},
		"a new generation moves observedGeneration, not the transition times": {
			old: settled, gen: 3, in: winner,
			want: orgrbacv1alpha1.OrganizationRoleStatus{ObservedGeneration: 3,
				Conditions: []metav1.Condition{readyAt(3, tBefore), refsAt(3, tBefore)}},
		},
		"an older role of the organization with the slug wins: Duplicate": {
			old: settled, gen: 1, in: with(func(in *organizationRoleInputs) {
				in.siblings = append([]orgrbacv1alpha1.OrganizationRole{orgRole(objMeta("acme-auditor-v1", 2), "auditor")}, in.siblings...)
			}),
			want: orgrbacv1alpha1.OrganizationRoleStatus{ObservedGeneration: 1,
				Conditions: []metav1.Condition{notReadyAt(orgrbacv1alpha1.ReasonDuplicate, duplicateOf("acme-auditor-v1"), 1, tNow), refsAt(1, tBefore)}},
		},
		"an older role being deleted does not win, nor one with another slug": {
			gen: 1, in: with(func(in *organizationRoleInputs) {
				in.siblings = []orgrbacv1alpha1.OrganizationRole{orgRole(goneMeta("acme-auditor-v1", 2), "auditor"), self, orgRole(objMeta("acme-a", 0), "viewer")}
			}),
			want: orgrbacv1alpha1.OrganizationRoleStatus{ObservedGeneration: 1,
				Conditions: []metav1.Condition{readyAt(1, tNow), refsAt(1, tNow)}},
		},
		"equally old: the smaller name wins": {
			gen: 1, in: with(func(in *organizationRoleInputs) {
				in.siblings = []orgrbacv1alpha1.OrganizationRole{self, orgRole(objMeta("acme-aaa", 5), "auditor")}
			}),
			want: orgrbacv1alpha1.OrganizationRoleStatus{ObservedGeneration: 1,
				Conditions: []metav1.Condition{notReadyAt(orgrbacv1alpha1.ReasonDuplicate, duplicateOf("acme-aaa"), 1, tNow), refsAt(1, tNow)}},
		},
		"a missing organization: OrganizationNotFound": {
			old: settled, gen: 1, in: with(func(in *organizationRoleInputs) { in.organizationFound = false }),
			want: orgrbacv1alpha1.OrganizationRoleStatus{ObservedGeneration: 1,
				Conditions: []metav1.Condition{orgMissing, refsAt(1, tBefore)}},
		},
		"a missing organization is said before a duplicate": {
			gen: 1, in: with(func(in *organizationRoleInputs) {
				in.organizationFound = false
				in.siblings = []orgrbacv1alpha1.OrganizationRole{self, orgRole(objMeta("acme-auditor-v1", 2), "auditor")}
			}),
			want: orgrbacv1alpha1.OrganizationRoleStatus{ObservedGeneration: 1,
				Conditions: []metav1.Condition{orgMissing, refsAt(1, tNow)}},
		},
		"the organization comes back: Ready flips now": {
			old: orgrbacv1alpha1.OrganizationRoleStatus{ObservedGeneration: 1,
				Conditions: []metav1.Condition{notReadyAt(orgrbacv1alpha1.ReasonOrganizationNotFound, `organization "acme" not found`, 1, tBefore), refsAt(1, tBefore)}},
			gen: 1, in: winner,
			want: orgrbacv1alpha1.OrganizationRoleStatus{ObservedGeneration: 1,
				Conditions: []metav1.Condition{readyAt(1, tNow), refsAt(1, tBefore)}},
		},
		"undeclared permissions, sorted; one being deleted declares nothing": {
			gen: 1, in: with(func(in *organizationRoleInputs) {
				in.permissions = []string{"logs:read", "logs:write", "audit:export"}
				in.catalog = []orgrbacv1alpha1.Permission{declaring(objMeta("logs:read", 0), ""), declaring(goneMeta("logs:write", 0), "")}
			}),
			want: orgrbacv1alpha1.OrganizationRoleStatus{ObservedGeneration: 1,
				Conditions: []metav1.Condition{readyAt(1, tNow), refsMissingAt(orgrbacv1alpha1.ReasonUndeclaredPermissions,
					"no Permission declares 2 of its permissions: audit:export, logs:write", 1, tNow)}},
		},
		"no catalog: every permission counts as declared": {
			gen: 1, in: with(func(in *organizationRoleInputs) { in.permissions, in.catalog = []string{"anything:goes"}, nil }),
			want: orgrbacv1alpha1.OrganizationRoleStatus{ObservedGeneration: 1,
				Conditions: []metav1.Condition{readyAt(1, tNow), refsAt(1, tNow)}},
		},
		"an internal error is replaced, and the conditions of other writers kept": {
			old: orgrbacv1alpha1.OrganizationRoleStatus{ObservedGeneration: 1,
				Conditions: []metav1.Condition{internalErrorAt(1, tBefore), refsAt(1, tBefore), foreignCondition}},
			gen: 1, in: winner,
			want: orgrbacv1alpha1.OrganizationRoleStatus{ObservedGeneration: 1,
				Conditions: []metav1.Condition{readyAt(1, tNow), refsAt(1, tBefore), foreignCondition}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := organizationRoleStatus(tc.old, tc.gen, tc.in, tNow)
			checkBuilt(t, got, tc.want, func(s orgrbacv1alpha1.OrganizationRoleStatus) []metav1.Condition { return s.Conditions },
				func(old orgrbacv1alpha1.OrganizationRoleStatus, now metav1.Time) orgrbacv1alpha1.OrganizationRoleStatus {
					return organizationRoleStatus(old, tc.gen, tc.in, now)
				})
		})
	}
}

// TestOrganizationRoleStatusMessageBound: an organization name of 253
// characters and 1,024 undeclared permissions give messages within the CRD's
// bound.
func TestOrganizationRoleStatusMessageBound(t *testing.T) {
	perms := make([]string, 1024)
	for i := range perms {
		perms[i] = fmt.Sprintf("%04d%s", i, strings.Repeat("p", 124))
	}
	in := organizationRoleInputs{name: "big", organization: strings.Repeat("o", 253), slug: "big", permissions: perms,
		catalog: []orgrbacv1alpha1.Permission{declaring(objMeta("videos:view", 0), "")}}
	st := organizationRoleStatus(orgrbacv1alpha1.OrganizationRoleStatus{}, 1, in, tNow)
	for _, c := range st.Conditions {
		if len(c.Message) > orgrbacv1alpha1.MaxConditionMessage {
			t.Errorf("%s: a message of %d bytes", c.Type, len(c.Message))
		}
	}
	if r := meta.FindStatusCondition(st.Conditions, orgrbacv1alpha1.ConditionReady); r == nil || r.Reason != orgrbacv1alpha1.ReasonOrganizationNotFound {
		t.Errorf("Ready = %+v", r)
	}
	refs := meta.FindStatusCondition(st.Conditions, orgrbacv1alpha1.ConditionReferencesResolved)
	if refs == nil || !strings.HasPrefix(refs.Message, "no Permission declares 1024 of its permissions") || !strings.HasSuffix(refs.Message, " more bytes)") {
		t.Errorf("ReferencesResolved = %+v", refs)
	}
}
