package controller

import (
	"context"
	"slices"
	"strconv"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/resolve"
)

// condition builds a condition observed at generation gen.
func condition(typ string, ok bool, reason, message string, gen int64) metav1.Condition {
	status := metav1.ConditionFalse
	if ok {
		status = metav1.ConditionTrue
	}
	return metav1.Condition{Type: typ, Status: status, Reason: reason, Message: message, ObservedGeneration: gen}
}

// readyCondition is the Ready condition: True with reason Resolved, or False with
// the given reason and message.
func readyCondition(reason, message string, gen int64) metav1.Condition {
	if reason == "" {
		return condition(orgrbacv1alpha1.ConditionReady, true, orgrbacv1alpha1.ReasonResolved, "", gen)
	}
	return condition(orgrbacv1alpha1.ConditionReady, false, reason, message, gen)
}

// referencesCondition is the ReferencesResolved condition: True with reason AllFound
// when reason is empty.
func referencesCondition(reason, message string, gen int64) metav1.Condition {
	if reason == "" {
		return condition(orgrbacv1alpha1.ConditionReferencesResolved, true, orgrbacv1alpha1.ReasonAllFound, "", gen)
	}
	return condition(orgrbacv1alpha1.ConditionReferencesResolved, false, reason, message, gen)
}

// oldest returns the name of the winner among duplicates (resolve.Oldest, rule
// R8), objects being deleted left out; "" when none.
func oldest[T any](items []T, obj func(*T) metav1.Object) string {
	i := resolve.Oldest(items, func(t *T) (resolve.Meta, bool) {
		o := obj(t)
		return metaOf(o), !deleting(o)
	})
	if i < 0 {
		return ""
	}
	return obj(&items[i]).GetName()
}

// mergeConditions returns a copy of existing with each of want set, its message
// bounded by boundMessage. A condition whose status does not change keeps its
// lastTransitionTime; one that changes gets now. Nothing else in existing
// changes, so an unchanged world writes nothing, except that conditions not in
// want are dropped, last first, while there are more than MaxConditions (a
// status holding more could never be written).
//
// Every condition the controllers write passes here: this is the one place that
// makes them fit the CRDs.
func mergeConditions(existing []metav1.Condition, now metav1.Time, want ...metav1.Condition) []metav1.Condition {
	out := make([]metav1.Condition, len(existing), len(existing)+len(want))
	copy(out, existing)
	for _, c := range want {
		c.LastTransitionTime = now
		c.Message = boundMessage(c.Message)
		meta.SetStatusCondition(&out, c)
	}
	for i := len(out) - 1; i >= 0 && len(out) > orgrbacv1alpha1.MaxConditions; i-- {
		if !slices.ContainsFunc(want, func(c metav1.Condition) bool { return c.Type == out[i].Type }) {
			out = slices.Delete(out, i, i+1)
		}
	}
	return out
}

// boundMessage returns message when it has at most MaxConditionMessage bytes;
// otherwise its longest prefix ending at a character boundary that leaves room
// for a note of how many bytes were left out, and that note.
func boundMessage(message string) string {
	if len(message) <= orgrbacv1alpha1.MaxConditionMessage {
		return message
	}
	// The note's number has at most as many digits as len(message).
	room := orgrbacv1alpha1.MaxConditionMessage - len(omittedNote(len(message)))
	cut := room
	for cut > 0 && !utf8.RuneStart(message[cut]) {
		cut--
	}
	return message[:cut] + omittedNote(len(message)-cut)
}

// omittedNote ends a message cut by boundMessage.
func omittedNote(n int) string {
	return "... (" + strconv.Itoa(n) + " more bytes)"
}

// changedCondition returns the condition of type typ in after when it is False and
// differs in reason or message from before: a problem worth one Warning event.
func changedCondition(before, after []metav1.Condition, typ string) *metav1.Condition {
	a := meta.FindStatusCondition(after, typ)
	if a == nil || a.Status != metav1.ConditionFalse {
		return nil
	}
	b := meta.FindStatusCondition(before, typ)
	if b != nil && b.Status == a.Status && b.Reason == a.Reason && b.Message == a.Message {
		return nil
	}
	return a
}

// patchStatus writes obj's status with a merge patch from orig when oldStatus and
// newStatus differ semantically, and reports whether it wrote.
func patchStatus(ctx context.Context, c client.Client, obj, orig client.Object, oldStatus, newStatus any) (bool, error) {
	if equality.Semantic.DeepEqual(oldStatus, newStatus) {
		return false, nil
	}
	return true, c.Status().Patch(ctx, obj, client.MergeFrom(orig))
}
