package controller

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
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

// publishedNames matches the names of the ConfigMaps the publisher manages.
var publishedNames = regexp.MustCompile(`^` + regexp.QuoteMeta(publish.ConfigMapName) + `(-[1-9][0-9]*)?$`)

// PublishReconciler publishes each namespace's snapshot (internal/publish) into
// the ConfigMap orgrbac-permissions and, when it is too large, the shards
// orgrbac-permissions-1..N. Requests are keyed by namespace, with the name
// orgrbac-permissions. It writes only when the content (or a hand-edited
// ConfigMap) differs, bumps the revision only when the content changes, and
// records the revision and the ConfigMap names in the Environment's status.
type PublishReconciler struct {
	// Client reads orgrbac objects from the cache and writes ConfigMaps.
	Client client.Client
	// APIReader reads ConfigMaps the cache does not hold (a name taken by an
	// unlabelled ConfigMap).
	APIReader client.Reader
	// Clock spaces out publications.
	Clock clock.PassiveClock
	// MaxBytes is the largest data per ConfigMap (publish.DefaultMaxBytes when 0).
	MaxBytes int
	// Interval is the shortest time between two publications in a namespace
	// (one second when 0).
	Interval time.Duration

	// configMaps reads the published ConfigMaps (a cache of labelled ConfigMaps only).
	configMaps client.Reader
	throttle   *throttle

	mu sync.Mutex
	// highWater is the highest revision published per namespace since start,
	// so that the revision grows even while the cache lags behind a write.
	highWater map[string]int64
}

// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get;list;watch;create;update;patch;delete

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
	if w.empty() {
		// No orgrbac object left: nothing to publish.
		if err := r.deleteAll(ctx, existing, nil); err != nil {
			return ctrl.Result{}, err
		}
		publishPending.done(ns, r.Clock.Now(), false)
		return ctrl.Result{}, nil
	}

	snap := buildSnapshot(w.compiled, w.orgs, w.members)
	hash, err := publish.ContentHash(snap)
	if err != nil {
		return ctrl.Result{}, err
	}
	snap.Revision = r.revision(ns, hash, w.env, existing)
	cms, err := publish.Encode(snap, r.MaxBytes)
	if err != nil {
		// Nothing changes until the content does: no retry.
		return ctrl.Result{}, reconcile.TerminalError(fmt.Errorf("encoding the snapshot: %w", err))
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
		done, err := r.write(ctx, ns, cm, snap.Revision, hash, w.env, existing[cm.Name])
		if err != nil {
			return ctrl.Result{}, err
		}
		if !done {
			return ctrl.Result{RequeueAfter: r.Interval}, nil
		}
	}
	if err := r.deleteAll(ctx, existing, desired); err != nil {
		return ctrl.Result{}, err
	}
	r.raise(ns, snap.Revision)
	written := w.env == nil || w.env.Status.Revision != snap.Revision

	if w.env != nil {
		names := slices.Sorted(maps.Keys(desired))
		if w.env.Status.Revision != snap.Revision || !slices.Equal(w.env.Status.PublishedConfigMaps, names) {
			orig := w.env.DeepCopy()
			w.env.Status.Revision = snap.Revision
			w.env.Status.PublishedConfigMaps = names
			log.V(1).Info("Recording the published revision", "environment", w.env.Name, "revision", snap.Revision)
			if err := r.Client.Status().Patch(ctx, w.env, client.MergeFrom(orig)); err != nil {
				return ctrl.Result{}, client.IgnoreNotFound(err)
			}
		}
	}
	publishPending.done(ns, r.Clock.Now(), written)
	return ctrl.Result{}, nil
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
	var orgs orgrbacv1alpha1.OrganizationList
	if err := r.Client.List(ctx, &orgs, client.InNamespace(ns), readOnly); err != nil {
		return nil, fmt.Errorf("listing organizations: %w", err)
	}
	names := make([]string, 0, len(orgs.Items))
	for i := range orgs.Items {
		if o := &orgs.Items[i]; !deleting(o) {
			names = append(names, o.Name)
			w.orgs = append(w.orgs, *o)
		}
	}
	in, err := gatherInput(ctx, r.Client, ns, names...)
	if err != nil {
		return nil, err
	}
	w.compiled = resolve.Compile(in)

	var members orgrbacv1alpha1.MembershipList
	if err := r.Client.List(ctx, &members, client.InNamespace(ns), readOnly); err != nil {
		return nil, fmt.Errorf("listing memberships: %w", err)
	}
	w.members = members.Items
	var oroles orgrbacv1alpha1.OrganizationRoleList
	if err := r.Client.List(ctx, &oroles, client.InNamespace(ns), readOnly); err != nil {
		return nil, fmt.Errorf("listing organization roles: %w", err)
	}
	w.objects = len(in.Environments) + len(in.Roles) + len(orgs.Items) + len(members.Items) + len(oroles.Items)

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

// buildSnapshot is the namespace's snapshot (revision 0): the winning roles,
// every organization, and the members of each whose Membership is Active and
// Ready, with its resolved roles (status.roles) that still name a visible
// role. Of two Memberships of one user in one organization the oldest counts.
func buildSnapshot(env *resolve.Env, orgs []orgrbacv1alpha1.Organization, members []orgrbacv1alpha1.Membership) *publish.Snapshot {
	s := &publish.Snapshot{}
	for _, r := range env.Roles() {
		s.Roles = append(s.Roles, publish.Role{Slug: r.Slug, Type: publish.RoleTypeEnvironment, Permissions: r.Permissions})
	}
	externalIDs := make(map[string]string, len(orgs))
	for i := range orgs {
		externalIDs[orgs[i].Name] = orgs[i].Spec.ExternalID
	}
	index := map[string]int{}
	// RoleRefs, not Roles: every organization sees every environment role, and
	// copying their permission sets for 1,000 organizations cost 53 MB per
	// publication at 100k memberships. Only organization roles are copied.
	for _, name := range env.OrganizationNames() {
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

	order := make([]*orgrbacv1alpha1.Membership, 0, len(members))
	for i := range members {
		order = append(order, &members[i])
	}
	slices.SortFunc(order, func(a, b *orgrbacv1alpha1.Membership) int {
		return cmp.Or(a.CreationTimestamp.Compare(b.CreationTimestamp.Time), cmp.Compare(a.Name, b.Name))
	})
	seen := map[[2]string]bool{}
	for _, m := range order {
		i, ok := index[m.Spec.Organization]
		if !ok || deleting(m) || !resolve.State(m.Spec.State).IsActive() ||
			!meta.IsStatusConditionTrue(m.Status.Conditions, orgrbacv1alpha1.ConditionReady) {
			continue
		}
		key := [2]string{m.Spec.Organization, m.Spec.User}
		if seen[key] {
			continue
		}
		seen[key] = true
		view := env.Organization(m.Spec.Organization)
		var roles []string
		for _, slug := range m.Status.Roles {
			if _, visible := view.RoleType(slug); visible && !slices.Contains(roles, slug) {
				roles = append(roles, slug)
			}
		}
		if len(roles) == 0 {
			continue
		}
		o := &s.Organizations[i]
		o.Members = append(o.Members, publish.Member{User: m.Spec.User, Membership: m.Name, Roles: roles})
	}
	return s
}

// published returns the ConfigMaps of ns the publisher manages, by name.
func (r *PublishReconciler) published(ctx context.Context, ns string) (map[string]*corev1.ConfigMap, error) {
	var list corev1.ConfigMapList
	if err := r.configMaps.List(ctx, &list, client.InNamespace(ns)); err != nil {
		return nil, fmt.Errorf("listing published config maps: %w", err)
	}
	out := make(map[string]*corev1.ConfigMap, len(list.Items))
	for i := range list.Items {
		if cm := &list.Items[i]; publishedNames.MatchString(cm.Name) {
			out[cm.Name] = cm
		}
	}
	return out, nil
}

func annotatedRevision(o metav1.Object) int64 {
	rev, err := strconv.ParseInt(o.GetAnnotations()[publish.AnnotationRevision], 10, 64)
	if err != nil || rev < 0 {
		return 0
	}
	return rev
}

// revision is the revision to publish content hash at: the current one when the
// published index already holds this content at the highest revision known,
// else one more than the highest revision known (the Environment's status, the
// ConfigMaps' annotations and what this process published).
func (r *PublishReconciler) revision(ns, hash string, env *orgrbacv1alpha1.Environment, existing map[string]*corev1.ConfigMap) int64 {
	r.mu.Lock()
	high := r.highWater[ns]
	r.mu.Unlock()
	if env != nil {
		high = max(high, env.Status.Revision)
	}
	for _, cm := range existing {
		high = max(high, annotatedRevision(cm))
	}
	if main, ok := existing[publish.ConfigMapName]; ok && high > 0 &&
		main.Annotations[publish.AnnotationContentHash] == hash && annotatedRevision(main) == high {
		return high
	}
	return high + 1
}

func (r *PublishReconciler) raise(ns string, rev int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.highWater[ns] = max(r.highWater[ns], rev)
}

// desiredConfigMap applies the published data, label, annotations and owner to
// cm (other labels and annotations are kept).
func desiredConfigMap(cm *corev1.ConfigMap, data publish.ConfigMapData, rev int64, hash string, env *orgrbacv1alpha1.Environment) {
	if cm.Labels == nil {
		cm.Labels = map[string]string{}
	}
	cm.Labels[publish.LabelPublished] = "true"
	if cm.Annotations == nil {
		cm.Annotations = map[string]string{}
	}
	cm.Annotations[publish.AnnotationRevision] = strconv.FormatInt(rev, 10)
	cm.Annotations[publish.AnnotationContentHash] = hash
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

// write creates or updates one ConfigMap when it differs from the desired one.
// done is false when the cache lags behind and the write must wait.
func (r *PublishReconciler) write(ctx context.Context, ns string, data publish.ConfigMapData, rev int64, hash string,
	env *orgrbacv1alpha1.Environment, current *corev1.ConfigMap) (done bool, err error) {
	log := ctrl.LoggerFrom(ctx).WithValues("configMap", data.Name, "revision", rev)
	if current != nil && current.Immutable != nil && *current.Immutable {
		log.Info("Replacing an immutable published ConfigMap")
		if err := r.Client.Delete(ctx, current); client.IgnoreNotFound(err) != nil {
			return false, fmt.Errorf("deleting immutable config map %s: %w", data.Name, err)
		}
		current = nil
	}
	if current == nil {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: data.Name}}
		desiredConfigMap(cm, data, rev, hash, env)
		log.Info("Creating a published ConfigMap")
		err := r.Client.Create(ctx, cm)
		switch {
		case err == nil:
			return true, nil
		case apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause):
			return true, nil // the namespace is going away, and its environment with it
		case !apierrors.IsAlreadyExists(err):
			return false, fmt.Errorf("creating config map %s: %w", data.Name, err)
		}
		// The name is taken: by a ConfigMap the cache has not seen yet (wait),
		// or by one without the label (adopt it).
		current = &corev1.ConfigMap{}
		if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(cm), current); err != nil {
			return false, client.IgnoreNotFound(err)
		}
		if current.Labels[publish.LabelPublished] == "true" {
			return false, nil
		}
	}
	cm := current.DeepCopy()
	desiredConfigMap(cm, data, rev, hash, env)
	if equality.Semantic.DeepEqual(current.Data, cm.Data) && len(current.BinaryData) == 0 &&
		equality.Semantic.DeepEqual(current.Labels, cm.Labels) && equality.Semantic.DeepEqual(current.Annotations, cm.Annotations) &&
		equality.Semantic.DeepEqual(current.OwnerReferences, cm.OwnerReferences) {
		return true, nil
	}
	log.Info("Updating a published ConfigMap")
	if err := r.Client.Update(ctx, cm); err != nil {
		if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
			return false, nil // the cache lags behind; the event that follows brings us back
		}
		return false, fmt.Errorf("updating config map %s: %w", data.Name, err)
	}
	return true, nil
}

// deleteAll deletes the published ConfigMaps not in keep.
func (r *PublishReconciler) deleteAll(ctx context.Context, existing map[string]*corev1.ConfigMap, keep map[string]bool) error {
	for _, name := range slices.Sorted(maps.Keys(existing)) {
		if keep[name] {
			continue
		}
		ctrl.LoggerFrom(ctx).Info("Deleting a surplus published ConfigMap", "configMap", name)
		if err := r.Client.Delete(ctx, existing[name]); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("deleting config map %s: %w", name, err)
		}
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

// SetupWithManager registers the controller and its cache of published ConfigMaps.
func (r *PublishReconciler) SetupWithManager(mgr ctrl.Manager, opts controller.Options) error {
	if r.Interval <= 0 {
		r.Interval = publishInterval
	}
	if r.APIReader == nil {
		r.APIReader = mgr.GetAPIReader()
	}
	if r.Clock == nil {
		r.Clock = clock.RealClock{}
	}
	r.throttle = &throttle{clock: r.Clock, interval: r.Interval, last: map[types.NamespacedName]time.Time{}}
	r.highWater = map[string]int64{}
	cmCache, err := cache.New(mgr.GetConfig(), cache.Options{
		HTTPClient:           mgr.GetHTTPClient(),
		Scheme:               mgr.GetScheme(),
		Mapper:               mgr.GetRESTMapper(),
		DefaultLabelSelector: labels.SelectorFromSet(labels.Set{publish.LabelPublished: "true"}),
		DefaultTransform:     slim.Transform,
	})
	if err != nil {
		return fmt.Errorf("creating the cache of published config maps: %w", err)
	}
	if err := mgr.Add(publishedOnly{cmCache}); err != nil {
		return fmt.Errorf("adding the cache of published config maps: %w", err)
	}
	r.configMaps = cmCache

	byNamespace := func(_ context.Context, o client.Object) []reconcile.Request {
		return []reconcile.Request{publishRequest(o.GetNamespace())}
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named("publish").
		Watches(&orgrbacv1alpha1.Environment{}, byEvent(byNamespace, nothing)).
		Watches(&orgrbacv1alpha1.Role{}, onSpecChange(byNamespace)).
		Watches(&orgrbacv1alpha1.OrganizationRole{}, onSpecChange(byNamespace)).
		Watches(&orgrbacv1alpha1.Organization{}, onSpecChange(byNamespace)).
		Watches(&orgrbacv1alpha1.Membership{}, onUpdateWhere(byNamespace, membershipPublishRelevant)).
		WatchesRawSource(source.Kind(cmCache, &corev1.ConfigMap{},
			handler.TypedEnqueueRequestsFromMapFunc(func(_ context.Context, cm *corev1.ConfigMap) []reconcile.Request {
				if !publishedNames.MatchString(cm.Name) {
					return nil
				}
				return []reconcile.Request{publishRequest(cm.Namespace)}
			}))).
		WithOptions(opts).
		Complete(r)
}

var _ reconcile.Reconciler = (*PublishReconciler)(nil)
