package resolve

import (
	"testing"
	"time"
)

// TestOldest is rule R8's pick: the oldest candidate, the name breaking ties;
// non-candidates never win.
func TestOldest(t *testing.T) {
	at := func(sec int64) time.Time { return time.Unix(sec, 0) }
	type item struct {
		m        Meta
		excluded bool
	}
	for name, tc := range map[string]struct {
		items []item
		want  int
	}{
		"none":                  {nil, -1},
		"one":                   {[]item{{m: Meta{Name: "a", Created: at(1)}}}, 0},
		"older wins":            {[]item{{m: Meta{Name: "a", Created: at(2)}}, {m: Meta{Name: "b", Created: at(1)}}}, 1},
		"name breaks a tie":     {[]item{{m: Meta{Name: "b", Created: at(1)}}, {m: Meta{Name: "a", Created: at(1)}}}, 1},
		"excluded never wins":   {[]item{{m: Meta{Name: "a", Created: at(1)}, excluded: true}, {m: Meta{Name: "b", Created: at(2)}}}, 1},
		"all excluded":          {[]item{{m: Meta{Name: "a"}, excluded: true}}, -1},
		"zero time is oldest":   {[]item{{m: Meta{Name: "b", Created: at(1)}}, {m: Meta{Name: "c"}}}, 1},
		"first of equal metas":  {[]item{{m: Meta{Name: "a", Created: at(1)}}, {m: Meta{Name: "a", Created: at(1)}}}, 0},
		"sub-second precision":  {[]item{{m: Meta{Name: "a", Created: at(1).Add(time.Millisecond)}}, {m: Meta{Name: "b", Created: at(1)}}}, 1},
		"later candidates only": {[]item{{m: Meta{Name: "a"}, excluded: true}, {m: Meta{Name: "c", Created: at(3)}}, {m: Meta{Name: "b", Created: at(3)}}}, 2},
	} {
		got := Oldest(tc.items, func(i *item) (Meta, bool) { return i.m, !i.excluded })
		if got != tc.want {
			t.Errorf("%s: Oldest = %d, want %d", name, got, tc.want)
		}
	}
}
