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
