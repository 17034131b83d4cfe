// Package events keeps each environment's change-event log: WorkOS-shaped
// events (organization_membership.*, role.*, organization_role.*,
// permission.*, organization.*) derived by the leader from the decision
// API's read model and stored through the API server in EventSegments
// (docs/events.md). This file holds the log's formats and how anyone reads
// it; the emitter (the only writer) and retention are beside it.
package events

import (
	"context"
	"encoding/binary"
	"fmt"
	"iter"
	"slices"
	"sort"
	"time"

	"github.com/oklog/ulid/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
)

// IDPrefix starts every event id.
const IDPrefix = "event_"

// ID is the id of the event with sequence number seq emitted at t: `event_`
// and a ULID whose time is t (milliseconds) and whose entropy is seq. The
// emitter never lets t go back, so ids sort as sequence numbers do.
func ID(seq int64, t time.Time) string {
	var entropy [10]byte
	binary.BigEndian.PutUint64(entropy[2:], uint64(seq)) //nolint:gosec // seq counts from 1
	var id ulid.ULID
	if err := id.SetTime(ulid.Timestamp(t)); err != nil {
		panic(fmt.Sprintf("event time %v out of the ULID range", t)) // years 1970-10889
	}
	if err := id.SetEntropy(entropy[:]); err != nil {
		panic(err) // 10 bytes: cannot fail
	}
	return IDPrefix + id.String()
}

// SegmentName is the name of the Events segment whose first event has
// sequence number first; names sort as their sequence numbers.
func SegmentName(first int64) string { return fmt.Sprintf("events-%012d", first) }

// CheckpointName is the name of part part of the checkpoint through sequence
// number through.
func CheckpointName(through int64, part int32) string {
	return fmt.Sprintf("events-checkpoint-%012d-%04d", through, part)
}

// Read returns the stored events of namespace ns, in emission order, from r
// (the manager's cache, or the API server), as one slice (a copy of the
// events; their data shares the segments' memory when r does).
func Read(ctx context.Context, r client.Reader, ns string) ([]orgrbacv1alpha1.StoredEvent, error) {
	t, err := ReadAfter(ctx, r, ns, "", 0)
	if err != nil {
		return nil, err
	}
	out := make([]orgrbacv1alpha1.StoredEvent, 0, t.Len())
	for _, run := range t {
		out = append(out, run...)
	}
	return out, nil
}

// Tail is a part of a log: runs of consecutive events, each a slice of one
// segment's events, in emission order. It shares the segments' memory: its
// readers must not change it.
type Tail [][]orgrbacv1alpha1.StoredEvent

// Len is the number of events of t.
func (t Tail) Len() int {
	n := 0
	for _, run := range t {
		n += len(run)
	}
	return n
}

// All yields the events of t in emission order.
func (t Tail) All() iter.Seq[*orgrbacv1alpha1.StoredEvent] {
	return func(yield func(*orgrbacv1alpha1.StoredEvent) bool) {
		for _, run := range t {
			for i := range run {
				if !yield(&run[i]) {
					return
				}
			}
		}
	}
}

// ReadAfter returns the stored events of namespace ns whose id sorts after
// after (every one when after is empty) and, when after is empty, that were
// created at or after sinceMillis, in emission order. Nothing is copied:
// segments before them are skipped, and the tail points into the others, so
// reading the end of a long log costs the segments' list, not the log.
func ReadAfter(ctx context.Context, r client.Reader, ns, after string, sinceMillis int64) (Tail, error) {
	var segs orgrbacv1alpha1.EventSegmentList
	if err := r.List(ctx, &segs, client.InNamespace(ns),
		client.MatchingLabels{orgrbacv1alpha1.LabelEventSegment: string(orgrbacv1alpha1.EventSegmentEvents)},
		client.UnsafeDisableDeepCopy); err != nil {
		return nil, fmt.Errorf("listing the event segments of %s: %w", ns, err)
	}
	return tail(segs.Items, after, sinceMillis), nil
}

// tail sorts segs by their first sequence number and returns their events
// after the id after (or, when it is empty, created at or after sinceMillis).
func tail(segs []orgrbacv1alpha1.EventSegment, after string, sinceMillis int64) Tail {
	segs = slices.DeleteFunc(segs, func(s orgrbacv1alpha1.EventSegment) bool { return len(s.Spec.Events) == 0 })
	slices.SortFunc(segs, func(a, b orgrbacv1alpha1.EventSegment) int { return cmpFirst(&a, &b) })
	keep := func(e *orgrbacv1alpha1.StoredEvent) bool {
		if after != "" {
			return e.ID > after // ids sort in emission order: a pruned cursor still places
		}
		return e.CreatedAtMillis >= sinceMillis
	}
	// The first segment whose last event is kept: those before hold none.
	start := sort.Search(len(segs), func(i int) bool {
		evs := segs[i].Spec.Events
		return keep(&evs[len(evs)-1])
	})
	out := make(Tail, 0, len(segs)-start)
	for i := start; i < len(segs); i++ {
		evs := segs[i].Spec.Events
		if i == start {
			evs = evs[sort.Search(len(evs), func(j int) bool { return keep(&evs[j]) }):]
		}
		out = append(out, evs)
	}
	return out
}

func first(s *orgrbacv1alpha1.EventSegment) int64 {
	if s.Spec.First == nil {
		return 0
	}
	return *s.Spec.First
}

func cmpFirst(a, b *orgrbacv1alpha1.EventSegment) int {
	switch fa, fb := first(a), first(b); {
	case fa < fb:
		return -1
	case fa > fb:
		return 1
	}
	return 0
}
