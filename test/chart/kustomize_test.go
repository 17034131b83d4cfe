package chart

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// kustomizeDefault builds config/default as `kubectl apply -k config/default` would.
func kustomizeDefault(t *testing.T) objects {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	resources, err := k.Run(filesys.MakeFsOnDisk(), filepath.Join("..", "..", "config", "default"))
	if err != nil {
		t.Fatalf("kustomize build config/default: %v", err)
	}
	out, err := resources.AsYaml()
	if err != nil {
		t.Fatal(err)
	}
	return parseManifests(t, string(out))
}

// TestSameAsKustomize: the release "orgrbac" in "orgrbac-system" renders the objects
// of config/default, with the same names, CRDs, RBAC rules, webhooks and manager
// arguments, so that docs and tests hold for both ways to install.
func TestSameAsKustomize(t *testing.T) {
	t.Parallel()
	kust := kustomizeDefault(t)
	chart, _ := mustRender(t, "")

	// Every object of config/default has its namesake in the chart (the namespace
	// is Helm's to create: helm install --create-namespace).
	for _, k := range kust {
		if k.Kind == "Namespace" {
			continue
		}
		c, ok := chart.find(k.Kind, k.Name)
		if !ok {
			t.Errorf("config/default has the %s %s/%s, which the chart does not render", k.Kind, k.Namespace, k.Name)
			continue
		}
		if c.Namespace != k.Namespace {
			t.Errorf("%s %s: namespace %q in the chart, %q in config/default", k.Kind, k.Name, c.Namespace, k.Namespace)
		}
	}

	t.Run("CRDs", func(t *testing.T) {
		kc, cc := kust.ofKind("CustomResourceDefinition"), chart.ofKind("CustomResourceDefinition")
		if !slices.Equal(kc.ids(), cc.ids()) {
			t.Fatalf("CRDs: config/default %v, the chart %v", kc.ids(), cc.ids())
		}
		for _, k := range kc {
			c := chart.get(t, k.Kind, k.Name)
			if d := cmp.Diff(k.Map["spec"], c.Map["spec"]); d != "" {
				t.Errorf("CRD %s: spec differs (-config/default +chart):\n%s", k.Name, d)
			}
			if k.Map["apiVersion"] != c.Map["apiVersion"] {
				t.Errorf("CRD %s: apiVersion %v in config/default, %v in the chart", k.Name, k.Map["apiVersion"], c.Map["apiVersion"])
			}
			// controller-gen's annotations are carried over.
			ka := k.Map["metadata"].(map[string]any)["annotations"].(map[string]any)
			ca := c.Map["metadata"].(map[string]any)["annotations"].(map[string]any)
			for key, v := range ka {
				if ca[key] != v {
					t.Errorf("CRD %s: annotation %s=%v in config/default, %v in the chart", k.Name, key, v, ca[key])
				}
			}
		}
	})

	t.Run("RBAC", func(t *testing.T) {
		for _, name := range []string{"orgrbac-manager-role", "orgrbac-api-caller", "orgrbac-metrics-reader", "orgrbac-webhook-cert-rotation",
			"orgrbac-api-reader", "orgrbac-api-writer", "orgrbac-api-token-minter", "orgrbac-webhook-secret-reader", "orgrbac-admin", "orgrbac-editor", "orgrbac-viewer"} {
			k := decode[rbacv1.ClusterRole](t, kust.get(t, "ClusterRole", name))
			c := decode[rbacv1.ClusterRole](t, chart.get(t, "ClusterRole", name))
			wantRules(t, "ClusterRole "+name, c.Rules, k.Rules)
			// The same aggregation (into admin, edit, view) both ways.
			for key, v := range k.Labels {
				if strings.HasPrefix(key, "rbac.authorization.k8s.io/") && c.Labels[key] != v {
					t.Errorf("ClusterRole %s: label %s=%s in config/default, %q in the chart", name, key, v, c.Labels[key])
				}
			}
			for key := range c.Labels {
				if _, ok := k.Labels[key]; strings.HasPrefix(key, "rbac.authorization.k8s.io/") && !ok {
					t.Errorf("ClusterRole %s: label %s in the chart only", name, key)
				}
			}
		}
		for _, name := range []string{"orgrbac-leader-election-role", "orgrbac-webhook-cert-rotation", "orgrbac-token-signing-keys"} {
			k := decode[rbacv1.Role](t, kust.get(t, "Role", name))
			c := decode[rbacv1.Role](t, chart.get(t, "Role", name))
			wantRules(t, "Role "+name, c.Rules, k.Rules)
		}
		// Bindings: the same role for the same ServiceAccount.
		for _, kind := range []string{"ClusterRoleBinding", "RoleBinding"} {
			for _, k := range kust.ofKind(kind) {
				// A ClusterRoleBinding has the fields of a RoleBinding.
				kb := decode[rbacv1.RoleBinding](t, k)
				cb := decode[rbacv1.RoleBinding](t, chart.get(t, kind, k.Name))
				if kb.RoleRef != cb.RoleRef || !slices.Equal(kb.Subjects, cb.Subjects) {
					t.Errorf("%s %s: %v → %v in config/default, %v → %v in the chart", kind, k.Name, kb.Subjects, kb.RoleRef, cb.Subjects, cb.RoleRef)
				}
			}
		}
	})

	t.Run("webhooks", func(t *testing.T) {
		const name = "orgrbac-validating-webhook-configuration"
		k := decode[admissionregistrationv1.ValidatingWebhookConfiguration](t, kust.get(t, "ValidatingWebhookConfiguration", name))
		c := decode[admissionregistrationv1.ValidatingWebhookConfiguration](t, chart.get(t, "ValidatingWebhookConfiguration", name))
		if d := cmp.Diff(k.Webhooks, c.Webhooks); d != "" {
			t.Errorf("webhooks differ (-config/default +chart):\n%s", d)
		}
	})

	t.Run("mutating webhooks", func(t *testing.T) {
		const name = "orgrbac-mutating-webhook-configuration"
		k := decode[admissionregistrationv1.MutatingWebhookConfiguration](t, kust.get(t, "MutatingWebhookConfiguration", name))
		c := decode[admissionregistrationv1.MutatingWebhookConfiguration](t, chart.get(t, "MutatingWebhookConfiguration", name))
		if d := cmp.Diff(k.Webhooks, c.Webhooks); d != "" {
			t.Errorf("mutating webhooks differ (-config/default +chart):\n%s", d)
		}
		if len(k.Webhooks) == 0 {
			t.Error("config/default has no mutating webhooks")
		}
		// The ownerReference is an optimisation the controllers fall back from: a
		// mutating webhook must never become an availability dependency.
		for _, w := range k.Webhooks {
			if w.FailurePolicy == nil || *w.FailurePolicy != admissionregistrationv1.Ignore {
				t.Errorf("mutating webhook %s: failurePolicy %v, want Ignore", w.Name, w.FailurePolicy)
			}
			for _, r := range w.Rules {
				if !slices.Equal(r.Operations, []admissionregistrationv1.OperationType{admissionregistrationv1.Create}) {
					t.Errorf("mutating webhook %s: operations %v, want CREATE only", w.Name, r.Operations)
				}
			}
		}
	})

	t.Run("Services", func(t *testing.T) {
		for _, k := range kust.ofKind("Service") {
			ks := decode[corev1.Service](t, k)
			cs := decode[corev1.Service](t, chart.get(t, "Service", k.Name))
			for _, kp := range ks.Spec.Ports {
				if !slices.ContainsFunc(cs.Spec.Ports, func(cp corev1.ServicePort) bool {
					return cp.Port == kp.Port && cp.Protocol == kp.Protocol
				}) {
					t.Errorf("Service %s: config/default's port %d is not in the chart's %+v", k.Name, kp.Port, cs.Spec.Ports)
				}
			}
			// The chart selects with config/default's labels, plus the release's;
			// the API Service selects the pods that serve the API
			// (orgrbac.dev/decision-api, which the manager's carry by default)
			// rather than the manager's component, so that switching to the API's
			// own Deployment (decisionAPI.separateDeployment) keeps it answering.
			for key, v := range ks.Spec.Selector {
				if k.Name == "orgrbac-api" && key == "app.kubernetes.io/component" {
					dep, _ := manager(t, chart)
					if cs.Spec.Selector["orgrbac.dev/decision-api"] != "true" || dep.Spec.Template.Labels["orgrbac.dev/decision-api"] != "true" ||
						dep.Spec.Template.Labels[key] != v {
						t.Errorf("Service %s selects %v, manager pods %v: want orgrbac.dev/decision-api=true, which the %s=%s pods carry",
							k.Name, cs.Spec.Selector, dep.Spec.Template.Labels, key, v)
					}
					continue
				}
				if cs.Spec.Selector[key] != v {
					t.Errorf("Service %s selects %s=%s in config/default, %q in the chart", k.Name, key, v, cs.Spec.Selector[key])
				}
			}
		}
	})

	t.Run("manager", func(t *testing.T) {
		const name = "orgrbac-controller-manager"
		kd := decode[appsv1.Deployment](t, kust.get(t, "Deployment", name))
		cd := decode[appsv1.Deployment](t, chart.get(t, "Deployment", name))
		if *kd.Spec.Replicas != *cd.Spec.Replicas {
			t.Errorf("replicas: %d in config/default, %d in the chart", *kd.Spec.Replicas, *cd.Spec.Replicas)
		}
		kc, cc := kd.Spec.Template.Spec.Containers[0], cd.Spec.Template.Spec.Containers[0]
		// Every argument of config/default is the chart's too; the chart adds its own
		// (the log level, the decision API's certificate Service and CA ConfigMap).
		for _, a := range kc.Args {
			if !slices.Contains(cc.Args, a) {
				t.Errorf("config/default's argument %s is not among the chart's %v", a, cc.Args)
			}
		}
		if d := cmp.Diff(kc.VolumeMounts, cc.VolumeMounts); d != "" {
			t.Errorf("volume mounts differ (-config/default +chart):\n%s", d)
		}
		if d := cmp.Diff(kd.Spec.Template.Spec.Volumes, cd.Spec.Template.Spec.Volumes); d != "" {
			t.Errorf("volumes differ (-config/default +chart):\n%s", d)
		}
		if d := cmp.Diff(kc.Lifecycle, cc.Lifecycle); d != "" {
			t.Errorf("lifecycle differs (-config/default +chart):\n%s", d)
		}
		if d := cmp.Diff(kc.LivenessProbe, cc.LivenessProbe); d != "" {
			t.Errorf("liveness probe differs (-config/default +chart):\n%s", d)
		}
		if d := cmp.Diff(kc.ReadinessProbe, cc.ReadinessProbe); d != "" {
			t.Errorf("readiness probe differs (-config/default +chart):\n%s", d)
		}
		if g, k := *cd.Spec.Template.Spec.TerminationGracePeriodSeconds, *kd.Spec.Template.Spec.TerminationGracePeriodSeconds; g < k {
			t.Errorf("terminationGracePeriodSeconds %d in the chart, under config/default's %d", g, k)
		}
		if d := cmp.Diff(kc.SecurityContext, cc.SecurityContext); d != "" {
			t.Errorf("container securityContext differs (-config/default +chart):\n%s", d)
		}
		if d := cmp.Diff(kd.Spec.Template.Spec.SecurityContext, cd.Spec.Template.Spec.SecurityContext); d != "" {
			t.Errorf("pod securityContext differs (-config/default +chart):\n%s", d)
		}
		if cd.Spec.Template.Spec.ServiceAccountName != kd.Spec.Template.Spec.ServiceAccountName {
			t.Errorf("ServiceAccount %s in config/default, %s in the chart",
				kd.Spec.Template.Spec.ServiceAccountName, cd.Spec.Template.Spec.ServiceAccountName)
		}
	})
}
