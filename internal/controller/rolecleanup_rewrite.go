package controller

import (
	"slices"
	"strings"

	"github.com/orgrbac/orgrbac/internal/resolve"
)

// The pure rewrites of the role-cleanup finalizer: each takes what an object says
// about a deleted role and returns what it should say afterwards.

// replaceSlug is resolve.ReplaceSlug (kubectl orgrbac preview-delete applies it too).
func replaceSlug(list []string, slug, replacement string) ([]string, bool) {
	return resolve.ReplaceSlug(list, slug, replacement)
}

// replaceDefault is resolve.ReplaceDefault.
func replaceDefault(def, slug, replacement string) (string, bool) {
	return resolve.ReplaceDefault(def, slug, replacement)
}

// addRemovedRole returns the orgrbac.dev/removed-roles annotation value with slug
// added: comma-separated, sorted, without duplicates or empty entries.
func addRemovedRole(existing, slug string) string {
	var all []string
	for s := range strings.SplitSeq(existing, ",") {
		if s = strings.TrimSpace(s); s != "" {
			all = append(all, s)
		}
	}
	all = append(all, slug)
	slices.Sort(all)
	return strings.Join(slices.Compact(all), ",")
}

// describeMove says, for events and logs, what happened to slug: moved to the
// replacement, or removed.
func describeMove(slug, replacement string) string {
	if replacement == "" {
		return "removed role " + quote(slug)
	}
	return "replaced role " + quote(slug) + " with " + quote(replacement)
}

func quote(s string) string { return `"` + s + `"` }
