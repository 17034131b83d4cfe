#!/usr/bin/env bash
# Builds the node's own images into $NODE_DIR/images with the project's image
# tool (hack/image):
#
#   localhost/orgrbac/pause:1              the sandbox image, containerd's sandbox_image
#                                          (a fixed name: make image's pause tag moves)
#   localhost/orgrbac/coredns:<version>    the cluster DNS server
#   localhost/orgrbac/node-dnscheck:1      resolves names from a Pod (hack/node/dnscheck)
#
# Usage: images.sh NODE_BINARIES_DIR. Under a second when the Go build cache is warm.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

bindir=${1:?usage: images.sh NODE_BINARIES_DIR}
coredns_version=$("$bindir/coredns" -version | sed -n 's/^CoreDNS-//p' | head -1)
[ -n "$coredns_version" ] || die "cannot read the version of $bindir/coredns"

work=$NODE_DIR/build
mkdir -p "$work" "$images"
export CGO_ENABLED=0
(cd "$repo/hack/image" && go build -trimpath -o "$work/imagetool" . && go build -trimpath -ldflags "-s -w" -o "$work/pause" ./pause)
(cd "$repo" && go build -trimpath -ldflags "-s -w" -o "$work/dnscheck" ./hack/node/dnscheck)

# Every timestamp in the images: the last commit's time, so digests only change
# with the inputs.
created=${SOURCE_DATE_EPOCH:-$(git -C "$repo" log -1 --format=%ct 2>/dev/null || echo 0)}
build() { "$work/imagetool" build -created "$created" -user 65532:65532 "$@" >/dev/null; }
build -ref "$pause_image" -o "$images/pause.tar" -file "$work/pause=/pause" -entrypoint /pause
build -ref "localhost/orgrbac/coredns:$coredns_version" -o "$images/coredns.tar" \
	-file "$bindir/coredns=/coredns" -entrypoint /coredns
build -ref localhost/orgrbac/node-dnscheck:1 -o "$images/node-dnscheck.tar" \
	-file "$work/dnscheck=/dnscheck" -entrypoint /dnscheck
echo "localhost/orgrbac/coredns:$coredns_version"
