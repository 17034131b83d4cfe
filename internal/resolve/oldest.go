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

// Oldest returns the index in items of the winner among duplicates (rule R8):
// the oldest of the items meta reports as candidates (ok), by CompareMeta. It
// returns -1 when no item is a candidate. Callers leave out objects being
// deleted: they grant nothing and win nothing.
func Oldest[T any](items []T, meta func(*T) (m Meta, ok bool)) int {
	win := -1
	var best Meta
	for i := range items {
		m, ok := meta(&items[i])
		if !ok {
			continue
		}
		if win < 0 || CompareMeta(m, best) < 0 {
			win, best = i, m
		}
	}
	return win
}
