package index

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
)

// BenchmarkMembershipIndexes measures the heap the Membership indexes take per
// membership in a client-go indexer of 10,000 memberships: with
// controller-runtime's IndexField (every value under its namespace and again
// for lookups across namespaces) and with the namespaced keys alone
// (membershipIndexers). The indexer's own store (object keys) is measured
// without indexes and subtracted; the objects are allocated beforehand.
func BenchmarkMembershipIndexes(b *testing.B) {
	const n = 10_000
	members := benchMemberships(n)
	variants := []struct {
		name     string
		indexers toolscache.Indexers
	}{
		{"store", toolscache.Indexers{}},
		{"doubled", controllerRuntimeIndexers(b)},
		{"namespaced", membershipIndexers()},
	}
	perMember := map[string]float64{}
	for b.Loop() {
		for _, v := range variants {
			perMember[v.name] = heapPerObject(members, v.indexers)
		}
	}
	doubled := perMember["doubled"] - perMember["store"]
	namespaced := perMember["namespaced"] - perMember["store"]
	b.ReportMetric(doubled, "doubled-B/membership")
	b.ReportMetric(namespaced, "namespaced-B/membership")
	b.ReportMetric(namespaced/doubled, "new/old")
}

// heapPerObject is the live heap, in bytes per object, of a client-go indexer
// with indexers holding objs.
func heapPerObject(objs []*orgrbacv1alpha1.Membership, indexers toolscache.Indexers) float64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	store := toolscache.NewIndexer(toolscache.MetaNamespaceKeyFunc, indexers)
	for _, o := range objs {
		if err := store.Add(o); err != nil {
			panic(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(store)
	return float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(len(objs))
}

// controllerRuntimeIndexers are the informer indexers controller-runtime's
// IndexField registers for MembershipValues: its own index functions, taken
// from a cache that is never started.
func controllerRuntimeIndexers(tb testing.TB) toolscache.Indexers {
	c := newMemoryCache(tb)
	for field, extract := range MembershipValues {
		if err := c.IndexField(tb.Context(), &orgrbacv1alpha1.Membership{}, field, typed(extract)); err != nil {
			tb.Fatal(err)
		}
	}
	all := membershipInformer(tb, c).GetIndexer().GetIndexers()
	out := toolscache.Indexers{}
	for field := range MembershipValues {
		out[fieldIndexName(field)] = all[fieldIndexName(field)]
	}
	return out
}

// benchMemberships are n memberships of one namespace shaped like test/bench's:
// 100 per organization; directory groups, SSO groups, hand-assigned roles or
// none, in about its proportions; one resolved role.
func benchMemberships(n int) []*orgrbacv1alpha1.Membership {
	rng := rand.New(rand.NewPCG(1, 2))
	role := func() string { return fmt.Sprintf("role-%03d", 2+rng.IntN(198)) }
	out := make([]*orgrbacv1alpha1.Membership, n)
	for i := range out {
		m := &orgrbacv1alpha1.Membership{
			ObjectMeta: metav1.ObjectMeta{Namespace: "env-bench", Name: fmt.Sprintf("m-%06d", i)},
			Spec: orgrbacv1alpha1.MembershipSpec{
				Organization: fmt.Sprintf("org-%05d", i/100), User: fmt.Sprintf("user_%06d", i),
			},
		}
		s, st := &m.Spec, &m.Status
		switch p := rng.Float64(); {
		case p < 0.40:
			s.DirectoryGroups = []string{"dir-all", []string{"dir-eng", "dir-ops"}[rng.IntN(2)]}
			if rng.IntN(10) < 3 {
				s.SSOGroups = []string{"sso-all", "sso-sales"}
			}
			st.Source, st.Roles = orgrbacv1alpha1.SourceDirectory, []string{role()}
		case p < 0.65:
			s.SSOGroups = []string{"sso-all", "sso-sales"}
			st.Source, st.Roles = orgrbacv1alpha1.SourceSSO, []string{role()}
		case p < 0.85:
			s.Roles = []string{role()}
			st.Source, st.Roles = orgrbacv1alpha1.SourceManual, s.Roles
		default:
			st.Source, st.Roles = orgrbacv1alpha1.SourceDefault, []string{"member"}
		}
		out[i] = m
	}
	return out
}
