package index

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
)

// member is a Membership of namespace ns with the values of every index.
func member(ns, name, org, user string, roles, statusRoles, dir, sso []string, src orgrbacv1alpha1.RoleSource) *orgrbacv1alpha1.Membership {
	return &orgrbacv1alpha1.Membership{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: orgrbacv1alpha1.MembershipSpec{Organization: org, User: user, Roles: roles,
			DirectoryGroups: dir, SSOGroups: sso},
		Status: orgrbacv1alpha1.MembershipStatus{Roles: statusRoles, Source: src},
	}
}

func TestNamespacedIndexFunc(t *testing.T) {
	full := member("team-a", "m1", "acme", "u1", []string{"editor", "admin"}, []string{"viewer", "admin"},
		[]string{"g1"}, []string{"g1", "g2"}, orgrbacv1alpha1.SourceDirectory)
	bare := member("team-b", "m2", "acme", "u2", nil, nil, nil, nil, "")
	sso := orgrbacv1alpha1.GroupSourceSSO
	dir := orgrbacv1alpha1.GroupSourceDirectory

	tests := map[string]struct {
		field string
		obj   any
		want  []string
	}{
		"organization":     {MembershipByOrganization, full, []string{"team-a/acme"}},
		"org and user":     {MembershipByOrgUser, full, []string{"team-a/" + OrgUserKey("acme", "u1")}},
		"role refs":        {MembershipByRoleRef, full, []string{"team-a/admin", "team-a/editor", "team-a/viewer"}},
		"role refs: none":  {MembershipByRoleRef, bare, nil},
		"groups":           {MembershipByGroup, full, []string{"team-a/" + GroupKey("acme", dir, "g1"), "team-a/" + GroupKey("acme", sso, "g1"), "team-a/" + GroupKey("acme", sso, "g2")}},
		"groups: none":     {MembershipByGroup, bare, nil},
		"resolution":       {MembershipByResolution, full, []string{"team-a/Directory"}},
		"resolution: none": {MembershipByResolution, bare, []string{"team-b/" + NotResolved}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := namespacedIndexFunc(MembershipValues[tc.field])(tc.obj)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestNamespacedIndexFuncErrors(t *testing.T) {
	tests := map[string]any{
		"no namespace":      member("", "m1", "acme", "u1", nil, nil, nil, nil, ""),
		"another kind":      &orgrbacv1alpha1.Organization{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "acme"}},
		"a nil membership":  (*orgrbacv1alpha1.Membership)(nil),
		"a deleted tomb":    toolscache.DeletedFinalStateUnknown{Key: "team-a/m1", Obj: member("team-a", "m1", "acme", "u1", nil, nil, nil, nil, "")},
		"nothing":           nil,
		"a membership copy": *member("team-a", "m1", "acme", "u1", nil, nil, nil, nil, ""),
	}
	for name, obj := range tests {
		t.Run(name, func(t *testing.T) {
			if got, err := namespacedIndexFunc(MembershipOrganization)(obj); err == nil {
				t.Errorf("got %q and no error", got)
			}
		})
	}
}

func TestMembershipIndexersAreMembershipValues(t *testing.T) {
	ix := membershipIndexers()
	var want []string
	for field := range MembershipValues {
		want = append(want, "field:"+field)
	}
	if got := slices.Sorted(maps.Keys(ix)); !slices.Equal(got, slices.Sorted(slices.Values(want))) {
		t.Errorf("indexers %q, want %q", got, want)
	}
}

// TestFormatsMatchControllerRuntime checks fieldIndexPrefix and
// namespaceSeparator against controller-runtime itself: the index that its
// IndexField registers has the name fieldIndexName gives, and keeps a
// namespaced object's value at the key namespacedKey gives. (That its cache
// reader looks these keys up is TestSetupOnACache's, and the envtest test's.)
func TestFormatsMatchControllerRuntime(t *testing.T) {
	c := newMemoryCache(t)
	const field, value = "probe", "a/b:c"
	if err := c.IndexField(t.Context(), &orgrbacv1alpha1.Membership{}, field,
		func(client.Object) []string { return []string{value} }); err != nil {
		t.Fatal(err)
	}
	indexers := membershipInformer(t, c).GetIndexer().GetIndexers()
	fn, ok := indexers[fieldIndexName(field)]
	if !ok {
		t.Fatalf("controller-runtime's IndexField(%q) registered the indexes %q, not %q: fieldIndexPrefix no longer mirrors it",
			field, slices.Sorted(maps.Keys(indexers)), fieldIndexName(field))
	}
	keys, err := fn(member("team-a", "m1", "acme", "u1", nil, nil, nil, nil, ""))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(keys, namespacedKey("team-a", value)) {
		t.Errorf("controller-runtime keeps %q of namespace team-a at %q, none of them %q: namespaceSeparator no longer mirrors it",
			value, keys, namespacedKey("team-a", value))
	}
}

// TestSetupOnACache runs Setup on a controller-runtime cache (fed from memory)
// and lists by every Membership index through its reader, in each namespace.
func TestSetupOnACache(t *testing.T) {
	members := []*orgrbacv1alpha1.Membership{
		member("team-a", "m1", "acme", "u1", []string{"admin"}, []string{"admin"}, []string{"eng"}, nil, orgrbacv1alpha1.SourceManual),
		member("team-a", "m2", "acme", "u2", nil, []string{"viewer"}, []string{"eng", "ops"}, []string{"all"}, orgrbacv1alpha1.SourceDirectory),
		member("team-a", "m3", "globex", "u1", nil, nil, nil, nil, ""),
		// The same values in another namespace.
		member("team-b", "m1", "acme", "u1", []string{"admin"}, []string{"admin"}, []string{"eng"}, nil, orgrbacv1alpha1.SourceManual),
		member("team-b", "m4", "acme", "u4", []string{"viewer"}, []string{"viewer"}, nil, []string{"all"}, orgrbacv1alpha1.SourceManual),
	}
	c := newMemoryCache(t, members...)
	if err := Setup(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	startCache(t, c)

	for _, field := range slices.Sorted(maps.Keys(MembershipValues)) {
		extract := MembershipValues[field]
		values := map[string]bool{"absent": true}
		for _, m := range members {
			for _, v := range extract(m) {
				values[v] = true
			}
		}
		for _, ns := range []string{"team-a", "team-b", "team-c"} {
			for value := range values {
				var want []string
				for _, m := range members {
					if m.Namespace == ns && slices.Contains(extract(m), value) {
						want = append(want, m.Name)
					}
				}
				got := listNames(t, c, ns, field, value)
				if !slices.Equal(got, want) {
					t.Errorf("%s=%q in %s: got %q, want %q", field, value, ns, got, want)
				}
			}
		}
		// One key per value: none for lookups across namespaces.
		keys := membershipInformer(t, c).GetIndexer().ListIndexFuncValues(fieldIndexName(field))
		var want []string
		for _, m := range members {
			for _, v := range extract(m) {
				want = append(want, namespacedKey(m.Namespace, v))
			}
		}
		slices.Sort(keys)
		slices.Sort(want)
		if want = slices.Compact(want); !slices.Equal(keys, want) {
			t.Errorf("index %s keeps the keys %q, want %q", field, keys, want)
		}
	}
}

// recordingIndexer is a client.FieldIndexer that is not a cache: it records
// the fields registered.
type recordingIndexer struct{ fields []string }

func (r *recordingIndexer) IndexField(_ context.Context, obj client.Object, field string, fn client.IndexerFunc) error {
	r.fields = append(r.fields, fmt.Sprintf("%T %s", obj, field))
	if strings.HasPrefix(field, "membership.") {
		if got, want := fn(member("team-a", "m1", "acme", "u1", nil, nil, nil, nil, "")), MembershipValues[field](member("team-a", "m1", "acme", "u1", nil, nil, nil, nil, "")); !slices.Equal(got, want) {
			return fmt.Errorf("%s extracts %q, want %q", field, got, want)
		}
	}
	return nil
}

func TestSetupFallsBackToIndexField(t *testing.T) {
	var r recordingIndexer
	if err := Setup(t.Context(), &r); err != nil {
		t.Fatal(err)
	}
	// In the order of Setup: the membership fields sorted.
	m := "*v1alpha1.Membership "
	want := []string{
		m + MembershipByGroup, m + MembershipByOrgUser, m + MembershipByOrganization, m + MembershipByResolution, m + MembershipByRoleRef,
		"*v1alpha1.OrganizationRole " + OrganizationRoleByOrganization,
		"*v1alpha1.GroupMapping " + GroupMappingByOrganization,
		"*v1alpha1.GroupMapping " + GroupMappingByRole,
		"*v1alpha1.Role " + RoleBySlug,
		"*v1alpha1.Organization " + OrganizationByRoleRef,
		"*v1alpha1.Organization " + OrganizationByID,
	}
	if !slices.Equal(r.fields, want) {
		t.Errorf("registered %q, want %q", r.fields, want)
	}
}

// TestSetupIndexesOtherKindsAsBefore: on a cache, only the Membership indexes
// change; the others are controller-runtime's (both keys).
func TestSetupIndexesOtherKindsAsBefore(t *testing.T) {
	c := newMemoryCache(t)
	if err := Setup(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	inf, err := c.GetInformer(t.Context(), &orgrbacv1alpha1.Role{}, cache.BlockUntilSynced(false))
	if err != nil {
		t.Fatal(err)
	}
	fn := inf.(toolscache.SharedIndexInformer).GetIndexer().GetIndexers()[fieldIndexName(RoleBySlug)]
	if fn == nil {
		t.Fatalf("no %s index", RoleBySlug)
	}
	keys, err := fn(&orgrbacv1alpha1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "admin"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || !slices.Contains(keys, namespacedKey("team-a", "admin")) {
		t.Errorf("role keys %q, want team-a/admin and the all-namespaces key", keys)
	}
}

// listNames lists the memberships of ns whose field index holds value, through
// c's reader, and returns their names, sorted.
func listNames(t testing.TB, c client.Reader, ns, field, value string) []string {
	t.Helper()
	var list orgrbacv1alpha1.MembershipList
	if err := c.List(t.Context(), &list, client.InNamespace(ns), client.MatchingFields{field: value}); err != nil {
		t.Fatalf("listing %s=%q in %s: %v", field, value, ns, err)
	}
	var names []string
	for _, m := range list.Items {
		names = append(names, m.Name)
	}
	slices.Sort(names)
	return names
}

// membershipInformer is c's Membership informer.
func membershipInformer(t testing.TB, c cache.Informers) toolscache.SharedIndexInformer {
	t.Helper()
	inf, err := c.GetInformer(context.Background(), &orgrbacv1alpha1.Membership{}, cache.BlockUntilSynced(false))
	if err != nil {
		t.Fatal(err)
	}
	sii, ok := inf.(toolscache.SharedIndexInformer)
	if !ok {
		t.Fatalf("the membership informer is a %T, not a SharedIndexInformer", inf)
	}
	return sii
}

// newMemoryCache returns a controller-runtime cache whose informers list
// members (the Membership informer) or nothing (the others) from memory and
// then watch no events: the cache and its reader, without an API server.
func newMemoryCache(t testing.TB, members ...*orgrbacv1alpha1.Membership) cache.Cache {
	t.Helper()
	s := runtime.NewScheme()
	if err := orgrbacv1alpha1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	mapper := meta.NewDefaultRESTMapper(nil)
	for gvk := range s.AllKnownTypes() {
		if gvk.GroupVersion() == orgrbacv1alpha1.GroupVersion {
			mapper.Add(gvk, meta.RESTScopeNamespace)
		}
	}
	c, err := cache.New(&rest.Config{Host: "http://127.0.0.1:1"}, cache.Options{
		Scheme: s,
		Mapper: mapper,
		NewInformer: func(_ toolscache.ListerWatcher, obj runtime.Object, resync time.Duration, ix toolscache.Indexers) toolscache.SharedIndexInformer {
			gvks, _, err := s.ObjectKinds(obj)
			if err != nil {
				panic(err)
			}
			list, err := s.New(gvks[0].GroupVersion().WithKind(gvks[0].Kind + "List"))
			if err != nil {
				panic(err)
			}
			if ml, ok := list.(*orgrbacv1alpha1.MembershipList); ok {
				for _, m := range members {
					ml.Items = append(ml.Items, *m.DeepCopy())
				}
			}
			la, err := meta.ListAccessor(list)
			if err != nil {
				panic(err)
			}
			la.SetResourceVersion("1")
			return toolscache.NewSharedIndexInformer(memoryLW{list}, obj, resync, ix)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// startCache starts c until the test ends and waits for it to sync.
func startCache(t testing.TB, c cache.Cache) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("the cache stopped: %v", err)
		}
	})
	syncCtx, syncCancel := context.WithTimeout(ctx, 30*time.Second)
	defer syncCancel()
	if !c.WaitForCacheSync(syncCtx) {
		t.Fatal("the cache did not sync")
	}
}

// memoryLW lists list and watches without events.
type memoryLW struct{ list runtime.Object }

func (l memoryLW) List(metav1.ListOptions) (runtime.Object, error) {
	return l.list.DeepCopyObject(), nil
}

func (memoryLW) Watch(metav1.ListOptions) (watch.Interface, error) { return watch.NewFake(), nil }

// IsWatchListSemanticsUnSupported makes client-go's reflector list and then
// watch, instead of streaming the list through a watch, which needs an API
// server's bookmarks.
func (memoryLW) IsWatchListSemanticsUnSupported() bool { return true }
