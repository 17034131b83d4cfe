package controller

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// The controllers' own metrics (controller-runtime adds reconcile counts,
// latencies and work queues), registered in controller-runtime's registry and
// served on the manager's metrics endpoint. Labels are bounded: no object or
// user names, and a namespace only in orgrbac_publication_age_seconds (one series
// per published environment, dropped when it goes).
var (
	membershipsDesc = prometheus.NewDesc("orgrbac_memberships",
		"Memberships in the informer cache by spec state (Active, Inactive, Pending), readiness (true, false, "+
			"unknown: not resolved yet) and the Ready condition's reason.",
		[]string{"state", "ready", "reason"}, nil)
	publishDuration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "orgrbac_publish_duration_seconds",
		Help: "Time from the first publication pass of an environment that found it out of date to the pass " +
			"that published it (throttling and retries included).",
		Buckets: []float64{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300},
	})
	publicationsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "orgrbac_publications_total",
		Help: "Publication passes that completed, by result: written (a new snapshot) or unchanged.",
	}, []string{"result"})
	publishPending     = &pendingPublications{since: map[string]time.Time{}}
	publishPendingDesc = prometheus.NewDesc("orgrbac_publish_pending_seconds",
		"Age of the oldest publication started but not completed (waiting for its throttle, retrying an "+
			"error): 0 when every environment's snapshot is published.", nil, nil)
	// memberships counts the cached Memberships at scrape time.
	memberships     = &membershipCollector{}
	publishFailures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "orgrbac_publish_failures_total",
		Help: "Publication passes that could not publish, by the reason of the Environment's Published condition: " +
			"TooLarge, ConfigMapConflict, WriteFailed, InternalError.",
	}, []string{"reason"})
	publicationTimes    = &publicationAges{at: map[string]time.Time{}}
	publicationAgesDesc = prometheus.NewDesc("orgrbac_publication_age_seconds",
		"Per environment (namespace), seconds since its published snapshot was last confirmed current: written, "+
			"or its publishedAt refreshed (every 10 minutes while nothing changes). It grows past that while "+
			"publication fails; workloads reading the snapshot with a MaxStaleness refuse it beyond their limit.",
		[]string{"namespace"}, nil)
)

func init() {
	metrics.Registry.MustRegister(memberships, publishDuration, publicationsTotal, publishPending, publishFailures, publicationTimes)
}

// publicationAges remembers, per namespace, the publishedAt of its snapshot.
type publicationAges struct {
	mu sync.Mutex
	at map[string]time.Time
	// now is the clock (time.Now when nil).
	now func() time.Time
}

func (p *publicationAges) set(ns string, at time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.at[ns] = at
}

func (p *publicationAges) forget(ns string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.at, ns)
}

// Describe implements prometheus.Collector.
func (p *publicationAges) Describe(ch chan<- *prometheus.Desc) { ch <- publicationAgesDesc }

// Collect implements prometheus.Collector.
func (p *publicationAges) Collect(ch chan<- prometheus.Metric) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if p.now != nil {
		now = p.now()
	}
	for ns, at := range p.at {
		ch <- prometheus.MustNewConstMetric(publicationAgesDesc, prometheus.GaugeValue, now.Sub(at).Seconds(), ns)
	}
}

// membershipCollector reports the manager's membership tally at each scrape
// (membershipTally, fed by the informer: no list of the cached memberships).
type membershipCollector struct {
	tally atomic.Pointer[membershipTally]
}

// use makes the collector report t.
func (c *membershipCollector) use(t *membershipTally) { c.tally.Store(t) }

// Describe implements prometheus.Collector.
func (c *membershipCollector) Describe(ch chan<- *prometheus.Desc) { ch <- membershipsDesc }

// Collect implements prometheus.Collector.
func (c *membershipCollector) Collect(ch chan<- prometheus.Metric) {
	t := c.tally.Load()
	if t == nil {
		return
	}
	for k, n := range t.counts() {
		ch <- prometheus.MustNewConstMetric(membershipsDesc, prometheus.GaugeValue, float64(n), k.state, k.ready, k.reason)
	}
}

// pendingPublications remembers, per environment, when a publication pass first
// found it out of date, until a pass completes.
type pendingPublications struct {
	mu    sync.Mutex
	since map[string]time.Time
}

// start records that namespace ns is being published (the first call counts).
func (p *pendingPublications) start(ns string, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.since[ns]; !ok {
		p.since[ns] = now
	}
}

// done records that ns is published (or has nothing to publish) and observes
// how long that took.
func (p *pendingPublications) done(ns string, now time.Time, written bool) {
	p.mu.Lock()
	since, ok := p.since[ns]
	delete(p.since, ns)
	p.mu.Unlock()
	result := "unchanged"
	if written {
		result = "written"
		if ok {
			publishDuration.Observe(now.Sub(since).Seconds())
		}
	}
	publicationsTotal.WithLabelValues(result).Inc()
}

// Describe implements prometheus.Collector.
func (p *pendingPublications) Describe(ch chan<- *prometheus.Desc) { ch <- publishPendingDesc }

// Collect implements prometheus.Collector.
func (p *pendingPublications) Collect(ch chan<- prometheus.Metric) {
	p.mu.Lock()
	var oldest time.Time
	for _, t := range p.since {
		if oldest.IsZero() || t.Before(oldest) {
			oldest = t
		}
	}
	p.mu.Unlock()
	age := 0.0
	if !oldest.IsZero() {
		age = time.Since(oldest).Seconds()
	}
	ch <- prometheus.MustNewConstMetric(publishPendingDesc, prometheus.GaugeValue, age)
}
