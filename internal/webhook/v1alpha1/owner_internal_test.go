package v1alpha1

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
)

// The mutating webhook's answers, as the API server receives them: allowed
// every time, with a patch that only adds the ownerReference (fields the Go types
// do not know, and their empty status, are left alone).
func TestOrganizationOwnerPatch(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := orgrbacv1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	acme := &orgrbacv1alpha1.Organization{ObjectMeta: metav1.ObjectMeta{Name: "acme", Namespace: "videos", UID: "acme-uid"}}
	gone := &orgrbacv1alpha1.Organization{ObjectMeta: metav1.ObjectMeta{Name: "gone", Namespace: "videos", UID: "gone-uid",
		DeletionTimestamp: &metav1.Time{Time: time.Unix(1000, 0)}, Finalizers: []string{"test/keep"}}}
	broken := errors.New("cache broken")
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(acme, gone).
		WithInterceptorFuncs(interceptor.Funcs{Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
			if key.Name == "broken" {
				return broken
			}
			return c.Get(ctx, key, obj, opts...)
		}}).Build()
	l := &lookup{c: c, apiReader: c}
	handlers := map[string]admission.Handler{
		"Membership": ownerReferencesOnly{admission.WithDefaulter(scheme,
			&OrganizationOwner[*orgrbacv1alpha1.Membership]{l, membershipOrganization}).Handler},
		"OrganizationRole": ownerReferencesOnly{admission.WithDefaulter(scheme,
			&OrganizationOwner[*orgrbacv1alpha1.OrganizationRole]{l, organizationRoleOrganization}).Handler},
		"GroupMapping": ownerReferencesOnly{admission.WithDefaulter(scheme,
			&OrganizationOwner[*orgrbacv1alpha1.GroupMapping]{l, groupMappingOrganization}).Handler},
	}
	const acmeRef = `{"apiVersion":"orgrbac.dev/v1alpha1","kind":"Organization","name":"acme","uid":"acme-uid"}`
	const otherRef = `{"apiVersion":"v1","kind":"ConfigMap","name":"x","uid":"x-uid"}`
	object := func(kind, org, refs string) string {
		meta := `"name":"o","namespace":"videos"`
		if refs != "" {
			meta += `,"ownerReferences":[` + refs + `]`
		}
		spec := map[string]string{
			"Membership":       `"organization":%q,"user":"alice","state":"Active","roles":[],"futureField":{"x":1}`,
			"OrganizationRole": `"organization":%q,"slug":"producer","futureField":"x"`,
			"GroupMapping":     `"organization":%q,"source":"SSO","group":"g","role":"producer","futureField":["x"]`,
		}[kind]
		return fmt.Sprintf(`{"apiVersion":"orgrbac.dev/v1alpha1","kind":%q,"metadata":{%s},"spec":{`+spec+`}}`, kind, meta, org)
	}

	for _, kind := range []string{"Membership", "OrganizationRole", "GroupMapping"} {
		for _, tc := range []struct {
			name, org, refs, raw string
			want                 []string // "op path value"
		}{
			{name: "created after its organization", org: "acme",
				want: []string{`add /metadata/ownerReferences [` + acmeRef + `]`}},
			{name: "with another owner", org: "acme", refs: otherRef,
				want: []string{`add /metadata/ownerReferences/1 ` + acmeRef}},
			{name: "with the reference", org: "acme", refs: acmeRef},
			{name: "with the reference among others", org: "acme", refs: otherRef + "," + acmeRef},
			{name: "created before its organization", org: "later"},
			{name: "a deleting organization", org: "gone"},
			{name: "the cache fails", org: "broken"},
			{name: "no organization", org: ""},
			{name: "an undecodable object", raw: `{"apiVersion":"orgrbac.dev/v1alpha1","kind":"` + kind + `","spec":[]}`},
		} {
			t.Run(kind+"/"+tc.name, func(t *testing.T) {
				raw := tc.raw
				if raw == "" {
					raw = object(kind, tc.org, tc.refs)
				}
				r := handlers[kind].Handle(context.Background(), admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
					Operation: admissionv1.Create, Namespace: "videos", Name: "o",
					Object: runtime.RawExtension{Raw: []byte(raw)}}})
				if !r.Allowed {
					t.Fatalf("denied: %+v", r.Result)
				}
				var got []string
				for _, p := range r.Patches {
					v, err := jsonOf(p.Value)
					if err != nil {
						t.Fatal(err)
					}
					got = append(got, p.Operation+" "+p.Path+" "+v)
				}
				if fmt.Sprint(got) != fmt.Sprint(tc.want) {
					t.Errorf("patch\n  %q\nwant\n  %q", got, tc.want)
				}
				if (r.PatchType != nil) != (len(tc.want) > 0) {
					t.Errorf("patch type %v with %d operations", r.PatchType, len(tc.want))
				}
			})
		}
	}
}

func jsonOf(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}
