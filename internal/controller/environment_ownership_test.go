package controller

import (
	"maps"
	"reflect"
	"slices"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
)

// Every status field has exactly one writer: the two writers' parts split
// EnvironmentStatus, and its conditions by type.
func TestEnvironmentWritersSplitTheStatus(t *testing.T) {
	full := orgrbacv1alpha1.EnvironmentStatus{ObservedGeneration: 1, Roles: 2, Organizations: 3, Memberships: 4, Revision: 5,
		PublishedConfigMaps: []string{"orgrbac-permissions"}}
	for _, typ := range []string{orgrbacv1alpha1.ConditionReady, orgrbacv1alpha1.ConditionReferencesResolved, orgrbacv1alpha1.ConditionPublished} {
		full.Conditions = append(full.Conditions, metav1.Condition{Type: typ, Status: metav1.ConditionTrue, Reason: "R", LastTransitionTime: envT0})
	}
	// Every field of the type is set, so a field added to the API without a
	// writer fails here.
	v := reflect.ValueOf(full)
	for i := range v.NumField() {
		if v.Field(i).IsZero() {
			t.Fatalf("test status leaves %s zero", v.Type().Field(i).Name)
		}
	}
	env, pub := reflect.ValueOf(ownedByEnvironmentController(&full)), reflect.ValueOf(ownedByPublisher(&full))
	for i := range v.NumField() {
		name := v.Type().Field(i).Name
		if name == "Conditions" {
			continue
		}
		if e, p := !env.Field(i).IsZero(), !pub.Field(i).IsZero(); e == p {
			t.Errorf("status.%s: written by the environment controller %v, by the publisher %v; want exactly one", name, e, p)
		}
	}
	owner := map[string]int{}
	for _, part := range []orgrbacv1alpha1.EnvironmentStatus{ownedByEnvironmentController(&full), ownedByPublisher(&full)} {
		for _, c := range part.Conditions {
			owner[c.Type]++
		}
	}
	for _, c := range full.Conditions {
		if owner[c.Type] != 1 {
			t.Errorf("condition %s has %d writers, want 1", c.Type, owner[c.Type])
		}
	}
	// The names managedFields uses (fields, conditions) are the same part.
	for _, w := range []environmentWriter{environmentStatusWriter, publishStatusWriter} {
		part := w.owned(&full)
		u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&part)
		if err != nil {
			t.Fatal(err)
		}
		delete(u, "conditions")
		if got := slices.Sorted(maps.Keys(u)); !reflect.DeepEqual(got, slices.Sorted(slices.Values(w.fields))) {
			t.Errorf("%s: owned fields %v, named %v", w.manager, got, w.fields)
		}
		var types []string
		for _, c := range part.Conditions {
			types = append(types, c.Type)
		}
		if !reflect.DeepEqual(types, w.conditions) {
			t.Errorf("%s: owned conditions %v, named %v", w.manager, types, w.conditions)
		}
	}
}

// takeOwnership moves another manager's claims on a writer's part, and only
// those, to the writer's entry; an entry left with nothing goes.
func TestTakeOwnershipMovesOnlyTheWritersPart(t *testing.T) {
	entry := func(manager string, op metav1.ManagedFieldsOperationType, fields string) metav1.ManagedFieldsEntry {
		return metav1.ManagedFieldsEntry{Manager: manager, Operation: op, Subresource: "status", FieldsV1: metav1.NewFieldsV1(fields)}
	}
	entries := []metav1.ManagedFieldsEntry{
		{Manager: "kubectl", Operation: metav1.ManagedFieldsOperationUpdate, FieldsV1: metav1.NewFieldsV1(`{"f:spec":{"f:defaultRole":{}}}`)},
		entry(publishFieldManager, metav1.ManagedFieldsOperationApply,
			`{"f:status":{"f:conditions":{"k:{\"type\":\"Published\"}":{".":{},"f:type":{}}},"f:revision":{}}}`),
		entry("manager", metav1.ManagedFieldsOperationUpdate,
			`{"f:status":{"f:conditions":{".":{},"k:{\"type\":\"Published\"}":{"f:message":{}},"k:{\"type\":\"Ready\"}":{"f:status":{}}},`+
				`"f:memberships":{},"f:publishedConfigMaps":{".":{},"v:\"orgrbac-permissions-7\"":{}}}}`),
		entry("editor", metav1.ManagedFieldsOperationUpdate, `{"f:status":{"f:revision":{}}}`),
		entry(environmentFieldManager, metav1.ManagedFieldsOperationApply, `{"f:status":{"f:roles":{}}}`),
	}
	out, others, err := publishStatusWriter.takeOwnership(entries)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(others, []string{"manager", "editor"}) {
		t.Errorf("others = %v", others)
	}
	got := map[string]string{}
	for _, e := range out {
		got[e.Manager] = e.FieldsV1.GetRawString()
	}
	want := map[string]string{
		"kubectl": `{"f:spec":{"f:defaultRole":{}}}`,
		publishFieldManager: `{"f:status":{"f:conditions":{"k:{\"type\":\"Published\"}":{".":{},"f:message":{},"f:type":{}}},` +
			`"f:publishedConfigMaps":{".":{},"v:\"orgrbac-permissions-7\"":{}},"f:revision":{}}}`,
		"manager":               `{"f:status":{"f:conditions":{".":{},"k:{\"type\":\"Ready\"}":{"f:status":{}}},"f:memberships":{}}}`,
		environmentFieldManager: `{"f:status":{"f:roles":{}}}`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("managedFields after the move:\n got %v\nwant %v", got, want)
	}
	// Nothing to take: nothing moves.
	if _, others, _ := environmentStatusWriter.takeOwnership(out[:2]); len(others) != 0 {
		t.Errorf("moved from %v", others)
	}
}
