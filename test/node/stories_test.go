//go:build realnode

package node

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

const (
	systemNamespace = "orgrbac-system"
	deployment      = "orgrbac-controller-manager"
	leaseName       = "manager.orgrbac.dev"
	apiURL          = "https://orgrbac-api.orgrbac-system.svc:8082"
	// defaultRoleDenial is the webhook's answer to deleting the default role.
	defaultRoleDenial = `is the default role of Environment "videos"`
)

var _ = Describe("orgrbac on a real node", Ordered, func() {
	Context("installed with kustomize (config/default)", Ordered, func() {
		var overlay string

		BeforeAll(func() {
			// An overlay inside the repository that only sets the image, as a
			// user's `kustomize edit set image` would.
			overlay = filepath.Join(root, ".local", "test-cluster", "kustomize")
			Expect(os.MkdirAll(overlay, 0o755)).To(Succeed())
			Expect(os.WriteFile(filepath.Join(overlay, "kustomization.yaml"), []byte(fmt.Sprintf(`apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- ../../../config/default
images:
- name: orgrbac
  newName: %s
  newTag: %s
`, managerRepo, imageTag)), 0o644)).To(Succeed())
		})

		It("runs the manager Pods from the built image and calls the webhooks through their Service", func() {
			start := time.Now()
			kubectl("apply", "--server-side", "-k", overlay)
			expectManagerPods(images["manager"])
			GinkgoWriter.Printf("[%s] kustomize install: manager Pods Ready in %s\n", elapsed(), time.Since(start).Round(time.Second))
			applySamples()
			expectWebhookDenialThroughService()
		})

		It("uninstalls in the documented order, leaving nothing behind", func() {
			// docs/install.md: orgrbac's objects first, while the manager still
			// handles their finalizers, then the install.
			kubectl("delete", "namespace", "videos", "--wait", "--timeout=2m")
			kubectl("delete", "-k", overlay, "--wait", "--timeout=3m")
			expectNothingLeft()
		})
	})

	Context("installed with the Helm chart", Ordered, func() {
		var apiProbe, filesProbe string // the watcher Pods' IPs
		var current image               // the manager image the release runs

		It("runs the manager Pods from the built image and calls the webhooks through their Service", func() {
			start := time.Now()
			helm("install", "orgrbac", "charts/orgrbac", "--namespace", systemNamespace, "--create-namespace",
				"--set", "image.repository="+managerRepo, "--set", "image.tag="+imageTag,
				"--wait", "--timeout", "5m")
			expectManagerPods(images["manager"])
			current = images["manager"]
			GinkgoWriter.Printf("[%s] helm install: manager Pods Ready in %s\n", elapsed(), time.Since(start).Round(time.Second))
		})

		It("resolves the samples: every Membership becomes Ready", func() {
			applySamples()
			expectWebhookDenialThroughService()
		})

		It("serves workload Pods: mounted ConfigMaps and the decision API through its Service", func() {
			deployWorkloads()
			for _, svc := range []string{"videos-files", "videos-api"} {
				url := "http://" + svc + ".videos.svc.cluster.local/videos/1"
				Expect(request("alice-"+svc, url, "acme", "user_alice")).To(Equal(http.StatusNoContent),
					"alice holds videos:delete through her directory group (admin)")
				Expect(request("dave-"+svc, url, "acme", "user_dave")).To(Equal(http.StatusForbidden),
					"dave holds acme's default role, without videos:delete")
				GinkgoWriter.Printf("[%s] %s from a third Pod: alice 204, dave 403\n", elapsed(), svc)
			}

			By("a Role edit that removes videos:delete reaches both workloads")
			filesProbe = startWatcher("watch-files", "http://videos-files.videos.svc.cluster.local/videos/1")
			apiProbe = startWatcher("watch-api", "http://videos-api.videos.svc.cluster.local/videos/1")
			for _, ip := range []string{filesProbe, apiProbe} {
				Eventually(func(g Gomega) { g.Expect(watchStatus(g, ip).Status).To(Equal(http.StatusNoContent)) }).Should(Succeed())
			}
			edit := time.Now()
			kubectl("patch", "roles.orgrbac.dev", "admin", "-n", "videos", "--type=json", "-p",
				`[{"op":"replace","path":"/spec/permissions","value":["videos:create","videos:edit","videos:view","settings:manage","users:invite"]}]`)
			var viaAPI, viaFiles time.Duration
			Eventually(func(g Gomega) {
				w := watchStatus(g, apiProbe)
				g.Expect(w.Status).To(Equal(http.StatusForbidden))
				viaAPI = w.Since.Sub(edit)
			}).WithTimeout(30 * time.Second).WithPolling(100 * time.Millisecond).Should(Succeed())
			Eventually(func(g Gomega) {
				w := watchStatus(g, filesProbe)
				g.Expect(w.Status).To(Equal(http.StatusForbidden))
				viaFiles = w.Since.Sub(edit)
			}).WithTimeout(3 * time.Minute).WithPolling(200 * time.Millisecond).Should(Succeed())
			GinkgoWriter.Printf("[%s] propagation of the Role edit: decision API (with the workload's 5 s answer cache) %s, mounted ConfigMaps (kubelet refresh) %s\n",
				elapsed(), viaAPI.Round(time.Millisecond), viaFiles.Round(time.Millisecond))
			for _, svc := range []string{"videos-files", "videos-api"} {
				url := "http://" + svc + ".videos.svc.cluster.local/videos/1"
				Expect(request("alice-after-"+svc, url, "acme", "user_alice")).To(Equal(http.StatusForbidden))
				GinkgoWriter.Printf("[%s] %s after the edit, from a third Pod: alice 403\n", elapsed(), svc)
			}
		})

		It("fails over to the other replica with zero failed checks", func() {
			checker := startChecker()
			Eventually(func(g Gomega) { g.Expect(checkerStats(g, checker).OK).To(BeNumerically(">", 20)) }).Should(Succeed())
			before := checkerStats(Default, checker)

			holder := leader()
			leaderPod, _, _ := strings.Cut(holder, "_")
			Expect(leaderPod).To(HavePrefix(deployment))
			start := time.Now()
			kubectl("delete", "pod", "-n", systemNamespace, leaderPod, "--wait=false")
			Eventually(func(g Gomega) {
				h := leader()
				g.Expect(h).NotTo(BeEmpty())
				g.Expect(h).NotTo(HavePrefix(leaderPod + "_"))
			}).Should(Succeed())
			takeover := time.Since(start)

			By("statuses keep converging under the new leader")
			kubectlApply(`apiVersion: orgrbac.dev/v1alpha1
kind: Membership
metadata: {name: acme-henry, namespace: videos}
spec: {organization: acme, user: user_henry, email: henry@acme.example, roles: [editor]}
`)
			Eventually(func() string {
				out, _ := kubectlErr("get", "membership", "acme-henry", "-n", "videos", "-o", "jsonpath={.status.role}")
				return out
			}).Should(Equal("editor"))
			kubectl("rollout", "status", "deployment/"+deployment, "-n", systemNamespace, "--timeout=3m")
			time.Sleep(2 * time.Second) // checks across the replacement's first seconds too
			after := checkerStats(Default, checker)
			GinkgoWriter.Printf("[%s] failover: %s -> %s in %s; checks during it: %d ok, %d failed\n",
				elapsed(), leaderPod, leader(), takeover.Round(100*time.Millisecond), after.OK-before.OK, after.Failed)
			Expect(after.OK).To(BeNumerically(">", before.OK))
			Expect(after.Failed).To(BeZero(), "last error: %s", after.LastError)
			GinkgoWriter.Printf("[%s] failover: %d failed checks\n", elapsed(), after.Failed)
		})

		It("upgrades to a new image with zero failed checks", func() {
			next := nextImage()
			checker := checkerIP()
			before := checkerStats(Default, checker)
			start := time.Now()
			helm("upgrade", "orgrbac", "charts/orgrbac", "--namespace", systemNamespace, "--reuse-values",
				"--set", "image.tag="+strings.SplitN(next.Ref, ":", 2)[1], "--wait", "--timeout", "5m")
			expectManagerPods(next)
			current = next
			time.Sleep(2 * time.Second)
			after := checkerStats(Default, checker)
			GinkgoWriter.Printf("[%s] helm upgrade to %s in %s; checks during it: %d ok, %d failed\n",
				elapsed(), next.Ref, time.Since(start).Round(100*time.Millisecond), after.OK-before.OK, after.Failed-before.Failed)
			Expect(after.OK).To(BeNumerically(">", before.OK))
			Expect(after.Failed).To(BeZero(), "last error: %s", after.LastError)
			GinkgoWriter.Printf("[%s] upgrade: %d failed checks\n", elapsed(), after.Failed)
		})

		It("moves the decision API to its own Deployment, which answers while the manager is gone", func() {
			checker := checkerIP()
			before := checkerStats(Default, checker)
			start := time.Now()
			helm("upgrade", "orgrbac", "charts/orgrbac", "--namespace", systemNamespace, "--reuse-values",
				"--set", "decisionAPI.separateDeployment.enabled=true", "--wait", "--timeout", "5m")
			apiPods := expectAPIPods(current)
			expectManagerPods(current)
			By("the API Service routes to the API's pods only")
			Eventually(func(g Gomega) {
				out := kubectl("get", "endpointslices", "-n", systemNamespace, "-l", "kubernetes.io/service-name=orgrbac-api",
					"-o", `jsonpath={range .items[*].endpoints[*]}{.addresses[0]}={.conditions.ready}{"\n"}{end}`)
				var ready []string
				for _, e := range strings.Fields(out) {
					if ip, ok := strings.CutSuffix(e, "=true"); ok {
						ready = append(ready, ip)
					}
				}
				g.Expect(ready).To(ConsistOf(apiPods))
			}).Should(Succeed())
			args := kubectl("get", "deployment", deployment, "-n", systemNamespace, "-o", "jsonpath={.spec.template.spec.containers[0].args}")
			Expect(args).To(ContainSubstring("--api-bind-address=0"))
			time.Sleep(2 * time.Second)
			after := checkerStats(Default, checker)
			switchFailed := after.Failed - before.Failed
			GinkgoWriter.Printf("[%s] decision API moved to its own Deployment in %s; checks during the switch: %d ok, %d failed (last error: %q)\n",
				elapsed(), time.Since(start).Round(100*time.Millisecond), after.OK-before.OK, switchFailed, after.LastError)
			Expect(after.OK).To(BeNumerically(">", before.OK))
			// The Service selects the pods labelled orgrbac.dev/decision-api: the old
			// manager pods keep answering until the API's own are ready.
			Expect(switchFailed).To(BeZero(), "last error: %s", after.LastError)
			expectChecksSteady(checker, "with the API in its own Deployment")

			By("the manager scaled to zero: the API's own pods keep answering")
			kubectl("scale", "deployment", deployment, "-n", systemNamespace, "--replicas=0")
			gone := time.Now()
			Eventually(func() string {
				out, _ := kubectlErr("get", "pods", "-n", systemNamespace, "-l", "app.kubernetes.io/component=manager", "-o", "name")
				return out
			}).Should(BeEmpty())
			GinkgoWriter.Printf("[%s] manager scaled to 0: its pods gone after %s\n", elapsed(), time.Since(gone).Round(100*time.Millisecond))
			expectChecksSteady(checker, "without any manager pod")
			Expect(request("alice-no-manager", "http://videos-api.videos.svc.cluster.local/videos/1", "acme", "user_alice")).
				To(Equal(http.StatusForbidden), "the workload's check through the API's own pods: alice lost videos:delete")
			Expect(leader()).NotTo(HavePrefix("orgrbac-api"), "the API pods take no lease")

			By("restoring the manager")
			kubectl("scale", "deployment", deployment, "-n", systemNamespace, "--replicas=2")
			expectManagerPods(current)
			expectWebhookDenialThroughService()
			final := checkerStats(Default, checker)
			GinkgoWriter.Printf("[%s] separate decision API: %d failed checks during the switch, %d after it (manager gone and back)\n",
				elapsed(), switchFailed, final.Failed-after.Failed)
			Expect(final.Failed).To(Equal(after.Failed), "no failed check once the API runs apart; last error: %s", final.LastError)
		})

		It("uninstalls with helm, then the CRDs, leaving nothing behind and no namespace stuck", func() {
			helm("uninstall", "orgrbac", "--namespace", systemNamespace, "--wait", "--timeout", "5m")
			By("the CRDs were kept; deleting them is not blocked by any finalizer")
			kubectl("delete", "-f", filepath.Join(root, "config", "crd", "bases"), "--wait", "--timeout=2m")
			kubectl("delete", "namespace", "videos", "--wait", "--timeout=2m")
			expectNothingLeft()
			GinkgoWriter.Printf("[%s] clean uninstall: nothing of orgrbac is left and no namespace is stuck\n", elapsed())
		})
	})
})

// expectManagerPods waits for the manager's rollout and checks that every Pod
// runs im and is Ready.
func expectManagerPods(im image) {
	GinkgoHelper()
	kubectl("rollout", "status", "deployment/"+deployment, "-n", systemNamespace, "--timeout=4m")
	var pods struct {
		Items []struct {
			Metadata struct {
				Name              string  `json:"name"`
				DeletionTimestamp *string `json:"deletionTimestamp"`
			} `json:"metadata"`
			Status struct {
				Phase             string `json:"phase"`
				ContainerStatuses []struct {
					Image   string `json:"image"`
					ImageID string `json:"imageID"`
					Ready   bool   `json:"ready"`
				} `json:"containerStatuses"`
			} `json:"status"`
		} `json:"items"`
	}
	Eventually(func(g Gomega) {
		out := kubectl("get", "pods", "-n", systemNamespace, "-l", "app.kubernetes.io/component=manager", "-o", "json")
		g.Expect(json.Unmarshal([]byte(out), &pods)).To(Succeed())
		live := 0
		for _, p := range pods.Items {
			if p.Metadata.DeletionTimestamp != nil {
				continue
			}
			live++
			g.Expect(p.Status.Phase).To(Equal("Running"), p.Metadata.Name)
			g.Expect(p.Status.ContainerStatuses).To(HaveLen(1))
			c := p.Status.ContainerStatuses[0]
			g.Expect(c.Ready).To(BeTrue(), p.Metadata.Name)
			g.Expect(c.Image).To(Equal(im.Ref), p.Metadata.Name)
		}
		g.Expect(live).To(Equal(2))
	}).Should(Succeed())
	for _, p := range pods.Items {
		if p.Metadata.DeletionTimestamp == nil {
			c := p.Status.ContainerStatuses[0]
			GinkgoWriter.Printf("[%s] manager Pod %s Running and Ready from %s (imageID %s; built digest %s)\n",
				elapsed(), p.Metadata.Name, c.Image, c.ImageID, im.Digest)
		}
	}
}

// expectAPIPods waits for the decision API's own Deployment (2 replicas) to run
// im, Ready, and returns its Pods' IPs.
func expectAPIPods(im image) []string {
	GinkgoHelper()
	kubectl("rollout", "status", "deployment/orgrbac-api", "-n", systemNamespace, "--timeout=4m")
	var ips []string
	Eventually(func(g Gomega) {
		var pods struct {
			Items []struct {
				Metadata struct {
					Name              string  `json:"name"`
					DeletionTimestamp *string `json:"deletionTimestamp"`
				} `json:"metadata"`
				Spec struct {
					ServiceAccountName string `json:"serviceAccountName"`
				} `json:"spec"`
				Status struct {
					PodIP             string `json:"podIP"`
					ContainerStatuses []struct {
						Image string `json:"image"`
						Ready bool   `json:"ready"`
					} `json:"containerStatuses"`
				} `json:"status"`
			} `json:"items"`
		}
		out := kubectl("get", "pods", "-n", systemNamespace, "-l", "app.kubernetes.io/component=api", "-o", "json")
		g.Expect(json.Unmarshal([]byte(out), &pods)).To(Succeed())
		ips = nil
		for _, p := range pods.Items {
			g.Expect(p.Metadata.DeletionTimestamp).To(BeNil(), p.Metadata.Name)
			g.Expect(p.Spec.ServiceAccountName).To(Equal("orgrbac-api"), p.Metadata.Name)
			g.Expect(p.Status.ContainerStatuses).To(HaveLen(1), p.Metadata.Name)
			g.Expect(p.Status.ContainerStatuses[0].Ready).To(BeTrue(), p.Metadata.Name)
			g.Expect(p.Status.ContainerStatuses[0].Image).To(Equal(im.Ref), p.Metadata.Name)
			ips = append(ips, p.Status.PodIP)
		}
		g.Expect(ips).To(HaveLen(2))
	}).Should(Succeed())
	GinkgoWriter.Printf("[%s] decision API Pods Running and Ready from %s as ServiceAccount orgrbac-api: %v\n", elapsed(), im.Ref, ips)
	return ips
}

// expectChecksSteady: over 5 s the checker's checks through the API Service all
// succeed, and there are some.
func expectChecksSteady(checker, what string) {
	GinkgoHelper()
	s1 := checkerStats(Default, checker)
	time.Sleep(5 * time.Second)
	s2 := checkerStats(Default, checker)
	GinkgoWriter.Printf("[%s] %s: %d checks in 5 s, %d failed\n", elapsed(), what, s2.OK-s1.OK, s2.Failed-s1.Failed)
	Expect(s2.OK-s1.OK).To(BeNumerically(">", 20), what)
	Expect(s2.Failed).To(Equal(s1.Failed), "%s; last error: %s", what, s2.LastError)
}

// applySamples applies config/samples (once the webhooks answer) and waits
// until every Membership is Ready.
func applySamples() {
	GinkgoHelper()
	Eventually(func() error {
		_, err := kubectlErr("apply", "-k", filepath.Join(root, "config", "samples"))
		return err
	}).Should(Succeed())
	Eventually(func(g Gomega) {
		out := kubectl("get", "memberships", "-n", "videos",
			"-o", `jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}`)
		lines := strings.Fields(out)
		g.Expect(lines).To(HaveLen(7))
		for _, l := range lines {
			g.Expect(l).To(HaveSuffix("=True"))
		}
	}).Should(Succeed())
	GinkgoWriter.Printf("[%s] samples: all 7 Memberships Ready\n", elapsed())
}

// expectWebhookDenialThroughService checks that the installed webhook
// configuration calls the Service with the injected CA, and that deleting the
// default role is refused with the clear message.
func expectWebhookDenialThroughService() {
	GinkgoHelper()
	svc := kubectl("get", "validatingwebhookconfiguration", "orgrbac-validating-webhook-configuration",
		"-o", `jsonpath={range .webhooks[*]}{.clientConfig.service.namespace}/{.clientConfig.service.name} {end}`)
	for _, s := range strings.Fields(svc) {
		Expect(s).To(Equal(systemNamespace + "/orgrbac-webhook-service"))
	}
	Expect(kubectl("get", "validatingwebhookconfiguration", "orgrbac-validating-webhook-configuration",
		"-o", "jsonpath={.webhooks[0].clientConfig.caBundle}")).NotTo(BeEmpty())
	// The mutating one (the Organization ownerReference) calls the same Service with
	// the same CA; its failurePolicy is Ignore, so nothing else would show a
	// missing CA.
	svc = kubectl("get", "mutatingwebhookconfiguration", "orgrbac-mutating-webhook-configuration",
		"-o", `jsonpath={range .webhooks[*]}{.clientConfig.service.namespace}/{.clientConfig.service.name} {end}`)
	Expect(strings.Fields(svc)).NotTo(BeEmpty())
	for _, s := range strings.Fields(svc) {
		Expect(s).To(Equal(systemNamespace + "/orgrbac-webhook-service"))
	}
	Expect(kubectl("get", "mutatingwebhookconfiguration", "orgrbac-mutating-webhook-configuration",
		"-o", "jsonpath={.webhooks[0].clientConfig.caBundle}")).NotTo(BeEmpty())
	_, err := kubectlErr("delete", "roles.orgrbac.dev", "member", "-n", "videos")
	Expect(err).To(MatchError(ContainSubstring(defaultRoleDenial)))
	GinkgoWriter.Printf("[%s] webhook through Service %s/orgrbac-webhook-service denied deleting the default role: %s\n",
		elapsed(), systemNamespace, defaultRoleDenial)
}

// restrictedPod and restrictedContainer are the Pod and container security
// contexts of Pod Security's restricted level, as YAML lines indented by indent.
func restrictedPod(indent string) string {
	return "\n" + indent + "securityContext: {runAsNonRoot: true, runAsUser: 65532, seccompProfile: {type: RuntimeDefault}}"
}

func restrictedContainer(indent string) string {
	return "\n" + indent + "securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}"
}

// apiTokenVolume is the projected ServiceAccount token for the decision API's
// audience (docs/decision-api.md), mounted at apiTokenDir: a volume and its
// mount, as YAML flow mappings.
const (
	apiTokenDir    = "/var/run/secrets/orgrbac.dev"
	apiTokenVolume = `{name: orgrbac-token, projected: {sources: [{serviceAccountToken: {path: token, audience: orgrbac.dev/decision-api, expirationSeconds: 600}}]}}`
	apiTokenMount  = `{name: orgrbac-token, mountPath: ` + apiTokenDir + `, readOnly: true}`
)

// deployWorkloads runs examples/videos-service twice in the namespace videos:
// videos-files reads the published ConfigMaps from a projected volume,
// videos-api calls the decision API through its Service with its own
// ServiceAccount's projected token for the API's audience (pkg/authz's default
// token file), verifying the server with the CA orgrbac publishes.
func deployWorkloads() {
	GinkgoHelper()
	Eventually(func() error {
		_, err := kubectlErr("get", "configmap", "orgrbac-api-ca", "-n", "videos")
		return err
	}).Should(Succeed(), "the manager publishes the decision API's CA into the environment's namespace")
	deploy := func(name, args, volumes, mounts string) string {
		return fmt.Sprintf(`apiVersion: v1
kind: ServiceAccount
metadata: {name: %[1]s, namespace: videos}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: %[1]s, namespace: videos}
spec:
  replicas: 1
  selector: {matchLabels: {app: %[1]s}}
  template:
    metadata: {labels: {app: %[1]s}}
    spec:
      serviceAccountName: %[1]s%[2]s
      containers:
      - name: service
        image: %[3]s
        imagePullPolicy: IfNotPresent
        args: [--listen=:8080, %[4]s]
        ports: [{name: http, containerPort: 8080}]
        readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}%[5]s
        volumeMounts: %[6]s
      volumes: %[7]s
---
apiVersion: v1
kind: Service
metadata: {name: %[1]s, namespace: videos}
spec:
  selector: {app: %[1]s}
  ports: [{name: http, port: 80, targetPort: http}]
`, name, restrictedPod("      "), videosImg, args, restrictedContainer("        "), mounts, volumes)
	}
	kubectlApply(deploy("videos-files", "--snapshot-dir=/etc/orgrbac",
		`
      - name: orgrbac
        projected:
          sources:
          - configMap: {name: orgrbac-permissions}
          - configMap: {name: orgrbac-permissions-1, optional: true}
          - configMap: {name: orgrbac-permissions-2, optional: true}`,
		`[{name: orgrbac, mountPath: /etc/orgrbac, readOnly: true}]`) + "---\n" +
		deploy("videos-api", "--decision-api="+apiURL+", --decision-api-ca=/etc/orgrbac-ca/ca.crt",
			`
      - name: orgrbac-ca
        configMap: {name: orgrbac-api-ca}
      - `+apiTokenVolume,
			`[{name: orgrbac-ca, mountPath: /etc/orgrbac-ca, readOnly: true}, `+apiTokenMount+`]`) + `---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: videos-api-orgrbac, namespace: videos}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: orgrbac-api-caller}
subjects:
- {kind: ServiceAccount, name: videos-api, namespace: videos}
- {kind: ServiceAccount, name: checker, namespace: videos}
`)
	for _, d := range []string{"videos-files", "videos-api"} {
		kubectl("rollout", "status", "deployment/"+d, "-n", "videos", "--timeout=3m")
		expectServiceReady(d)
	}
}

// expectServiceReady waits until the Service has a ready endpoint (kube-proxy
// rejects connections to a Service without one).
func expectServiceReady(svc string) {
	GinkgoHelper()
	Eventually(func() string {
		out, _ := kubectlErr("get", "endpointslices", "-n", "videos", "-l", "kubernetes.io/service-name="+svc,
			"-o", "jsonpath={.items[*].endpoints[*].conditions.ready}")
		return out
	}).Should(ContainSubstring("true"))
}

// request sends DELETE url as user of org from a Pod of its own (the probe
// image) and returns the answer's status code.
func request(name, url, org, user string) int {
	GinkgoHelper()
	kubectlApply(fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: req-%[1]s, namespace: videos}
spec:
  restartPolicy: Never
  automountServiceAccountToken: false%[2]s
  containers:
  - name: probe
    image: %[3]s
    imagePullPolicy: IfNotPresent
    args: [request, -method, DELETE, -url, "%[4]s", -header, "X-Org=%[5]s", -header, "X-User=%[6]s"]%[7]s
`, name, restrictedPod("  "), probeImage, url, org, user, restrictedContainer("    ")))
	pod := "req-" + name
	Eventually(func() string {
		out, _ := kubectlErr("get", "pod", pod, "-n", "videos", "-o", "jsonpath={.status.phase}")
		return out
	}).Should(BeElementOf("Succeeded", "Failed"))
	logs := kubectl("logs", "-n", "videos", pod)
	kubectl("delete", "pod", pod, "-n", "videos", "--wait=false")
	var res struct {
		Status int `json:"status"`
	}
	Expect(json.Unmarshal([]byte(lastLine(logs)), &res)).To(Succeed(), logs)
	return res.Status
}

// watcher is what the probe's serve-watch reports: the last status and since
// when it has been answered.
type watcher struct {
	Status int       `json:"status"`
	Since  time.Time `json:"since"`
	Polls  int64     `json:"polls"`
	Errors int64     `json:"errors"`
}

// startWatcher runs a Pod that sends alice's DELETE to url every 50ms and
// records when the answer changes; it returns the Pod's IP.
func startWatcher(name, url string) string {
	GinkgoHelper()
	return startProbePod(name, "", fmt.Sprintf(`[serve-watch, -method, DELETE, -url, "%s", -header, "X-Org=acme", -header, "X-User=user_alice", -interval, 50ms, -listen, ":8080"]`, url), "")
}

func watchStatus(g Gomega, ip string) watcher {
	var w watcher
	g.Expect(getJSON("http://"+ip+":8080/stats", &w)).To(Succeed())
	return w
}

// checker is the probe's serve-check report.
type checker struct {
	OK        int64  `json:"ok"`
	Failed    int64  `json:"failed"`
	LastError string `json:"lastError"`
}

// startChecker runs the checker Pod: it asks the decision API, through its
// Service and with its own ServiceAccount's projected token for the API's
// audience (re-read every minute as the kubelet rotates it), whether carol may
// edit videos, ten times a second. It returns the Pod's IP.
func startChecker() string {
	GinkgoHelper()
	return startProbePod("checker", "checker", fmt.Sprintf(`[serve-check, -url, "%s", -ca, /etc/orgrbac-ca/ca.crt, -token-file, %s/token, -org, acme, -user, user_carol, -permission, "videos:edit", -interval, 100ms, -listen, ":8080"]`, apiURL, apiTokenDir),
		"orgrbac-ca")
}

func checkerIP() string {
	GinkgoHelper()
	return kubectl("get", "pod", "checker", "-n", "videos", "-o", "jsonpath={.status.podIP}")
}

func checkerStats(g Gomega, ip string) checker {
	var c checker
	g.Expect(getJSON("http://"+ip+":8080/stats", &c)).To(Succeed())
	return c
}

// startProbePod runs a long-lived probe Pod and returns its IP once Ready.
func startProbePod(name, serviceAccount, args, caVolume string) string {
	GinkgoHelper()
	// The Pod never gets a token for the API server; with a ServiceAccount, it
	// gets the projected token for the decision API.
	sa := "\n  automountServiceAccountToken: false"
	var mountList, volumeList []string
	if serviceAccount != "" {
		kubectlApply(fmt.Sprintf("apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: %s, namespace: videos}\n", serviceAccount))
		sa += "\n  serviceAccountName: " + serviceAccount
		mountList, volumeList = append(mountList, apiTokenMount), append(volumeList, apiTokenVolume)
	}
	if caVolume != "" {
		mountList = append(mountList, "{name: ca, mountPath: /etc/orgrbac-ca, readOnly: true}")
		volumeList = append(volumeList, "{name: ca, configMap: {name: orgrbac-api-ca}}")
	}
	mounts, volumes := "", ""
	if len(mountList) > 0 {
		mounts = "\n    volumeMounts: [" + strings.Join(mountList, ", ") + "]"
		volumes = "\n  volumes: [" + strings.Join(volumeList, ", ") + "]"
	}
	kubectlApply(fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: %[1]s, namespace: videos}
spec:%[2]s%[3]s
  containers:
  - name: probe
    image: %[4]s
    imagePullPolicy: IfNotPresent
    args: %[5]s
    readinessProbe: {httpGet: {path: /healthz, port: 8080}, periodSeconds: 1}%[6]s%[7]s%[8]s
`, name, sa, restrictedPod("  "), probeImage, args, restrictedContainer("    "), mounts, volumes))
	kubectl("wait", "--for=condition=Ready", "pod/"+name, "-n", "videos", "--timeout=2m")
	return kubectl("get", "pod", name, "-n", "videos", "-o", "jsonpath={.status.podIP}")
}

// leader is the holder of the leader-election lease.
func leader() string {
	out, _ := kubectlErr("get", "lease", leaseName, "-n", systemNamespace, "-o", "jsonpath={.spec.holderIdentity}")
	return out
}

// nextImage imports the manager image built under a second tag (the upgrade).
func nextImage() image {
	GinkgoHelper()
	data, err := os.ReadFile(os.Getenv("ORGRBAC_IMAGES_NEXT"))
	Expect(err).NotTo(HaveOccurred(), "ORGRBAC_IMAGES_NEXT names the images.json of the second build")
	var list []image
	Expect(json.Unmarshal(data, &list)).To(Succeed())
	for _, im := range list {
		if im.Name == "manager" {
			Expect(im.Ref).NotTo(Equal(images["manager"].Ref))
			_, err := run("", "bash", "-c", importCmd+` "$1"`, "import", im.File)
			Expect(err).NotTo(HaveOccurred())
			return im
		}
	}
	Fail("no manager image in ORGRBAC_IMAGES_NEXT")
	return image{}
}

// expectNothingLeft checks that no object orgrbac created remains and the
// namespaces it used are gone or empty.
func expectNothingLeft() {
	GinkgoHelper()
	Eventually(func(g Gomega) {
		crds, _ := kubectlErr("get", "crd", "-o", "name")
		g.Expect(crds).NotTo(ContainSubstring("orgrbac.dev"))
		for _, kind := range []string{"validatingwebhookconfigurations", "mutatingwebhookconfigurations",
			"clusterroles", "clusterrolebindings", "validatingadmissionpolicies", "validatingadmissionpolicybindings"} {
			out, _ := kubectlErr("get", kind, "-o", "name")
			g.Expect(out).NotTo(ContainSubstring("orgrbac"), kind)
		}
		out, _ := kubectlErr("get", "configmaps", "-A", "-l", "orgrbac.dev/published", "-o", "name")
		g.Expect(out).To(BeEmpty())
		out, _ = kubectlErr("get", "configmaps", "-A", "-l", "orgrbac.dev/api-ca", "-o", "name")
		g.Expect(out).To(BeEmpty())
		// What is left in the system namespace is what Kubernetes puts in every namespace.
		out, _ = kubectlErr("get", "deployments,pods,services,secrets,configmaps,leases,roles,rolebindings,serviceaccounts,jobs,poddisruptionbudgets",
			"-n", systemNamespace, "-o", "name")
		for _, o := range strings.Fields(out) {
			g.Expect(o).To(BeElementOf("configmap/kube-root-ca.crt", "serviceaccount/default"))
		}
	}).Should(Succeed())
	kubectl("delete", "namespace", systemNamespace, "--ignore-not-found", "--wait", "--timeout=2m")
	for _, ns := range []string{"videos", systemNamespace} {
		_, err := kubectlErr("get", "namespace", ns)
		Expect(err).To(MatchError(ContainSubstring("NotFound")), "namespace %s is gone, not stuck", ns)
	}
}

func getJSON(url string, v any) error {
	c := &http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
