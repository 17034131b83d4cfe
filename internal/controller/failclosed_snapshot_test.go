package controller

import (
	"fmt"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/publish"
	"github.com/orgrbac/orgrbac/internal/resolve"
)

// TestFailClosedMembershipIsNotPublished: a membership whose resolution does not
// fit its status, and which held admin before, is left out of the published
// snapshot (so pkg/authz denies it), as the decision API denies a membership
// that is not Ready.
func TestFailClosedMembershipIsNotPublished(t *testing.T) {
	in := resolve.Input{
		Environments:  []resolve.Environment{{Meta: resolve.Meta{Name: "videos"}, MultipleRoles: true}},
		Roles:         []resolve.Role{{Meta: resolve.Meta{Name: "admin"}, Slug: "admin", Permissions: []string{"settings:manage"}}},
		Organizations: []resolve.Organization{{Meta: resolve.Meta{Name: "acme"}}},
	}
	m := resolve.Membership{Meta: resolve.Meta{Name: "acme-a"}, Organization: "acme", User: "a", Roles: []string{"admin"}}
	for i := range orgrbacv1alpha1.MaxMembershipRoles + 6 {
		slug := fmt.Sprintf("r%02d", i)
		in.Roles = append(in.Roles, resolve.Role{Meta: resolve.Meta{Name: slug}, Slug: slug, Permissions: []string{"p" + slug}})
		in.GroupMappings = append(in.GroupMappings, resolve.GroupMapping{Meta: resolve.Meta{Name: "gm" + slug}, Organization: "acme",
			Source: resolve.SourceDirectory, Group: "g" + slug, Role: slug})
		m.DirectoryGroups = append(m.DirectoryGroups, "g"+slug)
	}
	env := resolve.Compile(in)

	member := orgrbacv1alpha1.Membership{ObjectMeta: metav1.ObjectMeta{Name: "acme-a", Generation: 2},
		Spec: orgrbacv1alpha1.MembershipSpec{Organization: "acme", User: "a", Roles: m.Roles, DirectoryGroups: m.DirectoryGroups}}
	// Before: admin, Ready.
	member.Status = membershipStatus(&member.Status, 1, env.Resolve(resolve.Membership{Meta: m.Meta, Organization: "acme", User: "a",
		Roles: []string{"admin"}}), statusT0)
	before := buildSnapshot(env, []orgrbacv1alpha1.Organization{{ObjectMeta: metav1.ObjectMeta{Name: "acme"}}}, []orgrbacv1alpha1.Membership{member})
	if len(before.Organizations) != 1 || len(before.Organizations[0].Members) != 1 {
		t.Fatalf("before: the admin is not published: %+v", before.Organizations)
	}

	// After: 70 mapped roles.
	member.Status = membershipStatus(&member.Status, 2, env.Resolve(m), statusT0)
	if meta.IsStatusConditionTrue(member.Status.Conditions, orgrbacv1alpha1.ConditionReady) || member.Status.Roles != nil {
		t.Fatalf("not failed closed: %+v", member.Status)
	}
	after := buildSnapshot(env, []orgrbacv1alpha1.Organization{{ObjectMeta: metav1.ObjectMeta{Name: "acme"}}}, []orgrbacv1alpha1.Membership{member})
	for _, o := range after.Organizations {
		if len(o.Members) > 0 {
			t.Errorf("a membership that failed closed is published: %+v", o.Members)
		}
	}
	if err := publish.Validate(publish.Normalize(after)); err != nil {
		t.Error(err)
	}
}
