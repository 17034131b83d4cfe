package main

import (
	"context"
	"fmt"

	"github.com/workos/workos-go/v9"
)

// eventArgs are the arguments of listEvents (args embeds them).
type eventArgs struct {
	Events     []string `json:"events"`
	Limit      *int     `json:"limit"`
	After      string   `json:"after"`
	RangeStart string   `json:"rangeStart"`
	RangeEnd   string   `json:"rangeEnd"`
	Order      string   `json:"order"`
}

// eventFeed is what listEvents answers: every event the SDK's iterator
// returned, following list_metadata.after page by page, and its cursor at the
// end (Iterator.Cursor), the after of the next poll.
type eventFeed struct {
	Data   []workos.EventSchema `json:"data"`
	Cursor *string              `json:"cursor"`
}

// moreOps makes the SDK calls of the operations of this file, and refuses
// the others.
func (d *driver) moreOps(ctx context.Context, c *workos.Client, cmd command) (any, error) {
	if cmd.Op != "listEvents" {
		return nil, errUnknownOp(cmd.Op)
	}
	a := cmd.Args
	p := &workos.EventsListParams{Events: a.Events, PaginationParams: workos.PaginationParams{Limit: a.Limit}}
	for param, v := range map[**string]string{&p.OrganizationID: a.OrganizationID, &p.RangeStart: a.RangeStart,
		&p.RangeEnd: a.RangeEnd, &p.After: a.After, &p.Order: a.Order} {
		if v != "" {
			*param = &v
		}
	}
	it := c.Events().List(ctx, p)
	data, err := all(it)
	if err != nil {
		return nil, err
	}
	return eventFeed{Data: data, Cursor: it.Cursor()}, nil
}

func errUnknownOp(op string) error { return fmt.Errorf("unknown operation %q", op) }
