package store

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/go-logr/logr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/api/store/storetest"
)

func TestRequeueKeepsNewerChanges(t *testing.T) {
	clk := clocktesting.NewFakeClock(storetest.T0)
	x := New(nil, clk, logr.Discard())
	older, newer := storetest.Member("a", "acme", "u", 1, "", true, nil), storetest.Member("a", "acme", "u", 1, "", false, nil)
	b := storetest.Member("b", "acme", "v", 1, "", true, nil)
	failed := &pending{since: storetest.T0, structure: true, members: map[string]*orgrbacv1alpha1.Membership{"a": &older, "b": &b}}
	clk.Step(time.Second)
	x.memberChanged("videos", "a", &newer)
	x.requeue("videos", failed)
	p := x.dirty["videos"]
	if !p.structure || !p.since.Equal(storetest.T0) || p.members["a"] != &newer || p.members["b"] != &b {
		t.Errorf("requeued changes %+v: want the structure flag, the older time, a's newer state and b", p)
	}
}

func TestMemberOnlyBatchesNeedNoCache(t *testing.T) {
	// A batch of Membership changes is applied from the objects the events
	// carried: the cache (nil here) is only read when roles or organizations change.
	x := New(nil, clocktesting.NewFakeClock(storetest.T0), logr.Discard())
	in := storetest.Sample()
	for i := range in.Memberships {
		x.memberChanged("videos", in.Memberships[i].Name, &in.Memberships[i])
	}
	if err := x.flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	// No Organization was seen: look the members up by organization name, with
	// the role definition the decision also requires.
	acme := &Organization{name: "acme", roleBySlug: map[string]*Role{"admin": {slug: "admin", permissions: []string{"videos:delete"}}}}
	alice := func() Decision {
		return Decide(acme, x.Get("videos").c.Member(acme, "u_alice"), []string{"videos:delete"})
	}
	if d := alice(); !d.Allowed {
		t.Errorf("alice was denied: %+v", d)
	}
	x.memberChanged("videos", "alice", nil)
	if err := x.flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if d := alice(); d.Allowed || d.Reason != ReasonMembershipNotReady {
		t.Errorf("after alice's Ready membership was deleted, her not-Ready duplicate answered %+v", d)
	}
	if n := x.count(); n != 1 {
		t.Errorf("count = %d, want 1", n)
	}
}

// listCache is a cache.Cache whose List reads a client; the index uses nothing else.
type listCache struct {
	cache.Cache
	c client.Client
}

func (l listCache) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	return l.c.List(ctx, list, opts...)
}

// The security review's L7 (the decision API's part): the state the index
// keeps for a namespace is freed once the namespace's environment is gone,
// and kept (with its revision) while any of its objects remains.
func TestIndexForgetsNamespacesWhoseEnvironmentIsGone(t *testing.T) {
	ctx := context.Background()
	sch := runtime.NewScheme()
	if err := orgrbacv1alpha1.AddToScheme(sch); err != nil {
		t.Fatal(err)
	}
	in := storetest.Sample()
	in.Environments[0].Status.Revision = 7
	var objs []client.Object
	for i := range in.Environments {
		objs = append(objs, &in.Environments[i])
	}
	for i := range in.Roles {
		objs = append(objs, &in.Roles[i])
	}
	for i := range in.Organizations {
		objs = append(objs, &in.Organizations[i])
	}
	for i := range in.OrganizationRoles {
		objs = append(objs, &in.OrganizationRoles[i])
	}
	c := fake.NewClientBuilder().WithScheme(sch).WithObjects(objs...).Build()
	x := New(listCache{c: c}, clocktesting.NewFakeClock(storetest.T0), logr.Discard())
	x.structureChanged("videos")
	x.revisionChanged("videos")
	for i := range in.Memberships {
		x.memberChanged("videos", in.Memberships[i].Name, &in.Memberships[i])
	}
	// A namespace that only ever saw the deletion of a membership holds nothing.
	x.memberChanged("churned", "gone", nil)
	if err := x.flush(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := x.envs["churned"]; ok {
		t.Error("a namespace without objects was kept")
	}
	if got := x.Get("videos").Revision(); got != 7 || x.count() != 1 {
		t.Fatalf("revision %d, %d environments; want 7 and 1", got, x.count())
	}

	// Every membership goes: the roles and organizations remain, and so does
	// the namespace's state.
	for i := range in.Memberships {
		x.memberChanged("videos", in.Memberships[i].Name, nil)
	}
	if err := x.flush(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := x.envs["videos"]; !ok || x.Get("videos").Revision() != 7 {
		t.Fatal("the namespace's state was dropped while its environment remained")
	}

	// The environment goes (the namespace is deleted): its state is freed.
	for _, o := range objs {
		if err := c.Delete(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	x.structureChanged("videos")
	if err := x.flush(ctx); err != nil {
		t.Fatal(err)
	}
	if len(x.envs) != 0 {
		t.Errorf("the index still holds %d namespaces after their environments went", len(x.envs))
	}
	if e := x.Get("videos"); e.Revision() != 0 || !e.empty() {
		t.Error("a forgotten namespace does not answer as an unknown one")
	}
}

// BenchmarkIndexApplyStatusChange100k applies one Membership status change
// (a permission added or removed, and a new Ready transition time), as the
// index's writer does after an informer event.
func BenchmarkIndexApplyStatusChange100k(b *testing.B) {
	in := storetest.ScaleObjects(storetest.Scale100k)
	x := New(nil, clocktesting.NewFakeClock(storetest.T0), logr.Discard())
	x.envs["videos"] = buildEnv(in)
	before := &in.Memberships[500]
	after := before.DeepCopy()
	after.Status.Permissions = append(slices.Clone(after.Status.Permissions), "zz:extra")
	after.Status.Conditions[0].LastTransitionTime = metav1.NewTime(storetest.T0.Add(time.Hour))
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		old, m := before, after
		if i%2 == 1 {
			old, m = after, before
		}
		i++
		if !memberDiffers(old, m) {
			b.Fatal("no change")
		}
		x.memberChanged("videos", m.Name, m)
		if err := x.flush(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// The writer tells subscribers which namespaces a batch changed, once the
// change is readable, and only when it changed something.
func TestSubscribersSeeChangedNamespaces(t *testing.T) {
	x := New(nil, clocktesting.NewFakeClock(storetest.T0), logr.Discard())
	var got []string
	x.Subscribe(func(ns string) {
		got = append(got, ns)
		if ns == "videos" && len(x.Get(ns).c.Memberships()) == 0 && len(got) == 1 {
			t.Error("notified before the change was readable")
		}
	})
	in := storetest.Sample()
	for i := range in.Memberships {
		x.memberChanged("videos", in.Memberships[i].Name, &in.Memberships[i])
	}
	if err := x.flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []string{"videos"}) || !slices.Equal(x.Namespaces(), []string{"videos"}) {
		t.Fatalf("notified %v, namespaces %v; want [videos] both", got, x.Namespaces())
	}
	// The same states again change nothing: no notification.
	for i := range in.Memberships {
		x.memberChanged("videos", in.Memberships[i].Name, &in.Memberships[i])
	}
	if err := x.flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Errorf("an unchanged batch notified: %v", got)
	}
	// Emptying the namespace notifies, and forgets it.
	for i := range in.Memberships {
		x.memberChanged("videos", in.Memberships[i].Name, nil)
	}
	if err := x.flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || len(x.Namespaces()) != 0 {
		t.Errorf("after emptying: notified %v, namespaces %v", got, x.Namespaces())
	}
}
