package chart

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"
)

const separateAPI = "decisionAPI: {separateDeployment: {enabled: true}}"

// deployment returns the Deployment name and its only container.
func deployment(t *testing.T, objs objects, name string) (*appsv1.Deployment, corev1.Container) {
	t.Helper()
	d := decode[appsv1.Deployment](t, objs.get(t, "Deployment", name))
	if len(d.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("%s: want one container, got %d", name, len(d.Spec.Template.Spec.Containers))
	}
	return d, d.Spec.Template.Spec.Containers[0]
}

// matches reports whether the selector selects the labels.
func matches(sel, labels map[string]string) bool {
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return len(sel) > 0
}

// By default the manager serves the decision API and renders no API Deployment.
func TestDecisionAPIInTheManagerByDefault(t *testing.T) {
	t.Parallel()
	objs, _ := mustRender(t, "")
	if deps := objs.ofKind("Deployment"); len(deps) != 1 {
		t.Errorf("Deployments %v, want the manager's only", deps.ids())
	}
	for _, kind := range []string{"ServiceAccount", "PodDisruptionBudget", "NetworkPolicy"} {
		if _, ok := objs.find(kind, "orgrbac-api"); ok {
			t.Errorf("the %s orgrbac-api is rendered without decisionAPI.separateDeployment.enabled", kind)
		}
	}
	if _, ok := objs.find("ClusterRole", "orgrbac-api-server-role"); ok {
		t.Error("the API server's ClusterRole is rendered without decisionAPI.separateDeployment.enabled")
	}
	dep, c := manager(t, objs)
	wantFlag(t, c.Args, "api-bind-address", ":8082")
	svc := decode[corev1.Service](t, objs.get(t, "Service", "orgrbac-api"))
	if !matches(svc.Spec.Selector, dep.Spec.Template.Labels) {
		t.Errorf("the API Service selects %v, not the manager's pods %v", svc.Spec.Selector, dep.Spec.Template.Labels)
	}
}

// decisionAPI.separateDeployment.enabled: the API runs as a Deployment of its own
// with its own least-privileged ServiceAccount, the Service selects only its pods,
// and the manager serves no API; with the manager's rotated certificate and with
// cert-manager's.
func TestSeparateAPIDeployment(t *testing.T) {
	t.Parallel()
	fileRole := func() []rbacv1.PolicyRule {
		data, err := os.ReadFile(filepath.Join("..", "..", "config", "rbac", "api_server_role.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		var r rbacv1.ClusterRole
		if err := yaml.UnmarshalStrict(data, &r); err != nil {
			t.Fatal(err)
		}
		return r.Rules
	}()
	for name, values := range map[string]string{
		"rotated certificate": separateAPI,
		"cert-manager":        separateAPI + "\ncertManager: {enabled: true}",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			objs, _ := mustRender(t, values+"\ndecisionAPI: {tokenAudience: videos.example/orgrbac, separateDeployment: {enabled: true, replicas: 3, "+
				"resources: {requests: {cpu: 50m, memory: 128Mi}, limits: {memory: 1Gi}}, extraArgs: [--api-max-requests-inflight=256]}}\nlogLevel: debug")
			checkInvariants(t, objs, namespace)
			mgr, mc := manager(t, objs)
			api, ac := deployment(t, objs, "orgrbac-api")

			// The manager serves no API, yet keeps its certificate's names.
			wantFlag(t, mc.Args, "api-bind-address", "0")
			if slices.ContainsFunc(mc.Ports, func(p corev1.ContainerPort) bool { return p.Name == "api" || p.ContainerPort == 8082 }) {
				t.Errorf("the manager exposes the API port: %+v", mc.Ports)
			}
			if mgr.Spec.Template.Labels["orgrbac.dev/decision-api"] != "" {
				t.Errorf("the manager's pods carry orgrbac.dev/decision-api: %v", mgr.Spec.Template.Labels)
			}
			wantFlag(t, mc.Args, "api-ca-configmap", "orgrbac-api-ca")
			if name == "rotated certificate" {
				wantFlag(t, mc.Args, "api-service", "orgrbac-api")
			} else {
				wantFlag(t, mc.Args, "api-cert-dir", certDir)
				cert := decodeCertificate(t, objs.get(t, "Certificate", "orgrbac-serving-cert"))
				if !slices.Contains(cert.Spec.DNSNames, "orgrbac-api.orgrbac-system.svc") {
					t.Errorf("Certificate dnsNames %v lack the API Service", cert.Spec.DNSNames)
				}
			}

			// The API Deployment.
			if *api.Spec.Replicas != 3 || api.Spec.Template.Labels["app.kubernetes.io/component"] != "api" {
				t.Errorf("API Deployment: %d replicas, pods %v; want 3, component api", *api.Spec.Replicas, api.Spec.Template.Labels)
			}
			if ac.Image != mc.Image {
				t.Errorf("API image %s, the manager's %s", ac.Image, mc.Image)
			}
			for flag, want := range map[string]string{"enable-controllers": "false", "enable-webhooks": "false",
				"api-bind-address": ":8082", "api-cert-dir": certDir, "metrics-cert-dir": certDir, "metrics-bind-address": ":8443",
				"health-probe-bind-address": ":8081", "api-token-audience": "videos.example/orgrbac", "zap-log-level": "debug",
				"api-max-requests-inflight": "256"} {
				wantFlag(t, ac.Args, flag, want)
			}
			if a, m := flagOr(ac.Args, "api-token-audience"), flagOr(mc.Args, "api-token-audience"); a != m {
				t.Errorf("audiences differ: API %q, manager %q", a, m)
			}
			for _, f := range []string{"leader-elect", "api-service", "api-ca-configmap", "metrics-service", "webhook-cert-secret",
				"webhook-cert-dir", "webhook-service", "webhook-configuration", "webhook-mutating-configuration"} {
				wantNoFlag(t, ac.Args, f)
			}
			checkRestricted(t, api.Name, api.Spec.Template.Spec)
			if p := ac.ReadinessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/readyz" || p.HTTPGet.Port.IntVal != 8081 {
				t.Errorf("readiness probe %+v, want GET :8081/readyz", p)
			}
			if p := ac.LivenessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/healthz" {
				t.Errorf("liveness probe %+v, want GET /healthz", p)
			}
			if l := ac.Lifecycle; l == nil || l.PreStop == nil || l.PreStop.Sleep == nil || l.PreStop.Sleep.Seconds != 5 {
				t.Errorf("lifecycle %+v, want a preStop sleep of 5 s", l)
			}
			if m := ac.Resources.Limits[corev1.ResourceMemory]; m.String() != "1Gi" {
				t.Errorf("API memory limit %s, want the value's 1Gi", m.String())
			}
			if ms := mc.Resources.Limits[corev1.ResourceMemory]; ms.String() != "1536Mi" {
				t.Errorf("the manager's memory limit %s changed", ms.String())
			}
			aff := api.Spec.Template.Spec.Affinity
			if aff == nil || aff.PodAntiAffinity == nil || len(aff.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution) != 1 ||
				!maps.Equal(aff.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution[0].PodAffinityTerm.LabelSelector.MatchLabels,
					api.Spec.Selector.MatchLabels) {
				t.Errorf("API affinity %+v, want a preferred anti-affinity between API pods", aff)
			}
			// It mounts the same certificate Secret as the manager.
			mounted := false
			for _, m := range ac.VolumeMounts {
				for _, v := range api.Spec.Template.Spec.Volumes {
					if v.Name == m.Name && m.MountPath == certDir && m.ReadOnly && v.Secret != nil && v.Secret.SecretName == "orgrbac-webhook-server-cert" {
						mounted = true
					}
				}
			}
			if !mounted {
				t.Errorf("the API pods do not mount orgrbac-webhook-server-cert at %s: %+v %+v", certDir, ac.VolumeMounts, api.Spec.Template.Spec.Volumes)
			}

			// The API Service selects the API's pods only.
			svc := decode[corev1.Service](t, objs.get(t, "Service", "orgrbac-api"))
			if !matches(svc.Spec.Selector, api.Spec.Template.Labels) || matches(svc.Spec.Selector, mgr.Spec.Template.Labels) {
				t.Errorf("the API Service selects %v: API pods %v, manager pods %v; want the API's only",
					svc.Spec.Selector, api.Spec.Template.Labels, mgr.Spec.Template.Labels)
			}
			// The webhooks still go to the manager only.
			wh := decode[corev1.Service](t, objs.get(t, "Service", "orgrbac-webhook-service"))
			if !matches(wh.Spec.Selector, mgr.Spec.Template.Labels) || matches(wh.Spec.Selector, api.Spec.Template.Labels) {
				t.Errorf("the webhook Service selects %v", wh.Spec.Selector)
			}

			// Its own ServiceAccount, bound to the rules of config/rbac/api_server_role.yaml only.
			if sa := api.Spec.Template.Spec.ServiceAccountName; sa != "orgrbac-api" {
				t.Errorf("the API pods run as %q, want orgrbac-api", sa)
			}
			role := decode[rbacv1.ClusterRole](t, objs.get(t, "ClusterRole", "orgrbac-api-server-role"))
			wantRules(t, "ClusterRole orgrbac-api-server-role (config/rbac/api_server_role.yaml)", role.Rules, fileRole)
			bound := 0
			for _, kind := range []string{"ClusterRoleBinding", "RoleBinding"} {
				for _, o := range objs.release().ofKind(kind) {
					b := decode[rbacv1.RoleBinding](t, o)
					for _, s := range b.Subjects {
						if s.Name == "orgrbac-api" {
							bound++
							if b.RoleRef.Name != "orgrbac-api-server-role" && b.RoleRef.Name != "orgrbac-token-signing-keys-reader" {
								t.Errorf("%s %s binds the API's ServiceAccount to %s", kind, b.Name, b.RoleRef.Name)
							}
						}
					}
				}
			}
			if bound != 2 {
				t.Errorf("the API's ServiceAccount is bound %d times, want twice (its ClusterRole, and reading the signing keys)", bound)
			}
			// It reads the access tokens' signing keys, by name, and writes no Secret.
			keys := decode[rbacv1.Role](t, objs.get(t, "Role", "orgrbac-token-signing-keys-reader"))
			wantRules(t, "Role orgrbac-token-signing-keys-reader", keys.Rules, []rbacv1.PolicyRule{{APIGroups: []string{""},
				Resources: []string{"secrets"}, ResourceNames: []string{"orgrbac-token-signing-keys"}, Verbs: []string{"get", "list", "watch"}}})
			wantFlag(t, ac.Args, "token-signing-secret", "orgrbac-system/orgrbac-token-signing-keys")
			wantFlag(t, mc.Args, "token-signing-secret", "orgrbac-system/orgrbac-token-signing-keys")

			// A PodDisruptionBudget for the API pods.
			pdb := decode[policyv1.PodDisruptionBudget](t, objs.get(t, "PodDisruptionBudget", "orgrbac-api"))
			if !maps.Equal(pdb.Spec.Selector.MatchLabels, api.Spec.Selector.MatchLabels) || pdb.Spec.MinAvailable.IntValue() != 1 {
				t.Errorf("API PDB %+v", pdb.Spec)
			}
		})
	}
}

// flagOr is the value of --name among args ("" when absent).
func flagOr(args []string, name string) string {
	v, _ := flagValue(args, name)
	return v
}

// The NetworkPolicy covers the API pods' ports when they run apart, and the
// metrics Service scrapes them too; one API replica has no PodDisruptionBudget.
func TestSeparateAPIDeploymentNetworkPolicyAndMetrics(t *testing.T) {
	t.Parallel()
	objs, _ := mustRender(t, "decisionAPI: {separateDeployment: {enabled: true, replicas: 1}}\nnetworkPolicy: {enabled: true}\nserviceMonitor: {enabled: true}")
	checkInvariants(t, objs, namespace)
	mgr, _ := manager(t, objs)
	api, _ := deployment(t, objs, "orgrbac-api")
	ports := func(np *networkingv1.NetworkPolicy) map[int32][]networkingv1.NetworkPolicyPeer {
		out := map[int32][]networkingv1.NetworkPolicyPeer{}
		for _, r := range np.Spec.Ingress {
			for _, p := range r.Ports {
				out[p.Port.IntVal] = r.From
			}
		}
		return out
	}
	mnp := decode[networkingv1.NetworkPolicy](t, objs.get(t, "NetworkPolicy", "orgrbac-manager"))
	if !matches(mnp.Spec.PodSelector.MatchLabels, mgr.Spec.Template.Labels) || matches(mnp.Spec.PodSelector.MatchLabels, api.Spec.Template.Labels) {
		t.Errorf("the manager's policy selects %v", mnp.Spec.PodSelector.MatchLabels)
	}
	if p := ports(mnp); len(p) != 2 || !hasKey(p, 9443) || !hasKey(p, 8443) {
		t.Errorf("the manager's policy admits ports %v, want 9443 and 8443 (no API there)", p)
	}
	anp := decode[networkingv1.NetworkPolicy](t, objs.get(t, "NetworkPolicy", "orgrbac-api"))
	if !matches(anp.Spec.PodSelector.MatchLabels, api.Spec.Template.Labels) || matches(anp.Spec.PodSelector.MatchLabels, mgr.Spec.Template.Labels) {
		t.Errorf("the API's policy selects %v", anp.Spec.PodSelector.MatchLabels)
	}
	p := ports(anp)
	if len(p) != 2 {
		t.Errorf("the API's policy admits ports %v, want 8082 and 8443", p)
	}
	if from := p[8082]; len(from) != 1 || from[0].NamespaceSelector == nil {
		t.Errorf("the API port admits %+v, want networkPolicy.apiFrom", from)
	}
	if from := p[8443]; len(from) != 1 || from[0].NamespaceSelector == nil ||
		from[0].NamespaceSelector.MatchLabels["orgrbac.dev/metrics-scraper"] != "true" {
		t.Errorf("the API's /metrics admits %+v, want networkPolicy.metricsFrom", from)
	}
	svc := decode[corev1.Service](t, objs.get(t, "Service", "orgrbac-metrics"))
	if !matches(svc.Spec.Selector, mgr.Spec.Template.Labels) || !matches(svc.Spec.Selector, api.Spec.Template.Labels) {
		t.Errorf("the metrics Service selects %v: want the manager's and the API's pods", svc.Spec.Selector)
	}
	if _, ok := objs.find("PodDisruptionBudget", "orgrbac-api"); ok {
		t.Error("a PodDisruptionBudget for one API replica")
	}
}

func hasKey[K comparable, V any](m map[K]V, k K) bool {
	_, ok := m[k]
	return ok
}
