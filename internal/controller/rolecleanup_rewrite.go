package controller

import (
	"slices"
	"strings"
)

// The pure rewrites of the role-cleanup finalizer: each takes what an object says
// about a deleted role and returns what it should say afterwards.

// replaceSlug returns list with slug replaced by replacement, or removed when
// replacement is empty or already in the list; the order of the other entries is
// kept. changed is false (and out is list) when slug is not in list.
func replaceSlug(list []string, slug, replacement string) (out []string, changed bool) {
	if !slices.Contains(list, slug) {
		return list, false
	}
	keep := replacement != "" && !slices.Contains(list, replacement)
	out = make([]string, 0, len(list))
	for _, s := range list {
		switch {
		case s != slug:
			out = append(out, s)
		case keep:
			out = append(out, replacement)
			keep = false
		}
	}
	if len(out) == 0 {
		return nil, true
	}
	return out, true
}

// replaceDefault returns the defaultRole that replaces def when slug is deleted:
// the replacement (possibly empty) when def names slug, def otherwise.
func replaceDefault(def, slug, replacement string) (string, bool) {
	if def != slug {
		return def, false
	}
	return replacement, true
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
