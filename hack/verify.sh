#!/usr/bin/env bash
# Fails when generated files are stale, Go code is unformatted, modules are untidy,
# golangci-lint, Kube API Linter (api/v1alpha1) or helm lint finds a problem, or
# deadcode finds a function nothing reaches.
set -euo pipefail
cd "$(dirname "$0")/.."

state() { git diff; git ls-files --others --exclude-standard; }
before=$(state)
make -s manifests generate
go mod tidy
# The envtest layer (build tag envtest) compiles and vets too; lint sees it
# through run.build-tags in .golangci.yml.
go vet -tags envtest ./...
# The library comparison of the benchmark is its own module (it pulls in casbin).
(cd test/bench/library && go mod tidy && go vet ./...)
# The image tool is its own module (it pulls in go-containerregistry).
(cd hack/image && go mod tidy && go vet ./...)
# The Helm chart's tests are their own module (the Helm SDK, kustomize); so is the
# pinned Helm CLI.
(cd test/chart && go mod tidy && go vet ./...)
(cd hack/tools/helm && go mod tidy)
(cd hack/tools/deadcode && go mod tidy)
(cd hack/tools/kube-api-linter && go mod tidy)
# The official WorkOS Go SDK's test driver is its own module, so that orgrbac does
# not depend on the SDK; its go.sum is committed (the checksum database lacks the
# SDK: GONOSUMDB only for its first download).
(cd test/workos-go && GONOSUMDB=github.com/workos/workos-go go mod tidy && go vet ./...)
after=$(state)
if [ "$before" != "$after" ]; then
	echo "verify: 'make manifests generate' or 'go mod tidy' changed files; commit the result:" >&2
	git status --short >&2
	git --no-pager diff --stat >&2
	exit 1
fi

unformatted=$(git ls-files '*.go' | xargs gofmt -l)
if [ -n "$unformatted" ]; then
	echo "verify: gofmt would change:" >&2
	echo "$unformatted" >&2
	exit 1
fi

make -s lint
# Kube API Linter on the API types; its allowlist, with reasons, is
# hack/kube-api-linter.yml.
make -s lint-api
make -s helm-lint
# Functions no command, test or example reaches (allowlist: hack/deadcode-allow.txt).
make -s deadcode
echo "verify: ok"
