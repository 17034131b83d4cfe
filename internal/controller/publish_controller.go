package controller

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/recorder"
	"sigs.k8s.io/controller-runtime/pkg/source"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/model"
	"github.com/orgrbac/orgrbac/internal/publish"
	"github.com/orgrbac/orgrbac/internal/resolve"
)

// publishInterval is the shortest time between two publications in one
// namespace: a burst of changes costs one write per interval.
const publishInterval = time.Second

// publishCostFactor spaces publications by at least this many times what the last
// one cost to build and encode, so that a large environment (seconds per
// snapshot at 100k memberships) spends a bounded share of the manager's CPU on
// republishing during bursts of changes.
const publishCostFactor = 4

// publishRefresh is how often an unchanged snapshot is confirmed current: its
// publishedAt (in the document or index, and the annotation
// orgrbac.dev/published-at of orgrbac-permissions) is rewritten, so that readers
// with a MaxStaleness can tell a live publisher from a stopped one.
const publishRefresh = 10 * time.Minute

// conflictRetry is when a namespace whose ConfigMap name is taken by a foreign
// ConfigMap is tried again: unlabelled ConfigMaps are not watched.
const conflictRetry = time.Minute

// PublishReconciler publishes each namespace's snapshot (internal/publish) into
// the ConfigMap orgrbac-permissions and, when it is too large, the shards
// orgrbac-permissions-1..N. Requests are keyed by namespace, with the name
// orgrbac-permissions. It writes only when the content (or a hand-edited
// ConfigMap) differs, bumps the revision only when the content changes, and
// records the revision, the ConfigMap names and the Published condition in the
// Environment's status: its part of that status, which it alone writes, with
// server-side apply (environment_writers.go).
//
// It caches the metadata of the labelled ConfigMaps only (never their data), and
// trusts none of it: a ConfigMap whose resourceVersion is not one it wrote or
// checked is read whole from the API server before it is left alone. The
// revision is its own: once it has published a namespace it continues from its
// memory; on its first pass it continues from the Environment's status and the
// annotations of its ConfigMaps, ignoring values above publish.MaxRevision, and
// when the highest known revision leaves no room it restarts at 1 (condition
// reason RevisionReset) instead of failing.
type PublishReconciler struct {
	// Client reads orgrbac objects from the cache and writes ConfigMaps.
	Client client.Client
	// APIReader reads whole ConfigMaps (the cache holds their metadata only).
	APIReader client.Reader
	// Recorder records Warning events when publication fails.
	Recorder recorder.EventRecorder
	// Clock spaces out publications.
	Clock clock.PassiveClock
	// MaxBytes is the largest data per ConfigMap (publish.DefaultMaxBytes when 0).
	MaxBytes int
	// Interval is the shortest time between two publications in a namespace
	// (one second when 0).
	Interval time.Duration
	// Refresh is how often an unchanged snapshot's publishedAt is rewritten
	// (publishRefresh when 0).
	Refresh time.Duration
	// OnForget is called with each namespace whose last orgrbac object is gone,
	// after the publisher dropped its own state of it.
	OnForget []func(ns string)

	// configMaps reads the metadata of the published ConfigMaps (a cache of
	// labelled ConfigMaps only, see newPublishedCache).
	configMaps client.Reader
	throttle   *throttle
	// tally, when set, holds publications back while the namespace's
	// memberships settle (publishSettleMax at most).
	tally *membershipTally
	// models holds the namespaces' compiled environments (shared with the
	// other controllers); nil reads and compiles the namespace on each pass.
	models *model.Cache

	mu sync.Mutex
	// highWater is the revision published last per namespace since start, so
	// that the revision grows even while the cache lags behind a write.
	highWater map[string]int64
	// verified is, per namespace and ConfigMap name, the resourceVersion at which
	// the ConfigMap's data was what the publisher wrote.
	verified map[string]map[string]string
}

// publishRequest is the request of a namespace.
func publishRequest(ns string) reconcile.Request {
	return reconcile.Request{NamespacedName: types.NamespacedName{Namespace: ns, Name: publish.ConfigMapName}}
}

// Reconcile builds the namespace's snapshot from the cache and publishes it.
func (r *PublishReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	publishPending.start(req.Namespace, r.Clock.Now())
	if d := r.throttle.wait(req.NamespacedName); d > 0 {
		return ctrl.Result{RequeueAfter: d}, nil
	}
	// While thousands of memberships are being resolved (a cold start, a bulk
	// import) each publication is out of date before it is written, and
	// encoding it takes the CPU the resolution needs: wait until they settle,
	// for at most publishSettleMax.
	if d := r.throttle.deferCount(req.NamespacedName); d > 0 {
		return ctrl.Result{RequeueAfter: d}, nil
	}
	ns := req.Namespace
	log := ctrl.LoggerFrom(ctx)
	start := r.Clock.Now()

	existing, err := r.published(ctx, ns)
	if err != nil {
		return ctrl.Result{}, r.internalError(ctx, ns, err)
	}
	w, err := r.gather(ctx, ns)
	if err != nil {
		return ctrl.Result{}, r.internalError(ctx, ns, err)
	}
	owned := ownedOnly(existing)
	if w.empty() {
		// No orgrbac object left: nothing to publish, nothing to remember.
		if err := r.deleteAll(ctx, ns, owned, nil); err != nil {
			return ctrl.Result{}, err
		}
		r.forget(ns)
		publishPending.done(ns, r.Clock.Now(), false)
		return ctrl.Result{}, nil
	}

	snap := buildSnapshot(w.compiled, w.orgs, w.members)
	hash, err := publish.ContentHash(snap)
	if err != nil {
		return ctrl.Result{}, err
	}
	var reset string
	snap.Revision, reset = r.revision(ns, hash, w.env, owned)
	if reset != "" {
		log.Info("Restarting the revisions", "reason", reset)
	}
	at := r.publicationTime(owned[publish.ConfigMapName], snap.Revision, hash)
	cms, err := publish.EncodeAt(snap, r.MaxBytes, at)
	if err != nil {
		// Nothing changes until the content does: no retry, but a pass every
		// Refresh keeps the condition asserted.
		reason := orgrbacv1alpha1.ReasonInternalError
		if errors.Is(err, publish.ErrTooLarge) {
			reason = orgrbacv1alpha1.ReasonTooLarge
		}
		log.Error(err, "Encoding the snapshot", "reason", reason)
		publishFailures.WithLabelValues(reason).Inc()
		return ctrl.Result{RequeueAfter: r.Refresh}, r.failed(ctx, w.env, reason, fmt.Sprintf("encoding the snapshot: %v", err))
	}
	if hold := publishCostFactor * r.Clock.Since(start); hold > r.Interval {
		r.throttle.holdOff(req.NamespacedName, hold)
	}

	// Shards first, the index last: a reader that sees the new index finds the
	// shards it names.
	desired := make(map[string]bool, len(cms))
	for i := range cms {
		cm := cms[(i+1)%len(cms)]
		desired[cm.Name] = true
		done, err := r.write(ctx, ns, cm, snap.Revision, hash, at, w.env, existing[cm.Name])
		var conflict *conflictError
		switch {
		case errors.As(err, &conflict):
			log.Info("Not publishing over a ConfigMap that is not orgrbac's", "configMap", conflict.name, "why", conflict.why)
			publishFailures.WithLabelValues(orgrbacv1alpha1.ReasonConfigMapConflict).Inc()
			if w.env == nil && conflict.cm != nil {
				r.Recorder.Eventf(conflict.cm, nil, corev1.EventTypeWarning, orgrbacv1alpha1.ReasonConfigMapConflict, "Publish", "%s", conflict.Error())
			}
			return ctrl.Result{RequeueAfter: conflictRetry}, r.failed(ctx, w.env, orgrbacv1alpha1.ReasonConfigMapConflict, conflict.Error())
		case err != nil:
			publishFailures.WithLabelValues(orgrbacv1alpha1.ReasonWriteFailed).Inc()
			if ferr := r.failed(ctx, w.env, orgrbacv1alpha1.ReasonWriteFailed, err.Error()); ferr != nil {
				log.Error(ferr, "Recording the Published condition")
			}
			return ctrl.Result{}, err
		case !done:
			return ctrl.Result{RequeueAfter: r.Interval}, nil
		}
	}
	if err := r.deleteAll(ctx, ns, owned, desired); err != nil {
		return ctrl.Result{}, err
	}
	r.setHighWater(ns, snap.Revision)
	publicationTimes.set(ns, at)
	written := w.env == nil || w.env.Status.Revision != snap.Revision

	if w.env != nil {
		names := slices.Sorted(maps.Keys(desired))
		reason, message := orgrbacv1alpha1.ReasonPublished, fmt.Sprintf("revision %d in %d ConfigMap(s)", snap.Revision, len(names))
		if cur := meta.FindStatusCondition(w.env.Status.Conditions, orgrbacv1alpha1.ConditionPublished); reset != "" ||
			(cur != nil && cur.Reason == orgrbacv1alpha1.ReasonRevisionReset && w.env.Status.Revision == snap.Revision) {
			reason = orgrbacv1alpha1.ReasonRevisionReset
			if reset != "" {
				message = fmt.Sprintf("%s; %s", reset, message)
			} else {
				message = cur.Message
			}
		}
		want := w.env.Status.DeepCopy()
		want.Revision = snap.Revision
		want.PublishedConfigMaps = names
		want.Conditions = mergeConditions(w.env.Status.Conditions, metav1.NewTime(r.Clock.Now()),
			condition(orgrbacv1alpha1.ConditionPublished, true, reason, message, w.env.Generation))
		if publishStatusWriter.differs(&w.env.Status, want) {
			log.V(1).Info("Recording the published revision", "environment", w.env.Name, "revision", snap.Revision)
			if reset != "" {
				r.Recorder.Eventf(w.env, nil, corev1.EventTypeWarning, orgrbacv1alpha1.ReasonRevisionReset, "Publish", "%s", message)
			}
			// Locked on the cached copy's resourceVersion: what is applied is
			// computed from that copy, so one the cache has not caught up with
			// is refused (Conflict) and a later pass computes it again from a
			// current one.
			if err := publishStatusWriter.apply(ctx, r.Client, w.env, want, true); err != nil {
				if apierrors.IsConflict(err) {
					return ctrl.Result{RequeueAfter: r.Interval}, nil
				}
				return ctrl.Result{}, client.IgnoreNotFound(err)
			}
		}
	}
	publishPending.done(ns, r.Clock.Now(), written)
	return ctrl.Result{RequeueAfter: max(at.Add(r.Refresh).Sub(r.Clock.Now()), r.Interval)}, nil
}

// failed records the Published condition False with reason and message on env
// (when there is one), and a Warning event when it changed.
func (r *PublishReconciler) failed(ctx context.Context, env *orgrbacv1alpha1.Environment, reason, message string) error {
	if env == nil {
		return nil
	}
	// The condition and the event carry the same bounded message.
	message = boundMessage(message)
	want := env.Status.DeepCopy()
	want.Conditions = mergeConditions(env.Status.Conditions, metav1.NewTime(r.Clock.Now()),
		condition(orgrbacv1alpha1.ConditionPublished, false, reason, message, env.Generation))
	if !publishStatusWriter.differs(&env.Status, want) {
		return nil
	}
	r.Recorder.Eventf(env, nil, corev1.EventTypeWarning, reason, "Publish", "%s", message)
	// The publisher's whole part is applied, the copy's revision and ConfigMap
	// names with the condition: locked on the copy's resourceVersion, a stale
	// copy can never take status.revision back.
	err := publishStatusWriter.apply(ctx, r.Client, env, want, true)
	if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
		return nil // the next pass records it
	}
	return err
}

// internalError is the publisher's internal-error path: a failure to gather
// what the snapshot is built from is the Published condition False with reason
// InternalError and the stable internalErrorMessage (the error, which can carry
// what a reader of the Environment should not see, goes to the log with the
// returned error) on the namespace's oldest Environment, when the cache can
// tell which. Ready is the environment controller's, never the publisher's. It
// returns err, joined with the status write's error if that failed too.
func (r *PublishReconciler) internalError(ctx context.Context, ns string, err error) error {
	publishFailures.WithLabelValues(orgrbacv1alpha1.ReasonInternalError).Inc()
	var envs orgrbacv1alpha1.EnvironmentList
	if lerr := r.Client.List(ctx, &envs, client.InNamespace(ns), readOnly); lerr != nil {
		return err
	}
	if ferr := r.failed(ctx, oldestEnvironment(envs.Items), orgrbacv1alpha1.ReasonInternalError, internalErrorMessage); ferr != nil {
		return errors.Join(err, fmt.Errorf("recording the internal error in status: %w", ferr))
	}
	return err
}

// forget drops the state kept for ns, whose last orgrbac object is gone.
func (r *PublishReconciler) forget(ns string) {
	r.throttle.forget(publishRequest(ns).NamespacedName)
	r.mu.Lock()
	delete(r.highWater, ns)
	delete(r.verified, ns)
	r.mu.Unlock()
	publicationTimes.forget(ns)
	if r.models != nil {
		r.models.Forget(ns)
	}
	for _, f := range r.OnForget {
		f(ns)
	}
}

// namespaces is the number of namespaces the publisher keeps state for.
func (r *PublishReconciler) namespaces() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	seen := map[string]bool{}
	for ns := range r.highWater {
		seen[ns] = true
	}
	for ns := range r.verified {
		seen[ns] = true
	}
	r.throttle.mu.Lock()
	defer r.throttle.mu.Unlock()
	for k := range r.throttle.last {
		seen[k.Namespace] = true
	}
	for k := range r.throttle.hold {
		seen[k.Namespace] = true
	}
	return len(seen)
}

// world is what a namespace's snapshot is built from.
type world struct {
	env      *orgrbacv1alpha1.Environment // the winning Environment, nil when none or being deleted
	objects  int                          // orgrbac objects that make the namespace an environment
	compiled *resolve.Env
	orgs     []orgrbacv1alpha1.Organization
	members  []orgrbacv1alpha1.Membership
}

func (w *world) empty() bool { return w.objects == 0 }

func (r *PublishReconciler) gather(ctx context.Context, ns string) (*world, error) {
	w := &world{}
	compiled, err := namespaceEnv(ctx, r.models, r.Client, ns)
	if err != nil {
		return nil, err
	}
	w.compiled = compiled
	var (
		envs  orgrbacv1alpha1.EnvironmentList
		roles orgrbacv1alpha1.RoleList
		orgs  orgrbacv1alpha1.OrganizationList
	)
	if err := r.Client.List(ctx, &envs, client.InNamespace(ns), readOnly); err != nil {
		return nil, fmt.Errorf("listing environments: %w", err)
	}
	if err := r.Client.List(ctx, &roles, client.InNamespace(ns), readOnly); err != nil {
		return nil, fmt.Errorf("listing roles: %w", err)
	}
	if err := r.Client.List(ctx, &orgs, client.InNamespace(ns), readOnly); err != nil {
		return nil, fmt.Errorf("listing organizations: %w", err)
	}
	for i := range orgs.Items {
		if o := &orgs.Items[i]; !deleting(o) {
			w.orgs = append(w.orgs, *o)
		}
	}

	var members orgrbacv1alpha1.MembershipList
	if err := r.Client.List(ctx, &members, client.InNamespace(ns), readOnly); err != nil {
		return nil, fmt.Errorf("listing memberships: %w", err)
	}
	w.members = members.Items
	var oroles orgrbacv1alpha1.OrganizationRoleList
	if err := r.Client.List(ctx, &oroles, client.InNamespace(ns), readOnly); err != nil {
		return nil, fmt.Errorf("listing organization roles: %w", err)
	}
	w.objects = live(envs.Items) + live(roles.Items) + len(orgs.Items) + len(members.Items) + len(oroles.Items)

	if winner, _ := w.compiled.Environment(); winner != nil {
		var env orgrbacv1alpha1.Environment
		if err := r.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: winner.Name}, &env); err != nil {
			if !apierrors.IsNotFound(err) {
				return nil, fmt.Errorf("reading environment %s: %w", winner.Name, err)
			}
		} else if !deleting(&env) {
			w.env = &env
		}
	}
	return w, nil
}

// live is the number of items not being deleted.
func live[T any, P interface {
	*T
	metav1.Object
}](items []T) int {
	n := 0
	for i := range items {
		if !deleting(P(&items[i])) {
			n++
		}
	}
	return n
}

// membershipPublishRelevant reports the Membership updates that can change the
// snapshot: its spec (state), the start of its deletion, its resolved roles and
// its readiness.
func membershipPublishRelevant(oldObj, newObj client.Object) bool {
	a, ok1 := oldObj.(*orgrbacv1alpha1.Membership)
	b, ok2 := newObj.(*orgrbacv1alpha1.Membership)
	if !ok1 || !ok2 {
		return true
	}
	return a.Generation != b.Generation || deleting(a) != deleting(b) || !slices.Equal(a.Status.Roles, b.Status.Roles) ||
		meta.IsStatusConditionTrue(a.Status.Conditions, orgrbacv1alpha1.ConditionReady) !=
			meta.IsStatusConditionTrue(b.Status.Conditions, orgrbacv1alpha1.ConditionReady)
}

// SetupWithManager registers the controller and its cache of published ConfigMaps.
func (r *PublishReconciler) SetupWithManager(mgr ctrl.Manager, opts controller.Options) error {
	if r.Interval <= 0 {
		r.Interval = publishInterval
	}
	if r.Refresh <= 0 {
		r.Refresh = publishRefresh
	}
	if r.APIReader == nil {
		r.APIReader = mgr.GetAPIReader()
	}
	if r.Clock == nil {
		r.Clock = clock.RealClock{}
	}
	if r.Recorder == nil {
		r.Recorder = mgr.GetEventRecorder("orgrbac-publish")
	}
	r.throttle = &throttle{clock: r.Clock, interval: r.Interval, last: map[types.NamespacedName]time.Time{},
		settleMax: publishSettleMax}
	wake, err := settleWith(mgr, r.throttle, r.tally)
	if err != nil {
		return err
	}
	r.highWater = map[string]int64{}
	r.verified = map[string]map[string]string{}
	cmCache, err := newPublishedCache(mgr.GetConfig(), cache.Options{
		HTTPClient: mgr.GetHTTPClient(), Scheme: mgr.GetScheme(), Mapper: mgr.GetRESTMapper()})
	if err != nil {
		return fmt.Errorf("creating the cache of published config maps: %w", err)
	}
	if err := mgr.Add(publishedOnly{cmCache}); err != nil {
		return fmt.Errorf("adding the cache of published config maps: %w", err)
	}
	r.configMaps = cmCache

	if r.models == nil {
		r.models = model.NewCache(mgr.GetClient())
	}
	inv := invalidates(r.models)
	var m publishMapper
	return wokenBy(ctrl.NewControllerManagedBy(mgr), wake).
		Named("publish").
		Watches(&orgrbacv1alpha1.Environment{}, byEvent(m.objectToNamespace, nothing), inv).
		Watches(&orgrbacv1alpha1.Role{}, onSpecChange(m.objectToNamespace), inv).
		Watches(&orgrbacv1alpha1.OrganizationRole{}, onSpecChange(m.objectToNamespace), inv).
		Watches(&orgrbacv1alpha1.Organization{}, onSpecChange(m.objectToNamespace), inv).
		Watches(&orgrbacv1alpha1.Membership{}, onUpdateWhere(m.objectToNamespace, membershipPublishRelevant)).
		WatchesRawSource(source.Kind(cmCache, configMapMetadata(),
			handler.TypedEnqueueRequestsFromMapFunc(m.configMapToNamespace))).
		WithOptions(opts).
		Complete(r)
}

var _ reconcile.Reconciler = (*PublishReconciler)(nil)
