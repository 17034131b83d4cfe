package resolve

import "slices"

// The rewrites of the role-cleanup finalizer, pure: each takes what an object
// says about a deleted role and returns what it should say afterwards. The
// finalizer (internal/controller) applies them, and kubectl orgrbac
// preview-delete applies them to a copy of the environment to show what a
// deletion would change.

// ReplaceSlug returns list with slug replaced by replacement, or removed when
// replacement is empty or already in the list; the order of the other entries is
// kept. changed is false (and out is list) when slug is not in list.
func ReplaceSlug(list []string, slug, replacement string) (out []string, changed bool) {
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

// ReplaceDefault returns the defaultRole that replaces def when slug is deleted:
// the replacement (possibly empty) when def names slug, def otherwise.
func ReplaceDefault(def, slug, replacement string) (string, bool) {
	if def != slug {
		return def, false
	}
	return replacement, true
}
