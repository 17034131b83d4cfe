package controller

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/publish"
	"github.com/orgrbac/orgrbac/internal/slim"
)

// publishedNames matches the names of the ConfigMaps the publisher manages.
var publishedNames = regexp.MustCompile(`^` + regexp.QuoteMeta(publish.ConfigMapName) + `(-[1-9][0-9]*)?$`)

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
