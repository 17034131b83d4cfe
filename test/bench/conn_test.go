package main

import (
	"context"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// The load generator's raw HTTP/1.1 client against a real TLS server: every
// request arrives whole with its headers, answers are read whole, connections
// are reused, and one the server closes is replaced.
func TestRunLoadRawConnections(t *testing.T) {
	var served, closed atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || r.URL.Path != "/v1/check" || r.Header.Get("Authorization") != "Bearer tok-"+string(body) ||
			r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "bad request "+r.Method+" "+r.URL.Path+" "+r.Header.Get("Authorization"), http.StatusBadRequest)
			return
		}
		if served.Add(1)%50 == 0 {
			closed.Add(1)
			w.Header().Set("Connection", "close")
		}
		if body[0] == 'a' {
			_, _ = w.Write([]byte(`{"allowed":true}`))
			return
		}
		_, _ = w.Write([]byte(`{"allowed":false,"padding":"` + strings.Repeat("x", 40<<10) + `"}`)) // larger than one read
	}))
	srv.EnableHTTP2 = false
	srv.StartTLS()
	defer srv.Close()
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	cfg, err := loadTLSConfig(certPEM)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ServerName = "example.com" // httptest's certificate names example.com and 127.0.0.1
	pool, err := newConnPool(srv.URL, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.close()
	reqs := []loadRequest{{body: []byte("a"), token: "tok-a"}, {body: []byte("d"), token: "tok-d"}}
	s := runLoad(context.Background(), pool, loadSpec{path: "/v1/check", requests: reqs, workers: 4,
		duration: time.Minute, maxRequests: 400})
	if s.Requests != 400 || s.NonOKAnswers != 0 || s.TransportErrs != 0 {
		t.Fatalf("%d answered, %d non-200 (%s), %d transport errors; want 400, 0, 0", s.Requests, s.NonOKAnswers, s.FirstNonOK, s.TransportErrs)
	}
	if s.AllowedShare != 0.5 {
		t.Errorf("allowed share %v, want 0.5", s.AllowedShare)
	}
	if closed.Load() == 0 || len(pool.idle) == 0 || len(pool.idle) > 4 {
		t.Errorf("%d connections closed by the server, %d idle after the run; want some closed and 1–4 kept", closed.Load(), len(pool.idle))
	}
	// A paced run reuses the kept connections.
	s = runLoad(context.Background(), pool, loadSpec{path: "/v1/check", requests: reqs, workers: 2, rate: 2000,
		duration: 100 * time.Millisecond, maxRequests: 1000})
	if s.Requests == 0 || s.NonOKAnswers+s.TransportErrs != 0 {
		t.Errorf("paced run: %d answered, %d non-200, %d transport errors", s.Requests, s.NonOKAnswers, s.TransportErrs)
	}
}
