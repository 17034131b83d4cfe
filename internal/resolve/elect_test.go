package resolve

import (
	"slices"
	"testing"
	"time"
)

// TestElect is rule R10 as a table: the Ready one, else the oldest.
func TestElect(t *testing.T) {
	at := func(sec int64) time.Time { return time.Unix(sec, 0) }
	c := func(name string, sec int64, ready bool) Candidate {
		return Candidate{Meta: Meta{Name: name, Created: at(sec)}, Ready: ready}
	}
	for name, tc := range map[string]struct {
		cs   []Candidate
		want int
	}{
		"none":                      {nil, -1},
		"one, not ready":            {[]Candidate{c("a", 1, false)}, 0},
		"oldest when none is ready": {[]Candidate{c("b", 2, false), c("a", 1, false)}, 1},
		"oldest when all are ready": {[]Candidate{c("b", 2, true), c("a", 1, true)}, 1},
		"ready beats older":         {[]Candidate{c("a", 1, false), c("b", 2, true)}, 1},
		"oldest ready":              {[]Candidate{c("c", 3, true), c("a", 1, false), c("b", 2, true)}, 2},
		"name breaks a tie":         {[]Candidate{c("b", 1, true), c("a", 1, true)}, 1},
	} {
		if got := Elect(tc.cs, func(c *Candidate) Candidate { return *c }); got != tc.want {
			t.Errorf("%s: Elect = %d, want %d", name, got, tc.want)
		}
	}
}

// electModel is rule R10 by brute force: if any candidate is Ready, the
// oldest Ready one (creation time, then name); else the oldest.
func electModel(cs []Candidate) (Candidate, bool) {
	if len(cs) == 0 {
		return Candidate{}, false
	}
	pool := slices.DeleteFunc(slices.Clone(cs), func(c Candidate) bool { return !c.Ready })
	if len(pool) == 0 {
		pool = slices.Clone(cs)
	}
	best := pool[0]
	for _, c := range pool {
		if c.Created.Before(best.Created) || (c.Created.Equal(best.Created) && c.Name < best.Name) {
			best = c
		}
	}
	return best, true
}

// FuzzElect checks Elect against the brute-force model, and that the elected
// membership does not depend on the order of the candidates (the decision
// API elects incrementally, the publisher and kubectl orgrbac over a list).
func FuzzElect(f *testing.F) {
	f.Add([]byte{0x01, 0x12, 0x23})
	f.Add([]byte{0x00, 0x10, 0x01, 0x11})
	f.Add([]byte{0xff, 0x7f, 0x3f, 0x1f, 0x0f})
	f.Fuzz(func(t *testing.T, data []byte) {
		// Each byte is one membership: 3 bits of age, 2 of name, 1 of
		// readiness. Names are unique among a user's memberships.
		var cs []Candidate
		seen := map[string]bool{}
		for _, b := range data {
			name := string(rune('a' + (b>>3)&3))
			if seen[name] {
				continue
			}
			seen[name] = true
			cs = append(cs, Candidate{Meta: Meta{Name: name, Created: time.Unix(int64(b&7), 0)}, Ready: b&0x40 != 0})
		}
		want, ok := electModel(cs)
		id := func(c *Candidate) Candidate { return *c }
		i := Elect(cs, id)
		if !ok {
			if i != -1 {
				t.Fatalf("Elect of nothing = %d", i)
			}
			return
		}
		if cs[i] != want {
			t.Fatalf("Elect(%v) = %v, want %v", cs, cs[i], want)
		}
		rev := slices.Clone(cs)
		slices.Reverse(rev)
		if j := Elect(rev, id); rev[j] != want {
			t.Fatalf("Elect of the reversed list = %v, want %v", rev[j], want)
		}
		// Pairwise, as the incremental elections apply it.
		w := cs[0]
		for _, c := range cs[1:] {
			if Prefer(c, w) {
				w = c
			}
		}
		if w != want {
			t.Fatalf("folding Prefer = %v, want %v", w, want)
		}
	})
}
