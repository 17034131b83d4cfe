package chart

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
)

// TestPublishedConfigMapsPolicy: the chart's ValidatingAdmissionPolicy is
// config/policy's (the same spec once kustomize names the manager), names the
// release's manager ServiceAccount, and goes with publishedConfigMapsPolicy.enabled=false.
func TestPublishedConfigMapsPolicy(t *testing.T) {
	t.Parallel()
	kust := kustomizeDefault(t)
	chart, _ := mustRender(t, "")
	for _, kind := range []string{"ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"} {
		k := kust.get(t, kind, "orgrbac-published-configmaps")
		c := chart.get(t, kind, "orgrbac-published-configmaps")
		if d := cmp.Diff(k.Map["spec"], c.Map["spec"]); d != "" {
			t.Errorf("%s: spec differs (-config/default +chart):\n%s", kind, d)
		}
	}
	policy := decode[admissionregistrationv1.ValidatingAdmissionPolicy](t, kust.get(t, "ValidatingAdmissionPolicy", "orgrbac-published-configmaps"))
	want := `'system:serviceaccount:' + 'orgrbac-system' + ':' + 'orgrbac-controller-manager'`
	if len(policy.Spec.Variables) == 0 || policy.Spec.Variables[0].Name != "manager" || policy.Spec.Variables[0].Expression != want {
		t.Errorf("config/default's policy: variables %+v, want manager = %s", policy.Spec.Variables, want)
	}

	// The CA bundle the policy lets the manager write (and protects) is the one
	// the manager publishes, in both installs.
	for name, objs := range map[string]objects{"config/default": kust, "the chart": chart} {
		_, c := manager(t, objs)
		ca, _ := flagValue(c.Args, "api-ca-configmap")
		p := decode[admissionregistrationv1.ValidatingAdmissionPolicy](t, objs.get(t, "ValidatingAdmissionPolicy", "orgrbac-published-configmaps"))
		found := false
		for _, v := range p.Spec.Variables {
			if v.Name == "apiCA" {
				found = true
				if v.Expression != "'"+ca+"'" {
					t.Errorf("%s: the policy's apiCA is %s, the manager publishes --api-ca-configmap=%q", name, v.Expression, ca)
				}
			}
		}
		if !found || ca == "" {
			t.Errorf("%s: no apiCA variable in the policy (%v) or no --api-ca-configmap (%q)", name, found, ca)
		}
	}
	withCA, _ := mustRender(t, "decisionAPI: {caConfigMap: team-ca}")
	if p := decode[admissionregistrationv1.ValidatingAdmissionPolicy](t, withCA.get(t, "ValidatingAdmissionPolicy", "orgrbac-published-configmaps")); !strings.Contains(fmt.Sprint(p.Spec.Variables), "'team-ca'") {
		t.Errorf("decisionAPI.caConfigMap=team-ca: the policy's variables are %v", p.Spec.Variables)
	}

	other, _ := mustRender(t, "", renderOptions{release: "prod", namespace: "auth"})
	p := decode[admissionregistrationv1.ValidatingAdmissionPolicy](t, other.get(t, "ValidatingAdmissionPolicy", "prod-orgrbac-published-configmaps"))
	if !strings.Contains(p.Spec.Variables[0].Expression, `'auth' + ':' + 'prod-orgrbac-controller-manager'`) {
		t.Errorf("release prod in auth: manager = %s", p.Spec.Variables[0].Expression)
	}
	other.get(t, "ServiceAccount", "prod-orgrbac-controller-manager")

	off, _ := mustRender(t, "publishedConfigMapsPolicy: {enabled: false}")
	if len(off.ofKind("ValidatingAdmissionPolicy")) != 0 || len(off.ofKind("ValidatingAdmissionPolicyBinding")) != 0 {
		t.Error("publishedConfigMapsPolicy.enabled=false still renders the policy")
	}
}
