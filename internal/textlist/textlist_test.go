package textlist

import (
	"fmt"
	"testing"
)

func TestJoin(t *testing.T) {
	items := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprint(i)
		}
		return out
	}
	tests := []struct {
		n    int
		want string
	}{
		{0, ""},
		{1, "0"},
		{3, "0, 1, 2"},
		{Max, "0, 1, 2, 3, 4, 5, 6, 7, 8, 9"},
		{Max + 1, "0, 1, 2, 3, 4, 5, 6, 7, 8, 9 and 1 more"},
		{1000, "0, 1, 2, 3, 4, 5, 6, 7, 8, 9 and 990 more"},
	}
	for _, tc := range tests {
		if got := Join(items(tc.n)); got != tc.want {
			t.Errorf("Join of %d items = %q, want %q", tc.n, got, tc.want)
		}
	}
}
