package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/api/store/storetest"
	"github.com/orgrbac/orgrbac/internal/events"
	"github.com/orgrbac/orgrbac/internal/workos"
)

// readerCache is a cache whose reads are a client's (a fake one holding
// EventSegments); every other method is the nil embedded interface's.
type readerCache struct {
	cache.Cache
	r client.Reader
}

func (c readerCache) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	return c.r.Get(ctx, key, obj, opts...)
}

func (c readerCache) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	return c.r.List(ctx, list, opts...)
}

// failingCache fails every list, as a cache whose informer cannot sync.
type failingCache struct{ cache.Cache }

func (failingCache) List(context.Context, client.ObjectList, ...client.ListOption) error {
	return errors.New("timed out waiting for the EventSegment informer to sync")
}

// Event types of the sample log, by seq % 5.
var sampleEventTypes = []string{"organization_membership.created", "organization_membership.updated",
	"role.updated", "organization_role.created", "organization_membership.deleted"}

// sampleEvent is the event seq of the sample log: one a second from T0, of
// organization org_acme, globex or none (environment roles).
func sampleEvent(seq int64) orgrbacv1alpha1.StoredEvent {
	t := storetest.T0.Add(time.Duration(seq) * time.Second)
	typ := sampleEventTypes[seq%5]
	org := map[int64]string{0: "org_acme", 1: "globex"}[seq%3]
	if strings.HasPrefix(typ, "role.") {
		org = ""
	}
	return orgrbacv1alpha1.StoredEvent{ID: events.ID(seq, t), Event: typ, Key: fmt.Sprintf("object/%d", seq),
		OrganizationID: org, CreatedAtMillis: t.UnixMilli(),
		Data: runtime.RawExtension{Raw: fmt.Appendf(nil, `{"object":"sample","seq":%d}`, seq)}}
}

// eventSegment is the Events segment of ns holding events first..last.
func eventSegment(ns string, first, last int64) *orgrbacv1alpha1.EventSegment {
	s := &orgrbacv1alpha1.EventSegment{}
	s.Namespace, s.Name = ns, events.SegmentName(first)
	s.Labels = map[string]string{orgrbacv1alpha1.LabelEventSegment: string(orgrbacv1alpha1.EventSegmentEvents)}
	s.Spec.Type, s.Spec.First = orgrbacv1alpha1.EventSegmentEvents, &first
	for seq := first; seq <= last; seq++ {
		s.Spec.Events = append(s.Spec.Events, sampleEvent(seq))
	}
	return s
}

// sampleEventCache holds the sample log of videos, events 1 to n in segments of
// up to 100 (added out of order), a checkpoint, and another namespace's log.
func sampleEventCache(t testing.TB, n int64) cache.Cache {
	t.Helper()
	sch := runtime.NewScheme()
	if err := orgrbacv1alpha1.AddToScheme(sch); err != nil {
		t.Fatal(err)
	}
	b := fake.NewClientBuilder().WithScheme(sch)
	for first := ((n - 1) / 100 * 100) + 1; first >= 1; first -= 100 {
		b = b.WithObjects(eventSegment("videos", first, min(first+99, n)))
	}
	zero := int64(0)
	checkpoint := &orgrbacv1alpha1.EventSegment{Spec: orgrbacv1alpha1.EventSegmentSpec{
		Type: orgrbacv1alpha1.EventSegmentCheckpoint, First: &zero, Parts: 1, State: []string{"object/1 0123456789abcdef"}}}
	checkpoint.Namespace, checkpoint.Name = "videos", events.CheckpointName(0, 0)
	checkpoint.Labels = map[string]string{orgrbacv1alpha1.LabelEventSegment: string(orgrbacv1alpha1.EventSegmentCheckpoint)}
	return readerCache{r: b.WithObjects(checkpoint, eventSegment("music", 1, 7)).Build()}
}

// eventPage is what a test reads of a GET /events answer.
type eventPage struct {
	Object       string          `json:"object"`
	Data         []workos.Event  `json:"data"`
	ListMetadata json.RawMessage `json:"list_metadata"`
}

func (p eventPage) after(t *testing.T) *string {
	t.Helper()
	var m map[string]*string
	if err := json.Unmarshal(p.ListMetadata, &m); err != nil {
		t.Fatal(err)
	}
	if len(m) != 1 {
		t.Errorf("list_metadata %s: want after only", p.ListMetadata)
	}
	return m["after"]
}

func getEvents(t *testing.T, s *Server, query string) eventPage {
	t.Helper()
	w, _ := serve(s, http.MethodGet, "/events?"+query, "app", "")
	if w.Code != http.StatusOK {
		t.Fatalf("GET /events?%s: %d %s", query, w.Code, w.Body)
	}
	var p eventPage
	if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil || p.Object != "list" || p.Data == nil {
		t.Fatalf("GET /events?%s: %s is not a list (%v)", query, w.Body, err)
	}
	return p
}

// seqs are the sequence numbers of events, from their data.
func seqs(t *testing.T, evs []workos.Event) []int64 {
	t.Helper()
	out := []int64{}
	for _, e := range evs {
		var d struct{ Seq int64 }
		if err := json.Unmarshal(e.Data, &d); err != nil {
			t.Fatal(err)
		}
		if e.ID != sampleEvent(d.Seq).ID {
			t.Errorf("event %d has id %s, want %s", d.Seq, e.ID, sampleEvent(d.Seq).ID)
		}
		out = append(out, d.Seq)
	}
	return out
}

func seqRange(from, to int64) []int64 {
	out := []int64{}
	for s := from; s <= to; s++ {
		out = append(out, s)
	}
	return out
}

// Following list_metadata.after pages through every segment of the log, oldest
// first, whatever order says; the last page's cursor stays the last event's.
func TestEventListPagesThroughTheLog(t *testing.T) {
	s, _ := newLimitedServer(t, Options{Cache: sampleEventCache(t, 250)})
	for _, order := range []string{"", "&order=desc", "&order=asc", "&order=normal"} {
		var got []int64
		var sizes []int
		after := ""
		for range 10 {
			q := "limit=100" + order
			if after != "" {
				q += "&after=" + after
			}
			p := getEvents(t, s, q)
			got = append(got, seqs(t, p.Data)...)
			sizes = append(sizes, len(p.Data))
			a := p.after(t)
			if a == nil {
				t.Fatalf("GET /events?%s: list_metadata.after is null", q)
			}
			if len(p.Data) > 0 && *a != p.Data[len(p.Data)-1].ID || len(p.Data) == 0 && *a != after {
				t.Errorf("GET /events?%s: after %s", q, *a)
			}
			if len(p.Data) == 0 {
				break
			}
			after = *a
		}
		if !slices.Equal(got, seqRange(1, 250)) || !slices.Equal(sizes, []int{100, 100, 50, 0}) {
			t.Errorf("order %q: pages of %v, events %v", order, sizes, got)
		}
	}

	// The default limit is WorkOS's, 10; the first page has no cursor to keep.
	if p := getEvents(t, s, ""); !slices.Equal(seqs(t, p.Data), seqRange(1, 10)) || *p.after(t) != sampleEvent(10).ID {
		t.Errorf("the first page: %v", seqs(t, p.Data))
	}
	if p := getEvents(t, s, "limit=1"); !slices.Equal(seqs(t, p.Data), []int64{1}) {
		t.Errorf("limit=1: %v", seqs(t, p.Data))
	}

	// The envelope.
	p := getEvents(t, s, "limit=1&after="+sampleEvent(41).ID)
	if want := (workos.Event{Object: "event", ID: sampleEvent(42).ID, Event: "role.updated",
		Data: json.RawMessage(`{"object":"sample","seq":42}`), CreatedAt: "2026-01-02T03:04:47.000Z"}); len(p.Data) != 1 ||
		!equalEvents(p.Data[0], want) {
		t.Errorf("event 42: %+v; want %+v", p.Data, want)
	}

	// An empty log (another namespace's never shows).
	empty, _ := newLimitedServer(t, Options{Cache: sampleEventCache(t, 0)})
	if p := getEvents(t, empty, ""); len(p.Data) != 0 || p.after(t) != nil {
		t.Errorf("an empty log: %+v, after %v", p.Data, p.after(t))
	}
}

func equalEvents(a, b workos.Event) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// A cursor need not name an event of the log: events after it are listed.
func TestEventListAfterCursor(t *testing.T) {
	s, _ := newLimitedServer(t, Options{Cache: sampleEventCache(t, 30)})
	// An id between events 10 and 11: same time as 11, a smaller sequence.
	between := events.ID(0, storetest.T0.Add(11*time.Second))
	for _, tc := range []struct {
		after string
		want  []int64
	}{
		{sampleEvent(10).ID, seqRange(11, 20)},
		{between, seqRange(11, 20)},
		{events.ID(1, storetest.T0.Add(-time.Hour)), seqRange(1, 10)}, // pruned long ago
		{sampleEvent(28).ID, []int64{29, 30}},
		{sampleEvent(30).ID, []int64{}},
		{events.ID(99, storetest.T0.Add(time.Hour)), []int64{}}, // from a future the log has not reached
	} {
		p := getEvents(t, s, "after="+tc.after)
		if got := seqs(t, p.Data); !slices.Equal(got, tc.want) {
			t.Errorf("after %s: %v; want %v", tc.after, got, tc.want)
		}
		if len(tc.want) == 0 && (p.after(t) == nil || *p.after(t) != tc.after) {
			t.Errorf("after %s, an empty page: the cursor became %v", tc.after, p.after(t))
		}
	}
}

// events, organization_id and the range filter; list_metadata.after is the
// last listed event's id, so that the next poll goes on from there.
func TestEventListFilters(t *testing.T) {
	s, _ := newLimitedServer(t, Options{Cache: sampleEventCache(t, 250)})
	all := make([]orgrbacv1alpha1.StoredEvent, 0, 250)
	for seq := int64(1); seq <= 250; seq++ {
		all = append(all, sampleEvent(seq))
	}
	where := func(keep func(e orgrbacv1alpha1.StoredEvent, seq int64) bool) []int64 {
		out := []int64{}
		for i, e := range all {
			if keep(e, int64(i+1)) {
				out = append(out, int64(i+1))
			}
		}
		return out
	}
	ofTypes := func(types ...string) []int64 {
		return where(func(e orgrbacv1alpha1.StoredEvent, _ int64) bool { return slices.Contains(types, e.Event) })
	}
	ofOrg := func(org string) []int64 {
		return where(func(e orgrbacv1alpha1.StoredEvent, _ int64) bool { return e.OrganizationID == org })
	}
	at := func(seq int64) string {
		return url.QueryEscape(storetest.T0.Add(time.Duration(seq) * time.Second).Format(time.RFC3339Nano))
	}
	created, deleted := "organization_membership.created", "organization_membership.deleted"
	for _, tc := range []struct {
		query string
		want  []int64
	}{
		// The Go SDK repeats the parameter, the Node SDK joins the values with commas.
		{"events=" + created + "&events=" + deleted, ofTypes(created, deleted)},
		{"events=" + url.QueryEscape(created+","+deleted), ofTypes(created, deleted)},
		{"events[]=" + created + "&events[]=" + deleted, ofTypes(created, deleted)},
		{"events=role.updated", ofTypes("role.updated")},
		{"events=dsync.user.created", []int64{}},
		{"events=", seqRange(1, 250)},
		{"organization_id=org_acme", ofOrg("org_acme")},
		{"organization_id=acme", ofOrg("org_acme")}, // by name: its WorkOS id
		{"organization_id=globex", ofOrg("globex")}, // no external id: its name is its id
		{"organization_id=initech", []int64{}},
		{"organization_id=org_acme&events=" + created, where(func(e orgrbacv1alpha1.StoredEvent, _ int64) bool {
			return e.OrganizationID == "org_acme" && e.Event == created
		})},
		// [range_start, range_end), with or without a cursor (the Go SDK's
		// iterator keeps range_start on the next pages).
		{"range_start=" + at(200), seqRange(200, 250)},
		{"range_start=" + at(200) + "&range_end=" + at(210), seqRange(200, 209)},
		{"range_end=" + at(3), seqRange(1, 2)},
		{"range_start=" + at(200) + "&after=" + sampleEvent(240).ID, seqRange(241, 250)},
		{"range_start=" + at(200) + "&after=" + sampleEvent(100).ID, seqRange(200, 250)},
		{"range_start=2026-01-02T03:07:25.000Z&range_end=2026-01-02T03:07:27Z", []int64{200, 201}},
		{"range_start=2026-01-03", []int64{}},
		{"range_end=2026-01-02", []int64{}},
	} {
		var got []int64
		after := ""
		for range 50 {
			q := tc.query + "&limit=7"
			if after != "" {
				q += "&after=" + after
			}
			p := getEvents(t, s, q)
			if len(p.Data) == 0 {
				break
			}
			got = append(got, seqs(t, p.Data)...)
			if a := p.after(t); a == nil || *a != p.Data[len(p.Data)-1].ID {
				t.Errorf("GET /events?%s: list_metadata.after %v, not the last event's id", q, a)
				break
			}
			after = *p.after(t)
		}
		if got == nil {
			got = []int64{}
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("GET /events?%s: %v; want %v", tc.query, got, tc.want)
		}
	}
}

// Bad queries get 422 with field errors, after the caller is authorized.
func TestEventListInvalidQueries(t *testing.T) {
	s, _ := newLimitedServer(t, Options{Cache: sampleEventCache(t, 5)})
	for query, field := range map[string]string{
		"limit=0":                               "limit",
		"limit=101":                             "limit",
		"limit=ten":                             "limit",
		"after=evt":                             "after",
		"after=event_01ARZ3NDEKTSV4RRFFQ69G5FA": "after", // one character short
		"after=event_01ARZ3NDEKTSV4RRFFQ69G5FAVX":                         "after",
		"after=org_01ARZ3NDEKTSV4RRFFQ69G5FAV":                            "after",
		"before=" + sampleEvent(3).ID:                                     "before",
		"order=sideways":                                                  "order",
		"range_start=yesterday":                                           "range_start",
		"range_end=2026-13-01T00:00:00Z":                                  "range_end",
		"range_start=2026-01-02T00:00:00Z&range_end=2026-01-01T00:00:00Z": "range_end",
		"range_start=2026-01-02T00:00:00Z&range_end=2026-01-02T00:00:00Z": "range_end",
	} {
		w, _ := serve(s, http.MethodGet, "/events?"+query, "app", "")
		var e errorObject
		if err := json.Unmarshal(w.Body.Bytes(), &e); w.Code != http.StatusUnprocessableEntity || err != nil ||
			e.Code != codeInvalid || len(e.Errors) == 0 || e.Errors[0].Field != field {
			t.Errorf("GET /events?%s: %d %s; want 422 naming %s", query, w.Code, w.Body, field)
		}
	}
	// A valid cursor and a time zone offset.
	getEvents(t, s, "after=event_01ARZ3NDEKTSV4RRFFQ69G5FAV&range_start=2026-01-02T04:04:05%2B01:00")
	// The stranger, denied in videos, learns nothing of its query.
	if code, body := serveAs(s, "stranger", "/events?namespace=videos&limit=0"); code != http.StatusForbidden {
		t.Errorf("a denied caller's bad query: %d %s, want 403", code, body)
	}
}

func serveAs(s *Server, token, target string) (int, string) {
	w, _ := serve(s, http.MethodGet, target, token, "")
	return w.Code, w.Body.String()
}

// GET /events needs list events.orgrbac.dev, nothing else does, and no other
// access gives it.
func TestEventListNeedsListEvents(t *testing.T) {
	s, rev := newLimitedServer(t, Options{Cache: sampleEventCache(t, 5)})
	reader := []access{mayGetMembership, mayListMemberships, mayGetRole, mayListRoles, mayGetOrgRole, mayListOrgRoles,
		mayGetOrg, mayListOrgs, mayCheck}
	rev.grants = map[string][]access{}
	for name, grants := range map[string][]access{"reader": reader, "events": {mayListEvents}} {
		u := &userInfo{name: "system:serviceaccount:videos:" + name}
		rev.users[name] = u
		rev.grants[u.name+"/videos"] = grants
	}
	code, body := serveAs(s, "reader", "/events")
	if code != http.StatusForbidden || !strings.Contains(body, `may not list events.orgrbac.dev in namespace \"videos\"`) {
		t.Errorf("without list events: %d %s", code, body)
	}
	if code, body := serveAs(s, "events", "/events"); code != http.StatusOK || !strings.Contains(body, sampleEvent(5).ID) {
		t.Errorf("with list events: %d %s", code, body)
	}
	if code, _ := serveAs(s, "events", "/organizations"); code != http.StatusForbidden {
		t.Errorf("list events lists organizations: %d", code)
	}
	if code, _ := serveAs(s, "events", "/events?namespace=music"); code != http.StatusForbidden {
		t.Errorf("list events in videos lists music's: %d", code)
	}
	if code, _ := serveAs(s, "", "/events"); code != http.StatusUnauthorized {
		t.Errorf("no token: %d", code)
	}
}

// When the log cannot be read (the informer does not sync), 503.
func TestEventListUnavailable(t *testing.T) {
	s, _ := newLimitedServer(t, Options{Cache: failingCache{}})
	if code, body := serveAs(s, "app", "/events"); code != http.StatusServiceUnavailable || !strings.Contains(body, codeUnavailable) {
		t.Errorf("an unreadable log: %d %s", code, body)
	}
}
