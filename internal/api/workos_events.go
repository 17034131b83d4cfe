package api

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/orgrbac/orgrbac/internal/api/store"
	"github.com/orgrbac/orgrbac/internal/events"
	"github.com/orgrbac/orgrbac/internal/workos"
)

// GET /events: the environment's change-event log (internal/events), in
// WorkOS's Events API shape. Every replica answers from its own informer cache
// of EventSegments, as the other reads answer from the index.
//
// The semantics are WorkOS's live API's: events oldest first, whatever order
// says (WorkOS ignores it: workos/workos-node#1610; the Go SDK v9 sends
// order=desc by default), a page after the event id `after` names, and
// list_metadata.after the id of the page's last event, the cursor of the next
// poll.

// eventsReadTimeout bounds a read of the event log from the cache: the first
// one waits for the EventSegment informer to sync.
const eventsReadTimeout = 10 * time.Second

// eventListQuery is a parsed GET /events request.
type eventListQuery struct {
	limit int
	// after is the cursor: only events with a greater id ("" none).
	after string
	// types keeps the events of these types (nil: every type).
	types map[string]bool
	// organizationID keeps the events of this organization ("" every event).
	organizationID string
	// start and end keep the events created in [start, end), in milliseconds
	// since the epoch.
	start, end int64
}

// eventList is WorkOS's list of events: its list_metadata has no before.
type eventList struct {
	Object       string            `json:"object"`
	Data         []workos.Event    `json:"data"`
	ListMetadata eventListMetadata `json:"list_metadata"`
}

type eventListMetadata struct {
	After *string `json:"after"`
}

// parseEventListQuery validates the query parameters of GET /events; get
// returns every value of a parameter.
func parseEventListQuery(get func(string) []string) (eventListQuery, error) {
	var bad []fieldError
	one := lastValue(get)
	p := parsePage(one, &bad) // limit (1-100, default 10) and order, validated but not followed
	q := eventListQuery{limit: p.limit, after: p.after, organizationID: one("organization_id"),
		start: math.MinInt64, end: math.MaxInt64}
	if p.before != "" {
		bad = append(bad, fieldError{Code: "before is not supported: events are listed oldest first, after a cursor", Field: "before"})
	}
	if q.after != "" && !isEventID(q.after) {
		bad = append(bad, fieldError{Code: "after must be an event id", Field: "after"})
	}
	// The Go SDK repeats the parameter (events=a&events=b), the Node SDK joins
	// the values with commas (events=a%2Cb).
	for _, v := range append(get("events"), get("events[]")...) {
		for t := range strings.SplitSeq(v, ",") {
			if t = strings.TrimSpace(t); t != "" {
				if q.types == nil {
					q.types = map[string]bool{}
				}
				q.types[t] = true
			}
		}
	}
	start, startSet := parseISOTime(one("range_start"), "range_start", &bad)
	if startSet {
		q.start = start
	}
	end, endSet := parseISOTime(one("range_end"), "range_end", &bad)
	if endSet {
		q.end = end
	}
	if startSet && endSet && q.end <= q.start {
		bad = append(bad, fieldError{Code: "range_end must be after range_start", Field: "range_end"})
	}
	if len(bad) > 0 {
		return q, &errInvalid{fields: bad}
	}
	return q, nil
}

// isEventID reports whether s has the form of an event id: `event_` and a ULID.
func isEventID(s string) bool {
	rest, ok := strings.CutPrefix(s, events.IDPrefix)
	if !ok {
		return false
	}
	_, err := ulid.ParseStrict(rest)
	return err == nil
}

// parseISOTime parses an ISO 8601 date-time (RFC 3339, as JavaScript's
// toISOString and Go's time.RFC3339 write it) or date (midnight UTC) into
// milliseconds since the epoch; "" is unset.
func parseISOTime(s, field string, bad *[]fieldError) (int64, bool) {
	if s == "" {
		return 0, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t, err = time.Parse(time.DateOnly, s)
	}
	if err != nil {
		*bad = append(*bad, fieldError{Code: field + " must be an ISO 8601 date-time, such as 2026-01-02T03:04:05.000Z", Field: field})
		return 0, false
	}
	return t.UnixMilli(), true
}

// listEventsOf pages the events of a log (in emission order, ids increasing)
// for q: the first q.limit events that match it after q.after.
// list_metadata.after is the id of the page's last event, or q.after when the
// page is empty (null without one): the cursor a consumer polls with.
func listEventsOf(log events.Tail, q eventListQuery) eventList {
	out := eventList{Object: "list", Data: make([]workos.Event, 0, min(q.limit, log.Len()))}
	for e := range log.All() {
		if len(out.Data) == q.limit {
			break
		}
		if e.CreatedAtMillis < q.start || e.CreatedAtMillis >= q.end ||
			(q.types != nil && !q.types[e.Event]) ||
			(q.organizationID != "" && e.OrganizationID != q.organizationID) {
			continue
		}
		out.Data = append(out.Data, workos.EventOf(e))
	}
	if n := len(out.Data); n > 0 {
		after := out.Data[n-1].ID
		out.ListMetadata.After = &after
	} else if q.after != "" {
		after := q.after
		out.ListMetadata.After = &after
	}
	return out
}

func (s *Server) listEvents(w http.ResponseWriter, r *http.Request, u caller) {
	e := s.environment(w, r, u)
	if e == nil {
		return
	}
	q, err := parseEventListQuery(func(name string) []string { return r.URL.Query()[name] })
	if writeInvalidQuery(w, err) {
		return
	}
	if q.organizationID != "" {
		// The organization's WorkOS id, also when the query names it by name.
		e.Read(func(c *store.Content) {
			if o := c.Organization(q.organizationID); o != nil {
				q.organizationID = o.ID()
			}
		})
	}
	ctx, cancel := context.WithTimeout(r.Context(), eventsReadTimeout)
	defer cancel()
	// Only the log's tail after the cursor (or, without one, from
	// range_start) is read, without a copy: segments before it are skipped.
	log, err := events.ReadAfter(ctx, s.opts.Cache, e.Namespace(), q.after, q.start)
	if err != nil {
		s.log.Error(err, "Reading the event log", "namespace", e.Namespace())
		writeError(w, http.StatusServiceUnavailable, codeUnavailable,
			fmt.Sprintf("The events of namespace %q could not be read; try again.", e.Namespace()))
		return
	}
	writeJSON(w, http.StatusOK, listEventsOf(log, q))
}
