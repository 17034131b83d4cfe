package main

// `workos-go receive`: a webhook receiver that verifies every delivery with the
// official Go SDK's webhook verification (workos.NewWebhookVerifier(secret).
// ConstructEvent(sigHeader, body)), as an application written for WorkOS
// would; internal/webhooks' envtest suite points WebhookEndpoints at it.
//
// A verified delivery is answered 200 and its event id recorded, in order; a
// rejected one 400. GET /stats answers
// {sdkVersion, received, verified, rejected, failed, ids: [...]}.
//
// Environment:
//
//	WEBHOOK_SECRET  the signing secret
//	RECEIVER_PORT   the port on 127.0.0.1 (or the argument after receive); 0 or
//	                unset: any free port, printed as {"port": N} on stdout
//	FAIL_FIRST      answer the first N deliveries with FAIL_STATUS, unverified
//	                and unrecorded, to test retries (default 0)
//	FAIL_STATUS     that status (default 503)

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/workos/workos-go/v9"
)

type receiverStats struct {
	SDKVersion string   `json:"sdkVersion"`
	Received   int      `json:"received"`
	Verified   int      `json:"verified"`
	Rejected   int      `json:"rejected"`
	Failed     int      `json:"failed"`
	IDs        []string `json:"ids"`
}

type receiver struct {
	verifier   *workos.WebhookVerifier
	failFirst  int
	failStatus int

	mu    sync.Mutex
	stats receiverStats
}

func envInt(name string, def int) (int, error) {
	v := os.Getenv(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", name, err)
	}
	return n, nil
}

func receive(stdout io.Writer) error {
	secret, err := env("WEBHOOK_SECRET")
	if err != nil {
		return err
	}
	port := os.Getenv("RECEIVER_PORT")
	if len(os.Args) > 2 {
		port = os.Args[2]
	}
	if port == "" {
		port = "0"
	}
	r := &receiver{verifier: workos.NewWebhookVerifier(secret),
		stats: receiverStats{SDKVersion: workos.Version, IDs: []string{}}}
	if r.failFirst, err = envInt("FAIL_FIRST", 0); err != nil {
		return err
	}
	if r.failStatus, err = envInt("FAIL_STATUS", http.StatusServiceUnavailable); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", port))
	if err != nil {
		return err
	}
	if err := json.NewEncoder(stdout).Encode(map[string]int{"port": ln.Addr().(*net.TCPAddr).Port}); err != nil {
		return err
	}
	srv := &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method == http.MethodGet && req.URL.Path == "/stats" {
		r.mu.Lock()
		data, err := json.Marshal(r.stats)
		r.mu.Unlock()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(data)
		return
	}
	if req.Method != http.MethodPost {
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stats.Received++
	if r.stats.Received <= r.failFirst {
		r.stats.Failed++
		w.WriteHeader(r.failStatus)
		return
	}
	event, err := r.verifier.ConstructEvent(req.Header.Get("WorkOS-Signature"), string(body))
	if err == nil && req.Header.Get("Content-Type") != "application/json" {
		err = errors.New("content type " + req.Header.Get("Content-Type"))
	}
	if err != nil {
		r.stats.Rejected++
		fmt.Fprintln(os.Stderr, "rejected:", err)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	r.stats.Verified++
	r.stats.IDs = append(r.stats.IDs, event.ID)
	w.WriteHeader(http.StatusOK)
}
