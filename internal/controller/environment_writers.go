package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
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
	// fields and conditions name the same part as managedFields does: the
	// status fields (JSON names) and the types of the conditions.
	fields, conditions []string
}

var (
	// environmentConditionTypes and publishConditionTypes are the types of the
	// conditions each writes.
	environmentConditionTypes = []string{orgrbacv1alpha1.ConditionReady, orgrbacv1alpha1.ConditionReferencesResolved}
	publishConditionTypes     = []string{orgrbacv1alpha1.ConditionPublished}

	// environmentStatusWriter is the environment controller's writer.
	environmentStatusWriter = environmentWriter{manager: environmentFieldManager, owned: ownedByEnvironmentController,
		fields:     []string{"observedGeneration", "roles", "organizations", "memberships"},
		conditions: environmentConditionTypes}
	// publishStatusWriter is the publisher's writer.
	publishStatusWriter = environmentWriter{manager: publishFieldManager, owned: ownedByPublisher,
		fields:     []string{"revision", "publishedConfigMaps"},
		conditions: publishConditionTypes}
)

// ownedByEnvironmentController is the environment controller's part of s.
func ownedByEnvironmentController(s *orgrbacv1alpha1.EnvironmentStatus) orgrbacv1alpha1.EnvironmentStatus {
	return orgrbacv1alpha1.EnvironmentStatus{
		ObservedGeneration: s.ObservedGeneration,
		Roles:              s.Roles,
		Organizations:      s.Organizations,
		Memberships:        s.Memberships,
		Conditions:         conditionsOf(s.Conditions, environmentConditionTypes...),
	}
}

// ownedByPublisher is the publisher's part of s.
func ownedByPublisher(s *orgrbacv1alpha1.EnvironmentStatus) orgrbacv1alpha1.EnvironmentStatus {
	return orgrbacv1alpha1.EnvironmentStatus{
		Revision:            s.Revision,
		PublishedConfigMaps: s.PublishedConfigMaps,
		Conditions:          conditionsOf(s.Conditions, publishConditionTypes...),
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
// taken back rather than refused forever. What another manager still holds of
// the part after the apply is taken back too (takeBack).
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
	applied := runtime.DeepCopyJSON(status)
	if err := c.Status().Apply(ctx, client.ApplyConfigurationFromUnstructured(u),
		client.FieldOwner(w.manager), client.ForceOwnership); err != nil {
		return err
	}
	return w.takeBack(ctx, c, u, applied)
}

// takeBack makes w the only owner of its part when the object the API server
// returned from an apply (stored) does not hold what w applied (applied): a
// field or list entry w left out is kept while another manager still owns it,
// such as the Update manager of an older operator version that wrote the
// whole status with merge patches, or a hand edit. Forcing takes a field whose
// value differs, never one another manager holds alone with a value w no
// longer applies (a count back to 0, a ConfigMap name no longer published).
//
// The other managers' claims on w's part, and on nothing else, move to w's
// entry (takeOwnership), with stored's resourceVersion as a precondition, and
// w applies again, which removes what w does not apply and no one else owns.
// It costs nothing when the status holds what w applied.
func (w environmentWriter) takeBack(ctx context.Context, c client.Client, stored *unstructured.Unstructured, applied map[string]any) error {
	var got orgrbacv1alpha1.Environment
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(stored.Object, &got); err != nil {
		return fmt.Errorf("reading the applied environment %s: %w", stored.GetName(), err)
	}
	kept := w.owned(&got.Status)
	holds, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&kept)
	if err != nil {
		return fmt.Errorf("converting the status of environment %s: %w", got.Name, err)
	}
	if reflect.DeepEqual(holds, applied) {
		return nil
	}
	entries, others, err := w.takeOwnership(got.ManagedFields)
	if err != nil || len(others) == 0 {
		return err
	}
	ctrl.LoggerFrom(ctx).Info("Taking back the status fields other field managers hold", "environment", got.Name,
		"fieldManager", w.manager, "others", others)
	// Replacing resourceVersion makes the patch conditional on it (a Conflict
	// when the object moved on), as csaupgrade's patches do.
	patch, err := json.Marshal([]map[string]any{
		{"op": "replace", "path": "/metadata/managedFields", "value": entries},
		{"op": "replace", "path": "/metadata/resourceVersion", "value": got.ResourceVersion},
	})
	if err != nil {
		return err
	}
	if err := c.Patch(ctx, &got, client.RawPatch(types.JSONPatchType, patch)); err != nil {
		return fmt.Errorf("taking back the status of environment %s: %w", got.Name, err)
	}
	again := &unstructured.Unstructured{Object: map[string]any{"status": applied}}
	again.SetGroupVersionKind(orgrbacv1alpha1.GroupVersion.WithKind("Environment"))
	again.SetNamespace(got.Namespace)
	again.SetName(got.Name)
	again.SetResourceVersion(got.ResourceVersion)
	return c.Status().Apply(ctx, client.ApplyConfigurationFromUnstructured(again),
		client.FieldOwner(w.manager), client.ForceOwnership)
}

// takeOwnership returns entries with the claims of every other manager of the
// status on w's part (its fields, its conditions) moved to w's apply entry,
// and the managers that lost some; other claims stay where they are. Without
// an apply entry of w's, nothing moves.
func (w environmentWriter) takeOwnership(entries []metav1.ManagedFieldsEntry) ([]metav1.ManagedFieldsEntry, []string, error) {
	mine := slices.IndexFunc(entries, func(e metav1.ManagedFieldsEntry) bool {
		return e.Manager == w.manager && e.Operation == metav1.ManagedFieldsOperationApply && e.Subresource == "status"
	})
	if mine < 0 {
		return entries, nil, nil
	}
	decode := func(e metav1.ManagedFieldsEntry) (map[string]any, error) {
		m := map[string]any{}
		if e.FieldsV1 == nil {
			return m, nil
		}
		return m, json.Unmarshal(e.FieldsV1.GetRawBytes(), &m)
	}
	ours, err := decode(entries[mine])
	if err != nil {
		return nil, nil, err
	}
	keys := make([]string, 0, len(w.fields))
	for _, f := range w.fields {
		keys = append(keys, "f:"+f)
	}
	condKeys := make([]string, 0, len(w.conditions))
	for _, t := range w.conditions {
		k, err := json.Marshal(map[string]string{"type": t})
		if err != nil {
			return nil, nil, err
		}
		condKeys = append(condKeys, "k:"+string(k))
	}
	var out []metav1.ManagedFieldsEntry
	var others []string
	for i, e := range entries {
		if i == mine || e.Subresource != "status" || e.Manager == environmentFieldManager || e.Manager == publishFieldManager {
			out = append(out, e)
			continue
		}
		theirs, err := decode(e)
		if err != nil {
			return nil, nil, err
		}
		movedConditions := moveFields(theirs, ours, []string{"f:status", "f:conditions"}, condKeys)
		moved := moveFields(theirs, ours, []string{"f:status"}, keys) || movedConditions
		if !moved {
			out = append(out, e)
			continue
		}
		others = append(others, e.Manager)
		if len(theirs) == 0 {
			continue // nothing left: the entry goes
		}
		raw, err := json.Marshal(theirs)
		if err != nil {
			return nil, nil, err
		}
		e.FieldsV1 = metav1.NewFieldsV1(string(raw))
		out = append(out, e)
	}
	raw, err := json.Marshal(ours)
	if err != nil {
		return nil, nil, err
	}
	for i := range out {
		if out[i].Manager == w.manager && out[i].Operation == metav1.ManagedFieldsOperationApply && out[i].Subresource == "status" {
			out[i].FieldsV1 = metav1.NewFieldsV1(string(raw))
		}
	}
	return out, others, nil
}

// moveFields moves the given keys of the map at path in from (a managedFields
// field set) to the same path in to, merging with what to holds there, and
// drops the maps of from the move leaves empty. It reports whether it moved
// any.
func moveFields(from, to map[string]any, path, keys []string) bool {
	src := from
	var parents []map[string]any
	for _, p := range path {
		next, ok := src[p].(map[string]any)
		if !ok {
			return false
		}
		parents = append(parents, src)
		src = next
	}
	dst := to
	moved := false
	for _, k := range keys {
		v, ok := src[k]
		if !ok {
			continue
		}
		if !moved {
			for _, p := range path {
				next, ok := dst[p].(map[string]any)
				if !ok {
					next = map[string]any{}
					dst[p] = next
				}
				dst = next
			}
		}
		moved = true
		dst[k] = mergeFieldSets(dst[k], v)
		delete(src, k)
	}
	// Drop the maps along path the move left empty, innermost first. An empty
	// map elsewhere is a field owned, and stays.
	for i := len(path) - 1; moved && i >= 0; i-- {
		if m, ok := parents[i][path[i]].(map[string]any); ok && len(m) == 0 {
			delete(parents[i], path[i])
		}
	}
	return moved
}

// mergeFieldSets is the union of two managedFields field sets.
func mergeFieldSets(a, b any) any {
	am, ok1 := a.(map[string]any)
	bm, ok2 := b.(map[string]any)
	if !ok1 || !ok2 {
		if ok2 {
			return bm
		}
		return a
	}
	for k, v := range bm {
		am[k] = mergeFieldSets(am[k], v)
	}
	return am
}
