# Sourced by hack/controlplane.sh and hack/node/build.sh, which build Kubernetes
# from source: the versions (from the go.mod files), the cache root and the
# ldflags that stamp the binaries' --version.
#
#   kube_version etcd_version   from hack/controlplane/{kube,etcd}/go.mod
#   cache_root                  ${ORGRBAC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/orgrbac}
#   kube_ldflags                -s -w plus the version stamps
#
# It exits when a version cannot be read, or when the Kubernetes minor does not
# match the k8s.io/* libraries of the main go.mod.
# shellcheck shell=bash disable=SC2034

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
modver() { awk -v m="$2" '$1 == m { print $2; exit } $1 == "require" && $2 == m { print $3; exit }' "$1"; }

kube_version=$(modver "$root/hack/controlplane/kube/go.mod" k8s.io/kubernetes)
etcd_version=$(modver "$root/hack/controlplane/etcd/go.mod" go.etcd.io/etcd/server/v3)
lib_version=$(modver "$root/go.mod" k8s.io/apimachinery)
if [ -z "$kube_version" ] || [ -z "$etcd_version" ] || [ -z "$lib_version" ]; then
	echo "controlplane: cannot read versions from go.mod files" >&2
	exit 1
fi

# k8s.io/kubernetes v1.X.Y goes with the k8s.io/* libraries v0.X.Y.
kube_minor=$(echo "$kube_version" | cut -d. -f2)
lib_minor=$(echo "$lib_version" | cut -d. -f2)
if [ "$kube_minor" != "$lib_minor" ]; then
	echo "controlplane: k8s.io/kubernetes $kube_version does not match k8s.io/apimachinery $lib_version" >&2
	exit 1
fi

cache_root=${ORGRBAC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/orgrbac}

kube_major=$(echo "$kube_version" | cut -d. -f1 | tr -d v)
kube_ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$kube_version"
kube_ldflags+=" -X k8s.io/component-base/version.gitMajor=$kube_major -X k8s.io/component-base/version.gitMinor=$kube_minor"
kube_ldflags+=" -X k8s.io/component-base/version.gitTreeState=clean"
kube_ldflags+=" -X k8s.io/client-go/pkg/version.gitVersion=$kube_version"
