#!/usr/bin/env bash
# Imports image tarballs (OCI layout or docker-archive, as `make image` writes
# them) into the running node's containerd, where the kubelet finds them:
#
#   hack/node/import.sh bin/images/manager.tar ...      (or: make cluster-import IMAGES="...")
#
# Pods use them with imagePullPolicy Never or IfNotPresent (not :latest): the
# node pulls nothing.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
export PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin

[ $# -gt 0 ] || die "usage: import.sh IMAGE.tar..."
{ pid_of containerd >/dev/null && [ -S "$sock" ]; } || die "the node's containerd is not running (make cluster-up)"
for f in "$@"; do [ -f "$f" ] || die "$f: no such file"; done
# One at a time: concurrent imports contend in containerd and take longer.
for f in "$@"; do
	out=$(ctr -a "$sock" -n k8s.io images import "$f" 2>&1) || die "importing $f: $out"
	# ctr prints "unpacking REF (sha256:...)...done" per image.
	say "imported $(echo "$out" | sed -n 's/^unpacking \([^ ]*\) .*/\1/p' | tr '\n' ' ')(${f##*/})"
done
