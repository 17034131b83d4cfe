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

// Candidate is one of several memberships of one user in one organization
// (duplicates), as the election (rule R10) sees it.
type Candidate struct {
	Meta
	// Ready is true when the membership's Ready condition is True.
	Ready bool
}

// Prefer reports whether a answers for its user over b (rule R10): a Ready
// membership over one that is not, else the older (CompareMeta). The
// Membership controller makes the oldest the only Ready one; preferring a Ready
// one keeps answering while a newer duplicate has not been marked yet. It is a
// strict order, so electing by it does not depend on the order of the
// candidates.
func Prefer(a, b Candidate) bool {
	if a.Ready != b.Ready {
		return a.Ready
	}
	return CompareMeta(a.Meta, b.Meta) < 0
}

// Elect returns the index in items of the membership that answers for its user
// in its organization (rule R10), -1 when items is empty. items are the
// memberships of one user in one organization, none being deleted; candidate
// describes one. The elected membership grants only when it is Ready and
// active (Resolved.Grants): the others never do.
func Elect[T any](items []T, candidate func(*T) Candidate) int {
	win := -1
	var best Candidate
	for i := range items {
		c := candidate(&items[i])
		if win < 0 || Prefer(c, best) {
			win, best = i, c
		}
	}
	return win
}
