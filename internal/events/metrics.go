package events

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// The emitter's metrics, registered in controller-runtime's registry and
// served on the manager's metrics endpoint (the leader's show the log).
var (
	eventsEmitted = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "orgrbac_events_emitted_total",
		Help: "Change events written to the event log, by event type (e.g. organization_membership.updated).",
	}, []string{"event"})
	// The log's size is summed over every environment: labels stay bounded
	// (no namespace names, docs/operations.md).
	eventsStored = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "orgrbac_events_stored",
		Help: "Events the event logs of every environment hold, as the leader last saw them.",
	})
	eventLogSegments = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "orgrbac_event_log_segments",
		Help: "Events segments the event logs of every environment hold, as the leader last saw them.",
	})
	emitLag = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "orgrbac_events_emit_lag_seconds",
		Help: "Age of the oldest change of the decision API's read model not yet in the event log, 0 when none.",
	})
	writeErrors = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "orgrbac_event_log_write_errors_total",
		Help: "Failed writes of the event log (segments, checkpoints, pruning), conflicts with another writer included.",
	})
)

// logSizes are the sizes of each namespace's log behind the two gauges.
var logSizes = struct {
	sync.Mutex
	byNamespace map[string][2]int // events, segments
}{byNamespace: map[string][2]int{}}

// setLogSize records the size of namespace ns's log (forget: it has none any
// more) and publishes the sums.
func setLogSize(ns string, events, segments int, forget bool) {
	logSizes.Lock()
	defer logSizes.Unlock()
	if forget {
		delete(logSizes.byNamespace, ns)
	} else {
		logSizes.byNamespace[ns] = [2]int{events, segments}
	}
	var sum [2]int
	for _, v := range logSizes.byNamespace {
		sum[0] += v[0]
		sum[1] += v[1]
	}
	eventsStored.Set(float64(sum[0]))
	eventLogSegments.Set(float64(sum[1]))
}

func init() {
	metrics.Registry.MustRegister(eventsEmitted, eventsStored, eventLogSegments, emitLag, writeErrors)
}
