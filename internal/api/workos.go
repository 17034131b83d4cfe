package api

import (
	"strings"
)

// WorkOS wire format: the JSON objects of the WorkOS API that the official SDKs
// deserialize.

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
