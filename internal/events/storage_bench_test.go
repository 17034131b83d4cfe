package events

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/api/store"
	"github.com/orgrbac/orgrbac/internal/api/store/storetest"
)

// BenchmarkStorage100k measures what the change-event log stores for the
// benchmark's 100k environment (storetest.Scale100k: 100,000 memberships in
// 1,000 organizations, 200 roles): the log of a created event for every
// object, packed into segments as the emitter packs them (100 events, 64 KiB)
// and encoded as the API server stores a custom resource (its JSON, with the
// metadata the server adds), and the checkpoint of the same state. It also
// times what a new leader does with them: replaying the log and loading the
// checkpoint. Run with -benchtime=1x; docs/events.md records the results.
func BenchmarkStorage100k(b *testing.B) {
	objs := storetest.ScaleObjects(storetest.Scale100k)
	x := store.New(nil, clocktesting.NewFakeClock(storetest.T0), logr.Discard())
	x.Load("videos", objs.Objects, objs.Memberships, 0)
	var evs []orgrbacv1alpha1.StoredEvent
	t0 := storetest.T0
	x.Get("videos").Read(func(c *store.Content) {
		v := NewView(c, nil)
		keys := make([]string, 0, len(v.Digests))
		for k := range v.Digests {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(a, b string) int {
			ka, _ := KindOf(a)
			kb, _ := KindOf(b)
			return int(ka-kb)*2 + strings.Compare(a, b)
		})
		for i, k := range keys {
			raw, org, err := v.Data(k)
			if err != nil {
				b.Fatal(err)
			}
			kind, _ := KindOf(k)
			seq := int64(i + 1)
			at := t0.Add(time.Duration(i) * time.Millisecond)
			evs = append(evs, orgrbacv1alpha1.StoredEvent{ID: ID(seq, at), Event: EventName(kind, Created), Key: k,
				Digest: FormatDigest(v.Digests[k]), OrganizationID: org, CreatedAtMillis: at.UnixMilli(),
				Data: runtime.RawExtension{Raw: raw}})
		}
	})
	sizes := make([]int, len(evs))
	for i := range evs {
		sizes[i] = eventSize(&evs[i])
	}
	_, runs := Split(-1, 0, sizes, DefaultSegmentEvents, DefaultSegmentSize)
	logBytes, memberBytes, members := 0, 0, 0
	first := 0
	for _, n := range runs {
		f := int64(first + 1)
		seg := storedObject(&orgrbacv1alpha1.EventSegment{
			ObjectMeta: metav1.ObjectMeta{Name: SegmentName(f),
				Labels: map[string]string{orgrbacv1alpha1.LabelEventSegment: string(orgrbacv1alpha1.EventSegmentEvents)}},
			Spec: orgrbacv1alpha1.EventSegmentSpec{Type: orgrbacv1alpha1.EventSegmentEvents, First: &f,
				Events: evs[first : first+n]}})
		data, err := json.Marshal(seg)
		if err != nil {
			b.Fatal(err)
		}
		logBytes += len(data)
		for i := first; i < first+n; i++ {
			if strings.HasPrefix(evs[i].Key, "membership/") {
				one, err := json.Marshal(evs[i])
				if err != nil {
					b.Fatal(err)
				}
				memberBytes += len(one)
				members++
			}
		}
		first += n
	}
	state := State{}
	for i := range evs {
		if err := state.Apply(&evs[i], int64(i+1)); err != nil {
			b.Fatal(err)
		}
	}
	parts := CheckpointParts(state, CheckpointPartSize)
	checkpointBytes := 0
	through := int64(len(evs))
	for i, p := range parts {
		data, err := json.Marshal(storedObject(&orgrbacv1alpha1.EventSegment{
			ObjectMeta: metav1.ObjectMeta{Name: CheckpointName(through, int32(i))},
			Spec: orgrbacv1alpha1.EventSegmentSpec{Type: orgrbacv1alpha1.EventSegmentCheckpoint, First: &through,
				Part: int32(i), Parts: int32(len(parts)), State: p}}))
		if err != nil {
			b.Fatal(err)
		}
		checkpointBytes += len(data)
	}

	b.ResetTimer()
	for b.Loop() {
		replayed := State{}
		for i := range evs {
			if err := replayed.Apply(&evs[i], int64(i+1)); err != nil {
				b.Fatal(err)
			}
		}
		loaded := State{}
		for _, p := range parts {
			if err := LoadCheckpoint(loaded, p); err != nil {
				b.Fatal(err)
			}
		}
		if len(replayed) != len(state) || len(loaded) != len(state) {
			b.Fatalf("replayed %d keys, loaded %d, want %d", len(replayed), len(loaded), len(state))
		}
	}
	b.ReportMetric(float64(len(evs)), "events")
	b.ReportMetric(float64(len(runs)), "segments")
	b.ReportMetric(float64(logBytes)/float64(len(evs)), "stored-B/event")
	b.ReportMetric(float64(memberBytes)/float64(members), "membership-event-B")
	b.ReportMetric(float64(logBytes)/(1<<20), "log-MiB")
	b.ReportMetric(float64(len(parts)), "checkpoint-parts")
	b.ReportMetric(float64(checkpointBytes)/(1<<20), "checkpoint-MiB")
	b.ReportMetric(float64(checkpointBytes)/float64(len(state)), "checkpoint-B/object")
}

// storedObject gives seg the metadata the API server adds to what it stores
// (uid, resourceVersion, creationTimestamp, generation, one managedFields
// entry's worth of bytes is not included: the emitter writes with Create and
// Update, whose managedFields are a few hundred bytes per object).
func storedObject(seg *orgrbacv1alpha1.EventSegment) *orgrbacv1alpha1.EventSegment {
	seg.APIVersion, seg.Kind = orgrbacv1alpha1.GroupVersion.String(), "EventSegment"
	seg.Namespace = "videos"
	seg.UID = types.UID("5f1c2a3e-0d4b-4c1e-9a7b-2c3d4e5f6a7b")
	seg.ResourceVersion = "123456789"
	seg.Generation = 1
	seg.CreationTimestamp = metav1.NewTime(storetest.T0)
	return seg
}
