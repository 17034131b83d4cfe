package controller

import (
	"slices"
	"testing"
)

func TestReplaceSlug(t *testing.T) {
	for name, tc := range map[string]struct {
		list              []string
		slug, replacement string
		want              []string
		changed           bool
	}{
		"absent: unchanged":                   {list: []string{"a", "b"}, slug: "x", replacement: "y", want: []string{"a", "b"}},
		"nil list":                            {slug: "x", replacement: "y"},
		"replaced in place":                   {list: []string{"a", "x", "b"}, slug: "x", replacement: "y", want: []string{"a", "y", "b"}, changed: true},
		"removed without replacement":         {list: []string{"a", "x", "b"}, slug: "x", want: []string{"a", "b"}, changed: true},
		"replacement already listed: removed": {list: []string{"y", "x"}, slug: "x", replacement: "y", want: []string{"y"}, changed: true},
		"only entry removed: nil":             {list: []string{"x"}, slug: "x", changed: true},
		"listed twice: replaced once":         {list: []string{"x", "a", "x"}, slug: "x", replacement: "y", want: []string{"y", "a"}, changed: true},
	} {
		t.Run(name, func(t *testing.T) {
			got, changed := replaceSlug(tc.list, tc.slug, tc.replacement)
			if !slices.Equal(got, tc.want) || changed != tc.changed {
				t.Errorf("replaceSlug(%q, %q, %q) = %q, %v; want %q, %v", tc.list, tc.slug, tc.replacement, got, changed, tc.want, tc.changed)
			}
		})
	}
}

func TestReplaceDefault(t *testing.T) {
	for name, tc := range map[string]struct {
		def, slug, replacement string
		want                   string
		changed                bool
	}{
		"other default kept": {def: "admin", slug: "member", replacement: "viewer", want: "admin"},
		"empty default kept": {slug: "member", replacement: "viewer"},
		"default replaced":   {def: "member", slug: "member", replacement: "viewer", want: "viewer", changed: true},
		"default removed":    {def: "member", slug: "member", changed: true},
	} {
		t.Run(name, func(t *testing.T) {
			got, changed := replaceDefault(tc.def, tc.slug, tc.replacement)
			if got != tc.want || changed != tc.changed {
				t.Errorf("replaceDefault(%q, %q, %q) = %q, %v; want %q, %v", tc.def, tc.slug, tc.replacement, got, changed, tc.want, tc.changed)
			}
		})
	}
}

func TestAddRemovedRole(t *testing.T) {
	for name, tc := range map[string]struct{ existing, slug, want string }{
		"first":                      {slug: "member", want: "member"},
		"sorted":                     {existing: "viewer", slug: "admin", want: "admin,viewer"},
		"unique":                     {existing: "admin,viewer", slug: "viewer", want: "admin,viewer"},
		"tidies a hand-edited value": {existing: " viewer,,admin ", slug: "editor", want: "admin,editor,viewer"},
	} {
		t.Run(name, func(t *testing.T) {
			if got := addRemovedRole(tc.existing, tc.slug); got != tc.want {
				t.Errorf("addRemovedRole(%q, %q) = %q; want %q", tc.existing, tc.slug, got, tc.want)
			}
		})
	}
}
