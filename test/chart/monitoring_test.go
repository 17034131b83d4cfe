package chart

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// promDir is the observability kit: the alerts the chart ships and the dashboard.
var promDir = filepath.Join("..", "..", "config", "prometheus")

// scrapeJob is the job label prometheus-operator gives the series it scrapes
// through sm from the Service svc: the value of svc's label named by jobLabel, or
// else the Service's name.
func scrapeJob(sm serviceMonitor, svc *corev1.Service) string {
	if v, ok := svc.Labels[sm.Spec.JobLabel]; sm.Spec.JobLabel != "" && ok {
		return v
	}
	return svc.Name
}

var jobMatcher = regexp.MustCompile(`job\s*(=~|!=|!~|=)\s*\\?"([^"\\]*)\\?"`)

// selectedJobs returns the jobs that the selectors of text (PromQL, or JSON
// holding PromQL) match, failing on any matcher other than job="...".
func selectedJobs(t *testing.T, what string, text []byte) []string {
	t.Helper()
	var jobs []string
	for _, m := range jobMatcher.FindAllStringSubmatch(string(text), -1) {
		if m[1] != "=" {
			t.Errorf("%s selects the job with %s%q; this test expects job=\"...\"", what, m[1], m[2])
			continue
		}
		if !slices.Contains(jobs, m[2]) {
			jobs = append(jobs, m[2])
		}
	}
	if len(jobs) == 0 {
		t.Errorf("%s selects no job", what)
	}
	return jobs
}

// TestMonitoring: with serviceMonitor and prometheusRule enabled, the chart
// renders the alerts of config/prometheus, and the ServiceMonitor gives the
// manager's series the one job those alerts and the Grafana dashboard select,
// whatever the release is called.
func TestMonitoring(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(promDir, "prometheusrule.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var kit struct {
		Spec struct {
			Groups []any `json:"groups"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(src, &kit); err != nil {
		t.Fatal(err)
	}
	if len(kit.Spec.Groups) == 0 {
		t.Fatal("config/prometheus/prometheusrule.yaml has no rule groups")
	}
	dashboard, err := os.ReadFile(filepath.Join(promDir, "grafana-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	jobs := selectedJobs(t, "config/prometheus/prometheusrule.yaml", src)
	if dj := selectedJobs(t, "config/prometheus/grafana-dashboard.json", dashboard); !slices.Equal(dj, jobs) {
		t.Errorf("the dashboard selects the jobs %v, the alerts %v", dj, jobs)
	}
	if len(jobs) != 1 {
		t.Fatalf("the alerts select the jobs %v, want one", jobs)
	}

	for _, tt := range []struct{ release, ns, full string }{
		{"orgrbac", "orgrbac-system", "orgrbac"},
		{"prod", "monitoring-test", "prod-orgrbac"},
	} {
		t.Run(tt.release, func(t *testing.T) {
			t.Parallel()
			objs, _ := mustRender(t, "serviceMonitor: {enabled: true}\nprometheusRule: {enabled: true, labels: {release: prometheus}}",
				renderOptions{release: tt.release, namespace: tt.ns})
			checkInvariants(t, objs, tt.ns)

			sm := decodeServiceMonitor(t, objs.get(t, "ServiceMonitor", tt.full+"-metrics"))
			svc := decode[corev1.Service](t, objs.get(t, "Service", tt.full+"-metrics"))
			if job := scrapeJob(sm, svc); job != jobs[0] {
				t.Errorf("the scraped series get job=%q (jobLabel %q, Service labels %v); the alerts and the dashboard select job=%q",
					job, sm.Spec.JobLabel, svc.Labels, jobs[0])
			}

			rule := objs.get(t, "PrometheusRule", tt.full)
			if rule.Map["apiVersion"] != "monitoring.coreos.com/v1" || rule.Namespace != tt.ns {
				t.Errorf("PrometheusRule %v in %q, want monitoring.coreos.com/v1 in %s", rule.Map["apiVersion"], rule.Namespace, tt.ns)
			}
			labels, _ := rule.Map["metadata"].(map[string]any)["labels"].(map[string]any)
			if labels["release"] != "prometheus" || labels["app.kubernetes.io/instance"] != tt.release {
				t.Errorf("PrometheusRule labels %v, want release=prometheus and the standard ones", labels)
			}
			var got struct {
				Spec struct {
					Groups []any `json:"groups"`
				} `json:"spec"`
			}
			if err := yaml.Unmarshal(rule.Raw, &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Spec.Groups, kit.Spec.Groups) {
				t.Errorf("the chart's rule groups differ from config/prometheus/prometheusrule.yaml's (run make manifests):\n%s", rule.Raw)
			}
		})
	}

	// prometheusRule alone: the rule, and no ServiceMonitor.
	objs, _ := mustRender(t, "prometheusRule: {enabled: true}")
	checkInvariants(t, objs, namespace)
	objs.get(t, "PrometheusRule", releaseName)
	if n := len(objs.ofKind("ServiceMonitor")); n != 0 {
		t.Errorf("%d ServiceMonitors with only prometheusRule.enabled", n)
	}
}
