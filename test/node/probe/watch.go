package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"log"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

// watchStats is the JSON of serve-watch's GET /stats: the status the URL
// answers now, since when it has answered it (the first poll that saw it), and
// the counts of polls and of polls without an answer.
type watchStats struct {
	Status int       `json:"status"`
	Since  time.Time `json:"since"`
	Polls  int64     `json:"polls"`
	Errors int64     `json:"errors"`
}

// watch polls one request and records when its answer changes, so that a test
// measures how long a change takes to reach a workload.
type watch struct {
	spec     requestSpec
	interval time.Duration
	now      func() time.Time
	do       func(context.Context, requestSpec) (result, error)

	mu sync.Mutex
	st watchStats
}

// pollOnce sends the request once and records its status.
func (w *watch) pollOnce(ctx context.Context) {
	res, err := w.do(ctx, w.spec)
	at := w.now()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.st.Polls++
	if err != nil {
		if ctx.Err() == nil {
			w.st.Errors++
			log.Printf("poll failed: %v", err)
		}
		return
	}
	if res.Status != w.st.Status {
		log.Printf("status %d -> %d", w.st.Status, res.Status)
		w.st.Status, w.st.Since = res.Status, at
	}
}

func (w *watch) stats() watchStats {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.st
}

func (w *watch) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /stats", func(rw http.ResponseWriter, _ *http.Request) {
		rw.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(rw).Encode(w.stats())
	})
	mux.HandleFunc("GET /healthz", func(rw http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(rw, "ok\n")
	})
	return mux
}

func runServeWatch(args []string) error {
	fs := flag.NewFlagSet("serve-watch", flag.ContinueOnError)
	var spec requestSpec
	var headers headerFlag
	fs.StringVar(&spec.Method, "method", http.MethodGet, "HTTP method")
	fs.StringVar(&spec.URL, "url", "", "the URL to poll")
	fs.Var(&headers, "header", "K=V request header (repeatable)")
	fs.StringVar(&spec.CAFile, "ca", "", "CA bundle (PEM) to verify the server with")
	fs.StringVar(&spec.TokenFile, "token-file", "", "file holding a bearer token")
	fs.DurationVar(&spec.Timeout, "timeout", 2*time.Second, "time limit of one poll")
	interval := fs.Duration("interval", 100*time.Millisecond, "time between polls")
	listen := fs.String("listen", ":8080", "address serving /stats and /healthz")
	if pos, err := parseInterleaved(fs, args); err != nil || len(pos) != 0 {
		usage()
	}
	if spec.URL == "" || *interval <= 0 || spec.Timeout <= 0 {
		return errors.New("-url is required; -interval and -timeout must be positive")
	}
	spec.Headers = headers
	w := &watch{spec: spec, interval: *interval, now: time.Now, do: doRequest}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv := &http.Server{Addr: *listen, Handler: w.handler(), ReadHeaderTimeout: 5 * time.Second}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.ListenAndServe() }()
	go func() {
		t := time.NewTicker(*interval)
		defer t.Stop()
		for {
			w.pollOnce(ctx)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	log.Printf("polling %s %s every %s; stats on %s/stats", spec.Method, spec.URL, *interval, *listen)
	select {
	case err := <-serveErr:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shutdownCtx)
}
