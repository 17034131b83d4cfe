package chart

import (
	"testing"

	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart/common"
)

// lintValueSets are the values `make helm-lint` lints the chart with too.
var lintValueSets = map[string]string{
	"default":                          "",
	"cert-manager":                     "certManager: {enabled: true}",
	"service monitor":                  "serviceMonitor: {enabled: true}",
	"cert-manager and service monitor": "certManager: {enabled: true}\nserviceMonitor: {enabled: true}\nwebhook: {clientCAConfigMap: ca}\nnetworkPolicy: {enabled: true}",
	"one replica":                      "replicas: 1\ncrds: {enabled: false}",
	"alerts":                           "serviceMonitor: {enabled: true}\nprometheusRule: {enabled: true, labels: {release: prometheus}}",
	"separate decision API":            "decisionAPI: {separateDeployment: {enabled: true}}",
	"separate decision API, cert-manager, network policy and service monitor": "decisionAPI: {separateDeployment: {enabled: true}}\n" +
		"certManager: {enabled: true}\nnetworkPolicy: {enabled: true}\nserviceMonitor: {enabled: true}",
}

// TestLint runs `helm lint --strict` through the SDK: warnings fail too.
func TestLint(t *testing.T) {
	for name, values := range lintValueSets {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			vals, err := common.ReadValues([]byte(values))
			if err != nil {
				t.Fatal(err)
			}
			lint := action.NewLint()
			lint.Strict = true
			lint.Namespace = namespace
			if lint.KubeVersion, err = common.ParseKubeVersion(kubeVersion); err != nil {
				t.Fatal(err)
			}
			res := lint.Run([]string{chartDir}, vals)
			if res.TotalChartsLinted != 1 {
				t.Errorf("linted %d charts, want 1", res.TotalChartsLinted)
			}
			for _, m := range res.Messages {
				t.Logf("%s", m)
			}
			for _, err := range res.Errors {
				t.Errorf("helm lint --strict: %v", err)
			}
		})
	}
}
