//go:build realnode

// Package node tests orgrbac the way its users run it: its own images on a real
// node (kubelet, containerd, kube-proxy, CoreDNS; `make cluster-up`), installed
// with the Helm chart and with kustomize, called by workload Pods through
// Services. `make test-cluster` starts the node, runs this suite and stops it.
package node

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// The environment `make test-cluster` sets.
const (
	envKubeconfig = "ORGRBAC_NODE_KUBECONFIG" // the node's admin kubeconfig
	envNodeDir    = "ORGRBAC_NODE_DIR"        // the node's state folder (logs)
	envKubectl    = "ORGRBAC_KUBECTL"         // kubectl of the control-plane build
	envHelm       = "ORGRBAC_HELM"            // the pinned helm
	envImages     = "ORGRBAC_IMAGES"          // bin/images/images.json of `make image`
	envImport     = "ORGRBAC_IMAGE_IMPORT"    // the command that imports an image tarball into the node
)

// image is an entry of images.json.
type image struct {
	Name   string `json:"name"`
	Ref    string `json:"ref"`
	Digest string `json:"digest"`
	File   string `json:"file"`
}

var (
	root                  string
	kubeconfig, nodeDir   string
	kubectlBin, helmBin   string
	importCmd             string
	images                map[string]image
	managerRepo, imageTag string
	probeImage, videosImg string
	suiteStart            = time.Now()
)

func TestRealNode(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "orgrbac on a real node")
}

var _ = BeforeSuite(func() {
	SetDefaultEventuallyTimeout(2 * time.Minute)
	SetDefaultEventuallyPollingInterval(500 * time.Millisecond)
	var err error
	root, err = filepath.Abs(filepath.Join("..", ".."))
	Expect(err).NotTo(HaveOccurred())
	for name, v := range map[string]*string{envKubeconfig: &kubeconfig, envNodeDir: &nodeDir, envKubectl: &kubectlBin,
		envHelm: &helmBin, envImport: &importCmd} {
		*v = os.Getenv(name)
		Expect(*v).NotTo(BeEmpty(), "%s is not set: run the suite with `make test-cluster`", name)
	}
	data, err := os.ReadFile(os.Getenv(envImages))
	Expect(err).NotTo(HaveOccurred(), "%s names images.json of `make image`", envImages)
	var list []image
	Expect(json.Unmarshal(data, &list)).To(Succeed())
	images = map[string]image{}
	for _, im := range list {
		images[im.Name] = im
	}
	for _, name := range []string{"manager", "videos-service", "probe"} {
		Expect(images).To(HaveKey(name))
	}
	repo, tag, ok := strings.Cut(images["manager"].Ref, ":")
	Expect(ok).To(BeTrue(), images["manager"].Ref)
	// localhost/orgrbac/manager:TAG — the repository has no port, so the first colon splits the tag.
	managerRepo, imageTag = repo, tag
	probeImage, videosImg = images["probe"].Ref, images["videos-service"].Ref

	By("the node's containerd holds the built images under their digests")
	for _, name := range []string{"manager", "videos-service", "probe"} {
		im := images[name]
		out, err := run("", "ctr", "-a", filepath.Join(nodeDir, "run", "containerd.sock"), "-n", "k8s.io",
			"images", "ls", "name=="+im.Ref)
		Expect(err).NotTo(HaveOccurred())
		lines := strings.Split(out, "\n")
		Expect(lines).To(HaveLen(2), out)
		Expect(strings.Fields(lines[1])).To(ContainElement(im.Digest), "containerd's %s", im.Ref)
		GinkgoWriter.Printf("Node image %s@%s (as built by make image)\n", im.Ref, im.Digest)
	}

	By("the node is Ready")
	Eventually(func(g Gomega) {
		g.Expect(kubectlErr("wait", "--for=condition=Ready", "node", "--all", "--timeout=5s")).Error().NotTo(HaveOccurred())
	}).Should(Succeed())
	GinkgoWriter.Printf("Node: %s\n", kubectl("get", "nodes", "-o", "wide"))
})

// dumpOnFailure writes what a failed story needs to be understood: Pods, logs,
// events, orgrbac objects, and the node's kubelet and containerd logs.
var _ = ReportAfterEach(func(report SpecReport) {
	if !report.Failed() {
		return
	}
	w := GinkgoWriter
	section := func(title string, args ...string) {
		out, err := kubectlErr(args...)
		fmt.Fprintf(w, "\n===== %s =====\n%s\n", title, out)
		if err != nil {
			fmt.Fprintf(w, "(%v)\n", err)
		}
	}
	section("pods", "get", "pods", "-A", "-o", "wide")
	section("events", "get", "events", "-A", "--sort-by=.lastTimestamp")
	section("describe orgrbac-system pods", "describe", "pods", "-n", systemNamespace)
	for _, ns := range []string{systemNamespace, "videos"} {
		pods, _ := kubectlErr("get", "pods", "-n", ns, "-o", "jsonpath={.items[*].metadata.name}")
		for _, p := range strings.Fields(pods) {
			section("logs "+ns+"/"+p, "logs", "-n", ns, p, "--all-containers", "--tail=200")
			section("previous logs "+ns+"/"+p, "logs", "-n", ns, p, "--all-containers", "--previous", "--tail=100")
		}
	}
	section("describe orgrbac objects", "describe", "orgrbac", "-A")
	for _, f := range []string{"kubelet.log", "containerd.log", "kube-apiserver.log"} {
		data, err := os.ReadFile(filepath.Join(nodeDir, "logs", f))
		if err != nil {
			fmt.Fprintf(w, "\n===== %s: %v =====\n", f, err)
			continue
		}
		lines := strings.Split(string(data), "\n")
		fmt.Fprintf(w, "\n===== last lines of %s =====\n%s\n", f, strings.Join(lines[max(0, len(lines)-80):], "\n"))
	}
})

// kubectl runs kubectl as the cluster admin and returns its standard output.
func kubectl(args ...string) string {
	GinkgoHelper()
	out, err := kubectlErr(args...)
	Expect(err).NotTo(HaveOccurred())
	return out
}

func kubectlErr(args ...string) (string, error) {
	return run("", kubectlBin, append([]string{"--kubeconfig", kubeconfig}, args...)...)
}

// kubectlApply applies a manifest given as text.
func kubectlApply(manifest string) {
	GinkgoHelper()
	_, err := run(manifest, kubectlBin, "--kubeconfig", kubeconfig, "apply", "-f", "-")
	Expect(err).NotTo(HaveOccurred())
}

// helm runs the pinned helm against the node.
func helm(args ...string) string {
	GinkgoHelper()
	out, err := run("", helmBin, append([]string{"--kubeconfig", kubeconfig}, args...)...)
	Expect(err).NotTo(HaveOccurred())
	return out
}

func run(stdin, bin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	cmd.Dir = root
	if err := cmd.Run(); err != nil {
		return strings.TrimSpace(stdout.String()), fmt.Errorf("%s %s: %w: %s", filepath.Base(bin),
			strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(stdout.String()), nil
}

// elapsed is the time since the suite started, for the log.
func elapsed() string { return time.Since(suiteStart).Round(100 * time.Millisecond).String() }
