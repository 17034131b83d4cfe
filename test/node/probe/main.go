// Command probe is the end-to-end suite's client on a real node, shipped as the
// image localhost/orgrbac/probe (`make image`). It never skips TLS
// verification: -ca names the CA bundle to trust.
//
// One request, its status code printed as JSON ({"status":204}); the exit code
// is 1 only when no HTTP answer came (the error is printed on stderr):
//
//	probe get [-ca FILE] [-token-file FILE] [-header K=V]... URL
//	probe request -method DELETE -url URL [-header K=V]... [-data BODY] [-ca FILE] [-token-file FILE]
//
// A long-running checker of the decision API: POST URL/v1/check every
// -interval, counting answers (any 200) and failures (transport errors and
// other statuses), with the counts served as JSON on GET -listen/stats
// ({"ok":N,"failed":N,"lastError":"...","lastAllowed":true}) and GET /healthz:
//
//	probe serve-check -url URL -ca FILE -token-file FILE -org ORG -user USER \
//	    -permission PERM [-interval 100ms] [-timeout 2s] [-listen :8080]
//
// A long-running watcher of one request, to measure how long a change takes to
// reach a workload: it sends the request every -interval and serves on GET
// -listen/stats the status it answers now and since when
// ({"status":403,"since":"…","polls":N,"errors":N}):
//
//	probe serve-watch -url URL [-method M] [-header K=V]... [-interval 100ms] [-listen :8080]
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "get":
		err = runRequest(os.Args[2:], http.MethodGet)
	case "request":
		err = runRequest(os.Args[2:], "")
	case "serve-check":
		err = runServeCheck(os.Args[2:])
	case "serve-watch":
		err = runServeWatch(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "probe %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, `usage:
  probe get [-ca FILE] [-token-file FILE] [-header K=V]... URL
  probe request -method METHOD -url URL [-header K=V]... [-data BODY] [-ca FILE] [-token-file FILE]
  probe serve-check -url URL -ca FILE -token-file FILE -org ORG -user USER -permission PERM [-interval 100ms] [-timeout 2s] [-listen :8080]
  probe serve-watch -url URL [-method M] [-header K=V]... [-ca FILE] [-token-file FILE] [-interval 100ms] [-listen :8080]`)
	os.Exit(2)
}

// headerFlag collects repeated -header K=V flags.
type headerFlag []string

func (h *headerFlag) String() string     { return strings.Join(*h, ",") }
func (h *headerFlag) Set(v string) error { *h = append(*h, v); return nil }

// requestSpec is one request of get and request.
type requestSpec struct {
	Method    string
	URL       string
	Headers   []string // K=V
	Body      string
	CAFile    string
	TokenFile string
	Timeout   time.Duration
}

// result is what get and request print.
type result struct {
	Status int    `json:"status"`
	Body   string `json:"body,omitempty"`
}

func runRequest(args []string, method string) error {
	fs := flag.NewFlagSet("request", flag.ContinueOnError)
	var spec requestSpec
	var headers headerFlag
	fs.StringVar(&spec.Method, "method", method, "HTTP method")
	fs.StringVar(&spec.URL, "url", "", "the URL (or the one argument)")
	fs.Var(&headers, "header", "K=V request header (repeatable)")
	fs.StringVar(&spec.Body, "data", "", "request body")
	fs.StringVar(&spec.CAFile, "ca", "", "CA bundle (PEM) to verify the server with; default: the system roots")
	fs.StringVar(&spec.TokenFile, "token-file", "", "file holding a bearer token, sent as Authorization: Bearer")
	fs.DurationVar(&spec.Timeout, "timeout", 10*time.Second, "time limit of the request")
	showBody := fs.Bool("show-body", false, "also print the response body (as a string)")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		usage()
	}
	switch {
	case len(pos) == 1 && spec.URL == "":
		spec.URL = pos[0]
	case len(pos) != 0:
		usage()
	}
	if spec.URL == "" || spec.Method == "" {
		usage()
	}
	spec.Headers = headers

	res, err := doRequest(context.Background(), spec)
	if err != nil {
		return err
	}
	if !*showBody {
		res.Body = ""
	}
	return json.NewEncoder(os.Stdout).Encode(res)
}

// doRequest sends one request and returns its status and body; an error means
// no HTTP answer.
func doRequest(ctx context.Context, spec requestSpec) (result, error) {
	client, err := newClient(spec.CAFile)
	if err != nil {
		return result{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, spec.Timeout)
	defer cancel()
	var body io.Reader
	if spec.Body != "" {
		body = strings.NewReader(spec.Body)
	}
	req, err := http.NewRequestWithContext(ctx, spec.Method, spec.URL, body)
	if err != nil {
		return result{}, err
	}
	for _, h := range spec.Headers {
		k, v, ok := strings.Cut(h, "=")
		if !ok || k == "" {
			return result{}, fmt.Errorf("-header %q: want K=V", h)
		}
		req.Header.Add(k, v)
	}
	if spec.TokenFile != "" {
		token, err := readToken(spec.TokenFile)
		if err != nil {
			return result{}, err
		}
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return result{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return result{}, fmt.Errorf("reading the answer (status %d): %w", resp.StatusCode, err)
	}
	return result{Status: resp.StatusCode, Body: string(data)}, nil
}

// newClient is an HTTP client with keep-alive connections that verifies TLS
// servers against caFile (the system roots when empty). It ignores proxy
// settings: the probe talks to cluster addresses.
func newClient(caFile string) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	tr.MaxIdleConnsPerHost = 4
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s: no PEM certificate", caFile)
		}
		tr.TLSClientConfig.RootCAs = pool
	}
	return &http.Client{Transport: tr}, nil
}

func readToken(file string) (string, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	token := strings.TrimSpace(string(data))
	if token == "" {
		return "", fmt.Errorf("%s is empty", file)
	}
	return token, nil
}

// parseInterleaved parses flags placed before, between and after the
// positional arguments, which it returns.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}
