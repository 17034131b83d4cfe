package controller

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
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
	"github.com/orgrbac/orgrbac/internal/slim"
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

// publishedNames matches the names of the ConfigMaps the publisher manages.
var publishedNames = regexp.MustCompile(`^` + regexp.QuoteMeta(publish.ConfigMapName) + `(-[1-9][0-9]*)?$`)

// PublishReconciler publishes each namespace's snapshot (internal/publish) into
// the ConfigMap orgrbac-permissions and, when it is too large, the shards
// orgrbac-permissions-1..N. Requests are keyed by namespace, with the name
// orgrbac-permissions. It writes only when the content (or a hand-edited
// ConfigMap) differs, bumps the revision only when the content changes, and
// records the revision, the ConfigMap names and the Published condition in the
// Environment's status.
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

// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get;list;watch;create;update;patch;delete

// publishRequest is the request of a namespace.
func publishRequest(ns string) reconcile.Request {
	return reconcile.Request{NamespacedName: types.NamespacedName{Namespace: ns, Name: publish.ConfigMapName}}
}

// conflictError is a ConfigMap name the snapshot needs, taken by a ConfigMap
// that is not the publisher's.
type conflictError struct {
	name, why string
	cm        *corev1.ConfigMap // the ConfigMap, when it was read whole
}

func (e *conflictError) Error() string {
	return fmt.Sprintf("ConfigMap %s exists and is not orgrbac's (%s): it is left alone; delete it, or label it %s=true, "+
		"for publication to go on", e.name, e.why, publish.LabelPublished)
}

// Reconcile builds the namespace's snapshot from the cache and publishes it.
func (r *PublishReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	publishPending.start(req.Namespace, r.Clock.Now())
	if d := r.throttle.wait(req.NamespacedName); d > 0 {
		return ctrl.Result{RequeueAfter: d}, nil
	}
	ns := req.Namespace
	log := ctrl.LoggerFrom(ctx)
	start := r.Clock.Now()

	existing, err := r.published(ctx, ns)
	if err != nil {
		return ctrl.Result{}, err
	}
	w, err := r.gather(ctx, ns)
	if err != nil {
		return ctrl.Result{}, err
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
		orig := w.env.DeepCopy()
		w.env.Status.Revision = snap.Revision
		w.env.Status.PublishedConfigMaps = names
		w.env.Status.Conditions = mergeConditions(orig.Status.Conditions, metav1.NewTime(r.Clock.Now()),
			condition(orgrbacv1alpha1.ConditionPublished, true, reason, message, w.env.Generation))
		if !equality.Semantic.DeepEqual(orig.Status, w.env.Status) {
			log.V(1).Info("Recording the published revision", "environment", w.env.Name, "revision", snap.Revision)
			if reset != "" {
				r.Recorder.Eventf(w.env, nil, corev1.EventTypeWarning, orgrbacv1alpha1.ReasonRevisionReset, "Publish", "%s", message)
			}
			if err := r.Client.Status().Patch(ctx, w.env, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil {
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
	message = truncateMessage(message)
	orig := env.DeepCopy()
	env.Status.Conditions = mergeConditions(orig.Status.Conditions, metav1.NewTime(r.Clock.Now()),
		condition(orgrbacv1alpha1.ConditionPublished, false, reason, message, env.Generation))
	if equality.Semantic.DeepEqual(orig.Status, env.Status) {
		return nil
	}
	r.Recorder.Eventf(env, nil, corev1.EventTypeWarning, reason, "Publish", "%s", message)
	err := r.Client.Status().Patch(ctx, env, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{}))
	if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
		return nil // the next pass records it
	}
	return err
}

// truncateMessage keeps a condition message within the CRD's 32 KiB.
func truncateMessage(s string) string {
	const limit = 4096
	if len(s) <= limit {
		return s
	}
	return s[:limit] + "…"
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

// buildSnapshot is the namespace's snapshot (revision 0): the winning roles,
// every organization but the duplicates, and the members of each: a user's
// elected Membership (resolve.Prefer, rule R10) when it grants (Active and
// Ready), with the roles of its status its organization defines now
// (resolve.CurrentRoles, rule R11).
func buildSnapshot(env *resolve.Env, orgs []orgrbacv1alpha1.Organization, members []orgrbacv1alpha1.Membership) *publish.Snapshot {
	s := &publish.Snapshot{}
	for _, r := range env.Roles() {
		s.Roles = append(s.Roles, publish.Role{Slug: r.Slug, Type: publish.RoleTypeEnvironment, Permissions: r.Permissions})
	}
	externalIDs := make(map[string]string, len(orgs))
	refs := make([]resolve.OrganizationRef, len(orgs))
	for i := range orgs {
		externalIDs[orgs[i].Name] = orgs[i].Spec.ExternalID
		refs[i] = resolve.OrganizationRef{Meta: metaOf(&orgs[i]), ExternalID: orgs[i].Spec.ExternalID}
	}
	// A duplicate organization (resolve.IndexOrganizations) is left out with
	// its roles and members: it answers to no id, and publish.Validate refuses
	// colliding ids.
	ids := resolve.IndexOrganizations(refs)
	index := map[string]int{}
	// RoleRefs, not Roles: every organization sees every environment role, and
	// copying their permission sets for 1,000 organizations cost 53 MB per
	// publication at 100k memberships. Only organization roles are copied.
	for _, name := range env.OrganizationNames() {
		if _, dup := ids.Duplicate(name); dup {
			continue
		}
		view := env.Organization(name)
		for r := range view.RoleRefs() {
			if r.Type == resolve.RoleTypeOrganization {
				perms, _ := view.Role(r.Slug)
				s.Roles = append(s.Roles, publish.Role{Slug: r.Slug, Type: publish.RoleTypeOrganization,
					Organization: name, Permissions: perms})
			}
		}
		index[name] = len(s.Organizations)
		s.Organizations = append(s.Organizations, publish.Organization{Name: name, ExternalID: externalIDs[name]})
	}

	// Rule R10: of the Memberships of one user in one organization, the one
	// resolve.Prefer elects answers, and only when it grants.
	type key struct{ org, user string }
	elected := make(map[key]*orgrbacv1alpha1.Membership, len(members))
	order := make([]*orgrbacv1alpha1.Membership, 0, len(members))
	for i := range members {
		m := &members[i]
		if deleting(m) {
			continue
		}
		order = append(order, m)
		k := key{m.Spec.Organization, m.Spec.User}
		if w := elected[k]; w == nil || resolve.Prefer(candidate(m), candidate(w)) {
			elected[k] = m
		}
	}
	slices.SortFunc(order, func(a, b *orgrbacv1alpha1.Membership) int {
		return cmp.Or(a.CreationTimestamp.Compare(b.CreationTimestamp.Time), cmp.Compare(a.Name, b.Name))
	})
	for _, m := range order {
		i, ok := index[m.Spec.Organization]
		if !ok || elected[key{m.Spec.Organization, m.Spec.User}] != m {
			continue
		}
		r := resolve.Resolved{State: resolve.State(m.Spec.State),
			Ready: meta.IsStatusConditionTrue(m.Status.Conditions, orgrbacv1alpha1.ConditionReady)}
		if !r.Grants() {
			continue
		}
		// Rule R11: the roles of its status that its organization defines now.
		roles := resolve.CurrentRoles(env.Organization(m.Spec.Organization), m.Status.Roles)
		if len(roles) == 0 {
			continue
		}
		o := &s.Organizations[i]
		o.Members = append(o.Members, publish.Member{User: m.Spec.User, Membership: m.Name, Roles: roles})
	}
	return s
}

// candidate is a Membership as the election reads it (rule R10).
func candidate(m *orgrbacv1alpha1.Membership) resolve.Candidate {
	return resolve.Candidate{Meta: metaOf(m), Ready: meta.IsStatusConditionTrue(m.Status.Conditions, orgrbacv1alpha1.ConditionReady)}
}

// published returns the metadata of the labelled ConfigMaps of ns with a
// publisher's name, by name.
func (r *PublishReconciler) published(ctx context.Context, ns string) (map[string]*metav1.PartialObjectMetadata, error) {
	list := &metav1.PartialObjectMetadataList{}
	list.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("ConfigMapList"))
	if err := r.configMaps.List(ctx, list, client.InNamespace(ns)); err != nil {
		return nil, fmt.Errorf("listing published config maps: %w", err)
	}
	out := make(map[string]*metav1.PartialObjectMetadata, len(list.Items))
	for i := range list.Items {
		if cm := &list.Items[i]; publishedNames.MatchString(cm.Name) {
			out[cm.Name] = cm
		}
	}
	return out, nil
}

// publisherOwned reports whether a labelled ConfigMap may be the publisher's:
// no controller (a namespace without an Environment), or an orgrbac
// Environment (this one, or one deleted since).
func publisherOwned(o metav1.Object) bool {
	c := metav1.GetControllerOfNoCopy(o)
	return c == nil || (c.Kind == "Environment" && strings.HasPrefix(c.APIVersion, orgrbacv1alpha1.GroupVersion.Group+"/"))
}

// controlledBy reports whether env is o's controller.
func controlledBy(o metav1.Object, env *orgrbacv1alpha1.Environment) bool {
	c := metav1.GetControllerOfNoCopy(o)
	return env != nil && c != nil && c.UID == env.UID
}

// ownedOnly keeps the ConfigMaps publisherOwned accepts.
func ownedOnly(existing map[string]*metav1.PartialObjectMetadata) map[string]*metav1.PartialObjectMetadata {
	out := make(map[string]*metav1.PartialObjectMetadata, len(existing))
	for name, cm := range existing {
		if publisherOwned(cm) {
			out[name] = cm
		}
	}
	return out
}

// annotatedRevision is o's revision annotation when it is a valid revision.
func annotatedRevision(o metav1.Object) (int64, bool) {
	rev, err := strconv.ParseInt(o.GetAnnotations()[publish.AnnotationRevision], 10, 64)
	if err != nil || rev < 0 || rev > publish.MaxRevision {
		return 0, false
	}
	return rev, true
}

// revision is the revision to publish content hash at: the current one when the
// published index already holds this content at the highest revision known,
// else one more than the highest revision known. Once this process has
// published ns, it knows the revision; before, it continues from the
// Environment's status and the annotations of the ConfigMaps (valid revisions
// only). When the highest revision leaves no room, the revisions restart at 1,
// and reset says why.
func (r *PublishReconciler) revision(ns, hash string, env *orgrbacv1alpha1.Environment,
	owned map[string]*metav1.PartialObjectMetadata) (rev int64, reset string) {
	r.mu.Lock()
	high, known := r.highWater[ns]
	r.mu.Unlock()
	from := "this publisher's last revision"
	if !known {
		if env != nil && env.Status.Revision > high {
			high, from = env.Status.Revision, "the Environment's status.revision"
		}
		for _, name := range slices.Sorted(maps.Keys(owned)) {
			if v, ok := annotatedRevision(owned[name]); ok && v > high {
				high, from = v, "the "+publish.AnnotationRevision+" annotation of ConfigMap "+name
			}
		}
	}
	if main, ok := owned[publish.ConfigMapName]; ok && high > 0 && main.Annotations[publish.AnnotationContentHash] == hash {
		if v, ok := annotatedRevision(main); ok && v == high {
			return high, ""
		}
	}
	if high < 0 || high >= publish.MaxRevision {
		return 1, fmt.Sprintf("the highest known revision, %d (%s), leaves no room for another: revisions restart at 1", high, from)
	}
	return high + 1, ""
}

func (r *PublishReconciler) setHighWater(ns string, rev int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.highWater[ns] = rev
}

// publicationTime is the publishedAt to write: the one main carries when it
// holds this revision and content and was written less than Refresh ago, else
// now.
func (r *PublishReconciler) publicationTime(main *metav1.PartialObjectMetadata, rev int64, hash string) time.Time {
	now := r.Clock.Now()
	if main != nil && main.Annotations[publish.AnnotationContentHash] == hash &&
		main.Annotations[publish.AnnotationRevision] == strconv.FormatInt(rev, 10) {
		at, err := time.Parse(time.RFC3339, main.Annotations[publish.AnnotationPublishedAt])
		if err == nil && !at.After(now.Add(time.Minute)) && now.Sub(at) < r.Refresh {
			return at
		}
	}
	return now.UTC().Truncate(time.Second)
}

// desiredConfigMap applies the published data, label, annotations and owner to
// cm (other labels and annotations are kept).
func desiredConfigMap(cm *corev1.ConfigMap, data publish.ConfigMapData, rev int64, hash string, at time.Time, env *orgrbacv1alpha1.Environment) {
	if cm.Labels == nil {
		cm.Labels = map[string]string{}
	}
	cm.Labels[publish.LabelPublished] = "true"
	if cm.Annotations == nil {
		cm.Annotations = map[string]string{}
	}
	cm.Annotations[publish.AnnotationRevision] = strconv.FormatInt(rev, 10)
	cm.Annotations[publish.AnnotationContentHash] = hash
	if data.Name == publish.ConfigMapName {
		cm.Annotations[publish.AnnotationPublishedAt] = publish.FormatTime(at)
	} else {
		delete(cm.Annotations, publish.AnnotationPublishedAt)
	}
	cm.OwnerReferences = nil
	if env != nil {
		// Deleting the Environment deletes the ConfigMaps. No
		// blockOwnerDeletion: publishing needs no rights on environments/finalizers.
		cm.OwnerReferences = []metav1.OwnerReference{{
			APIVersion: orgrbacv1alpha1.GroupVersion.String(), Kind: "Environment",
			Name: env.Name, UID: env.UID, Controller: new(true)}}
	}
	cm.Data = data.Data
	cm.BinaryData = nil
}

// metadataCurrent reports whether the cached metadata of a ConfigMap says what
// the publisher would write (the data is checked separately).
func metadataCurrent(cached *metav1.PartialObjectMetadata, name string, rev int64, hash string, at time.Time, env *orgrbacv1alpha1.Environment) bool {
	a := cached.Annotations
	if cached.Labels[publish.LabelPublished] != "true" || a[publish.AnnotationRevision] != strconv.FormatInt(rev, 10) ||
		a[publish.AnnotationContentHash] != hash {
		return false
	}
	if want := publish.FormatTime(at); name == publish.ConfigMapName && a[publish.AnnotationPublishedAt] != want {
		return false
	}
	c := metav1.GetControllerOfNoCopy(cached)
	if env == nil {
		return c == nil
	}
	return c != nil && c.UID == env.UID && c.Name == env.Name
}

func (r *PublishReconciler) isVerified(ns, name, rv string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return rv != "" && r.verified[ns][name] == rv
}

func (r *PublishReconciler) verify(ns, name, rv string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.verified[ns] == nil {
		r.verified[ns] = map[string]string{}
	}
	r.verified[ns][name] = rv
}

// write creates or updates one ConfigMap when it differs from the desired one.
// done is false when the cache lags behind and the write must wait. A
// ConfigMap that is not the publisher's is a *conflictError, never overwritten.
func (r *PublishReconciler) write(ctx context.Context, ns string, data publish.ConfigMapData, rev int64, hash string, at time.Time,
	env *orgrbacv1alpha1.Environment, cached *metav1.PartialObjectMetadata) (done bool, err error) {
	log := ctrl.LoggerFrom(ctx).WithValues("configMap", data.Name, "revision", rev)
	key := types.NamespacedName{Namespace: ns, Name: data.Name}
	if cached != nil {
		if !publisherOwned(cached) {
			c := metav1.GetControllerOfNoCopy(cached)
			return false, &conflictError{name: data.Name, why: fmt.Sprintf("its controller is the %s %s", c.Kind, c.Name)}
		}
		if r.isVerified(ns, data.Name, cached.ResourceVersion) && metadataCurrent(cached, data.Name, rev, hash, at, env) {
			return true, nil
		}
	}

	// Read the whole ConfigMap: the cache holds no data, and anyone may have
	// written it since the publisher did.
	var current *corev1.ConfigMap
	if cached != nil {
		current = &corev1.ConfigMap{}
		if err := r.APIReader.Get(ctx, key, current); err != nil {
			if !apierrors.IsNotFound(err) {
				return false, fmt.Errorf("reading config map %s: %w", data.Name, err)
			}
			current = nil
		}
	}
	if current != nil && !publisherOwned(current) {
		c := metav1.GetControllerOfNoCopy(current)
		return false, &conflictError{name: data.Name, why: fmt.Sprintf("its controller is the %s %s", c.Kind, c.Name), cm: current}
	}
	if current != nil && current.Labels[publish.LabelPublished] != "true" && !controlledBy(current, env) {
		// Unlabelled since the cache saw it: adopted only as below.
		return false, &conflictError{name: data.Name, why: "it has no " + publish.LabelPublished + " label and this Environment does not control it", cm: current}
	}
	if current != nil && current.Immutable != nil && *current.Immutable {
		log.Info("Replacing an immutable published ConfigMap")
		if err := r.Client.Delete(ctx, current, client.Preconditions{UID: &current.UID}); client.IgnoreNotFound(err) != nil {
			return false, fmt.Errorf("deleting immutable config map %s: %w", data.Name, err)
		}
		current = nil
	}
	if current == nil {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: data.Name}}
		desiredConfigMap(cm, data, rev, hash, at, env)
		log.Info("Creating a published ConfigMap")
		err := r.Client.Create(ctx, cm)
		switch {
		case err == nil:
			r.verify(ns, data.Name, cm.ResourceVersion)
			return true, nil
		case apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause):
			return true, nil // the namespace is going away, and its environment with it
		case !apierrors.IsAlreadyExists(err):
			return false, fmt.Errorf("creating config map %s: %w", data.Name, err)
		}
		// The name is taken: by a ConfigMap the cache has not seen yet (wait),
		// or by one without the label.
		current = &corev1.ConfigMap{}
		if err := r.APIReader.Get(ctx, key, current); err != nil {
			return false, client.IgnoreNotFound(err)
		}
		switch {
		case current.Labels[publish.LabelPublished] == "true":
			return false, nil
		case !controlledBy(current, env):
			// Not one the publisher wrote and someone unlabelled: it is never
			// adopted (security review L6).
			return false, &conflictError{name: data.Name, why: "it has no " + publish.LabelPublished + " label and this Environment does not control it", cm: current}
		}
		log.Info("Restoring the label of a published ConfigMap")
	}
	cm := current.DeepCopy()
	desiredConfigMap(cm, data, rev, hash, at, env)
	if equality.Semantic.DeepEqual(current.Data, cm.Data) && len(current.BinaryData) == 0 &&
		equality.Semantic.DeepEqual(current.Labels, cm.Labels) && equality.Semantic.DeepEqual(current.Annotations, cm.Annotations) &&
		equality.Semantic.DeepEqual(current.OwnerReferences, cm.OwnerReferences) {
		r.verify(ns, data.Name, current.ResourceVersion)
		return true, nil
	}
	log.Info("Updating a published ConfigMap")
	if err := r.Client.Update(ctx, cm); err != nil {
		if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
			return false, nil // the cache lags behind; the event that follows brings us back
		}
		return false, fmt.Errorf("updating config map %s: %w", data.Name, err)
	}
	r.verify(ns, data.Name, cm.ResourceVersion)
	return true, nil
}

// deleteAll deletes the published ConfigMaps not in keep.
func (r *PublishReconciler) deleteAll(ctx context.Context, ns string, existing map[string]*metav1.PartialObjectMetadata, keep map[string]bool) error {
	for _, name := range slices.Sorted(maps.Keys(existing)) {
		if keep[name] {
			continue
		}
		ctrl.LoggerFrom(ctx).Info("Deleting a surplus published ConfigMap", "configMap", name)
		cm := existing[name]
		if err := r.Client.Delete(ctx, cm, client.Preconditions{UID: &cm.UID}); client.IgnoreNotFound(err) != nil && !apierrors.IsConflict(err) {
			return fmt.Errorf("deleting config map %s: %w", name, err)
		}
		r.mu.Lock()
		delete(r.verified[ns], name)
		r.mu.Unlock()
	}
	return nil
}

// publishedOnly is a cache of the published (labelled) ConfigMaps. It runs on
// every replica, as the manager's cache does.
type publishedOnly struct{ cache.Cache }

// NeedLeaderElection implements manager.LeaderElectionRunnable.
func (publishedOnly) NeedLeaderElection() bool { return false }

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

// newPublishedCache is the publisher's cache of ConfigMaps: the metadata only
// (the API server never sends their data), of the ConfigMaps labelled
// orgrbac.dev/published=true only, and of those only what slim.MetadataOnly
// keeps. A ConfigMap planted in any namespace costs it a few hundred bytes.
func newPublishedCache(cfg *rest.Config, opts cache.Options) (cache.Cache, error) {
	opts.DefaultLabelSelector = labels.SelectorFromSet(labels.Set{publish.LabelPublished: "true"})
	opts.DefaultTransform = slim.MetadataOnly(publishedNames.MatchString, []string{publish.LabelPublished},
		[]string{publish.AnnotationRevision, publish.AnnotationContentHash, publish.AnnotationPublishedAt})
	return cache.New(cfg, opts)
}

// configMapMetadata is the object the publisher's cache and watch hold.
func configMapMetadata() *metav1.PartialObjectMetadata {
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("ConfigMap"))
	return m
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
	r.throttle = &throttle{clock: r.Clock, interval: r.Interval, last: map[types.NamespacedName]time.Time{}}
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
	byNamespace := func(_ context.Context, o client.Object) []reconcile.Request {
		return []reconcile.Request{publishRequest(o.GetNamespace())}
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named("publish").
		Watches(&orgrbacv1alpha1.Environment{}, byEvent(byNamespace, nothing), inv).
		Watches(&orgrbacv1alpha1.Role{}, onSpecChange(byNamespace), inv).
		Watches(&orgrbacv1alpha1.OrganizationRole{}, onSpecChange(byNamespace), inv).
		Watches(&orgrbacv1alpha1.Organization{}, onSpecChange(byNamespace), inv).
		Watches(&orgrbacv1alpha1.Membership{}, onUpdateWhere(byNamespace, membershipPublishRelevant)).
		WatchesRawSource(source.Kind(cmCache, configMapMetadata(),
			handler.TypedEnqueueRequestsFromMapFunc(func(_ context.Context, cm *metav1.PartialObjectMetadata) []reconcile.Request {
				if !publishedNames.MatchString(cm.Name) {
					return nil
				}
				return []reconcile.Request{publishRequest(cm.Namespace)}
			}))).
		WithOptions(opts).
		Complete(r)
}

var _ reconcile.Reconciler = (*PublishReconciler)(nil)
