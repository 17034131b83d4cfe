// Package chart tests the Helm chart charts/orgrbac: it renders the chart with the
// Helm SDK for several sets of values and checks the objects, compares them with
// what kustomize builds from config/default, and lints the chart.
package chart

import (
	"fmt"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"

	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	release "helm.sh/helm/v4/pkg/release/v1"
)

// chartDir is the chart under test, from this folder.
var chartDir = filepath.Join("..", "..", "charts", "orgrbac")

// The release most tests install: the names then match config/default's.
const (
	releaseName = "orgrbac"
	namespace   = "orgrbac-system"
	certDir     = "/tmp/k8s-webhook-server/serving-certs"
	// kubeVersion is the cluster the chart is rendered for: the version the project
	// builds its control plane at. (The SDK's default in a test binary is v1.20.)
	kubeVersion = "v1.37.0"
)

// object is one rendered manifest.
type object struct {
	Kind, Name, Namespace string
	// Source is the template it came from (Helm's "# Source:" line), if any.
	Source string
	// Hook: a Helm hook (run around install, upgrade or uninstall), not part of
	// the release's manifest.
	Hook bool
	Raw  []byte
	Map  map[string]any
}

// objects is a rendered release.
type objects []object

func (os objects) find(kind, name string) (object, bool) {
	for _, o := range os {
		if o.Kind == kind && o.Name == name {
			return o, true
		}
	}
	return object{}, false
}

func (os objects) get(t *testing.T, kind, name string) object {
	t.Helper()
	o, ok := os.find(kind, name)
	if !ok {
		t.Fatalf("no %s %q among %v", kind, name, os.ids())
	}
	return o
}

func (os objects) ofKind(kind string) objects {
	var out objects
	for _, o := range os {
		if o.Kind == kind {
			out = append(out, o)
		}
	}
	return out
}

func (os objects) ids() []string {
	var ids []string
	for _, o := range os {
		ids = append(ids, o.Kind+"/"+o.Name)
	}
	sort.Strings(ids)
	return ids
}

// decode reads o strictly into a typed object: a field the API does not have (a
// typo, a wrong level of indentation) fails the test.
func decode[T any](t *testing.T, o object) *T {
	t.Helper()
	var v T
	if err := yaml.UnmarshalStrict(o.Raw, &v); err != nil {
		t.Fatalf("%s %s from %s: %v\n%s", o.Kind, o.Name, o.Source, err, o.Raw)
	}
	return &v
}

var sourceLine = regexp.MustCompile(`(?m)^# Source: (.*)$`)

// parseManifests splits a multi-document YAML stream into objects.
func parseManifests(t *testing.T, manifest string) objects {
	t.Helper()
	var out objects
	for doc := range strings.SplitSeq(manifest, "\n---") {
		doc = strings.TrimPrefix(doc, "---")
		var m map[string]any
		if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
			t.Fatalf("parsing a rendered document: %v\n%s", err, doc)
		}
		if len(m) == 0 {
			continue
		}
		meta, _ := m["metadata"].(map[string]any)
		o := object{Raw: []byte(doc), Map: m}
		o.Kind, _ = m["kind"].(string)
		o.Name, _ = meta["name"].(string)
		o.Namespace, _ = meta["namespace"].(string)
		if s := sourceLine.FindStringSubmatch(doc); s != nil {
			o.Source = s[1]
		}
		out = append(out, o)
	}
	return out
}

// renderOptions tune a rendering.
type renderOptions struct {
	release, namespace string
	kubeVersion        string
}

// render installs the chart client-only (helm template) with values given as YAML.
func render(t *testing.T, valuesYAML string, opts ...renderOptions) (objects, *release.Release, error) {
	t.Helper()
	o := renderOptions{release: releaseName, namespace: namespace}
	if len(opts) > 0 {
		o = opts[0]
	}
	if o.kubeVersion == "" {
		o.kubeVersion = kubeVersion
	}
	ch, err := loader.Load(chartDir)
	if err != nil {
		t.Fatalf("loading the chart: %v", err)
	}
	vals, err := common.ReadValues([]byte(valuesYAML))
	if err != nil {
		t.Fatalf("values: %v", err)
	}
	install := action.NewInstall(action.NewConfiguration())
	install.DryRunStrategy = action.DryRunClient
	install.ReleaseName = o.release
	install.Namespace = o.namespace
	install.Replace = true
	kv, err := common.ParseKubeVersion(o.kubeVersion)
	if err != nil {
		t.Fatal(err)
	}
	install.KubeVersion = kv
	r, err := install.Run(ch, vals)
	if err != nil {
		return nil, nil, err
	}
	rel, ok := r.(*release.Release)
	if !ok {
		t.Fatalf("install returned a %T", r)
	}
	objs := parseManifests(t, rel.Manifest)
	for _, h := range rel.Hooks {
		for _, o := range parseManifests(t, h.Manifest) {
			o.Hook, o.Source = true, h.Path
			objs = append(objs, o)
		}
	}
	return objs, rel, nil
}

// hooks returns the hook objects, release the others.
func (os objects) hooks() objects {
	var out objects
	for _, o := range os {
		if o.Hook {
			out = append(out, o)
		}
	}
	return out
}

func (os objects) release() objects {
	var out objects
	for _, o := range os {
		if !o.Hook {
			out = append(out, o)
		}
	}
	return out
}

func mustRender(t *testing.T, valuesYAML string, opts ...renderOptions) (objects, *release.Release) {
	t.Helper()
	objs, rel, err := render(t, valuesYAML, opts...)
	if err != nil {
		t.Fatalf("rendering with values %q: %v", valuesYAML, err)
	}
	return objs, rel
}

// The standard labels every object carries.
var standardLabels = []string{
	"helm.sh/chart", "app.kubernetes.io/name", "app.kubernetes.io/instance",
	"app.kubernetes.io/version", "app.kubernetes.io/managed-by", "app.kubernetes.io/part-of",
}

var clusterScoped = []string{
	"CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding", "ValidatingWebhookConfiguration",
	"MutatingWebhookConfiguration", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding",
}

// checkInvariants holds for every set of values: the objects are valid, named
// validly, in the release namespace, labelled, and refer to each other correctly.
func checkInvariants(t *testing.T, objs objects, ns string) {
	t.Helper()
	seen := map[string]bool{}
	for _, o := range objs {
		id := o.Kind + "/" + o.Namespace + "/" + o.Name
		if seen[id] {
			t.Errorf("%s rendered twice", id)
		}
		seen[id] = true
		if slices.Contains(clusterScoped, o.Kind) {
			if o.Namespace != "" {
				t.Errorf("cluster-scoped %s %s has namespace %q", o.Kind, o.Name, o.Namespace)
			}
		} else if o.Namespace != ns {
			t.Errorf("%s %s is in namespace %q, want the release's %q", o.Kind, o.Name, o.Namespace, ns)
		}
		if errs := validation.IsDNS1123Subdomain(o.Name); len(errs) > 0 {
			t.Errorf("%s name %q: %v", o.Kind, o.Name, errs)
		}
		labels, _ := o.Map["metadata"].(map[string]any)["labels"].(map[string]any)
		for _, l := range standardLabels {
			if labels[l] == nil {
				t.Errorf("%s %s lacks the label %s", o.Kind, o.Name, l)
			}
		}
		// Every kind the chart renders decodes strictly into its API type.
		switch o.Kind {
		case "Deployment":
			decode[appsv1.Deployment](t, o)
		case "Job":
			job := decode[batchv1.Job](t, o)
			checkRestricted(t, job.Name, job.Spec.Template.Spec)
		case "Service":
			if errs := validation.IsDNS1035Label(o.Name); len(errs) > 0 {
				t.Errorf("Service name %q: %v", o.Name, errs)
			}
			decode[corev1.Service](t, o)
		case "ServiceAccount":
			decode[corev1.ServiceAccount](t, o)
		case "Secret":
			decode[corev1.Secret](t, o)
		case "ClusterRole":
			decode[rbacv1.ClusterRole](t, o)
		case "Role":
			decode[rbacv1.Role](t, o)
		case "ClusterRoleBinding":
			decode[rbacv1.ClusterRoleBinding](t, o)
		case "RoleBinding":
			decode[rbacv1.RoleBinding](t, o)
		case "PodDisruptionBudget":
			decode[policyv1.PodDisruptionBudget](t, o)
		case "ValidatingWebhookConfiguration":
			decode[admissionregistrationv1.ValidatingWebhookConfiguration](t, o)
		case "MutatingWebhookConfiguration":
			decode[admissionregistrationv1.MutatingWebhookConfiguration](t, o)
		case "ValidatingAdmissionPolicy":
			decode[admissionregistrationv1.ValidatingAdmissionPolicy](t, o)
		case "ValidatingAdmissionPolicyBinding":
			decode[admissionregistrationv1.ValidatingAdmissionPolicyBinding](t, o)
		case "CustomResourceDefinition":
			decode[apiextensionsv1.CustomResourceDefinition](t, o)
		case "NetworkPolicy":
			decode[networkingv1.NetworkPolicy](t, o)
		case "Issuer", "Certificate", "ServiceMonitor", "PrometheusRule":
			// Not in k8s.io/api; checked by the tests that enable them.
		default:
			t.Errorf("unexpected kind %s (%s): add it to the checks", o.Kind, o.Name)
		}
	}

	// The manager's Deployment, and the decision API's own when
	// decisionAPI.separateDeployment.enabled.
	var deps []*appsv1.Deployment
	for _, o := range objs.ofKind("Deployment") {
		deps = append(deps, decode[appsv1.Deployment](t, o))
	}
	dep, _ := manager(t, objs)
	var apiDep *appsv1.Deployment
	for _, d := range deps {
		if d.Name != dep.Name {
			if d.Spec.Template.Labels["app.kubernetes.io/component"] != "api" || apiDep != nil {
				t.Fatalf("unexpected Deployment %s (pods %v) next to the manager's", d.Name, d.Spec.Template.Labels)
			}
			apiDep = d
		}
	}
	selects := func(sel map[string]string, d *appsv1.Deployment) bool {
		for k, v := range sel {
			if d.Spec.Template.Labels[k] != v {
				return false
			}
		}
		return len(sel) > 0
	}
	for _, d := range deps {
		if !selects(d.Spec.Selector.MatchLabels, d) {
			t.Errorf("the Deployment %s's selector %v does not match its pods' labels %v", d.Name, d.Spec.Selector.MatchLabels, d.Spec.Template.Labels)
		}
		for _, other := range deps {
			if other != d && selects(d.Spec.Selector.MatchLabels, other) {
				t.Errorf("the Deployment %s's selector %v matches the pods of %s too", d.Name, d.Spec.Selector.MatchLabels, other.Name)
			}
		}
	}
	// Every Service selects the pods of a Deployment, which name its target ports.
	for _, o := range objs.ofKind("Service") {
		svc := decode[corev1.Service](t, o)
		if len(svc.Spec.Selector) == 0 {
			t.Errorf("Service %s selects nothing", svc.Name)
		}
		selected := 0
		for _, d := range deps {
			if !selects(svc.Spec.Selector, d) {
				continue
			}
			selected++
			for _, p := range svc.Spec.Ports {
				if p.TargetPort.IntVal == 0 && !slices.ContainsFunc(d.Spec.Template.Spec.Containers[0].Ports,
					func(cp corev1.ContainerPort) bool { return cp.Name == p.TargetPort.StrVal }) {
					t.Errorf("Service %s targets the port %q, which %s does not name", svc.Name, p.TargetPort.StrVal, d.Name)
				}
			}
		}
		if selected == 0 {
			t.Errorf("Service %s selects %v, which no Deployment's pods carry", svc.Name, svc.Spec.Selector)
		}
	}
	for _, o := range objs.ofKind("PodDisruptionBudget") {
		pdb := decode[policyv1.PodDisruptionBudget](t, o)
		n := 0
		for _, d := range deps {
			if selects(pdb.Spec.Selector.MatchLabels, d) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("PodDisruptionBudget %s selects %v: the pods of %d Deployments, want one", pdb.Name, pdb.Spec.Selector.MatchLabels, n)
		}
	}
	// The pods run as rendered ServiceAccounts, which the bindings name: the API
	// Deployment's is bound to its own ClusterRole only, every other binding of the
	// release binds the manager's.
	sa := dep.Spec.Template.Spec.ServiceAccountName
	for _, d := range deps {
		if _, ok := objs.find("ServiceAccount", d.Spec.Template.Spec.ServiceAccountName); !ok {
			t.Errorf("the pods' ServiceAccount %q of %s is not rendered", d.Spec.Template.Spec.ServiceAccountName, d.Name)
		}
	}
	subject := func(string) string { return sa }
	if apiDep != nil {
		apiSA := apiDep.Spec.Template.Spec.ServiceAccountName
		if apiSA == sa {
			t.Errorf("the API Deployment runs as the manager's ServiceAccount %s", sa)
		}
		subject = func(role string) string {
			if strings.HasSuffix(role, "-api-server-role") || strings.HasSuffix(role, "-token-signing-keys-reader") {
				return apiSA
			}
			return sa
		}
	}
	// The bindings of the release bind the manager's ServiceAccount; those of the
	// hooks the hook Job's, which is a hook too (the release's are gone by then).
	checkBindings(t, objs.release(), subject, ns)
	for _, o := range objs.hooks().ofKind("Job") {
		job := decode[batchv1.Job](t, o)
		hookSA := job.Spec.Template.Spec.ServiceAccountName
		checkBindings(t, objs.hooks(), func(string) string { return hookSA }, ns)
		if _, ok := objs.hooks().find("ServiceAccount", hookSA); !ok {
			t.Errorf("the hook Job %s runs as %q, which is not a hook ServiceAccount", job.Name, hookSA)
		}
	}
	// The webhooks, validating and mutating, call a rendered Service on a port it has.
	clientConfigs := map[string]admissionregistrationv1.WebhookClientConfig{}
	for _, o := range objs.ofKind("ValidatingWebhookConfiguration") {
		for _, w := range decode[admissionregistrationv1.ValidatingWebhookConfiguration](t, o).Webhooks {
			clientConfigs[w.Name] = w.ClientConfig
		}
	}
	for _, o := range objs.ofKind("MutatingWebhookConfiguration") {
		for _, w := range decode[admissionregistrationv1.MutatingWebhookConfiguration](t, o).Webhooks {
			clientConfigs[w.Name] = w.ClientConfig
		}
	}
	for name, cc := range clientConfigs {
		ref := cc.Service
		if ref == nil || ref.Namespace != ns {
			t.Errorf("webhook %s calls %v, want a Service in %s", name, ref, ns)
			continue
		}
		svc, ok := objs.find("Service", ref.Name)
		if !ok {
			t.Errorf("webhook %s calls the Service %q, which is not rendered", name, ref.Name)
			continue
		}
		port := int32(443)
		if ref.Port != nil {
			port = *ref.Port
		}
		if !slices.ContainsFunc(decode[corev1.Service](t, svc).Spec.Ports, func(p corev1.ServicePort) bool {
			return p.Port == port && p.TargetPort.IntVal == 9443
		}) {
			t.Errorf("Service %s has no port %d to the webhook server's 9443", ref.Name, port)
		}
	}
	// The certificate Secret mounted by the pods is rendered, or issued by cert-manager.
	for _, v := range slices.Concat(dep.Spec.Template.Spec.Volumes, apiVolumes(apiDep)) {
		if v.Secret == nil {
			continue
		}
		_, rendered := objs.find("Secret", v.Secret.SecretName)
		issued := slices.ContainsFunc(objs.ofKind("Certificate"), func(o object) bool {
			return nested(o.Map, "spec", "secretName") == v.Secret.SecretName
		})
		if rendered == issued {
			t.Errorf("the Secret %s: rendered %v, issued by cert-manager %v; want exactly one", v.Secret.SecretName, rendered, issued)
		}
	}
}

func apiVolumes(d *appsv1.Deployment) []corev1.Volume {
	if d == nil {
		return nil
	}
	return d.Spec.Template.Spec.Volumes
}

// checkBindings: every binding among objs refers to a role among objs and binds
// the ServiceAccount ns/subject(the role's name).
func checkBindings(t *testing.T, objs objects, subject func(role string) string, ns string) {
	t.Helper()
	for _, o := range append(objs.ofKind("RoleBinding"), objs.ofKind("ClusterRoleBinding")...) {
		b := decode[rbacv1.RoleBinding](t, o) // the same fields as a ClusterRoleBinding's
		if _, ok := objs.find(b.RoleRef.Kind, b.RoleRef.Name); !ok {
			t.Errorf("%s %s refers to the %s %q, which is not rendered with it", o.Kind, o.Name, b.RoleRef.Kind, b.RoleRef.Name)
		}
		sa := subject(b.RoleRef.Name)
		if len(b.Subjects) != 1 || b.Subjects[0].Kind != "ServiceAccount" || b.Subjects[0].Name != sa || b.Subjects[0].Namespace != ns {
			t.Errorf("%s %s binds %v, want the ServiceAccount %s/%s", o.Kind, o.Name, b.Subjects, ns, sa)
		}
	}
}

// nested reads a string at a path of map keys.
func nested(m map[string]any, path ...string) string {
	var cur any = m
	for _, p := range path {
		mm, ok := cur.(map[string]any)
		if !ok {
			return ""
		}
		cur = mm[p]
	}
	s, _ := cur.(string)
	return s
}

// manager returns the manager's Deployment (its pods are the component
// "manager") and container.
func manager(t *testing.T, objs objects) (*appsv1.Deployment, corev1.Container) {
	t.Helper()
	var dep *appsv1.Deployment
	for _, o := range objs.ofKind("Deployment") {
		if d := decode[appsv1.Deployment](t, o); d.Spec.Template.Labels["app.kubernetes.io/component"] == "manager" {
			if dep != nil {
				t.Fatalf("two manager Deployments, %s and %s", dep.Name, d.Name)
			}
			dep = d
		}
	}
	if dep == nil {
		t.Fatalf("no manager Deployment among %v", objs.ofKind("Deployment").ids())
	}
	if len(dep.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("want one container, got %d", len(dep.Spec.Template.Spec.Containers))
	}
	return dep, dep.Spec.Template.Spec.Containers[0]
}

// flagValue returns the value of --name=value among args, and whether it is there.
func flagValue(args []string, name string) (string, bool) {
	for _, a := range args {
		if a == "--"+name {
			return "", true
		}
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			return v, true
		}
	}
	return "", false
}

func wantFlag(t *testing.T, args []string, name, want string) {
	t.Helper()
	got, ok := flagValue(args, name)
	if !ok {
		t.Errorf("no --%s in %v", name, args)
	} else if got != want {
		t.Errorf("--%s=%q, want %q", name, got, want)
	}
}

func wantNoFlag(t *testing.T, args []string, name string) {
	t.Helper()
	if v, ok := flagValue(args, name); ok {
		t.Errorf("--%s=%q is set; want it absent", name, v)
	}
}

var crdNames = []string{
	"environments.orgrbac.dev", "eventsegments.orgrbac.dev", "groupmappings.orgrbac.dev", "memberships.orgrbac.dev",
	"organizationroles.orgrbac.dev", "organizations.orgrbac.dev", "permissions.orgrbac.dev",
	"roles.orgrbac.dev", "webhookendpoints.orgrbac.dev",
}

// checkRotation: the manager rotates its own certificate, as in config/default.
func checkRotation(t *testing.T, objs objects, full, ns string) {
	t.Helper()
	_, c := manager(t, objs)
	wantFlag(t, c.Args, "webhook-cert-secret", ns+"/"+full+"-webhook-server-cert")
	wantFlag(t, c.Args, "webhook-service", full+"-webhook-service")
	wantFlag(t, c.Args, "webhook-configuration", full+"-validating-webhook-configuration")
	wantFlag(t, c.Args, "webhook-mutating-configuration", full+"-mutating-webhook-configuration")
	wantFlag(t, c.Args, "webhook-cert-dir", certDir)
	wantFlag(t, c.Args, "api-service", full+"-api")
	wantNoFlag(t, c.Args, "api-cert-dir")
	secret := decode[corev1.Secret](t, objs.get(t, "Secret", full+"-webhook-server-cert"))
	if len(secret.Data) != 0 || len(secret.StringData) != 0 {
		t.Errorf("the certificate Secret is rendered with data: Helm would overwrite the rotated certificate")
	}
	// The rotator's grants name its three objects, and nothing else of their kinds.
	role := decode[rbacv1.Role](t, objs.get(t, "Role", full+"-webhook-cert-rotation"))
	wantRules(t, "cert rotation", role.Rules, []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"},
		ResourceNames: []string{full + "-webhook-server-cert"}, Verbs: []string{"get", "list", "watch", "update"}}})
	objs.get(t, "RoleBinding", full+"-webhook-cert-rotation")
	crole := decode[rbacv1.ClusterRole](t, objs.get(t, "ClusterRole", full+"-webhook-cert-rotation"))
	wantRules(t, "cert rotation (webhook configurations)", crole.Rules, []rbacv1.PolicyRule{{
		APIGroups: []string{"admissionregistration.k8s.io"}, Resources: []string{"validatingwebhookconfigurations"},
		ResourceNames: []string{full + "-validating-webhook-configuration"}, Verbs: []string{"get", "list", "watch", "update"}}, {
		APIGroups: []string{"admissionregistration.k8s.io"}, Resources: []string{"mutatingwebhookconfigurations"},
		ResourceNames: []string{full + "-mutating-webhook-configuration"}, Verbs: []string{"get", "list", "watch", "update"}}})
	objs.get(t, "ClusterRoleBinding", full+"-webhook-cert-rotation")
	if len(objs.ofKind("Certificate"))+len(objs.ofKind("Issuer")) > 0 {
		t.Errorf("cert-manager objects rendered without certManager.enabled: %v", objs.ids())
	}
	for _, kind := range []string{"Validating", "Mutating"} {
		wc := objs.get(t, kind+"WebhookConfiguration", full+"-"+strings.ToLower(kind)+"-webhook-configuration")
		if a := wc.Map["metadata"].(map[string]any)["annotations"]; a != nil {
			t.Errorf("the %s webhook configuration has annotations %v; the manager injects the CA", kind, a)
		}
	}
}

func TestRender(t *testing.T) {
	const full = releaseName // the full name of the release "orgrbac"
	tests := []struct {
		name   string
		values string
		check  func(t *testing.T, objs objects)
	}{{
		name: "default",
		check: func(t *testing.T, objs objects) {
			dep, c := manager(t, objs)
			if dep.Name != "orgrbac-controller-manager" || *dep.Spec.Replicas != 2 {
				t.Errorf("Deployment %s with %d replicas, want orgrbac-controller-manager with 2", dep.Name, *dep.Spec.Replicas)
			}
			if c.Image != "localhost/orgrbac/manager:0.1.0" || c.ImagePullPolicy != corev1.PullIfNotPresent {
				t.Errorf("image %s (%s), want localhost/orgrbac/manager:<appVersion> (IfNotPresent)", c.Image, c.ImagePullPolicy)
			}
			wantFlag(t, c.Args, "leader-elect", "")
			wantFlag(t, c.Args, "metrics-bind-address", ":8443")
			wantFlag(t, c.Args, "health-probe-bind-address", ":8081")
			wantFlag(t, c.Args, "api-bind-address", ":8082")
			wantFlag(t, c.Args, "zap-log-level", "info")
			wantFlag(t, c.Args, "api-ca-configmap", "orgrbac-api-ca")
			wantNoFlag(t, c.Args, "metrics-service") // no metrics Service without serviceMonitor.enabled
			wantNoFlag(t, c.Args, "metrics-cert-dir")
			checkRotation(t, objs, full, namespace)
			checkRestricted(t, dep.Name, dep.Spec.Template.Spec)
			checkPorts(t, c)

			// Probes, graceful shutdown.
			if p := c.LivenessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/healthz" || p.HTTPGet.Port.IntVal != 8081 {
				t.Errorf("liveness probe %+v, want GET :8081/healthz", p)
			}
			if p := c.ReadinessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/readyz" || p.HTTPGet.Port.IntVal != 8081 {
				t.Errorf("readiness probe %+v, want GET :8081/readyz", p)
			}
			if l := c.Lifecycle; l == nil || l.PreStop == nil || l.PreStop.Sleep == nil || l.PreStop.Sleep.Seconds != 5 || l.PreStop.Exec != nil {
				t.Errorf("lifecycle %+v, want a preStop sleep of 5 s", l)
			}
			if g := dep.Spec.Template.Spec.TerminationGracePeriodSeconds; g == nil || *g < 15 {
				t.Errorf("terminationGracePeriodSeconds %v, want at least 15", g)
			}

			// Memory: not below docs/benchmarks.md's 100k cold-start peak (1,100 MiB, run C).
			limit := c.Resources.Limits[corev1.ResourceMemory]
			if limit.Cmp(resource.MustParse("1100Mi")) < 0 {
				t.Errorf("memory limit %s is below the measured 100k peak RSS, 1100Mi", limit.String())
			}
			if _, ok := c.Resources.Limits[corev1.ResourceCPU]; ok {
				t.Errorf("a CPU limit is set: the cold start is CPU-bound")
			}
			if req := c.Resources.Requests[corev1.ResourceMemory]; req.IsZero() || req.Cmp(limit) > 0 {
				t.Errorf("memory request %s, want one not above the limit %s", req.String(), limit.String())
			}

			// Soft spreading by default.
			aff := dep.Spec.Template.Spec.Affinity
			if aff == nil || aff.PodAntiAffinity == nil || len(aff.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution) != 1 ||
				len(aff.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution) != 0 {
				t.Errorf("affinity %+v, want one preferred pod anti-affinity term", aff)
			}
			for _, tsc := range dep.Spec.Template.Spec.TopologySpreadConstraints {
				if tsc.WhenUnsatisfiable != corev1.ScheduleAnyway {
					t.Errorf("topology spread %+v is not soft", tsc)
				}
			}
			if len(dep.Spec.Template.Spec.TopologySpreadConstraints) == 0 {
				t.Errorf("no topology spread constraint")
			}

			// The seven CRDs, kept on uninstall.
			crds := objs.ofKind("CustomResourceDefinition")
			var names []string
			for _, o := range crds {
				names = append(names, o.Name)
				crd := decode[apiextensionsv1.CustomResourceDefinition](t, o)
				if crd.Annotations["helm.sh/resource-policy"] != "keep" {
					t.Errorf("CRD %s: annotations %v, want helm.sh/resource-policy: keep", crd.Name, crd.Annotations)
				}
			}
			sort.Strings(names)
			if !slices.Equal(names, crdNames) {
				t.Errorf("CRDs %v, want %v", names, crdNames)
			}

			// The PodDisruptionBudget keeps one of the two.
			pdb := decode[policyv1.PodDisruptionBudget](t, objs.get(t, "PodDisruptionBudget", "orgrbac-controller-manager"))
			if pdb.Spec.MinAvailable == nil || pdb.Spec.MinAvailable.IntValue() != 1 {
				t.Errorf("PDB minAvailable %v, want 1", pdb.Spec.MinAvailable)
			}

			// Services, with config/default's names.
			webhook := decode[corev1.Service](t, objs.get(t, "Service", "orgrbac-webhook-service"))
			if len(webhook.Spec.Ports) != 1 || webhook.Spec.Ports[0].Port != 443 || webhook.Spec.Ports[0].TargetPort.IntVal != 9443 {
				t.Errorf("webhook Service ports %+v, want 443 → 9443", webhook.Spec.Ports)
			}
			api := decode[corev1.Service](t, objs.get(t, "Service", "orgrbac-api"))
			if len(api.Spec.Ports) != 1 || api.Spec.Ports[0].Port != 8082 {
				t.Errorf("API Service ports %+v, want 8082", api.Spec.Ports)
			}
			if _, ok := objs.find("Service", "orgrbac-metrics"); ok {
				t.Errorf("the metrics Service is rendered without serviceMonitor.enabled")
			}
			if n := len(objs.ofKind("ServiceMonitor")); n != 0 {
				t.Errorf("%d ServiceMonitors without serviceMonitor.enabled", n)
			}
			if n := len(objs.ofKind("PrometheusRule")); n != 0 {
				t.Errorf("%d PrometheusRules without prometheusRule.enabled", n)
			}

			// Fixed ClusterRole names, the same as kustomize's.
			objs.get(t, "ClusterRole", "orgrbac-api-caller")
			objs.get(t, "ClusterRole", "orgrbac-metrics-reader")
			objs.get(t, "ClusterRole", "orgrbac-manager-role")
			objs.get(t, "ClusterRoleBinding", "orgrbac-manager-rolebinding")
			objs.get(t, "Role", "orgrbac-leader-election-role")
			objs.get(t, "RoleBinding", "orgrbac-leader-election-rolebinding")
			objs.get(t, "ServiceAccount", "orgrbac-controller-manager")

			// The post-delete hook removes the finalizers once the managers are gone.
			job := decode[batchv1.Job](t, objs.get(t, "Job", "orgrbac-remove-finalizers"))
			if a := job.Annotations; a["helm.sh/hook"] != "post-delete" || !strings.Contains(a["helm.sh/hook-delete-policy"], "hook-succeeded") {
				t.Errorf("Job annotations %v, want a post-delete hook deleted once it succeeded", a)
			}
			jc := job.Spec.Template.Spec.Containers[0]
			if jc.Image != c.Image || !slices.Contains(jc.Args, "--remove-finalizers") {
				t.Errorf("hook container %s %v, want the manager's image with --remove-finalizers", jc.Image, jc.Args)
			}
			for _, o := range objs.hooks() {
				if o.Map["metadata"].(map[string]any)["annotations"].(map[string]any)["helm.sh/hook"] != "post-delete" {
					t.Errorf("hook %s %s is not a post-delete hook", o.Kind, o.Name)
				}
			}
			hookRole := decode[rbacv1.ClusterRole](t, objs.get(t, "ClusterRole", "orgrbac-remove-finalizers"))
			wantRules(t, "the hook's ClusterRole", hookRole.Rules, []rbacv1.PolicyRule{{APIGroups: []string{"orgrbac.dev"},
				Resources: []string{"roles", "organizationroles"}, Verbs: []string{"get", "list", "update"}}})
			leaseRole := decode[rbacv1.Role](t, objs.get(t, "Role", "orgrbac-remove-finalizers"))
			wantRules(t, "the hook's Role", leaseRole.Rules, []rbacv1.PolicyRule{{APIGroups: []string{"coordination.k8s.io"},
				Resources: []string{"leases"}, Verbs: []string{"get", "delete"}}})
		},
	}, {
		name:   "no uninstall hook",
		values: "uninstall: {removeFinalizers: false}",
		check: func(t *testing.T, objs objects) {
			if hooks := objs.hooks(); len(hooks) != 0 {
				t.Errorf("hooks rendered with uninstall.removeFinalizers=false: %v", hooks.ids())
			}
		},
	}, {
		name:   "cert-manager",
		values: "certManager: {enabled: true}",
		check: func(t *testing.T, objs objects) {
			_, c := manager(t, objs)
			for _, f := range []string{"webhook-cert-secret", "webhook-service", "webhook-configuration", "webhook-mutating-configuration", "api-service"} {
				wantNoFlag(t, c.Args, f)
			}
			wantFlag(t, c.Args, "webhook-cert-dir", certDir)
			// The decision API serves cert-manager's certificate; its ca.crt is published.
			wantFlag(t, c.Args, "api-cert-dir", certDir)
			wantFlag(t, c.Args, "api-ca-configmap", "orgrbac-api-ca")
			if _, ok := objs.find("Secret", full+"-webhook-server-cert"); ok {
				t.Errorf("the Secret is rendered: cert-manager writes it")
			}
			for _, kind := range []string{"Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"} {
				if _, ok := objs.find(kind, full+"-webhook-cert-rotation"); ok {
					t.Errorf("the rotation %s is rendered: the manager does not rotate", kind)
				}
			}
			issuer := objs.get(t, "Issuer", full+"-selfsigned-issuer")
			if issuer.Map["apiVersion"] != "cert-manager.io/v1" || issuer.Map["spec"].(map[string]any)["selfSigned"] == nil {
				t.Errorf("Issuer %v, want a cert-manager.io/v1 self-signed one", issuer.Map)
			}
			cert := decodeCertificate(t, objs.get(t, "Certificate", full+"-serving-cert"))
			if cert.APIVersion != "cert-manager.io/v1" || cert.Spec.SecretName != full+"-webhook-server-cert" {
				t.Errorf("Certificate %s into %s, want cert-manager.io/v1 into %s-webhook-server-cert", cert.APIVersion, cert.Spec.SecretName, full)
			}
			if cert.Spec.IssuerRef.Name != full+"-selfsigned-issuer" || cert.Spec.IssuerRef.Kind != "Issuer" {
				t.Errorf("issuerRef %+v, want the chart's Issuer", cert.Spec.IssuerRef)
			}
			for _, dns := range []string{
				"orgrbac-webhook-service.orgrbac-system.svc", "orgrbac-webhook-service.orgrbac-system.svc.cluster.local",
				"orgrbac-api.orgrbac-system.svc", "orgrbac-api.orgrbac-system.svc.cluster.local",
			} {
				if !slices.Contains(cert.Spec.DNSNames, dns) {
					t.Errorf("Certificate dnsNames %v lack %s", cert.Spec.DNSNames, dns)
				}
			}
			vwc := decode[admissionregistrationv1.ValidatingWebhookConfiguration](t,
				objs.get(t, "ValidatingWebhookConfiguration", full+"-validating-webhook-configuration"))
			if got := vwc.Annotations["cert-manager.io/inject-ca-from"]; got != "orgrbac-system/orgrbac-serving-cert" {
				t.Errorf("cert-manager.io/inject-ca-from %q, want orgrbac-system/orgrbac-serving-cert", got)
			}
			mwc := decode[admissionregistrationv1.MutatingWebhookConfiguration](t,
				objs.get(t, "MutatingWebhookConfiguration", full+"-mutating-webhook-configuration"))
			if got := mwc.Annotations["cert-manager.io/inject-ca-from"]; got != "orgrbac-system/orgrbac-serving-cert" {
				t.Errorf("mutating: cert-manager.io/inject-ca-from %q, want orgrbac-system/orgrbac-serving-cert", got)
			}
		},
	}, {
		name:   "cert-manager with an existing ClusterIssuer",
		values: "certManager: {enabled: true, issuerRef: {kind: ClusterIssuer, name: corp-ca, group: cert-manager.io}}",
		check: func(t *testing.T, objs objects) {
			if n := len(objs.ofKind("Issuer")); n != 0 {
				t.Errorf("%d Issuers rendered with an issuerRef", n)
			}
			cert := decodeCertificate(t, objs.get(t, "Certificate", full+"-serving-cert"))
			if cert.Spec.IssuerRef != (issuerRef{Name: "corp-ca", Kind: "ClusterIssuer", Group: "cert-manager.io"}) {
				t.Errorf("issuerRef %+v, want the ClusterIssuer corp-ca", cert.Spec.IssuerRef)
			}
		},
	}, {
		name:   "service monitor",
		values: "serviceMonitor: {enabled: true, labels: {release: prometheus}}",
		check: func(t *testing.T, objs objects) {
			svc := decode[corev1.Service](t, objs.get(t, "Service", full+"-metrics"))
			if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != 8443 || svc.Spec.Ports[0].Name != "https" {
				t.Errorf("metrics Service ports %+v, want https 8443", svc.Spec.Ports)
			}
			sm := decodeServiceMonitor(t, objs.get(t, "ServiceMonitor", full+"-metrics"))
			if sm.APIVersion != "monitoring.coreos.com/v1" || sm.Labels["release"] != "prometheus" {
				t.Errorf("ServiceMonitor %s with labels %v, want monitoring.coreos.com/v1 with release=prometheus", sm.APIVersion, sm.Labels)
			}
			if len(sm.Spec.Endpoints) != 1 {
				t.Fatalf("endpoints %+v, want one", sm.Spec.Endpoints)
			}
			ep := sm.Spec.Endpoints[0]
			if ep.Scheme != "https" || ep.Port != "https" || ep.Path != "/metrics" ||
				ep.BearerTokenFile != "/var/run/secrets/kubernetes.io/serviceaccount/token" {
				t.Errorf("endpoint %+v, want https /metrics with the ServiceAccount token", ep)
			}
			// Prometheus verifies the rotated certificate, which /metrics serves.
			if tc := ep.TLSConfig; tc.InsecureSkipVerify || tc.ServerName != full+"-metrics.orgrbac-system.svc" ||
				tc.CA.Secret.Name != full+"-webhook-server-cert" || tc.CA.Secret.Key != "ca.crt" {
				t.Errorf("tlsConfig %+v, want the Secret's ca.crt for %s-metrics.orgrbac-system.svc", tc, full)
			}
			// The series' job is the one the alerts and the dashboard select.
			if job := scrapeJob(sm, svc); job != "orgrbac-manager" {
				t.Errorf("the scraped series get job=%q (jobLabel %q, Service labels %v), want orgrbac-manager", job, sm.Spec.JobLabel, svc.Labels)
			}
			_, c := manager(t, objs)
			wantFlag(t, c.Args, "metrics-service", full+"-metrics")
			wantNoFlag(t, c.Args, "metrics-cert-dir")
			// The ServiceMonitor selects the metrics Service, and only it.
			for _, o := range objs.ofKind("Service") {
				s := decode[corev1.Service](t, o)
				matches := true
				for k, v := range sm.Spec.Selector.MatchLabels {
					matches = matches && s.Labels[k] == v
				}
				if matches != (s.Name == full+"-metrics") {
					t.Errorf("the ServiceMonitor's selector %v matches the Service %s: %v", sm.Spec.Selector.MatchLabels, s.Name, matches)
				}
			}
		},
	}, {
		name:   "webhook client CA",
		values: "webhook: {clientCAConfigMap: apiserver-webhook-client-ca}",
		check: func(t *testing.T, objs objects) {
			dep, c := manager(t, objs)
			wantFlag(t, c.Args, "webhook-client-ca", "/etc/orgrbac/webhook-client-ca/ca.crt")
			mounted := false
			for _, m := range c.VolumeMounts {
				if m.Name == "webhook-client-ca" && m.MountPath == "/etc/orgrbac/webhook-client-ca" && m.ReadOnly {
					mounted = true
				}
			}
			found := false
			for _, v := range dep.Spec.Template.Spec.Volumes {
				if v.Name == "webhook-client-ca" && v.ConfigMap != nil && v.ConfigMap.Name == "apiserver-webhook-client-ca" &&
					len(v.ConfigMap.Items) == 1 && v.ConfigMap.Items[0].Key == "ca.crt" {
					found = true
				}
			}
			if !mounted || !found {
				t.Errorf("the client CA ConfigMap is mounted %v, a volume %v; want both", mounted, found)
			}
		},
	}, {
		name:   "network policy",
		values: "networkPolicy: {enabled: true, webhookFrom: [{ipBlock: {cidr: 10.0.0.10/32}}]}",
		check: func(t *testing.T, objs objects) {
			np := decode[networkingv1.NetworkPolicy](t, objs.get(t, "NetworkPolicy", full+"-manager"))
			if !slices.Equal(np.Spec.PolicyTypes, []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}) {
				t.Errorf("policyTypes %v, want Ingress only (the manager calls the API server)", np.Spec.PolicyTypes)
			}
			dep, _ := manager(t, objs)
			if !maps.Equal(np.Spec.PodSelector.MatchLabels, dep.Spec.Selector.MatchLabels) {
				t.Errorf("the policy selects %v, the manager's pods are %v", np.Spec.PodSelector.MatchLabels, dep.Spec.Selector.MatchLabels)
			}
			from := map[int32][]networkingv1.NetworkPolicyPeer{}
			for _, r := range np.Spec.Ingress {
				if len(r.Ports) != 1 || r.Ports[0].Port == nil {
					t.Fatalf("ingress rule %+v: want one port", r)
				}
				from[r.Ports[0].Port.IntVal] = r.From
			}
			if len(from) != 3 {
				t.Errorf("ingress ports %v, want 9443, 8082 and 8443 only", from)
			}
			if p := from[9443]; len(p) != 1 || p[0].IPBlock == nil || p[0].IPBlock.CIDR != "10.0.0.10/32" {
				t.Errorf("the webhook port admits %+v, want the API server's address only", p)
			}
			if p := from[8082]; len(p) != 1 || p[0].NamespaceSelector == nil || len(p[0].NamespaceSelector.MatchLabels) != 0 {
				t.Errorf("the decision API admits %+v, want pods of every namespace", p)
			}
			if p := from[8443]; len(p) != 1 || p[0].NamespaceSelector == nil ||
				p[0].NamespaceSelector.MatchLabels["orgrbac.dev/metrics-scraper"] != "true" {
				t.Errorf("/metrics admits %+v, want the scrapers' namespaces", p)
			}
		},
	}, {
		name:   "cert-manager with a service monitor",
		values: "certManager: {enabled: true}\nserviceMonitor: {enabled: true}",
		check: func(t *testing.T, objs objects) {
			_, c := manager(t, objs)
			wantFlag(t, c.Args, "metrics-cert-dir", certDir)
			wantNoFlag(t, c.Args, "metrics-service")
			cert := decodeCertificate(t, objs.get(t, "Certificate", full+"-serving-cert"))
			for _, dns := range []string{"orgrbac-metrics.orgrbac-system.svc", "orgrbac-metrics.orgrbac-system.svc.cluster.local"} {
				if !slices.Contains(cert.Spec.DNSNames, dns) {
					t.Errorf("Certificate dnsNames %v lack %s", cert.Spec.DNSNames, dns)
				}
			}
			sm := decodeServiceMonitor(t, objs.get(t, "ServiceMonitor", full+"-metrics"))
			if tc := sm.Spec.Endpoints[0].TLSConfig; tc.CA.Secret.Name != cert.Spec.SecretName {
				t.Errorf("tlsConfig %+v, want the CA of the Secret %s", tc, cert.Spec.SecretName)
			}
		},
	}, {
		name:   "image digest",
		values: "image: {repository: ghcr.io/orgrbac/manager, tag: v9.9.9, digest: 'sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef', pullPolicy: Always}",
		check: func(t *testing.T, objs objects) {
			_, c := manager(t, objs)
			want := "ghcr.io/orgrbac/manager@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
			if c.Image != want || c.ImagePullPolicy != corev1.PullAlways {
				t.Errorf("image %s (%s), want %s (Always)", c.Image, c.ImagePullPolicy, want)
			}
		},
	}, {
		name:   "image tag",
		values: "image: {tag: v1.2.3}\nimagePullSecrets: [{name: regcred}]",
		check: func(t *testing.T, objs objects) {
			dep, c := manager(t, objs)
			if c.Image != "localhost/orgrbac/manager:v1.2.3" {
				t.Errorf("image %s, want localhost/orgrbac/manager:v1.2.3", c.Image)
			}
			if ps := dep.Spec.Template.Spec.ImagePullSecrets; len(ps) != 1 || ps[0].Name != "regcred" {
				t.Errorf("imagePullSecrets %v, want regcred", ps)
			}
		},
	}, {
		name:   "one replica",
		values: "replicas: 1",
		check: func(t *testing.T, objs objects) {
			dep, c := manager(t, objs)
			if *dep.Spec.Replicas != 1 {
				t.Errorf("replicas %d, want 1", *dep.Spec.Replicas)
			}
			wantFlag(t, c.Args, "leader-elect", "")
			// A PodDisruptionBudget of minAvailable 1 would block every drain.
			if pdbs := objs.ofKind("PodDisruptionBudget"); len(pdbs) != 0 {
				t.Errorf("PodDisruptionBudget rendered for one replica: %v", pdbs.ids())
			}
		},
	}, {
		name:   "log level, extra args and env",
		values: "logLevel: debug\nextraArgs: [--max-concurrent-reconciles=8, --pprof-bind-address=127.0.0.1:6060]\nextraEnv: [{name: GOGC, value: '100'}]",
		check: func(t *testing.T, objs objects) {
			_, c := manager(t, objs)
			wantFlag(t, c.Args, "zap-log-level", "debug")
			wantFlag(t, c.Args, "max-concurrent-reconciles", "8")
			wantFlag(t, c.Args, "pprof-bind-address", "127.0.0.1:6060")
			// Extra arguments come last, so that they win over the chart's.
			if last := c.Args[len(c.Args)-1]; last != "--pprof-bind-address=127.0.0.1:6060" {
				t.Errorf("last argument %q, want the last extra argument", last)
			}
			if len(c.Env) != 1 || c.Env[0].Name != "GOGC" || c.Env[0].Value != "100" {
				t.Errorf("env %v, want GOGC=100", c.Env)
			}
		},
	}, {
		name:   "CA not published",
		values: "decisionAPI: {caConfigMap: ''}",
		check: func(t *testing.T, objs objects) {
			_, c := manager(t, objs)
			wantNoFlag(t, c.Args, "api-ca-configmap")
			wantFlag(t, c.Args, "api-service", full+"-api")
		},
	}, {
		name:   "integer log level",
		values: "logLevel: 3",
		check: func(t *testing.T, objs objects) {
			_, c := manager(t, objs)
			wantFlag(t, c.Args, "zap-log-level", "3")
		},
	}, {
		name:   "CRDs off",
		values: "crds: {enabled: false}",
		check: func(t *testing.T, objs objects) {
			if crds := objs.ofKind("CustomResourceDefinition"); len(crds) != 0 {
				t.Errorf("CRDs rendered with crds.enabled=false: %v", crds.ids())
			}
		},
	}, {
		name:   "CRDs not kept",
		values: "crds: {keep: false}",
		check: func(t *testing.T, objs objects) {
			crds := objs.ofKind("CustomResourceDefinition")
			if len(crds) != len(crdNames) {
				t.Errorf("%d CRDs, want %d", len(crds), len(crdNames))
			}
			for _, o := range crds {
				crd := decode[apiextensionsv1.CustomResourceDefinition](t, o)
				if _, ok := crd.Annotations["helm.sh/resource-policy"]; ok {
					t.Errorf("CRD %s keeps the resource policy with crds.keep=false", crd.Name)
				}
			}
		},
	}, {
		name:   "hard spreading and scheduling values",
		values: "spreadPreset: hard\nnodeSelector: {kubernetes.io/os: linux}\ntolerations: [{key: dedicated, operator: Exists}]\npriorityClassName: system-cluster-critical\npodAnnotations: {a: b}\npodLabels: {team: platform}\nterminationGracePeriodSeconds: 60",
		check: func(t *testing.T, objs objects) {
			dep, _ := manager(t, objs)
			spec := dep.Spec.Template.Spec
			if aff := spec.Affinity; aff == nil || aff.PodAntiAffinity == nil || len(aff.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution) != 1 {
				t.Errorf("affinity %+v, want a required anti-affinity term", aff)
			}
			if spec.NodeSelector["kubernetes.io/os"] != "linux" || len(spec.Tolerations) != 1 || spec.PriorityClassName != "system-cluster-critical" {
				t.Errorf("nodeSelector %v, tolerations %v, priorityClassName %q", spec.NodeSelector, spec.Tolerations, spec.PriorityClassName)
			}
			if dep.Spec.Template.Annotations["a"] != "b" || dep.Spec.Template.Labels["team"] != "platform" {
				t.Errorf("pod annotations %v, labels %v", dep.Spec.Template.Annotations, dep.Spec.Template.Labels)
			}
			if *spec.TerminationGracePeriodSeconds != 60 {
				t.Errorf("terminationGracePeriodSeconds %d, want 60", *spec.TerminationGracePeriodSeconds)
			}
		},
	}, {
		name:   "custom affinity, no preset",
		values: "spreadPreset: none\naffinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: [{matchExpressions: [{key: pool, operator: In, values: [infra]}]}]}}}",
		check: func(t *testing.T, objs objects) {
			dep, _ := manager(t, objs)
			spec := dep.Spec.Template.Spec
			if spec.Affinity == nil || spec.Affinity.NodeAffinity == nil || spec.Affinity.PodAntiAffinity != nil {
				t.Errorf("affinity %+v, want the given node affinity only", spec.Affinity)
			}
			if len(spec.TopologySpreadConstraints) != 0 {
				t.Errorf("topology spread %+v with spreadPreset none", spec.TopologySpreadConstraints)
			}
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			objs, rel := mustRender(t, tt.values)
			checkInvariants(t, objs, namespace)
			if !strings.Contains(rel.Info.Notes, "rollout status deployment/orgrbac-controller-manager") {
				t.Errorf("NOTES.txt does not say how to wait for the rollout:\n%s", rel.Info.Notes)
			}
			tt.check(t, objs)
		})
	}
}

// checkRestricted: the pod meets the restricted Pod Security Standard.
func checkRestricted(t *testing.T, owner string, spec corev1.PodSpec) {
	t.Helper()
	psc := spec.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot ||
		psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("%s: pod securityContext %+v, want runAsNonRoot and the RuntimeDefault seccomp profile", owner, psc)
	}
	for _, c := range append(spec.InitContainers, spec.Containers...) {
		sc := c.SecurityContext
		if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
			sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
			sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) != 0 ||
			sc.Privileged != nil && *sc.Privileged {
			t.Errorf("container %s securityContext %+v, want no privilege escalation, a read-only root and ALL capabilities dropped", c.Name, sc)
		}
	}
	if spec.HostNetwork || spec.HostPID || spec.HostIPC {
		t.Errorf("%s: the pod uses host namespaces", owner)
	}
	for _, v := range spec.Volumes {
		if v.HostPath != nil {
			t.Errorf("volume %s is a hostPath", v.Name)
		}
	}
}

func checkPorts(t *testing.T, c corev1.Container) {
	t.Helper()
	want := map[string]int32{"webhook": 9443, "metrics": 8443, "api": 8082}
	for name, port := range want {
		if !slices.ContainsFunc(c.Ports, func(p corev1.ContainerPort) bool { return p.Name == name && p.ContainerPort == port }) {
			t.Errorf("container ports %+v lack %s %d", c.Ports, name, port)
		}
	}
}

// The cert-manager and prometheus-operator fields the tests read.
type issuerRef struct {
	Name  string `json:"name"`
	Kind  string `json:"kind"`
	Group string `json:"group"`
}

type certificate struct {
	APIVersion string `json:"apiVersion"`
	Spec       struct {
		SecretName string    `json:"secretName"`
		DNSNames   []string  `json:"dnsNames"`
		IssuerRef  issuerRef `json:"issuerRef"`
	} `json:"spec"`
}

func decodeCertificate(t *testing.T, o object) certificate {
	t.Helper()
	var c certificate
	if err := yaml.Unmarshal(o.Raw, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

type serviceMonitor struct {
	APIVersion string `json:"apiVersion"`
	Metadata   struct {
		Labels map[string]string `json:"labels"`
	} `json:"metadata"`
	Labels map[string]string `json:"-"`
	Spec   struct {
		JobLabel string `json:"jobLabel"`
		Selector struct {
			MatchLabels map[string]string `json:"matchLabels"`
		} `json:"selector"`
		Endpoints []struct {
			Port            string `json:"port"`
			Scheme          string `json:"scheme"`
			Path            string `json:"path"`
			BearerTokenFile string `json:"bearerTokenFile"`
			TLSConfig       struct {
				InsecureSkipVerify bool   `json:"insecureSkipVerify"`
				ServerName         string `json:"serverName"`
				CA                 struct {
					Secret struct {
						Name string `json:"name"`
						Key  string `json:"key"`
					} `json:"secret"`
				} `json:"ca"`
			} `json:"tlsConfig"`
		} `json:"endpoints"`
	} `json:"spec"`
}

func decodeServiceMonitor(t *testing.T, o object) serviceMonitor {
	t.Helper()
	var sm serviceMonitor
	if err := yaml.Unmarshal(o.Raw, &sm); err != nil {
		t.Fatal(err)
	}
	sm.Labels = sm.Metadata.Labels
	return sm
}

// TestReleaseNames: the full name follows the release (and fullnameOverride); the
// two ClusterRoles workloads and Prometheus are bound to keep their fixed names.
func TestReleaseNames(t *testing.T) {
	tests := []struct {
		release, ns, values, full string
	}{
		{"orgrbac", "orgrbac-system", "", "orgrbac"},
		{"orgrbac-prod", "auth", "", "orgrbac-prod"},
		{"prod", "auth", "", "prod-orgrbac"},
		{"prod", "auth", "fullnameOverride: authz", "authz"},
		{"prod", "auth", "nameOverride: rbac", "prod-rbac"},
		// Truncated to 47 characters, so that "-webhook-service" fits a Service name.
		{"orgrbac-in-a-release-whose-name-is-as-long-as-helm-al", "ns", "", "orgrbac-in-a-release-whose-name-is-as-long-as-h"},
	}
	for _, tt := range tests {
		t.Run(tt.release+"/"+tt.values, func(t *testing.T) {
			t.Parallel()
			objs, _ := mustRender(t, tt.values, renderOptions{release: tt.release, namespace: tt.ns})
			checkInvariants(t, objs, tt.ns)
			for _, id := range []struct{ kind, name string }{
				{"Deployment", tt.full + "-controller-manager"},
				{"ServiceAccount", tt.full + "-controller-manager"},
				{"Service", tt.full + "-webhook-service"},
				{"Service", tt.full + "-api"},
				{"Secret", tt.full + "-webhook-server-cert"},
				{"ValidatingWebhookConfiguration", tt.full + "-validating-webhook-configuration"},
				{"MutatingWebhookConfiguration", tt.full + "-mutating-webhook-configuration"},
				{"ClusterRole", tt.full + "-manager-role"},
				{"ClusterRole", "orgrbac-api-caller"},
				{"ClusterRole", "orgrbac-metrics-reader"},
			} {
				objs.get(t, id.kind, id.name)
			}
			checkRotation(t, objs, tt.full, tt.ns)
		})
	}
}

// TestValuesRejected: values.schema.json and the chart's constraints refuse bad input.
func TestValuesRejected(t *testing.T) {
	tests := []struct {
		name, values, wantErr string
		kubeVersion           string
	}{
		{name: "replicas as a word", values: `replicas: "two"`, wantErr: "replicas"},
		{name: "unknown top-level value", values: "replicaCount: 3", wantErr: "replicaCount"},
		{name: "unknown nested value", values: "crds: {install: true}", wantErr: "install"},
		{name: "pull policy", values: "image: {pullPolicy: Sometimes}", wantErr: "pullPolicy"},
		{name: "log level", values: "logLevel: verbose", wantErr: "logLevel"},
		{name: "grace period under 15 s", values: "terminationGracePeriodSeconds: 5", wantErr: "terminationGracePeriodSeconds"},
		{name: "malformed digest", values: "image: {digest: latest}", wantErr: "digest"},
		{name: "memory limit", values: "resources: {limits: {memory: lots}}", wantErr: "memory"},
		{name: "spread preset", values: "spreadPreset: sometimes", wantErr: "spreadPreset"},
		{name: "no way to skip TLS verification", values: "serviceMonitor: {insecureSkipVerify: true}", wantErr: "insecureSkipVerify"},
		{name: "Kubernetes before 1.30", kubeVersion: "v1.29.4", wantErr: "kubeVersion"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opts := renderOptions{release: releaseName, namespace: namespace, kubeVersion: tt.kubeVersion}
			_, _, err := render(t, tt.values, opts)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("values %q: error %v, want one about %s", tt.values, err, tt.wantErr)
			}
		})
	}
	// The oldest supported version renders.
	mustRender(t, "", renderOptions{release: releaseName, namespace: namespace, kubeVersion: "v1.30.0"})
}

// wantRules compares RBAC rules as sets of single permissions.
func wantRules(t *testing.T, what string, got, want []rbacv1.PolicyRule) {
	t.Helper()
	g, w := expandRules(got), expandRules(want)
	if !slices.Equal(g, w) {
		t.Errorf("%s rules differ:\n  only rendered: %v\n  only wanted: %v", what, minus(g, w), minus(w, g))
	}
}

// expandRules turns rules into their sorted, deduplicated single permissions.
func expandRules(rules []rbacv1.PolicyRule) []string {
	orAll := func(s []string) []string {
		if len(s) == 0 {
			return []string{"*none*"}
		}
		return s
	}
	set := map[string]bool{}
	for _, r := range rules {
		for _, verb := range orAll(r.Verbs) {
			for _, url := range r.NonResourceURLs {
				set[fmt.Sprintf("url=%s verb=%s", url, verb)] = true
			}
			if len(r.NonResourceURLs) > 0 {
				continue
			}
			for _, g := range orAll(r.APIGroups) {
				for _, res := range orAll(r.Resources) {
					for _, name := range orAll(r.ResourceNames) {
						set[fmt.Sprintf("group=%s resource=%s name=%s verb=%s", g, res, name, verb)] = true
					}
				}
			}
		}
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func minus(a, b []string) []string {
	var out []string
	for _, s := range a {
		if !slices.Contains(b, s) {
			out = append(out, s)
		}
	}
	return out
}
