package controller

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
)

// Helpers of the status builders' table tests.

// A status was last written at tBefore; the builder runs at tNow.
var (
	tBefore = metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	tNow    = metav1.NewTime(tBefore.Add(time.Hour))
)

// objMeta is the metadata of an object created minutes after tBefore (older
// objects win among duplicates, rule R8).
func objMeta(name string, minutes int) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: "videos", CreationTimestamp: metav1.NewTime(tBefore.Add(time.Duration(minutes) * time.Minute))}
}

// goneMeta is objMeta of an object being deleted.
func goneMeta(name string, minutes int) metav1.ObjectMeta {
	m := objMeta(name, minutes)
	m.DeletionTimestamp = &tNow
	m.Finalizers = []string{"example.com/keep"}
	return m
}

// cond is a condition of type typ observed at generation gen, last changed at.
func cond(typ string, status metav1.ConditionStatus, reason, message string, gen int64, at metav1.Time) metav1.Condition {
	return metav1.Condition{Type: typ, Status: status, Reason: reason, Message: message, ObservedGeneration: gen, LastTransitionTime: at}
}

// readyAt is Ready=True, reason Resolved.
func readyAt(gen int64, at metav1.Time) metav1.Condition {
	return cond(orgrbacv1alpha1.ConditionReady, metav1.ConditionTrue, orgrbacv1alpha1.ReasonResolved, "", gen, at)
}

// notReadyAt is Ready=False with reason and message.
func notReadyAt(reason, message string, gen int64, at metav1.Time) metav1.Condition {
	return cond(orgrbacv1alpha1.ConditionReady, metav1.ConditionFalse, reason, message, gen, at)
}

// refsAt is ReferencesResolved=True, reason AllFound.
func refsAt(gen int64, at metav1.Time) metav1.Condition {
	return cond(orgrbacv1alpha1.ConditionReferencesResolved, metav1.ConditionTrue, orgrbacv1alpha1.ReasonAllFound, "", gen, at)
}

// refsMissingAt is ReferencesResolved=False with reason and message.
func refsMissingAt(reason, message string, gen int64, at metav1.Time) metav1.Condition {
	return cond(orgrbacv1alpha1.ConditionReferencesResolved, metav1.ConditionFalse, reason, message, gen, at)
}

// internalErrorAt is the condition internalError writes.
func internalErrorAt(gen int64, at metav1.Time) metav1.Condition {
	c := internalErrorCondition(gen)
	c.LastTransitionTime = at
	return c
}

// foreignCondition is a condition another writer set; builders keep it.
var foreignCondition = cond("ExampleOwnedElsewhere", metav1.ConditionTrue, "Fine", "", 1, tBefore)

// declaring is a Permission named name declaring slug ("" for its name).
func declaring(meta metav1.ObjectMeta, slug string) orgrbacv1alpha1.Permission {
	return orgrbacv1alpha1.Permission{ObjectMeta: meta, Spec: orgrbacv1alpha1.PermissionSpec{Slug: slug}}
}

// checkBuilt checks a builder's status against want, and that it holds
// still: built again later from the same inputs, with got as the old status,
// it returns a status DeepEqual to got (nothing churns, no transition time
// moves), and every condition message is within the CRD's bound.
func checkBuilt[S any](t *testing.T, got, want S, conds func(S) []metav1.Condition, again func(old S, now metav1.Time) S) {
	t.Helper()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("status (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(got, again(got, metav1.NewTime(tNow.Add(time.Hour)))); diff != "" {
		t.Errorf("built again from the same inputs, the status changed (-first +again):\n%s", diff)
	}
	for _, c := range conds(got) {
		if len(c.Message) > orgrbacv1alpha1.MaxConditionMessage {
			t.Errorf("%s: a message of %d bytes", c.Type, len(c.Message))
		}
	}
}
