#!/usr/bin/env bash
# `make test-cluster`: the real-node suite (test/node, build tag realnode). It builds
# the images twice (the tag under test and a second tag for the upgrade story),
# the pinned helm, starts a real node (hack/node/up.sh), runs the suite against it
# and always stops the node again, keeping its logs. Run as root.
#
#   NODE_DIR   the node's state (default .local/node; a short folder under /tmp
#              when the clone's path is too long for the node's sockets)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
root=$PWD

t0=$SECONDS
phase() { echo "test-cluster: [$((SECONDS - t0))s] $*" >&2; }

if [ -z "${NODE_DIR:-}" ] || [ ${#NODE_DIR} -gt 60 ]; then
	NODE_DIR=$root/.local/node
	if [ ${#NODE_DIR} -gt 60 ]; then
		NODE_DIR=/tmp/orgrbac-node-$(echo "$root" | sha256sum | cut -c1-10)
	fi
fi
export NODE_DIR

tag=$(make -s --no-print-directory print-image-tag)
phase "images $tag and $tag-next"
make -s --no-print-directory image IMAGE_TAG="$tag"
make -s --no-print-directory image IMAGE_TAG="$tag-next" IMAGE_DIR=bin/images-next >/dev/null

phase "the control plane, the node's binaries and helm"
assets=$(hack/controlplane.sh)
hack/node/build.sh >/dev/null
go build -modfile=hack/tools/helm/go.mod -o bin/helm helm.sh/helm/v4/cmd/helm

phase "starting the node in $NODE_DIR"
trap 'phase "stopping the node"; hack/node/down.sh || true' EXIT
hack/node/up.sh >/dev/null

phase "the suite"
ORGRBAC_NODE_KUBECONFIG=$NODE_DIR/kubeconfig/admin.kubeconfig \
ORGRBAC_NODE_DIR=$NODE_DIR \
ORGRBAC_KUBECTL=$assets/kubectl \
ORGRBAC_HELM=$root/bin/helm \
ORGRBAC_IMAGES=$root/bin/images/images.json \
ORGRBAC_IMAGES_NEXT=$root/bin/images-next/images.json \
ORGRBAC_IMAGE_IMPORT=$root/hack/node/import.sh \
	go test -tags realnode ./test/node/ -count=1 -v -timeout 40m -ginkgo.v
phase "passed"
