// Package textlist writes the lists of names that condition messages and events
// carry, bounded so that a message stays small however many names there are.
package textlist

import (
	"strconv"
	"strings"
)

// Max is the most items a list writes; the rest are counted as "and N more".
const Max = 10

// Write writes up to Max of n items, comma-separated, each rendered by item,
// then " and K more" when n exceeds Max.
func Write(b *strings.Builder, n int, item func(i int)) {
	for i := range n {
		if i == Max {
			b.WriteString(" and ")
			b.WriteString(strconv.Itoa(n - Max))
			b.WriteString(" more")
			return
		}
		if i > 0 {
			b.WriteString(", ")
		}
		item(i)
	}
}

// Join is Write of items as they are.
func Join(items []string) string {
	var b strings.Builder
	Write(&b, len(items), func(i int) { b.WriteString(items[i]) })
	return b.String()
}
