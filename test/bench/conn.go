package main

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
)

// connPool holds the load generator's keep-alive HTTP/1.1 connections to one
// server, kept between load runs so that a measured run starts on warm
// connections. Each worker owns one connection while it runs and writes its
// requests on it directly: no http.Client, whose transport hands every request
// and answer between goroutines, and which on 2 shared cores took twice the
// CPU of the server it measured.
type connPool struct {
	addr string // host:port
	host string // the Host header
	tls  *tls.Config

	mu   sync.Mutex
	idle []*loadConn
}

// loadConn is one connection with its buffers.
type loadConn struct {
	c net.Conn
	r *bufio.Reader
	w *bufio.Writer
}

func newConnPool(rawURL string, cfg *tls.Config) (*connPool, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "https" {
		return nil, fmt.Errorf("the load generator speaks HTTPS only, not %q", u.Scheme)
	}
	return &connPool{addr: u.Host, host: u.Host, tls: cfg}, nil
}

// get returns an idle connection, or dials a new one.
func (p *connPool) get() (*loadConn, error) {
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		c := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return c, nil
	}
	p.mu.Unlock()
	c, err := tls.Dial("tcp", p.addr, p.tls)
	if err != nil {
		return nil, err
	}
	return &loadConn{c: c, r: bufio.NewReaderSize(c, 16<<10), w: bufio.NewWriterSize(c, 4<<10)}, nil
}

// put keeps a healthy connection for the next run.
func (p *connPool) put(c *loadConn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.idle = append(p.idle, c)
}

// close closes the idle connections.
func (p *connPool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.idle {
		_ = c.c.Close()
	}
	p.idle = nil
}

// rawRequest is the bytes of one POST: request line, headers and body.
func rawRequest(path, host string, r loadRequest) []byte {
	b := make([]byte, 0, 256+len(r.body)+len(r.token))
	b = append(b, "POST "...)
	b = append(b, path...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, host...)
	b = append(b, "\r\nContent-Type: application/json\r\n"...)
	if r.token != "" {
		b = append(b, "Authorization: Bearer "...)
		b = append(b, r.token...)
		b = append(b, "\r\n"...)
	}
	b = append(b, "Content-Length: "...)
	b = strconv.AppendInt(b, int64(len(r.body)), 10)
	b = append(b, "\r\n\r\n"...)
	return append(b, r.body...)
}

// roundTrip writes one request and reads its whole answer into buf. keep is
// false when the connection cannot carry another request.
func (c *loadConn) roundTrip(req []byte, buf []byte) (status int, body []byte, keep bool, err error) {
	if _, err := c.w.Write(req); err != nil {
		return 0, buf, false, err
	}
	if err := c.w.Flush(); err != nil {
		return 0, buf, false, err
	}
	resp, err := http.ReadResponse(c.r, nil)
	if err != nil {
		return 0, buf, false, err
	}
	w := bytesWriter{buf[:0]}
	_, err = io.Copy(&w, resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return resp.StatusCode, w.b, false, err
	}
	return resp.StatusCode, w.b, !resp.Close, nil
}

// bytesWriter appends to a reused slice.
type bytesWriter struct{ b []byte }

func (w *bytesWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}
