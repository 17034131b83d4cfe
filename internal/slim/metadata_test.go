package slim

import (
	"encoding/json"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Security review H2: whatever a tenant writes into a ConfigMap the publisher's
// cache selects, the cache keeps a few hundred bytes of it.
func TestMetadataOnly(t *testing.T) {
	managed := func(name string) bool { return strings.HasPrefix(name, "orgrbac-permissions") }
	transform := MetadataOnly(managed, []string{"orgrbac.dev/published"}, []string{"orgrbac.dev/revision", "orgrbac.dev/content-hash"})
	huge := strings.Repeat("x", 200<<10)
	planted := func(name string) *metav1.PartialObjectMetadata {
		return &metav1.PartialObjectMetadata{
			TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "tenant", UID: "u", ResourceVersion: "7",
				Labels: map[string]string{"orgrbac.dev/published": "true", "big": huge[:63]},
				Annotations: map[string]string{"orgrbac.dev/revision": "9223372036854775807", "orgrbac.dev/content-hash": huge,
					"padding": huge},
				ManagedFields: []metav1.ManagedFieldsEntry{{Manager: huge}},
				Finalizers:    []string{huge},
				OwnerReferences: []metav1.OwnerReference{
					{APIVersion: "orgrbac.dev/v1alpha1", Kind: "Environment", Name: "videos", UID: "e", Controller: new(true)},
					{APIVersion: "v1", Kind: "Pod", Name: huge, UID: "p"},
				}},
		}
	}
	for _, tc := range []struct {
		name        string
		annotations map[string]string
		owners      int
	}{
		{"somewhere-else", nil, 0},
		{"orgrbac-permissions-4", map[string]string{"orgrbac.dev/revision": "9223372036854775807"}, 1},
	} {
		out, err := transform(planted(tc.name))
		if err != nil {
			t.Fatal(err)
		}
		m := out.(*metav1.PartialObjectMetadata)
		b, _ := json.Marshal(m)
		if len(b) > 1024 {
			t.Errorf("%s: %d bytes kept: %s", tc.name, len(b), b)
		}
		if m.Name != tc.name || m.Namespace != "tenant" || m.ResourceVersion != "7" || m.Labels["orgrbac.dev/published"] != "true" || len(m.Labels) != 1 {
			t.Errorf("%s: identity or label lost: %+v", tc.name, m.ObjectMeta)
		}
		if len(m.Annotations) != len(tc.annotations) || (tc.annotations != nil && m.Annotations["orgrbac.dev/revision"] != tc.annotations["orgrbac.dev/revision"]) {
			t.Errorf("%s: annotations %v, want %v", tc.name, m.Annotations, tc.annotations)
		}
		if len(m.OwnerReferences) != tc.owners {
			t.Errorf("%s: owner references %v", tc.name, m.OwnerReferences)
		}
	}
}
