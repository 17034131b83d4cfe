package controller

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/resolve"
)

// TestBuildSnapshotElection: the publisher elects a user's Membership by rule
// R10 (resolve.Prefer), as the decision API does, before asking whether it
// grants: while a younger duplicate is not yet marked, the Ready one answers,
// and an elected Membership that does not grant hides the others.
func TestBuildSnapshotElection(t *testing.T) {
	env := resolve.Compile(resolve.Input{
		Roles:         []resolve.Role{{Meta: resolve.Meta{Name: "member"}, Slug: "member", Permissions: []string{"a"}}},
		Organizations: []resolve.Organization{{Meta: resolve.Meta{Name: "acme"}}},
	})
	orgs := []orgrbacv1alpha1.Organization{{ObjectMeta: metav1.ObjectMeta{Name: "acme"}}}
	cond := func(s metav1.ConditionStatus) []metav1.Condition {
		return []metav1.Condition{{Type: orgrbacv1alpha1.ConditionReady, Status: s}}
	}
	member := func(name string, created int64, state orgrbacv1alpha1.MembershipState, ready metav1.ConditionStatus) orgrbacv1alpha1.Membership {
		return orgrbacv1alpha1.Membership{
			ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(time.Unix(created, 0))},
			Spec:       orgrbacv1alpha1.MembershipSpec{Organization: "acme", User: "user_bob", State: state},
			Status:     orgrbacv1alpha1.MembershipStatus{Roles: []string{"member"}, Conditions: cond(ready)},
		}
	}
	for name, tc := range map[string]struct {
		members []orgrbacv1alpha1.Membership
		want    string // the published membership, "" for none
	}{
		"the oldest of two Ready": {[]orgrbacv1alpha1.Membership{
			member("b", 2, "", metav1.ConditionTrue), member("a", 1, "", metav1.ConditionTrue)}, "a"},
		"the Ready one over an older one not Ready": {[]orgrbacv1alpha1.Membership{
			member("a", 1, "", metav1.ConditionFalse), member("b", 2, "", metav1.ConditionTrue)}, "b"},
		"an elected Inactive one hides a younger Active one": {[]orgrbacv1alpha1.Membership{
			member("a", 1, orgrbacv1alpha1.MembershipInactive, metav1.ConditionTrue), member("b", 2, "", metav1.ConditionTrue)}, ""},
		"none Ready": {[]orgrbacv1alpha1.Membership{
			member("a", 1, "", metav1.ConditionFalse), member("b", 2, "", metav1.ConditionFalse)}, ""},
	} {
		s := buildSnapshot(env, orgs, tc.members)
		got := ""
		for _, m := range s.Organizations[0].Members {
			got += m.Membership
		}
		if got != tc.want {
			t.Errorf("%s: published %q, want %q", name, got, tc.want)
		}
	}
}
