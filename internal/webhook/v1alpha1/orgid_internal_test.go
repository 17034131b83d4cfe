package v1alpha1

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/index"
)

func org(name, externalID string, age int) *orgrbacv1alpha1.Organization {
	return &orgrbacv1alpha1.Organization{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "videos",
		CreationTimestamp: metav1.NewTime(time.Unix(1000+int64(age), 0))},
		Spec: orgrbacv1alpha1.OrganizationSpec{ExternalID: externalID}}
}

// Two organizations that collide got past the webhook (a race, or the webhook
// down): updates that keep their ids stay allowed so that either can be fixed;
// an update to another colliding id is denied.
func TestOrganizationUpdateAfterARace(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := orgrbacv1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	acme, zzz, globex := org("acme", "org_01ACME", 0), org("zzz", "org_01ACME", 1), org("globex", "", 2)
	c := fake.NewClientBuilder().WithScheme(scheme).
		WithIndex(&orgrbacv1alpha1.Organization{}, index.OrganizationByID, func(o client.Object) []string {
			return index.OrganizationIDs(o.(*orgrbacv1alpha1.Organization))
		}).
		WithIndex(&orgrbacv1alpha1.OrganizationRole{}, index.OrganizationRoleByOrganization, func(o client.Object) []string {
			return index.OrganizationRoleOrganization(o.(*orgrbacv1alpha1.OrganizationRole))
		}).
		WithObjects(acme, zzz, globex).Build()
	v := &OrganizationValidator{l: &lookup{c: c, apiReader: c}}
	ctx := context.Background()

	for name, tc := range map[string]struct {
		old, new *orgrbacv1alpha1.Organization
		denial   string
	}{
		"the older keeps its externalID":   {acme, func() *orgrbacv1alpha1.Organization { o := acme.DeepCopy(); o.Spec.DisplayName = "Acme"; return o }(), ""},
		"the younger keeps its externalID": {zzz, func() *orgrbacv1alpha1.Organization { o := zzz.DeepCopy(); o.Spec.DisplayName = "Z"; return o }(), ""},
		"the younger drops its externalID": {zzz, func() *orgrbacv1alpha1.Organization { o := zzz.DeepCopy(); o.Spec.ExternalID = ""; return o }(), ""},
		"the younger moves to a free id":   {zzz, func() *orgrbacv1alpha1.Organization { o := zzz.DeepCopy(); o.Spec.ExternalID = "org_01ZZZ"; return o }(), ""},
		"the younger moves to a name": {zzz, func() *orgrbacv1alpha1.Organization { o := zzz.DeepCopy(); o.Spec.ExternalID = "globex"; return o }(),
			`spec.externalID "globex" is already the name of organization "globex"`},
		"another moves onto the id": {globex, func() *orgrbacv1alpha1.Organization {
			o := globex.DeepCopy()
			o.Spec.ExternalID = "org_01ACME"
			return o
		}(),
			`spec.externalID "org_01ACME" is already the externalID of organization`},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := v.ValidateUpdate(ctx, tc.old, tc.new)
			switch {
			case tc.denial == "" && err != nil:
				t.Errorf("denied: %v", err)
			case tc.denial != "" && (err == nil || !strings.Contains(err.Error(), tc.denial)):
				t.Errorf("got %v, want a denial containing %q", err, tc.denial)
			}
		})
	}
}

func TestOrganizationIDDenial(t *testing.T) {
	for _, tc := range []struct {
		field, key, other, otherField, want string
	}{
		{"externalID", "org_1", "acme", "externalID",
			`spec.externalID "org_1" is already the externalID of organization "acme": callers name an organization by its name or its externalID, so each must name one organization in the environment; choose another externalID`},
		{"externalID", "acme", "acme", "name",
			`spec.externalID "acme" is already the name of organization "acme": callers name an organization by its name or its externalID, so each must name one organization in the environment; choose another externalID`},
		{"name", "org_1", "acme", "externalID",
			`metadata.name "org_1" is already the externalID of organization "acme": callers name an organization by its name or its externalID, so each must name one organization in the environment; choose another name`},
	} {
		if got := organizationIDDenial(tc.field, tc.key, tc.other, tc.otherField); got != tc.want {
			t.Errorf("organizationIDDenial(%q, %q, %q, %q) =\n%s\nwant\n%s", tc.field, tc.key, tc.other, tc.otherField, got, tc.want)
		}
	}
}
