package store

import (
	"reflect"
	"slices"
	"testing"

	"github.com/orgrbac/orgrbac/internal/api/store/storetest"
)

func TestRolesAndOrganizations(t *testing.T) {
	c := buildContent(storetest.Sample())
	slugs := func(rs []*Role) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.slug)
		}
		return out
	}
	if got, want := slugs(c.envRoles), []string{"admin", "editor", "member"}; !slices.Equal(got, want) {
		t.Errorf("environment roles %v, want %v", got, want)
	}
	acme := c.Organization("org_acme")
	if acme == nil || acme != c.Organization("acme") {
		t.Fatalf("acme is not found by both its external id and its name")
	}
	if got, want := slugs(acme.roles), []string{"org-producer", "admin", "editor", "member"}; !slices.Equal(got, want) {
		t.Errorf("acme roles %v, want %v", got, want)
	}
	if got, want := slugs(c.Organization("globex").roles), []string{"admin", "editor", "member"}; !slices.Equal(got, want) {
		t.Errorf("globex roles %v, want %v", got, want)
	}
	var users []string
	for _, m := range c.Holders(acme, "videos:view") {
		users = append(users, m.user)
	}
	if want := []string{"u_alice", "u_bob"}; !slices.Equal(users, want) {
		t.Errorf("holders of videos:view %v, want %v (active and Ready only)", users, want)
	}
}

func TestContentIsDeterministic(t *testing.T) {
	a, b := storetest.Sample(), storetest.Sample()
	slices.Reverse(b.Memberships)
	slices.Reverse(b.Roles)
	slices.Reverse(b.Organizations)
	if !reflect.DeepEqual(dump(buildContent(a)), dump(buildContent(b))) {
		t.Error("the content depends on the order of the cached objects")
	}
	b.Roles[0].Spec.Permissions = append(b.Roles[0].Spec.Permissions, "videos:share")
	if reflect.DeepEqual(dump(buildContent(a)), dump(buildContent(b))) {
		t.Error("a role's new permission does not change the content")
	}
}
