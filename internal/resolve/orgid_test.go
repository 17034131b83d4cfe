package resolve_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/orgrbac/orgrbac/internal/resolve"
	"github.com/orgrbac/orgrbac/internal/resolve/orgidtest"
)

func TestIndexOrganizations(t *testing.T) {
	for _, tc := range orgidtest.Cases {
		t.Run(tc.Name, func(t *testing.T) {
			x := resolve.IndexOrganizations(tc.Refs())
			for key, want := range tc.Lookups {
				got, ok := x.Lookup(key)
				if ok != (want != "") || got != want {
					t.Errorf("Lookup(%q) = %q, %v; want %q", key, got, ok, want)
				}
			}
			var dups []string
			for _, o := range tc.Orgs {
				c, dup := x.Duplicate(o.Name)
				if !dup {
					continue
				}
				dups = append(dups, o.Name)
				if c.Winner == o.Name || c.Key == "" {
					t.Errorf("Duplicate(%q) = %+v: no winner or key", o.Name, c)
				}
				for _, key := range []string{o.Name, o.ExternalID} {
					if n, ok := x.Lookup(key); ok && n == o.Name {
						t.Errorf("duplicate %q still answers to %q", o.Name, key)
					}
				}
			}
			slices.Sort(dups)
			if want := slices.Sorted(slices.Values(tc.Duplicates)); !slices.Equal(dups, want) {
				t.Errorf("duplicates = %q, want %q", dups, want)
			}
			// Reversing the input changes nothing.
			rev := tc.Refs()
			slices.Reverse(rev)
			y := resolve.IndexOrganizations(rev)
			for key := range tc.Lookups {
				a, aok := x.Lookup(key)
				b, bok := y.Lookup(key)
				if a != b || aok != bok {
					t.Errorf("Lookup(%q) depends on input order: %q/%v vs %q/%v", key, a, aok, b, bok)
				}
			}
		})
	}
}

func TestOrganizationConflict(t *testing.T) {
	t0 := time.Unix(1000, 0)
	ref := func(name, ext string, age int) resolve.OrganizationRef {
		return resolve.OrganizationRef{Meta: resolve.Meta{Name: name, Created: t0.Add(time.Duration(age) * time.Second)}, ExternalID: ext}
	}
	tests := map[string]struct {
		orgs []resolve.OrganizationRef
		dup  string
		want resolve.OrganizationConflict
		fix  string
	}{
		"externalID is an older name": {
			orgs: []resolve.OrganizationRef{ref("acme", "org_acme", 0), ref("evil", "acme", 1)},
			dup:  "evil",
			want: resolve.OrganizationConflict{Key: "acme", Field: resolve.FieldExternalID, Winner: "acme", WinnerField: resolve.FieldName},
			fix:  "change or remove spec.externalID",
		},
		"externalID is an older externalID": {
			orgs: []resolve.OrganizationRef{ref("acme", "org_1", 0), ref("zzz", "org_1", 1)},
			dup:  "zzz",
			want: resolve.OrganizationConflict{Key: "org_1", Field: resolve.FieldExternalID, Winner: "acme", WinnerField: resolve.FieldExternalID},
			fix:  "change or remove spec.externalID",
		},
		"name is an older externalID": {
			orgs: []resolve.OrganizationRef{ref("evil", "acme", 0), ref("acme", "", 1)},
			dup:  "acme",
			want: resolve.OrganizationConflict{Key: "acme", Field: resolve.FieldName, Winner: "evil", WinnerField: resolve.FieldExternalID},
			fix:  "recreate this organization under another name",
		},
		"the name is reported before the externalID": {
			orgs: []resolve.OrganizationRef{ref("a", "x", 0), ref("b", "a", 1), ref("x", "a", 2)},
			dup:  "x",
			want: resolve.OrganizationConflict{Key: "x", Field: resolve.FieldName, Winner: "a", WinnerField: resolve.FieldExternalID},
			fix:  "recreate this organization under another name",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, ok := resolve.IndexOrganizations(tc.orgs).Duplicate(tc.dup)
			if !ok || got != tc.want {
				t.Fatalf("Duplicate(%q) = %+v, %v; want %+v", tc.dup, got, ok, tc.want)
			}
			msg := got.Message()
			for _, part := range []string{`"` + tc.want.Winner + `"`, `"` + tc.want.Key + `"`, tc.fix, "the oldest wins"} {
				if !strings.Contains(msg, part) {
					t.Errorf("Message() = %q, want it to contain %q", msg, part)
				}
			}
		})
	}
	if _, ok := resolve.IndexOrganizations([]resolve.OrganizationRef{ref("acme", "org_acme", 0)}).Duplicate("acme"); ok {
		t.Error("a lone organization is a duplicate")
	}
}

// The members of a duplicate organization resolve to nothing, whatever would
// have given them roles, for every case of the shared table; the members of the
// other organizations resolve as usual. Compile applies the same index as
// IndexOrganizations.
func TestMembersOfDuplicateOrganizations(t *testing.T) {
	for _, tc := range orgidtest.Cases {
		t.Run(tc.Name, func(t *testing.T) {
			in := resolve.Input{
				Roles: []resolve.Role{{Meta: resolve.Meta{Name: "r", Created: orgidtest.T0}, Slug: "r", Permissions: []string{"p"}},
					{Meta: resolve.Meta{Name: "member", Created: orgidtest.T0}, Slug: "member", Permissions: []string{"q"}}},
			}
			for _, o := range tc.Orgs {
				in.Organizations = append(in.Organizations, resolve.Organization{Meta: o.Ref().Meta, ExternalID: o.ExternalID})
				in.GroupMappings = append(in.GroupMappings, resolve.GroupMapping{Meta: resolve.Meta{Name: o.Name + "-gm"},
					Organization: o.Name, Source: resolve.SourceDirectory, Group: "admins", Role: "r"})
			}
			env := resolve.Compile(in)
			x, want := env.OrganizationIDs(), resolve.IndexOrganizations(tc.Refs())
			for key := range tc.Lookups {
				a, aok := x.Lookup(key)
				b, bok := want.Lookup(key)
				if a != b || aok != bok {
					t.Errorf("Env.OrganizationIDs().Lookup(%q) = %q, %v; IndexOrganizations says %q, %v", key, a, aok, b, bok)
				}
			}
			for _, o := range tc.Orgs {
				members := map[string]resolve.Membership{
					"manual":    {Meta: resolve.Meta{Name: o.Name + "-manual"}, Organization: o.Name, User: "u1", Roles: []string{"r"}},
					"directory": {Meta: resolve.Meta{Name: o.Name + "-dir"}, Organization: o.Name, User: "u2", DirectoryGroups: []string{"admins"}},
					"default":   {Meta: resolve.Meta{Name: o.Name + "-default"}, Organization: o.Name, User: "u3"},
					"inactive":  {Meta: resolve.Meta{Name: o.Name + "-inactive"}, Organization: o.Name, User: "u4", Roles: []string{"r"}, State: resolve.StateInactive},
				}
				conflict, dup := want.Duplicate(o.Name)
				if dup != slices.Contains(tc.Duplicates, o.Name) {
					t.Fatalf("table and rule disagree on whether %q is a duplicate", o.Name)
				}
				for kind, m := range members {
					res := env.Resolve(m)
					if !dup {
						if !res.Ready || res.Reason != resolve.ReasonResolved {
							t.Errorf("%s member of %q: %+v, want Ready", kind, o.Name, res)
						}
						continue
					}
					if res.Ready || res.Reason != resolve.ReasonOrganizationDuplicate || res.Role != "" || len(res.Roles) != 0 ||
						len(res.Assignments) != 0 || len(res.Permissions) != 0 || res.Source != "" {
						t.Errorf("%s member of duplicate %q: %+v, want not Ready, %s, no roles, no permissions",
							kind, o.Name, res, resolve.ReasonOrganizationDuplicate)
					}
					if res.Active != m.State.IsActive() {
						t.Errorf("%s member of duplicate %q: Active = %v", kind, o.Name, res.Active)
					}
					for _, part := range []string{`organization "` + o.Name + `" is a duplicate`, `Organization "` + conflict.Winner + `"`,
						`"` + conflict.Key + `" as its ` + conflict.WinnerField, "no roles and no permissions"} {
						if !strings.Contains(res.Message, part) {
							t.Errorf("%s member of duplicate %q: message %q does not contain %q", kind, o.Name, res.Message, part)
						}
					}
				}
			}
		})
	}
}

// The message of a member of a duplicate names the organization, the older
// one and the key, and stays bounded for the longest names and externalIDs.
func TestMemberOfDuplicateMessage(t *testing.T) {
	t0 := time.Unix(1000, 0)
	env := resolve.Compile(resolve.Input{
		Roles: []resolve.Role{{Meta: resolve.Meta{Name: "member"}, Slug: "member", Permissions: []string{"p"}}},
		Organizations: []resolve.Organization{
			{Meta: resolve.Meta{Name: "acme", Created: t0}, ExternalID: "globex"},
			{Meta: resolve.Meta{Name: "globex", Created: t0.Add(time.Second)}},
		},
	})
	res := env.Resolve(resolve.Membership{Meta: resolve.Meta{Name: "m"}, Organization: "globex", User: "u"})
	const want = `organization "globex" is a duplicate: Organization "acme" is older and has "globex" as its externalID, ` +
		`which is the duplicate's name; organization names and externalIDs are one key space and the oldest wins, ` +
		`so this membership gets no roles and no permissions until the collision is removed`
	if res.Message != want || res.Reason != resolve.ReasonOrganizationDuplicate || !res.Active {
		t.Errorf("Resolve = %+v\nwant message %q", res, want)
	}
	if res := env.Resolve(resolve.Membership{Meta: resolve.Meta{Name: "m2"}, Organization: "acme", User: "u"}); !res.Ready {
		t.Errorf("the older organization's member: %+v, want Ready", res)
	}

	// The longest ids: 253-character names, a 128-character externalID.
	long := func(c string, n int) string { return strings.Repeat(c, n) }
	older, younger := long("a", 253), long("b", 128)+"."+long("c", 124)
	env = resolve.Compile(resolve.Input{Organizations: []resolve.Organization{
		{Meta: resolve.Meta{Name: older, Created: t0}, ExternalID: long("b", 128)},
		{Meta: resolve.Meta{Name: younger, Created: t0.Add(time.Second)}, ExternalID: long("b", 128)},
	}})
	res = env.Resolve(resolve.Membership{Organization: younger, User: "u"})
	// 1024 is api/v1alpha1.MaxConditionMessage: the message is never cut.
	if res.Reason != resolve.ReasonOrganizationDuplicate || len(res.Message) > 1024 ||
		!strings.Contains(res.Message, `Organization "`+older+`"`) {
		t.Errorf("Resolve = %s, %d bytes of message; want %s within 1024 bytes, naming the older organization",
			res.Reason, len(res.Message), resolve.ReasonOrganizationDuplicate)
	}
}
