package controller

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/events"
	clocktesting "k8s.io/utils/clock/testing"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/index"
	"github.com/orgrbac/orgrbac/internal/model"
	"github.com/orgrbac/orgrbac/internal/publish"
)

// cmMeta is the cached metadata of a published ConfigMap.
func cmMeta(name, rev, hash string) *metav1.PartialObjectMetadata {
	return &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: name,
		Labels:      map[string]string{publish.LabelPublished: "true"},
		Annotations: map[string]string{publish.AnnotationRevision: rev, publish.AnnotationContentHash: hash}}}
}

// Security review H3(a): the revision is the publisher's. Annotations above
// MaxRevision are ignored, annotations count only until the publisher has
// published the namespace itself, and a revision with no room left restarts at 1
// instead of overflowing.
func TestRevisionIsThePublishers(t *testing.T) {
	maxInt := fmt.Sprint(int64(math.MaxInt64))
	env41 := &orgrbacv1alpha1.Environment{Status: orgrbacv1alpha1.EnvironmentStatus{Revision: 41}}
	for _, tc := range []struct {
		name      string
		highWater map[string]int64
		env       *orgrbacv1alpha1.Environment
		owned     []*metav1.PartialObjectMetadata
		want      int64
		reset     bool
	}{
		{name: "a rogue labelled shard at MaxInt64 (the review's overflow)", env: env41,
			owned: []*metav1.PartialObjectMetadata{cmMeta(publish.ConfigMapName, "5", "sha256:old"), cmMeta("orgrbac-permissions-200", maxInt, "")},
			want:  42},
		{name: "the main ConfigMap forged to MaxInt64 (the review's frozen publisher)", env: env41,
			owned: []*metav1.PartialObjectMetadata{cmMeta(publish.ConfigMapName, maxInt, "sha256:forged")}, want: 42},
		{name: "garbage and negative annotations", env: env41,
			owned: []*metav1.PartialObjectMetadata{cmMeta(publish.ConfigMapName, "-7", "x"), cmMeta("orgrbac-permissions-1", "12x", "x")}, want: 42},
		{name: "after a restart, the ConfigMaps ahead of the status",
			env: env41, owned: []*metav1.PartialObjectMetadata{cmMeta(publish.ConfigMapName, "50", "sha256:old")}, want: 51},
		{name: "the same content at the highest revision keeps it",
			env: env41, owned: []*metav1.PartialObjectMetadata{cmMeta(publish.ConfigMapName, "50", "sha256:new")}, want: 50},
		{name: "once published, annotations are not trusted", highWater: map[string]int64{"videos": 60}, env: env41,
			owned: []*metav1.PartialObjectMetadata{cmMeta(publish.ConfigMapName, fmt.Sprint(int64(publish.MaxRevision)), "sha256:forged")}, want: 61},
		{name: "a valid annotation at MaxRevision restarts at 1", env: env41,
			owned: []*metav1.PartialObjectMetadata{cmMeta(publish.ConfigMapName, fmt.Sprint(int64(publish.MaxRevision)), "sha256:forged")}, want: 1, reset: true},
		{name: "a status at MaxInt64 restarts at 1", env: &orgrbacv1alpha1.Environment{Status: orgrbacv1alpha1.EnvironmentStatus{Revision: math.MaxInt64}},
			want: 1, reset: true},
		{name: "nothing known", want: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &PublishReconciler{highWater: map[string]int64{}}
			for k, v := range tc.highWater {
				r.highWater[k] = v
			}
			owned := map[string]*metav1.PartialObjectMetadata{}
			for _, cm := range tc.owned {
				owned[cm.Name] = cm
			}
			rev, reset := r.revision("videos", "sha256:new", tc.env, owned)
			if rev != tc.want || (reset != "") != tc.reset {
				t.Fatalf("revision = %d, reset %q; want %d, reset %v", rev, reset, tc.want, tc.reset)
			}
			if _, err := publish.Encode(&publish.Snapshot{Revision: rev}, 0); err != nil {
				t.Fatalf("Encode at %d: %v", rev, err)
			}
		})
	}
}

// fakePublisher is a PublishReconciler on a fake client, with a fake clock.
type fakePublisher struct {
	r      *PublishReconciler
	c      client.Client
	clk    *clocktesting.FakePassiveClock
	envs   *model.Cache
	events *events.FakeRecorder
}

func newFakePublisher(t *testing.T, objs ...client.Object) *fakePublisher {
	t.Helper()
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(orgrbacv1alpha1.AddToScheme(s))
	c := fake.NewClientBuilder().WithScheme(s).WithObjects(objs...).
		WithStatusSubresource(&orgrbacv1alpha1.Environment{}).
		WithIndex(&orgrbacv1alpha1.OrganizationRole{}, index.OrganizationRoleByOrganization, func(o client.Object) []string {
			return index.OrganizationRoleOrganization(o.(*orgrbacv1alpha1.OrganizationRole))
		}).
		WithIndex(&orgrbacv1alpha1.GroupMapping{}, index.GroupMappingByOrganization, func(o client.Object) []string {
			return index.GroupMappingOrganization(o.(*orgrbacv1alpha1.GroupMapping))
		}).
		Build()
	clk := clocktesting.NewFakePassiveClock(time.Date(2026, 11, 30, 20, 0, 0, 0, time.UTC))
	fp := &fakePublisher{c: c, clk: clk, envs: model.NewCache(c), events: events.NewFakeRecorder(100)}
	fp.r = &PublishReconciler{Client: c, APIReader: c, configMaps: c, Clock: clk, Recorder: fp.events,
		Interval: time.Second, Refresh: publishRefresh, OnForget: []func(string){fp.envs.Forget},
		throttle:  &throttle{clock: clk, interval: time.Second, last: map[types.NamespacedName]time.Time{}},
		highWater: map[string]int64{}, verified: map[string]map[string]string{}}
	return fp
}

// pass runs one publication pass of ns, after the throttle's interval.
func (fp *fakePublisher) pass(t *testing.T, ns string) ctrl.Result {
	t.Helper()
	fp.clk.SetTime(fp.clk.Now().Add(2 * time.Second))
	res, err := fp.r.Reconcile(context.Background(), publishRequest(ns))
	if err != nil {
		t.Fatalf("Reconcile: %v", err)
	}
	return res
}

func (fp *fakePublisher) configMap(t *testing.T, ns, name string) *corev1.ConfigMap {
	t.Helper()
	cm := &corev1.ConfigMap{}
	if err := fp.c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, cm); err != nil {
		t.Fatalf("reading %s: %v", name, err)
	}
	return cm
}

func (fp *fakePublisher) environment(t *testing.T, ns string) *orgrbacv1alpha1.Environment {
	t.Helper()
	env := &orgrbacv1alpha1.Environment{}
	if err := fp.c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "env"}, env); err != nil {
		t.Fatal(err)
	}
	return env
}

func videosObjects(ns string) []client.Object {
	ready := []metav1.Condition{{Type: orgrbacv1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: "Resolved",
		LastTransitionTime: metav1.Now()}}
	m := &orgrbacv1alpha1.Membership{ObjectMeta: metav1.ObjectMeta{Name: "acme-alice", Namespace: ns},
		Spec:   orgrbacv1alpha1.MembershipSpec{Organization: "acme", User: "user_alice"},
		Status: orgrbacv1alpha1.MembershipStatus{Roles: []string{"member"}, Conditions: ready}}
	return []client.Object{
		&orgrbacv1alpha1.Environment{ObjectMeta: metav1.ObjectMeta{Name: "env", Namespace: ns, UID: "env-uid"}},
		&orgrbacv1alpha1.Role{ObjectMeta: metav1.ObjectMeta{Name: "member", Namespace: ns},
			Spec: orgrbacv1alpha1.RoleSpec{Permissions: []string{"videos:view"}}},
		&orgrbacv1alpha1.Organization{ObjectMeta: metav1.ObjectMeta{Name: "acme", Namespace: ns}},
		m,
	}
}

// Security review M8: the snapshot carries publishedAt, refreshed every Refresh
// at the same revision while nothing changes, never in between; the
// Environment's Published condition and the age metric follow.
func TestPublicationIsConfirmedEveryRefresh(t *testing.T) {
	fp := newFakePublisher(t, videosObjects("videos")...)
	res := fp.pass(t, "videos")
	main := fp.configMap(t, "videos", publish.ConfigMapName)
	_, info, err := publish.DecodeInfo(map[string][]byte{publish.KeySnapshot: []byte(main.Data[publish.KeySnapshot])})
	if err != nil {
		t.Fatal(err)
	}
	if !info.PublishedAt.Equal(fp.clk.Now().Truncate(time.Second)) || main.Annotations[publish.AnnotationPublishedAt] != publish.FormatTime(fp.clk.Now()) {
		t.Errorf("publishedAt %v, annotation %q, now %v", info.PublishedAt, main.Annotations[publish.AnnotationPublishedAt], fp.clk.Now())
	}
	if res.RequeueAfter < publishRefresh-5*time.Second || res.RequeueAfter > publishRefresh {
		t.Errorf("RequeueAfter = %v, want about %v", res.RequeueAfter, publishRefresh)
	}
	env := fp.environment(t, "videos")
	cond := meta.FindStatusCondition(env.Status.Conditions, orgrbacv1alpha1.ConditionPublished)
	if cond == nil || cond.Status != metav1.ConditionTrue || cond.Reason != orgrbacv1alpha1.ReasonPublished ||
		cond.Message != "revision 1 in 1 ConfigMap(s)" || env.Status.Revision != 1 {
		t.Fatalf("Published condition %+v, revision %d", cond, env.Status.Revision)
	}
	publicationTimes.mu.Lock()
	at, ok := publicationTimes.at["videos"]
	publicationTimes.mu.Unlock()
	if !ok || !at.Equal(info.PublishedAt) {
		t.Errorf("the age metric's time: %v, %v", at, ok)
	}

	// Passes within Refresh write nothing.
	rv := main.ResourceVersion
	for range 5 {
		fp.pass(t, "videos")
	}
	if got := fp.configMap(t, "videos", publish.ConfigMapName).ResourceVersion; got != rv {
		t.Fatalf("a pass within Refresh wrote the ConfigMap (%s -> %s)", rv, got)
	}
	// After Refresh, the same revision is confirmed again.
	fp.clk.SetTime(fp.clk.Now().Add(publishRefresh))
	fp.pass(t, "videos")
	main = fp.configMap(t, "videos", publish.ConfigMapName)
	_, info2, err := publish.DecodeInfo(map[string][]byte{publish.KeySnapshot: []byte(main.Data[publish.KeySnapshot])})
	if err != nil || !info2.PublishedAt.After(info.PublishedAt) || main.Annotations[publish.AnnotationRevision] != "1" {
		t.Errorf("after Refresh: publishedAt %v (was %v), revision %s, %v", info2.PublishedAt, info.PublishedAt,
			main.Annotations[publish.AnnotationRevision], err)
	}
	if env := fp.environment(t, "videos"); env.Status.Revision != 1 {
		t.Errorf("revision %d after a refresh", env.Status.Revision)
	}
}

// Security review M8: a snapshot that cannot be published is a Published=False
// condition (reason TooLarge) and a Warning event, not a silent terminal error.
func TestTooLargeIsAPublishedCondition(t *testing.T) {
	fp := newFakePublisher(t, videosObjects("videos")...)
	fp.r.MaxBytes = 64 // not even one role fits
	if res := fp.pass(t, "videos"); res.RequeueAfter != publishRefresh {
		t.Errorf("RequeueAfter = %v, want %v (the condition is asserted again)", res.RequeueAfter, publishRefresh)
	}
	cond := meta.FindStatusCondition(fp.environment(t, "videos").Status.Conditions, orgrbacv1alpha1.ConditionPublished)
	if cond == nil || cond.Status != metav1.ConditionFalse || cond.Reason != orgrbacv1alpha1.ReasonTooLarge ||
		!strings.Contains(cond.Message, "too large") {
		t.Fatalf("Published condition %+v", cond)
	}
	select {
	case e := <-fp.events.Events:
		if !strings.Contains(e, orgrbacv1alpha1.ReasonTooLarge) {
			t.Errorf("event %q", e)
		}
	default:
		t.Error("no Warning event")
	}
}

// Security review L7: when a namespace's last orgrbac object goes, the
// publisher's high-water mark, checked resourceVersions, throttle, age metric
// and the Membership controller's compiled environment go with it.
func TestNamespaceStateIsFreed(t *testing.T) {
	objs := append(videosObjects("a"), videosObjects("b")...)
	fp := newFakePublisher(t, objs...)
	for _, ns := range []string{"a", "b"} {
		fp.pass(t, ns)
		if _, err := fp.envs.Env(context.Background(), ns); err != nil {
			t.Fatal(err)
		}
	}
	if n := fp.r.namespaces(); n != 2 || fp.envs.Len() != 2 {
		t.Fatalf("state for %d namespaces, envCache %d; want 2, 2", n, fp.envs.Len())
	}
	for _, o := range objs {
		if o.GetNamespace() == "a" {
			if err := fp.c.Delete(context.Background(), o); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Deleting the Environment deletes its ConfigMaps (garbage collection is
	// not faked): the pass finds none or deletes them.
	fp.pass(t, "a")
	if n := fp.r.namespaces(); n != 1 || fp.envs.Len() != 1 {
		t.Errorf("after namespace a emptied: state for %d namespaces, envCache %d; want 1, 1", n, fp.envs.Len())
	}
	publicationTimes.mu.Lock()
	_, kept := publicationTimes.at["a"]
	_, other := publicationTimes.at["b"]
	publicationTimes.mu.Unlock()
	if kept || !other {
		t.Errorf("age metric: namespace a kept %v, b kept %v", kept, other)
	}
	// Invalidations after the fact create no entry.
	fp.envs.Invalidate("a")
	if fp.envs.Len() != 1 {
		t.Errorf("invalidate created an entry")
	}
	var list corev1.ConfigMapList
	if err := fp.c.List(context.Background(), &list, client.InNamespace("a")); err != nil || len(list.Items) != 0 {
		t.Errorf("ConfigMaps left in a: %d, %v", len(list.Items), err)
	}
}
