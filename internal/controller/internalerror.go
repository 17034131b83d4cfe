package controller

import (
	"context"
	"errors"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
)

// internalErrorMessage is the message of every InternalError condition. It is
// the same for every failure, so that a failure that repeats writes nothing
// more, and it holds nothing of the error, which can carry what a reader of
// the object should not see; the error itself is in the manager's log.
const internalErrorMessage = "The operator could not compute this status; it retries with backoff, and its log says why"

// internalErrorCondition is Ready=Unknown with reason InternalError, observed
// at generation gen: the status could not be computed, so nothing it says is
// known to be current.
func internalErrorCondition(gen int64) metav1.Condition {
	return metav1.Condition{Type: orgrbacv1alpha1.ConditionReady, Status: metav1.ConditionUnknown,
		Reason: orgrbacv1alpha1.ReasonInternalError, Message: internalErrorMessage, ObservedGeneration: gen}
}

// A conditioned object is any orgrbac kind: its status has conditions.
type conditioned interface {
	client.Object
	GetConditions() []metav1.Condition
	SetConditions([]metav1.Condition)
}

// internalError makes a failure to compute obj's status visible on obj: Ready
// becomes Unknown with reason InternalError (written only when it is not so
// already; the other conditions and status fields keep their values). It
// returns err, joined with the status write's error if that failed too, for
// the reconciler to return: controller-runtime logs it and retries with
// backoff, and the next successful reconcile replaces the condition.
func internalError(ctx context.Context, c client.Client, clk clock.PassiveClock, obj conditioned, err error) error {
	orig, ok := obj.DeepCopyObject().(conditioned)
	if !ok {
		return err
	}
	conds := mergeConditions(orig.GetConditions(), metav1.NewTime(clk.Now()), internalErrorCondition(obj.GetGeneration()))
	obj.SetConditions(conds)
	if _, werr := patchStatus(ctx, c, obj, orig, orig.GetConditions(), conds); werr != nil && client.IgnoreNotFound(werr) != nil {
		return errors.Join(err, fmt.Errorf("recording the internal error in status: %w", werr))
	}
	return err
}
