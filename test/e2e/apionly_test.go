//go:build envtest

package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// apiOnlyAgent is the name of the API-only process's binary (a copy of the
// manager's): the API server records it as the field manager of any write the
// process made, so that the test can tell its writes (there must be none) from
// the manager's.
const apiOnlyAgent = "orgrbac-api-only"

// startAPIOnly runs the built manager as the decision API alone
// (--enable-controllers=false --enable-webhooks=false, no leader election),
// authenticated as a ServiceAccount bound only to the ClusterRole of
// config/rbac/api_server_role.yaml, as the Helm chart's separate API Deployment
// runs it.
func startAPIOnly(ctx context.Context) *manager {
	GinkgoHelper()
	const sa = "orgrbac-api-server"
	role := kubectl("create", "-f", filepath.Join(root, "config", "rbac", "api_server_role.yaml"), "-o", "name")
	Expect(role).To(Equal("clusterrole.rbac.authorization.k8s.io/api-server-role"))
	kubectl("create", "serviceaccount", "-n", systemNamespace, sa)
	kubectl("create", "clusterrolebinding", "orgrbac-e2e-api-server", "--clusterrole=api-server-role",
		"--serviceaccount="+systemNamespace+":"+sa)
	kube := serviceAccountKubeconfig(systemNamespace, sa)

	bin := filepath.Join(work, apiOnlyAgent)
	data, err := os.ReadFile(managerBin)
	Expect(err).NotTo(HaveOccurred())
	Expect(os.WriteFile(bin, data, 0o755)).To(Succeed())
	return startProcess(ctx, "api-only", bin, func(*manager) []string {
		return []string{"--kubeconfig", kube, "--enable-controllers=false", "--enable-webhooks=false"}
	})
}

// expectAPIOnly: the API-only process, next to the manager (leader), answers
// checks from its own cache, follows a Role edit within seconds, and writes
// nothing.
func expectAPIOnly(ctx context.Context, leader *manager) {
	GinkgoHelper()
	leaseHolder := func() string {
		return kubectl("get", "lease", "-n", systemNamespace, "manager.orgrbac.dev", "-o", "jsonpath={.spec.holderIdentity}")
	}
	holder := leaseHolder()
	Expect(holder).NotTo(BeEmpty())
	started := time.Now()
	apiOnly := startAPIOnly(ctx)
	dumpOnFailure("videos", leader, apiOnly)
	GinkgoWriter.Printf("API-only process ready in %s\n", time.Since(started).Round(time.Millisecond))

	By("its ServiceAccount reads orgrbac's kinds, reviews tokens and access, and writes only the Memberships and OrganizationRoles of the WorkOS routes")
	as := "--as=system:serviceaccount:" + systemNamespace + ":orgrbac-api-server"
	for _, q := range [][]string{
		{"update", "memberships.orgrbac.dev", "--subresource=status", "-n", "videos"},
		{"create", "leases.coordination.k8s.io", "-n", systemNamespace},
		{"create", "configmaps", "-n", "videos"},
		{"list", "configmaps", "-n", "videos"},
		{"create", "events", "-n", "videos"},
		{"get", "secrets", "-n", systemNamespace},
		{"update", "roles.orgrbac.dev", "-n", "videos"},
		{"create", "groupmappings.orgrbac.dev", "-n", "videos"},
		{"update", "environments.orgrbac.dev", "-n", "videos"},
	} {
		out, _ := runKubectl(adminKube, "", append([]string{"auth", "can-i", as}, q...)...)
		Expect(out).To(Equal("no"), "the API-only ServiceAccount may %v", q)
	}
	for _, q := range [][]string{
		{"watch", "memberships.orgrbac.dev", "-A"},
		{"watch", "groupmappings.orgrbac.dev", "-A"},
		{"create", "memberships.orgrbac.dev", "-n", "videos"},
		{"delete", "organizationroles.orgrbac.dev", "-n", "videos"},
	} {
		out, _ := runKubectl(adminKube, "", append([]string{"auth", "can-i", as}, q...)...)
		Expect(out).To(Equal("yes"), "the API-only ServiceAccount may not %v", q)
	}

	By("it answers checks, verified with the suite's CA")
	token := kubectl("create", "token", "-n", "videos", "workload", "--audience="+apiAudience)
	stranger := kubectl("create", "token", "-n", "videos", "stranger", "--audience="+apiAudience)
	check := func(m *manager, tok, user, perm string) (int, string) {
		return httpPost(ctx, fmt.Sprintf("https://127.0.0.1:%d/v1/check", m.apiPort), tok,
			fmt.Sprintf(`{"organization":"acme","user":%q,"permission":%q}`, user, perm))
	}
	code, body := check(apiOnly, token, "user_alice", "videos:delete")
	Expect(code).To(Equal(http.StatusOK), body)
	Expect(body).To(ContainSubstring(`"allowed":true`))
	code, body = check(apiOnly, token, "user_dave", "videos:delete")
	Expect(code).To(Equal(http.StatusOK), body)
	Expect(body).To(ContainSubstring(`"allowed":false`))
	code, body = check(apiOnly, stranger, "user_alice", "videos:delete")
	Expect(code).To(Equal(http.StatusForbidden), body)
	Expect(body).NotTo(ContainSubstring("allowed"))
	code, _ = check(apiOnly, "", "user_alice", "videos:delete")
	Expect(code).To(Equal(http.StatusUnauthorized))
	members := fmt.Sprintf("https://127.0.0.1:%d/user_management/organization_memberships", apiOnly.apiPort)
	Expect(httpGet(ctx, members, token)).To(Equal(http.StatusOK), "workload is bound to orgrbac-api-reader too")
	Expect(httpGet(ctx, members, stranger)).To(Equal(http.StatusForbidden))

	By("it follows a Role edit within seconds")
	code, body = check(apiOnly, token, "user_dave", "videos:comment")
	Expect(code).To(Equal(http.StatusOK), body)
	Expect(body).To(ContainSubstring(`"allowed":false`))
	edit := time.Now()
	kubectl("patch", "roles.orgrbac.dev", "-n", "videos", "viewer", "--type=json", "-p",
		`[{"op":"add","path":"/spec/permissions/-","value":"videos:comment"}]`)
	Eventually(func(g Gomega) {
		code, body := check(apiOnly, token, "user_dave", "videos:comment")
		g.Expect(code).To(Equal(http.StatusOK), body)
		g.Expect(body).To(ContainSubstring(`"allowed":true`))
	}).WithContext(ctx).WithTimeout(10 * time.Second).WithPolling(50 * time.Millisecond).Should(Succeed())
	took := time.Since(edit)
	GinkgoWriter.Printf("The API-only process answered the Role edit after %s\n", took.Round(time.Millisecond))
	// The manager's API agrees.
	code, body = check(leader, token, "user_dave", "videos:comment")
	Expect(code).To(Equal(http.StatusOK), body)
	Expect(body).To(ContainSubstring(`"allowed":true`))
	kubectl("patch", "roles.orgrbac.dev", "-n", "videos", "viewer", "--type=merge", "-p", `{"spec":{"permissions":["videos:view"]}}`)
	Eventually(func(g Gomega) {
		_, body := check(apiOnly, token, "user_dave", "videos:comment")
		g.Expect(body).To(ContainSubstring(`"allowed":false`))
	}).WithContext(ctx).WithTimeout(10 * time.Second).Should(Succeed())

	By("it wrote nothing: the lease is the manager's, and no object names it as a field manager")
	Expect(leaseHolder()).To(Equal(holder))
	leases := kubectl("get", "leases", "-A", "-o", `jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name}={.spec.holderIdentity}{"\n"}{end}`)
	for _, l := range strings.Fields(leases) {
		Expect(l).NotTo(ContainSubstring(apiOnlyAgent))
	}
	managers := kubectl("get", "orgrbac,configmaps,leases,events", "-A", "-o", "jsonpath={.items[*].metadata.managedFields[*].manager}")
	Expect(managers).NotTo(BeEmpty())
	Expect(strings.Fields(managers)).NotTo(ContainElement(apiOnlyAgent))
	logData, err := os.ReadFile(apiOnly.log)
	Expect(err).NotTo(HaveOccurred())
	Expect(string(logData)).NotTo(ContainSubstring("forbidden"), "the API-only process tried something its role does not allow")
	// What the manager logs as it starts its controllers, webhooks and leadership,
	// the API-only process never does.
	leaderLog, err := os.ReadFile(leader.log)
	Expect(err).NotTo(HaveOccurred())
	for _, line := range []string{"Starting Controller", "Starting webhook server", "acquired lease"} {
		Expect(string(leaderLog)).To(ContainSubstring(line), "the manager's log")
		Expect(string(logData)).NotTo(ContainSubstring(line), "the API-only process's log")
	}
	Expect(string(logData)).To(ContainSubstring("Serving the decision API"))
	apiOnly.stop()
}
