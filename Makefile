# orgrbac — see README.md. `make run` and `make test` do all the set-up.

SHELL := /usr/bin/env bash -o pipefail
.SHELLFLAGS := -ec
.DEFAULT_GOAL := help

CONTROLLER_GEN := go tool -modfile=hack/tools/controller-gen/go.mod controller-gen
GOLANGCI_LINT  := go tool -modfile=hack/tools/golangci-lint/go.mod golangci-lint
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
manifests: ## Generate CRDs, RBAC and webhook configuration from markers.
	$(CONTROLLER_GEN) rbac:roleName=manager-role crd webhook paths="./api/...;./internal/...;./cmd/..." \
		output:crd:artifacts:config=config/crd/bases output:rbac:artifacts:config=config/rbac \
		output:webhook:artifacts:config=config/webhook

.PHONY: generate
generate: ## Generate deepcopy code.
	$(CONTROLLER_GEN) object:headerFile=hack/boilerplate.go.txt paths="./api/..."

.PHONY: fmt
fmt: ## gofmt the code.
	gofmt -l -w $$(git ls-files '*.go')

.PHONY: vet
vet: ## go vet.
	go vet ./...

.PHONY: lint
lint: ## Run golangci-lint (config: .golangci.yml).
	$(GOLANGCI_LINT) run ./...

.PHONY: verify
verify: ## Fail when generated files are stale, code is unformatted or lint fails.
	hack/verify.sh

.PHONY: controlplane
controlplane: ## Build (or find cached) etcd, kube-apiserver, kube-controller-manager and kubectl.
	@hack/controlplane.sh

##@ Test

.PHONY: test
test: ## Run all tests: unit, fuzz seeds, envtest suites against the source-built control plane.
	assets=$(ASSETS); \
	KUBEBUILDER_ASSETS="$$assets" go test ./... -count=1 -timeout 45m

.PHONY: test-e2e
test-e2e: ## Run the end-to-end suite alone, verbosely: the built manager on a control plane with kube-controller-manager.
	assets=$(ASSETS); \
	KUBEBUILDER_ASSETS="$$assets" go test ./test/e2e/ -count=1 -v -timeout 20m -ginkgo.v

.PHONY: test-unit
test-unit: ## Run the tests that need no control plane.
	go test $$(go list ./... | grep -v -e /internal/controller -e /test/) -count=1

.PHONY: fuzz
fuzz: ## Fuzz the resolver for FUZZTIME (default 60s).
	go test ./internal/resolve/ -run='^$$' -fuzz=FuzzResolve -fuzztime=$${FUZZTIME:-60s}

.PHONY: bench
bench: ## Scale benchmark (BENCH_SCALE=10k, the default, or 100k); results in docs/bench-results/.
	assets=$(ASSETS); \
	KUBEBUILDER_ASSETS="$$assets" BENCH_COMMAND="make bench BENCH_SCALE=$(BENCH_SCALE) $(BENCH_ARGS)" \
		go run ./test/bench --scale=$(BENCH_SCALE) --out=docs/bench-results $(BENCH_ARGS)

.PHONY: bench-100k
bench-100k: ## The scale benchmark at 100k memberships.
	$(MAKE) bench BENCH_SCALE=100k

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
