package events

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/api/store"
	"github.com/orgrbac/orgrbac/internal/api/store/storetest"
	"github.com/orgrbac/orgrbac/internal/manageropts"
)

// The log's writers against a fake API server: what happens when a write
// fails after the server applied it, when two leaders overlap, and when a
// checkpoint was left half written. Each ends with a well-formed log.

// readerCache is the cache the emitter lists Permissions and Environments
// from, backed by a client.
type readerCache struct {
	cache.Cache
	r client.Reader
}

func (c readerCache) List(ctx context.Context, l client.ObjectList, opts ...client.ListOption) error {
	return c.r.List(ctx, l, opts...)
}

const testNS = "videos"

// testEmitter is an emitter of st that reads and writes the log through c.
func testEmitter(c client.Client, st *store.Store, opts Options) *Emitter {
	opts.Logger, opts.Clock = logr.Discard(), clocktesting.NewFakeClock(storetest.T0)
	return New(readerCache{r: c}, c, c, st, opts)
}

// sampleStore is a store holding storetest.Sample plus extra memberships of acme.
func sampleStore(extra ...string) *store.Store {
	objs := storetest.Sample()
	for i, name := range extra {
		objs.Memberships = append(objs.Memberships, storetest.Member(name, "acme", "u_"+name, 20+i, "", true,
			[]string{"member"}, "videos:view"))
	}
	st := store.New(nil, clocktesting.NewFakeClock(storetest.T0), logr.Discard())
	st.Load(testNS, objs.Objects, objs.Memberships, 0)
	return st
}

// storedLog reads the stored log and checks it: consecutive sequence numbers
// from the checkpoint's, each key's events a valid history.
func storedLog(t *testing.T, c client.Reader) []orgrbacv1alpha1.StoredEvent {
	t.Helper()
	var segs orgrbacv1alpha1.EventSegmentList
	if err := c.List(context.Background(), &segs, client.InNamespace(testNS)); err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(segs.Items, func(a, b orgrbacv1alpha1.EventSegment) int { return cmpFirst(&a, &b) })
	var evs []orgrbacv1alpha1.StoredEvent
	next := int64(-1)
	for _, s := range segs.Items {
		if s.Spec.Type != orgrbacv1alpha1.EventSegmentEvents {
			continue
		}
		if next >= 0 && first(&s) != next {
			t.Fatalf("segment %s starts at %d, want %d: a gap or an overlap", s.Name, first(&s), next)
		}
		next = first(&s) + int64(len(s.Spec.Events))
		evs = append(evs, s.Spec.Events...)
	}
	last := map[string]string{}
	for _, e := range evs {
		if e.Digest != "" && last[e.Key] == e.Digest {
			t.Errorf("%s: %s repeats the state the log already described", e.ID, e.Key)
		}
		last[e.Key] = e.Digest
	}
	return evs
}

// eventsAbout are the types of the events of evs about key, in order.
func eventsAbout(evs []orgrbacv1alpha1.StoredEvent, key string) []string {
	var out []string
	for _, e := range evs {
		if e.Key == key {
			out = append(out, e.Event)
		}
	}
	return out
}

func emitNow(t *testing.T, e *Emitter) error {
	t.Helper()
	_, _, err := e.emit(context.Background(), testNS)
	return err
}

func TestAWriteAppliedButFailedIsReadAgain(t *testing.T) {
	failNext := false
	base := fake.NewClientBuilder().WithScheme(manageropts.Scheme()).Build()
	c := interceptor.NewClient(base, interceptor.Funcs{
		Update: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.UpdateOption) error {
			if err := c.Update(ctx, obj, opts...); err != nil {
				return err
			}
			if failNext {
				failNext = false
				return apierrors.NewTimeoutError("the server applied the update, the client gave up", 1)
			}
			return nil
		},
	})
	e := testEmitter(c, sampleStore(), Options{})
	if err := emitNow(t, e); err != nil {
		t.Fatal(err)
	}
	// An append to the open segment is applied, but its answer is lost.
	staleBytes := e.logs[testNS].openBytes
	e.store = sampleStore("zoe")
	failNext = true
	if err := emitNow(t, e); err == nil {
		t.Fatal("the failed update reported no error")
	}
	// The next emission appends more, some of it into a new segment: it
	// must read the log again first, not reuse the sequence numbers the
	// lost answer took.
	e.opts.SegmentBytes = staleBytes + 1
	e.store = sampleStore("zoe", "yann", "xena")
	if err := emitNow(t, e); err != nil {
		t.Fatal(err)
	}
	evs := storedLog(t, c)
	for _, name := range []string{"zoe", "yann", "xena"} {
		if got := eventsAbout(evs, MembershipKey(name)); !slices.Equal(got, []string{"organization_membership.created"}) {
			t.Errorf("%s: %v, want one created", name, got)
		}
	}
}

func TestOverlappingLeadersNeverShareASequenceNumber(t *testing.T) {
	c := fake.NewClientBuilder().WithScheme(manageropts.Scheme()).Build()
	a := testEmitter(c, sampleStore(), Options{})
	if err := emitNow(t, a); err != nil {
		t.Fatal(err)
	}
	b := testEmitter(c, sampleStore(), Options{})
	if err := emitNow(t, b); err != nil { // loads the log: nothing to emit
		t.Fatal(err)
	}
	if n := len(storedLog(t, c)); n == 0 {
		t.Fatal("a emitted nothing")
	}
	// a, still leading, appends a small change; b's view is now stale.
	a.store = sampleStore("zoe")
	if err := emitNow(t, a); err != nil {
		t.Fatal(err)
	}
	// b has a change that does not fit its view of the open segment: it
	// would create the next segment, named after its stale last sequence
	// number, which a's append already used. The seal refuses it.
	b.store = sampleStore("zoe", "yann")
	b.opts.SegmentBytes = b.logs[testNS].openBytes + 1
	_, _, err := b.emitOnce(context.Background(), testNS, b.logs[testNS])
	if err == nil || !strings.Contains(err.Error(), errConflict.Error()) {
		t.Fatalf("b's stale append: %v, want a conflict", err)
	}
	// Reloaded, b emits exactly what a did not.
	if err := emitNow(t, b); err != nil {
		t.Fatal(err)
	}
	evs := storedLog(t, c)
	for _, name := range []string{"zoe", "yann"} {
		if got := eventsAbout(evs, MembershipKey(name)); !slices.Equal(got, []string{"organization_membership.created"}) {
			t.Errorf("%s: %v, want one created", name, got)
		}
	}
}

func TestRetentionCompletesAHalfWrittenCheckpoint(t *testing.T) {
	c := fake.NewClientBuilder().WithScheme(manageropts.Scheme()).Build()
	opts := Options{SegmentEvents: 2, CheckpointPartSize: 2, MaxEvents: 1000}
	e := testEmitter(c, sampleStore(), opts)
	if err := emitNow(t, e); err != nil {
		t.Fatal(err)
	}
	l := e.logs[testNS]
	if len(l.segments) < 3 {
		t.Fatalf("%d segments, want several", len(l.segments))
	}
	// A leader pruned the two oldest segments and died after writing the first
	// part of the checkpoint: the next retention, through the same event,
	// finds it, completes it, and must keep it.
	pruned := l.segments[0].count + l.segments[1].count
	through := l.segments[1].first + int64(l.segments[1].count) - 1
	state := State{}
	all := storedLog(t, c)
	for i := range all[:through] {
		if err := state.Apply(&all[i], int64(i+1)); err != nil {
			t.Fatal(err)
		}
	}
	parts := CheckpointParts(state, opts.CheckpointPartSize)
	if len(parts) < 2 {
		t.Fatalf("%d checkpoint parts, want several", len(parts))
	}
	half := &orgrbacv1alpha1.EventSegment{}
	half.Namespace, half.Name = testNS, CheckpointName(through, 0)
	half.Labels = map[string]string{orgrbacv1alpha1.LabelEventSegment: string(orgrbacv1alpha1.EventSegmentCheckpoint)}
	half.Spec = orgrbacv1alpha1.EventSegmentSpec{Type: orgrbacv1alpha1.EventSegmentCheckpoint, First: &through,
		Part: 0, Parts: int32(len(parts)), State: parts[0]}
	if err := c.Create(context.Background(), half); err != nil {
		t.Fatal(err)
	}
	fresh := testEmitter(c, sampleStore(), Options{SegmentEvents: 2, CheckpointPartSize: 2,
		MaxEvents: len(all) - pruned})
	reloaded, err := fresh.load(context.Background(), testNS)
	if err != nil {
		t.Fatal(err)
	}
	fresh.logs[testNS] = reloaded
	if err := fresh.retain(context.Background(), testNS, reloaded); err != nil {
		t.Fatal(err)
	}
	after, err := fresh.load(context.Background(), testNS)
	if err != nil {
		t.Fatal(err)
	}
	if after.checkpoint != through {
		t.Fatalf("checkpoint through %d after retention, want %d", after.checkpoint, through)
	}
	if len(after.state) == 0 {
		t.Fatal("the reloaded log describes nothing")
	}
	fresh.logs[testNS] = after
	before := len(storedLog(t, c))
	if err := emitNow(t, fresh); err != nil {
		t.Fatal(err)
	}
	if n := len(storedLog(t, c)); n != before {
		t.Errorf("the log grew from %d to %d events after a retention over a half-written checkpoint: it re-emitted", before, n)
	}
}
