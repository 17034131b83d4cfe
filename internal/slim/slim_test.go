package slim

import (
	"encoding/json"
	"fmt"
	"reflect"
	"runtime"
	"testing"
	"unsafe"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
)

// membershipJSON is a membership as the API server sends it; i varies its unique fields.
func membershipJSON(i int) []byte {
	return fmt.Appendf(nil, `{
  "apiVersion": "orgrbac.dev/v1alpha1", "kind": "Membership",
  "metadata": {"name": "m-%[1]d", "namespace": "tenant-a", "uid": "uid-%[1]d", "resourceVersion": "%[1]d",
    "labels": {"team": "video"}, "finalizers": ["orgrbac.dev/x"],
    "managedFields": [{"manager": "kubectl", "operation": "Apply", "apiVersion": "orgrbac.dev/v1alpha1"}],
    "ownerReferences": [{"apiVersion": "orgrbac.dev/v1alpha1", "kind": "Organization", "name": "acme", "uid": "org-uid"}]},
  "spec": {"organization": "acme", "user": "user-%[1]d", "email": "u%[1]d@example.com",
    "roles": ["member"], "directoryGroups": ["eng", "video"], "ssoGroups": ["sso-eng"], "state": "Active"},
  "status": {"observedGeneration": 1, "role": "admin", "roles": ["admin", "member"], "source": "Directory",
    "assignments": [{"role": "admin", "source": "Directory", "group": "eng"}],
    "permissions": ["videos:create", "videos:delete", "videos:view"],
    "conditions": [{"type": "Ready", "status": "True", "reason": "Resolved", "message": "resolved from the directory",
      "lastTransitionTime": "2026-11-24T10:00:00Z", "observedGeneration": 1}]}
}`, i)
}

func decode(t testing.TB, i int) *orgrbacv1alpha1.Membership {
	t.Helper()
	var m orgrbacv1alpha1.Membership
	if err := json.Unmarshal(membershipJSON(i), &m); err != nil {
		t.Fatal(err)
	}
	return &m
}

func same(a, b string) bool { return unsafe.StringData(a) == unsafe.StringData(b) }

func TestTransformKeepsEveryValue(t *testing.T) {
	in := decode(t, 1)
	want := in.DeepCopy()
	want.ManagedFields = nil
	out, err := Transform(in)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(out, want) {
		t.Errorf("Transform changed a value:\n got %+v\nwant %+v", out, want)
	}
}

func TestTransformSharesRepeatedStrings(t *testing.T) {
	a, b := decode(t, 1), decode(t, 2)
	for _, m := range []*orgrbacv1alpha1.Membership{a, b} {
		if _, err := Transform(m); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		field string
		a, b  string
	}{
		{"namespace", a.Namespace, b.Namespace},
		{"label value", a.Labels["team"], b.Labels["team"]},
		{"finalizer", a.Finalizers[0], b.Finalizers[0]},
		{"owner name", a.OwnerReferences[0].Name, b.OwnerReferences[0].Name},
		{"owner uid", string(a.OwnerReferences[0].UID), string(b.OwnerReferences[0].UID)},
		{"organization", a.Spec.Organization, b.Spec.Organization},
		{"spec role", a.Spec.Roles[0], b.Spec.Roles[0]},
		{"directory group", a.Spec.DirectoryGroups[1], b.Spec.DirectoryGroups[1]},
		{"sso group", a.Spec.SSOGroups[0], b.Spec.SSOGroups[0]},
		{"state", string(a.Spec.State), string(b.Spec.State)},
		{"status role", a.Status.Role, b.Status.Role},
		{"status roles", a.Status.Roles[1], b.Status.Roles[1]},
		{"source", string(a.Status.Source), string(b.Status.Source)},
		{"assignment group", a.Status.Assignments[0].Group, b.Status.Assignments[0].Group},
		{"permission", a.Status.Permissions[2], b.Status.Permissions[2]},
		{"condition reason", a.Status.Conditions[0].Reason, b.Status.Conditions[0].Reason},
		{"condition message", a.Status.Conditions[0].Message, b.Status.Conditions[0].Message},
	} {
		if tc.a != tc.b {
			t.Fatalf("%s: %q and %q differ; the fixture is wrong", tc.field, tc.a, tc.b)
		}
		if !same(tc.a, tc.b) {
			t.Errorf("%s %q: two copies after Transform; want one", tc.field, tc.a)
		}
	}
	// Unique values are not interned, and stay distinct.
	if a.Name == b.Name || a.Spec.User == b.Spec.User {
		t.Error("the fixture's unique fields repeat")
	}
}

func TestTransformOtherObjects(t *testing.T) {
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x",
		ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "m"}}}, Data: map[string]string{"k": "v"}}
	out, err := Transform(cm)
	if err != nil {
		t.Fatal(err)
	}
	if got := out.(*corev1.ConfigMap); got.ManagedFields != nil || got.Data["k"] != "v" {
		t.Errorf("ConfigMap after Transform: %+v; want only its managedFields gone", got)
	}
	// A tombstone is not an object: it passes through untouched.
	tomb := cache.DeletedFinalStateUnknown{Key: "ns/x", Obj: cm}
	if out, err := Transform(tomb); err != nil || !reflect.DeepEqual(out, tomb) {
		t.Errorf("Transform(tombstone) = %v, %v; want it unchanged", out, err)
	}
	empty := &orgrbacv1alpha1.Membership{}
	if out, err := Transform(empty); err != nil || !reflect.DeepEqual(out, &orgrbacv1alpha1.Membership{}) {
		t.Errorf("Transform(empty membership) = %+v, %v; want it unchanged", out, err)
	}
}

// BenchmarkRetained reports the heap bytes that n decoded memberships keep,
// without and with Transform.
func BenchmarkRetained(b *testing.B) {
	const n = 2000
	for _, tc := range []struct {
		name      string
		transform bool
	}{{"decoded", false}, {"transformed", true}} {
		b.Run(tc.name, func(b *testing.B) {
			var perObject float64
			for b.Loop() {
				keep := make([]*orgrbacv1alpha1.Membership, n)
				runtime.GC()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				for i := range keep {
					keep[i] = decode(b, i)
					if tc.transform {
						_, _ = Transform(keep[i])
					}
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				perObject = float64(after.HeapAlloc-before.HeapAlloc) / n
				runtime.KeepAlive(keep)
			}
			b.ReportMetric(perObject, "retained-B/membership")
		})
	}
}
