package chart

import (
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	rbacv1 "k8s.io/api/rbac/v1"
)

// grants reports whether the expanded rules hold verb on resource of group.
func grants(t *testing.T, rules []string, group, resource, verb string) bool {
	t.Helper()
	one := expandRules([]rbacv1.PolicyRule{{APIGroups: []string{group}, Resources: []string{resource}, Verbs: []string{verb}}})
	wildcard := expandRules([]rbacv1.PolicyRule{{APIGroups: []string{group}, Resources: []string{resource}, Verbs: []string{"*"}}})
	return slices.Contains(rules, one[0]) || slices.Contains(rules, wildcard[0])
}

// The decision API's caller roles split checks from reads (docs/decision-api.md):
// orgrbac-api-caller may only check, orgrbac-api-reader only read, and neither
// keeps the old `get permissionchecks`. The aggregated user-facing roles are
// rendered by default, aggregate into admin, edit and view, and go with
// rbac.aggregatedRoles.enabled=false.
func TestDecisionAPIAndAggregatedRoles(t *testing.T) {
	t.Parallel()
	objs, _ := mustRender(t, "")
	rules := func(o objects, name string) []string {
		return expandRules(decode[rbacv1.ClusterRole](t, o.get(t, "ClusterRole", name)).Rules)
	}
	caller, reader := rules(objs, "orgrbac-api-caller"), rules(objs, "orgrbac-api-reader")
	if len(caller) != 1 || !grants(t, caller, "orgrbac.dev", "permissionchecks", "create") {
		t.Errorf("orgrbac-api-caller grants %v; want create permissionchecks only", caller)
	}
	for _, res := range []string{"memberships", "roles", "organizationroles", "organizations"} {
		for _, verb := range []string{"get", "list"} {
			if !grants(t, reader, "orgrbac.dev", res, verb) {
				t.Errorf("orgrbac-api-reader does not grant %s %s", verb, res)
			}
		}
	}
	if grants(t, reader, "orgrbac.dev", "permissionchecks", "create") || grants(t, reader, "orgrbac.dev", "permissionchecks", "get") {
		t.Errorf("orgrbac-api-reader grants checks: %v", reader)
	}

	// The writes and the minting of access tokens are roles of their own, and
	// only the admin mints among the aggregated roles.
	writer, minter := rules(objs, "orgrbac-api-writer"), rules(objs, "orgrbac-api-token-minter")
	if want := expandRules([]rbacv1.PolicyRule{{APIGroups: []string{"orgrbac.dev"}, Resources: []string{"memberships", "organizationroles"},
		Verbs: []string{"create", "update", "delete"}}}); !slices.Equal(slices.Sorted(slices.Values(writer)), slices.Sorted(slices.Values(want))) {
		t.Errorf("orgrbac-api-writer grants %v; want %v", writer, want)
	}
	if len(minter) != 1 || !grants(t, minter, "orgrbac.dev", "accesstokens", "create") {
		t.Errorf("orgrbac-api-token-minter grants %v; want create accesstokens only", minter)
	}
	for name, mints := range map[string]bool{"orgrbac-admin": true, "orgrbac-editor": false, "orgrbac-viewer": false,
		"orgrbac-api-caller": false, "orgrbac-api-reader": false, "orgrbac-api-writer": false} {
		if got := grants(t, rules(objs, name), "orgrbac.dev", "accesstokens", "create"); got != mints {
			t.Errorf("%s mints access tokens: %v; want %v", name, got, mints)
		}
	}

	aggregated := map[string]string{"orgrbac-admin": "admin", "orgrbac-editor": "edit", "orgrbac-viewer": "view"}
	for name, into := range aggregated {
		cr := decode[rbacv1.ClusterRole](t, objs.get(t, "ClusterRole", name))
		if cr.Labels["rbac.authorization.k8s.io/aggregate-to-"+into] != "true" {
			t.Errorf("%s is not aggregated into %s: labels %v", name, into, cr.Labels)
		}
		r := expandRules(cr.Rules)
		for _, want := range [][2]string{{"memberships", "get"}, {"memberships", "list"}, {"roles", "list"},
			{"organizationroles", "get"}, {"memberships/status", "get"}, {"permissionchecks", "create"}} {
			if !grants(t, r, "orgrbac.dev", want[0], want[1]) {
				t.Errorf("%s does not grant %s %s", name, want[1], want[0])
			}
		}
		if grants(t, r, "orgrbac.dev", "memberships/status", "update") {
			t.Errorf("%s lets people write statuses, which belong to the controllers", name)
		}
	}
	if grants(t, rules(objs, "orgrbac-viewer"), "orgrbac.dev", "memberships", "create") {
		t.Error("orgrbac-viewer writes memberships")
	}
	if !grants(t, rules(objs, "orgrbac-editor"), "orgrbac.dev", "groupmappings", "delete") {
		t.Error("orgrbac-editor cannot delete groupmappings")
	}

	off, _ := mustRender(t, "rbac: {aggregatedRoles: {enabled: false}}")
	for name := range aggregated {
		if _, ok := off.find("ClusterRole", name); ok {
			t.Errorf("%s is rendered with rbac.aggregatedRoles.enabled=false", name)
		}
	}
	off.get(t, "ClusterRole", "orgrbac-api-caller")
	off.get(t, "ClusterRole", "orgrbac-api-reader")
}

// The manager's argument --api-token-audience follows decisionAPI.tokenAudience,
// as config/default's; an empty value is passed as such (no audience), and
// whitespace is refused by the schema.
func TestTokenAudienceValue(t *testing.T) {
	t.Parallel()
	args := func(values string) []string {
		objs, _ := mustRender(t, values)
		return managerArgs(t, objs)
	}
	if a := args(""); !slices.Contains(a, "--api-token-audience=orgrbac.dev/decision-api") {
		t.Errorf("default arguments %v lack the default audience", a)
	}
	if a := args("decisionAPI: {tokenAudience: videos.example/orgrbac}"); !slices.Contains(a, "--api-token-audience=videos.example/orgrbac") {
		t.Errorf("arguments %v lack the configured audience", a)
	}
	if a := args(`decisionAPI: {tokenAudience: ""}`); !slices.Contains(a, "--api-token-audience=") {
		t.Errorf("arguments %v lack the empty audience", a)
	}
	if _, _, err := render(t, `decisionAPI: {tokenAudience: "a b"}`); err == nil {
		t.Error("an audience with a space was accepted")
	}
}

// managerArgs are the arguments of the manager's container.
func managerArgs(t *testing.T, objs objects) []string {
	t.Helper()
	var d appsv1.Deployment
	for _, o := range objs.ofKind("Deployment") {
		d = *decode[appsv1.Deployment](t, o)
		if d.Name == "orgrbac-controller-manager" {
			return d.Spec.Template.Spec.Containers[0].Args
		}
	}
	t.Fatal("no Deployment orgrbac-controller-manager")
	return nil
}
