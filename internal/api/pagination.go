package api

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
)

// WorkOS's cursor pagination, shared by every paginated list of the API.

// Pagination limits, as WorkOS's.
const (
	defaultLimit = 10
	maxLimit     = 100
)

// paging is a list request's pagination: how many items, after or before which
// cursor (an item's id), and in which order (newest first unless asc).
type paging struct {
	limit         int
	before, after string
	desc          bool
}

// parsePage reads limit, order, before and after; one returns a parameter's
// last value. What is wrong is appended to bad.
func parsePage(one func(string) string, bad *[]fieldError) paging {
	p := paging{limit: defaultLimit, desc: true, before: one("before"), after: one("after")}
	if s := one("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxLimit {
			*bad = append(*bad, fieldError{Code: fmt.Sprintf("limit must be an integer from 1 to %d", maxLimit), Field: "limit"})
		} else {
			p.limit = n
		}
	}
	switch one("order") {
	case "", "desc", "normal": // "normal": the Go SDK's PaginationOrderNormal, the default order
	case "asc":
		p.desc = false
	default:
		*bad = append(*bad, fieldError{Code: "order must be asc or desc", Field: "order"})
	}
	if p.before != "" && p.after != "" {
		*bad = append(*bad, fieldError{Code: "before and after cannot be used together", Field: "before"})
	}
	return p
}

// lastValue returns a function giving a query parameter's last value.
func lastValue(get func(string) []string) func(string) string {
	return func(name string) string {
		if v := get(name); len(v) > 0 {
			return v[len(v)-1]
		}
		return ""
	}
}

// inOrder returns p's order of items that compare orders oldest first.
func inOrder[T any](p paging, compare func(a, b T) int) func(a, b T) int {
	if !p.desc {
		return compare
	}
	return func(a, b T) int { return compare(b, a) }
}

// errUnknownCursor reports a before or after cursor that names no item of the
// list's kind: what, e.g. "organization membership".
type errUnknownCursor struct{ what string }

func (e errUnknownCursor) Error() string { return "the pagination cursor names no " + e.what }

// window returns the items of the page: items are in p's order (order), find
// returns the item a cursor names (false: none, an errUnknownCursor naming
// what), and id an item's id, which the cursors of the previous and next
// pages (nil on the first and the last) are.
func window[T any](p paging, items []T, order func(a, b T) int, find func(cursor string) (T, bool), id func(T) string,
	what string) (data []T, before, after *string, err error) {
	pos := func(cursor string) (int, T, error) {
		t, ok := find(cursor)
		if !ok {
			return 0, t, errUnknownCursor{what}
		}
		n, _ := slices.BinarySearchFunc(items, t, order)
		return n, t, nil
	}
	var start, end int
	switch {
	case p.after != "":
		n, t, err := pos(p.after)
		if err != nil {
			return nil, nil, nil, err
		}
		if n < len(items) && id(items[n]) == id(t) {
			n++
		}
		start, end = n, min(n+p.limit, len(items))
	case p.before != "":
		n, _, err := pos(p.before)
		if err != nil {
			return nil, nil, nil, err
		}
		start, end = max(0, n-p.limit), n
	default:
		end = min(p.limit, len(items))
	}
	// Cursors are copies: entries change in place once the read lock is released.
	if start < end && start > 0 {
		b := id(items[start])
		before = &b
	}
	if start < end && end < len(items) {
		a := id(items[end-1])
		after = &a
	}
	return items[start:end], before, after, nil
}

// writeInvalidQuery answers 422 for a list query parse refused, and reports
// whether it did.
func writeInvalidQuery(w http.ResponseWriter, err error) bool {
	var invalid *errInvalid
	if !errors.As(err, &invalid) {
		return false
	}
	writeError(w, http.StatusUnprocessableEntity, codeInvalid, "Validation failed.", invalid.fields...)
	return true
}

// listAnswer is a list's answer: 200 with list, or the 422 of a cursor that
// names nothing (err from window), naming the cursor's parameter.
func listAnswer[T any](p paging, list listObject[T], err error) (int, any) {
	if err == nil {
		return http.StatusOK, list
	}
	field := "after"
	if p.before != "" {
		field = "before"
	}
	return http.StatusUnprocessableEntity, errorObject{Code: codeInvalid, Message: err.Error(),
		Errors: []fieldError{{Code: err.Error(), Field: field}}}
}
