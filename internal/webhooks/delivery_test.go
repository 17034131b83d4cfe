package webhooks

import (
	"context"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func mustPolicy(t *testing.T, s string) *Destinations {
	t.Helper()
	d, err := ParseDestinations(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// A delivery carries the body, the headers and the signature; a large response
// body is read only up to the limit.
func TestPostDelivers(t *testing.T) {
	var got http.Header
	var body string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		b, _ := io.ReadAll(r.Body)
		body = string(b)
		_, _ = w.Write([]byte(strings.Repeat("x", 1<<20)))
	}))
	defer srv.Close()
	c, err := newClient(srv.URL, "", mustPolicy(t, "127.0.0.1"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	o := post(context.Background(), c, srv.URL+"/hook", []byte(`{"a":1}`), "t=1, v1=ab", time.Now)
	if !o.ok || o.status != 200 {
		t.Fatalf("outcome %+v", o)
	}
	if body != `{"a":1}` || got.Get("Content-Type") != "application/json" || got.Get("User-Agent") != "orgrbac" ||
		got.Get("WorkOS-Signature") != "t=1, v1=ab" {
		t.Errorf("request: body %s, headers %v", body, got)
	}
}

// A destination outside the policy is refused before any connection.
func TestPostRefusedWithoutConnecting(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var accepted atomic.Int32
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			_ = conn.Close()
		}
	}()
	defer func() { _ = ln.Close() }()
	url := "http://" + ln.Addr().String() + "/"
	for _, policy := range []string{"any", "cluster", "10.0.0.0/8", "localhost", "127.0.0.2"} {
		c, err := newClient(url, "", mustPolicy(t, policy), time.Second)
		if err != nil {
			t.Fatal(err)
		}
		o := post(context.Background(), c, url, []byte(`{}`), "t=1, v1=ab", time.Now)
		if o.ok || !o.refused || !strings.Contains(o.message, "outside --webhook-destinations") {
			t.Errorf("policy %q: outcome %+v, want refused", policy, o)
		}
	}
	time.Sleep(50 * time.Millisecond)
	if n := accepted.Load(); n != 0 {
		t.Errorf("%d connections reached the refused destination", n)
	}
}

// Redirects are not followed: a 3xx is a failure, and the other host is never asked.
func TestPostNoRedirects(t *testing.T) {
	var other atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { other.Add(1) }))
	defer target.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL, http.StatusTemporaryRedirect)
	}))
	defer srv.Close()
	c, err := newClient(srv.URL, "", mustPolicy(t, "127.0.0.1"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	o := post(context.Background(), c, srv.URL, []byte(`{}`), "t=1, v1=ab", time.Now)
	if o.ok || o.status != http.StatusTemporaryRedirect || !strings.Contains(o.message, "HTTP 307") {
		t.Errorf("outcome %+v", o)
	}
	if other.Load() != 0 {
		t.Error("the redirect was followed")
	}
}

// TLS is verified: an unknown CA fails, spec.caBundle makes it trusted.
func TestPostTLS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	policy := mustPolicy(t, "127.0.0.1")
	c, err := newClient(srv.URL, "", policy, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if o := post(context.Background(), c, srv.URL, []byte(`{}`), "t=1, v1=ab", time.Now); o.ok ||
		!strings.Contains(o.message, "certificate is not trusted") {
		t.Errorf("untrusted: outcome %+v", o)
	}
	ca := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}))
	if c, err = newClient(srv.URL, ca, policy, time.Second); err != nil {
		t.Fatal(err)
	}
	if o := post(context.Background(), c, srv.URL, []byte(`{}`), "t=1, v1=ab", time.Now); !o.ok {
		t.Errorf("with caBundle: outcome %+v", o)
	}
	if _, err := newClient(srv.URL, "not a PEM", policy, time.Second); err == nil {
		t.Error("a caBundle without a certificate was accepted")
	}
}

// A destination that does not answer in time fails with a timeout.
func TestPostTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-release }))
	defer srv.Close()
	defer close(release)
	c, err := newClient(srv.URL, "", mustPolicy(t, "127.0.0.1"), 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if o := post(context.Background(), c, srv.URL, []byte(`{}`), "t=1, v1=ab", time.Now); o.ok ||
		o.message != "the request timed out" {
		t.Errorf("outcome %+v", o)
	}
}
