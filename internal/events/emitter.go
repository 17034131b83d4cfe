package events

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/api/store"
)

// Defaults of Options.
const (
	DefaultInterval          = 200 * time.Millisecond
	DefaultRetentionInterval = 5 * time.Minute
	DefaultMaxAge            = 30 * 24 * time.Hour
	DefaultMaxEvents         = 100000
	// MaxSegmentEvents is the most events an Events segment holds (its CRD's bound).
	MaxSegmentEvents = 500
	// DefaultSegmentEvents and DefaultSegmentSize bound a segment: every
	// append rewrites the open segment, so a small one keeps each write (and
	// what every informer of the log receives) small.
	DefaultSegmentEvents = 100
	DefaultSegmentSize   = 64 << 10
	// MaxSegmentSize bounds SegmentBytes: a segment stays far below etcd's
	// object size limit (1.5 MiB).
	MaxSegmentSize = 512 << 10
	// DefaultMaxBatch bounds the events one emission of one environment
	// writes; the rest follow at once, in the next.
	DefaultMaxBatch = 5000
	// DefaultSettleMax bounds how long a namespace's emissions wait while its
	// memberships settle (Options.Settling).
	DefaultSettleMax = 30 * time.Second
)

// Options configure the emitter. Zero values take the defaults.
type Options struct {
	// Clock is the time source of event times and retention (the real clock when nil).
	Clock clock.Clock
	// Logger logs the emitter's work (discarded when unset).
	Logger logr.Logger
	// Interval is the shortest time between two emissions (DefaultInterval).
	Interval time.Duration
	// RetentionInterval is how often retention runs besides after a new
	// segment (DefaultRetentionInterval).
	RetentionInterval time.Duration
	// MaxAge is the retention of an environment whose spec.events.maxAgeDays
	// is unset (DefaultMaxAge).
	MaxAge time.Duration
	// MaxEvents is the retention of an environment whose
	// spec.events.maxEvents is unset (DefaultMaxEvents).
	MaxEvents int
	// SegmentEvents is the most events per Events segment (MaxSegmentEvents, at most that).
	SegmentEvents int
	// SegmentBytes is the most bytes of events per segment (DefaultSegmentSize).
	SegmentBytes int
	// CheckpointPartSize is the most entries per Checkpoint part (CheckpointPartSize, at most that).
	CheckpointPartSize int
	// MaxBatch is the most events one emission writes (DefaultMaxBatch).
	MaxBatch int
	// Settling, when set, reports whether a namespace's memberships are still
	// being resolved (a cold start, a bulk import). Its emissions then wait,
	// for at most SettleMax in a row: each emission diffs the whole namespace,
	// which at 100k memberships every Interval took a third of a core and
	// rewrote the open segment each time; waiting, the changes of SettleMax go
	// out in one emission, in full segments. Nothing is lost: the log describes
	// what was emitted, and the diff finds the rest.
	Settling func(ns string) bool
	// SettleMax bounds one wait for Settling (DefaultSettleMax).
	SettleMax time.Duration
}

func (o Options) withDefaults() Options {
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	if o.Logger.GetSink() == nil {
		o.Logger = logr.Discard()
	}
	def := func(v *int, d, hi int) {
		if *v <= 0 || *v > hi {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	defDur(&o.Interval, DefaultInterval)
	defDur(&o.SettleMax, DefaultSettleMax)
	defDur(&o.RetentionInterval, DefaultRetentionInterval)
	defDur(&o.MaxAge, DefaultMaxAge)
	def(&o.MaxEvents, DefaultMaxEvents, 1<<31-1)
	def(&o.SegmentEvents, DefaultSegmentEvents, MaxSegmentEvents)
	def(&o.SegmentBytes, DefaultSegmentSize, MaxSegmentSize)
	def(&o.CheckpointPartSize, CheckpointPartSize, CheckpointPartSize)
	def(&o.MaxBatch, DefaultMaxBatch, 1<<20)
	return o
}

// Emitter writes every environment's change-event log: it diffs the decision
// API's read model (and the environment's Permissions) against the state the
// log describes, and appends the difference as events. It runs on the leader
// only. The stored log is its only memory: a new leader loads it (the newest
// complete checkpoint and the events after it), so what the log already says
// is never emitted again and what it does not say shows up in the next diff.
type Emitter struct {
	opts     Options
	log      logr.Logger
	store    *store.Store
	runStore bool
	cache    cache.Cache
	reader   client.Reader // the API server, never the cache
	writer   client.Client

	mu    sync.Mutex
	dirty map[string]time.Time // namespace -> time of its oldest unemitted change
	wake  chan struct{}

	// Only the Start goroutine uses the fields below.
	started   time.Time // when Start was called (leadership)
	logs      map[string]*nsLog
	notBefore map[string]time.Time // retry backoff after a failure
	backoff   map[string]time.Duration
	// settleSince is when each namespace's emissions began waiting for it to
	// settle (settleWait).
	settleSince map[string]time.Time
	// partial holds the namespaces whose last emission left batches to write.
	partial map[string]bool
}

var (
	_ manager.Runnable               = (*Emitter)(nil)
	_ manager.LeaderElectionRunnable = (*Emitter)(nil)
)

// Setup adds the emitter to mgr. st is the decision API's read model (nil:
// the emitter builds and runs one of its own, from the same cache, while it
// leads). Call it before the manager starts.
func Setup(mgr manager.Manager, st *store.Store, opts Options) error {
	e := New(mgr.GetCache(), mgr.GetAPIReader(), mgr.GetClient(), st, opts)
	return mgr.Add(e)
}

// New returns an emitter reading c (the informer cache) and st (nil: its own
// store of c), loading the log from reader and writing it with writer.
func New(c cache.Cache, reader client.Reader, writer client.Client, st *store.Store, opts Options) *Emitter {
	opts = opts.withDefaults()
	e := &Emitter{opts: opts, log: opts.Logger, store: st, cache: c, reader: reader, writer: writer,
		dirty: map[string]time.Time{}, wake: make(chan struct{}, 1), logs: map[string]*nsLog{},
		notBefore: map[string]time.Time{}, backoff: map[string]time.Duration{}, settleSince: map[string]time.Time{},
		partial: map[string]bool{}}
	if st == nil {
		e.store, e.runStore = store.New(c, opts.Clock, opts.Logger.WithName("store")), true
	}
	e.store.Subscribe(e.changed)
	return e
}

// NeedLeaderElection is true: only the leader writes the log.
func (e *Emitter) NeedLeaderElection() bool { return true }

// changed records a change of namespace ns and wakes the loop; it never blocks.
func (e *Emitter) changed(ns string) {
	e.mu.Lock()
	if _, ok := e.dirty[ns]; !ok {
		e.dirty[ns] = e.opts.Clock.Now()
	}
	e.mu.Unlock()
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// Start runs the emitter until ctx ends.
func (e *Emitter) Start(ctx context.Context) error {
	e.started = e.opts.Clock.Now()
	if e.runStore {
		go func() {
			if err := e.store.Start(ctx); err != nil {
				e.log.Error(err, "The event emitter's read model stopped")
			}
		}()
	}
	inf, err := e.cache.GetInformer(ctx, &orgrbacv1alpha1.Permission{})
	if err != nil {
		return fmt.Errorf("getting the Permission informer: %w", err)
	}
	onPerm := func(obj any) {
		if t, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
			obj = t.Obj
		}
		if o, ok := obj.(client.Object); ok {
			e.changed(o.GetNamespace())
		}
	}
	reg, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{AddFunc: onPerm, DeleteFunc: onPerm,
		UpdateFunc: func(_, obj any) { onPerm(obj) }})
	if err != nil {
		return fmt.Errorf("watching Permissions: %w", err)
	}
	defer func() { _ = inf.RemoveEventHandler(reg) }()
	if err := wait.PollUntilContextCancel(ctx, 50*time.Millisecond, true, func(context.Context) (bool, error) {
		return e.store.Ready() && reg.HasSynced(), nil
	}); err != nil {
		return nil //nolint:nilerr // ctx ended first: a normal shutdown
	}
	for {
		err := e.startup(ctx)
		if err == nil {
			break
		}
		writeErrors.Inc()
		e.log.Error(err, "Loading the event logs; retrying")
		select {
		case <-ctx.Done():
			return nil
		case <-e.opts.Clock.After(2 * time.Second):
		}
	}
	e.log.Info("Event emitter started", "environments", len(e.logs))
	return e.loop(ctx)
}

// startup loads the log of every namespace that has one or has objects.
// When no namespace has a log yet (the first start of a manager with change
// events, e.g. the upgrade that brings them), a namespace with objects gets a
// baseline checkpoint of the objects created before the emitter started: its
// events start then, with no created event for what existed (objects created
// since get theirs). Once any log exists, a namespace without one is new
// since: everything in it gets its created event, so a leader that dies
// before writing a new namespace's first events loses none of them.
func (e *Emitter) startup(ctx context.Context) error {
	nss := map[string]bool{}
	for _, ns := range e.store.Namespaces() {
		nss[ns] = true
	}
	var perms orgrbacv1alpha1.PermissionList
	if err := e.cache.List(ctx, &perms, client.UnsafeDisableDeepCopy); err != nil {
		return fmt.Errorf("listing Permissions: %w", err)
	}
	for i := range perms.Items {
		nss[perms.Items[i].Namespace] = true
	}
	segs := &metav1.PartialObjectMetadataList{}
	segs.SetGroupVersionKind(orgrbacv1alpha1.GroupVersion.WithKind("EventSegmentList"))
	if err := e.reader.List(ctx, segs); err != nil {
		return fmt.Errorf("listing EventSegments: %w", err)
	}
	for i := range segs.Items {
		nss[segs.Items[i].Namespace] = true
	}
	// The first run: no log has an event yet, and every checkpoint is a
	// baseline (through 0). Stored, so it holds across a crash or a retry in
	// the middle of writing the baselines.
	firstRun := true
	for i := range segs.Items {
		if !strings.HasPrefix(segs.Items[i].Name, baselinePrefix) {
			firstRun = false
		}
	}
	now := e.opts.Clock.Now()
	e.mu.Lock()
	for ns := range e.dirty {
		e.dirty[ns] = now // recorded before this replica led: the lag counts from now
	}
	e.mu.Unlock()
	for _, ns := range slices.Sorted(maps.Keys(nss)) {
		if _, ok := e.logs[ns]; ok {
			continue
		}
		l, err := e.load(ctx, ns)
		if err != nil {
			// One namespace's unreadable log must not stop the others': it
			// is loaded again by its emission, with backoff.
			e.log.Error(err, "Loading an event log; it is retried alone", "namespace", ns)
			e.redirty(ns, now)
			continue
		}
		if l.empty() && firstRun {
			v, err := e.existing(ctx, ns)
			if err != nil {
				return err
			}
			if len(v) > 0 {
				if err := e.baseline(ctx, ns, l, v); err != nil {
					return err
				}
				e.log.Info("Event log started: existing objects get no created event", "namespace", ns,
					"objects", len(v))
			}
		}
		e.logs[ns] = l
		e.mu.Lock()
		e.dirty[ns] = now
		e.mu.Unlock()
	}
	return nil
}

// loop emits the dirty namespaces, at most every Interval, and runs
// retention, until ctx ends.
func (e *Emitter) loop(ctx context.Context) error {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	nextRetention := e.opts.Clock.Now()
	for {
		e.updateLag()
		now := e.opts.Clock.Now()
		e.mu.Lock()
		var todo []string
		since := map[string]time.Time{}
		for ns, t := range e.dirty {
			if now.Before(e.notBefore[ns]) || (!e.partial[ns] && e.settleWait(ns, now)) {
				continue
			}
			todo = append(todo, ns)
			since[ns] = t
			delete(e.dirty, ns)
		}
		e.mu.Unlock()
		slices.Sort(todo)
		retain := map[string]bool{}
		for _, ns := range todo {
			started := e.opts.Clock.Now()
			more, newSegment, err := e.emit(ctx, ns)
			// An emission reads the whole namespace's model under its read
			// lock: a namespace whose emission is slow waits twice as long as
			// it took before the next, which bounds the emitter's share of a
			// core and of the decision API's lock.
			if took := e.opts.Clock.Since(started); err == nil && 2*took > e.opts.Interval {
				e.notBefore[ns] = e.opts.Clock.Now().Add(2*took - e.opts.Interval)
			}
			if ctx.Err() != nil {
				return nil
			}
			if newSegment {
				retain[ns] = true
			}
			switch {
			case err != nil:
				writeErrors.Inc()
				// A namespace being deleted refuses writes: its log goes with it.
				// Any other failure is retried, deletions included.
				if (apierrors.IsForbidden(err) || apierrors.IsNotFound(err)) && e.gone(ctx, ns) {
					e.log.Info("Event log of a namespace without objects left behind", "namespace", ns, "error", err.Error())
					e.forget(ns)
					continue
				}
				b := min(max(2*e.backoff[ns], time.Second), 30*time.Second)
				e.backoff[ns], e.notBefore[ns] = b, now.Add(b)
				e.log.Error(err, "Writing the event log; retrying", "namespace", ns, "after", b)
				e.redirty(ns, since[ns])
			case more:
				// The batches that remain follow at once, settling or not.
				e.partial[ns] = true
				e.redirty(ns, since[ns])
			default:
				delete(e.backoff, ns)
				// The next wait for the namespace to settle starts afresh.
				delete(e.partial, ns)
				delete(e.settleSince, ns)
			}
		}
		if !now.Before(nextRetention) {
			nextRetention = now.Add(e.opts.RetentionInterval)
			for ns := range e.logs {
				retain[ns] = true
			}
		}
		for _, ns := range slices.Sorted(maps.Keys(retain)) {
			if l := e.logs[ns]; l != nil {
				if err := e.retain(ctx, ns, l); err != nil {
					if ctx.Err() != nil {
						return nil
					}
					writeErrors.Inc()
					e.log.Error(err, "Pruning the event log", "namespace", ns)
					delete(e.logs, ns) // reload it: it may be partly pruned
					e.changed(ns)
				}
			}
		}
		e.updateLag()
		select {
		case <-ctx.Done():
			return nil
		case <-e.wake:
		case <-tick.C:
		}
		select {
		case <-ctx.Done():
			return nil
		case <-e.opts.Clock.After(e.opts.Interval):
		}
	}
}

// settleWait reports whether ns's emission waits for its memberships to
// settle at now: while they settle, for at most SettleMax since the first wait.
// Only the loop uses settleSince and partial.
func (e *Emitter) settleWait(ns string, now time.Time) bool {
	if e.opts.Settling == nil || !e.opts.Settling(ns) {
		delete(e.settleSince, ns)
		return false
	}
	first, ok := e.settleSince[ns]
	if !ok {
		e.settleSince[ns] = now
		return true
	}
	return now.Sub(first) < e.opts.SettleMax
}

// redirty marks ns changed since t again (unless a newer change marked it).
func (e *Emitter) redirty(ns string, t time.Time) {
	e.mu.Lock()
	if old, ok := e.dirty[ns]; !ok || t.Before(old) {
		e.dirty[ns] = t
	}
	e.mu.Unlock()
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// updateLag publishes the age of the oldest unemitted change.
func (e *Emitter) updateLag() {
	e.mu.Lock()
	var oldest time.Time
	for _, t := range e.dirty {
		if oldest.IsZero() || t.Before(oldest) {
			oldest = t
		}
	}
	e.mu.Unlock()
	lag := 0.0
	if !oldest.IsZero() {
		lag = max(e.opts.Clock.Since(oldest).Seconds(), 0)
	}
	emitLag.Set(lag)
}

// gone reports whether namespace ns holds nothing the log shows (its
// environment, or the namespace, was deleted): a failed write of its log is
// then not retried.
func (e *Emitter) gone(ctx context.Context, ns string) bool {
	d, err := e.digests(ctx, ns)
	return err == nil && len(d) == 0
}

// forget drops what the emitter keeps of namespace ns.
func (e *Emitter) forget(ns string) {
	delete(e.logs, ns)
	delete(e.backoff, ns)
	delete(e.notBefore, ns)
	delete(e.settleSince, ns)
	delete(e.partial, ns)
	setLogSize(ns, 0, 0, true)
}

// permissions lists the Permissions of ns from the cache (shared: read only).
func (e *Emitter) permissions(ctx context.Context, ns string) ([]orgrbacv1alpha1.Permission, error) {
	var perms orgrbacv1alpha1.PermissionList
	if err := e.cache.List(ctx, &perms, client.InNamespace(ns), client.UnsafeDisableDeepCopy); err != nil {
		return nil, fmt.Errorf("listing the Permissions of %s: %w", ns, err)
	}
	return perms.Items, nil
}

// digests returns the current digest of every key of ns.
func (e *Emitter) digests(ctx context.Context, ns string) (map[string]uint64, error) {
	perms, err := e.permissions(ctx, ns)
	if err != nil {
		return nil, err
	}
	var d map[string]uint64
	e.store.Get(ns).Read(func(c *store.Content) { d = NewView(c, perms).Digests })
	return d, nil
}

// existing returns the current digest of every key of ns whose object was
// created before the emitter started (a second earlier, at least: creation
// times have seconds).
func (e *Emitter) existing(ctx context.Context, ns string) (map[string]uint64, error) {
	perms, err := e.permissions(ctx, ns)
	if err != nil {
		return nil, err
	}
	before := e.started.Truncate(time.Second)
	d := map[string]uint64{}
	e.store.Get(ns).Read(func(c *store.Content) {
		v := NewView(c, perms)
		for k, digest := range v.Digests {
			if v.Created(k).Before(before) {
				d[k] = digest
			}
		}
	})
	return d, nil
}

// errConflict says another writer changed the log.
var errConflict = errors.New("the event log was written by another writer")

// emit appends the changes of ns to its log. more: changes remain (the batch
// was full); newSegment: a segment was created.
func (e *Emitter) emit(ctx context.Context, ns string) (more, newSegment bool, err error) {
	for range 3 {
		l := e.logs[ns]
		if l == nil {
			if l, err = e.load(ctx, ns); err != nil {
				return false, false, err
			}
			e.logs[ns] = l
		}
		more, newSegment, err = e.emitOnce(ctx, ns, l)
		if !errors.Is(err, errConflict) {
			if err != nil {
				// A write may have failed here and been applied by the API
				// server (a timeout): the log is read again before the retry.
				delete(e.logs, ns)
			}
			return more, newSegment, err
		}
		e.log.Info("The event log changed under this writer: reloading it", "namespace", ns)
		delete(e.logs, ns)
	}
	return false, newSegment, err
}

// emitOnce diffs ns against l and appends the events.
func (e *Emitter) emitOnce(ctx context.Context, ns string, l *nsLog) (more, newSegment bool, err error) {
	perms, err := e.permissions(ctx, ns)
	if err != nil {
		return false, false, err
	}
	var (
		changes []Change
		evs     []orgrbacv1alpha1.StoredEvent
	)
	e.store.Get(ns).Read(func(c *store.Content) {
		v := NewView(c, perms)
		changes = Diff(l.state, v.Digests)
		if len(changes) > e.opts.MaxBatch {
			changes, more = changes[:e.opts.MaxBatch], true
		}
		evs = make([]orgrbacv1alpha1.StoredEvent, len(changes))
		for i, ch := range changes {
			evs[i] = orgrbacv1alpha1.StoredEvent{Event: EventName(ch.Kind, ch.Op), Key: ch.Key}
			if ch.Op == Deleted {
				continue
			}
			evs[i].Digest = FormatDigest(ch.Digest)
			var raw []byte
			if raw, evs[i].OrganizationID, err = v.Data(ch.Key); err != nil {
				return
			}
			evs[i].Data = runtime.RawExtension{Raw: raw}
		}
	})
	if err != nil || len(evs) == 0 {
		return false, false, err
	}
	if err := e.fillDeletions(ctx, ns, l, evs); err != nil {
		return false, false, err
	}
	millis := max(e.opts.Clock.Now().UnixMilli(), l.lastMillis)
	for i := range evs {
		seq := l.lastSeq + 1 + int64(i)
		evs[i].ID, evs[i].CreatedAtMillis = ID(seq, time.UnixMilli(millis)), millis
	}
	newSegment, err = e.append(ctx, ns, l, evs)
	return more, newSegment, err
}

// fillDeletions gives each deletion of evs the data and organization of the
// last event about its key (the object as clients last saw it), or a
// tombstone when retention pruned that event.
func (e *Emitter) fillDeletions(ctx context.Context, ns string, l *nsLog, evs []orgrbacv1alpha1.StoredEvent) error {
	read := map[string]*orgrbacv1alpha1.EventSegment{}
	for i := range evs {
		ev := &evs[i]
		if ev.Digest != "" {
			continue
		}
		ev.Data = runtime.RawExtension{Raw: TombstoneData(ev.Key)}
		seq := l.state[ev.Key].Seq
		j := sort.Search(len(l.segments), func(j int) bool { return l.segments[j].first > seq }) - 1
		if seq == 0 || j < 0 {
			continue
		}
		info := l.segments[j]
		seg := read[info.name]
		if seg == nil {
			if l.open != nil && l.open.Name == info.name {
				seg = l.open
			} else {
				seg = &orgrbacv1alpha1.EventSegment{}
				err := e.reader.Get(ctx, client.ObjectKey{Namespace: ns, Name: info.name}, seg)
				if apierrors.IsNotFound(err) {
					continue
				}
				if err != nil {
					return fmt.Errorf("reading event segment %s/%s: %w", ns, info.name, err)
				}
			}
			read[info.name] = seg
		}
		if k := seq - info.first; k < int64(len(seg.Spec.Events)) && seg.Spec.Events[k].Key == ev.Key {
			last := &seg.Spec.Events[k]
			ev.Data, ev.OrganizationID = *last.Data.DeepCopy(), last.OrganizationID
		}
	}
	return nil
}

// append writes evs (sequence numbers from l.lastSeq+1) to the log of ns:
// into the open segment while it has room, then into new segments. After
// each write succeeds, l describes it.
func (e *Emitter) append(ctx context.Context, ns string, l *nsLog, evs []orgrbacv1alpha1.StoredEvent) (newSegment bool, err error) {
	sizes := make([]int, len(evs))
	for i := range evs {
		sizes[i] = eventSize(&evs[i])
	}
	if l.open != nil && sealed(l.open) {
		l.open, l.openBytes = nil, 0 // its successor is due: created below
	}
	openCount := -1
	if l.open != nil {
		openCount = len(l.open.Spec.Events)
	}
	intoOpen, runs := Split(openCount, l.openBytes, sizes, e.opts.SegmentEvents, e.opts.SegmentBytes)
	// A segment is sealed (annotated) by the update that precedes the creation
	// of the next one, with its resourceVersion: a writer whose view of the
	// log is stale fails on it (or on the next one's name) instead of
	// creating a segment whose sequence numbers another already holds, and
	// nobody appends to a sealed segment.
	if intoOpen > 0 || (l.open != nil && len(runs) > 0) {
		seg := l.open.DeepCopy()
		seg.Spec.Events = append(seg.Spec.Events, evs[:intoOpen]...)
		if len(runs) > 0 {
			seal(seg)
		}
		if err := e.writer.Update(ctx, seg); err != nil {
			if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
				return false, fmt.Errorf("updating event segment %s/%s: %w: %w", ns, seg.Name, errConflict, err)
			}
			return false, fmt.Errorf("updating event segment %s/%s: %w", ns, seg.Name, err)
		}
		l.open = seg
		l.appended(evs[:intoOpen], sizes[:intoOpen])
	}
	i := intoOpen
	for r, n := range runs {
		first := l.lastSeq + 1
		seg := &orgrbacv1alpha1.EventSegment{
			ObjectMeta: metav1.ObjectMeta{Name: SegmentName(first), Namespace: ns,
				Labels: map[string]string{orgrbacv1alpha1.LabelEventSegment: string(orgrbacv1alpha1.EventSegmentEvents)}},
			Spec: orgrbacv1alpha1.EventSegmentSpec{Type: orgrbacv1alpha1.EventSegmentEvents, First: &first,
				Events: slices.Clone(evs[i : i+n])},
		}
		if r < len(runs)-1 {
			seal(seg) // another follows at once
		}
		if err := e.writer.Create(ctx, seg); err != nil {
			if apierrors.IsAlreadyExists(err) {
				return newSegment, fmt.Errorf("creating event segment %s/%s: %w: %w", ns, seg.Name, errConflict, err)
			}
			return newSegment, fmt.Errorf("creating event segment %s/%s: %w", ns, seg.Name, err)
		}
		newSegment = true
		l.open, l.openBytes = seg, 0
		l.segments = append(l.segments, segInfo{name: seg.Name, first: first})
		l.appended(evs[i:i+n], sizes[i:i+n])
		i += n
	}
	l.publish(ns)
	return newSegment, nil
}

// baselinePrefix starts the names of the parts of a checkpoint through 0.
var baselinePrefix = strings.TrimSuffix(CheckpointName(0, 0), "0000")

// AnnotationSealed marks an Events segment that takes no more events: the
// next one exists, or is being created.
const AnnotationSealed = "orgrbac.dev/sealed"

func seal(seg *orgrbacv1alpha1.EventSegment) {
	if seg.Annotations == nil {
		seg.Annotations = map[string]string{}
	}
	seg.Annotations[AnnotationSealed] = "true"
}

// sealed reports whether seg takes no more events.
func sealed(seg *orgrbacv1alpha1.EventSegment) bool {
	return seg.Annotations[AnnotationSealed] == "true"
}

// baseline writes a checkpoint through 0 of digests: the log of ns starts
// from the current state.
func (e *Emitter) baseline(ctx context.Context, ns string, l *nsLog, digests map[string]uint64) error {
	state := State{}
	for k, d := range digests {
		state[k] = Described{Digest: d}
	}
	names, err := e.writeCheckpoint(ctx, ns, 0, state)
	if err != nil {
		return err
	}
	l.state, l.checkpoint, l.checkpointNames = state, 0, names
	return nil
}

// writeCheckpoint writes the parts of a checkpoint through seq of state; a
// part that exists already (written by another writer from the same log) is
// kept.
func (e *Emitter) writeCheckpoint(ctx context.Context, ns string, through int64, state State) ([]string, error) {
	parts := CheckpointParts(state, e.opts.CheckpointPartSize)
	names := make([]string, 0, len(parts))
	for i, entries := range parts {
		seg := &orgrbacv1alpha1.EventSegment{
			ObjectMeta: metav1.ObjectMeta{Name: CheckpointName(through, int32(i)), Namespace: ns,
				Labels: map[string]string{orgrbacv1alpha1.LabelEventSegment: string(orgrbacv1alpha1.EventSegmentCheckpoint)}},
			Spec: orgrbacv1alpha1.EventSegmentSpec{Type: orgrbacv1alpha1.EventSegmentCheckpoint, First: &through,
				Part: int32(i), Parts: int32(len(parts)), State: entries}, //nolint:gosec // at most 10000 parts
		}
		if err := e.writer.Create(ctx, seg); err != nil && !apierrors.IsAlreadyExists(err) {
			return nil, fmt.Errorf("writing event checkpoint %s/%s: %w", ns, seg.Name, err)
		}
		names = append(names, seg.Name)
	}
	return names, nil
}
