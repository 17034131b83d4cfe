package controller

import (
	"fmt"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
)

func TestRoleStatus(t *testing.T) {
	roleNamed := func(meta metav1.ObjectMeta, slug string) orgrbacv1alpha1.Role {
		return orgrbacv1alpha1.Role{ObjectMeta: meta, Spec: orgrbacv1alpha1.RoleSpec{Slug: slug}}
	}
	admin := roleNamed(objMeta("admin", 5), "")
	catalog := []orgrbacv1alpha1.Permission{declaring(objMeta("videos.view", 0), "videos:view"), declaring(objMeta("videos:edit", 0), "")}
	winner := roleInputs{name: "admin", slug: "admin", permissions: []string{"videos:view", "videos:edit"},
		sameSlug: []orgrbacv1alpha1.Role{admin}, catalog: catalog}
	with := func(change func(*roleInputs)) roleInputs {
		in := winner
		change(&in)
		return in
	}
	duplicateOf := func(older string) string {
		return fmt.Sprintf("Role %q has the same slug and is older: it wins, this one grants nothing", older)
	}
	settled := orgrbacv1alpha1.RoleStatus{ObservedGeneration: 1, Slug: "admin",
		Conditions: []metav1.Condition{readyAt(1, tBefore), refsAt(1, tBefore)}}

	tests := map[string]struct {
		old  orgrbacv1alpha1.RoleStatus
		gen  int64
		in   roleInputs
		want orgrbacv1alpha1.RoleStatus
	}{
		"first pass: the winner is Ready": {
			gen: 1, in: winner,
			want: orgrbacv1alpha1.RoleStatus{ObservedGeneration: 1, Slug: "admin",
				Conditions: []metav1.Condition{readyAt(1, tNow), refsAt(1, tNow)}},
		},
		"unchanged inputs give the old status, transition times kept": {
			old: settled, gen: 1, in: winner, want: settled,
		},
		"a new generation moves observedGeneration, not the transition times": {
			old: settled, gen: 2, in: winner,
			want: orgrbacv1alpha1.RoleStatus{ObservedGeneration: 2, Slug: "admin",
				Conditions: []metav1.Condition{readyAt(2, tBefore), refsAt(2, tBefore)}},
		},
		"the slug is the effective slug gathered": {
			gen: 1, in: with(func(in *roleInputs) {
				in.slug = "administrator"
				in.sameSlug = []orgrbacv1alpha1.Role{roleNamed(objMeta("admin", 5), "administrator")}
			}),
			want: orgrbacv1alpha1.RoleStatus{ObservedGeneration: 1, Slug: "administrator",
				Conditions: []metav1.Condition{readyAt(1, tNow), refsAt(1, tNow)}},
		},
		"an older role with the slug wins: Duplicate": {
			old: settled, gen: 1, in: with(func(in *roleInputs) {
				in.sameSlug = []orgrbacv1alpha1.Role{admin, roleNamed(objMeta("admin-v1", 2), "admin")}
			}),
			want: orgrbacv1alpha1.RoleStatus{ObservedGeneration: 1, Slug: "admin",
				Conditions: []metav1.Condition{notReadyAt(orgrbacv1alpha1.ReasonDuplicate, duplicateOf("admin-v1"), 1, tNow), refsAt(1, tBefore)}},
		},
		"a younger role with the slug loses: this one wins": {
			gen: 1, in: with(func(in *roleInputs) {
				in.sameSlug = []orgrbacv1alpha1.Role{roleNamed(objMeta("admin-v2", 9), "admin"), admin}
			}),
			want: orgrbacv1alpha1.RoleStatus{ObservedGeneration: 1, Slug: "admin",
				Conditions: []metav1.Condition{readyAt(1, tNow), refsAt(1, tNow)}},
		},
		"an older role being deleted does not win": {
			gen: 1, in: with(func(in *roleInputs) {
				in.sameSlug = []orgrbacv1alpha1.Role{admin, roleNamed(goneMeta("admin-v1", 2), "admin")}
			}),
			want: orgrbacv1alpha1.RoleStatus{ObservedGeneration: 1, Slug: "admin",
				Conditions: []metav1.Condition{readyAt(1, tNow), refsAt(1, tNow)}},
		},
		"equally old: the smaller name wins": {
			gen: 1, in: with(func(in *roleInputs) {
				in.sameSlug = []orgrbacv1alpha1.Role{admin, roleNamed(objMeta("aardvark", 5), "admin")}
			}),
			want: orgrbacv1alpha1.RoleStatus{ObservedGeneration: 1, Slug: "admin",
				Conditions: []metav1.Condition{notReadyAt(orgrbacv1alpha1.ReasonDuplicate, duplicateOf("aardvark"), 1, tNow), refsAt(1, tNow)}},
		},
		"the duplicate becomes the winner when the older one goes: Ready flips now": {
			old: orgrbacv1alpha1.RoleStatus{ObservedGeneration: 1, Slug: "admin",
				Conditions: []metav1.Condition{notReadyAt(orgrbacv1alpha1.ReasonDuplicate, duplicateOf("admin-v1"), 1, tBefore), refsAt(1, tBefore)}},
			gen: 1, in: winner,
			want: orgrbacv1alpha1.RoleStatus{ObservedGeneration: 1, Slug: "admin",
				Conditions: []metav1.Condition{readyAt(1, tNow), refsAt(1, tBefore)}},
		},
		"undeclared permissions, sorted": {
			gen: 1, in: with(func(in *roleInputs) { in.permissions = []string{"zz:ghost", "videos:view", "aa:ghost"} }),
			want: orgrbacv1alpha1.RoleStatus{ObservedGeneration: 1, Slug: "admin",
				Conditions: []metav1.Condition{readyAt(1, tNow), refsMissingAt(orgrbacv1alpha1.ReasonUndeclaredPermissions,
					"no Permission declares 2 of its permissions: aa:ghost, zz:ghost", 1, tNow)}},
		},
		"a Permission declares its slug, not its name, and one being deleted declares nothing": {
			gen: 1, in: with(func(in *roleInputs) {
				in.permissions = []string{"videos.view", "videos:view", "videos:edit"}
				in.catalog = []orgrbacv1alpha1.Permission{declaring(objMeta("videos.view", 0), "videos:view"), declaring(goneMeta("videos:edit", 0), "")}
			}),
			want: orgrbacv1alpha1.RoleStatus{ObservedGeneration: 1, Slug: "admin",
				Conditions: []metav1.Condition{readyAt(1, tNow), refsMissingAt(orgrbacv1alpha1.ReasonUndeclaredPermissions,
					"no Permission declares 2 of its permissions: videos.view, videos:edit", 1, tNow)}},
		},
		"no catalog: every permission counts as declared": {
			gen: 1, in: with(func(in *roleInputs) { in.permissions, in.catalog = []string{"anything:goes"}, nil }),
			want: orgrbacv1alpha1.RoleStatus{ObservedGeneration: 1, Slug: "admin",
				Conditions: []metav1.Condition{readyAt(1, tNow), refsAt(1, tNow)}},
		},
		"a duplicate still reports its undeclared permissions": {
			gen: 1, in: with(func(in *roleInputs) {
				in.sameSlug = []orgrbacv1alpha1.Role{admin, roleNamed(objMeta("admin-v1", 2), "admin")}
				in.permissions = []string{"ghost"}
			}),
			want: orgrbacv1alpha1.RoleStatus{ObservedGeneration: 1, Slug: "admin",
				Conditions: []metav1.Condition{notReadyAt(orgrbacv1alpha1.ReasonDuplicate, duplicateOf("admin-v1"), 1, tNow),
					refsMissingAt(orgrbacv1alpha1.ReasonUndeclaredPermissions, "no Permission declares 1 of its permissions: ghost", 1, tNow)}},
		},
		"an internal error is replaced, and the conditions of other writers kept": {
			old: orgrbacv1alpha1.RoleStatus{ObservedGeneration: 1, Slug: "admin",
				Conditions: []metav1.Condition{internalErrorAt(1, tBefore), refsAt(1, tBefore), foreignCondition}},
			gen: 1, in: winner,
			want: orgrbacv1alpha1.RoleStatus{ObservedGeneration: 1, Slug: "admin",
				Conditions: []metav1.Condition{readyAt(1, tNow), refsAt(1, tBefore), foreignCondition}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := roleStatus(tc.old, tc.gen, tc.in, tNow)
			checkBuilt(t, got, tc.want, func(s orgrbacv1alpha1.RoleStatus) []metav1.Condition { return s.Conditions },
				func(old orgrbacv1alpha1.RoleStatus, now metav1.Time) orgrbacv1alpha1.RoleStatus {
					return roleStatus(old, tc.gen, tc.in, now)
				})
		})
	}
}

// TestRoleStatusMessageBound: 1,024 undeclared permissions of 128 characters
// give a message within the CRD's bound that still says how many.
func TestRoleStatusMessageBound(t *testing.T) {
	perms := make([]string, 1024)
	for i := range perms {
		perms[i] = fmt.Sprintf("%04d%s", i, strings.Repeat("p", 124))
	}
	in := roleInputs{name: "big", slug: "big", permissions: perms,
		catalog: []orgrbacv1alpha1.Permission{declaring(objMeta("videos:view", 0), "")}}
	st := roleStatus(orgrbacv1alpha1.RoleStatus{}, 1, in, tNow)
	refs := meta.FindStatusCondition(st.Conditions, orgrbacv1alpha1.ConditionReferencesResolved)
	if refs == nil || refs.Reason != orgrbacv1alpha1.ReasonUndeclaredPermissions {
		t.Fatalf("ReferencesResolved = %+v", refs)
	}
	if len(refs.Message) > orgrbacv1alpha1.MaxConditionMessage || !strings.HasPrefix(refs.Message, "no Permission declares 1024 of its permissions: 0000") ||
		!strings.HasSuffix(refs.Message, " more bytes)") {
		t.Errorf("a message of %d bytes: %.80q ... %q", len(refs.Message), refs.Message, refs.Message[max(0, len(refs.Message)-40):])
	}
}
