//go:build envtest

package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/yaml"
)

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// httpPost posts a JSON body with a bearer token and returns the status and body.
func httpPost(ctx context.Context, url, token, body string) (int, string) {
	GinkgoHelper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	Expect(err).NotTo(HaveOccurred())
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := verifiedClient().Do(req)
	Expect(err).NotTo(HaveOccurred())
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(resp.Body)
	Expect(err).NotTo(HaveOccurred())
	return resp.StatusCode, string(data)
}

// verifiedClient verifies the manager's endpoints (the decision API and
// /metrics) with webhookCA: the managers serve the webhook certificate on both.
func verifiedClient() *http.Client {
	GinkgoHelper()
	roots := x509.NewCertPool()
	Expect(roots.AppendCertsFromPEM(webhookCA)).To(BeTrue(), "webhookCA holds no certificate")
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}}}
}

// httpGetOK returns nil when GET url answers 200.
func httpGetOK(ctx context.Context, url string) error {
	code, err := httpGet(ctx, url, "")
	if err != nil {
		return err
	}
	if code != http.StatusOK {
		return fmt.Errorf("GET %s: %d", url, code)
	}
	return nil
}

// apiAudience is the decision API's token audience (its --api-token-audience
// default): callers use tokens minted for it.
const apiAudience = "orgrbac.dev/decision-api"

// httpGet returns the status code of GET url, with a bearer token when not empty.
// The certificate is verified with webhookCA.
func httpGet(ctx context.Context, url, token string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := verifiedClient().Do(req)
	if err != nil {
		return 0, err
	}
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}

// membershipField reads a jsonpath of a membership.
func membershipField(ns, name, path string) string {
	GinkgoHelper()
	return kubectl("get", "memberships.orgrbac.dev", "-n", ns, name, "-o", "jsonpath="+path)
}

// applySamples applies config/samples' orgrbac files into a new namespace.
func applySamples(ns string) {
	GinkgoHelper()
	kubectl("create", "namespace", ns)
	files, err := filepath.Glob(filepath.Join(root, "config", "samples", "orgrbac_*.yaml"))
	Expect(err).NotTo(HaveOccurred())
	for _, f := range files {
		kubectl("apply", "-n", ns, "-f", f)
	}
}

// waitMembershipsReady waits until every membership of ns is Ready.
func waitMembershipsReady(ns string) {
	GinkgoHelper()
	Eventually(func() error {
		_, err := kubectlErr("wait", "memberships.orgrbac.dev", "--all", "-n", ns, "--timeout=5s",
			`--for=jsonpath={.status.conditions[?(@.type=="Ready")].status}=True`)
		return err
	}).WithTimeout(90 * time.Second).Should(Succeed())
}

var _ = Describe("orgrbac on a real control plane", Ordered, func() {
	var leader *manager

	BeforeAll(func(ctx SpecContext) {
		leader = startManager(ctx, "a")
		pointWebhooksAt(leader)
	})

	It("resolves the samples applied with kubectl", func(ctx SpecContext) {
		dumpOnFailure("videos", leader)
		kubectl("apply", "--server-side", "-k", filepath.Join(root, "config", "samples"))
		waitMembershipsReady("videos")
		for name, want := range map[string]string{
			"acme-alice":   "admin Directory settings:manage users:invite videos:create videos:delete videos:edit videos:view",
			"acme-bob":     "org-video-producer SSO videos:create videos:edit videos:view",
			"acme-carol":   "editor Manual videos:create videos:edit videos:view",
			"acme-dave":    "viewer Default videos:view",
			"acme-erin":    "admin Manual ",
			"globex-frank": "member Default users:invite videos:view",
			"globex-grace": "editor Directory videos:create videos:edit videos:view",
		} {
			got := membershipField("videos", name, `{.status.role} {.status.source} {.status.permissions[*]}`)
			Expect(got).To(Equal(strings.TrimSpace(want)), name)
		}
		Expect(membershipField("videos", "acme-alice", `{.status.assignments[0].group}`)).To(Equal("engineering-admins"))
		listed := kubectl("get", "orgrbac", "-n", "videos", "-o", "name")
		Expect(strings.Split(listed, "\n")).To(HaveLen(1 + 6 + 4 + 2 + 1 + 4 + 7))
	})

	It("answers the decision API for a workload's ServiceAccount, and refuses others", func(ctx SpecContext) {
		dumpOnFailure("videos", leader)
		kubectl("create", "serviceaccount", "-n", "videos", "workload")
		kubectl("create", "serviceaccount", "-n", "videos", "stranger")
		kubectl("create", "rolebinding", "-n", "videos", "workload-api", "--clusterrole=orgrbac-api-caller", "--serviceaccount=videos:workload")
		// Tokens for the decision API's audience, as a projected volume mounts them.
		token := kubectl("create", "token", "-n", "videos", "workload", "--audience="+apiAudience)
		stranger := kubectl("create", "token", "-n", "videos", "stranger", "--audience="+apiAudience)
		url := fmt.Sprintf("https://127.0.0.1:%d/v1/check", leader.apiPort)
		check := func(tok, user, perm string) (int, string) {
			return httpPost(ctx, url, tok, fmt.Sprintf(`{"organization":"acme","user":%q,"permission":%q}`, user, perm))
		}
		Eventually(func(g Gomega) {
			code, body := check(token, "user_alice", "videos:delete")
			g.Expect(code).To(Equal(http.StatusOK), body)
			g.Expect(body).To(ContainSubstring(`"allowed":true`))
		}).WithContext(ctx).Should(Succeed())
		code, body := check(token, "user_dave", "videos:delete")
		Expect(code).To(Equal(http.StatusOK))
		Expect(body).To(ContainSubstring(`"allowed":false`))
		code, body = check(token, "user_erin", "videos:view")
		Expect(code).To(Equal(http.StatusOK))
		Expect(body).To(ContainSubstring(`"allowed":false`), "an inactive member")
		code, _ = check("", "user_alice", "videos:delete")
		Expect(code).To(Equal(http.StatusUnauthorized))
		code, body = check(stranger, "user_alice", "videos:delete")
		Expect(code).To(Equal(http.StatusForbidden))
		Expect(body).NotTo(ContainSubstring("allowed"))
		// The workload's token for the API server (a pod's default token) is refused.
		code, body = check(kubectl("create", "token", "-n", "videos", "workload"), "user_alice", "videos:delete")
		Expect(code).To(Equal(http.StatusUnauthorized), body)
		// orgrbac-api-caller checks, but reads no member data: that takes orgrbac-api-reader.
		members := fmt.Sprintf("https://127.0.0.1:%d/user_management/organization_memberships", leader.apiPort)
		Expect(httpGet(ctx, members, token)).To(Equal(http.StatusForbidden))
		kubectl("create", "rolebinding", "-n", "videos", "workload-api-reader", "--clusterrole=orgrbac-api-reader", "--serviceaccount=videos:workload")
		Eventually(func() (int, error) { return httpGet(ctx, members, token) }).WithContext(ctx).Should(Equal(http.StatusOK))
	})

	It("serves the decision API from an API-only process with the least RBAC, which writes nothing", func(ctx SpecContext) {
		expectAPIOnly(ctx, leader)
	})

	It("creates a Membership through the WorkOS route for a writer, shown by kubectl with its caller, and refuses others", func(ctx SpecContext) {
		dumpOnFailure("videos", leader)
		expectWorkOSWrites(ctx, leader)
	})

	It("mints an access token that verifies offline against the key set it serves", func(ctx SpecContext) {
		dumpOnFailure("videos", leader)
		expectAccessTokens(ctx, leader)
	})

	It("aggregates orgrbac-viewer, -editor and -admin into view, edit and admin", func(ctx SpecContext) {
		kubectl("create", "serviceaccount", "-n", "videos", "person")
		kubectl("create", "rolebinding", "-n", "videos", "person-view", "--clusterrole=view", "--serviceaccount=videos:person")
		can := func(verb, resource string) string {
			out, _ := runKubectl(adminKube, "", "auth", "can-i", "-n", "videos", verb, resource, "--as=system:serviceaccount:videos:person")
			return out
		}
		// kube-controller-manager's aggregation controller fills view from orgrbac-viewer.
		Eventually(func() string { return can("list", "memberships.orgrbac.dev") }).Should(Equal("yes"))
		Expect(can("create", "memberships.orgrbac.dev")).To(Equal("no"))
		// permissionchecks is virtual (kubectl auth can-i cannot name it): the
		// decision API answers the viewer's checks and reads.
		token := kubectl("create", "token", "-n", "videos", "person", "--audience="+apiAudience)
		code, body := httpPost(ctx, fmt.Sprintf("https://127.0.0.1:%d/v1/check", leader.apiPort), token,
			`{"organization":"acme","user":"user_alice","permission":"videos:delete"}`)
		Expect(code).To(Equal(http.StatusOK), body)
		Expect(httpGet(ctx, fmt.Sprintf("https://127.0.0.1:%d/user_management/organization_memberships", leader.apiPort), token)).
			To(Equal(http.StatusOK))
		kubectl("create", "rolebinding", "-n", "videos", "person-edit", "--clusterrole=edit", "--serviceaccount=videos:person")
		Eventually(func() string { return can("create", "memberships.orgrbac.dev") }).Should(Equal("yes"))
		out, _ := runKubectl(adminKube, "", "auth", "can-i", "-n", "videos", "update", "memberships.orgrbac.dev", "--subresource=status",
			"--as=system:serviceaccount:videos:person")
		Expect(out).To(Equal("no"), "status belongs to the controllers")
	})

	It("runs with RBAC that is least privilege: no wildcards, no Secrets", func() {
		data, err := os.ReadFile(filepath.Join(root, "config", "rbac", "role.yaml"))
		Expect(err).NotTo(HaveOccurred())
		var role struct {
			Rules []struct {
				APIGroups, Resources, Verbs []string `json:",omitempty"`
			} `json:"rules"`
		}
		Expect(yaml.Unmarshal(data, &role)).To(Succeed())
		Expect(role.Rules).NotTo(BeEmpty())
		for _, r := range role.Rules {
			Expect(r.APIGroups).NotTo(ContainElement("*"))
			Expect(r.Resources).NotTo(ContainElement("*"))
			Expect(r.Verbs).NotTo(ContainElement("*"))
			Expect(r.Resources).NotTo(ContainElement("secrets"))
		}
		for _, verb := range []string{"get", "list", "watch"} {
			out, _ := runKubectl(managerKube, "", "auth", "can-i", verb, "secrets", "--all-namespaces")
			Expect(out).To(Equal("no"), "the manager can %s secrets", verb)
		}
		out, _ := runKubectl(managerKube, "", "auth", "can-i", "delete", "namespaces")
		Expect(out).To(Equal("no"))
	})

	It("refuses anonymous metrics scrapes and serves an authorised one", func(ctx SpecContext) {
		url := fmt.Sprintf("https://127.0.0.1:%d/metrics", leader.metricsPort)
		code, err := httpGet(ctx, url, "")
		Expect(err).NotTo(HaveOccurred())
		Expect(code).To(Or(Equal(http.StatusUnauthorized), Equal(http.StatusForbidden)))

		kubectl("create", "serviceaccount", "-n", "default", "scraper")
		scraperToken := kubectl("create", "token", "-n", "default", "scraper")
		code, err = httpGet(ctx, url, scraperToken)
		Expect(err).NotTo(HaveOccurred())
		Expect(code).To(Equal(http.StatusForbidden), "a ServiceAccount without the metrics-reader role")

		kubectl("create", "clusterrolebinding", "scraper-metrics", "--clusterrole=orgrbac-metrics-reader", "--serviceaccount=default:scraper")
		Eventually(func() (int, error) { return httpGet(ctx, url, scraperToken) }).WithContext(ctx).Should(Equal(http.StatusOK))
	})

	It("moves members to the replacement when a role is deleted", func(ctx SpecContext) {
		dumpOnFailure("videos", leader)
		By("refusing to delete the environment's default role without a replacement")
		_, err := kubectlErr("delete", "roles.orgrbac.dev", "-n", "videos", "member")
		Expect(err).To(MatchError(ContainSubstring(`is the default role of Environment "videos"`)))
		Expect(kubectl("get", "roles.orgrbac.dev", "-n", "videos", "member", "-o", "name")).To(Equal("role.orgrbac.dev/member"))

		By("deleting a role that names its replacement")
		kubectl("annotate", "roles.orgrbac.dev", "-n", "videos", "viewer", "orgrbac.dev/replacement-role=member")
		kubectl("delete", "roles.orgrbac.dev", "-n", "videos", "viewer", "--timeout=60s")
		Expect(kubectl("get", "organizations.orgrbac.dev", "-n", "videos", "acme", "-o", "jsonpath={.spec.defaultRole}")).To(Equal("member"))
		Eventually(func() string {
			return membershipField("videos", "acme-dave", `{.status.role} {.status.source} {.status.permissions[*]}`)
		}).Should(Equal("member Default users:invite videos:view"))
		GinkgoWriter.Println("Deleting role viewer moved acme's default, and dave with it, to member")
	})

	It("lets garbage collection delete an organization's objects with it", func(ctx SpecContext) {
		dumpOnFailure("videos", leader)
		kubectl("delete", "organizations.orgrbac.dev", "-n", "videos", "acme", "--wait=true")
		Eventually(func() string {
			return kubectl("get", "memberships.orgrbac.dev,organizationroles.orgrbac.dev,groupmappings.orgrbac.dev", "-n", "videos",
				"-o", "jsonpath={.items[*].spec.organization}")
		}).Should(Equal("globex globex globex globex"))
		GinkgoWriter.Println("Garbage collection deleted acme's memberships, organization role and mappings")
		Eventually(func() string {
			return kubectl("get", "environments.orgrbac.dev", "-n", "videos", "videos", "-o", "jsonpath={.status.memberships}")
		}).Should(Equal("2"))
	})

	It("deletes a whole environment with its namespace", func(ctx SpecContext) {
		kubectl("delete", "namespace", "videos", "--wait=false")
		Eventually(func() error {
			_, err := kubectlErr("get", "namespace", "videos")
			return err
		}).WithTimeout(90*time.Second).Should(MatchError(ContainSubstring("NotFound")), "the namespace is gone")
	})

	It("fails over to a second replica that keeps status current", func(ctx SpecContext) {
		standby := startManager(ctx, "b")
		dumpOnFailure("failover", leader, standby)
		applySamples("failover")
		waitMembershipsReady("failover")

		holder := func() string {
			return kubectl("get", "lease", "-n", systemNamespace, "manager.orgrbac.dev", "-o", "jsonpath={.spec.holderIdentity}")
		}
		first := holder()
		Expect(first).NotTo(BeEmpty())
		GinkgoWriter.Printf("Leader before failover: %s\n", first)

		By("the standby answers the decision API too")
		token := kubectl("create", "token", "-n", "failover", "default", "--audience="+apiAudience)
		kubectl("create", "rolebinding", "-n", "failover", "default-api", "--clusterrole=orgrbac-api-caller", "--serviceaccount=failover:default")
		check := func(m *manager) (int, string) {
			return httpPost(ctx, fmt.Sprintf("https://127.0.0.1:%d/v1/check", m.apiPort), token,
				`{"organization":"acme","user":"user_dave","permission":"videos:comment"}`)
		}
		Eventually(func(g Gomega) {
			code, body := check(standby)
			g.Expect(code).To(Equal(http.StatusOK), body)
			g.Expect(body).To(ContainSubstring(`"allowed":false`))
		}).WithContext(ctx).Should(Succeed())

		By("killing the leader, with the webhooks routed to the standby as a Service would")
		pointWebhooksAt(standby)
		leader.kill()
		Eventually(holder).WithTimeout(90 * time.Second).ShouldNot(Equal(first))
		GinkgoWriter.Printf("Leader after failover: %s\n", holder())

		By("editing a role: the new leader updates the memberships holding it")
		kubectl("patch", "roles.orgrbac.dev", "-n", "failover", "viewer", "--type=merge", "-p", `{"spec":{"permissions":["videos:view","videos:comment"]}}`)
		Eventually(func() string {
			return membershipField("failover", "acme-dave", `{.status.permissions[*]}`)
		}).Should(Equal("videos:comment videos:view"))
		Eventually(func(g Gomega) {
			code, body := check(standby)
			g.Expect(code).To(Equal(http.StatusOK), body)
			g.Expect(body).To(ContainSubstring(`"allowed":true`))
		}).WithContext(ctx).Should(Succeed(), "the surviving replica's decision API follows the change")
		leader = standby
	})

	It("keeps a change-event feed that a leader kill in a burst of 1,000 neither breaks nor duplicates", func(ctx SpecContext) {
		leader = expectEventsAcrossLeaderKill(ctx, leader)
	})
})
