package controller

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
)

// Two controllers write an Environment's status, and each field has one
// writer: the environment controller owns observedGeneration, the counts and
// the conditions Ready and ReferencesResolved; the publisher owns revision,
// publishedConfigMaps and the condition Published. Each writes with
// server-side apply under its own field manager, applying only its fields, so
// the API server merges the two (the conditions are a map keyed by type) and
// records in managedFields who owns what. A merge patch built from a cached
// copy, as both used before, replaces the whole conditions list, so either
// could put back the other's condition from a stale copy.
const (
	// environmentFieldManager is the field manager of the environment controller.
	environmentFieldManager = "orgrbac-environment"
	// publishFieldManager is the field manager of the publisher.
	publishFieldManager = "orgrbac-publish"
)

// An environmentWriter writes one field manager's part of an Environment's
// status.
type environmentWriter struct {
	manager string
	// owned is the part of a status this writer owns: the status with every
	// other field zero, and only its own conditions.
	owned func(*orgrbacv1alpha1.EnvironmentStatus) orgrbacv1alpha1.EnvironmentStatus
}

var (
	// environmentStatusWriter is the environment controller's writer.
	environmentStatusWriter = environmentWriter{manager: environmentFieldManager, owned: ownedByEnvironmentController}
	// publishStatusWriter is the publisher's writer.
	publishStatusWriter = environmentWriter{manager: publishFieldManager, owned: ownedByPublisher}
)

// ownedByEnvironmentController is the environment controller's part of s.
func ownedByEnvironmentController(s *orgrbacv1alpha1.EnvironmentStatus) orgrbacv1alpha1.EnvironmentStatus {
	return orgrbacv1alpha1.EnvironmentStatus{
		ObservedGeneration: s.ObservedGeneration,
		Roles:              s.Roles,
		Organizations:      s.Organizations,
		Memberships:        s.Memberships,
		Conditions:         conditionsOf(s.Conditions, orgrbacv1alpha1.ConditionReady, orgrbacv1alpha1.ConditionReferencesResolved),
	}
}

// ownedByPublisher is the publisher's part of s.
func ownedByPublisher(s *orgrbacv1alpha1.EnvironmentStatus) orgrbacv1alpha1.EnvironmentStatus {
	return orgrbacv1alpha1.EnvironmentStatus{
		Revision:            s.Revision,
		PublishedConfigMaps: s.PublishedConfigMaps,
		Conditions:          conditionsOf(s.Conditions, orgrbacv1alpha1.ConditionPublished),
	}
}

// conditionsOf is the conditions of the given types in conds, in the order of
// types; nil when there is none.
func conditionsOf(conds []metav1.Condition, types ...string) []metav1.Condition {
	var out []metav1.Condition
	for _, t := range types {
		if c := meta.FindStatusCondition(conds, t); c != nil {
			out = append(out, *c)
		}
	}
	return out
}

// differs reports whether w's part of want differs from its part of cur.
func (w environmentWriter) differs(cur, want *orgrbacv1alpha1.EnvironmentStatus) bool {
	return !equality.Semantic.DeepEqual(w.owned(cur), w.owned(want))
}

// write applies w's part of want to env's status, without a lock, when it
// differs from env's (the cached copy): a status is written only when it
// changes.
func (w environmentWriter) write(ctx context.Context, c client.Client, env *orgrbacv1alpha1.Environment,
	want *orgrbacv1alpha1.EnvironmentStatus) error {
	if !w.differs(&env.Status, want) {
		return nil
	}
	return w.apply(ctx, c, env, want, false)
}

// apply applies w's part of want to env's status with server-side apply, as
// w's field manager. With lock, env's resourceVersion is a precondition: the
// write fails with a Conflict when env is not the stored object's current
// version.
//
// The apply configuration is an unstructured object
// (client.ApplyConfigurationFromUnstructured), the way controller-runtime
// offers for a kind without generated apply configurations. It is converted
// from the typed owned part, which controller-runtime warns against because a
// zero value then cannot be told from an unset one; here that is the intent:
// a zero field (omitempty: a count of 0, no publishedConfigMaps) is left out,
// and the API server removes a field its only owner no longer applies, as the
// merge patch wrote null before. So every field of the part is applied on
// every write, never a subset: a field left out is a field given up.
//
// The ownership is forced: each field has one writer by design, and a field
// another manager holds with another value (a hand edit of the status) is
// taken back rather than refused forever.
func (w environmentWriter) apply(ctx context.Context, c client.Client, env *orgrbacv1alpha1.Environment,
	want *orgrbacv1alpha1.EnvironmentStatus, lock bool) error {
	part := w.owned(want)
	status, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&part)
	if err != nil {
		return fmt.Errorf("converting the status of environment %s: %w", env.Name, err)
	}
	u := &unstructured.Unstructured{Object: map[string]any{"status": status}}
	u.SetGroupVersionKind(orgrbacv1alpha1.GroupVersion.WithKind("Environment"))
	u.SetNamespace(env.Namespace)
	u.SetName(env.Name)
	if lock {
		u.SetResourceVersion(env.ResourceVersion)
	}
	return c.Status().Apply(ctx, client.ApplyConfigurationFromUnstructured(u),
		client.FieldOwner(w.manager), client.ForceOwnership)
}
