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

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
modver() { awk -v m="$2" '$1 == m { print $2; exit } $1 == "require" && $2 == m { print $3; exit }' "$1"; }

kube_version=$(modver "$root/hack/controlplane/kube/go.mod" k8s.io/kubernetes)
etcd_version=$(modver "$root/hack/controlplane/etcd/go.mod" go.etcd.io/etcd/server/v3)
lib_version=$(modver "$root/go.mod" k8s.io/apimachinery)
[ -n "$kube_version" ] && [ -n "$etcd_version" ] && [ -n "$lib_version" ] || {
	echo "controlplane: cannot read versions from go.mod files" >&2; exit 1; }

# k8s.io/kubernetes v1.X.Y goes with the k8s.io/* libraries v0.X.Y.
kube_minor=$(echo "$kube_version" | cut -d. -f2)
lib_minor=$(echo "$lib_version" | cut -d. -f2)
if [ "$kube_minor" != "$lib_minor" ]; then
	echo "controlplane: k8s.io/kubernetes $kube_version does not match k8s.io/apimachinery $lib_version" >&2
	exit 1
fi

cache_root=${ORGRBAC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/orgrbac}
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

major=$(echo "$kube_version" | cut -d. -f1 | tr -d v)
ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$kube_version"
ldflags+=" -X k8s.io/component-base/version.gitMajor=$major -X k8s.io/component-base/version.gitMinor=$kube_minor"
ldflags+=" -X k8s.io/component-base/version.gitTreeState=clean"
ldflags+=" -X k8s.io/client-go/pkg/version.gitVersion=$kube_version"

echo "controlplane: building Kubernetes $kube_version and etcd $etcd_version into $dir (a few minutes when cold)" >&2
start=$SECONDS
(cd "$root/hack/controlplane/etcd" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$tmp/etcd" go.etcd.io/etcd/server/v3)
(cd "$root/hack/controlplane/kube" && CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$tmp/" \
	k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kubectl)

"$tmp/kube-apiserver" --version | grep -q "$kube_version" || {
	echo "controlplane: kube-apiserver reports $("$tmp/kube-apiserver" --version), want $kube_version" >&2; exit 1; }
touch "$tmp/.complete"
rm -rf "$dir"
mv "$tmp" "$dir"
trap - EXIT
echo "controlplane: built in $((SECONDS - start))s" >&2
echo "$dir"
