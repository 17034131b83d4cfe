//go:build envtest

package plugin

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/testobj"
)

// update rewrites the golden files:
// KUBEBUILDER_ASSETS=$(hack/controlplane.sh) go test -tags envtest ./internal/plugin -args -update
var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// Parts of the output that change from run to run.
var (
	agePattern      = regexp.MustCompile(`\b\d+(s|m|h|d|y)(\d+(s|m|h))? ago\b`)
	revisionPattern = regexp.MustCompile(`\brevision \d+\b`)
	jsonTimePattern = regexp.MustCompile(`"(publishedAt|publishedAge)": "[^"]*"`)
)

// normalize replaces what varies between runs.
func normalize(s string) string {
	s = agePattern.ReplaceAllString(s, "<age> ago")
	s = revisionPattern.ReplaceAllString(s, "revision <n>")
	return jsonTimePattern.ReplaceAllString(s, `"$1": "<time>"`)
}

// golden runs kubectl orgrbac as the reader in the samples' namespace and
// compares the command line, exit code and output with testdata/<name>.golden.
func golden(name string, args ...string) result {
	GinkgoHelper()
	return goldenAs(readerKube, name, args...)
}

func goldenAs(kubeconfig, name string, args ...string) result {
	GinkgoHelper()
	if !slices.Contains(args, "-n") {
		args = append(args, "-n", samplesNS)
	}
	res := run(kubeconfig, args...)
	got := fmt.Sprintf("$ kubectl orgrbac %s\nexit code: %d\n--- stdout\n%s--- stderr\n%s",
		strings.Join(args, " "), res.code, normalize(res.stdout), normalize(res.stderr))
	path := filepath.Join("testdata", name+".golden")
	if *update {
		Expect(os.MkdirAll("testdata", 0o755)).To(Succeed())
		Expect(os.WriteFile(path, []byte(got), 0o644)).To(Succeed())
	}
	want, err := os.ReadFile(path)
	Expect(err).NotTo(HaveOccurred(), "golden file %s (go test -tags envtest ./internal/plugin -args -update writes it)", path)
	Expect(got).To(Equal(string(want)), "output of %s differs from %s", strings.Join(args, " "), path)
	return res
}

var _ = Describe("kubectl orgrbac", func() {
	Describe("can-i", func() {
		It("answers yes with exit code 0", func() {
			Expect(golden("can-i-alice-delete", "can-i", "acme", "user_alice", "videos:delete").code).To(Equal(ExitOK))
		})
		It("answers no with exit code 1 and the reason", func() {
			Expect(golden("can-i-dave-delete", "can-i", "acme", "user_dave", "videos:delete").code).To(Equal(ExitNo))
		})
		It("takes the organization's externalID and several permissions, and prints JSON", func() {
			Expect(golden("can-i-externalid-json", "can-i", "org_01HACME0000000000000000000", "user_bob",
				"videos:create", "videos:delete", "-o", "json").code).To(Equal(ExitNo))
		})
		It("never allows an inactive membership", func() {
			Expect(golden("can-i-erin-inactive", "can-i", "acme", "user_erin", "videos:view").code).To(Equal(ExitNo))
		})
		It("answers no for a stranger to the organization", func() {
			Expect(golden("can-i-not-member", "can-i", "globex", "user_alice", "videos:view").code).To(Equal(ExitNo))
			Expect(golden("can-i-no-organization", "can-i", "initech", "user_alice", "videos:view").code).To(Equal(ExitNo))
		})
		It("prints nothing with --quiet", func() {
			res := run(readerKube, "can-i", "acme", "user_alice", "videos:delete", "-q", "-n", samplesNS)
			Expect(res).To(Equal(result{code: ExitOK}))
		})
		It("fails with exit code 2, not 1, when the user may not read the environment", func() {
			Expect(goldenAs(strangerKube, "can-i-forbidden", "can-i", "acme", "user_alice", "videos:delete").code).To(Equal(ExitError))
		})
	})

	Describe("who-can", func() {
		It("lists the members holding a permission with the granting role and its source", func() {
			golden("who-can-create", "who-can", "acme", "videos:create")
		})
		It("prints YAML", func() {
			golden("who-can-manage-yaml", "who-can", "globex", "videos:edit", "-o", "yaml")
		})
		It("says when nobody holds it", func() {
			golden("who-can-nobody", "who-can", "acme", "billing:manage")
		})
	})

	Describe("explain", func() {
		It("shows a directory-mapped role and which role grants each permission", func() {
			golden("explain-alice", "explain", "acme", "user_alice")
		})
		It("shows an SSO mapping beating a manual role", func() {
			golden("explain-bob", "explain", "acme", "user_bob")
		})
		It("shows the default role", func() {
			golden("explain-dave", "explain", "acme", "user_dave")
		})
		It("shows an inactive membership's roles without permissions, as JSON", func() {
			golden("explain-erin-json", "explain", "acme", "user_erin", "-o", "json")
		})
		It("fails for a user who is not a member", func() {
			Expect(golden("explain-unknown", "explain", "acme", "user_nobody").code).To(Equal(ExitError))
		})
	})

	Describe("preview-delete", func() {
		It("shows the rewrites and who loses what, and that the webhook allows it", func() {
			golden("preview-delete-editor", "preview-delete", "editor", "--replacement", "viewer")
		})
		It("shows the webhook's denial of deleting a default without a replacement", func() {
			golden("preview-delete-viewer", "preview-delete", "viewer")
		})
		It("previews an organization role without a replacement", func() {
			golden("preview-delete-orgrole", "preview-delete", "organizationrole/acme-video-producer")
		})
		It("deletes nothing", func(ctx SpecContext) {
			for _, name := range []string{"editor", "viewer"} {
				res := run(readerKube, "preview-delete", name, "-n", samplesNS)
				Expect(res.code).To(Equal(ExitOK), res.stderr)
			}
			golden("can-i-alice-delete", "can-i", "acme", "user_alice", "videos:delete")
			golden("explain-bob", "explain", "acme", "user_bob")
		})
	})

	Describe("status", func() {
		It("shows readiness per kind, problems, the publication and the manager", func() {
			golden("status", "status")
		})
		It("shows unresolved slugs and objects that are not Ready", func(ctx SpecContext) {
			ns := "broken"
			// (Duplicates cannot be created while the admission webhook runs: it denies them.)
			createResolved(ctx, ns,
				testobj.Environment("broken", "", false, "admin", "ghost"),
				testobj.Role("admin", "videos:view"),
				testobj.Organization("acme", "nobody-default"),
				testobj.Membership("acme-alice", "acme", "user_alice", testobj.WithRoles("admin", "nope")),
				// No source gives bob a role and no default resolves: not Ready.
				testobj.Membership("acme-bob", "acme", "user_bob"),
			)
			Eventually(func(g Gomega) {
				var env orgrbacv1alpha1.Environment
				g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "broken"}, &env)).To(Succeed())
				g.Expect(env.Status.Revision).To(BeNumerically(">", 0))
				rc := condition(env.Status.Conditions, orgrbacv1alpha1.ConditionReferencesResolved)
				g.Expect(rc).NotTo(BeNil())
				g.Expect(rc.Message).To(ContainSubstring("ghost"))
				g.Expect(rc.Message).NotTo(ContainSubstring("admin"), "the Role admin exists")
				var org orgrbacv1alpha1.Organization
				g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "acme"}, &org)).To(Succeed())
				g.Expect(condition(org.Status.Conditions, orgrbacv1alpha1.ConditionReferencesResolved)).NotTo(BeNil())
			}).WithContext(ctx).Should(Succeed())
			golden("status-problems", "status", "-n", ns)
		})
	})

	Describe("members", func() {
		It("counts the memberships by organization, by role held and by group mapping", func() {
			golden("members", "members")
		})
		It("restricts the counts to one organization, named by its externalID, and prints YAML", func() {
			golden("members-organization-yaml", "members", "--organization", "org_01HACME0000000000000000000", "-o", "yaml")
		})
		It("fails for an organization that is not there", func() {
			Expect(golden("members-unknown-organization", "members", "--organization", "umbrella").code).To(Equal(ExitError))
		})
		It("counts inactive, pending and not Ready members, a missing organization and a mapping that loses", func(ctx SpecContext) {
			ns := "counts"
			createResolved(ctx, ns,
				testobj.Role("member", "videos:view"),
				testobj.Role("admin", "videos:view", "videos:delete"),
				testobj.Organization("acme", ""),
				testobj.OrganizationRole("acme-ops", "acme", "org-ops", "videos:view"),
				testobj.GroupMapping("acme-directory-ops", "acme", orgrbacv1alpha1.GroupSourceDirectory, "ops", "org-ops"),
				testobj.GroupMapping("acme-sso-admins", "acme", orgrbacv1alpha1.GroupSourceSSO, "admins", "admin"),
				// The directory mapping beats the SSO one: alice is in both groups
				// and holds org-ops only.
				testobj.Membership("acme-alice", "acme", "user_alice", testobj.WithDirectory("ops"), testobj.WithSSO("admins")),
				testobj.Membership("acme-bob", "acme", "user_bob", testobj.WithSSO("admins"),
					testobj.WithState(orgrbacv1alpha1.MembershipPending)),
				testobj.Membership("acme-carol", "acme", "user_carol", testobj.WithState(orgrbacv1alpha1.MembershipInactive)),
				testobj.Membership("acme-dave", "acme", "user_dave"),
				// No Organization initech: Ready=False, OrganizationNotFound.
				testobj.Membership("initech-erin", "initech", "user_erin"),
			)
			Eventually(func(g Gomega) {
				var ms orgrbacv1alpha1.MembershipList
				g.Expect(k8s.List(ctx, &ms, client.InNamespace(ns))).To(Succeed())
				for _, m := range ms.Items {
					if m.Spec.Organization == "acme" {
						g.Expect(ready(m.Status.Conditions)).To(BeTrue(), m.Name)
					}
				}
			}).WithContext(ctx).Should(Succeed())
			golden("members-problems", "members", "-n", ns)
		})
		It("counts every namespace with -A", func() {
			res := run(readerKube, "members", "-A", "-o", "json")
			Expect(res.code).To(Equal(ExitOK), res.stderr)
			Expect(res.stdout).To(ContainSubstring(`"namespace": "videos"`))
		})
	})
})

// createResolved creates namespace ns and objs in it, then waits until every
// Membership among objs has a Ready condition computed for its latest
// generation.
func createResolved(ctx context.Context, ns string, objs ...client.Object) {
	GinkgoHelper()
	Expect(k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
	memberships := 0
	for _, o := range objs {
		if _, ok := o.(*orgrbacv1alpha1.Membership); ok {
			memberships++
		}
		o.SetNamespace(ns)
		Expect(k8s.Create(ctx, o)).To(Succeed())
	}
	Eventually(func(g Gomega) {
		var ms orgrbacv1alpha1.MembershipList
		g.Expect(k8s.List(ctx, &ms, client.InNamespace(ns))).To(Succeed())
		g.Expect(ms.Items).To(HaveLen(memberships))
		for _, m := range ms.Items {
			g.Expect(condition(m.Status.Conditions, orgrbacv1alpha1.ConditionReady)).NotTo(BeNil(), m.Name)
			g.Expect(m.Status.ObservedGeneration).To(Equal(m.Generation), m.Name)
		}
	}).WithContext(ctx).Should(Succeed())
}
