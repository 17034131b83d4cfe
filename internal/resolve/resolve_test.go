/*
Copyright 2026 The orgrbac Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package resolve

import (
	"cmp"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// meta names an object created min minutes after t0.
func meta(name string, min int) Meta {
	return Meta{Name: name, Created: t0.Add(time.Duration(min) * time.Minute)}
}

func role(name string, min int, slug string, perms ...string) Role {
	return Role{Meta: meta(name, min), Slug: slug, Permissions: perms}
}

func orgRole(name string, min int, org, slug string, perms ...string) OrganizationRole {
	return OrganizationRole{Meta: meta(name, min), Organization: org, Slug: slug, Permissions: perms}
}

func mapping(org string, src Source, group, role string) GroupMapping {
	return GroupMapping{Meta: meta(org+"-"+string(src)+"-"+group+"-"+role, 0), Organization: org, Source: src, Group: group, Role: role}
}

// baseInput is the environment most tests start from:
//
//	environment order: admin, editor (rolePriority), then member, viewer (by age)
//	acme order:        org-auditor, org-owner (org roles by age), then the environment order
//	globex order:      org-sales, then the environment order; globex's default is viewer
func baseInput() Input {
	return Input{
		Environments: []Environment{{Meta: meta("env", 0), RolePriority: []string{"admin", "editor"}}},
		Roles: []Role{
			role("role-member", 1, "member", "docs:read"),
			role("role-admin", 2, "admin", "settings:manage", "docs:read", "videos:delete"),
			role("role-editor", 3, "editor", "videos:create", "docs:read"),
			role("role-viewer", 4, "viewer", "videos:view"),
		},
		Organizations: []Organization{
			{Meta: meta("acme", 0)},
			{Meta: meta("globex", 0), DefaultRole: "viewer"},
		},
		OrganizationRoles: []OrganizationRole{
			orgRole("acme-owner", 10, "acme", "org-owner", "billing:manage", "docs:read"),
			orgRole("acme-auditor", 5, "acme", "org-auditor", "audit:read"),
			orgRole("globex-sales", 6, "globex", "org-sales", "crm:read"),
		},
		GroupMappings: []GroupMapping{
			mapping("acme", SourceDirectory, "eng-admins", "admin"),
			mapping("acme", SourceDirectory, "eng", "editor"),
			mapping("acme", SourceDirectory, "eng", "ghost"),
			mapping("acme", SourceDirectory, "a-admins", "admin"),
			mapping("acme", SourceDirectory, "b-admins", "admin"),
			mapping("acme", SourceDirectory, "owners", "org-owner"),
			mapping("acme", SourceSSO, "sso-admins", "admin"),
			mapping("acme", SourceSSO, "sso-viewers", "viewer"),
			mapping("acme", SourceSSO, "sso-ghost", "nope"),
			mapping("acme", SourceSSO, "sso-sales", "org-sales"),
			mapping("globex", SourceDirectory, "eng", "viewer"),
		},
	}
}

// multiple switches the environment to multiple roles.
func multiple(in *Input) { in.Environments[0].MultipleRoles = true }

// reversed returns a deep copy of in with every order-insensitive list reversed.
func reversed(in Input) Input {
	out := Input{
		Environments:      slices.Clone(in.Environments),
		Roles:             slices.Clone(in.Roles),
		Organizations:     slices.Clone(in.Organizations),
		OrganizationRoles: slices.Clone(in.OrganizationRoles),
		GroupMappings:     slices.Clone(in.GroupMappings),
	}
	slices.Reverse(out.Environments)
	slices.Reverse(out.Roles)
	slices.Reverse(out.Organizations)
	slices.Reverse(out.OrganizationRoles)
	slices.Reverse(out.GroupMappings)
	for i := range out.Roles {
		out.Roles[i].Permissions = slices.Clone(out.Roles[i].Permissions)
		slices.Reverse(out.Roles[i].Permissions)
	}
	for i := range out.OrganizationRoles {
		out.OrganizationRoles[i].Permissions = slices.Clone(out.OrganizationRoles[i].Permissions)
		slices.Reverse(out.OrganizationRoles[i].Permissions)
	}
	return out
}

func reversedMembership(m Membership) Membership {
	for _, s := range []*[]string{&m.Roles, &m.DirectoryGroups, &m.SSOGroups} {
		*s = slices.Clone(*s)
		slices.Reverse(*s)
	}
	return m
}

func TestResolve(t *testing.T) {
	cases := map[string]struct {
		// edit changes baseInput for the case; nil keeps it.
		edit func(*Input)
		// m is the membership to resolve; Organization defaults to "acme".
		m Membership
		// want is the expected Result; its Message is checked only when set.
		want Result
	}{
		// Rule 2 and 4: no source, so the default role.
		"no source: default member": {
			want: Result{Ready: true, Reason: ReasonResolved, Role: "member", Roles: []string{"member"}, Source: SourceDefault,
				Assignments: []Assignment{{Role: "member", Source: SourceDefault}}, Permissions: []string{"docs:read"}, Active: true,
				Message: `role "member" from Default`},
		},
		"unmapped groups: default": {
			m: Membership{DirectoryGroups: []string{"unknown-group"}, SSOGroups: []string{"nobody"}},
			want: Result{Ready: true, Reason: ReasonResolved, Role: "member", Roles: []string{"member"}, Source: SourceDefault,
				Assignments: []Assignment{{Role: "member", Source: SourceDefault}}, Permissions: []string{"docs:read"}, Active: true},
		},
		// Rule 3 and 4: each source alone and every combination.
		"D: directory only": {
			m: Membership{DirectoryGroups: []string{"eng-admins"}},
			want: Result{Ready: true, Reason: ReasonResolved, Role: "admin", Roles: []string{"admin"}, Source: SourceDirectory,
				Assignments: []Assignment{{Role: "admin", Source: SourceDirectory, Group: "eng-admins"}},
				Permissions: []string{"docs:read", "settings:manage", "videos:delete"}, Active: true,
				Message: `role "admin" from Directory`},
		},
		"S: sso only": {
			m: Membership{SSOGroups: []string{"sso-viewers"}},
			want: Result{Ready: true, Reason: ReasonResolved, Role: "viewer", Roles: []string{"viewer"}, Source: SourceSSO,
				Assignments: []Assignment{{Role: "viewer", Source: SourceSSO, Group: "sso-viewers"}},
				Permissions: []string{"videos:view"}, Active: true},
		},
		"M: manual only": {
			m: Membership{Roles: []string{"editor"}},
			want: Result{Ready: true, Reason: ReasonResolved, Role: "editor", Roles: []string{"editor"}, Source: SourceManual,
				Assignments: []Assignment{{Role: "editor", Source: SourceManual}},
				Permissions: []string{"docs:read", "videos:create"}, Active: true},
		},
		"D+S: directory wins": {
			m: Membership{DirectoryGroups: []string{"eng-admins"}, SSOGroups: []string{"sso-viewers"}},
			want: Result{Ready: true, Reason: ReasonResolved, Role: "admin", Roles: []string{"admin"}, Source: SourceDirectory,
				Assignments: []Assignment{{Role: "admin", Source: SourceDirectory, Group: "eng-admins"}},
				Permissions: []string{"docs:read", "settings:manage", "videos:delete"}, Active: true},
		},
		"D+M: directory wins over a higher-priority manual role": {
			m: Membership{DirectoryGroups: []string{"eng"}, Roles: []string{"admin"}},
			want: Result{Ready: true, Reason: ReasonResolved, Role: "editor", Roles: []string{"editor"}, Source: SourceDirectory,
				Assignments: []Assignment{{Role: "editor", Source: SourceDirectory, Group: "eng"}},
				Permissions: []string{"docs:read", "videos:create"},
				Dropped:     []Dropped{{Role: "ghost", Source: SourceDirectory, Group: "eng"}}, Active: true,
				Message: `role "editor" from Directory; RoleNotFound: "ghost" (Directory group "eng")`},
		},
		"S+M: sso wins": {
			m: Membership{SSOGroups: []string{"sso-viewers"}, Roles: []string{"admin"}},
			want: Result{Ready: true, Reason: ReasonResolved, Role: "viewer", Roles: []string{"viewer"}, Source: SourceSSO,
				Assignments: []Assignment{{Role: "viewer", Source: SourceSSO, Group: "sso-viewers"}},
				Permissions: []string{"videos:view"}, Active: true},
		},
		"D+S+M: directory wins": {
			m: Membership{DirectoryGroups: []string{"owners"}, SSOGroups: []string{"sso-admins"}, Roles: []string{"admin"}},
			want: Result{Ready: true, Reason: ReasonResolved, Role: "org-owner", Roles: []string{"org-owner"}, Source: SourceDirectory,
				Assignments: []Assignment{{Role: "org-owner", Source: SourceDirectory, Group: "owners"}},
				Permissions: []string{"billing:manage", "docs:read"}, Active: true},
		},
		"D+S+M multiple roles: only the chosen source, never a union": {
			edit: multiple,
			m:    Membership{DirectoryGroups: []string{"owners"}, SSOGroups: []string{"sso-admins"}, Roles: []string{"admin", "viewer"}},
			want: Result{Ready: true, Reason: ReasonResolved, Role: "org-owner", Roles: []string{"org-owner"}, Source: SourceDirectory,
				Assignments: []Assignment{{Role: "org-owner", Source: SourceDirectory, Group: "owners"}},
				Permissions: []string{"billing:manage", "docs:read"}, Active: true},
		},
		// Rule 5: single vs multiple roles.
		"single role: highest-priority mapped role only": {
			m: Membership{DirectoryGroups: []string{"eng", "eng-admins"}},
			want: Result{Ready: true, Reason: ReasonResolved, Role: "admin", Roles: []string{"admin"}, Source: SourceDirectory,
				Assignments: []Assignment{{Role: "admin", Source: SourceDirectory, Group: "eng-admins"}},
				Permissions: []string{"docs:read", "settings:manage", "videos:delete"},
				Dropped:     []Dropped{{Role: "ghost", Source: SourceDirectory, Group: "eng"}}, Active: true},
		},
		"multiple roles: every mapped role, union of permissions": {
			edit: multiple,
			m:    Membership{DirectoryGroups: []string{"eng", "eng-admins"}},
			want: Result{Ready: true, Reason: ReasonResolved, Role: "admin", Roles: []string{"admin", "editor"}, Source: SourceDirectory,
				Assignments: []Assignment{{Role: "admin", Source: SourceDirectory, Group: "eng-admins"}, {Role: "editor", Source: SourceDirectory, Group: "eng"}},
				Permissions: []string{"docs:read", "settings:manage", "videos:create", "videos:delete"},
				Dropped:     []Dropped{{Role: "ghost", Source: SourceDirectory, Group: "eng"}}, Active: true,
				Message: `roles "admin", "editor" from Directory; RoleNotFound: "ghost" (Directory group "eng")`},
		},
		"multiple roles: manual roles unique, in priority order": {
			edit: multiple,
			m:    Membership{Roles: []string{"viewer", "editor", "viewer", "org-owner"}},
			want: Result{Ready: true, Reason: ReasonResolved, Role: "org-owner", Roles: []string{"org-owner", "editor", "viewer"}, Source: SourceManual,
				Assignments: []Assignment{{Role: "org-owner", Source: SourceManual}, {Role: "editor", Source: SourceManual}, {Role: "viewer", Source: SourceManual}},
				Permissions: []string{"billing:manage", "docs:read", "videos:create", "videos:view"}, Active: true},
		},
		"multiple roles: sso roles": {
			edit: multiple,
			m:    Membership{SSOGroups: []string{"sso-viewers", "sso-admins"}},
			want: Result{Ready: true, Reason: ReasonResolved, Role: "admin", Roles: []string{"admin", "viewer"}, Source: SourceSSO,
				Assignments: []Assignment{{Role: "admin", Source: SourceSSO, Group: "sso-admins"}, {Role: "viewer", Source: SourceSSO, Group: "sso-viewers"}},
				Permissions: []string{"docs:read", "settings:manage", "videos:delete", "videos:view"}, Active: true},
		},
		"TooManyRoles: single role keeps the highest, reports the rest": {
			m: Membership{Roles: []string{"viewer", "editor", "admin"}},
			want: Result{Ready: true, Reason: ReasonResolved, Role: "admin", Roles: []string{"admin"}, Source: SourceManual,
				Assignments: []Assignment{{Role: "admin", Source: SourceManual}},
				Permissions: []string{"docs:read", "settings:manage", "videos:delete"},
				Extra:       []string{"editor", "viewer"}, Active: true,
				Message: `role "admin" from Manual; TooManyRoles: single-role environment, ignored "editor", "viewer"`},
		},
		"TooManyRoles: reported even when directory is chosen": {
			m: Membership{DirectoryGroups: []string{"eng-admins"}, Roles: []string{"viewer", "member"}},
			want: Result{Ready: true, Reason: ReasonResolved, Role: "admin", Roles: []string{"admin"}, Source: SourceDirectory,
				Assignments: []Assignment{{Role: "admin", Source: SourceDirectory, Group: "eng-admins"}},
				Permissions: []string{"docs:read", "settings:manage", "videos:delete"},
				Extra:       []string{"viewer"}, Active: true},
		},
		"TooManyRoles: a repeated slug and unknown slugs do not count": {
			m: Membership{Roles: []string{"editor", "editor", "", "ghost"}},
			want: Result{Ready: true, Reason: ReasonResolved, Role: "editor", Roles: []string{"editor"}, Source: SourceManual,
				Assignments: []Assignment{{Role: "editor", Source: SourceManual}},
				Permissions: []string{"docs:read", "videos:create"},
				Dropped:     []Dropped{{Role: "ghost", Source: SourceManual}}, Active: true},
		},
		"multiple roles: no TooManyRoles": {
			edit: multiple,
			m:    Membership{Roles: []string{"viewer", "member"}},
			want: Result{Ready: true, Reason: ReasonResolved, Role: "member", Roles: []string{"member", "viewer"}, Source: SourceManual,
				Assignments: []Assignment{{Role: "member", Source: SourceManual}, {Role: "viewer", Source: SourceManual}},
				Permissions: []string{"docs:read", "videos:view"}, Active: true},
		},
		// Rule 3: RoleNotFound from each source.
		"RoleNotFound: manual only, falls back to the default": {
			m: Membership{Roles: []string{"ghost", ""}},
			want: Result{Ready: true, Reason: ReasonResolved, Role: "member", Roles: []string{"member"}, Source: SourceDefault,
				Assignments: []Assignment{{Role: "member", Source: SourceDefault}}, Permissions: []string{"docs:read"},
				Dropped: []Dropped{{Role: "ghost", Source: SourceManual}}, Active: true,
				Message: `role "member" from Default; RoleNotFound: "ghost" (Manual)`},
		},
		"RoleNotFound: sso only, falls back to manual": {
			m: Membership{SSOGroups: []string{"sso-ghost"}, Roles: []string{"viewer"}},
			want: Result{Ready: true, Reason: ReasonResolved, Role: "viewer", Roles: []string{"viewer"}, Source: SourceManual,
				Assignments: []Assignment{{Role: "viewer", Source: SourceManual}}, Permissions: []string{"videos:view"},
				Dropped: []Dropped{{Role: "nope", Source: SourceSSO, Group: "sso-ghost"}}, Active: true},
		},
		"RoleNotFound: directory only, falls back to sso": {
			edit: func(in *Input) {
				in.GroupMappings = append(in.GroupMappings, mapping("acme", SourceDirectory, "stale", "retired"))
			},
			m: Membership{DirectoryGroups: []string{"stale"}, SSOGroups: []string{"sso-viewers"}},
			want: Result{Ready: true, Reason: ReasonResolved, Role: "viewer", Roles: []string{"viewer"}, Source: SourceSSO,
				Assignments: []Assignment{{Role: "viewer", Source: SourceSSO, Group: "sso-viewers"}}, Permissions: []string{"videos:view"},
				Dropped: []Dropped{{Role: "retired", Source: SourceDirectory, Group: "stale"}}, Active: true},
		},
		"RoleNotFound: every source reported, sorted by source, group, role": {
			m: Membership{DirectoryGroups: []string{"eng"}, SSOGroups: []string{"sso-sales", "sso-ghost"}, Roles: []string{"zzz", "ghost", "zzz"}},
			want: Result{Ready: true, Reason: ReasonResolved, Role: "editor", Roles: []string{"editor"}, Source: SourceDirectory,
				Assignments: []Assignment{{Role: "editor", Source: SourceDirectory, Group: "eng"}},
				Permissions: []string{"docs:read", "videos:create"},
				Dropped: []Dropped{
					{Role: "ghost", Source: SourceDirectory, Group: "eng"},
					{Role: "ghost", Source: SourceManual},
					{Role: "zzz", Source: SourceManual},
					{Role: "nope", Source: SourceSSO, Group: "sso-ghost"},
					{Role: "org-sales", Source: SourceSSO, Group: "sso-sales"},
				}, Active: true},
		},
		"organization roles of another organization are not visible": {
			m: Membership{Roles: []string{"org-sales"}},
			want: Result{Ready: true, Reason: ReasonResolved, Role: "member", Roles: []string{"member"}, Source: SourceDefault,
				Assignments: []Assignment{{Role: "member", Source: SourceDefault}}, Permissions: []string{"docs:read"},
				Dropped: []Dropped{{Role: "org-sales", Source: SourceManual}}, Active: true},
		},
		"organization roles are visible to their own organization": {
			m: Membership{Organization: "globex", Roles: []string{"org-sales"}},
			want: Result{Ready: true, Reason: ReasonResolved, Role: "org-sales", Roles: []string{"org-sales"}, Source: SourceManual,
				Assignments: []Assignment{{Role: "org-sales", Source: SourceManual}}, Permissions: []string{"crm:read"}, Active: true},
		},
		"group mappings of another organization do not apply": {
			m: Membership{Organization: "globex", DirectoryGroups: []string{"eng-admins"}, Roles: []string{"org-owner"}},
			want: Result{Ready: true, Reason: ReasonResolved, Role: "viewer", Roles: []string{"viewer"}, Source: SourceDefault,
				Assignments: []Assignment{{Role: "viewer", Source: SourceDefault}}, Permissions: []string{"videos:view"},
				Dropped: []Dropped{{Role: "org-owner", Source: SourceManual}}, Active: true},
		},
		"two groups mapping one role: the first group in sorted order": {
			m: Membership{DirectoryGroups: []string{"b-admins", "eng-admins", "a-admins"}},
			want: Result{Ready: true, Reason: ReasonResolved, Role: "admin", Roles: []string{"admin"}, Source: SourceDirectory,
				Assignments: []Assignment{{Role: "admin", Source: SourceDirectory, Group: "a-admins"}},
				Permissions: []string{"docs:read", "settings:manage", "videos:delete"}, Active: true},
		},
		"repeated groups and repeated mappings count once": {
			edit: func(in *Input) {
				in.GroupMappings = append(in.GroupMappings, mapping("acme", SourceDirectory, "eng-admins", "admin"))
			},
			m: Membership{DirectoryGroups: []string{"eng-admins", "eng-admins", ""}},
			want: Result{Ready: true, Reason: ReasonResolved, Role: "admin", Roles: []string{"admin"}, Source: SourceDirectory,
				Assignments: []Assignment{{Role: "admin", Source: SourceDirectory, Group: "eng-admins"}},
				Permissions: []string{"docs:read", "settings:manage", "videos:delete"}, Active: true},
		},
		"a mapping with an unknown source is ignored": {
			edit: func(in *Input) {
				in.GroupMappings = append(in.GroupMappings, mapping("acme", "LDAP", "eng-admins", "admin"),
					mapping("acme", SourceManual, "eng-admins", "admin"))
			},
			m: Membership{Roles: []string{"viewer"}, SSOGroups: []string{"eng-admins"}},
			want: Result{Ready: true, Reason: ReasonResolved, Role: "viewer", Roles: []string{"viewer"}, Source: SourceManual,
				Assignments: []Assignment{{Role: "viewer", Source: SourceManual}}, Permissions: []string{"videos:view"}, Active: true},
		},
		"messages quote junk slugs and bound long lists": {
			m: Membership{Roles: []string{"a\"b", "\tz", "g0", "g1", "g2", "g3", "g4", "g5", "g6", "g7", "g8", "g9"}},
			want: Result{Ready: true, Reason: ReasonResolved, Role: "member", Roles: []string{"member"}, Source: SourceDefault,
				Assignments: []Assignment{{Role: "member", Source: SourceDefault}}, Permissions: []string{"docs:read"},
				Dropped: []Dropped{
					{Role: "\tz", Source: SourceManual}, {Role: "a\"b", Source: SourceManual}, {Role: "g0", Source: SourceManual},
					{Role: "g1", Source: SourceManual}, {Role: "g2", Source: SourceManual}, {Role: "g3", Source: SourceManual},
					{Role: "g4", Source: SourceManual}, {Role: "g5", Source: SourceManual}, {Role: "g6", Source: SourceManual},
					{Role: "g7", Source: SourceManual}, {Role: "g8", Source: SourceManual}, {Role: "g9", Source: SourceManual},
				}, Active: true,
				Message: `role "member" from Default; RoleNotFound: "\tz" (Manual), "a\"b" (Manual), "g0" (Manual), "g1" (Manual), ` +
					`"g2" (Manual), "g3" (Manual), "g4" (Manual), "g5" (Manual), "g6" (Manual), "g7" (Manual) and 2 more`},
		},
		// Rule 7: not active.
		"Inactive: roles kept, no permissions": {
			m: Membership{Roles: []string{"admin"}, State: StateInactive},
			want: Result{Ready: true, Reason: ReasonResolved, Role: "admin", Roles: []string{"admin"}, Source: SourceManual,
				Assignments: []Assignment{{Role: "admin", Source: SourceManual}},
				Message:     `role "admin" from Manual; state "Inactive" is not active: no permissions`},
		},
		"Pending: roles kept, no permissions": {
			m: Membership{DirectoryGroups: []string{"eng-admins"}, State: StatePending},
			want: Result{Ready: true, Reason: ReasonResolved, Role: "admin", Roles: []string{"admin"}, Source: SourceDirectory,
				Assignments: []Assignment{{Role: "admin", Source: SourceDirectory, Group: "eng-admins"}}},
		},
		"an unknown state fails closed": {
			m: Membership{Roles: []string{"admin"}, State: "Suspended"},
			want: Result{Ready: true, Reason: ReasonResolved, Role: "admin", Roles: []string{"admin"}, Source: SourceManual,
				Assignments: []Assignment{{Role: "admin", Source: SourceManual}}},
		},
		"explicit Active": {
			m: Membership{Roles: []string{"viewer"}, State: StateActive},
			want: Result{Ready: true, Reason: ReasonResolved, Role: "viewer", Roles: []string{"viewer"}, Source: SourceManual,
				Assignments: []Assignment{{Role: "viewer", Source: SourceManual}}, Permissions: []string{"videos:view"}, Active: true},
		},
		"OrganizationNotFound": {
			m:    Membership{Organization: "initech", Roles: []string{"admin"}, DirectoryGroups: []string{"eng-admins"}},
			want: Result{Reason: ReasonOrganizationNotFound, Active: true, Message: `organization "initech" not found`},
		},
		"OrganizationNotFound, inactive": {
			m:    Membership{Organization: "initech", State: StateInactive},
			want: Result{Reason: ReasonOrganizationNotFound},
		},
		// Rule 2: defaults.
		"default: organization defaultRole": {
			m: Membership{Organization: "globex"},
			want: Result{Ready: true, Reason: ReasonResolved, Role: "viewer", Roles: []string{"viewer"}, Source: SourceDefault,
				Assignments: []Assignment{{Role: "viewer", Source: SourceDefault}}, Permissions: []string{"videos:view"}, Active: true},
		},
		"default: environment defaultRole": {
			edit: func(in *Input) { in.Environments[0].DefaultRole = "editor" },
			want: Result{Ready: true, Reason: ReasonResolved, Role: "editor", Roles: []string{"editor"}, Source: SourceDefault,
				Assignments: []Assignment{{Role: "editor", Source: SourceDefault}}, Permissions: []string{"docs:read", "videos:create"}, Active: true},
		},
		"default: organization beats environment": {
			edit: func(in *Input) { in.Environments[0].DefaultRole = "editor" },
			m:    Membership{Organization: "globex"},
			want: Result{Ready: true, Reason: ReasonResolved, Role: "viewer", Roles: []string{"viewer"}, Source: SourceDefault,
				Assignments: []Assignment{{Role: "viewer", Source: SourceDefault}}, Permissions: []string{"videos:view"}, Active: true},
		},
		"default: unknown organization defaultRole falls through to the environment's": {
			edit: func(in *Input) {
				in.Environments[0].DefaultRole = "editor"
				in.Organizations[1].DefaultRole = "ghost"
			},
			m: Membership{Organization: "globex"},
			want: Result{Ready: true, Reason: ReasonResolved, Role: "editor", Roles: []string{"editor"}, Source: SourceDefault,
				Assignments: []Assignment{{Role: "editor", Source: SourceDefault}}, Permissions: []string{"docs:read", "videos:create"}, Active: true},
		},
		"default: unknown environment defaultRole falls through to member": {
			edit: func(in *Input) { in.Environments[0].DefaultRole = "ghost" },
			want: Result{Ready: true, Reason: ReasonResolved, Role: "member", Roles: []string{"member"}, Source: SourceDefault,
				Assignments: []Assignment{{Role: "member", Source: SourceDefault}}, Permissions: []string{"docs:read"}, Active: true},
		},
		"default: an organization role of the organization": {
			edit: func(in *Input) { in.Organizations[0].DefaultRole = "org-auditor" },
			want: Result{Ready: true, Reason: ReasonResolved, Role: "org-auditor", Roles: []string{"org-auditor"}, Source: SourceDefault,
				Assignments: []Assignment{{Role: "org-auditor", Source: SourceDefault}}, Permissions: []string{"audit:read"}, Active: true},
		},
		"default: another organization's role falls through": {
			edit: func(in *Input) { in.Organizations[0].DefaultRole = "org-sales" },
			want: Result{Ready: true, Reason: ReasonResolved, Role: "member", Roles: []string{"member"}, Source: SourceDefault,
				Assignments: []Assignment{{Role: "member", Source: SourceDefault}}, Permissions: []string{"docs:read"}, Active: true},
		},
		"default: no Environment object, member still applies": {
			edit: func(in *Input) { in.Environments = nil },
			want: Result{Ready: true, Reason: ReasonResolved, Role: "member", Roles: []string{"member"}, Source: SourceDefault,
				Assignments: []Assignment{{Role: "member", Source: SourceDefault}}, Permissions: []string{"docs:read"}, Active: true},
		},
		"DefaultRoleMissing: fail closed": {
			edit: func(in *Input) {
				in.Roles = slices.DeleteFunc(in.Roles, func(r Role) bool { return r.Slug == "member" })
				in.Environments[0].DefaultRole = "gone"
				in.Organizations[0].DefaultRole = "also-gone"
			},
			m: Membership{Roles: []string{"ghost"}},
			want: Result{Reason: ReasonDefaultRoleMissing, Dropped: []Dropped{{Role: "ghost", Source: SourceManual}}, Active: true,
				Message: `no role from Directory, SSO or Manual and no default role; organization defaultRole "also-gone" names no role; ` +
					`environment defaultRole "gone" names no role; no Role "member"; RoleNotFound: "ghost" (Manual)`},
		},
		"DefaultRoleMissing: no Environment and no member": {
			edit: func(in *Input) {
				in.Environments = nil
				in.Roles = slices.DeleteFunc(in.Roles, func(r Role) bool { return r.Slug == "member" })
			},
			m:    Membership{State: StatePending},
			want: Result{Reason: ReasonDefaultRoleMissing, Message: `no role from Directory, SSO or Manual and no default role; no Role "member"`},
		},
		"DefaultRoleMissing does not matter when a source has a role": {
			edit: func(in *Input) {
				in.Roles = slices.DeleteFunc(in.Roles, func(r Role) bool { return r.Slug == "member" })
			},
			m: Membership{Roles: []string{"editor"}},
			want: Result{Ready: true, Reason: ReasonResolved, Role: "editor", Roles: []string{"editor"}, Source: SourceManual,
				Assignments: []Assignment{{Role: "editor", Source: SourceManual}}, Permissions: []string{"docs:read", "videos:create"}, Active: true},
		},
		// Rule 1: order.
		"organization rolePriority orders the chosen roles": {
			edit: func(in *Input) {
				multiple(in)
				in.Organizations[0].RolePriority = []string{"viewer", "ghost", "org-owner"}
			},
			m: Membership{Roles: []string{"admin", "viewer", "org-owner", "org-auditor"}},
			want: Result{Ready: true, Reason: ReasonResolved, Role: "viewer", Roles: []string{"viewer", "org-owner", "org-auditor", "admin"}, Source: SourceManual,
				Assignments: []Assignment{{Role: "viewer", Source: SourceManual}, {Role: "org-owner", Source: SourceManual},
					{Role: "org-auditor", Source: SourceManual}, {Role: "admin", Source: SourceManual}},
				Permissions: []string{"audit:read", "billing:manage", "docs:read", "settings:manage", "videos:delete", "videos:view"}, Active: true},
		},
		"single role: organization rolePriority picks the kept role": {
			edit: func(in *Input) { in.Organizations[0].RolePriority = []string{"viewer"} },
			m:    Membership{Roles: []string{"admin", "viewer"}},
			want: Result{Ready: true, Reason: ReasonResolved, Role: "viewer", Roles: []string{"viewer"}, Source: SourceManual,
				Assignments: []Assignment{{Role: "viewer", Source: SourceManual}}, Permissions: []string{"videos:view"},
				Extra: []string{"admin"}, Active: true},
		},
		"organization without own roles uses the environment order": {
			edit: func(in *Input) { in.Environments[0].RolePriority = []string{"viewer"} },
			m:    Membership{Organization: "globex", Roles: []string{"admin", "viewer"}},
			want: Result{Ready: true, Reason: ReasonResolved, Role: "viewer", Roles: []string{"viewer"}, Source: SourceManual,
				Assignments: []Assignment{{Role: "viewer", Source: SourceManual}}, Permissions: []string{"videos:view"},
				Extra: []string{"admin"}, Active: true},
		},
		// Rule 6: permissions are a set, matched literally.
		"permissions: a set, empty slugs dropped, * literal": {
			edit: func(in *Input) {
				multiple(in)
				in.Roles = append(in.Roles, role("role-wild", 7, "wild", "videos:*", "b", "a", "a", ""), role("role-empty", 8, "empty"))
			},
			m: Membership{Roles: []string{"wild", "viewer", "empty"}},
			want: Result{Ready: true, Reason: ReasonResolved, Role: "viewer", Roles: []string{"viewer", "wild", "empty"}, Source: SourceManual,
				Assignments: []Assignment{{Role: "viewer", Source: SourceManual}, {Role: "wild", Source: SourceManual}, {Role: "empty", Source: SourceManual}},
				Permissions: []string{"a", "b", "videos:*", "videos:view"}, Active: true},
		},
		"permissions: a role without permissions grants none": {
			edit: func(in *Input) { in.Roles = append(in.Roles, role("role-empty", 8, "empty")) },
			m:    Membership{Roles: []string{"empty"}},
			want: Result{Ready: true, Reason: ReasonResolved, Role: "empty", Roles: []string{"empty"}, Source: SourceManual,
				Assignments: []Assignment{{Role: "empty", Source: SourceManual}}, Active: true},
		},
		// Rule 8: duplicates.
		"duplicate Role: the oldest wins": {
			edit: func(in *Input) { in.Roles = append(in.Roles, role("admin-new", 20, "admin", "everything")) },
			m:    Membership{Roles: []string{"admin"}},
			want: Result{Ready: true, Reason: ReasonResolved, Role: "admin", Roles: []string{"admin"}, Source: SourceManual,
				Assignments: []Assignment{{Role: "admin", Source: SourceManual}},
				Permissions: []string{"docs:read", "settings:manage", "videos:delete"}, Active: true},
		},
		"duplicate Role: the name breaks a tie": {
			edit: func(in *Input) { in.Roles = append(in.Roles, role("aa-admin", 2, "admin", "everything")) },
			m:    Membership{Roles: []string{"admin"}},
			want: Result{Ready: true, Reason: ReasonResolved, Role: "admin", Roles: []string{"admin"}, Source: SourceManual,
				Assignments: []Assignment{{Role: "admin", Source: SourceManual}},
				Permissions: []string{"everything"}, Active: true},
		},
		"duplicate Role: same name and time (impossible in a cluster), the rest breaks the tie": {
			edit: func(in *Input) { in.Roles = append(in.Roles, role("role-admin", 2, "admin", "a")) },
			m:    Membership{Roles: []string{"admin"}},
			want: Result{Ready: true, Reason: ReasonResolved, Role: "admin", Roles: []string{"admin"}, Source: SourceManual,
				Assignments: []Assignment{{Role: "admin", Source: SourceManual}},
				Permissions: []string{"a"}, Active: true},
		},
		"duplicate Environment: the oldest wins": {
			edit: func(in *Input) {
				in.Environments = append(in.Environments, Environment{Meta: meta("env-old", -1), MultipleRoles: true})
			},
			m: Membership{Roles: []string{"viewer", "editor"}},
			want: Result{Ready: true, Reason: ReasonResolved, Role: "editor", Roles: []string{"editor", "viewer"}, Source: SourceManual,
				Assignments: []Assignment{{Role: "editor", Source: SourceManual}, {Role: "viewer", Source: SourceManual}},
				Permissions: []string{"docs:read", "videos:create", "videos:view"}, Active: true},
		},
		"duplicate Environment: the newer one's settings are ignored": {
			edit: func(in *Input) {
				in.Environments = append(in.Environments, Environment{Meta: meta("env-new", 1), MultipleRoles: true, DefaultRole: "admin"})
			},
			m: Membership{Roles: []string{"viewer", "editor"}},
			want: Result{Ready: true, Reason: ReasonResolved, Role: "editor", Roles: []string{"editor"}, Source: SourceManual,
				Assignments: []Assignment{{Role: "editor", Source: SourceManual}},
				Permissions: []string{"docs:read", "videos:create"}, Extra: []string{"viewer"}, Active: true},
		},
		"duplicate OrganizationRole: the oldest wins": {
			edit: func(in *Input) {
				in.OrganizationRoles = append(in.OrganizationRoles, orgRole("acme-owner-old", 1, "acme", "org-owner", "root"))
			},
			m: Membership{Roles: []string{"org-owner"}},
			want: Result{Ready: true, Reason: ReasonResolved, Role: "org-owner", Roles: []string{"org-owner"}, Source: SourceManual,
				Assignments: []Assignment{{Role: "org-owner", Source: SourceManual}}, Permissions: []string{"root"}, Active: true},
		},
		"one OrganizationRole slug in two organizations is no duplicate": {
			edit: func(in *Input) {
				in.OrganizationRoles = append(in.OrganizationRoles, orgRole("globex-owner", 1, "globex", "org-owner", "globex:all"))
			},
			m: Membership{Roles: []string{"org-owner"}},
			want: Result{Ready: true, Reason: ReasonResolved, Role: "org-owner", Roles: []string{"org-owner"}, Source: SourceManual,
				Assignments: []Assignment{{Role: "org-owner", Source: SourceManual}}, Permissions: []string{"billing:manage", "docs:read"}, Active: true},
		},
		"an OrganizationRole with an environment Role's slug is shadowed": {
			edit: func(in *Input) {
				in.OrganizationRoles = append(in.OrganizationRoles, orgRole("acme-admin", 0, "acme", "admin", "evil"))
			},
			m: Membership{Roles: []string{"admin"}},
			want: Result{Ready: true, Reason: ReasonResolved, Role: "admin", Roles: []string{"admin"}, Source: SourceManual,
				Assignments: []Assignment{{Role: "admin", Source: SourceManual}},
				Permissions: []string{"docs:read", "settings:manage", "videos:delete"}, Active: true},
		},
		"organization roles of organizations not compiled are ignored": {
			edit: func(in *Input) {
				in.Organizations = in.Organizations[:1]
			},
			m:    Membership{Organization: "globex", Roles: []string{"org-sales"}},
			want: Result{Reason: ReasonOrganizationNotFound, Active: true},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			in := baseInput()
			if tc.edit != nil {
				tc.edit(&in)
			}
			m := tc.m
			if m.Organization == "" {
				m.Organization = "acme"
			}
			m.Meta = meta("m", 0)
			m.User = "alice"

			got := Compile(in).Resolve(m)
			check(t, got, tc.want)

			// Results never depend on input order.
			again := Compile(reversed(in)).Resolve(reversedMembership(m))
			if !reflect.DeepEqual(again, got) {
				t.Errorf("reversed input changed the result\nfirst:    %+v\nreversed: %+v", got, again)
			}
		})
	}
}

// check compares a Result with want; want.Message is compared only when set,
// otherwise got.Message must merely be non-empty.
func check(t *testing.T, got, want Result) {
	t.Helper()
	if got.Message == "" {
		t.Errorf("empty Message")
	}
	if want.Message == "" {
		got.Message = ""
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Resolve mismatch\nwant: %+v\ngot:  %+v", want, got)
	}
}

func TestOrder(t *testing.T) {
	cases := map[string]struct {
		// edit changes baseInput for the case; nil keeps it.
		edit func(*Input)
		// org is the organization whose order is checked.
		org string
		// wantEnv and wantEnvUnknown are the environment order and its unknown priority slugs.
		wantEnv, wantEnvUnknown []string
		// want and wantUnknown are the organization order and its unknown priority slugs.
		want, wantUnknown []string
	}{
		"base: environment rolePriority, then roles by age; organization roles first": {
			org:     "acme",
			wantEnv: []string{"admin", "editor", "member", "viewer"},
			want:    []string{"org-auditor", "org-owner", "admin", "editor", "member", "viewer"},
		},
		"base: globex sees only its own organization roles": {
			org:     "globex",
			wantEnv: []string{"admin", "editor", "member", "viewer"},
			want:    []string{"org-sales", "admin", "editor", "member", "viewer"},
		},
		"environment rolePriority with unknown, repeated and empty slugs": {
			edit: func(in *Input) {
				in.Environments[0].RolePriority = []string{"ghost", "viewer", "", "viewer", "admin", "zed", "ghost", "org-owner"}
			},
			org:            "acme",
			wantEnv:        []string{"viewer", "admin", "member", "editor"},
			wantEnvUnknown: []string{"ghost", "org-owner", "zed"},
			want:           []string{"org-auditor", "org-owner", "viewer", "admin", "member", "editor"},
		},
		"no Environment: roles by age": {
			edit:    func(in *Input) { in.Environments = nil },
			org:     "globex",
			wantEnv: []string{"member", "admin", "editor", "viewer"},
			want:    []string{"org-sales", "member", "admin", "editor", "viewer"},
		},
		"organization rolePriority with unknown slugs and another organization's role": {
			edit: func(in *Input) {
				in.Organizations[0].RolePriority = []string{"editor", "ghost", "org-owner", "org-sales", "editor"}
			},
			org:         "acme",
			wantEnv:     []string{"admin", "editor", "member", "viewer"},
			want:        []string{"editor", "org-owner", "org-auditor", "admin", "member", "viewer"},
			wantUnknown: []string{"ghost", "org-sales"},
		},
		"organization without own roles or priority: the environment order": {
			edit: func(in *Input) {
				in.Organizations = append(in.Organizations, Organization{Meta: meta("initech", 3)})
			},
			org:     "initech",
			wantEnv: []string{"admin", "editor", "member", "viewer"},
			want:    []string{"admin", "editor", "member", "viewer"},
		},
		"organization rolePriority of environment roles only": {
			edit: func(in *Input) {
				in.Organizations[1].RolePriority = []string{"viewer", "member"}
			},
			org:     "globex",
			wantEnv: []string{"admin", "editor", "member", "viewer"},
			want:    []string{"viewer", "member", "org-sales", "admin", "editor"},
		},
		"organization roles by creation time, the name breaks ties": {
			edit: func(in *Input) {
				in.OrganizationRoles = append(in.OrganizationRoles,
					orgRole("acme-b", 5, "acme", "org-b"), orgRole("acme-0", 6, "acme", "org-0"), orgRole("acme-a", 5, "acme", "org-a"))
			},
			org:     "acme",
			wantEnv: []string{"admin", "editor", "member", "viewer"},
			want:    []string{"org-a", "org-auditor", "org-b", "org-0", "org-owner", "admin", "editor", "member", "viewer"},
		},
		"environment roles by creation time, the name breaks ties": {
			edit: func(in *Input) {
				in.Environments[0].RolePriority = nil
				in.Roles = append(in.Roles, role("role-a", 3, "zz"), role("role-z", 3, "aa"))
			},
			org:     "globex",
			wantEnv: []string{"member", "admin", "zz", "editor", "aa", "viewer"},
			want:    []string{"org-sales", "member", "admin", "zz", "editor", "aa", "viewer"},
		},
		"duplicate losers are invisible": {
			edit: func(in *Input) {
				in.Roles = append(in.Roles, role("admin-new", 0, "admin"), role("viewer-new", 20, "viewer"))
				in.OrganizationRoles = append(in.OrganizationRoles, orgRole("acme-owner-new", 30, "acme", "org-owner"))
				in.Environments[0].RolePriority = nil
			},
			org:     "acme",
			wantEnv: []string{"admin", "member", "editor", "viewer"},
			want:    []string{"org-auditor", "org-owner", "admin", "member", "editor", "viewer"},
		},
		"no roles at all": {
			edit: func(in *Input) {
				in.Roles = nil
				in.OrganizationRoles = nil
				in.Environments[0].RolePriority = []string{"admin"}
			},
			org:            "acme",
			wantEnvUnknown: []string{"admin"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			in := baseInput()
			if tc.edit != nil {
				tc.edit(&in)
			}
			for _, env := range []*Env{Compile(in), Compile(reversed(in))} {
				equal(t, "environment order", slugsOf(env.Roles()), tc.wantEnv)
				equal(t, "UnknownEnvironmentPriority", env.UnknownEnvironmentPriority(), tc.wantEnvUnknown)
				o := env.Organization(tc.org)
				if o == nil {
					t.Fatalf("Organization(%q) = nil", tc.org)
				}
				equal(t, "order", slugsOf(o.Roles()), tc.want)
				equal(t, "UnknownPriority", o.UnknownPriority(), tc.wantUnknown)
			}
		})
	}
}

func equal[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s\nwant: %#v\ngot:  %#v", what, want, got)
	}
}

// slugsOf lists the slugs of roles in their order; nil for none.
func slugsOf(roles []RoleInfo) []string {
	var out []string
	for _, r := range roles {
		out = append(out, r.Slug)
	}
	return out
}

// defaultOf is the default role of organization org as Resolve gives it to a
// member with no groups and no roles (R2, R4); ok is false when none resolves.
func defaultOf(t *testing.T, env *Env, org string) (slug string, ok bool) {
	t.Helper()
	r := env.Resolve(Membership{Meta: meta("m", 0), Organization: org, User: "u"})
	switch {
	case r.Source == SourceDefault && len(r.Roles) == 1:
		return r.Roles[0], true
	case r.Reason == ReasonDefaultRoleMissing:
		return "", false
	}
	t.Fatalf("a member of %s with no groups and no roles: %+v", org, r)
	return "", false
}

func TestDefaultRole(t *testing.T) {
	cases := map[string]struct {
		// envDefault, acmeDefault are E.defaultRole and acme's defaultRole.
		envDefault, acmeDefault string
		// noMember removes the Role "member".
		noMember bool
		// want/wantOK are acme's default; wantUnknown its UnknownDefault.
		want        string
		wantOK      bool
		wantUnknown string
		// wantEnv/wantEnvOK are the environment-level default (E.defaultRole when
		// it names a Role, else "member"), which an organization with no default and
		// no roles of its own has; wantEnvUnknown is the Env's UnknownDefault.
		wantEnv        string
		wantEnvOK      bool
		wantEnvUnknown string
	}{
		"nothing set: member": {want: "member", wantOK: true, wantEnv: "member", wantEnvOK: true},
		"environment default": {envDefault: "viewer", want: "viewer", wantOK: true, wantEnv: "viewer", wantEnvOK: true},
		"organization default beats environment default": {
			envDefault: "viewer", acmeDefault: "editor", want: "editor", wantOK: true, wantEnv: "viewer", wantEnvOK: true,
		},
		"organization default naming an organization role": {
			acmeDefault: "org-owner", want: "org-owner", wantOK: true, wantEnv: "member", wantEnvOK: true,
		},
		"unknown organization default falls through to the environment default": {
			envDefault: "viewer", acmeDefault: "ghost", want: "viewer", wantOK: true, wantUnknown: "ghost", wantEnv: "viewer", wantEnvOK: true,
		},
		"unknown defaults at both levels fall through to member": {
			envDefault: "ghost", acmeDefault: "org-sales", want: "member", wantOK: true, wantUnknown: "org-sales",
			wantEnv: "member", wantEnvOK: true, wantEnvUnknown: "ghost",
		},
		"environment default naming an organization role counts where visible": {
			envDefault: "org-owner", want: "org-owner", wantOK: true, wantEnv: "member", wantEnvOK: true, wantEnvUnknown: "org-owner",
		},
		"no member and nothing set: none": {noMember: true},
		"no member, unknown defaults: none": {
			noMember: true, envDefault: "ghost", acmeDefault: "ghost2", wantUnknown: "ghost2", wantEnvUnknown: "ghost",
		},
		"no member, valid organization default": {noMember: true, acmeDefault: "admin", want: "admin", wantOK: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			in := baseInput()
			in.Environments[0].DefaultRole = tc.envDefault
			in.Organizations[0].DefaultRole = tc.acmeDefault
			if tc.noMember {
				in.Roles = slices.DeleteFunc(in.Roles, func(r Role) bool { return r.Slug == "member" })
			}
			in.Organizations = append(in.Organizations, Organization{Meta: meta("plain", 0)})
			env := Compile(in)
			o := env.Organization("acme")
			got, ok := defaultOf(t, env, "acme")
			if got != tc.want || ok != tc.wantOK {
				t.Errorf("acme's default role = %q, %v; want %q, %v", got, ok, tc.want, tc.wantOK)
			}
			equal(t, "OrgView.UnknownDefault", o.UnknownDefault(), tc.wantUnknown)
			gotEnv, okEnv := defaultOf(t, env, "plain")
			if gotEnv != tc.wantEnv || okEnv != tc.wantEnvOK {
				t.Errorf("the environment-level default role = %q, %v; want %q, %v", gotEnv, okEnv, tc.wantEnv, tc.wantEnvOK)
			}
			equal(t, "Env.UnknownDefault", env.UnknownDefault(), tc.wantEnvUnknown)
		})
	}
}

func TestDuplicates(t *testing.T) {
	cases := map[string]struct {
		// edit changes baseInput for the case.
		edit func(*Input)
		// wantEnv is the winning Environment's name ("" for none); wantEnvDups the losers.
		wantEnv     string
		wantEnvDups []string
		// wantRoles and wantOrgRoles map losers to winners.
		wantRoles, wantOrgRoles map[string]string
		// wantShadowed is acme's shadowed OrganizationRoles.
		wantShadowed []string
	}{
		"none":           {edit: func(*Input) {}, wantEnv: "env"},
		"no Environment": {edit: func(in *Input) { in.Environments = nil }},
		"Environments: the oldest wins, losers sorted": {
			edit: func(in *Input) {
				in.Environments = append(in.Environments,
					Environment{Meta: meta("env-z", 5)}, Environment{Meta: meta("env-old", -5)}, Environment{Meta: meta("env-a", 5)})
			},
			wantEnv: "env-old", wantEnvDups: []string{"env", "env-a", "env-z"},
		},
		"Environments: the name breaks a tie": {
			edit:    func(in *Input) { in.Environments = append(in.Environments, Environment{Meta: meta("a-env", 0)}) },
			wantEnv: "a-env", wantEnvDups: []string{"env"},
		},
		"the same Environment listed twice is no duplicate": {
			edit:    func(in *Input) { in.Environments = append(in.Environments, in.Environments[0]) },
			wantEnv: "env",
		},
		"Roles: per slug, the oldest wins, the name breaks ties": {
			edit: func(in *Input) {
				in.Roles = append(in.Roles,
					role("admin-2", 9, "admin"), role("admin-3", 8, "admin"),
					role("a-viewer", 4, "viewer"), role("z-viewer", 4, "viewer"))
			},
			wantEnv:   "env",
			wantRoles: map[string]string{"admin-2": "role-admin", "admin-3": "role-admin", "role-viewer": "a-viewer", "z-viewer": "a-viewer"},
		},
		"OrganizationRoles: per organization and slug": {
			edit: func(in *Input) {
				in.OrganizationRoles = append(in.OrganizationRoles,
					orgRole("acme-owner-2", 11, "acme", "org-owner"),
					orgRole("acme-owner-0", 9, "acme", "org-owner"),
					orgRole("globex-owner", 1, "globex", "org-owner"),
					orgRole("initech-owner", 1, "initech", "org-owner"),
					orgRole("initech-owner-2", 2, "initech", "org-owner"))
			},
			wantEnv:      "env",
			wantOrgRoles: map[string]string{"acme-owner-2": "acme-owner-0", "acme-owner": "acme-owner-0"},
		},
		"OrganizationRoles shadowed by an environment Role": {
			edit: func(in *Input) {
				in.OrganizationRoles = append(in.OrganizationRoles,
					orgRole("acme-viewer", 1, "acme", "viewer"), orgRole("acme-admin", 1, "acme", "admin"))
			},
			wantEnv:      "env",
			wantShadowed: []string{"acme-admin", "acme-viewer"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			in := baseInput()
			tc.edit(&in)
			for _, env := range []*Env{Compile(in), Compile(reversed(in))} {
				win, dups := env.Environment()
				gotName := ""
				if win != nil {
					gotName = win.Name
				}
				equal(t, "Environment winner", gotName, tc.wantEnv)
				equal(t, "Environment duplicates", dups, tc.wantEnvDups)
				checkRoleWinners(t, env, in, tc.wantRoles, tc.wantOrgRoles, tc.wantShadowed)
			}
		})
	}
}

// checkRoleWinners checks R8 and shadowing through what the views show. Under
// the slug of every Role of in, the environment shows the winner: the Role
// itself, or the one losers maps it to. Under the slug of every OrganizationRole
// of a compiled organization, that organization shows the winner likewise
// (orgLosers), or the environment Role when the winner is shadowed.
func checkRoleWinners(t *testing.T, env *Env, in Input, losers, orgLosers map[string]string, shadowed []string) {
	t.Helper()
	bySlug := map[string]RoleInfo{}
	for _, r := range env.Roles() {
		bySlug[r.Slug] = r
	}
	for _, r := range in.Roles {
		want := cmp.Or(losers[r.Name], r.Name)
		if got := bySlug[r.Slug]; got.Name != want || got.Type != RoleTypeEnvironment {
			t.Errorf("Role %s: the environment shows %+v under slug %q, want Role %s", r.Name, got, r.Slug, want)
		}
	}
	for _, r := range in.OrganizationRoles {
		view := env.Organization(r.Organization)
		if view == nil {
			continue
		}
		want, wantType := cmp.Or(orgLosers[r.Name], r.Name), RoleTypeOrganization
		if slices.Contains(shadowed, want) {
			want, wantType = bySlug[r.Slug].Name, RoleTypeEnvironment
		}
		if got, _ := view.RoleInfo(r.Slug); got.Name != want || got.Type != wantType {
			t.Errorf("OrganizationRole %s: %s shows %+v under slug %q, want %s %s", r.Name, r.Organization, got, r.Slug, wantType, want)
		}
	}
}

func TestDuplicateMemberships(t *testing.T) {
	mem := func(name string, min int, org, user string) Membership {
		return Membership{Meta: meta(name, min), Organization: org, User: user}
	}
	cases := map[string]struct {
		// ms are the memberships.
		ms []Membership
		// want maps losers to winners.
		want map[string]string
	}{
		"nil":          {},
		"no duplicate": {ms: []Membership{mem("a", 0, "acme", "alice"), mem("b", 0, "acme", "bob"), mem("c", 0, "globex", "alice")}},
		"the oldest wins": {
			ms:   []Membership{mem("new", 5, "acme", "alice"), mem("old", 1, "acme", "alice"), mem("mid", 3, "acme", "alice")},
			want: map[string]string{"new": "old", "mid": "old"},
		},
		"the name breaks a tie": {
			ms:   []Membership{mem("b", 1, "acme", "alice"), mem("a", 1, "acme", "alice")},
			want: map[string]string{"b": "a"},
		},
		"groups are per organization and user": {
			ms: []Membership{
				mem("a1", 1, "acme", "alice"), mem("a2", 2, "acme", "alice"),
				mem("g1", 2, "globex", "alice"), mem("g2", 1, "globex", "alice"),
				mem("b1", 1, "acme", "bob"),
			},
			want: map[string]string{"a2": "a1", "g1": "g2"},
		},
		"a name losing in two groups (impossible in a cluster) maps to the oldest winner": {
			ms: []Membership{
				mem("x", 3, "acme", "alice"), mem("w2", 2, "acme", "alice"),
				mem("x", 3, "globex", "bob"), mem("w1", 1, "globex", "bob"),
			},
			want: map[string]string{"x": "w1"},
		},
		"the same membership listed twice is no duplicate": {
			ms: []Membership{mem("a", 1, "acme", "alice"), mem("a", 1, "acme", "alice")},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			equal(t, "DuplicateMemberships", DuplicateMemberships(tc.ms), tc.want)
			rev := slices.Clone(tc.ms)
			slices.Reverse(rev)
			equal(t, "DuplicateMemberships (reversed)", DuplicateMemberships(rev), tc.want)
		})
	}
}

func TestDuplicateResult(t *testing.T) {
	got := DuplicateResult(Membership{Meta: meta("m2", 1), Organization: "acme", User: "alice", State: StateInactive}, "m1")
	want := Result{
		Reason:  ReasonDuplicate,
		Message: `duplicate of Membership "m1" for organization "acme" and user "alice": the oldest wins`,
	}
	equal(t, "DuplicateResult", got, want)
}

func TestUndeclaredPermissions(t *testing.T) {
	cases := map[string]struct {
		// perms are a role's permissions; catalog the declared Permission slugs.
		perms, catalog []string
		// want is the expected result.
		want []string
	}{
		"no catalog: nothing undeclared":    {perms: []string{"a", "b"}},
		"empty catalog: nothing undeclared": {perms: []string{"a"}, catalog: []string{}},
		"all declared":                      {perms: []string{"a", "b"}, catalog: []string{"b", "a", "c"}},
		"missing ones, sorted and unique":   {perms: []string{"z", "a", "z", "m", "", "b"}, catalog: []string{"a"}, want: []string{"b", "m", "z"}},
		"* is literal":                      {perms: []string{"videos:*", "videos:view"}, catalog: []string{"videos:view", "*"}, want: []string{"videos:*"}},
		"no permissions":                    {catalog: []string{"a"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			equal(t, "UndeclaredPermissions", UndeclaredPermissions(tc.perms, tc.catalog), tc.want)
		})
	}
}

func TestViews(t *testing.T) {
	env := Compile(baseInput())
	equal(t, "OrganizationNames", env.OrganizationNames(), []string{"acme", "globex"})
	if env.Organization("initech") != nil {
		t.Errorf("Organization(initech) != nil")
	}
	if env.MultipleRoles() {
		t.Errorf("MultipleRoles() = true")
	}
	acme := env.Organization("acme")
	equal(t, "Name", acme.Name(), "acme")

	perms, ok := acme.Role("org-owner")
	equal(t, "Role(org-owner)", perms, []string{"billing:manage", "docs:read"})
	equal(t, "Role(org-owner) ok", ok, true)
	perms, ok = acme.Role("org-sales")
	if perms != nil || ok {
		t.Errorf("Role(org-sales) = %v, %v; want nil, false", perms, ok)
	}
	info, ok := acme.RoleInfo("org-auditor")
	equal(t, "RoleInfo(org-auditor).Type", info.Type, RoleTypeOrganization)
	equal(t, "RoleInfo(org-auditor) ok", ok, true)
	info, _ = acme.RoleInfo("admin")
	equal(t, "RoleInfo(admin)", info, RoleInfo{Slug: "admin", Name: "role-admin", Type: RoleTypeEnvironment,
		Permissions: []string{"docs:read", "settings:manage", "videos:delete"}})
	if _, ok := acme.RoleInfo("ghost"); ok {
		t.Errorf("RoleInfo(ghost) ok")
	}

	equal(t, "acme Roles()", slugsOf(acme.Roles()), []string{"org-auditor", "org-owner", "admin", "editor", "member", "viewer"})
	var refs []string
	for r := range acme.RoleRefs() {
		refs = append(refs, r.Slug)
	}
	equal(t, "acme RoleRefs()", refs, slugsOf(acme.Roles()))
	for _, r := range env.Roles() {
		equal(t, "env role type", r.Type, RoleTypeEnvironment)
	}
	equal(t, "env Roles()", slugsOf(env.Roles()), []string{"admin", "editor", "member", "viewer"})

	// Returned values are copies: changing them changes nothing inside.
	roles := acme.Roles()
	roles[0].Slug = "changed"
	perms, _ = acme.Role("admin")
	perms[0] = "changed"
	win, _ := env.Environment()
	win.RolePriority[0] = "changed"
	env.Roles()[0].Slug = "changed"
	equal(t, "Roles after edit", acme.Roles()[0].Slug, "org-auditor")
	equal(t, "Role after edit", env.Organization("acme").Roles()[2].Permissions[0], "docs:read")
	win, _ = env.Environment()
	equal(t, "Environment after edit", win.RolePriority[0], "admin")
	equal(t, "env Roles after edit", env.Roles()[0].Slug, "admin")
	r := env.Resolve(Membership{Organization: "acme", Roles: []string{"admin"}})
	r.Permissions[0] = "changed"
	equal(t, "Resolve after edit", env.Resolve(Membership{Organization: "acme", Roles: []string{"admin"}}).Permissions[0], "docs:read")

	// Empty and nil priority lists are the same (nil) whichever Environment wins.
	for _, in := range []Input{
		{Environments: []Environment{{Meta: meta("e", 0), RolePriority: []string{}}, {Meta: meta("e", 0)}}},
		{Environments: []Environment{{Meta: meta("e", 0)}, {Meta: meta("e", 0), RolePriority: []string{}}}},
	} {
		w, _ := Compile(in).Environment()
		equal(t, "RolePriority of an empty list", w.RolePriority, []string(nil))
	}

	// An empty Input compiles to an environment where nothing resolves.
	empty := Compile(Input{})
	equal(t, "empty Resolve", empty.Resolve(Membership{}).Reason, ReasonOrganizationNotFound)
	equal(t, "empty Roles", empty.Roles(), []RoleInfo(nil))
	equal(t, "empty OrganizationNames", empty.OrganizationNames(), []string(nil))
	if w, d := empty.Environment(); w != nil || d != nil {
		t.Errorf("empty Environment() = %v, %v", w, d)
	}
}

func TestCompileDoesNotModifyInput(t *testing.T) {
	in := baseInput()
	in.Roles = append(in.Roles, role("messy", 9, "messy", "z", "a", "z"), role("admin-2", 9, "admin"))
	in.Environments[0].RolePriority = []string{"viewer", "ghost", "admin"}
	in.Organizations[0].RolePriority = []string{"org-owner", "ghost"}
	want := reversed(reversed(in))
	env := Compile(in)
	env.Resolve(Membership{Organization: "acme", Roles: []string{"messy", "admin"}, DirectoryGroups: []string{"eng"}})
	if !reflect.DeepEqual(in, want) {
		t.Errorf("Compile modified its input\nbefore: %+v\nafter:  %+v", want, in)
	}
}

func TestConcurrentResolve(t *testing.T) {
	in := baseInput()
	multiple(&in)
	env := Compile(in)
	m := Membership{Organization: "acme", DirectoryGroups: []string{"eng", "eng-admins"}, Roles: []string{"viewer"}}
	want := env.Resolve(m)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 200 {
				if got := env.Resolve(m); !reflect.DeepEqual(got, want) {
					t.Errorf("concurrent Resolve = %+v, want %+v", got, want)
					return
				}
				env.Organization("acme").Roles()
			}
		})
	}
	wg.Wait()
}

func TestStateIsActive(t *testing.T) {
	for s, want := range map[State]bool{"": true, StateActive: true, StateInactive: false, StatePending: false, "active": false} {
		equal(t, "IsActive("+string(s)+")", s.IsActive(), want)
	}
}

func TestCompareMeta(t *testing.T) {
	cases := map[string]struct {
		// a, b are compared.
		a, b Meta
		// want is CompareMeta(a, b).
		want int
	}{
		"older first":             {a: meta("z", 0), b: meta("a", 1), want: -1},
		"newer last":              {a: meta("a", 2), b: meta("z", 1), want: 1},
		"name breaks the tie":     {a: meta("a", 1), b: meta("b", 1), want: -1},
		"equal":                   {a: meta("a", 1), b: meta("a", 1), want: 0},
		"zero time is oldest":     {a: Meta{Name: "z"}, b: meta("a", -100), want: -1},
		"time zones don't matter": {a: Meta{Name: "a", Created: t0.In(time.FixedZone("x", 3600))}, b: meta("a", 0), want: 0},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			equal(t, "CompareMeta", CompareMeta(tc.a, tc.b), tc.want)
		})
	}
}
