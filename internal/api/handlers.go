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
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/apiview"
)

// RevisionHeader carries the revision of the environment an answer comes from.
// It is "0" on answers that carry no environment data (401, 403, 503, ...).
const RevisionHeader = "X-Orgrbac-Revision"

// Request bodies are bounded per route by what the largest valid request needs,
// with room to spare: a check of 100 permissions of 128 characters is about
// 14 KiB.
const (
	maxCheckBody       = 64 << 10 // POST /v1/check
	maxWorkOSCheckBody = 16 << 10 // POST /authorization/organization_memberships/{id}/check
)

// DefaultMaxRequestsInFlight is the default of Options.MaxRequestsInFlight.
const DefaultMaxRequestsInFlight = 256

// maxUnauthorizedBodies bounds the bodies read before the caller is authorized
// anywhere (see bodyEnvironment); unauthorizedBodyTimeout bounds how long one
// may take to arrive.
const (
	maxUnauthorizedBodies   = 8
	unauthorizedBodyTimeout = 2 * time.Second
)

// bodyBuffers hold request bodies while they are decoded; json.Unmarshal
// copies what it keeps. Reusing them spares the garbage collector a buffer per
// request.
var bodyBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledBody is the largest buffer put back in bodyBuffers.
const maxPooledBody = 64 << 10

// maxPermissions bounds the permissions of one check.
const maxPermissions = 100

// WorkOS error codes.
const (
	codeUnauthorized = "unauthorized"
	codeForbidden    = "forbidden"
	codeNotFound     = "entity_not_found"
	codeInvalid      = "invalid_request_parameters"
	codeUnavailable  = "service_unavailable"
	codeRateLimited  = "rate_limit_exceeded"
)

func (s *Server) routes() {
	mux := http.NewServeMux()
	s.handleRoutes(mux)
	for _, rt := range s.publicRoutes() {
		mux.Handle(rt.pattern, rt.serve)
	}
	// Unknown paths: authenticated callers only, so that they leak nothing.
	mux.Handle("/", s.authed(nil, serveNotFound))
	s.mux = mux
	limit := s.opts.MaxRequestsInFlight
	if limit == 0 {
		limit = DefaultMaxRequestsInFlight
	}
	if limit > 0 {
		s.inflight = make(chan struct{}, limit)
	}
	bodies := maxUnauthorizedBodies
	if limit > 0 {
		bodies = min(limit, bodies)
	}
	s.unauthorizedBodies = make(chan struct{}, bodies)
}

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

// authed authenticates the caller (401 without a valid bearer token) before h,
// which authorizes it for needs in the environment it selects.
func (s *Server) authed(needs []access, h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.index.ready.Load() {
			writeError(w, http.StatusServiceUnavailable, codeUnavailable, "The decision API is starting.")
			return
		}
		token, ok := bearer(r)
		if !ok {
			writeError(w, http.StatusUnauthorized, codeUnauthorized, "A bearer token is required.")
			return
		}
		u, err := s.auth.authenticate(r.Context(), clientAddr(r), token)
		if errors.Is(err, errThrottled) {
			throttled(w, "Too many invalid tokens; try again later.")
			return
		}
		if err != nil {
			s.log.Error(err, "Authenticating a caller")
			writeError(w, http.StatusServiceUnavailable, codeUnavailable, "The caller could not be authenticated; try again.")
			return
		}
		if u == nil {
			writeError(w, http.StatusUnauthorized, codeUnauthorized, s.invalidTokenMessage())
			return
		}
		h(s, w, r, caller{userInfo: u, needs: needs})
	})
}

// invalidTokenMessage is the message of a 401 for a token the TokenReview
// refused: when the API has an audience, it names the audience the token must
// be minted for (public configuration, and the usual mistake: a pod's default
// token, for the API server).
func (s *Server) invalidTokenMessage() string {
	if s.opts.TokenAudience == "" {
		return "The bearer token is not valid."
	}
	return fmt.Sprintf("The bearer token is not valid for the audience %q: "+
		"use a projected ServiceAccount token minted for it, not a token for the Kubernetes API server.", s.opts.TokenAudience)
}

// queryNamespace returns the namespace query parameter ("" without one). It
// writes a 422 and returns false when the query string cannot be decoded or
// names the namespace other than once, with a value: the request must never
// be answered from another namespace than the one it meant.
func queryNamespace(w http.ResponseWriter, r *http.Request) (string, bool) {
	if r.URL.RawQuery == "" { // most calls have none: parsing it costs allocations
		return "", true
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		writeInvalid(w, "query", "the query string is not valid URL encoding")
		return "", false
	}
	values, ok := q["namespace"]
	if !ok {
		return "", true
	}
	if len(values) != 1 || values[0] == "" {
		writeInvalid(w, "namespace", "the namespace query parameter must be given once, with a value")
		return "", false
	}
	return values[0], true
}

// allowedIn asks whether u holds everything its route needs in namespace ns;
// denied is the first access it lacks. It writes the error response and
// returns done when the request must stop: ns is not a namespace name, or a
// review failed or was throttled.
func (s *Server) allowedIn(w http.ResponseWriter, r *http.Request, u caller, ns string) (denied access, allowed, done bool) {
	if !isDNSLabel(ns) {
		writeInvalid(w, "namespace", "namespace is not a valid namespace name")
		return access{}, false, true
	}
	if len(u.needs) == 0 {
		// Every route names what it needs (routeTable); one that names nothing is a
		// bug, and is refused rather than served to anyone authenticated.
		s.log.Error(errors.New("a route names no access"), "Refusing a request", "path", r.URL.Path)
		writeError(w, http.StatusForbidden, codeForbidden, "This route names no access a caller could hold.")
		return access{}, false, true
	}
	for _, need := range u.needs {
		ok, err := s.auth.authorize(r.Context(), u.userInfo, ns, need)
		switch {
		case errors.Is(err, errThrottled):
			throttled(w, "Too many denied requests; try again later.")
			return access{}, false, true
		case err != nil:
			s.log.Error(err, "Authorizing a caller", "namespace", ns)
			writeError(w, http.StatusServiceUnavailable, codeUnavailable, "The caller could not be authorized; try again.")
			return access{}, false, true
		case !ok:
			return need, false, false
		}
	}
	return access{}, true, false
}

// forbid answers 403: the caller lacks denied in ns.
func forbid(w http.ResponseWriter, ns string, denied access) {
	writeError(w, http.StatusForbidden, codeForbidden, fmt.Sprintf(
		"The caller may not %s %s.%s in namespace %q.", denied.verb, denied.resource, CheckGroup, ns))
}

// serve returns the index of ns, whose revision it sets in the response header.
func (s *Server) serve(w http.ResponseWriter, ns string) *envIndex {
	e := s.index.get(ns)
	setRevision(w, e.revision())
	return e
}

// setRevision sets the revision header of an answer from the environment's
// revision it comes from.
func setRevision(w http.ResponseWriter, revision int64) {
	w.Header().Set(RevisionHeader, strconv.FormatInt(revision, 10))
}

// authorizeIn authorizes u in ns (403 otherwise) and returns its index; nil
// when it wrote an error response.
func (s *Server) authorizeIn(w http.ResponseWriter, r *http.Request, u caller, ns string) *envIndex {
	denied, allowed, done := s.allowedIn(w, r, u, ns)
	if done {
		return nil
	}
	if !allowed {
		forbid(w, ns, denied)
		return nil
	}
	return s.serve(w, ns)
}

// environment selects the environment of a request without a body (the
// namespace query parameter, else the caller's own namespace), authorizes the
// caller there (403 otherwise) and returns its index, whose revision it sets in
// the response header. Handlers then answer from envIndex.read, and set the
// header again from the revision of the content they read. It writes the
// error response and returns nil when the request must stop.
func (s *Server) environment(w http.ResponseWriter, r *http.Request, u caller) *envIndex {
	ns, ok := queryNamespace(w, r)
	if !ok {
		return nil
	}
	if ns == "" {
		ns = namespaceOf(u.name)
	}
	if ns == "" {
		writeInvalid(w, "namespace", "namespace is required for callers that are not ServiceAccounts")
		return nil
	}
	return s.authorizeIn(w, r, u, ns)
}

// bodyEnvironment is environment for a request whose JSON body (decoded into
// v, at most limit bytes) may name the namespace (bodyNS, read after decoding).
// The body is read only after the caller is authorized in the namespace known
// without it: the query parameter's (the body's must then be the same), else
// the caller's own. Only a caller denied there (or without a namespace of its
// own) and naming no namespace in the query has its body read before it is
// authorized anywhere, because the body alone may name a namespace it may
// use: such reads are few at a time (maxUnauthorizedBodies, 429 beyond) and
// short (unauthorizedBodyTimeout), and any body that names no other namespace
// answers 403, valid or not.
func (s *Server) bodyEnvironment(w http.ResponseWriter, r *http.Request, u caller, limit int64,
	v any, bodyNS func() string) *envIndex {
	query, ok := queryNamespace(w, r)
	if !ok {
		return nil
	}
	ns := query
	if ns == "" {
		ns = namespaceOf(u.name)
	}
	var denied access
	if ns != "" {
		var allowed, done bool
		denied, allowed, done = s.allowedIn(w, r, u, ns)
		if done {
			return nil
		}
		if allowed {
			if !decode(w, r, limit, v) {
				return nil
			}
			switch b := bodyNS(); {
			case b == "" || b == ns:
				return s.serve(w, ns)
			case query != "":
				writeInvalid(w, "namespace", "the namespace query parameter and the body's namespace differ")
				return nil
			default: // the body selects another namespace than the caller's own
				return s.authorizeIn(w, r, u, b)
			}
		}
		if query != "" {
			forbid(w, ns, denied)
			return nil
		}
	}
	select {
	case s.unauthorizedBodies <- struct{}{}:
		defer func() { <-s.unauthorizedBodies }()
	default:
		throttled(w, "Too many requests from callers not authorized in their own namespace; "+
			"name the namespace in the query parameter.")
		return nil
	}
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(unauthorizedBodyTimeout))
	err := readJSON(w, r, limit, v)
	b := ""
	if err == nil {
		b = bodyNS()
	}
	switch {
	case ns != "" && (b == "" || b == ns):
		forbid(w, ns, denied)
		return nil
	case err != nil:
		writeBodyError(w, limit, err)
		return nil
	case b == "":
		writeInvalid(w, "namespace", "namespace is required for callers that are not ServiceAccounts")
		return nil
	}
	return s.authorizeIn(w, r, u, b)
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

// answer computes a response from the environment's content under its read
// lock, and writes it once the lock is released: a slow client never holds
// the index's writer back.
func answer(w http.ResponseWriter, e *envIndex, f func(c *content) (code int, body any)) {
	var (
		code int
		body any
	)
	setRevision(w, e.read(func(c *content) { code, body = f(c) }))
	writeJSON(w, code, body)
}

// answerEnv answers a request that names no environment in its body: from the
// environment s.environment selects and authorizes, with f's status and body.
func (s *Server) answerEnv(w http.ResponseWriter, r *http.Request, u caller, f func(c *content) (code int, body any)) {
	if e := s.environment(w, r, u); e != nil {
		answer(w, e, f)
	}
}

// answerOrg is answerEnv for a request about the organization its path value
// key names (WorkOS id or name): 404 when there is none, else f's answer.
func (s *Server) answerOrg(w http.ResponseWriter, r *http.Request, u caller, key string,
	f func(c *content, org *orgEntry) (code int, body any)) {
	s.answerEnv(w, r, u, func(c *content) (int, any) {
		org := c.organization(r.PathValue(key))
		if org == nil {
			return notFound("Organization", r.PathValue(key))
		}
		return f(c, org)
	})
}

func countDecision(endpoint string, allowed bool) {
	result := "denied"
	if allowed {
		result = "allowed"
	}
	decisionsTotal.WithLabelValues(endpoint, result).Inc()
}

// checkRequest is the body of POST /v1/check.
type checkRequest struct {
	Namespace    string   `json:"namespace"`
	Organization string   `json:"organization"`
	User         string   `json:"user"`
	Permission   string   `json:"permission"`
	Permissions  []string `json:"permissions"`
}

// checkResponse is the answer of POST /v1/check.
type checkResponse struct {
	Allowed bool     `json:"allowed"`
	Role    string   `json:"role"`
	Roles   []string `json:"roles"`
	Reason  string   `json:"reason"`
	Missing []string `json:"missing,omitempty"`
}

// requireMember answers 422 unless a body names both the organization and the
// user of the member it is about (POST /v1/check, POST /v1/tokens).
func requireMember(w http.ResponseWriter, organization, user string) bool {
	switch {
	case organization == "":
		writeInvalid(w, "organization", "organization is required")
		return false
	case user == "":
		writeInvalid(w, "user", "user is required")
		return false
	}
	return true
}

func (s *Server) v1Check(w http.ResponseWriter, r *http.Request, u caller) {
	var req checkRequest
	e := s.bodyEnvironment(w, r, u, maxCheckBody, &req, func() string { return req.Namespace })
	if e == nil {
		return
	}
	perms := req.Permissions
	if req.Permission != "" {
		perms = append([]string{req.Permission}, perms...)
	}
	switch {
	case !requireMember(w, req.Organization, req.User):
		return
	case len(perms) == 0:
		writeInvalid(w, "permission", "permission or permissions is required")
		return
	case len(perms) > maxPermissions:
		writeInvalid(w, "permissions", fmt.Sprintf("at most %d permissions can be checked at once", maxPermissions))
		return
	case slices.Contains(perms, ""):
		writeInvalid(w, "permissions", "permissions must not be empty strings")
		return
	}
	var d decision
	// d.roles is an interned value: immutable, safe to read after the lock.
	setRevision(w, e.read(func(c *content) { d = c.check(req.Organization, req.User, perms) }))
	countDecision("v1", d.allowed)
	roles := d.roles
	if roles == nil {
		roles = []string{}
	}
	writeJSON(w, http.StatusOK, checkResponse{Allowed: d.allowed, Role: d.role, Roles: roles, Reason: d.reason, Missing: d.missing})
}

func (s *Server) v1Membership(w http.ResponseWriter, r *http.Request, u caller) {
	s.answerOrg(w, r, u, "org", func(c *content, org *orgEntry) (int, any) {
		m := c.member(org, r.PathValue("user"))
		if m == nil {
			return notFound("Organization membership of user", r.PathValue("user"))
		}
		v := apiview.Membership{Namespace: c.namespace, Organization: org.name, OrganizationID: org.id, User: m.user,
			Email: m.email, Membership: m.name, State: string(m.state), Ready: m.ready, Reason: m.reason,
			Active: m.grants(), Role: m.role, Roles: append([]string{}, m.roles...), Source: string(m.source)}
		v.SetGrants(org, m.assignments, m.permissions)
		return http.StatusOK, v
	})
}

func (s *Server) v1Members(w http.ResponseWriter, r *http.Request, u caller) {
	s.answerOrg(w, r, u, "org", func(c *content, org *orgEntry) (int, any) {
		p := r.PathValue("permission")
		v := apiview.Holders{Namespace: c.namespace, Organization: org.name, OrganizationID: org.id, Permission: p,
			Members: []apiview.Holder{}}
		for _, m := range c.holders(org, p) {
			v.Members = append(v.Members, apiview.NewHolder(org, m.user, m.name, m.roles, p))
		}
		return http.StatusOK, v
	})
}

func (s *Server) listMemberships(w http.ResponseWriter, r *http.Request, u caller) {
	e := s.environment(w, r, u)
	if e == nil {
		return
	}
	q, err := parseListQuery(func(name string) []string { return r.URL.Query()[name] })
	if writeInvalidQuery(w, err) {
		return
	}
	if q.statuses == nil {
		// As WorkOS's: without statuses, the list holds the active memberships.
		q.statuses = []orgrbacv1alpha1.MembershipState{orgrbacv1alpha1.MembershipActive}
	}
	answer(w, e, func(c *content) (int, any) {
		list, err := c.listMemberships(q)
		return listAnswer(q.paging, list, err)
	})
}

func (s *Server) getMembership(w http.ResponseWriter, r *http.Request, u caller) {
	s.answerEnv(w, r, u, func(c *content) (int, any) {
		m := c.membership(r.PathValue("id"))
		if m == nil {
			return notFound("Organization membership", r.PathValue("id"))
		}
		return http.StatusOK, c.membershipObject(m)
	})
}

// workosCheckRequest is the body of the WorkOS authorization check.
type workosCheckRequest struct {
	Namespace            string `json:"namespace"`
	PermissionSlug       string `json:"permission_slug"`
	ResourceID           string `json:"resource_id"`
	ResourceExternalID   string `json:"resource_external_id"`
	ResourceTypeSlugName string `json:"resource_type_slug"`
}

func (s *Server) workosCheck(w http.ResponseWriter, r *http.Request, u caller) {
	var req workosCheckRequest
	e := s.bodyEnvironment(w, r, u, maxWorkOSCheckBody, &req, func() string { return req.Namespace })
	if e == nil {
		return
	}
	switch {
	case req.PermissionSlug == "":
		writeInvalid(w, "permission_slug", "permission_slug is required")
		return
	case req.ResourceID != "" && (req.ResourceExternalID != "" || req.ResourceTypeSlugName != ""):
		writeInvalid(w, "resource_id", "use either resource_id or resource_external_id with resource_type_slug")
		return
	case req.ResourceExternalID != "" && req.ResourceTypeSlugName == "":
		writeInvalid(w, "resource_type_slug", "resource_type_slug is required with resource_external_id")
		return
	case req.ResourceTypeSlugName != "" && req.ResourceExternalID == "":
		writeInvalid(w, "resource_external_id", "resource_external_id is required with resource_type_slug")
		return
	}
	answer(w, e, func(c *content) (int, any) {
		m := c.membership(r.PathValue("id"))
		if m == nil {
			return notFound("Organization membership", r.PathValue("id"))
		}
		// The one resource of this model is the membership's organization (type
		// "organization", its WorkOS id as external id or id): any other
		// resource does not exist for it.
		org := c.orgs[m.organization]
		switch {
		case req.ResourceTypeSlugName != "" && req.ResourceTypeSlugName != roleResourceType:
			return notFound("Resource type", req.ResourceTypeSlugName)
		case req.ResourceExternalID != "" && req.ResourceExternalID != org.id:
			return notFound("Resource", req.ResourceExternalID)
		case req.ResourceID != "" && req.ResourceID != org.id:
			return notFound("Resource", req.ResourceID)
		}
		d := decide(org, m, []string{req.PermissionSlug})
		countDecision("workos", d.allowed)
		return http.StatusOK, checkResult{Authorized: d.allowed}
	})
}

func (s *Server) listEnvironmentRoles(w http.ResponseWriter, r *http.Request, u caller) {
	s.answerEnv(w, r, u, func(c *content) (int, any) { return http.StatusOK, roleList(c.envRoles) })
}

func (s *Server) getEnvironmentRole(w http.ResponseWriter, r *http.Request, u caller) {
	s.answerEnv(w, r, u, func(c *content) (int, any) {
		role := c.envRoleBySlug[r.PathValue("slug")]
		if role == nil {
			return notFound("Role", r.PathValue("slug"))
		}
		return http.StatusOK, roleObjectOf(role)
	})
}

func (s *Server) listOrganizationRoles(w http.ResponseWriter, r *http.Request, u caller) {
	s.answerOrg(w, r, u, "id", func(_ *content, org *orgEntry) (int, any) {
		return http.StatusOK, roleList(org.roles)
	})
}

func (s *Server) getOrganizationRole(w http.ResponseWriter, r *http.Request, u caller) {
	s.answerOrg(w, r, u, "id", func(_ *content, org *orgEntry) (int, any) {
		role := org.roleBySlug[r.PathValue("slug")]
		if role == nil {
			return notFound("Role", r.PathValue("slug"))
		}
		return http.StatusOK, roleObjectOf(role)
	})
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
