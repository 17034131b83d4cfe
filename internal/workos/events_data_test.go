package workos

import (
	"encoding/json"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
)

// PermissionOf writes WorkOS's permission object (Go SDK v9
// PermissionCreatedData): its name falls back to the slug, its description
// is null when empty, and updated_at is the newest condition transition.
func TestPermissionOf(t *testing.T) {
	t0 := time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)
	p := &orgrbacv1alpha1.Permission{
		ObjectMeta: metav1.ObjectMeta{Name: "billing-manage", CreationTimestamp: metav1.NewTime(t0)},
		Spec:       orgrbacv1alpha1.PermissionSpec{Slug: "billing:manage", Description: "Allows managing billing settings."},
		Status: orgrbacv1alpha1.PermissionStatus{Conditions: []metav1.Condition{{Type: orgrbacv1alpha1.ConditionReady,
			LastTransitionTime: metav1.NewTime(t0.Add(time.Minute))}}},
	}
	raw, err := json.Marshal(PermissionOf(p))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"object":"permission","id":"billing-manage","slug":"billing:manage","name":"billing:manage",` +
		`"description":"Allows managing billing settings.","system":false,"created_at":"2026-01-15T12:00:00.000Z",` +
		`"updated_at":"2026-01-15T12:01:00.000Z"}`
	if string(raw) != want {
		t.Errorf("got  %s\nwant %s", raw, want)
	}
	p.Spec.Description, p.Spec.DisplayName = "", "Manage Billing"
	raw, _ = json.Marshal(PermissionOf(p))
	var got map[string]any
	if err := json.Unmarshal(raw, &got); err != nil || got["description"] != nil || got["name"] != "Manage Billing" {
		t.Errorf("got %s", raw)
	}
}
