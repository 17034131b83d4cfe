package events

import (
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
	eventsStored = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "orgrbac_events_stored",
		Help: "Events the event log of an environment (namespace) holds, as the leader last saw it.",
	}, []string{"namespace"})
	eventLogSegments = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "orgrbac_event_log_segments",
		Help: "Events segments the event log of an environment (namespace) holds, as the leader last saw it.",
	}, []string{"namespace"})
	emitLag = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "orgrbac_events_emit_lag_seconds",
		Help: "Age of the oldest change of the decision API's read model not yet in the event log, 0 when none.",
	})
	writeErrors = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "orgrbac_event_log_write_errors_total",
		Help: "Failed writes of the event log (segments, checkpoints, pruning), conflicts with another writer included.",
	})
)

func init() {
	metrics.Registry.MustRegister(eventsEmitted, eventsStored, eventLogSegments, emitLag, writeErrors)
}
