package controller

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/publish"
	"github.com/orgrbac/orgrbac/internal/resolve"
)

// TestBuildSnapshot covers the choice of members: Active and Ready only, the
// oldest of duplicates, roles still visible, and no deleted Membership.
func TestBuildSnapshot(t *testing.T) {
	at := func(sec int64) metav1.Time { return metav1.NewTime(time.Unix(sec, 0)) }
	env := resolve.Compile(resolve.Input{
		Roles:             []resolve.Role{{Meta: resolve.Meta{Name: "member"}, Slug: "member", Permissions: []string{"b", "a"}}},
		Organizations:     []resolve.Organization{{Meta: resolve.Meta{Name: "acme"}}, {Meta: resolve.Meta{Name: "globex"}}},
		OrganizationRoles: []resolve.OrganizationRole{{Meta: resolve.Meta{Name: "acme-x"}, Organization: "acme", Slug: "org-x", Permissions: []string{"c"}}},
	})
	orgs := []orgrbacv1alpha1.Organization{
		{ObjectMeta: metav1.ObjectMeta{Name: "acme"}, Spec: orgrbacv1alpha1.OrganizationSpec{ExternalID: "org_1"}},
		{ObjectMeta: metav1.ObjectMeta{Name: "globex"}},
	}
	ready := []metav1.Condition{{Type: orgrbacv1alpha1.ConditionReady, Status: metav1.ConditionTrue}}
	member := func(name, org, user string, created int64, state orgrbacv1alpha1.MembershipState, conds []metav1.Condition, roles ...string) orgrbacv1alpha1.Membership {
		return orgrbacv1alpha1.Membership{
			ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: at(created)},
			Spec:       orgrbacv1alpha1.MembershipSpec{Organization: org, User: user, State: state},
			Status:     orgrbacv1alpha1.MembershipStatus{Roles: roles, Conditions: conds},
		}
	}
	deleted := member("acme-gone", "acme", "user_gone", 1, "", ready, "member")
	deleted.DeletionTimestamp = new(at(9))
	members := []orgrbacv1alpha1.Membership{
		member("acme-bob-2", "acme", "user_bob", 5, "", ready, "member"), // a younger duplicate
		member("acme-bob", "acme", "user_bob", 2, "", ready, "org-x", "member"),
		member("acme-erin", "acme", "user_erin", 1, orgrbacv1alpha1.MembershipInactive, ready, "member"),
		member("acme-pat", "acme", "user_pat", 1, orgrbacv1alpha1.MembershipPending, ready, "member"),
		member("acme-nora", "acme", "user_nora", 1, "", []metav1.Condition{{Type: orgrbacv1alpha1.ConditionReady, Status: metav1.ConditionFalse}}, "member"),
		member("acme-old", "acme", "user_old", 1, "", ready, "deleted-role"),
		member("globex-zed", "globex", "user_zed", 1, orgrbacv1alpha1.MembershipActive, ready, "org-x", "member"),
		member("initech-ann", "initech", "user_ann", 1, "", ready, "member"),
		deleted,
	}
	got := buildSnapshot(env, orgs, members)
	want := &publish.Snapshot{
		Roles: []publish.Role{
			{Slug: "member", Type: publish.RoleTypeEnvironment, Permissions: []string{"a", "b"}},
			{Slug: "org-x", Type: publish.RoleTypeOrganization, Organization: "acme", Permissions: []string{"c"}},
		},
		Organizations: []publish.Organization{
			{Name: "acme", ExternalID: "org_1", Members: []publish.Member{{User: "user_bob", Membership: "acme-bob", Roles: []string{"org-x", "member"}}}},
			{Name: "globex", Members: []publish.Member{{User: "user_zed", Membership: "globex-zed", Roles: []string{"member"}}}},
		},
	}
	g := NewWithT(t)
	g.Expect(got).To(Equal(want))
	g.Expect(publish.Validate(publish.Normalize(got))).To(Succeed())
}
