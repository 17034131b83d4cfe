package api

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The HTTP plumbing every route shares: the request limits, the metrics of
// ServeHTTP, reading JSON bodies and writing JSON answers and errors.

// RevisionHeader carries the revision of the environment an answer comes from.
// It is "0" on answers that carry no environment data (401, 403, 503, ...).
const RevisionHeader = "X-Orgrbac-Revision"

// DefaultMaxRequestsInFlight is the default of Options.MaxRequestsInFlight.
const DefaultMaxRequestsInFlight = 256

// bodyBuffers hold request bodies while they are decoded; json.Unmarshal
// copies what it keeps. Reusing them spares the garbage collector a buffer per
// request.
var bodyBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledBody is the largest buffer put back in bodyBuffers.
const maxPooledBody = 64 << 10

// WorkOS error codes.
const (
	codeUnauthorized = "unauthorized"
	codeForbidden    = "forbidden"
	codeNotFound     = "entity_not_found"
	codeInvalid      = "invalid_request_parameters"
	codeUnavailable  = "service_unavailable"
	codeRateLimited  = "rate_limit_exceeded"
)

// statusWriter records the status code of a response.
type statusWriter struct {
	http.ResponseWriter
	code int
	body *trackedBody // nil when the request has no body
}

func (w *statusWriter) WriteHeader(code int) {
	w.code = code
	if w.body != nil && !w.body.eof {
		// Answered before its body was read (to its end): close the connection
		// rather than read the rest of the body first (net/http would discard
		// up to 256 KiB of it after the handler, however slowly it comes).
		w.Header().Set("Connection", "close")
		_ = http.NewResponseController(w.ResponseWriter).SetReadDeadline(time.Unix(1, 0))
	}
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// trackedBody records whether a request body was read to its end.
type trackedBody struct {
	io.ReadCloser
	eof bool
}

func (b *trackedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if errors.Is(err, io.EOF) {
		b.eof = true
	}
	return n, err
}

// ServeHTTP serves one request and records its metrics. At most
// MaxRequestsInFlight requests are served at once; the others get 429.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := s.opts.Clock.Now()
	sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
	if r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0 {
		sw.body = &trackedBody{ReadCloser: r.Body}
		r.Body = sw.body
	}
	sw.Header().Set("X-Request-Id", requestID()) // canonical: no key allocation
	sw.Header().Set(RevisionHeader, "0")
	route := ""
	select {
	case s.inflight <- struct{}{}:
		s.mux.ServeHTTP(sw, r)
		<-s.inflight
		route = r.Pattern
	default:
		if s.inflight != nil {
			throttled(sw, "The decision API is serving too many requests; try again.")
			_, route = s.mux.Handler(r)
		} else { // no limit
			s.mux.ServeHTTP(sw, r)
			route = r.Pattern
		}
	}
	if route == "" || route == "/" {
		route = "other"
	}
	requestsTotal.WithLabelValues(route, strconv.Itoa(sw.code)).Inc()
	requestDuration.WithLabelValues(route).Observe(s.opts.Clock.Since(start).Seconds())
}

func requestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "req_" + hex.EncodeToString(b[:])
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, code int, errCode, message string, fields ...fieldError) {
	writeJSON(w, code, errorObject{Code: errCode, Message: message, Errors: fields})
}

func writeInvalid(w http.ResponseWriter, field, message string) {
	writeError(w, http.StatusUnprocessableEntity, codeInvalid, message, fieldError{Code: message, Field: field})
}

// throttled answers 429, asking to retry after a second.
func throttled(w http.ResponseWriter, message string) {
	w.Header().Set("Retry-After", "1")
	writeError(w, http.StatusTooManyRequests, codeRateLimited, message)
}

// clientAddr is the IP address a request comes from.
func clientAddr(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// bearer extracts the bearer token of a request.
func bearer(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// setRevision sets the revision header of an answer from the environment's
// revision it comes from.
func setRevision(w http.ResponseWriter, revision int64) {
	w.Header().Set(RevisionHeader, strconv.FormatInt(revision, 10))
}

// readJSON reads a JSON request body of at most limit bytes into v.
func readJSON(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	if r.ContentLength > limit {
		return &http.MaxBytesError{Limit: limit}
	}
	buf := bodyBuffers.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= maxPooledBody {
			bodyBuffers.Put(buf)
		}
	}()
	if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, limit)); err != nil {
		return err
	}
	return json.Unmarshal(buf.Bytes(), v)
}

// writeBodyError answers 422 for a body readJSON refused.
func writeBodyError(w http.ResponseWriter, limit int64, err error) {
	msg := "the body must be a JSON object"
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		msg = fmt.Sprintf("the body must not exceed %d bytes", limit)
	}
	writeInvalid(w, "body", msg)
}

// decode reads a JSON request body of at most limit bytes into v, answering
// 422 when it cannot.
func decode(w http.ResponseWriter, r *http.Request, limit int64, v any) bool {
	if err := readJSON(w, r, limit, v); err != nil {
		writeBodyError(w, limit, err)
		return false
	}
	return true
}

// notFound is a 404 response body.
func notFound(what, id string) (int, any) {
	return http.StatusNotFound, errorObject{Code: codeNotFound, Message: fmt.Sprintf("%s not found: '%s'.", what, id)}
}

// isDNSLabel reports whether s is an RFC 1123 label, the form of a namespace
// name: 1 to 63 lower-case letters, digits and '-', starting and ending with a
// letter or digit. It is validation.IsDNS1123Label without a regular
// expression, as it runs on every request.
func isDNSLabel(s string) bool {
	if len(s) == 0 || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := range len(s) {
		if c := s[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}
