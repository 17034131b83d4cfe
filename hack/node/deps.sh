#!/usr/bin/env bash
# Installs the Debian packages the real node needs when one is missing:
# containerd (with ctr), runc, the CNI plugins, iptables, conntrack, openssl,
# iproute2. Runs `apt-get update` only when something must be installed.
set -euo pipefail

need=()
have() { command -v "$1" >/dev/null 2>&1; }
have containerd && have ctr || need+=(containerd)
have runc || need+=(runc)
for p in bridge host-local loopback; do
	[ -x "/usr/lib/cni/$p" ] || { need+=(containernetworking-plugins) && break; }
done
have iptables && have ip6tables || need+=(iptables)
have conntrack || need+=(conntrack)
have openssl || need+=(openssl)
have ip || need+=(iproute2)

[ ${#need[@]} -eq 0 ] && exit 0
[ "$(id -u)" = 0 ] || { echo "node: missing packages ${need[*]}; install them as root" >&2; exit 1; }
echo "node: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# Another apt may be running (another build on the machine): wait for its lock.
apt=(apt-get -o DPkg::Lock::Timeout=300 -q)
"${apt[@]}" update >/dev/null
"${apt[@]}" install -y --no-install-recommends "${need[@]}" >/dev/null
