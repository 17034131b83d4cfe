package main

import (
	"strings"
	"testing"
)

const crd = `---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  annotations:
    controller-gen.kubebuilder.io/version: v0.23.0
  name: things.orgrbac.dev
spec:
  group: orgrbac.dev
  versions:
  - name: v1alpha1
    schema:
      openAPIV3Schema:
        description: 'a Go template would read {{ .Values }} here'
`

func TestCRDTemplate(t *testing.T) {
	out, err := crdTemplate("config/crd/bases/things.yaml", []byte(crd))
	if err != nil {
		t.Fatal(err)
	}
	got := string(out)
	for _, want := range []string{
		"{{- if .Values.crds.enabled }}\n",
		"  name: things.orgrbac.dev\n",
		"    controller-gen.kubebuilder.io/version: v0.23.0\n",
		"    {{- if .Values.crds.keep }}\n",
		"    helm.sh/resource-policy: keep\n",
		`{{- include "orgrbac.labels" . | nindent 4 }}`,
		"spec:\n  group: orgrbac.dev\n",
		// Template delimiters in the schema are escaped, not executed.
		`a Go template would read {{ "{{" }} .Values {{ "}}" }} here`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the template lacks %q:\n%s", want, got)
		}
	}
	if !strings.HasSuffix(got, "{{- end }}\n") {
		t.Errorf("the template does not end the crds.enabled condition:\n%s", got)
	}
}

func TestRefusesWhatItCannotCarry(t *testing.T) {
	for name, src := range map[string]string{
		"two documents": crd + "---\n" + crd,
		"status":        crd + "status:\n  acceptedNames: {}\n",
		"another kind":  strings.Replace(crd, "kind: CustomResourceDefinition", "kind: ConfigMap", 1),
		"finalizers":    strings.Replace(crd, "  name: things", "  finalizers: [x]\n  name: things", 1),
	} {
		if _, err := crdTemplate("x", []byte(src)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

const webhooks = `---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata:
  name: mutating-webhook-configuration
webhooks:
- admissionReviewVersions: [v1]
  clientConfig:
    service:
      name: webhook-service
      namespace: system
      path: /mutate-x
  failurePolicy: Ignore
  name: mx.orgrbac.dev
  sideEffects: None
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata:
  name: validating-webhook-configuration
webhooks:
- admissionReviewVersions: [v1]
  clientConfig:
    service:
      name: webhook-service
      namespace: system
      path: /validate-x
  name: vx.orgrbac.dev
  sideEffects: None
`

func TestWebhookTemplate(t *testing.T) {
	out, err := webhookTemplates("config/webhook/manifests.yaml", []byte(webhooks))
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 2 {
		t.Fatalf("want two templates, got %d", len(out))
	}
	for file, wants := range map[string][]string{
		"validating-webhook-configuration.yaml": {
			"kind: ValidatingWebhookConfiguration\n",
			`  name: {{ include "orgrbac.fullname" . }}-validating-webhook-configuration`,
			"      path: /validate-x",
		},
		"mutating-webhook-configuration.yaml": {
			"kind: MutatingWebhookConfiguration\n",
			`  name: {{ include "orgrbac.fullname" . }}-mutating-webhook-configuration`,
			"      path: /mutate-x",
			"  failurePolicy: Ignore",
		},
	} {
		wants = append(wants,
			`      name: {{ include "orgrbac.fullname" . }}-webhook-service`,
			`      namespace: {{ .Release.Namespace }}`,
			"cert-manager.io/inject-ca-from:")
		for _, want := range wants {
			if !strings.Contains(string(out[file]), want) {
				t.Errorf("%s lacks %q:\n%s", file, want, out[file])
			}
		}
	}
	validating := webhooks[strings.Index(webhooks, "---\napiVersion: admissionregistration.k8s.io/v1\nkind: Validating"):]
	if out, err := webhookTemplates("x", []byte(validating)); err != nil || len(out) != 1 {
		t.Errorf("a validating configuration alone: %d templates, %v", len(out), err)
	}
	for name, src := range map[string]string{
		// A webhook calling another Service is not silently redirected.
		"another Service":       strings.Replace(webhooks, "name: webhook-service", "name: elsewhere", 1),
		"no validating webhook": webhooks[:strings.Index(webhooks, "---\napiVersion: admissionregistration.k8s.io/v1\nkind: Validating")],
		"two validating":        webhooks + validating,
		"another kind":          webhooks + "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n",
		"another name":          strings.Replace(webhooks, "name: mutating-webhook-configuration", "name: other", 1),
	} {
		if _, err := webhookTemplates("x", []byte(src)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestManagerRoleTemplate(t *testing.T) {
	const role = `---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: manager-role
rules:
- apiGroups:
  - ""
  resources:
  - configmaps
  verbs:
  - get
`
	out, err := managerRoleTemplate("config/rbac/role.yaml", []byte(role))
	if err != nil {
		t.Fatal(err)
	}
	if want := "rules:\n- apiGroups:\n  - \"\"\n  resources:\n  - configmaps\n  verbs:\n  - get\n"; !strings.HasSuffix(string(out), want) {
		t.Errorf("the rules are not copied as written:\n%s", out)
	}
	// controller-gen writes a Role per namespace for namespaced markers: the chart
	// would have to template their namespace.
	if _, err := managerRoleTemplate("x", []byte(role+"---\napiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: r\n  namespace: n\nrules: []\n")); err == nil {
		t.Error("no error for a second role")
	}
}

const rules = `# A comment the chart does not need.
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: orgrbac
  labels:
    app.kubernetes.io/name: orgrbac
spec:
  groups:
  - name: orgrbac
    rules:
    - alert: Down
      expr: absent(up{job="orgrbac-manager"} == 1)
      annotations:
        summary: '{{ $value }} replicas of {{ $labels.job }}'
`

func TestPrometheusRuleTemplate(t *testing.T) {
	out, err := prometheusRuleTemplate("config/prometheus/prometheusrule.yaml", []byte(rules))
	if err != nil {
		t.Fatal(err)
	}
	got := string(out)
	for _, want := range []string{
		"{{- if .Values.prometheusRule.enabled }}\n",
		"apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\n",
		`  name: {{ include "orgrbac.fullname" . }}`,
		"  namespace: {{ .Release.Namespace }}\n",
		`{{- include "orgrbac.labels" . | nindent 4 }}`,
		"{{- with .Values.prometheusRule.labels }}",
		"spec:\n  groups:\n  - name: orgrbac\n",
		`      expr: absent(up{job="orgrbac-manager"} == 1)`,
		// Prometheus's template delimiters reach Prometheus, not Helm.
		`summary: '{{ "{{" }} $value {{ "}}" }} replicas of {{ "{{" }} $labels.job {{ "}}" }}'`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the template lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "A comment") || strings.Count(got, "app.kubernetes.io/name") != 0 {
		t.Errorf("the source's comment or labels were carried over:\n%s", got)
	}
	if !strings.HasSuffix(got, "{{- end }}\n") {
		t.Errorf("the template does not end the prometheusRule.enabled condition:\n%s", got)
	}
	for name, src := range map[string]string{
		"another label": strings.Replace(rules, "    app.kubernetes.io/name: orgrbac", "    team: platform", 1),
		"annotations":   strings.Replace(rules, "  labels:", "  annotations: {a: b}\n  labels:", 1),
		"namespace":     strings.Replace(rules, "  name: orgrbac", "  name: orgrbac\n  namespace: monitoring", 1),
		"another kind":  strings.Replace(rules, "kind: PrometheusRule", "kind: ServiceMonitor", 1),
	} {
		if _, err := prometheusRuleTemplate("x", []byte(src)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
