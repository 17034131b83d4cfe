package workos

import (
	"encoding/json"
	"time"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
)

// Event is WorkOS's event envelope, as GET /events lists it and webhooks
// deliver it.
type Event struct {
	Object    string          `json:"object"`
	ID        string          `json:"id"`
	Event     string          `json:"event"`
	Data      json.RawMessage `json:"data"`
	CreatedAt string          `json:"created_at"`
}

// EventOf is the envelope of a stored event. Data shares e's memory.
func EventOf(e *orgrbacv1alpha1.StoredEvent) Event {
	data := json.RawMessage(e.Data.Raw)
	if len(data) == 0 {
		data = json.RawMessage("{}")
	}
	return Event{Object: "event", ID: e.ID, Event: e.Event, Data: data,
		CreatedAt: FormatTime(time.UnixMilli(e.CreatedAtMillis))}
}
