package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"
)

// The security review's L3: the admission webhook server does not offer
// HTTP/2. A client asking for h2 (ALPN) gets HTTP/1.1.
func TestWebhookServerRefusesHTTP2(t *testing.T) {
	port, roots := startLocalWebhookServer(t, &webhookOptions{}, "/ping", http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		_, _ = fmt.Fprint(rw, r.Proto)
	}))
	var err error
	cfg := &tls.Config{RootCAs: roots, ServerName: "127.0.0.1", NextProtos: []string{"h2", "http/1.1"}, MinVersion: tls.VersionTLS12}
	var conn *tls.Conn
	for deadline := time.Now().Add(10 * time.Second); ; {
		conn, err = tls.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port), cfg)
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("dialing the webhook server: %v", err)
	}
	if p := conn.ConnectionState().NegotiatedProtocol; p != "http/1.1" {
		t.Errorf("offered h2 and http/1.1, the webhook server chose %q; want http/1.1", p)
	}
	_ = conn.Close()

	// Only h2 offered: no HTTP/2 either.
	h2only := cfg.Clone()
	h2only.NextProtos = []string{"h2"}
	if c, err := tls.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port), h2only); err == nil {
		if p := c.ConnectionState().NegotiatedProtocol; p == "h2" {
			t.Error("a client offering only h2 negotiated it")
		}
		_ = c.Close()
	}

	// An HTTP client that prefers HTTP/2 speaks HTTP/1.1.
	client := &http.Client{Timeout: 5 * time.Second,
		Transport: &http.Transport{TLSClientConfig: cfg.Clone(), ForceAttemptHTTP2: true}}
	res, err := client.Get(fmt.Sprintf("https://127.0.0.1:%d/ping", port))
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	if res.ProtoMajor != 1 {
		t.Errorf("the webhook server answered over %s, want HTTP/1.1", res.Proto)
	}
}

// startLocalWebhookServer starts w's webhook server in local mode on a free
// loopback port, serving handler at path, until the test ends; it returns the
// port and the pool that verifies the server's certificate.
func startLocalWebhookServer(t *testing.T, w *webhookOptions, path string, handler http.Handler) (int, *x509.CertPool) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	w.localURL = fmt.Sprintf("https://127.0.0.1:%d", port)
	srv, err := w.newServer()
	if err != nil {
		t.Fatal(err)
	}
	srv.Register(path, handler)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("the webhook server: %v", err)
		}
	})
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(w.caBundle) {
		t.Fatal("no local CA")
	}
	return port, roots
}
