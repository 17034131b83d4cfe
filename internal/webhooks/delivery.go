package webhooks

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"syscall"
	"time"
)

// Outbound limits.
const (
	// DefaultRequestTimeout bounds one delivery: connection, TLS, request and
	// response headers and the (discarded) body.
	DefaultRequestTimeout = 10 * time.Second
	// maxResponseBody is how much of a response body is read (and discarded)
	// so that the connection can be reused; the rest is dropped with it.
	maxResponseBody = 64 << 10
	// maxResponseHeader bounds the response headers.
	maxResponseHeader = 64 << 10
)

// outcome is the result of one delivery attempt. Its message says what went
// wrong in a fixed form (never the response body, never the secret).
type outcome struct {
	ok       bool
	refused  bool
	status   int
	message  string
	duration time.Duration
}

// newClient is the HTTP client of one endpoint: rawURL's host only, no proxy,
// no redirects (a 3xx is a failure), TLS verified against the system roots
// and caBundle, every dialed address checked by policy.
func newClient(rawURL, caBundle string, policy *Destinations, timeout time.Duration) (*http.Client, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, errors.New("spec.url is not an http or https URL")
	}
	if u.User != nil {
		return nil, errors.New("spec.url may not hold user information")
	}
	host := u.Hostname()
	roots, err := x509.SystemCertPool()
	if err != nil || roots == nil {
		roots = x509.NewCertPool()
	}
	if caBundle != "" && !roots.AppendCertsFromPEM([]byte(caBundle)) {
		return nil, errors.New("spec.caBundle holds no PEM certificate")
	}
	dialer := &net.Dialer{
		Timeout: timeout,
		Control: func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("dialing %q: %w", address, err)
			}
			return policy.Allow(host, ap.Addr())
		},
	}
	transport := &http.Transport{
		Proxy:                  nil, // a proxy would be the dialed address: the policy could not see the destination
		DialContext:            dialer.DialContext,
		TLSClientConfig:        &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:    timeout,
		ResponseHeaderTimeout:  timeout,
		MaxResponseHeaderBytes: maxResponseHeader,
		MaxIdleConns:           1,
		MaxIdleConnsPerHost:    1,
		IdleConnTimeout:        90 * time.Second,
		ForceAttemptHTTP2:      true,
	}
	return &http.Client{
		Transport: transport,
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}, nil
}

// post makes one delivery of body, signed with sig, to rawURL.
func post(ctx context.Context, c *http.Client, rawURL string, body []byte, sig string, now func() time.Time) outcome {
	start := now()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, bytes.NewReader(body))
	if err != nil {
		return outcome{message: "spec.url is not an http or https URL"}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "orgrbac")
	req.Header.Set(SignatureHeader, sig)
	resp, err := c.Do(req)
	if err != nil {
		o := outcome{message: describe(err), duration: now().Sub(start)}
		var refused *RefusedError
		if errors.As(err, &refused) {
			o.refused = true
		}
		return o
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseBody))
	_ = resp.Body.Close()
	o := outcome{status: resp.StatusCode, duration: now().Sub(start)}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		o.ok = true
		return o
	}
	o.message = "the destination answered HTTP " + strconv.Itoa(resp.StatusCode)
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		o.message += " (redirects are not followed)"
	}
	return o
}

// describe is a fixed description of a failed request: which step failed,
// without addresses that change or anything the destination sent.
func describe(err error) string {
	var refused *RefusedError
	var certErr *tls.CertificateVerificationError
	var unknownAuthority x509.UnknownAuthorityError
	var hostnameErr x509.HostnameError
	var dnsErr *net.DNSError
	var netErr net.Error
	switch {
	case errors.As(err, &refused):
		return refused.Error()
	case errors.As(err, &certErr), errors.As(err, &unknownAuthority), errors.As(err, &hostnameErr):
		return "the destination's TLS certificate is not trusted (system roots and spec.caBundle)"
	case errors.As(err, &dnsErr):
		return "the destination's host name does not resolve"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return "the request timed out"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "the destination refused the connection"
	}
	return "the request failed (connection or protocol error)"
}
