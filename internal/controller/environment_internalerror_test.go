package controller

import (
	"context"
	"errors"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
)

// errCacheNotSynced stands for a failure of the cache; it carries a detail no
// condition may show.
var errCacheNotSynced = errors.New("memberships cache not synced (secret-detail)")

// failingMemberships is c, except that listing Memberships fails.
func failingMemberships(c client.WithWatch) client.WithWatch {
	return interceptor.NewClient(c, interceptor.Funcs{
		List: func(ctx context.Context, c client.WithWatch, list client.ObjectList, opts ...client.ListOption) error {
			if _, ok := list.(*orgrbacv1alpha1.MembershipList); ok {
				return errCacheNotSynced
			}
			return c.List(ctx, list, opts...)
		},
	})
}

// A failure to gather makes the environment controller's Ready Unknown with
// reason InternalError and the stable message, and returns the error for a
// retry; the publisher's part of the status stays as it was.
func TestEnvironmentGatherFailureIsAnInternalError(t *testing.T) {
	fp := newFakePublisher(t, videosObjects("videos")...)
	fp.pass(t, "videos")
	before := fp.environment(t, "videos")

	r := &EnvironmentReconciler{Client: failingMemberships(fp.c.(client.WithWatch)), Clock: fp.clk, throttle: newThrottle(fp.clk)}
	_, err := r.Reconcile(context.Background(), ctrl.Request{NamespacedName: types.NamespacedName{Namespace: "videos", Name: "env"}})
	if !errors.Is(err, errCacheNotSynced) {
		t.Fatalf("Reconcile returned %v, want the gather error", err)
	}
	env := fp.environment(t, "videos")
	ready := meta.FindStatusCondition(env.Status.Conditions, orgrbacv1alpha1.ConditionReady)
	if ready == nil || ready.Status != metav1.ConditionUnknown || ready.Reason != orgrbacv1alpha1.ReasonInternalError ||
		ready.Message != internalErrorMessage {
		t.Fatalf("Ready = %+v", ready)
	}
	if env.Status.Revision != before.Status.Revision || len(env.Status.PublishedConfigMaps) != 1 {
		t.Errorf("the publisher's fields moved: revision %d -> %d, %v", before.Status.Revision, env.Status.Revision, env.Status.PublishedConfigMaps)
	}
}

// A failure to gather makes the publisher's Published condition False with
// reason InternalError and the stable message (never the error's text), and
// returns the error for a retry; Ready is not the publisher's to set.
func TestPublishGatherFailureIsAnInternalError(t *testing.T) {
	fp := newFakePublisher(t, videosObjects("videos")...)
	fp.pass(t, "videos")
	fp.r.Client = failingMemberships(fp.c.(client.WithWatch))
	fp.clk.SetTime(fp.clk.Now().Add(publishRefresh))
	_, err := fp.r.Reconcile(context.Background(), publishRequest("videos"))
	if !errors.Is(err, errCacheNotSynced) {
		t.Fatalf("Reconcile returned %v, want the gather error", err)
	}
	env := fp.environment(t, "videos")
	published := meta.FindStatusCondition(env.Status.Conditions, orgrbacv1alpha1.ConditionPublished)
	if published == nil || published.Status != metav1.ConditionFalse || published.Reason != orgrbacv1alpha1.ReasonInternalError ||
		published.Message != internalErrorMessage {
		t.Fatalf("Published = %+v", published)
	}
	if ready := meta.FindStatusCondition(env.Status.Conditions, orgrbacv1alpha1.ConditionReady); ready != nil {
		t.Errorf("the publisher wrote Ready: %+v", ready)
	}
	if env.Status.Revision != 1 {
		t.Errorf("revision %d, want 1 (kept)", env.Status.Revision)
	}
}
