//go:build envtest

package observability

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"sigs.k8s.io/yaml"
)

var kit = filepath.Join("..", "..", "config", "prometheus")

// selectorPattern finds the metric names of PromQL expressions: every metric
// the kit reads is written with a label selector, name{...}.
var selectorPattern = regexp.MustCompile(`([a-zA-Z_:][a-zA-Z0-9_:]*)\{`)

// notTheManagers are series that other targets export: Prometheus itself (up)
// and the API server (its admission metrics).
var notTheManagers = []string{"up", "apiserver_admission_webhook_rejection_count"}

// metricNames returns the metric names of a PromQL expression.
func metricNames(expr string) []string {
	var out []string
	for _, m := range selectorPattern.FindAllStringSubmatch(expr, -1) {
		out = append(out, m[1])
	}
	return out
}

// rule is one alerting rule of the PrometheusRule.
type rule struct {
	Alert string `json:"alert"`
	Expr  string `json:"expr"`
}

// prometheusRule is the part of the PrometheusRule the tests read.
type prometheusRule struct {
	Kind string `json:"kind"`
	Spec struct {
		Groups []struct {
			Name  string `json:"name"`
			Rules []rule `json:"rules"`
		} `json:"groups"`
	} `json:"spec"`
}

// rulesFile writes the PrometheusRule's spec as a Prometheus rules file, with a
// copy of the unit tests next to it, and returns the folder.
func rulesFile() string {
	GinkgoHelper()
	data, err := os.ReadFile(filepath.Join(kit, "prometheusrule.yaml"))
	Expect(err).NotTo(HaveOccurred())
	var obj map[string]any
	Expect(yaml.Unmarshal(data, &obj)).To(Succeed())
	Expect(obj["kind"]).To(Equal("PrometheusRule"))
	spec, err := yaml.Marshal(obj["spec"])
	Expect(err).NotTo(HaveOccurred())
	dir := GinkgoT().TempDir()
	Expect(os.WriteFile(filepath.Join(dir, "orgrbac.rules.yaml"), spec, 0o600)).To(Succeed())
	tests, err := os.ReadFile(filepath.Join(kit, "rules_test.yaml"))
	Expect(err).NotTo(HaveOccurred())
	Expect(os.WriteFile(filepath.Join(dir, "rules_test.yaml"), tests, 0o600)).To(Succeed())
	return dir
}

func readRules() []rule {
	GinkgoHelper()
	data, err := os.ReadFile(filepath.Join(kit, "prometheusrule.yaml"))
	Expect(err).NotTo(HaveOccurred())
	var pr prometheusRule
	Expect(yaml.Unmarshal(data, &pr)).To(Succeed())
	var out []rule
	for _, g := range pr.Spec.Groups {
		out = append(out, g.Rules...)
	}
	return out
}

// promtool finds promtool: $PROMTOOL (`make test` sets it from hack/promtool.sh,
// which installs it when missing), else the PATH. A missing promtool fails the
// test.
func promtool() string {
	GinkgoHelper()
	if path := os.Getenv("PROMTOOL"); path != "" {
		return path
	}
	path, err := exec.LookPath("promtool")
	Expect(err).NotTo(HaveOccurred(), "promtool is missing: hack/promtool.sh installs it (make test runs it)")
	return path
}

// dashboard is the part of the Grafana dashboard the tests read.
type dashboard struct {
	Panels []struct {
		Type    string `json:"type"`
		Title   string `json:"title"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
	} `json:"panels"`
}

// exported returns the names of the series in a /metrics text: each metric
// family's name, and for histograms and summaries their _bucket, _sum and
// _count series.
func exported(data []byte) map[string]bool {
	GinkgoHelper()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(data))
	Expect(err).NotTo(HaveOccurred())
	out := map[string]bool{}
	for name, f := range families {
		if len(f.GetMetric()) == 0 {
			continue
		}
		out[name] = true
		switch f.GetType() {
		case dto.MetricType_HISTOGRAM:
			out[name+"_bucket"], out[name+"_sum"], out[name+"_count"] = true, true, true
		case dto.MetricType_SUMMARY:
			out[name+"_sum"], out[name+"_count"] = true, true
		default:
		}
	}
	return out
}

var _ = Describe("The alerts", func() {
	It("pass promtool check rules", func(ctx SpecContext) {
		dir := rulesFile()
		out, err := exec.CommandContext(ctx, promtool(), "check", "rules", filepath.Join(dir, "orgrbac.rules.yaml")).CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), string(out))
		GinkgoWriter.Printf("%s", out)
	})

	It("pass their unit tests (promtool test rules), and every alert has tests and a runbook", func(ctx SpecContext) {
		dir := rulesFile()
		cmd := exec.CommandContext(ctx, promtool(), "test", "rules", "rules_test.yaml")
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), string(out))
		GinkgoWriter.Printf("%s", out)

		tests, err := os.ReadFile(filepath.Join(kit, "rules_test.yaml"))
		Expect(err).NotTo(HaveOccurred())
		ops, err := os.ReadFile(filepath.Join("..", "..", "docs", "operations.md"))
		Expect(err).NotTo(HaveOccurred())
		rules := readRules()
		Expect(rules).To(HaveLen(8))
		for _, r := range rules {
			Expect(string(tests)).To(ContainSubstring("alertname: "+r.Alert), "unit tests of %s", r.Alert)
			Expect(string(ops)).To(ContainSubstring("### "+r.Alert), "a runbook section for %s in docs/operations.md", r.Alert)
		}
	})
})

var _ = Describe("The manager's /metrics", func() {
	It("exports every metric of the dashboard's panels and of the alerts", func(ctx SpecContext) {
		var d dashboard
		readJSON(filepath.Join(kit, "grafana-dashboard.json"), &d)
		want := map[string][]string{} // metric -> where it is used
		panels := 0
		for _, p := range d.Panels {
			if p.Type == "row" {
				continue
			}
			panels++
			Expect(p.Targets).NotTo(BeEmpty(), "panel %q has no query", p.Title)
			for _, t := range p.Targets {
				names := metricNames(t.Expr)
				Expect(names).NotTo(BeEmpty(), "panel %q: no metric in %s", p.Title, t.Expr)
				for _, n := range names {
					want[n] = append(want[n], "panel "+p.Title)
				}
			}
		}
		Expect(panels).To(BeNumerically(">=", 14))
		for _, r := range readRules() {
			for _, n := range metricNames(r.Expr) {
				if !slices.Contains(notTheManagers, n) {
					want[n] = append(want[n], "alert "+r.Alert)
				}
			}
		}
		Eventually(func(g Gomega) {
			have := exported(scrape(ctx))
			var missing []string
			for n, uses := range want {
				if !have[n] {
					missing = append(missing, n+" ("+strings.Join(uses, ", ")+")")
				}
			}
			slices.Sort(missing)
			g.Expect(missing).To(BeEmpty(), "metrics the kit reads and the manager does not export")
		}).WithContext(ctx).Should(Succeed())
	})

	It("counts memberships by state and readiness", func(ctx SpecContext) {
		Eventually(func(g Gomega) string { return string(scrape(ctx)) }).WithContext(ctx).Should(And(
			ContainSubstring(`orgrbac_memberships{ready="true",reason="Resolved",state="Active"} 2`),
			ContainSubstring(`orgrbac_memberships{ready="true",reason="Resolved",state="Inactive"} 1`),
			ContainSubstring(`orgrbac_memberships{ready="false",reason="OrganizationNotFound",state="Active"} 1`),
		))
	})
})
