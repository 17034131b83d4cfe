package api

import (
	"strings"
	"time"
)

// WorkOS wire format: the JSON objects of the WorkOS API that the official SDKs
// deserialize.

// timeFormat is WorkOS's timestamp format (ISO 8601, UTC, milliseconds).
const timeFormat = "2006-01-02T15:04:05.000Z"

func formatTime(t time.Time) string { return t.UTC().Format(timeFormat) }

// slugRef is a role reference: {"slug": "admin"}.
type slugRef struct {
	Slug string `json:"slug"`
}

// listMetadata holds the cursors of the previous and next pages (null when
// there is none).
type listMetadata struct {
	Before *string `json:"before"`
	After  *string `json:"after"`
}

// listObject is WorkOS's paginated list.
type listObject[T any] struct {
	Object       string        `json:"object"`
	Data         []T           `json:"data"`
	ListMetadata *listMetadata `json:"list_metadata,omitempty"`
}

// errorObject is WorkOS's error body.
type errorObject struct {
	Code    string       `json:"code"`
	Message string       `json:"message"`
	Errors  []fieldError `json:"errors,omitempty"`
}

// fieldError is one failed requirement of a 422.
type fieldError struct {
	Code  string `json:"code"`
	Field string `json:"field"`
}

// errInvalid is a 422 with its field errors.
type errInvalid struct {
	fields []fieldError
}

func (e *errInvalid) Error() string {
	parts := make([]string, len(e.fields))
	for i, f := range e.fields {
		parts[i] = f.Field + ": " + f.Code
	}
	return "invalid request parameters: " + strings.Join(parts, ", ")
}
