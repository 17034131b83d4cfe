package events

import (
	"context"
	"fmt"
	"slices"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
)

// nsLog is what the emitter knows of one namespace's stored log.
type nsLog struct {
	// state is the described state: the checkpoint folded with every event after it.
	state State
	// lastSeq is the sequence number of the last event (the checkpoint's when none follows).
	lastSeq int64
	// lastMillis is the newest event time.
	lastMillis int64
	// checkpoint is the sequence number the newest complete checkpoint goes
	// through, -1 when there is none; checkpointNames are its parts.
	checkpoint      int64
	checkpointNames []string
	// stale are segments to delete: older checkpoints' parts, and Events
	// segments a checkpoint covers.
	stale []string
	// segments are the Events segments after the checkpoint, oldest first.
	segments []segInfo
	// open is the newest of them (nil: none), and openBytes its events' size.
	open      *orgrbacv1alpha1.EventSegment
	openBytes int
}

// segInfo describes one Events segment.
type segInfo struct {
	name   string
	first  int64
	count  int
	newest int64 // newest event time, Unix milliseconds
}

// empty reports whether the namespace has no log at all.
func (l *nsLog) empty() bool { return l.checkpoint < 0 && len(l.segments) == 0 }

// appended folds evs, just written to the newest segment, into l.
func (l *nsLog) appended(evs []orgrbacv1alpha1.StoredEvent, sizes []int) {
	s := &l.segments[len(l.segments)-1]
	for i := range evs {
		l.lastSeq++
		_ = l.state.Apply(&evs[i], l.lastSeq) // the emitter wrote the digests
		l.lastMillis = max(l.lastMillis, evs[i].CreatedAtMillis)
		s.newest = max(s.newest, evs[i].CreatedAtMillis)
		l.openBytes += sizes[i]
		eventsEmitted.WithLabelValues(evs[i].Event).Inc()
	}
	s.count += len(evs)
}

// stored is the number of events the log holds.
func (l *nsLog) stored() int {
	n := 0
	for _, s := range l.segments {
		n += s.count
	}
	return n
}

// publish sets the gauges of namespace ns.
func (l *nsLog) publish(ns string) {
	setLogSize(ns, l.stored(), len(l.segments), false)
}

// listPageSize is the number of segments read per List call while loading.
const listPageSize = 20

// load reads the log of ns from the API server: the newest complete
// checkpoint, then every Events segment after it, replayed in order.
func (e *Emitter) load(ctx context.Context, ns string) (*nsLog, error) {
	l := &nsLog{state: State{}, checkpoint: -1}
	var cps orgrbacv1alpha1.EventSegmentList
	if err := e.reader.List(ctx, &cps, client.InNamespace(ns),
		client.MatchingLabels{orgrbacv1alpha1.LabelEventSegment: string(orgrbacv1alpha1.EventSegmentCheckpoint)}); err != nil {
		return nil, fmt.Errorf("listing the event checkpoints of %s: %w", ns, err)
	}
	parts := map[int64][]*orgrbacv1alpha1.EventSegment{}
	for i := range cps.Items {
		c := &cps.Items[i]
		parts[first(c)] = append(parts[first(c)], c)
	}
	for through, ps := range parts {
		if through > l.checkpoint && complete(ps) {
			l.checkpoint = through
		}
	}
	for through, ps := range parts {
		for _, p := range ps {
			if through != l.checkpoint {
				l.stale = append(l.stale, p.Name)
			}
		}
	}
	if l.checkpoint >= 0 {
		ps := parts[l.checkpoint]
		slices.SortFunc(ps, func(a, b *orgrbacv1alpha1.EventSegment) int { return int(a.Spec.Part - b.Spec.Part) })
		for _, p := range ps {
			if err := LoadCheckpoint(l.state, p.Spec.State); err != nil {
				return nil, fmt.Errorf("event checkpoint %s/%s: %w", ns, p.Name, err)
			}
			l.checkpointNames = append(l.checkpointNames, p.Name)
		}
		l.lastSeq = l.checkpoint
	}

	cont := ""
	prev := int64(-1)
	for {
		var page orgrbacv1alpha1.EventSegmentList
		if err := e.reader.List(ctx, &page, client.InNamespace(ns), client.Limit(listPageSize), client.Continue(cont),
			client.MatchingLabels{orgrbacv1alpha1.LabelEventSegment: string(orgrbacv1alpha1.EventSegmentEvents)}); err != nil {
			return nil, fmt.Errorf("listing the event segments of %s: %w", ns, err)
		}
		for i := range page.Items {
			s := &page.Items[i]
			f := first(s)
			if f <= prev {
				return nil, fmt.Errorf("event segments of %s listed out of order (%s)", ns, s.Name)
			}
			prev = f
			if f <= l.checkpoint {
				l.stale = append(l.stale, s.Name) // pruned: its deletion did not happen
				continue
			}
			if f != l.lastSeq+1 {
				// A log read while another writer pruned it (its checkpoint
				// listed before, its segments after the pruning): read again.
				return nil, fmt.Errorf("the event log of %s has a gap before %s (expected %d): %w",
					ns, s.Name, l.lastSeq+1, errConflict)
			}
			info := segInfo{name: s.Name, first: f, count: len(s.Spec.Events)}
			for j := range s.Spec.Events {
				ev := &s.Spec.Events[j]
				if err := l.state.Apply(ev, f+int64(j)); err != nil {
					return nil, fmt.Errorf("event segment %s/%s: %w", ns, s.Name, err)
				}
				info.newest = max(info.newest, ev.CreatedAtMillis)
			}
			l.lastSeq = f + int64(len(s.Spec.Events)) - 1
			l.lastMillis = max(l.lastMillis, info.newest)
			l.segments = append(l.segments, info)
			l.open = s.DeepCopy()
		}
		cont = page.Continue
		if cont == "" {
			break
		}
	}
	if l.open != nil && sealed(l.open) {
		l.open = nil // its successor was being created: the next append creates it
	}
	if l.open != nil {
		for i := range l.open.Spec.Events {
			l.openBytes += eventSize(&l.open.Spec.Events[i])
		}
	}
	l.publish(ns)
	return l, nil
}

// complete reports whether ps are all the parts of one checkpoint.
func complete(ps []*orgrbacv1alpha1.EventSegment) bool {
	seen := map[int32]bool{}
	for _, p := range ps {
		if p.Spec.Parts != ps[0].Spec.Parts || p.Spec.Part >= p.Spec.Parts {
			return false
		}
		seen[p.Spec.Part] = true
	}
	return len(ps) > 0 && int32(len(seen)) == ps[0].Spec.Parts //nolint:gosec // parts are few
}

// limits are the retention bounds of ns: its Environment's spec.events, else
// the defaults.
func (e *Emitter) limits(ctx context.Context, ns string) (time.Duration, int) {
	maxAge, maxEvents := e.opts.MaxAge, e.opts.MaxEvents
	var envs orgrbacv1alpha1.EnvironmentList
	if err := e.cache.List(ctx, &envs, client.InNamespace(ns), client.UnsafeDisableDeepCopy); err != nil {
		return maxAge, maxEvents
	}
	var oldest *orgrbacv1alpha1.Environment
	for i := range envs.Items {
		env := &envs.Items[i]
		if env.DeletionTimestamp == nil && (oldest == nil || env.CreationTimestamp.Before(&oldest.CreationTimestamp)) {
			oldest = env
		}
	}
	if oldest != nil {
		if d := oldest.Spec.Events.MaxAgeDays; d > 0 {
			maxAge = time.Duration(d) * 24 * time.Hour
		}
		if n := oldest.Spec.Events.MaxEvents; n > 0 {
			maxEvents = int(n)
		}
	}
	return maxAge, maxEvents
}

// Prune returns how many of the oldest segments retention removes: whole
// segments, oldest first, never the newest, while all of a segment's events
// are older than cutoff (Unix milliseconds) or the events left would still
// be at least maxEvents.
func Prune(counts []int, newest []int64, cutoff int64, maxEvents int) int {
	total := 0
	for _, c := range counts {
		total += c
	}
	n := 0
	for n < len(counts)-1 && (newest[n] < cutoff || total-counts[n] >= maxEvents) {
		total -= counts[n]
		n++
	}
	return n
}

// retain prunes the log of ns by its retention: it writes a checkpoint
// through the last pruned event (the previous checkpoint folded with the
// pruned segments), then deletes the pruned segments, then the older
// checkpoint. A crash between the steps leaves a log that loads the same.
func (e *Emitter) retain(ctx context.Context, ns string, l *nsLog) error {
	maxAge, maxEvents := e.limits(ctx, ns)
	counts, newest := make([]int, len(l.segments)), make([]int64, len(l.segments))
	for i, s := range l.segments {
		counts[i], newest[i] = s.count, s.newest
	}
	n := Prune(counts, newest, e.opts.Clock.Now().Add(-maxAge).UnixMilli(), maxEvents)
	if n > 0 {
		pruned := l.segments[:n]
		through := pruned[n-1].first + int64(pruned[n-1].count) - 1
		state := State{}
		if l.checkpoint >= 0 {
			var cps orgrbacv1alpha1.EventSegmentList
			if err := e.reader.List(ctx, &cps, client.InNamespace(ns),
				client.MatchingLabels{orgrbacv1alpha1.LabelEventSegment: string(orgrbacv1alpha1.EventSegmentCheckpoint)}); err != nil {
				return fmt.Errorf("listing the event checkpoints of %s: %w", ns, err)
			}
			for i := range cps.Items {
				if c := &cps.Items[i]; slices.Contains(l.checkpointNames, c.Name) {
					if err := LoadCheckpoint(state, c.Spec.State); err != nil {
						return fmt.Errorf("event checkpoint %s/%s: %w", ns, c.Name, err)
					}
				}
			}
		}
		for _, info := range pruned {
			var seg orgrbacv1alpha1.EventSegment
			if err := e.reader.Get(ctx, client.ObjectKey{Namespace: ns, Name: info.name}, &seg); err != nil {
				return fmt.Errorf("reading event segment %s/%s: %w", ns, info.name, err)
			}
			for j := range seg.Spec.Events {
				if err := state.Apply(&seg.Spec.Events[j], info.first+int64(j)); err != nil {
					return fmt.Errorf("event segment %s/%s: %w", ns, info.name, err)
				}
			}
		}
		names, err := e.writeCheckpoint(ctx, ns, through, state)
		if err != nil {
			return err
		}
		for _, info := range pruned {
			l.stale = append(l.stale, info.name)
		}
		l.stale = append(l.stale, l.checkpointNames...)
		l.checkpoint, l.checkpointNames = through, names
		l.segments = slices.Clone(l.segments[n:])
		e.log.Info("Pruned the event log", "namespace", ns, "segments", n, "through", through,
			"checkpointEntries", len(state))
	}
	// Parts of the current checkpoint are never stale: a checkpoint another
	// writer started through the same event, which this one completed, was
	// marked stale (incomplete) when the log was loaded.
	l.stale = slices.DeleteFunc(l.stale, func(name string) bool { return slices.Contains(l.checkpointNames, name) })
	for len(l.stale) > 0 {
		seg := &orgrbacv1alpha1.EventSegment{}
		seg.Namespace, seg.Name = ns, l.stale[0]
		if err := e.writer.Delete(ctx, seg); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("deleting event segment %s/%s: %w", ns, seg.Name, err)
		}
		l.stale = l.stale[1:]
	}
	l.publish(ns)
	return nil
}
