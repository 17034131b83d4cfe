package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// checkerConfig is what serve-check checks, and how often.
type checkerConfig struct {
	URL        string // the decision API's base URL
	CAFile     string
	TokenFile  string
	Org        string
	User       string
	Permission string
	Interval   time.Duration // between checks
	Timeout    time.Duration // of one check
}

// stats is the JSON of GET /stats.
type stats struct {
	OK          int64  `json:"ok"`
	Failed      int64  `json:"failed"`
	LastError   string `json:"lastError"`
	LastAllowed bool   `json:"lastAllowed"`
}

// checker asks POST /v1/check over and over, counting answers and failures.
type checker struct {
	cfg    checkerConfig
	client *http.Client
	body   []byte
	token  *tokenFile
	keys   string // prefix of the Idempotency-Keys
	seq    atomic.Uint64

	mu sync.Mutex
	st stats
}

func newChecker(cfg checkerConfig) (*checker, error) {
	client, err := newClient(cfg.CAFile)
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(map[string]string{
		"organization": cfg.Org,
		"user":         cfg.User,
		"permission":   cfg.Permission,
	})
	if err != nil {
		return nil, err
	}
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	return &checker{
		cfg:    cfg,
		client: client,
		body:   body,
		token:  &tokenFile{path: cfg.TokenFile, every: time.Minute, now: time.Now},
		keys:   hex.EncodeToString(b[:]),
	}, nil
}

// checkOnce asks once and records the outcome.
func (c *checker) checkOnce(ctx context.Context) {
	allowed, err := c.ask(ctx)
	if err != nil && ctx.Err() != nil {
		return // stopping: not the server's failure
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.st.Failed++
		c.st.LastError = err.Error()
		log.Printf("check failed: %v", err)
		return
	}
	c.st.OK++
	c.st.LastAllowed = allowed
}

// ask sends one check. Any 200 is an answer; allowed is false when its body
// cannot be read.
func (c *checker) ask(ctx context.Context) (allowed bool, err error) {
	token, err := c.token.get()
	if err != nil {
		return false, fmt.Errorf("token: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	// A bytes.Reader body gives the request a GetBody, and the
	// Idempotency-Key makes the POST replayable: the transport may resend it on
	// a new connection when the server closed the kept-alive one (a check has no
	// side effect).
	req, err := http.NewRequestWithContext(ctx, http.MethodPost,
		strings.TrimSuffix(c.cfg.URL, "/")+"/v1/check", bytes.NewReader(c.body))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", c.keys+"-"+strconv.FormatUint(c.seq.Add(1), 10))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return false, fmt.Errorf("reading the answer (status %d): %w", resp.StatusCode, err)
	}
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("status %d: %s", resp.StatusCode, snippet(data))
	}
	var answer struct {
		Allowed bool `json:"allowed"`
	}
	if err := json.Unmarshal(data, &answer); err != nil {
		log.Printf("check answered 200 with an unreadable body: %v", err)
		return false, nil
	}
	return answer.Allowed, nil
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

// run checks every interval until ctx ends; a check slower than the interval
// delays the next one rather than overlapping it.
func (c *checker) run(ctx context.Context) {
	t := time.NewTicker(c.cfg.Interval)
	defer t.Stop()
	for {
		c.checkOnce(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (c *checker) stats() stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.st
}

// handler serves GET /stats and GET /healthz.
func (c *checker) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(c.stats())
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok\n")
	})
	return mux
}

// tokenFile is a bearer token read from a file, read again once it is older
// than every (projected ServiceAccount tokens rotate).
type tokenFile struct {
	path  string
	every time.Duration
	now   func() time.Time

	mu    sync.Mutex
	token string
	read  time.Time
}

// get returns the token; "" when there is no file. A failed re-read keeps the
// token read before.
func (t *tokenFile) get() (string, error) {
	if t.path == "" {
		return "", nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	if t.token != "" && now.Sub(t.read) < t.every {
		return t.token, nil
	}
	token, err := readToken(t.path)
	if err != nil {
		if t.token != "" {
			log.Printf("re-reading the token: %v; keeping the previous one", err)
			t.read = now
			return t.token, nil
		}
		return "", err
	}
	t.token, t.read = token, now
	return token, nil
}

func runServeCheck(args []string) error {
	fs := flag.NewFlagSet("serve-check", flag.ContinueOnError)
	var cfg checkerConfig
	fs.StringVar(&cfg.URL, "url", "", "base URL of the decision API, e.g. https://orgrbac-api.orgrbac-system.svc:8082")
	fs.StringVar(&cfg.CAFile, "ca", "", "CA bundle (PEM) of the decision API's serving certificate")
	fs.StringVar(&cfg.TokenFile, "token-file", "", "file holding the bearer token, re-read every minute")
	fs.StringVar(&cfg.Org, "org", "", "organization to check")
	fs.StringVar(&cfg.User, "user", "", "user to check")
	fs.StringVar(&cfg.Permission, "permission", "", "permission to check")
	fs.DurationVar(&cfg.Interval, "interval", 100*time.Millisecond, "time between checks")
	fs.DurationVar(&cfg.Timeout, "timeout", 2*time.Second, "time limit of one check")
	listen := fs.String("listen", ":8080", "address serving /stats and /healthz")
	if pos, err := parseInterleaved(fs, args); err != nil || len(pos) != 0 {
		usage()
	}
	if cfg.URL == "" || cfg.Org == "" || cfg.User == "" || cfg.Permission == "" || cfg.Interval <= 0 || cfg.Timeout <= 0 {
		return errors.New("-url, -org, -user and -permission are required; -interval and -timeout must be positive")
	}
	c, err := newChecker(cfg)
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv := &http.Server{Addr: *listen, Handler: c.handler(), ReadHeaderTimeout: 5 * time.Second}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.ListenAndServe() }()
	done := make(chan struct{})
	go func() { c.run(ctx); close(done) }()
	log.Printf("checking %s/v1/check every %s; stats on %s/stats", cfg.URL, cfg.Interval, *listen)

	select {
	case err := <-serveErr:
		stop()
		<-done
		return err
	case <-ctx.Done():
	}
	<-done
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shutdownCtx)
}
