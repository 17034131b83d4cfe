#!/usr/bin/env bash
# Builds the node's binaries from Go source through the Go module proxy, into a
# cache folder outside the clone keyed by version, and prints that folder on
# stdout; progress goes to stderr. A warm cache returns at once.
#
#   kubelet, kube-scheduler, kube-proxy  from hack/controlplane/kube (the module
#                                        hack/controlplane.sh builds etcd,
#                                        kube-apiserver, kube-controller-manager
#                                        and kubectl from), with the same ldflags
#   coredns                              from hack/node/coredns
#
# into ${ORGRBAC_CACHE:-~/.cache/orgrbac}/node/kubernetes-<v>-coredns-<v>/.
# Versions, cache root and ldflags come from hack/controlplane/lib.sh, shared
# with hack/controlplane.sh; the CoreDNS version from hack/node/coredns/go.mod.
set -euo pipefail

# shellcheck source=../controlplane/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../controlplane/lib.sh"
coredns_version=$(modver "$root/hack/node/coredns/go.mod" github.com/coredns/coredns)
[ -n "$coredns_version" ] || { echo "node: cannot read the CoreDNS version from hack/node/coredns/go.mod" >&2; exit 1; }

dir="$cache_root/node/kubernetes-$kube_version-coredns-${coredns_version#v}"
bins=(kubelet kube-scheduler kube-proxy coredns)

complete() { [ -f "$dir/.complete" ] && for b in "${bins[@]}"; do [ -x "$dir/$b" ] || return 1; done; }

if complete; then echo "$dir"; exit 0; fi

mkdir -p "$cache_root/node"
exec 9>"$cache_root/node/.lock"
flock 9
if complete; then echo "$dir"; exit 0; fi

tmp=$(mktemp -d "$cache_root/node/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

echo "node: building kubelet, kube-scheduler, kube-proxy $kube_version and CoreDNS $coredns_version into $dir (a few minutes when cold)" >&2
start=$SECONDS
(cd "$root/hack/controlplane/kube" && CGO_ENABLED=0 go build -trimpath -ldflags "$kube_ldflags" -o "$tmp/" \
	k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kube-proxy)
echo "node: Kubernetes binaries built in $((SECONDS - start))s" >&2
(cd "$root/hack/node/coredns" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$tmp/coredns" github.com/coredns/coredns)

for b in kubelet kube-scheduler kube-proxy; do
	"$tmp/$b" --version | grep -q "$kube_version" || {
		echo "node: $b reports $("$tmp/$b" --version), want $kube_version" >&2; exit 1; }
done
"$tmp/coredns" -version | grep -q "CoreDNS-${coredns_version#v}" || {
	echo "node: coredns reports $("$tmp/coredns" -version), want $coredns_version" >&2; exit 1; }
touch "$tmp/.complete"
rm -rf "$dir"
mv "$tmp" "$dir"
trap - EXIT
echo "node: built in $((SECONDS - start))s" >&2
echo "$dir"
