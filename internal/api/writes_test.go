package api

import (
	"context"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
)

// Every write records its caller (name, groups, a new request id) for
// admission policies, and a delete first records the caller on the version it
// then deletes, with preconditions on exactly that version
// (config/policy/recipes/organization_writers.yaml judges both).
func TestWritesRecordTheCaller(t *testing.T) {
	u := caller{userInfo: &userInfo{name: "system:serviceaccount:videos:app",
		groups: []string{"system:serviceaccounts", "orgrbac.dev:organization:acme", "has,comma", "", "system:authenticated",
			"orgrbac.dev:organization:acme"}}}
	var m orgrbacv1alpha1.Membership
	markWritten(&m, u)
	first := m.Annotations[orgrbacv1alpha1.AnnotationWriteRequest]
	if got := m.Annotations[orgrbacv1alpha1.AnnotationWrittenBy]; got != u.name {
		t.Errorf("written-by %q", got)
	}
	if got, want := m.Annotations[orgrbacv1alpha1.AnnotationWrittenByGroups],
		"orgrbac.dev:organization:acme,system:authenticated,system:serviceaccounts"; got != want {
		t.Errorf("groups %q; want %q (sorted, unique, none with a comma, none empty)", got, want)
	}
	markWritten(&m, u)
	if second := m.Annotations[orgrbacv1alpha1.AnnotationWriteRequest]; first == "" || second == first {
		t.Errorf("request ids %q then %q; want a new one on every write", first, second)
	}
	many := caller{userInfo: &userInfo{name: "u"}}
	for i := range 2 * maxWriterGroups {
		many.groups = append(many.groups, "g"+strings.Repeat("x", i))
	}
	markWritten(&m, many)
	if n := len(strings.Split(m.Annotations[orgrbacv1alpha1.AnnotationWrittenByGroups], ",")); n != maxWriterGroups {
		t.Errorf("%d groups recorded; want at most %d", n, maxWriterGroups)
	}

	var calls []string
	s, cl := newWriteServer(t, writeInput(), &interceptor.Funcs{
		Update: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.UpdateOption) error {
			calls = append(calls, "update by "+obj.GetAnnotations()[orgrbacv1alpha1.AnnotationWrittenBy])
			return c.Update(ctx, obj, opts...)
		},
		Delete: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.DeleteOption) error {
			var do client.DeleteOptions
			do.ApplyOptions(opts)
			if do.Preconditions == nil || do.Preconditions.UID == nil || do.Preconditions.ResourceVersion == nil ||
				*do.Preconditions.ResourceVersion != obj.GetResourceVersion() {
				t.Errorf("delete without preconditions on the recorded version: %+v", do.Preconditions)
			}
			calls = append(calls, "delete")
			return c.Delete(ctx, obj, opts...)
		},
	})
	var obj orgrbacv1alpha1.Membership
	if err := cl.Get(t.Context(), client.ObjectKey{Namespace: "videos", Name: "alice"}, &obj); err != nil {
		t.Fatal(err)
	}
	if err := s.deleteWritten(t.Context(), cl, &obj, u); err != nil {
		t.Fatal(err)
	}
	if want := []string{"update by " + u.name, "delete"}; !slices.Equal(calls, want) {
		t.Errorf("calls %v; want %v", calls, want)
	}
}
