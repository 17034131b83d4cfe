package webhooks

import (
	"context"
	"net/http"
	"slices"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/events"
)

// The Ready condition's reasons.
const (
	ReasonDelivering         = "Delivering"
	ReasonIdle               = "Idle"
	ReasonDisabled           = "Disabled"
	ReasonSecretMissing      = "SecretMissing"
	ReasonSecretForbidden    = "SecretForbidden"
	ReasonDestinationRefused = "DestinationRefused"
	ReasonDeliveryFailing    = "DeliveryFailing"
	// ReasonEventGivenUp is the reason of the Warning event of a given-up event.
	ReasonEventGivenUp = "EventGivenUp"
)

// Defaults of the spec.
const (
	defaultSecretKey   = "secret"
	defaultRetryWindow = 259200 * time.Second
)

// loop delivers the events of one endpoint. Its fields below done are owned
// by its goroutine.
type loop struct {
	d      *deliverer
	key    types.NamespacedName
	uid    types.UID
	wake   chan struct{}
	cancel context.CancelFunc
	done   chan struct{}

	ep        *orgrbacv1alpha1.WebhookEndpoint // the last cached copy
	loaded    bool
	status    orgrbacv1alpha1.WebhookEndpointStatus // the progress
	written   orgrbacv1alpha1.WebhookEndpointStatus // as last written (or read)
	writtenAt time.Time

	client    *http.Client
	clientFor string

	secret        []byte
	secretAt      time.Time
	secretRetries int32
	secretRetryAt time.Time

	failingID    string // the event failing since failingSince
	failingSince time.Time
}

// poke wakes the loop up to look at its endpoint and log again.
func (l *loop) poke() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// forever is the wait of a loop with nothing to do until poked.
const forever = time.Duration(-1)

func (l *loop) run(ctx context.Context) {
	defer close(l.done)
	defer deliveryLag.forget(l.key)
	defer func() {
		if l.client != nil {
			l.client.CloseIdleConnections()
		}
	}()
	defer func() {
		// Record the unwritten progress, so that a restart redelivers as little as possible.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		l.flush(fctx, l.d.opts.Clock.Now(), true)
	}()
	for ctx.Err() == nil {
		wait, stop := l.step(ctx)
		if stop {
			return
		}
		if wait == 0 {
			continue
		}
		l.sleep(ctx, wait)
	}
}

// sleep waits for wait (forever: no timeout), a poke or the end of ctx.
func (l *loop) sleep(ctx context.Context, wait time.Duration) {
	var timeout <-chan time.Time
	if wait > 0 {
		t := l.d.opts.Clock.NewTimer(wait)
		defer t.Stop()
		timeout = t.C()
	}
	select {
	case <-ctx.Done():
	case <-l.wake:
	case <-timeout:
	}
}

// step does what is due and returns how long to wait before the next step
// (forever: until poked), or stop when the endpoint is gone.
func (l *loop) step(ctx context.Context) (wait time.Duration, stop bool) {
	log := logf.FromContext(ctx)
	now := l.d.opts.Clock.Now()
	ep, gone, err := l.get(ctx)
	switch {
	case gone:
		return 0, true
	case err != nil:
		log.Error(err, "reading the endpoint from the cache")
		return time.Second, false
	}
	if ep.Generation != l.status.ObservedGeneration {
		// A new spec: try at once, with the Secret read again.
		l.status.ObservedGeneration = ep.Generation
		l.status.NextRetryAt = nil
		l.secret, l.secretRetries, l.secretRetryAt = nil, 0, time.Time{}
	}
	if ep.Spec.Enabled != nil && !*ep.Spec.Enabled {
		deliveryLag.forget(l.key)
		l.status.NextRetryAt = nil
		l.setReady(metav1.ConditionFalse, ReasonDisabled, "spec.enabled is false: deliveries are paused, progress is kept")
		l.flush(ctx, now, true)
		return forever, false
	}
	if r := l.status.NextRetryAt; r != nil && now.Before(r.Time) {
		return r.Sub(now), false
	}
	if l.secret == nil || now.Sub(l.secretAt) > l.d.opts.SecretRefresh {
		if now.Before(l.secretRetryAt) {
			return l.secretRetryAt.Sub(now), false
		}
		if wait, ok := l.readSecret(ctx, now); !ok {
			return wait, false
		}
	}

	// Only the log's tail after the cursor (or the endpoint's creation) is read.
	tail, err := events.ReadAfter(ctx, l.d.cache, l.key.Namespace, l.status.LastDeliveredEventID,
		ep.CreationTimestamp.UnixMilli())
	if err != nil {
		log.Error(err, "reading the event log from the cache")
		return time.Second, false
	}
	var all []orgrbacv1alpha1.StoredEvent
	for _, run := range tail {
		all = append(all, run...)
	}
	pending := pendingEvents(all, l.status.LastDeliveredEventID, ep.CreationTimestamp.UnixMilli(), ep.Spec.Events)
	if len(pending) == 0 {
		deliveryLag.set(l.key, time.Time{})
		if l.status.ConsecutiveFailures == 0 {
			l.setReady(metav1.ConditionTrue, ReasonIdle, "every event is delivered")
		}
		l.status.NextRetryAt = nil
		l.flush(ctx, now, true)
		return forever, false
	}
	deliveryLag.set(l.key, time.UnixMilli(pending[0].CreatedAtMillis))

	if clientFor := ep.Spec.URL + "\x00" + ep.Spec.CABundle; l.client == nil || l.clientFor != clientFor {
		if l.client != nil {
			l.client.CloseIdleConnections()
		}
		c, err := newClient(ep.Spec.URL, ep.Spec.CABundle, l.d.opts.Destinations, l.d.opts.RequestTimeout)
		if err != nil {
			l.client = nil
			l.setReady(metav1.ConditionFalse, ReasonDeliveryFailing, err.Error())
			l.flush(ctx, now, true)
			return forever, false // until the spec changes
		}
		l.client, l.clientFor = c, clientFor
	}
	return l.deliver(ctx, pending), false
}

// get reads the endpoint from the cache; gone when it is deleted or replaced.
func (l *loop) get(ctx context.Context) (ep *orgrbacv1alpha1.WebhookEndpoint, gone bool, err error) {
	ep = &orgrbacv1alpha1.WebhookEndpoint{}
	if err := l.d.cache.Get(ctx, l.key, ep); err != nil {
		return nil, apierrors.IsNotFound(err), client.IgnoreNotFound(err)
	}
	if ep.UID != l.uid {
		return nil, true, nil
	}
	l.ep = ep
	if !l.loaded {
		l.loaded = true
		l.status = *ep.Status.DeepCopy()
		l.written = *ep.Status.DeepCopy()
	}
	return ep, false, nil
}

// readSecret reads the signing secret (by name, through the API reader: the
// manager caches no Secret). ok false: retry after wait.
func (l *loop) readSecret(ctx context.Context, now time.Time) (wait time.Duration, ok bool) {
	ref := l.ep.Spec.SecretRef
	key := ref.Key
	if key == "" {
		key = defaultSecretKey
	}
	var s corev1.Secret
	err := l.d.api.Get(ctx, types.NamespacedName{Namespace: l.key.Namespace, Name: ref.Name}, &s)
	reason, message := "", ""
	switch {
	case apierrors.IsNotFound(err):
		reason, message = ReasonSecretMissing, "Secret "+ref.Name+" (spec.secretRef) does not exist"
	case apierrors.IsForbidden(err):
		reason, message = ReasonSecretForbidden, "the manager may not read Secret "+ref.Name+
			": bind the ClusterRole orgrbac-webhook-secret-reader to it in this namespace"
	case err != nil:
		logf.FromContext(ctx).Error(err, "reading the signing Secret", "secret", ref.Name)
		return 5 * time.Second, false
	case len(s.Data[key]) == 0:
		reason, message = ReasonSecretMissing, "Secret "+ref.Name+" has no key "+key+" (spec.secretRef.key), or it is empty"
	}
	if reason != "" {
		l.secret = nil
		l.secretRetries++
		wait := backoff(l.secretRetries, l.d.opts.MinBackoff, l.d.opts.MaxBackoff, l.d.opts.Jitter())
		l.secretRetryAt = now.Add(wait)
		l.setReady(metav1.ConditionFalse, reason, message)
		l.flush(ctx, now, true)
		return wait, false
	}
	l.secret, l.secretAt, l.secretRetries, l.secretRetryAt = s.Data[key], now, 0, time.Time{}
	return 0, true
}

// deliver posts pending in order until one fails or the spec changes, and
// returns the wait before the next step.
func (l *loop) deliver(ctx context.Context, pending []orgrbacv1alpha1.StoredEvent) time.Duration {
	log := logf.FromContext(ctx)
	ep := l.ep
	url := ep.Spec.URL
	if l.status.ConsecutiveFailures == 0 {
		l.setReady(metav1.ConditionTrue, ReasonDelivering, "delivering events")
	}
	for i := range pending {
		e := &pending[i]
		if i > 0 {
			// Stop at a new spec or a deleted endpoint: the next step sees it.
			if cur, gone, err := l.get(ctx); gone || err != nil || cur.Generation != ep.Generation {
				return 0
			}
		}
		now := l.d.opts.Clock.Now()
		body, err := Body(e)
		if err != nil {
			// Cannot happen for an event the API server stored (its data is JSON).
			log.Error(err, "encoding an event: given up", "event", e.ID)
			l.giveUp(ep, e, "its data is not valid JSON")
			continue
		}
		o := post(ctx, l.client, url, body, Signature(l.secret, now, body), l.d.opts.Clock.Now)
		if ctx.Err() != nil && !o.ok {
			return 0 // stopping: not the destination's failure
		}
		deliveryDuration.Observe(o.duration.Seconds())
		now = l.d.opts.Clock.Now()
		if o.ok {
			deliveriesTotal.WithLabelValues(resultDelivered).Inc()
			l.status.LastDeliveredEventID = e.ID
			l.status.LastDeliveredAt = &metav1.Time{Time: now}
			l.status.DeliveredEvents++
			l.status.ConsecutiveFailures = 0
			l.status.NextRetryAt = nil
			l.failingID = ""
			if i == len(pending)-1 {
				l.setReady(metav1.ConditionTrue, ReasonIdle, "every event is delivered")
			} else {
				l.setReady(metav1.ConditionTrue, ReasonDelivering, "delivering events")
			}
			l.flush(ctx, now, false)
			continue
		}
		return l.fail(ctx, ep, e, o, now)
	}
	return 0 // look again: more may have come
}

// fail records a failed attempt to deliver e and returns the backoff.
func (l *loop) fail(ctx context.Context, ep *orgrbacv1alpha1.WebhookEndpoint, e *orgrbacv1alpha1.StoredEvent, o outcome, now time.Time) time.Duration {
	deliveriesTotal.WithLabelValues(resultFailed).Inc()
	l.status.ConsecutiveFailures++
	if l.failingID != e.ID {
		l.failingID, l.failingSince = e.ID, now
	}
	window := defaultRetryWindow
	if ep.Spec.RetryWindowSeconds > 0 {
		window = time.Duration(ep.Spec.RetryWindowSeconds) * time.Second
	}
	if now.Sub(l.failingSince) >= window {
		l.giveUp(ep, e, o.message)
	}
	wait := backoff(l.status.ConsecutiveFailures, l.d.opts.MinBackoff, l.d.opts.MaxBackoff, l.d.opts.Jitter())
	l.status.NextRetryAt = &metav1.Time{Time: now.Add(wait)}
	reason := ReasonDeliveryFailing
	if o.refused {
		reason = ReasonDestinationRefused
	}
	l.setReady(metav1.ConditionFalse, reason, o.message)
	logf.FromContext(ctx).V(1).Info("delivery failed", "event", e.ID, "failure", o.message,
		"consecutiveFailures", l.status.ConsecutiveFailures, "retryIn", wait)
	l.flush(ctx, now, true)
	return wait
}

// giveUp moves the cursor past e without delivering it.
func (l *loop) giveUp(ep *orgrbacv1alpha1.WebhookEndpoint, e *orgrbacv1alpha1.StoredEvent, why string) {
	deliveriesTotal.WithLabelValues(resultGivenUp).Inc()
	l.status.LastDeliveredEventID = e.ID
	l.status.FailedEvents++
	l.failingID = ""
	l.d.recorder.Eventf(ep, nil, corev1.EventTypeWarning, ReasonEventGivenUp, "Deliver",
		"event %s (%s) given up after failing for spec.retryWindowSeconds: %s", e.ID, e.Event, why)
}

// setReady sets the Ready condition of the progress.
func (l *loop) setReady(status metav1.ConditionStatus, reason, message string) {
	meta.SetStatusCondition(&l.status.Conditions, metav1.Condition{
		Type: orgrbacv1alpha1.ConditionReady, Status: status, Reason: reason, Message: message,
		ObservedGeneration: l.status.ObservedGeneration, LastTransitionTime: metav1.NewTime(l.d.opts.Clock.Now()),
	})
}

// flush writes the progress when it differs from what was written: at once
// when force or when the Ready condition changed, else at most every
// StatusInterval (the coalescing of successful deliveries).
func (l *loop) flush(ctx context.Context, now time.Time, force bool) {
	if l.ep == nil || equality.Semantic.DeepEqual(l.status, l.written) {
		return
	}
	if !force && !readyChanged(l.status.Conditions, l.written.Conditions) && now.Sub(l.writtenAt) < l.d.opts.StatusInterval {
		return
	}
	base := l.ep.DeepCopy()
	base.Status = l.written
	obj := l.ep.DeepCopy()
	obj.Status = *l.status.DeepCopy()
	if err := l.d.client.Status().Patch(ctx, obj, client.MergeFrom(base)); err != nil {
		if !apierrors.IsNotFound(err) && ctx.Err() == nil {
			logf.FromContext(ctx).Error(err, "writing the endpoint's status")
		}
		return
	}
	l.written = *l.status.DeepCopy()
	l.writtenAt = now
}

// readyChanged reports whether the Ready condition's status or reason differs.
func readyChanged(a, b []metav1.Condition) bool {
	ca, cb := meta.FindStatusCondition(a, orgrbacv1alpha1.ConditionReady), meta.FindStatusCondition(b, orgrbacv1alpha1.ConditionReady)
	if ca == nil || cb == nil {
		return ca != cb
	}
	return ca.Status != cb.Status || ca.Reason != cb.Reason
}

// pendingEvents are the events of log (in emission order) to deliver after
// cursor (an event id; empty: the events created at or after sinceMillis),
// of the types of filter (empty: all). They share log's memory.
func pendingEvents(log []orgrbacv1alpha1.StoredEvent, cursor string, sinceMillis int64, filter []string) []orgrbacv1alpha1.StoredEvent {
	var start int
	if cursor != "" {
		// Ids sort in emission order: a pruned cursor still places.
		start = sort.Search(len(log), func(i int) bool { return log[i].ID > cursor })
	} else {
		start = sort.Search(len(log), func(i int) bool { return log[i].CreatedAtMillis >= sinceMillis })
	}
	rest := log[start:]
	if len(filter) == 0 {
		return rest
	}
	var out []orgrbacv1alpha1.StoredEvent
	for i := range rest {
		if slices.Contains(filter, rest[i].Event) {
			out = append(out, rest[i])
		}
	}
	return out
}
