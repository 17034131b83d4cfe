package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// loadRequest is one prepared request of the load generator.
type loadRequest struct {
	body  []byte
	token string
}

// loadSpec is one run of the load generator against one URL.
type loadSpec struct {
	path     string        // e.g. /v1/check
	requests []loadRequest // cycled through
	// workers send requests one after the other (closed loop) when rate is 0.
	workers int
	// rate, when positive, paces the requests at that many per second,
	// spread over the workers (open loop).
	rate        float64
	duration    time.Duration
	maxRequests int
}

// loadStats are the figures of one load run.
type loadStats struct {
	Concurrency   int     `json:"concurrency"`
	OfferedRate   float64 `json:"offeredRatePerSecond,omitempty"`
	Requests      int     `json:"requests"`
	Seconds       float64 `json:"seconds"`
	PerSecond     float64 `json:"requestsPerSecond"`
	P50Micros     float64 `json:"p50Micros"`
	P99Micros     float64 `json:"p99Micros"`
	P999Micros    float64 `json:"p999Micros"`
	MaxMicros     float64 `json:"maxMicros"`
	AllowedShare  float64 `json:"allowedShare"`
	LateStarts    int     `json:"lateStarts,omitempty"`
	NonOKAnswers  int     `json:"nonOKAnswers"`
	FirstNonOK    string  `json:"firstNonOK,omitempty"`
	TransportErrs int     `json:"transportErrors"`
	// RunQueueWait is, for the server ("server") and the load generator
	// ("client"), the milliseconds per second their threads spent ready to run
	// but waiting for a CPU during the measurement.
	RunQueueWait map[string]float64 `json:"runQueueWaitMsPerSecond,omitempty"`
}

// lateStart is how far behind its schedule a paced request may start before it
// counts as late (the generator could not keep up).
const lateStart = time.Millisecond

var allowedTrue = []byte(`"allowed":true`)

// runLoad sends requests until the duration or the request count is reached and
// measures each one's latency, from writing the request to reading the whole
// answer. Each worker uses one keep-alive connection of the pool (the caller
// warms them up first) and gives it back at the end.
func runLoad(ctx context.Context, pool *connPool, spec loadSpec) loadStats {
	var (
		next                 atomic.Int64
		mu                   sync.Mutex
		lat                  []time.Duration
		allowed, late, nonOK int
		transportErrs        int
		firstNonOK           string
		wg                   sync.WaitGroup
		start                = time.Now()
		deadline             = start.Add(spec.duration)
	)
	raw := make([][]byte, len(spec.requests))
	for i, r := range spec.requests {
		raw[i] = rawRequest(spec.path, pool.host, r)
	}
	for range spec.workers {
		wg.Go(func() {
			mine := make([]time.Duration, 0, 1024)
			var myAllowed, myLate, myNonOK, myErrs int
			var myFirst string
			buf := make([]byte, 0, 512)
			var conn *loadConn
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= spec.maxRequests {
					break
				}
				if spec.rate > 0 {
					at := start.Add(time.Duration(float64(i) / spec.rate * float64(time.Second)))
					if at.After(deadline) {
						break
					}
					if d := time.Until(at); d > 0 {
						time.Sleep(d)
					} else if -d > lateStart {
						myLate++
					}
				} else if time.Now().After(deadline) {
					break
				}
				if conn == nil {
					c, err := pool.get()
					if err != nil {
						myErrs++
						continue
					}
					conn = c
				}
				t0 := time.Now()
				status, body, keep, err := conn.roundTrip(raw[i%len(raw)], buf)
				d := time.Since(t0)
				buf = body
				if !keep {
					_ = conn.c.Close()
					conn = nil
				}
				switch {
				case err != nil:
					myErrs++
				case status != http.StatusOK:
					myNonOK++
					if myFirst == "" {
						myFirst = fmt.Sprintf("%d: %.200s", status, body)
					}
				default:
					mine = append(mine, d)
					if bytes.Contains(body, allowedTrue) {
						myAllowed++
					}
				}
			}
			if conn != nil {
				pool.put(conn)
			}
			mu.Lock()
			lat = append(lat, mine...)
			allowed += myAllowed
			late += myLate
			nonOK += myNonOK
			transportErrs += myErrs
			if firstNonOK == "" {
				firstNonOK = myFirst
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	s := summarizeLatencies(lat, elapsed)
	s.Concurrency = spec.workers
	s.OfferedRate = round3(spec.rate)
	s.AllowedShare = round3(ratio(float64(allowed), float64(len(lat))))
	s.LateStarts, s.NonOKAnswers, s.FirstNonOK, s.TransportErrs = late, nonOK, firstNonOK, transportErrs
	return s
}

// summarizeLatencies computes the count, rate and percentiles of successful
// requests over elapsed.
func summarizeLatencies(lat []time.Duration, elapsed time.Duration) loadStats {
	slices.Sort(lat)
	us := func(d time.Duration) float64 { return round3(float64(d) / float64(time.Microsecond)) }
	s := loadStats{Requests: len(lat), Seconds: round3(elapsed.Seconds())}
	if len(lat) > 0 {
		s.PerSecond = round3(float64(len(lat)) / elapsed.Seconds())
		s.P50Micros = us(percentile(lat, 50))
		s.P99Micros = us(percentile(lat, 99))
		s.P999Micros = us(percentile(lat, 99.9))
		s.MaxMicros = us(lat[len(lat)-1])
	}
	return s
}
