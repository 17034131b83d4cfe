//go:build envtest

package index

import (
	"context"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/testenv"
)

// TestMembershipIndexesOnAnAPIServer registers the indexes on a manager's cache
// (as internal/controller does) against a control plane and checks, after
// creates, status updates, updates, a delete and a re-create, that a List in
// each namespace by every Membership index returns exactly the memberships the
// API server holds with that value, and that the informer keeps one namespaced
// key per value.
func TestMembershipIndexesOnAnAPIServer(t *testing.T) {
	logf.SetLogger(zap.New(zap.WriteTo(os.Stderr)))
	env, err := testenv.Start(testenv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Errorf("stopping the control plane: %v", err)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	mgr, err := ctrl.NewManager(env.Config, env.ManagerOptions())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := mgr.GetFieldIndexer().(cache.Informers); !ok {
		t.Fatalf("the manager's field indexer is a %T, not a cache.Informers: Setup would fall back to IndexField", mgr.GetFieldIndexer())
	}
	if err := Setup(ctx, mgr.GetFieldIndexer()); err != nil {
		t.Fatal(err)
	}
	stop := testenv.StartManager(ctx, mgr)
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("the manager stopped: %v", err)
		}
	})
	if !mgr.GetCache().WaitForCacheSync(ctx) {
		t.Fatal("the manager's cache did not sync")
	}

	k8s := env.Client
	var namespaces []string
	for range 2 {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "index-"}}
		if err := k8s.Create(ctx, ns); err != nil {
			t.Fatal(err)
		}
		namespaces = append(namespaces, ns.Name)
	}
	ns1, ns2 := namespaces[0], namespaces[1]

	type status struct {
		roles  []string
		source orgrbacv1alpha1.RoleSource
	}
	create := func(m *orgrbacv1alpha1.Membership, st status) {
		t.Helper()
		if err := k8s.Create(ctx, m); err != nil {
			t.Fatalf("creating %s/%s: %v", m.Namespace, m.Name, err)
		}
		if st.source == "" && len(st.roles) == 0 {
			return
		}
		m.Status.Roles, m.Status.Source = st.roles, st.source
		if err := k8s.Status().Update(ctx, m); err != nil {
			t.Fatalf("updating the status of %s/%s: %v", m.Namespace, m.Name, err)
		}
	}
	spec := func(ns, name, org, user string, roles, dir, sso []string) *orgrbacv1alpha1.Membership {
		return member(ns, name, org, user, roles, nil, dir, sso, "")
	}
	// Both namespaces hold the same values, and the same name "a".
	create(spec(ns1, "a", "acme", "u1", []string{"admin"}, []string{"eng"}, nil), status{[]string{"admin"}, orgrbacv1alpha1.SourceManual})
	create(spec(ns1, "b", "acme", "u2", nil, []string{"eng", "ops"}, []string{"all"}), status{[]string{"viewer"}, orgrbacv1alpha1.SourceDirectory})
	create(spec(ns1, "c", "globex", "u1", nil, nil, nil), status{})
	create(spec(ns2, "a", "acme", "u1", []string{"admin"}, []string{"eng"}, nil), status{[]string{"admin"}, orgrbacv1alpha1.SourceManual})
	create(spec(ns2, "d", "acme", "u4", []string{"viewer"}, nil, []string{"all"}), status{[]string{"viewer"}, orgrbacv1alpha1.SourceManual})

	// seen holds, by field, every value any step had, and one no membership
	// has: each is looked up at every step, so values that went away are
	// looked up too.
	seen := map[string]map[string]bool{}
	for field := range MembershipValues {
		seen[field] = map[string]bool{"absent": true}
	}
	check := func(step string) {
		t.Helper()
		var truth []orgrbacv1alpha1.Membership
		for _, ns := range namespaces {
			var list orgrbacv1alpha1.MembershipList
			if err := k8s.List(ctx, &list, client.InNamespace(ns)); err != nil {
				t.Fatal(err)
			}
			truth = append(truth, list.Items...)
		}
		for field, extract := range MembershipValues {
			for i := range truth {
				for _, v := range extract(&truth[i]) {
					seen[field][v] = true
				}
			}
		}
		var problems []string
		for deadline := time.Now().Add(30 * time.Second); ; {
			problems = compareIndexes(t, mgr.GetCache(), namespaces, truth, seen)
			if len(problems) == 0 || time.Now().After(deadline) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if len(problems) > 0 {
			t.Fatalf("%s: the cache's indexes disagree with the API server:\n%s", step, strings.Join(problems, "\n"))
		}
	}
	check("created")

	// An update changing the values of roleRef, group and resolution
	// (organization and user are immutable).
	var a orgrbacv1alpha1.Membership
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns1, Name: "a"}, &a); err != nil {
		t.Fatal(err)
	}
	a.Spec.Roles, a.Spec.DirectoryGroups, a.Spec.SSOGroups = []string{"editor"}, []string{"ops"}, []string{"all"}
	if err := k8s.Update(ctx, &a); err != nil {
		t.Fatal(err)
	}
	a.Status.Roles, a.Status.Source = []string{"editor", "billing"}, orgrbacv1alpha1.SourceDirectory
	if err := k8s.Status().Update(ctx, &a); err != nil {
		t.Fatal(err)
	}
	check("updated")

	// An update back to no status: NotResolved again.
	a.Status = orgrbacv1alpha1.MembershipStatus{}
	if err := k8s.Status().Update(ctx, &a); err != nil {
		t.Fatal(err)
	}
	check("status cleared")

	if err := k8s.Delete(ctx, spec(ns1, "b", "", "", nil, nil, nil)); err != nil {
		t.Fatal(err)
	}
	check("deleted")

	// The same name again, with another organization and user.
	create(spec(ns1, "b", "initech", "u2", []string{"admin"}, nil, nil), status{[]string{"admin"}, orgrbacv1alpha1.SourceManual})
	check("re-created")
}

// compareIndexes lists, through c, by every Membership index and every value of
// seen, in each namespace, and compares the names with those of truth; and
// compares the keys of each index in the Membership informer with the
// namespaced keys of truth's values. It returns the differences.
func compareIndexes(t *testing.T, c cache.Cache, namespaces []string, truth []orgrbacv1alpha1.Membership,
	seen map[string]map[string]bool) []string {
	t.Helper()
	var problems []string
	indexer := membershipInformer(t, c).GetIndexer()
	for _, field := range slices.Sorted(maps.Keys(MembershipValues)) {
		extract := MembershipValues[field]
		for _, ns := range namespaces {
			for _, value := range slices.Sorted(maps.Keys(seen[field])) {
				var want []string
				for i := range truth {
					if truth[i].Namespace == ns && slices.Contains(extract(&truth[i]), value) {
						want = append(want, truth[i].Name)
					}
				}
				slices.Sort(want)
				if got := listNames(t, c, ns, field, value); !slices.Equal(got, want) {
					problems = append(problems, fmt.Sprintf("List %s=%q in %s: got %q, want %q", field, value, ns, got, want))
				}
			}
		}

		var want []string
		for i := range truth {
			for _, v := range extract(&truth[i]) {
				want = append(want, namespacedKey(truth[i].Namespace, v))
			}
		}
		slices.Sort(want)
		want = slices.Compact(want)
		got := indexer.ListIndexFuncValues(fieldIndexName(field))
		slices.Sort(got)
		if !slices.Equal(got, want) {
			problems = append(problems, fmt.Sprintf("index %s keeps the keys %q, want %q", field, got, want))
		}
		for _, key := range got {
			if !slices.ContainsFunc(namespaces, func(ns string) bool { return strings.HasPrefix(key, ns+namespaceSeparator) }) {
				problems = append(problems, fmt.Sprintf("index %s keeps %q, a key of no namespace", field, key))
			}
		}
	}
	return problems
}
