//go:build envtest

package controller

import (
	"bytes"
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/util/jsonpath"
	"sigs.k8s.io/controller-runtime/pkg/client"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
)

var _ = Describe("The SLUG printer column", func() {
	var ns string
	BeforeEach(func(ctx SpecContext) { ns = newNamespace(ctx) })

	// column evaluates the JSONPath of the CRD's printer column named name on the
	// object as the API server stores it, as kubectl get does.
	column := func(ctx SpecContext, g Gomega, crd, kind, name, col string) string {
		var def unstructured.Unstructured
		def.SetGroupVersionKind(schema.GroupVersionKind{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition"})
		g.Expect(k8s.Get(ctx, client.ObjectKey{Name: crd}, &def)).To(Succeed())
		versions, _, _ := unstructured.NestedSlice(def.Object, "spec", "versions")
		g.Expect(versions).To(HaveLen(1))
		cols, _, _ := unstructured.NestedSlice(versions[0].(map[string]any), "additionalPrinterColumns")
		path := ""
		for _, c := range cols {
			if c := c.(map[string]any); c["name"] == col {
				path = c["jsonPath"].(string)
			}
		}
		g.Expect(path).NotTo(BeEmpty(), "%s has no printer column %s", crd, col)

		var obj unstructured.Unstructured
		obj.SetGroupVersionKind(orgrbacv1alpha1.GroupVersion.WithKind(kind))
		g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &obj)).To(Succeed())
		jp := jsonpath.New(col).AllowMissingKeys(true)
		g.Expect(jp.Parse(fmt.Sprintf("{%s}", path))).To(Succeed())
		var out bytes.Buffer
		g.Expect(jp.Execute(&out, obj.Object)).To(Succeed())
		return out.String()
	}

	It("shows the effective slug of Roles and Permissions, with and without spec.slug", func(ctx SpecContext) {
		named := roleObj("viewer", "videos:view")
		slugged := roleObj("video-producer", "videos:create")
		slugged.Spec.Slug = "video_producer"
		permNamed := &orgrbacv1alpha1.Permission{}
		permNamed.Name = "videos.view"
		permSlugged := &orgrbacv1alpha1.Permission{}
		permSlugged.Name, permSlugged.Spec.Slug = "videos-create", "videos:create"
		create(ctx, ns, named, slugged, permNamed, permSlugged)

		for _, c := range []struct{ crd, kind, name, want string }{
			{"roles.orgrbac.dev", "Role", "viewer", "viewer"},
			{"roles.orgrbac.dev", "Role", "video-producer", "video_producer"},
			{"permissions.orgrbac.dev", "Permission", "videos.view", "videos.view"},
			{"permissions.orgrbac.dev", "Permission", "videos-create", "videos:create"},
		} {
			Eventually(func(g Gomega) {
				g.Expect(column(ctx, g, c.crd, c.kind, c.name, "Slug")).To(Equal(c.want))
			}).WithContext(ctx).Should(Succeed(), "%s %s", c.kind, c.name)
		}
		Expect(get(ctx, ns, "viewer", &orgrbacv1alpha1.Role{}).Status.Slug).To(Equal("viewer"))
		Expect(get(ctx, ns, "video-producer", &orgrbacv1alpha1.Role{}).Status.Slug).To(Equal("video_producer"))
		Expect(get(ctx, ns, "videos.view", &orgrbacv1alpha1.Permission{}).Status.Slug).To(Equal("videos.view"))
		Expect(get(ctx, ns, "videos-create", &orgrbacv1alpha1.Permission{}).Status.Slug).To(Equal("videos:create"))
	})

	It("shows a duplicate Role's slug too", func(ctx SpecContext) {
		older := roleObj("editor", "videos:edit")
		create(ctx, ns, older)
		dup := roleObj("editor-copy", "videos:edit")
		dup.Spec.Slug = "editor"
		create(ctx, ns, dup)
		Eventually(func(g Gomega) {
			r := get(ctx, ns, "editor-copy", &orgrbacv1alpha1.Role{})
			g.Expect(r.Status.Conditions).To(ContainElement(And(
				HaveField("Type", orgrbacv1alpha1.ConditionReady), HaveField("Reason", orgrbacv1alpha1.ReasonDuplicate))))
			g.Expect(r.Status.Slug).To(Equal("editor"))
		}).WithContext(ctx).Should(Succeed())
	})
})
