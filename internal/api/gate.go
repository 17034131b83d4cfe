package api

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/orgrbac/orgrbac/internal/api/store"
)

// The gate every route passes: the caller is authenticated, the environment
// (namespace) it asks about is selected and the caller authorized there
// (SubjectAccessReview), and only then is the environment's index read.

// maxUnauthorizedBodies bounds the bodies read before the caller is authorized
// anywhere (see bodyEnvironment); unauthorizedBodyTimeout bounds how long one
// may take to arrive.
const (
	maxUnauthorizedBodies   = 8
	unauthorizedBodyTimeout = 2 * time.Second
)

// authed authenticates the caller (401 without a valid bearer token) before h,
// which authorizes it for needs in the environment it selects.
func (s *Server) authed(needs []access, h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.store.Ready() {
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
func (s *Server) serve(w http.ResponseWriter, ns string) *store.EnvIndex {
	e := s.store.Get(ns)
	setRevision(w, e.Revision())
	return e
}

// authorizeIn authorizes u in ns (403 otherwise) and returns its index; nil
// when it wrote an error response.
func (s *Server) authorizeIn(w http.ResponseWriter, r *http.Request, u caller, ns string) *store.EnvIndex {
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
// the response header. Handlers then answer from EnvIndex.Read, and set the
// header again from the revision of the content they read. It writes the
// error response and returns nil when the request must stop.
func (s *Server) environment(w http.ResponseWriter, r *http.Request, u caller) *store.EnvIndex {
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
	v any, bodyNS func() string) *store.EnvIndex {
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

// answer computes a response from the environment's content under its read
// lock, and writes it once the lock is released: a slow client never holds
// the index's writer back.
func answer(w http.ResponseWriter, e *store.EnvIndex, f func(c *store.Content) (code int, body any)) {
	var (
		code int
		body any
	)
	setRevision(w, e.Read(func(c *store.Content) { code, body = f(c) }))
	writeJSON(w, code, body)
}

// answerEnv answers a request that names no environment in its body: from the
// environment s.environment selects and authorizes, with f's status and body.
func (s *Server) answerEnv(w http.ResponseWriter, r *http.Request, u caller, f func(c *store.Content) (code int, body any)) {
	if e := s.environment(w, r, u); e != nil {
		answer(w, e, f)
	}
}

// answerOrg is answerEnv for a request about the organization its path value
// key names (WorkOS id or name): 404 when there is none, else f's answer.
func (s *Server) answerOrg(w http.ResponseWriter, r *http.Request, u caller, key string,
	f func(c *store.Content, org *store.Organization) (code int, body any)) {
	s.answerEnv(w, r, u, func(c *store.Content) (int, any) {
		org := c.Organization(r.PathValue(key))
		if org == nil {
			return notFound("Organization", r.PathValue(key))
		}
		return f(c, org)
	})
}
