package v1alpha1

import (
	"slices"
	"strings"
	"testing"
)

func TestUnknown(t *testing.T) {
	known := map[string]bool{"admin": true, "viewer": true}
	for name, tc := range map[string]struct {
		slugs, want []string
	}{
		"all known":                {slugs: []string{"admin", "viewer"}},
		"empty entries ignored":    {slugs: []string{""}},
		"sorted and de-duplicated": {slugs: []string{"zeta", "admin", "alpha", "zeta"}, want: []string{"alpha", "zeta"}},
	} {
		t.Run(name, func(t *testing.T) {
			if got := unknown(tc.slugs, known); !slices.Equal(got, tc.want) {
				t.Errorf("unknown(%q) = %q, want %q", tc.slugs, got, tc.want)
			}
		})
	}
}

func TestQuoteListAndPlural(t *testing.T) {
	for in, want := range map[string]string{
		"":      "",
		"a":     `"a"`,
		"a,b":   `"a" and "b"`,
		"a,b,c": `"a", "b" and "c"`,
	} {
		var items []string
		if in != "" {
			items = strings.Split(in, ",")
		}
		if got := quoteList(items); got != want {
			t.Errorf("quoteList(%q) = %s, want %s", items, got, want)
		}
	}
	if got := plural(1, "mapping maps", "mappings map"); got != "1 mapping maps" {
		t.Errorf("plural(1) = %q", got)
	}
	if got := plural(3, "mapping maps", "mappings map"); got != "3 mappings map" {
		t.Errorf("plural(3) = %q", got)
	}
}

func TestDeleteDeniedMessage(t *testing.T) {
	role := deleteTarget{kind: "Role", resource: "roles", name: "member", namespace: "videos", slug: "member"}
	orgRole := deleteTarget{kind: "OrganizationRole", resource: "organizationroles", name: "acme-producer", namespace: "videos",
		slug: "org-producer", org: "acme"}
	for name, tc := range map[string]struct {
		t       deleteTarget
		users   []string
		bad     string
		want    []string
		notWant string
	}{
		"role used by the environment and an organization": {t: role, users: []string{`Environment "videos"`, `Organization "globex"`},
			want: []string{`Role "member" (slug "member") is the default role of Environment "videos", Organization "globex"`,
				"kubectl annotate roles.orgrbac.dev member -n videos orgrbac.dev/replacement-role=<slug>",
				"an existing Role of this environment"},
			notWant: "Its annotation"},
		"bad replacement named": {t: role, users: []string{`Environment "videos"`}, bad: "nobody",
			want: []string{`Its annotation orgrbac.dev/replacement-role names "nobody", which is not an existing Role of this environment.`}},
		"organization role": {t: orgRole, users: []string{`Organization "acme"`},
			want: []string{`OrganizationRole "acme-producer" (slug "org-producer") is the default role of Organization "acme"`,
				"kubectl annotate organizationroles.orgrbac.dev acme-producer -n videos",
				`an existing Role, or OrganizationRole of organization "acme"`}},
	} {
		t.Run(name, func(t *testing.T) {
			got := deleteDeniedMessage(tc.t, tc.users, tc.bad)
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("message %q lacks %q", got, w)
				}
			}
			if tc.notWant != "" && strings.Contains(got, tc.notWant) {
				t.Errorf("message %q has %q", got, tc.notWant)
			}
		})
	}
}

func TestPreviewWarnings(t *testing.T) {
	role := deleteTarget{kind: "Role", slug: "member"}
	for name, tc := range map[string]struct {
		p    deletePreview
		want []string
	}{
		"unused: no warning": {},
		"everything moves to the replacement": {p: deletePreview{replacement: "viewer", defaultOf: []string{`Environment "videos"`},
			named: 2, byDefault: 1, mappings: 3}, want: []string{
			`deleting Role "member": 2 memberships name it in spec.roles and will get "viewer" instead (recorded in their orgrbac.dev/removed-roles annotation)`,
			`deleting Role "member": 1 membership holds it as default role and will get "viewer", the new default`,
			`deleting Role "member": the default role of Environment "videos" becomes "viewer"`,
			`deleting Role "member": 3 group mappings map groups to it and will be repointed to "viewer"`,
		}},
		"removed without replacement": {p: deletePreview{named: 1, mappings: 1}, want: []string{
			`deleting Role "member": 1 membership names it in spec.roles and will lose it, falling back to their other roles or the default (recorded in their orgrbac.dev/removed-roles annotation)`,
			`deleting Role "member": 1 group mapping maps groups to it and will grant nothing (Ready=False, RoleNotFound) until repointed`,
		}},
		"implicit default with no Environment": {p: deletePreview{replacement: "viewer", defaultOf: []string{"the environment"}, noEnvironment: true},
			want: []string{
				`deleting Role "member": the default role of the environment becomes "viewer"`,
				`no Environment exists to record "viewer" as the default role: create one with spec.defaultRole: viewer, or members relying on the default get none`,
			}},
	} {
		t.Run(name, func(t *testing.T) {
			if got := previewWarnings(role, tc.p); !slices.Equal(got, tc.want) {
				t.Errorf("previewWarnings() =\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}
