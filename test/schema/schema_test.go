//go:build envtest

package schema

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// newObject decodes one YAML or JSON manifest.
func newObject(manifest string) *unstructured.Unstructured {
	GinkgoHelper()
	u := &unstructured.Unstructured{}
	Expect(yaml.Unmarshal([]byte(manifest), &u.Object)).To(Succeed(), manifest)
	return u
}

// readManifests returns every object of a multi-document YAML file.
func readManifests(path string) []*unstructured.Unstructured {
	GinkgoHelper()
	data, err := os.ReadFile(path)
	Expect(err).NotTo(HaveOccurred())
	dec := yaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var out []*unstructured.Unstructured
	for {
		u := &unstructured.Unstructured{}
		err := dec.Decode(&u.Object)
		if errors.Is(err, io.EOF) {
			return out
		}
		Expect(err).NotTo(HaveOccurred(), path)
		if len(u.Object) > 0 {
			out = append(out, u)
		}
	}
}

const apiVersion = "apiVersion: orgrbac.dev/v1alpha1\n"

var _ = Describe("the samples", func() {
	It("are all accepted", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		files, err := filepath.Glob(filepath.Join("..", "..", "config", "samples", "orgrbac_*.yaml"))
		Expect(err).NotTo(HaveOccurred())
		Expect(files).To(HaveLen(7), "one sample file per kind")
		kinds := map[string]int{}
		for _, f := range files {
			for _, obj := range readManifests(f) {
				obj.SetNamespace(ns)
				Expect(k8s.Create(ctx, obj)).To(Succeed(), "%s %s from %s", obj.GetKind(), obj.GetName(), f)
				kinds[obj.GetKind()]++
			}
		}
		Expect(kinds).To(HaveLen(7))
		Expect(kinds).To(HaveKeyWithValue("Membership", BeNumerically(">=", 7)))
	})
})

// rejected asserts that the API server refuses to create the manifest with an
// Invalid error whose message contains every one of want.
func rejected(manifest string, want ...string) {
	GinkgoHelper()
	ctx := context.Background()
	obj := newObject(apiVersion + manifest)
	obj.SetNamespace(newNamespace(ctx))
	err := k8s.Create(ctx, obj)
	Expect(err).To(HaveOccurred(), "the API server accepted:\n%s", manifest)
	Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want an Invalid error, got %v", err)
	for _, w := range want {
		Expect(err.Error()).To(ContainSubstring(w))
	}
}

func longString(n int) string { return strings.Repeat("a", n) }

func list(n int, prefix string) string {
	items := make([]string, n)
	for i := range items {
		items[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	return "[" + strings.Join(items, ", ") + "]"
}

var _ = DescribeTable("creating an invalid object is refused with a clear message",
	rejected,

	// Role slugs.
	Entry("role slug with upper case", "kind: Role\nmetadata: {name: r}\nspec: {slug: Admin}",
		"spec.slug", "should match '^[a-z0-9_-]+$'"),
	Entry("role slug with a colon", "kind: Role\nmetadata: {name: r}\nspec: {slug: 'a:b'}",
		"spec.slug", "should match"),
	Entry("role slug over 64 characters", "kind: Role\nmetadata: {name: r}\nspec: {slug: "+longString(65)+"}",
		"spec.slug", "Too long"),
	Entry("environment role slug starting with org-", "kind: Role\nmetadata: {name: r}\nspec: {slug: org-admin}",
		"environment role slugs must not start with org- or org_"),
	Entry("environment role slug starting with org_", "kind: Role\nmetadata: {name: r}\nspec: {slug: org_admin}",
		"environment role slugs must not start with org- or org_"),
	Entry("role without slug whose name starts with org-", "kind: Role\nmetadata: {name: org-admin}",
		"metadata.name is the role slug when spec.slug is omitted"),
	Entry("role without slug whose name has a dot", "kind: Role\nmetadata: {name: video.admin}",
		"metadata.name is the role slug when spec.slug is omitted"),
	Entry("role permission with a space", "kind: Role\nmetadata: {name: r}\nspec: {permissions: ['videos create']}",
		"spec.permissions[0]", "should match"),
	Entry("role permission over 128 characters", "kind: Role\nmetadata: {name: r}\nspec: {permissions: ["+longString(129)+"]}",
		"spec.permissions[0]", "Too long"),
	Entry("role permission listed twice", "kind: Role\nmetadata: {name: r}\nspec: {permissions: [a, a]}",
		"spec.permissions[1]", "Duplicate value"),
	Entry("role with too many permissions", "kind: Role\nmetadata: {name: r}\nspec: {permissions: "+list(1025, "p")+"}",
		"spec.permissions", "must have at most 1024 items"),
	Entry("role display name over 256 characters", "kind: Role\nmetadata: {name: r}\nspec: {displayName: "+longString(257)+"}",
		"spec.displayName", "Too long"),

	// Permission slugs.
	Entry("permission slug with upper case", "kind: Permission\nmetadata: {name: p}\nspec: {slug: 'Videos:create'}",
		"spec.slug", "should match '^[a-z0-9_.:*-]+$'"),
	Entry("permission slug over 128 characters", "kind: Permission\nmetadata: {name: p}\nspec: {slug: "+longString(129)+"}",
		"spec.slug", "Too long"),
	Entry("empty permission slug", "kind: Permission\nmetadata: {name: p}\nspec: {slug: ''}",
		"spec.slug", "should be at least 1 chars long"),

	// OrganizationRole.
	Entry("organization role slug without org- or org_", "kind: OrganizationRole\nmetadata: {name: r}\nspec: {organization: acme, slug: producer}",
		"organization role slugs must start with org- or org_"),
	Entry("organization role slug with bad characters", "kind: OrganizationRole\nmetadata: {name: r}\nspec: {organization: acme, slug: 'org-Pro'}",
		"spec.slug", "should match"),
	Entry("organization role without organization", "kind: OrganizationRole\nmetadata: {name: r}\nspec: {slug: org-a}",
		"spec.organization", "Required value"),
	Entry("organization role without slug", "kind: OrganizationRole\nmetadata: {name: r}\nspec: {organization: acme}",
		"spec.slug", "Required value"),
	Entry("organization role with empty organization", "kind: OrganizationRole\nmetadata: {name: r}\nspec: {organization: '', slug: org-a}",
		"spec.organization", "should be at least 1 chars long"),

	// Environment and Organization.
	Entry("environment default role with bad characters", "kind: Environment\nmetadata: {name: e}\nspec: {defaultRole: 'Admin'}",
		"spec.defaultRole", "should match"),
	Entry("environment priority listing a role twice", "kind: Environment\nmetadata: {name: e}\nspec: {rolePriority: [admin, admin]}",
		"spec.rolePriority[1]", "Duplicate value"),
	Entry("environment priority over 512 roles", "kind: Environment\nmetadata: {name: e}\nspec: {rolePriority: "+list(513, "r")+"}",
		"spec.rolePriority", "must have at most 512 items"),
	Entry("organization external id with a space", "kind: Organization\nmetadata: {name: o}\nspec: {externalID: 'org 1'}",
		"spec.externalID", "should match"),
	Entry("organization priority with bad slug", "kind: Organization\nmetadata: {name: o}\nspec: {rolePriority: ['a b']}",
		"spec.rolePriority[0]", "should match"),

	// Membership.
	Entry("membership without user", "kind: Membership\nmetadata: {name: m}\nspec: {organization: acme}",
		"spec.user", "Required value"),
	Entry("membership without organization", "kind: Membership\nmetadata: {name: m}\nspec: {user: u}",
		"spec.organization", "Required value"),
	Entry("membership with empty user", "kind: Membership\nmetadata: {name: m}\nspec: {organization: acme, user: ''}",
		"spec.user", "should be at least 1 chars long"),
	Entry("membership with unknown state", "kind: Membership\nmetadata: {name: m}\nspec: {organization: acme, user: u, state: Suspended}",
		"spec.state", "Unsupported value: \"Suspended\""),
	Entry("membership role with bad characters", "kind: Membership\nmetadata: {name: m}\nspec: {organization: acme, user: u, roles: ['Admin']}",
		"spec.roles[0]", "should match"),
	Entry("membership with over 64 roles", "kind: Membership\nmetadata: {name: m}\nspec: {organization: acme, user: u, roles: "+list(65, "r")+"}",
		"spec.roles", "must have at most 64 items"),
	Entry("membership with over 512 directory groups", "kind: Membership\nmetadata: {name: m}\nspec: {organization: acme, user: u, directoryGroups: "+list(513, "g")+"}",
		"spec.directoryGroups", "must have at most 512 items"),
	Entry("membership with a group id over 256 characters", "kind: Membership\nmetadata: {name: m}\nspec: {organization: acme, user: u, ssoGroups: ["+longString(257)+"]}",
		"spec.ssoGroups[0]", "Too long"),
	Entry("membership email over 320 characters", "kind: Membership\nmetadata: {name: m}\nspec: {organization: acme, user: u, email: "+longString(321)+"}",
		"spec.email", "Too long"),

	// GroupMapping.
	Entry("group mapping with unknown source", "kind: GroupMapping\nmetadata: {name: g}\nspec: {organization: acme, source: LDAP, group: g, role: admin}",
		"spec.source", "Unsupported value: \"LDAP\""),
	Entry("group mapping without group", "kind: GroupMapping\nmetadata: {name: g}\nspec: {organization: acme, source: SSO, role: admin}",
		"spec.group", "Required value"),
	Entry("group mapping without role", "kind: GroupMapping\nmetadata: {name: g}\nspec: {organization: acme, source: SSO, group: g}",
		"spec.role", "Required value"),
	Entry("group mapping with bad role slug", "kind: GroupMapping\nmetadata: {name: g}\nspec: {organization: acme, source: SSO, group: g, role: 'Admin'}",
		"spec.role", "should match"),
)

// immutable creates the manifest, applies change to it and asserts the update is
// refused with a message containing want.
func immutable(manifest string, change func(*unstructured.Unstructured), want string) {
	GinkgoHelper()
	ctx := context.Background()
	obj := newObject(apiVersion + manifest)
	obj.SetNamespace(newNamespace(ctx))
	Expect(k8s.Create(ctx, obj)).To(Succeed())
	change(obj)
	err := k8s.Update(ctx, obj)
	Expect(err).To(HaveOccurred(), "the API server accepted the change")
	Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want an Invalid error, got %v", err)
	Expect(err.Error()).To(ContainSubstring(want))
}

func set(value any, path ...string) func(*unstructured.Unstructured) {
	return func(u *unstructured.Unstructured) {
		Expect(unstructured.SetNestedField(u.Object, value, path...)).To(Succeed())
	}
}

var _ = DescribeTable("changing an immutable field is refused",
	immutable,
	Entry("role slug", "kind: Role\nmetadata: {name: r}\nspec: {slug: admin}", set("owner", "spec", "slug"), "slug is immutable"),
	Entry("role slug added when it defaulted to the name", "kind: Role\nmetadata: {name: admin}", set("owner", "spec", "slug"), "slug is immutable"),
	Entry("permission slug", "kind: Permission\nmetadata: {name: p}\nspec: {slug: 'a:b'}", set("a:c", "spec", "slug"), "slug is immutable"),
	Entry("organization role slug", "kind: OrganizationRole\nmetadata: {name: r}\nspec: {organization: acme, slug: org-a}", set("org-b", "spec", "slug"), "slug is immutable"),
	Entry("organization role organization", "kind: OrganizationRole\nmetadata: {name: r}\nspec: {organization: acme, slug: org-a}", set("globex", "spec", "organization"), "organization is immutable"),
	Entry("membership organization", "kind: Membership\nmetadata: {name: m}\nspec: {organization: acme, user: u}", set("globex", "spec", "organization"), "organization is immutable"),
	Entry("membership user", "kind: Membership\nmetadata: {name: m}\nspec: {organization: acme, user: u}", set("v", "spec", "user"), "user is immutable"),
	Entry("group mapping organization", "kind: GroupMapping\nmetadata: {name: g}\nspec: {organization: acme, source: SSO, group: g, role: admin}", set("globex", "spec", "organization"), "organization is immutable"),
)

var _ = Describe("defaults and mutable fields", func() {
	It("defaults a membership's state to Active", func(ctx SpecContext) {
		obj := newObject(apiVersion + "kind: Membership\nmetadata: {name: m}\nspec: {organization: acme, user: u}")
		obj.SetNamespace(newNamespace(ctx))
		Expect(k8s.Create(ctx, obj)).To(Succeed())
		state, _, _ := unstructured.NestedString(obj.Object, "spec", "state")
		Expect(state).To(Equal("Active"))
	})
	It("lets mutable fields change", func(ctx SpecContext) {
		obj := newObject(apiVersion + "kind: Role\nmetadata: {name: admin}\nspec: {permissions: [a]}")
		obj.SetNamespace(newNamespace(ctx))
		Expect(k8s.Create(ctx, obj)).To(Succeed())
		set([]any{"a", "b"}, "spec", "permissions")(obj)
		set("Admins", "spec", "displayName")(obj)
		Expect(k8s.Update(ctx, obj)).To(Succeed())
	})
})

var _ = Describe("selectable fields", func() {
	It("list one organization's memberships, or one user's, by field selector", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		for _, m := range [][3]string{{"a1", "acme", "u1"}, {"a2", "acme", "u2"}, {"g1", "globex", "u1"}} {
			obj := newObject(fmt.Sprintf("%skind: Membership\nmetadata: {name: %s}\nspec: {organization: %s, user: %s}", apiVersion, m[0], m[1], m[2]))
			obj.SetNamespace(ns)
			Expect(k8s.Create(ctx, obj)).To(Succeed())
		}
		names := func(field, value string) []string {
			list := &unstructured.UnstructuredList{}
			list.SetAPIVersion("orgrbac.dev/v1alpha1")
			list.SetKind("MembershipList")
			Expect(k8s.List(ctx, list, client.InNamespace(ns), client.MatchingFields{field: value})).To(Succeed())
			var out []string
			for _, item := range list.Items {
				out = append(out, item.GetName())
			}
			return out
		}
		Expect(names("spec.organization", "acme")).To(ConsistOf("a1", "a2"))
		Expect(names("spec.user", "u1")).To(ConsistOf("a1", "g1"))
		Expect(names("spec.state", "Active")).To(ConsistOf("a1", "a2", "g1"))
		Expect(names("status.source", "Manual")).To(BeEmpty())
	})
})
