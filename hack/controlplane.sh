#!/usr/bin/env bash
# Builds the local Kubernetes control plane (etcd, kube-apiserver,
# kube-controller-manager, kubectl) from Go source fetched through the Go module
# proxy, into a cache folder outside the clone keyed by version, and prints that
# folder on stdout (the value for KUBEBUILDER_ASSETS). Progress goes to stderr.
#
# Versions come from hack/controlplane/{kube,etcd}/go.mod; the Kubernetes minor must
# match the k8s.io/* libraries of the main go.mod. A warm cache returns at once.
#
#   ORGRBAC_CACHE   cache root (default: ${XDG_CACHE_HOME:-$HOME/.cache}/orgrbac)
set -euo pipefail

# shellcheck source=controlplane/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/controlplane/lib.sh"

dir="$cache_root/controlplane/kubernetes-$kube_version-etcd-$etcd_version"
bins=(etcd kube-apiserver kube-controller-manager kubectl)

complete() { [ -f "$dir/.complete" ] && for b in "${bins[@]}"; do [ -x "$dir/$b" ] || return 1; done; }

if complete; then echo "$dir"; exit 0; fi

mkdir -p "$cache_root/controlplane"
exec 9>"$cache_root/controlplane/.lock"
flock 9
if complete; then echo "$dir"; exit 0; fi

tmp=$(mktemp -d "$cache_root/controlplane/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

echo "controlplane: building Kubernetes $kube_version and etcd $etcd_version into $dir (a few minutes when cold)" >&2
start=$SECONDS
(cd "$root/hack/controlplane/etcd" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$tmp/etcd" go.etcd.io/etcd/server/v3)
(cd "$root/hack/controlplane/kube" && CGO_ENABLED=0 go build -trimpath -ldflags "$kube_ldflags" -o "$tmp/" \
	k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kubectl)

"$tmp/kube-apiserver" --version | grep -q "$kube_version" || {
	echo "controlplane: kube-apiserver reports $("$tmp/kube-apiserver" --version), want $kube_version" >&2; exit 1; }
touch "$tmp/.complete"
rm -rf "$dir"
mv "$tmp" "$dir"
trap - EXIT
echo "controlplane: built in $((SECONDS - start))s" >&2
echo "$dir"
