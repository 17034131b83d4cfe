package events

import (
	"slices"
	"testing"
	"time"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
)

// logSegments are three segments of events 1-9 (3 each), listed out of
// order as a cache may list them, and an empty one; event n is created at
// second n.
func logSegments() []orgrbacv1alpha1.EventSegment {
	seg := func(first int64) orgrbacv1alpha1.EventSegment {
		s := orgrbacv1alpha1.EventSegment{Spec: orgrbacv1alpha1.EventSegmentSpec{
			Type: orgrbacv1alpha1.EventSegmentEvents, First: &first}}
		for seq := first; seq < first+3 && first > 0; seq++ {
			t := time.Unix(seq, 0)
			s.Spec.Events = append(s.Spec.Events, orgrbacv1alpha1.StoredEvent{ID: ID(seq, t), CreatedAtMillis: t.UnixMilli()})
		}
		return s
	}
	return []orgrbacv1alpha1.EventSegment{seg(7), seg(1), seg(0), seg(4)}
}

func seqs(t Tail) []int64 {
	out := []int64{}
	for e := range t.All() {
		for seq := int64(1); seq <= 9; seq++ {
			if e.ID == ID(seq, time.Unix(seq, 0)) {
				out = append(out, seq)
			}
		}
	}
	return out
}

func TestTail(t *testing.T) {
	between := ID(4, time.Unix(4, 500_000_000)) // after event 4, before 5
	for _, tc := range []struct {
		name        string
		after       string
		sinceMillis int64
		want        []int64
	}{
		{"everything", "", 0, []int64{1, 2, 3, 4, 5, 6, 7, 8, 9}},
		{"after the first event", ID(1, time.Unix(1, 0)), 0, []int64{2, 3, 4, 5, 6, 7, 8, 9}},
		{"after a segment's last event", ID(3, time.Unix(3, 0)), 0, []int64{4, 5, 6, 7, 8, 9}},
		{"after a pruned cursor", ID(0, time.Unix(0, 0)), 0, []int64{1, 2, 3, 4, 5, 6, 7, 8, 9}},
		{"after a cursor between two events", between, 0, []int64{5, 6, 7, 8, 9}},
		{"after the last event", ID(9, time.Unix(9, 0)), 0, []int64{}},
		{"after a cursor from the future", ID(10, time.Unix(10, 0)), 0, []int64{}},
		{"created since", "", 5000, []int64{5, 6, 7, 8, 9}},
		{"created since, between two events", "", 5500, []int64{6, 7, 8, 9}},
		{"the cursor wins over since", ID(7, time.Unix(7, 0)), 1000, []int64{8, 9}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := seqs(tail(logSegments(), tc.after, tc.sinceMillis)); !slices.Equal(got, tc.want) {
				t.Errorf("tail = %v, want %v", got, tc.want)
			}
		})
	}
}
