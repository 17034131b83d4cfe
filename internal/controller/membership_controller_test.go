//go:build envtest

package controller

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
)

const (
	dir = orgrbacv1alpha1.GroupSourceDirectory
	sso = orgrbacv1alpha1.GroupSourceSSO
)

// applySamples creates every object of config/samples in ns.
func applySamples(ns string) {
	GinkgoHelper()
	files, err := filepath.Glob(filepath.Join("..", "..", "config", "samples", "orgrbac_*.yaml"))
	Expect(err).NotTo(HaveOccurred())
	Expect(files).NotTo(BeEmpty())
	for _, f := range files {
		data, err := os.ReadFile(f)
		Expect(err).NotTo(HaveOccurred())
		dec := yaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
		for {
			u := &unstructured.Unstructured{}
			if err := dec.Decode(&u.Object); errors.Is(err, io.EOF) {
				break
			} else {
				Expect(err).NotTo(HaveOccurred())
			}
			u.SetNamespace(ns)
			Expect(k8s.Create(context.Background(), u)).To(Succeed())
		}
	}
}

var _ = Describe("Membership resolution", func() {
	var ns string
	BeforeEach(func(ctx SpecContext) { ns = newNamespace(ctx) })

	It("resolves the samples: each source, defaults at both levels, inactive members", func(ctx SpecContext) {
		applySamples(ns)
		all := []string{"settings:manage", "users:invite", "videos:create", "videos:delete", "videos:edit", "videos:view"}
		producer := []string{"videos:create", "videos:edit", "videos:view"}
		expectMembership(ctx, ns, "acme-alice", resolved{role: "admin", source: "Directory", roles: []string{"admin"}, permissions: all})
		expectMembership(ctx, ns, "acme-bob", resolved{role: "org-video-producer", source: "SSO", roles: []string{"org-video-producer"}, permissions: producer})
		expectMembership(ctx, ns, "acme-carol", resolved{role: "editor", source: "Manual", roles: []string{"editor"}, permissions: producer})
		expectMembership(ctx, ns, "acme-dave", resolved{role: "viewer", source: "Default", roles: []string{"viewer"}, permissions: []string{"videos:view"}})
		expectMembership(ctx, ns, "acme-erin", resolved{role: "admin", source: "Manual", roles: []string{"admin"}})
		expectMembership(ctx, ns, "globex-frank", resolved{role: "member", source: "Default", roles: []string{"member"}, permissions: []string{"users:invite", "videos:view"}})
		expectMembership(ctx, ns, "globex-grace", resolved{role: "editor", source: "Directory", roles: []string{"editor"}, permissions: producer})

		By("recording provenance")
		alice := get(ctx, ns, "acme-alice", &orgrbacv1alpha1.Membership{})
		Expect(alice.Status.Assignments).To(Equal([]orgrbacv1alpha1.RoleAssignment{{Role: "admin", Source: "Directory", Group: "engineering-admins"}}))

		By("making the organization own its memberships, organization roles and mappings")
		acme := get(ctx, ns, "acme", &orgrbacv1alpha1.Organization{})
		for _, obj := range []client.Object{&orgrbacv1alpha1.Membership{}, &orgrbacv1alpha1.OrganizationRole{}, &orgrbacv1alpha1.GroupMapping{}} {
			name := map[string]string{"*v1alpha1.Membership": "acme-dave", "*v1alpha1.OrganizationRole": "acme-video-producer",
				"*v1alpha1.GroupMapping": "acme-sso-video-team"}[fmt.Sprintf("%T", obj)]
			Eventually(func(g Gomega) {
				g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, obj)).To(Succeed())
				g.Expect(obj.GetOwnerReferences()).To(ConsistOf(And(HaveField("Kind", "Organization"), HaveField("Name", "acme"),
					HaveField("UID", acme.UID), HaveField("Controller", BeNil()))))
			}).WithContext(ctx).Should(Succeed(), name)
		}

		By("counting members on the environment")
		Eventually(func(g Gomega) {
			env := get(ctx, ns, "videos", &orgrbacv1alpha1.Environment{})
			g.Expect(env.Status.Roles).To(BeEquivalentTo(4))
			g.Expect(env.Status.Organizations).To(BeEquivalentTo(2))
			g.Expect(env.Status.Memberships).To(BeEquivalentTo(7))
		}).WithContext(ctx).Should(Succeed())
	})

	It("updates exactly the memberships holding a role when its permissions change", func(ctx SpecContext) {
		create(ctx, ns, roleObj("member", "a"), roleObj("editor", "b"), orgObj("o", ""))
		create(ctx, ns, memberObj("m1", "o", "u1", withRoles("editor")), memberObj("m2", "o", "u2"), memberObj("m3", "o", "u3", withRoles("editor")))
		expectMembership(ctx, ns, "m1", resolved{role: "editor", source: "Manual", roles: []string{"editor"}, permissions: []string{"b"}})
		expectMembership(ctx, ns, "m2", resolved{role: "member", source: "Default", roles: []string{"member"}, permissions: []string{"a"}})
		expectMembership(ctx, ns, "m3", resolved{role: "editor", source: "Manual", roles: []string{"editor"}, permissions: []string{"b"}})
		untouched := get(ctx, ns, "m2", &orgrbacv1alpha1.Membership{}).ResourceVersion

		update(ctx, ns, "editor", &orgrbacv1alpha1.Role{}, func(r *orgrbacv1alpha1.Role) { r.Spec.Permissions = []string{"c", "b"} })
		expectMembership(ctx, ns, "m1", resolved{role: "editor", source: "Manual", roles: []string{"editor"}, permissions: []string{"b", "c"}})
		expectMembership(ctx, ns, "m3", resolved{role: "editor", source: "Manual", roles: []string{"editor"}, permissions: []string{"b", "c"}})
		Consistently(func() string {
			return get(ctx, ns, "m2", &orgrbacv1alpha1.Membership{}).ResourceVersion
		}).WithContext(ctx).WithTimeout(2 * time.Second).Should(Equal(untouched))

		By("recording an event naming the old and new roles when the roles change")
		update(ctx, ns, "m1", &orgrbacv1alpha1.Membership{}, func(m *orgrbacv1alpha1.Membership) { m.Spec.Roles = []string{"member"} })
		expectMembership(ctx, ns, "m1", resolved{role: "member", source: "Manual", roles: []string{"member"}, permissions: []string{"a"}})
		Eventually(func(g Gomega) {
			var evs eventsv1.EventList
			g.Expect(k8s.List(ctx, &evs, client.InNamespace(ns))).To(Succeed())
			g.Expect(evs.Items).To(ContainElement(And(
				HaveField("Regarding.Name", "m1"), HaveField("Reason", "RolesChanged"),
				HaveField("Note", ContainSubstring("from [editor] to [member]")))))
		}).WithContext(ctx).Should(Succeed())
	})

	It("follows a user between directory groups, then falls back to manual, then to the default", func(ctx SpecContext) {
		create(ctx, ns, roleObj("member", "view"), roleObj("admin", "all"), roleObj("editor", "edit"), roleObj("billing", "pay"), orgObj("o", ""),
			mappingObj("admins", "o", dir, "g-admins", "admin"), mappingObj("editors", "o", dir, "g-editors", "editor"))
		create(ctx, ns, memberObj("m", "o", "u", withDirectory("g-admins"), withRoles("billing")))
		expectMembership(ctx, ns, "m", resolved{role: "admin", source: "Directory", roles: []string{"admin"}, permissions: []string{"all"}})

		update(ctx, ns, "m", &orgrbacv1alpha1.Membership{}, func(m *orgrbacv1alpha1.Membership) { m.Spec.DirectoryGroups = []string{"g-editors"} })
		expectMembership(ctx, ns, "m", resolved{role: "editor", source: "Directory", roles: []string{"editor"}, permissions: []string{"edit"}})

		update(ctx, ns, "m", &orgrbacv1alpha1.Membership{}, func(m *orgrbacv1alpha1.Membership) { m.Spec.DirectoryGroups = nil })
		expectMembership(ctx, ns, "m", resolved{role: "billing", source: "Manual", roles: []string{"billing"}, permissions: []string{"pay"}})

		update(ctx, ns, "m", &orgrbacv1alpha1.Membership{}, func(m *orgrbacv1alpha1.Membership) { m.Spec.Roles = nil })
		expectMembership(ctx, ns, "m", resolved{role: "member", source: "Default", roles: []string{"member"}, permissions: []string{"view"}})
	})

	It("re-resolves the group's members when a mapping changes, and an SSO mapping beats manual roles", func(ctx SpecContext) {
		create(ctx, ns, roleObj("member", "view"), roleObj("admin", "all"), roleObj("editor", "edit"), orgObj("o", ""))
		create(ctx, ns, memberObj("m", "o", "u", withSSO("g"), withRoles("editor")))
		expectMembership(ctx, ns, "m", resolved{role: "editor", source: "Manual", roles: []string{"editor"}, permissions: []string{"edit"}})
		create(ctx, ns, mappingObj("sso-g", "o", sso, "g", "admin"))
		expectMembership(ctx, ns, "m", resolved{role: "admin", source: "SSO", roles: []string{"admin"}, permissions: []string{"all"}})
		update(ctx, ns, "sso-g", &orgrbacv1alpha1.GroupMapping{}, func(g *orgrbacv1alpha1.GroupMapping) { g.Spec.Group = "other" })
		expectMembership(ctx, ns, "m", resolved{role: "editor", source: "Manual", roles: []string{"editor"}, permissions: []string{"edit"}})
	})

	It("keeps one role in a single-role environment and all of them when multipleRoles is on", func(ctx SpecContext) {
		create(ctx, ns, envObj("env", "", false, "admin", "editor"), roleObj("member", "view"), roleObj("editor", "edit"), roleObj("admin", "all"), orgObj("o", ""))
		create(ctx, ns, memberObj("m", "o", "u", withRoles("editor", "admin")))
		expectMembership(ctx, ns, "m", resolved{role: "admin", source: "Manual", roles: []string{"admin"}, permissions: []string{"all"}})
		Eventually(func(g Gomega) {
			m := get(ctx, ns, "m", &orgrbacv1alpha1.Membership{})
			g.Expect(m.Status.Conditions).To(ContainElement(And(
				HaveField("Type", orgrbacv1alpha1.ConditionReferencesResolved),
				HaveField("Reason", orgrbacv1alpha1.ReasonTooManyRoles))))
		}).WithContext(ctx).Should(Succeed())

		update(ctx, ns, "env", &orgrbacv1alpha1.Environment{}, func(e *orgrbacv1alpha1.Environment) { e.Spec.MultipleRoles = true })
		expectMembership(ctx, ns, "m", resolved{role: "admin", source: "Manual", roles: []string{"admin", "editor"}, permissions: []string{"all", "edit"}})

		By("reordering priorities")
		update(ctx, ns, "env", &orgrbacv1alpha1.Environment{}, func(e *orgrbacv1alpha1.Environment) { e.Spec.RolePriority = []string{"editor", "admin"} })
		expectMembership(ctx, ns, "m", resolved{role: "editor", source: "Manual", roles: []string{"editor", "admin"}, permissions: []string{"all", "edit"}})

		update(ctx, ns, "env", &orgrbacv1alpha1.Environment{}, func(e *orgrbacv1alpha1.Environment) { e.Spec.MultipleRoles = false })
		expectMembership(ctx, ns, "m", resolved{role: "editor", source: "Manual", roles: []string{"editor"}, permissions: []string{"edit"}})
	})

	It("resolves a membership created before its organization and roles once they appear", func(ctx SpecContext) {
		create(ctx, ns, memberObj("m", "late", "u", withRoles("org-late")))
		expectMembership(ctx, ns, "m", resolved{reason: orgrbacv1alpha1.ReasonOrganizationNotFound})
		create(ctx, ns, orgObj("late", ""))
		expectMembership(ctx, ns, "m", resolved{reason: orgrbacv1alpha1.ReasonDefaultRoleMissing})
		create(ctx, ns, roleObj("member", "view"))
		expectMembership(ctx, ns, "m", resolved{role: "member", source: "Default", roles: []string{"member"}, permissions: []string{"view"}})
		create(ctx, ns, orgRoleObj("late-role", "late", "org-late", "special"))
		expectMembership(ctx, ns, "m", resolved{role: "org-late", source: "Manual", roles: []string{"org-late"}, permissions: []string{"special"}})
	})

	It("fails closed when no default role resolves, and reports unknown roles", func(ctx SpecContext) {
		create(ctx, ns, envObj("env", "nope", false), orgObj("o", ""), roleObj("editor", "edit"))
		create(ctx, ns, memberObj("m", "o", "u", withRoles("ghost")))
		expectMembership(ctx, ns, "m", resolved{reason: orgrbacv1alpha1.ReasonDefaultRoleMissing})
		Eventually(func(g Gomega) {
			m := get(ctx, ns, "m", &orgrbacv1alpha1.Membership{})
			g.Expect(m.Status.Conditions).To(ContainElement(And(
				HaveField("Type", orgrbacv1alpha1.ConditionReferencesResolved),
				HaveField("Reason", orgrbacv1alpha1.ReasonRoleNotFound),
				HaveField("Message", ContainSubstring("ghost")))))
			env := get(ctx, ns, "env", &orgrbacv1alpha1.Environment{})
			g.Expect(env.Status.Conditions).To(ContainElement(And(
				HaveField("Type", orgrbacv1alpha1.ConditionReferencesResolved),
				HaveField("Message", ContainSubstring("defaultRole nope")))))
		}).WithContext(ctx).Should(Succeed())
		update(ctx, ns, "env", &orgrbacv1alpha1.Environment{}, func(e *orgrbacv1alpha1.Environment) { e.Spec.DefaultRole = "editor" })
		expectMembership(ctx, ns, "m", resolved{role: "editor", source: "Default", roles: []string{"editor"}, permissions: []string{"edit"}})
	})

	It("lets the oldest duplicate win", func(ctx SpecContext) {
		create(ctx, ns, roleObj("member", "view"), orgObj("o", ""))
		create(ctx, ns, memberObj("first", "o", "u"))
		expectMembership(ctx, ns, "first", resolved{role: "member", source: "Default", roles: []string{"member"}, permissions: []string{"view"}})
		time.Sleep(1100 * time.Millisecond) // creation timestamps have one-second resolution
		create(ctx, ns, memberObj("second", "o", "u"))
		expectMembership(ctx, ns, "second", resolved{reason: orgrbacv1alpha1.ReasonDuplicate})
		expectMembership(ctx, ns, "first", resolved{role: "member", source: "Default", roles: []string{"member"}, permissions: []string{"view"}})

		By("promoting the survivor when the winner is deleted")
		Expect(k8s.Delete(ctx, get(ctx, ns, "first", &orgrbacv1alpha1.Membership{}))).To(Succeed())
		expectMembership(ctx, ns, "second", resolved{role: "member", source: "Default", roles: []string{"member"}, permissions: []string{"view"}})

		By("reporting duplicate roles and environments")
		create(ctx, ns, envObj("env-a", "", false))
		time.Sleep(1100 * time.Millisecond)
		dupRole := roleObj("member-copy", "everything")
		dupRole.Spec.Slug = "member"
		create(ctx, ns, envObj("env-b", "", true), dupRole)
		Eventually(func(g Gomega) {
			g.Expect(get(ctx, ns, "env-b", &orgrbacv1alpha1.Environment{}).Status.Conditions).To(ContainElement(HaveField("Reason", orgrbacv1alpha1.ReasonDuplicate)))
			g.Expect(get(ctx, ns, "member-copy", &orgrbacv1alpha1.Role{}).Status.Conditions).To(ContainElement(HaveField("Reason", orgrbacv1alpha1.ReasonDuplicate)))
		}).WithContext(ctx).Should(Succeed())
		expectMembership(ctx, ns, "second", resolved{role: "member", source: "Default", roles: []string{"member"}, permissions: []string{"view"}})
	})

	It("keeps an inactive membership's roles but no permissions", func(ctx SpecContext) {
		create(ctx, ns, roleObj("member", "view"), roleObj("admin", "all"), orgObj("o", ""))
		create(ctx, ns, memberObj("m", "o", "u", withRoles("admin"), withState(orgrbacv1alpha1.MembershipPending)))
		expectMembership(ctx, ns, "m", resolved{role: "admin", source: "Manual", roles: []string{"admin"}})
		update(ctx, ns, "m", &orgrbacv1alpha1.Membership{}, func(m *orgrbacv1alpha1.Membership) { m.Spec.State = orgrbacv1alpha1.MembershipActive })
		expectMembership(ctx, ns, "m", resolved{role: "admin", source: "Manual", roles: []string{"admin"}, permissions: []string{"all"}})
		update(ctx, ns, "m", &orgrbacv1alpha1.Membership{}, func(m *orgrbacv1alpha1.Membership) { m.Spec.State = orgrbacv1alpha1.MembershipInactive })
		expectMembership(ctx, ns, "m", resolved{role: "admin", source: "Manual", roles: []string{"admin"}})
	})

	It("keeps organization roles to their organization", func(ctx SpecContext) {
		create(ctx, ns, roleObj("member", "view"), orgObj("a", ""), orgObj("b", ""), orgRoleObj("a-special", "a", "org-special", "secret"))
		create(ctx, ns, memberObj("in-a", "a", "u", withRoles("org-special")), memberObj("in-b", "b", "u", withRoles("org-special")))
		expectMembership(ctx, ns, "in-a", resolved{role: "org-special", source: "Manual", roles: []string{"org-special"}, permissions: []string{"secret"}})
		expectMembership(ctx, ns, "in-b", resolved{role: "member", source: "Default", roles: []string{"member"}, permissions: []string{"view"}})
	})

	It("writes nothing on roles, organizations and mappings when their members change", func(ctx SpecContext) {
		create(ctx, ns, roleObj("member", "view"), roleObj("admin", "all"), orgObj("a", ""),
			orgRoleObj("a-admin", "a", "org-admin", "a:all"), mappingObj("a-eng", "a", dir, "eng", "org-admin"))
		create(ctx, ns, memberObj("a1", "a", "u1", withRoles("admin")), memberObj("a2", "a", "u2", withDirectory("eng")))
		expectMembership(ctx, ns, "a1", resolved{role: "admin", source: "Manual", roles: []string{"admin"}, permissions: []string{"all"}})
		expectMembership(ctx, ns, "a2", resolved{role: "org-admin", source: "Directory", roles: []string{"org-admin"}, permissions: []string{"a:all"}})
		objs := map[string]conditioned{"member": &orgrbacv1alpha1.Role{}, "admin": &orgrbacv1alpha1.Role{},
			"a": &orgrbacv1alpha1.Organization{}, "a-admin": &orgrbacv1alpha1.OrganizationRole{}, "a-eng": &orgrbacv1alpha1.GroupMapping{}}
		versions := func(g Gomega) map[string]string {
			out := map[string]string{}
			for name, obj := range objs {
				g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, obj)).To(Succeed())
				g.Expect(meta.IsStatusConditionTrue(obj.GetConditions(), orgrbacv1alpha1.ConditionReady)).To(BeTrue(), name)
				out[name] = obj.GetResourceVersion()
			}
			return out
		}
		// Each object's own status is written once: Ready, observed.
		var before map[string]string
		Eventually(func(g Gomega) { before = versions(g) }).WithContext(ctx).Should(Succeed())

		By("adding members, moving one between roles and groups, removing one")
		create(ctx, ns, memberObj("a3", "a", "u3", withRoles("org-admin")), memberObj("a4", "a", "u4", withDirectory("eng")))
		update(ctx, ns, "a1", &orgrbacv1alpha1.Membership{}, func(m *orgrbacv1alpha1.Membership) {
			m.Spec.Roles, m.Spec.DirectoryGroups = nil, []string{"eng"}
		})
		Expect(k8s.Delete(ctx, get(ctx, ns, "a2", &orgrbacv1alpha1.Membership{}))).To(Succeed())
		expectMembership(ctx, ns, "a1", resolved{role: "org-admin", source: "Directory", roles: []string{"org-admin"}, permissions: []string{"a:all"}})
		expectMembership(ctx, ns, "a3", resolved{role: "org-admin", source: "Manual", roles: []string{"org-admin"}, permissions: []string{"a:all"}})
		expectMembership(ctx, ns, "a4", resolved{role: "org-admin", source: "Directory", roles: []string{"org-admin"}, permissions: []string{"a:all"}})
		Consistently(func(g Gomega) map[string]string { return versions(g) }).WithContext(ctx).WithTimeout(3 * time.Second).Should(Equal(before))
	})
})

var _ = Describe("Other kinds' status", func() {
	var ns string
	BeforeEach(func(ctx SpecContext) { ns = newNamespace(ctx) })

	It("reports undeclared permissions once a catalog exists, and mappings to unknown roles", func(ctx SpecContext) {
		create(ctx, ns, roleObj("member", "videos:view", "typo:perm"), orgObj("o", ""), mappingObj("bad", "o", dir, "g", "ghost"))
		Eventually(func(g Gomega) {
			g.Expect(get(ctx, ns, "member", &orgrbacv1alpha1.Role{}).Status.Conditions).To(ContainElement(And(
				HaveField("Type", orgrbacv1alpha1.ConditionReferencesResolved), HaveField("Reason", orgrbacv1alpha1.ReasonAllFound))))
			g.Expect(get(ctx, ns, "bad", &orgrbacv1alpha1.GroupMapping{}).Status.Conditions).To(ContainElement(And(
				HaveField("Type", orgrbacv1alpha1.ConditionReady), HaveField("Reason", orgrbacv1alpha1.ReasonRoleNotFound))))
		}).WithContext(ctx).Should(Succeed())

		perm := &orgrbacv1alpha1.Permission{}
		perm.Name, perm.Spec.Slug = "videos-view", "videos:view"
		create(ctx, ns, perm, roleObj("ghost", "videos:view"))
		Eventually(func(g Gomega) {
			g.Expect(get(ctx, ns, "member", &orgrbacv1alpha1.Role{}).Status.Conditions).To(ContainElement(And(
				HaveField("Reason", orgrbacv1alpha1.ReasonUndeclaredPermissions), HaveField("Message", ContainSubstring("typo:perm")))))
			g.Expect(get(ctx, ns, "bad", &orgrbacv1alpha1.GroupMapping{}).Status.Conditions).To(ContainElement(And(
				HaveField("Type", orgrbacv1alpha1.ConditionReady), HaveField("Reason", orgrbacv1alpha1.ReasonResolved))))
		}).WithContext(ctx).Should(Succeed())
	})
})

var _ = Describe("Quiet when nothing changes", Serial, func() {
	It("writes nothing again after convergence, even across a manager restart", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		applySamples(ns)
		expectMembership(ctx, ns, "globex-grace", resolved{role: "editor", source: "Directory", roles: []string{"editor"},
			permissions: []string{"videos:create", "videos:edit", "videos:view"}})

		versions := func() map[string]string {
			out := map[string]string{}
			for _, l := range []client.ObjectList{&orgrbacv1alpha1.MembershipList{}, &orgrbacv1alpha1.RoleList{},
				&orgrbacv1alpha1.OrganizationList{}, &orgrbacv1alpha1.OrganizationRoleList{}, &orgrbacv1alpha1.GroupMappingList{},
				&orgrbacv1alpha1.EnvironmentList{}, &orgrbacv1alpha1.PermissionList{}} {
				Expect(k8s.List(ctx, l, client.InNamespace(ns))).To(Succeed())
				items, err := meta.ExtractList(l)
				Expect(err).NotTo(HaveOccurred())
				for _, it := range items {
					o := it.(client.Object)
					out[o.GetObjectKind().GroupVersionKind().Kind+"/"+o.GetName()] = o.GetResourceVersion()
				}
			}
			return out
		}
		// Converged: nothing moves for a while (counts are throttled to one per 2s).
		var before map[string]string
		Eventually(func(g Gomega) {
			v1 := versions()
			time.Sleep(3 * time.Second)
			g.Expect(versions()).To(Equal(v1))
			before = v1
		}).WithContext(ctx).WithTimeout(60 * time.Second).Should(Succeed())

		By("restarting the manager: a fresh cache reconciles every object again")
		stopManager()
		stopManager = startManager()
		Consistently(versions).WithContext(ctx).WithTimeout(6 * time.Second).WithPolling(500 * time.Millisecond).Should(Equal(before))
	})
})
