package webhooks

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/events"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	orgevents "github.com/orgrbac/orgrbac/internal/events"
)

// loopFixture is one endpoint's loop over a fake API server and a test receiver.
type loopFixture struct {
	t        *testing.T
	c        client.Client
	clock    *clocktesting.FakeClock
	recorder *events.FakeRecorder
	l        *loop
	failing  atomic.Bool
	mu       sync.Mutex
	received []string
}

const fixtureNS = "env"

// newLoopFixture creates the endpoint (created at created, with change
// applied), its Secret and a segment of evs, and a loop at now.
func newLoopFixture(t *testing.T, now, created time.Time, evs []orgrbacv1alpha1.StoredEvent,
	change func(*orgrbacv1alpha1.WebhookEndpoint)) *loopFixture {
	t.Helper()
	f := &loopFixture{t: t, clock: clocktesting.NewFakeClock(now), recorder: events.NewFakeRecorder(100)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f.failing.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		var body struct {
			ID string `json:"id"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		f.received = append(f.received, body.ID)
		f.mu.Unlock()
	}))
	t.Cleanup(srv.Close)

	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := orgrbacv1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	ep := &orgrbacv1alpha1.WebhookEndpoint{
		ObjectMeta: metav1.ObjectMeta{Namespace: fixtureNS, Name: "hook", UID: "uid-1", Generation: 1,
			CreationTimestamp: metav1.NewTime(created)},
		Spec: orgrbacv1alpha1.WebhookEndpointSpec{URL: srv.URL + "/hook",
			SecretRef: orgrbacv1alpha1.SecretKeyReference{Name: "s"}},
	}
	if change != nil {
		change(ep)
	}
	first := int64(1)
	seg := &orgrbacv1alpha1.EventSegment{
		ObjectMeta: metav1.ObjectMeta{Namespace: fixtureNS, Name: orgevents.SegmentName(first),
			Labels: map[string]string{orgrbacv1alpha1.LabelEventSegment: string(orgrbacv1alpha1.EventSegmentEvents)}},
		Spec: orgrbacv1alpha1.EventSegmentSpec{Type: orgrbacv1alpha1.EventSegmentEvents, First: &first, Events: evs},
	}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: fixtureNS, Name: "s"},
		Data: map[string][]byte{"secret": []byte("whsec")}}
	f.c = fake.NewClientBuilder().WithScheme(scheme).WithObjects(ep, seg, secret).
		WithStatusSubresource(&orgrbacv1alpha1.WebhookEndpoint{}).Build()
	policy, err := ParseDestinations("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	d := &deliverer{cache: f.c, client: f.c, api: f.c, recorder: f.recorder,
		opts: Options{Destinations: policy, Clock: f.clock, Jitter: func() float64 { return 0 }}.withDefaults()}
	key := types.NamespacedName{Namespace: fixtureNS, Name: "hook"}
	f.l = &loop{d: d, key: key, uid: "uid-1", wake: make(chan struct{}, 1)}
	t.Cleanup(func() { deliveryLag.forget(key) })
	return f
}

// step runs one step of the loop.
func (f *loopFixture) step() time.Duration {
	f.t.Helper()
	wait, stop := f.l.step(context.Background())
	if stop {
		f.t.Fatal("the loop stopped")
	}
	return wait
}

// stored is the endpoint as stored.
func (f *loopFixture) stored() *orgrbacv1alpha1.WebhookEndpoint {
	f.t.Helper()
	ep := &orgrbacv1alpha1.WebhookEndpoint{}
	if err := f.c.Get(context.Background(), f.l.key, ep); err != nil {
		f.t.Fatal(err)
	}
	return ep
}

func (f *loopFixture) warnings() []string {
	var out []string
	for {
		select {
		case e := <-f.recorder.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}

// storedEvents are n events of type typ, the i-th created at at(i).
func storedEvents(n int, typ func(int) string, at func(int) time.Time) []orgrbacv1alpha1.StoredEvent {
	out := make([]orgrbacv1alpha1.StoredEvent, n)
	for i := range n {
		out[i] = orgrbacv1alpha1.StoredEvent{ID: orgevents.ID(int64(i+1), at(i)), Event: typ(i),
			CreatedAtMillis: at(i).UnixMilli(), Data: runtime.RawExtension{Raw: []byte(`{}`)}}
	}
	return out
}

// An endpoint filtering on a type the log does not hold moves its cursor past
// the skipped events, and records it lazily (within StatusInterval).
func TestLoopSkipsFilteredEvents(t *testing.T) {
	now := time.UnixMilli(1_800_000_000_000)
	evs := storedEvents(250, func(int) string { return "organization.updated" },
		func(i int) time.Time { return now.Add(-time.Hour + time.Duration(i)*time.Second) })
	f := newLoopFixture(t, now, now.Add(-2*time.Hour), evs, func(ep *orgrbacv1alpha1.WebhookEndpoint) {
		ep.Spec.Events = []string{"role.created"}
	})
	wait := f.step()
	if got := f.l.status.LastDeliveredEventID; got != evs[249].ID {
		t.Fatalf("cursor %q, want the last skipped event %q", got, evs[249].ID)
	}
	if wait != forever {
		// Written at once here: the Ready condition changed.
		if wait <= 0 || wait > time.Second {
			t.Errorf("wait %v, want forever or at most StatusInterval", wait)
		}
		f.clock.Step(wait)
		f.step()
	}
	if got := f.stored().Status.LastDeliveredEventID; got != evs[249].ID {
		t.Errorf("recorded cursor %q, want %q", got, evs[249].ID)
	}
	if len(f.received) != 0 {
		t.Errorf("delivered %v", f.received)
	}
}

// Only matching events are delivered, in bounded batches; the cursor ends at
// the log's last event.
func TestLoopDeliversInBatches(t *testing.T) {
	now := time.UnixMilli(1_800_000_000_000)
	typ := func(i int) string {
		if i%3 == 0 {
			return "role.created"
		}
		return "role.updated"
	}
	evs := storedEvents(2*maxBatch*3+5, typ, func(i int) time.Time { return now.Add(-time.Hour + time.Duration(i)*time.Millisecond) })
	f := newLoopFixture(t, now, now.Add(-2*time.Hour), evs, func(ep *orgrbacv1alpha1.WebhookEndpoint) {
		ep.Spec.Events = []string{"role.created"}
	})
	var want []string
	for i := range evs {
		if typ(i) == "role.created" {
			want = append(want, evs[i].ID)
		}
	}
	for range 10 {
		if f.step() == forever {
			break
		}
	}
	if strings.Join(f.received, ",") != strings.Join(want, ",") {
		t.Errorf("delivered %d events, want the %d of the filter in order", len(f.received), len(want))
	}
	if got := f.l.status.LastDeliveredEventID; got != evs[len(evs)-1].ID {
		t.Errorf("cursor %q, want the log's last %q", got, evs[len(evs)-1].ID)
	}
	if got := f.l.status.DeliveredEvents; got != int64(len(want)) {
		t.Errorf("deliveredEvents %d, want %d", got, len(want))
	}
}

// After a long outage, the events older than the retry window are given up
// at once (one Warning event for the run), whatever the manager's restarts;
// the younger ones are retried with backoff and delivered once the
// destination recovers.
func TestLoopGivesUpOldEvents(t *testing.T) {
	now := time.UnixMilli(1_800_000_000_000)
	const old, young = 2*maxBatch + 30, 3
	evs := storedEvents(old+young, func(int) string { return "role.created" }, func(i int) time.Time {
		if i < old {
			return now.Add(-2*time.Hour + time.Duration(i)*time.Second)
		}
		return now.Add(-10 * time.Second)
	})
	f := newLoopFixture(t, now, now.Add(-3*time.Hour), evs, func(ep *orgrbacv1alpha1.WebhookEndpoint) {
		ep.Spec.RetryWindowSeconds = 3600
	})
	f.failing.Store(true)
	var wait time.Duration
	for range 10 {
		if wait = f.step(); wait != 0 {
			break
		}
	}
	st := f.l.status
	if st.FailedEvents != old || st.LastDeliveredEventID != evs[old-1].ID {
		t.Fatalf("failedEvents %d, cursor %q; want %d given up, cursor %q", st.FailedEvents, st.LastDeliveredEventID, old, evs[old-1].ID)
	}
	if st.ConsecutiveFailures != 1 || st.NextRetryAt == nil || wait != time.Second {
		t.Errorf("consecutiveFailures %d, nextRetryAt %v, wait %v: want one attempt, then a 1 s backoff",
			st.ConsecutiveFailures, st.NextRetryAt, wait)
	}
	if w := f.warnings(); len(w) == 0 || len(w) > 4 || !strings.Contains(w[0], "EventGivenUp") {
		t.Errorf("warnings %q, want a few summarising the runs", w)
	}
	if got := f.stored().Status; got.FailedEvents != old || got.LastDeliveredEventID != evs[old-1].ID {
		t.Errorf("recorded failedEvents %d, cursor %q", got.FailedEvents, got.LastDeliveredEventID)
	}

	// Restarted: the young events keep their age; they are retried, then delivered.
	f.l = &loop{d: f.l.d, key: f.l.key, uid: f.l.uid, wake: make(chan struct{}, 1)}
	f.clock.Step(time.Second)
	if wait := f.step(); wait != 2*time.Second {
		t.Errorf("wait %v after another failure, want the 2 s backoff", wait)
	}
	if got := f.l.status.FailedEvents; got != old {
		t.Errorf("failedEvents %d: an event inside its window was given up", got)
	}
	f.failing.Store(false)
	f.clock.Step(2 * time.Second)
	for range 3 {
		if f.step() == forever {
			break
		}
	}
	if strings.Join(f.received, ",") != strings.Join([]string{evs[old].ID, evs[old+1].ID, evs[old+2].ID}, ",") {
		t.Errorf("delivered %v, want the young events", f.received)
	}

	// An hour on, a young event failing is given up too (its age, not the failure's).
	f.l.down = false
	f.failing.Store(true)
	f.l.status.LastDeliveredEventID = evs[old].ID
	f.clock.Step(time.Hour)
	for range 5 {
		if f.step() != 0 {
			break
		}
	}
	if got := f.l.status.FailedEvents; got != old+2 {
		t.Errorf("failedEvents %d, want %d", got, old+2)
	}
}

// A status write conditional on a stale resourceVersion never moves a newer
// leader's cursor back: the loop keeps the stored status.
func TestFlushKeepsANewerCursor(t *testing.T) {
	now := time.UnixMilli(1_800_000_000_000)
	evs := storedEvents(5, func(int) string { return "role.created" }, func(i int) time.Time { return now.Add(-time.Minute) })
	f := newLoopFixture(t, now, now.Add(-time.Hour), evs, nil)
	ctx := context.Background()
	if _, gone, err := f.l.get(ctx); gone || err != nil {
		t.Fatal(gone, err)
	}
	// A newer leader records event 4.
	ep := f.stored()
	ep.Status.LastDeliveredEventID = evs[3].ID
	ep.Status.DeliveredEvents = 4
	if err := f.c.Status().Update(ctx, ep); err != nil {
		t.Fatal(err)
	}
	// The old leader's stale copy flushes event 2 on shutdown.
	f.l.status.LastDeliveredEventID = evs[1].ID
	f.l.status.DeliveredEvents = 2
	f.l.flush(ctx, now, true)
	if got := f.stored().Status; got.LastDeliveredEventID != evs[3].ID || got.DeliveredEvents != 4 {
		t.Errorf("stored cursor %q (%d delivered), want the newer leader's %q", got.LastDeliveredEventID, got.DeliveredEvents, evs[3].ID)
	}
	if f.l.status.LastDeliveredEventID != evs[3].ID {
		t.Errorf("the loop's cursor %q, want it to take the newer one", f.l.status.LastDeliveredEventID)
	}

	// Ahead of the stored one after a conflict: written.
	ep = f.stored()
	ep.Annotations = map[string]string{"touched": "yes"}
	if err := f.c.Update(ctx, ep); err != nil {
		t.Fatal(err)
	}
	f.l.status.LastDeliveredEventID = evs[4].ID
	f.l.flush(ctx, now.Add(time.Second), true)
	if got := f.stored().Status.LastDeliveredEventID; got != evs[4].ID {
		t.Errorf("stored cursor %q, want %q", got, evs[4].ID)
	}
}
