#!/usr/bin/env bash
# `make cluster-down`: stops the real node that hack/node/up.sh started and
# undoes everything it did on the host, then checks that nothing is left:
# processes, mounts under NODE_DIR, the bridge cni0, KUBE-* and ORGRBAC-NODE
# iptables chains (iptables and ip6tables), kubepods cgroups, the CNI cache in
# /var/lib/cni, containerd's shim sockets in /run/containerd, kubelet log links
# in /var/log/containers and the sysctls up.sh changed. Safe to run at any
# time, as often as you like; it fails (exit 1) only when something is left.
#
# Kept for the next start: $NODE_DIR/pki, $NODE_DIR/kubeconfig and the logs of
# the last run in $NODE_DIR/logs.
set -uo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
export PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin

[ "$(id -u)" = 0 ] || die "stopping the node needs root"
t0=$(date +%s.%N)
step() { $something_runs && echo "node: [$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%5.1fs", b - a }')] $*" >&2; }
have() { command -v "$1" >/dev/null 2>&1; }

# The binaries of the last start (up.sh records them; down never builds).
cpdir='' bindir=''
# shellcheck disable=SC1091
[ -f "$NODE_DIR/bins.env" ] && . "$NODE_DIR/bins.env"
k() { timeout 70 "$cpdir/kubectl" --kubeconfig "$admin_kubeconfig" --cache-dir "$NODE_DIR/kubectl-cache" --request-timeout 10s "$@"; }

something_runs=false
for d in "${daemons[@]}"; do pid_of "$d" >/dev/null && something_runs=true; done
[ -n "$(shims)" ] && something_runs=true
$something_runs && say "stopping the node in $NODE_DIR"

# 1. No new Pods: stop the controllers and the scheduler, then delete every Pod
#    through the API so that the kubelet stops each one properly (CNI DEL).
stop_daemon kube-controller-manager
stop_daemon kube-scheduler
if pid_of kubelet >/dev/null && pid_of kube-apiserver >/dev/null && [ -x "$cpdir/kubectl" ] &&
	k get --raw /readyz >/dev/null 2>&1; then
	k delete pods --all --all-namespaces --grace-period 1 --wait --timeout 60s >/dev/null 2>&1 ||
		say "not every Pod was deleted through the API; killing the rest"
	# The kubelet stops sandboxes right after their Pods are gone.
	for _ in $(seq 1 50); do
		[ -z "$(ctr -a "$sock" -n k8s.io tasks ls -q 2>/dev/null)" ] && break
		sleep 0.2
	done
	step "Pods deleted"
fi

# 2. The daemons, in reverse start order.
stop_daemon kubelet
stop_daemon kube-proxy
stop_daemon kube-apiserver
stop_daemon etcd
step "daemons stopped"

# 3. Whatever containers are left, then containerd and its shims.
if pid_of containerd >/dev/null && [ -S "$sock" ]; then
	for id in $(ctr -a "$sock" -n k8s.io tasks ls -q 2>/dev/null); do
		ctr -a "$sock" -n k8s.io tasks kill -s SIGKILL "$id" >/dev/null 2>&1
	done
	for id in $(ctr -a "$sock" -n k8s.io tasks ls -q 2>/dev/null); do
		ctr -a "$sock" -n k8s.io tasks rm -f "$id" >/dev/null 2>&1
	done
fi
stop_daemon containerd
for pid in $(shims); do stop_pid "$pid" 5; done
step "containerd stopped"
if have runc; then
	for r in "$runc_root"/*; do
		[ -d "$r" ] || continue
		for id in $(runc --root "$r" list -q 2>/dev/null); do
			runc --root "$r" kill "$id" KILL >/dev/null 2>&1
			runc --root "$r" delete -f "$id" >/dev/null 2>&1
		done
	done
fi

# 4. Mounts under NODE_DIR (overlay snapshots, Pod volumes, network namespaces,
#    /dev/shm of sandboxes), deepest first.
mounts() { awk -v p="$NODE_DIR/" 'index($5, p) == 1 { print $5 }' /proc/self/mountinfo | sort -r; }
for _ in 1 2 3; do
	m=$(mounts)
	[ -z "$m" ] && break
	while read -r mp; do umount "$mp" 2>/dev/null || umount -l "$mp" 2>/dev/null; done <<<"$m"
done

# 5. Network: the bridge (its address and the Service route go with it) and
#    the iptables chains of kube-proxy, the kubelet and up.sh.
our_bridge && ip link del "$bridge"
# remove_chain IPTABLES TABLE CHAIN: drop the jumps to CHAIN, then CHAIN.
remove_chain() {
	local ipt=$1 table=$2 chain=$3 rule
	$ipt -w -t "$table" -S "$chain" >/dev/null 2>&1 || return 0
	$ipt -w -t "$table" -S | grep -E -- "-j $chain( |\$)" | while read -r rule; do
		# "-A CHAIN spec..." becomes "-D CHAIN spec..."; specs have no quotes here.
		# shellcheck disable=SC2086
		$ipt -w -t "$table" -D ${rule#-A }
	done
	$ipt -w -t "$table" -F "$chain"
	$ipt -w -t "$table" -X "$chain"
}
if have iptables; then
	rules=$(iptables-save 2>/dev/null; ip6tables-save 2>/dev/null)
	if [ -x "$bindir/kube-proxy" ] && grep -q '^:KUBE-' <<<"$rules"; then
		mkdir -p "$logs"
		"$bindir/kube-proxy" --cleanup >"$logs/kube-proxy-cleanup.log" 2>&1 ||
			say "kube-proxy --cleanup failed; see $logs/kube-proxy-cleanup.log"
	fi
	for ipt in iptables ip6tables; do
		remove_chain "$ipt" filter KUBE-FIREWALL
		for table in mangle filter nat; do remove_chain "$ipt" "$table" KUBE-KUBELET-CANARY; done
		remove_chain "$ipt" mangle KUBE-IPTABLES-HINT
	done
	remove_chain iptables mangle "$guard_chain"
	remove_chain iptables filter "$guard_chain"
fi

# 6. Host files: kubepods cgroups, the CNI result cache, shim sockets, the
#    kubelet's log links and device-plugin socket, kubectl's discovery cache of
#    the node's API server; then the host folders that held them, if the first
#    start created them.
for c in /sys/fs/cgroup/kubepods /sys/fs/cgroup/*/kubepods; do
	[ -d "$c" ] && find "$c" -depth -type d -exec rmdir {} + 2>/dev/null
done
for r in /var/lib/cni/results/"$cni_network"-*; do
	[ -f "$r" ] || continue
	id=${r#/var/lib/cni/results/"$cni_network"-}
	rm -f "$r" "/var/lib/cni/results/cni-loopback-${id%-*}-lo"
done
if [ -d /run/containerd/s ]; then
	listening=$(ss -Hxl 2>/dev/null | awk '{ print $5 }')
	for s in /run/containerd/s/*; do
		[ -S "$s" ] && ! grep -qxF "$s" <<<"$listening" && rm -f "$s"
	done
fi
for l in /var/log/containers/*.log; do
	[ -L "$l" ] && [[ "$(readlink "$l")" == "$logs/pods/"* ]] && rm -f "$l"
done
rm -f /var/lib/kubelet/device-plugins/kubelet.sock
rm -rf "${HOME:-/root}/.kube/cache/discovery/${node_ip}_6443"
if [ -f "$host_dirs_saved" ]; then
	for d in "${host_dirs[@]}"; do
		grep -qxF "$d" "$host_dirs_saved" || rmdir "$d" 2>/dev/null
	done
	rm -f "$host_dirs_saved"
fi

# 7. The sysctls, as they were before the first start.
if [ -f "$sysctl_saved" ]; then
	while IFS= read -r kv; do
		[ -n "$kv" ] && sysctl -qw "$kv"
	done <"$sysctl_saved"
	rm -f "$sysctl_saved"
fi

# 8. State (the PKI, kubeconfigs and logs stay).
rm -rf "$NODE_DIR"/{etcd,containerd,kubelet,cni,config,run,build,images,kubectl-cache} 2>/dev/null

# 9. Nothing may be left.
# node_processes: the node's daemons and shims that still run on NODE_DIR.
node_processes() {
	local p exe
	for p in /proc/[0-9]*; do
		exe=$(basename "$(readlink "$p/exe" 2>/dev/null)")
		case $exe in
		containerd | containerd-shim-runc-v2 | etcd | kube-* | kubelet) ;;
		*) continue ;;
		esac
		tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -F -- "$NODE_DIR/" | sed "s|^|${p#/proc/} |"
	done
	return 0
}
left=()
procs=$(node_processes)
[ -n "$procs" ] && left+=("processes:"$'\n'"$procs")
[ -n "$(mounts)" ] && left+=("mounts:"$'\n'"$(mounts)")
our_bridge && left+=("the link $bridge")
if have iptables; then
	for ipt in iptables ip6tables; do
		chains=$("$ipt-save" 2>/dev/null | grep -E "^:(KUBE-|$guard_chain )" | cut -d' ' -f1 | tr '\n' ' ')
		[ -n "$chains" ] && left+=("$ipt chains: $chains")
	done
fi
cg=$(ls -d /sys/fs/cgroup/kubepods /sys/fs/cgroup/*/kubepods 2>/dev/null)
[ -n "$cg" ] && left+=("cgroups: $cg")
[ -e "$NODE_DIR/containerd" ] && left+=("$NODE_DIR/containerd could not be removed")
if [ ${#left[@]} -gt 0 ]; then
	for l in "${left[@]}"; do echo "node: left behind: $l" >&2; done
	die "the node is not completely down"
fi
step "down; nothing left behind"
exit 0
