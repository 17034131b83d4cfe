# orgrbac — see README.md. `make run` and `make test` do all the set-up.

SHELL := /usr/bin/env bash -o pipefail
.SHELLFLAGS := -ec
.DEFAULT_GOAL := help

CONTROLLER_GEN := go tool -modfile=hack/tools/controller-gen/go.mod controller-gen
GOLANGCI_LINT  := go tool -modfile=hack/tools/golangci-lint/go.mod golangci-lint
HELM           := go tool -modfile=hack/tools/helm/go.mod helm
KUBE_API_LINTER := go tool -modfile=hack/tools/kube-api-linter/go.mod golangci-lint-kube-api-linter
LOCAL_DIR      ?= $(CURDIR)/.local
# The control plane folder (etcd, kube-apiserver, kube-controller-manager, kubectl);
# built from source on first use, then cached outside the clone.
ASSETS = $$(hack/controlplane.sh)
# The scale of "make bench": memberships, 10k or 100k (docs/benchmarks.md).
BENCH_SCALE ?= 10k

##@ General

.PHONY: help
help: ## Show the targets.
	@awk 'BEGIN {FS = ":.*##"} /^[a-zA-Z_-]+:.*?##/ { printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) }' $(MAKEFILE_LIST)

##@ Development

.PHONY: manifests
manifests: ## Generate CRDs, RBAC and webhook configuration from markers, and the Helm chart's copies of them.
	$(CONTROLLER_GEN) rbac:roleName=manager-role crd webhook paths="./api/...;./internal/...;./cmd/..." \
		output:crd:artifacts:config=config/crd/bases output:rbac:artifacts:config=config/rbac \
		output:webhook:artifacts:config=config/webhook
	go run ./hack/chartgen

.PHONY: generate
generate: ## Generate deepcopy code.
	$(CONTROLLER_GEN) object:headerFile=hack/boilerplate.go.txt paths="./api/..."

.PHONY: fmt
fmt: ## gofmt the code.
	gofmt -l -w $$(git ls-files '*.go')

.PHONY: vet
vet: ## go vet, the envtest suites included.
	go vet -tags envtest ./...

.PHONY: lint
lint: ## Run golangci-lint (config: .golangci.yml).
	$(GOLANGCI_LINT) run --allow-parallel-runners ./...

.PHONY: lint-api
lint-api: ## Run Kube API Linter on the API types (config and allowlist: hack/kube-api-linter.yml).
	$(KUBE_API_LINTER) run --allow-parallel-runners -c hack/kube-api-linter.yml ./api/...

.PHONY: deadcode
deadcode: ## Fail on functions nothing reaches (deadcode -test, tags envtest,realnode; allowlist: hack/deadcode-allow.txt).
	hack/deadcode.sh

.PHONY: helm-lint
helm-lint: ## helm lint --strict the chart (charts/orgrbac) with its default values, cert-manager, a ServiceMonitor, the alerts and the decision API's own Deployment.
	$(HELM) lint --strict charts/orgrbac
	$(HELM) lint --strict charts/orgrbac --set certManager.enabled=true
	$(HELM) lint --strict charts/orgrbac --set serviceMonitor.enabled=true
	$(HELM) lint --strict charts/orgrbac --set serviceMonitor.enabled=true --set prometheusRule.enabled=true --set prometheusRule.labels.release=prometheus
	$(HELM) lint --strict charts/orgrbac --set replicas=1 --set crds.enabled=false
	$(HELM) lint --strict charts/orgrbac --set decisionAPI.separateDeployment.enabled=true
	$(HELM) lint --strict charts/orgrbac --set decisionAPI.separateDeployment.enabled=true --set certManager.enabled=true --set networkPolicy.enabled=true --set serviceMonitor.enabled=true

.PHONY: verify
verify: ## Fail when generated files are stale, code is unformatted, lint (golangci-lint, Kube API Linter, helm lint) fails or deadcode finds unreachable code.
	hack/verify.sh

.PHONY: controlplane
controlplane: ## Build (or find cached) etcd, kube-apiserver, kube-controller-manager and kubectl.
	@hack/controlplane.sh

##@ Test

.PHONY: test
# -p 1: one package at a time. Several suites each start a control plane and
# measure timing-bound behaviour (coalesced writes, restarts mid-reassignment);
# on 2 cores, two of them at once starve each other.
# The bad-input catalogs (docs/security.md) append their counts to a report that
# is printed, and checked against the catalogs' total floor, at the end.
# -tags envtest: the suites that need a control plane (docs/development.md, "Tests").
test: ## Run all tests: unit, fuzz seeds, envtest suites (-tags envtest) against the source-built control plane; the Helm chart (test/chart).
	assets=$(ASSETS); promtool=$$(hack/promtool.sh); report=$$(mktemp); trap 'rm -f "$$report"' EXIT; rc=0; \
	KUBEBUILDER_ASSETS="$$assets" PROMTOOL="$$promtool" ORGRBAC_BADINPUT_REPORT="$$report" \
		go test -tags envtest ./... -count=1 -timeout 45m -p 1 || rc=$$?; \
	hack/badinput-report.sh "$$report" || rc=1; \
	exit $$rc
	(cd test/chart && go test ./... -count=1)

.PHONY: test-e2e
test-e2e: ## Run the end-to-end suite alone, verbosely: the built manager on a control plane with kube-controller-manager.
	assets=$(ASSETS); \
	KUBEBUILDER_ASSETS="$$assets" go test -tags envtest ./test/e2e/ -count=1 -v -timeout 20m -ginkgo.v

.PHONY: test-unit
test-unit: ## Run every test that needs no control plane (no envtest tag, no KUBEBUILDER_ASSETS).
	env -u KUBEBUILDER_ASSETS go test ./... -count=1

# How long `make fuzz` runs each fuzz target.
FUZZTIME ?= 10s

.PHONY: fuzz
fuzz: ## Run every fuzz target of the repository (found by hack/fuzz.sh) for FUZZTIME each (default 10s).
	FUZZTIME=$(FUZZTIME) hack/fuzz.sh

.PHONY: bench
bench: ## Scale benchmark (BENCH_SCALE=10k, the default, or 100k); results in docs/bench-results/.
	assets=$(ASSETS); \
	KUBEBUILDER_ASSETS="$$assets" BENCH_COMMAND="make bench BENCH_SCALE=$(BENCH_SCALE) $(BENCH_ARGS)" \
		go run ./test/bench --scale=$(BENCH_SCALE) --out=docs/bench-results $(BENCH_ARGS)

.PHONY: bench-100k
bench-100k: ## The scale benchmark at 100k memberships.
	$(MAKE) bench BENCH_SCALE=100k

# The performance gate's run: 1k memberships, the phases whose ratios it holds,
# short API levels without paced loads (docs/benchmarks.md, "The performance gate").
BENCH_GATE_ARGS ?= --scale=1k --skip=revocation,library --idle=10s --api-concurrency=16,64 --api-duration=3s --api-paced= --coldstart-profile-seconds=0
# Where the gate's report goes (not docs/bench-results: a gate run is a check, not a record).
BENCH_GATE_OUT ?= $(or $(TMPDIR),/tmp)/orgrbac-bench-gate

.PHONY: bench-gate
bench-gate: ## Performance gate: a 1k bench whose ratios must stay within test/bench/gate.yaml (a few minutes).
	assets=$(ASSETS); \
	KUBEBUILDER_ASSETS="$$assets" BENCH_COMMAND="make bench-gate" \
		go run ./test/bench $(BENCH_GATE_ARGS) --gate=test/bench/gate.yaml --out=$(BENCH_GATE_OUT)

##@ Build and run

.PHONY: build
build: ## Build the manager binary into bin/manager.
	CGO_ENABLED=0 go build -trimpath -o bin/manager ./cmd

.PHONY: run
run: ## Run the operator: against the configured cluster, or a local control plane started here.
	hack/run.sh

.PHONY: dev-up
dev-up: ## Start only the local control plane (kubeconfig in .local/kubeconfig).
	hack/run.sh --cluster-only

.PHONY: dev-down
dev-down: ## Stop the local control plane.
	go run ./hack/localcluster down --dir "$(LOCAL_DIR)"

##@ Images

# The images' tag: dev-<12-char commit>, with -dirty when tracked files differ from it.
IMAGE_TAG ?= dev-$(shell git rev-parse HEAD | cut -c1-12)$(shell test -z "$$(git status --porcelain --untracked-files=no)" || echo -dirty)
# Every timestamp in the images: the commit time (or SOURCE_DATE_EPOCH when set).
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct)
IMAGE_ARCH ?= $(shell go env GOARCH)
IMAGE_DIR  := bin/images
# Byte-identical binaries: no paths, no VCS stamp, no symbols, no build ID (the
# Dockerfile builds the manager with the same flags).
IMAGE_GOENV   := CGO_ENABLED=0 GOOS=linux GOARCH=$(IMAGE_ARCH)
IMAGE_GOFLAGS := -trimpath -buildvcs=false -ldflags "-s -w -buildid="
IMAGE_SOURCE  := https://github.com/orgrbac/orgrbac

# $(call image,NAME,TITLE,DESCRIPTION): bin/images/NAME.tar from bin/rootfs/NAME.
define image
bin/imagetool build -o $(IMAGE_DIR)/$(1).tar -ref localhost/orgrbac/$(1):$$tag \
		-file bin/rootfs/$(1)=/$(1) -entrypoint /$(1) -user 65532:65532 \
		-created "$$epoch" -arch $(IMAGE_ARCH) \
		-label org.opencontainers.image.source=$(IMAGE_SOURCE) \
		-label org.opencontainers.image.revision=$$rev \
		-label org.opencontainers.image.version=$$tag \
		-label "org.opencontainers.image.title=$(2)" \
		-label "org.opencontainers.image.description=$(3)"
endef

.PHONY: image
image: ## Reproducible OCI image tarballs (manager, videos-service, pause, probe) in bin/images/, with images.json.
	@tag="$(IMAGE_TAG)"; epoch="$(SOURCE_DATE_EPOCH)"; rev=$$(git rev-parse HEAD); \
	go build -C hack/image -o $(CURDIR)/bin/imagetool . ; \
	$(IMAGE_GOENV) go build $(IMAGE_GOFLAGS) -o bin/rootfs/manager ./cmd; \
	$(IMAGE_GOENV) go build $(IMAGE_GOFLAGS) -o bin/rootfs/videos-service ./examples/videos-service; \
	$(IMAGE_GOENV) go build $(IMAGE_GOFLAGS) -o bin/rootfs/probe ./test/node/probe; \
	$(IMAGE_GOENV) go build -C hack/image $(IMAGE_GOFLAGS) -o $(CURDIR)/bin/rootfs/pause ./pause; \
	rm -f $(IMAGE_DIR)/images.json; \
	$(call image,manager,orgrbac manager,The orgrbac Kubernetes operator and its decision API.); \
	$(call image,videos-service,videos-service,Example workload guarded by orgrbac.); \
	$(call image,pause,pause,Pod sandbox (pause) image for containerd: waits for SIGTERM and reaps orphans.); \
	$(call image,probe,orgrbac e2e probe,HTTP client and decision-API checker of the end-to-end suite.); \
	bin/imagetool list -o $(IMAGE_DIR)/images.json $(foreach n,manager videos-service pause probe,$(IMAGE_DIR)/$(n).tar)

##@ Real cluster

# A real single-node cluster (hack/node, run as root): its state, PKI,
# kubeconfigs and logs. docs/development.md, "A real node".
NODE_DIR ?= $(CURDIR)/.local/node
export NODE_DIR

.PHONY: cluster-binaries
cluster-binaries: ## Build (or find cached) the real node's binaries: the control plane, kubelet, kube-scheduler, kube-proxy, CoreDNS.
	@hack/controlplane.sh >/dev/null && hack/node/build.sh

.PHONY: cluster-up
cluster-up: image ## Start a real single-node cluster (root) with bin/images imported; prints the KUBECONFIG to use.
	@hack/node/up.sh

.PHONY: cluster-down
cluster-down: ## Stop the real cluster and undo its changes to the host (safe when nothing runs).
	@hack/node/down.sh

.PHONY: cluster-import
cluster-import: ## Import image tarballs into the running real cluster: make cluster-import IMAGES="a.tar b.tar".
	@hack/node/import.sh $(IMAGES)

.PHONY: test-cluster
test-cluster: ## The real-cluster suite (root): images, a real node, Helm and kustomize installs, workload Pods, failover, upgrade, uninstall.
	hack/node/test-cluster.sh

.PHONY: print-image-tag
print-image-tag:
	@echo "$(IMAGE_TAG)"

.PHONY: cluster-kubeconfig
cluster-kubeconfig: ## Print the KUBECONFIG of the real cluster.
	@echo "export KUBECONFIG=$(NODE_DIR)/kubeconfig/admin.kubeconfig"
