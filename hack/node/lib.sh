# Sourced by the hack/node scripts: the node's fixed addresses and names, the
# layout of NODE_DIR, and helpers to start, find and stop its daemons.
# shellcheck shell=bash disable=SC2034

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
NODE_DIR=$(realpath -m "${NODE_DIR:-$repo/.local/node}")
export NODE_DIR

# Every address the cluster uses is on loopback or on the bridge cni0.
node_name=orgrbac-node
node_ip=10.88.0.1
pod_cidr=10.88.0.0/16
service_cidr=10.96.0.0/16
api_service_ip=10.96.0.1
dns_ip=10.96.0.10
cluster_domain=cluster.local
bridge=cni0
bridge_alias="orgrbac-node $NODE_DIR"
cni_network=orgrbac-node
api_server=https://$node_ip:6443
pause_image=localhost/orgrbac/pause:1
# The chain that keeps Pod traffic on the bridge (see up.sh).
guard_chain=ORGRBAC-NODE

pki=$NODE_DIR/pki
kubeconfigs=$NODE_DIR/kubeconfig
admin_kubeconfig=$kubeconfigs/admin.kubeconfig
config=$NODE_DIR/config
run=$NODE_DIR/run
logs=$NODE_DIR/logs
images=$NODE_DIR/images
sock=$run/containerd.sock
runc_root=$run/runc
# The sysctl values found before the first start, restored by down.sh.
sysctl_saved=$NODE_DIR/sysctl.orig
# Host folders that the kubelet, containerd, CNI and mount(8) create outside
# NODE_DIR (hard-coded there); down.sh removes those that did not exist before
# the first start (listed in host_dirs_saved) once they are empty.
host_dirs=(/var/lib/kubelet/device-plugins /var/lib/kubelet /var/lib/cni/results /var/lib/cni
	/var/log/containers /run/containerd/s /run/containerd/fifo /run/containerd /run/mount)
host_dirs_saved=$NODE_DIR/host-dirs.orig

# The daemons, in start order; down.sh stops them in reverse.
daemons=(containerd etcd kube-apiserver kube-controller-manager kube-scheduler kube-proxy kubelet)

# The sysctls the node sets (up.sh) or lets the kubelet and kube-proxy expect:
# forwarding and bridge netfilter for Services, and the kernel defaults the
# kubelet checks with protectKernelDefaults.
node_sysctls=(
	net.ipv4.ip_forward=1
	net.bridge.bridge-nf-call-iptables=1
	net.bridge.bridge-nf-call-ip6tables=1
	vm.overcommit_memory=1
	vm.panic_on_oom=0
	kernel.panic=10
	kernel.panic_on_oops=1
	kernel.keys.root_maxkeys=1000000
	kernel.keys.root_maxbytes=25000000
)

say() { echo "node: $*" >&2; }
die() {
	echo "node: ERROR: $*" >&2
	exit 1
}

# pid_of NAME prints the pid of the daemon NAME when it runs: the pid in its pid
# file, if that process still runs the daemon's binary on this NODE_DIR.
pid_of() {
	local f=$run/$1.pid pid
	[ -f "$f" ] || return 1
	pid=$(cat "$f")
	[ -n "$pid" ] && [ -d "/proc/$pid" ] || return 1
	[ "$(basename "$(readlink "/proc/$pid/exe" 2>/dev/null)")" = "$1" ] || return 1
	[[ "$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" == *"$NODE_DIR/"* ]] || return 1
	echo "$pid"
}

# start_daemon NAME BINARY ARGS... runs BINARY in its own session, detached from
# the caller, logging to $logs/NAME.log, its pid in $run/NAME.pid.
start_daemon() {
	local name=$1
	shift
	mkdir -p "$logs" "$run"
	setsid nohup "$@" >>"$logs/$name.log" 2>&1 </dev/null &
	local pid=$! i
	echo "$pid" >"$run/$name.pid"
	# setsid and nohup exec the daemon: wait until they have, so that pid_of does
	# not take a daemon still starting (its exe still setsid) for one that exited.
	for ((i = 0; i < 100; i++)); do
		[ -d "/proc/$pid" ] || break
		[ "$(basename "$(readlink "/proc/$pid/exe" 2>/dev/null)")" = "$(basename "$1")" ] && break
		sleep 0.05
	done
}

# stop_pid PID [SECONDS]: SIGTERM, then SIGKILL after SECONDS (default 10).
stop_pid() {
	local pid=$1 wait=${2:-10} i
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < wait * 10; i++)); do
		[ -d "/proc/$pid" ] || return 0
		# A zombie has exited; its parent (not us, it was detached) reaps it.
		[ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" = Z ] && return 0
		sleep 0.1
	done
	say "pid $pid ignored SIGTERM for ${wait}s; sending SIGKILL"
	kill -KILL "$pid" 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do
		[ -d "/proc/$pid" ] || return 0
		sleep 0.1
	done
}

# stop_daemon NAME [SECONDS]
stop_daemon() {
	local pid
	if pid=$(pid_of "$1"); then
		stop_pid "$pid" "${2:-10}"
	fi
	rm -f "$run/$1.pid"
}

# log_tail NAME [LINES]: the end of a daemon's log, for error messages.
log_tail() {
	local f=$logs/$1.log
	[ -f "$f" ] || return 0
	echo "---- last ${2:-25} lines of $f ----" >&2
	tail -n "${2:-25}" "$f" >&2
	echo "----" >&2
}

# our_bridge: cni0 exists and up.sh created it.
our_bridge() {
	[ "$(cat "/sys/class/net/$bridge/ifalias" 2>/dev/null)" = "$bridge_alias" ]
}

# shims prints the pids of the containerd shims serving this node's containerd.
shims() {
	local p
	for p in /proc/[0-9]*; do
		[ "$(basename "$(readlink "$p/exe" 2>/dev/null)")" = containerd-shim-runc-v2 ] || continue
		[[ "$(tr '\0' ' ' <"$p/cmdline" 2>/dev/null)" == *"-address $sock "* ]] && basename "$p"
	done
	return 0
}
