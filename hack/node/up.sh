#!/usr/bin/env bash
# `make cluster-up`: a real single-node Kubernetes cluster on this machine, for
# development and end-to-end tests. Run as root. Every daemon is started here,
# directly (no systemd), in its own session; pid files in $NODE_DIR/run, logs in
# $NODE_DIR/logs. docs/development.md ("A real node") describes it.
#
#   containerd   own socket $NODE_DIR/run/containerd.sock, root and state in $NODE_DIR
#   etcd         127.0.0.1:2379
#   kube-apiserver, kube-controller-manager, kube-scheduler, kube-proxy (iptables), kubelet
#   CoreDNS      Service kube-dns, 10.96.0.10, for cluster.local only
#
# The node is orgrbac-node at 10.88.0.1 on the bridge cni0 (Pods: 10.88.0.0/16,
# Services: 10.96.0.0/16); the API server is https://10.88.0.1:6443 and the admin
# kubeconfig $NODE_DIR/kubeconfig/admin.kubeconfig. Nothing listens beyond
# loopback and the bridge, and Pod traffic cannot leave the bridge.
#
# It imports bin/images/*.tar (`make image`) and the node's own images (pause,
# CoreDNS); hack/node/import.sh imports more later. A cluster that already runs
# is kept (its images are imported again); a broken one is torn down first.
# On failure it prints the end of the failing daemon's log and tears everything
# down again (hack/node/down.sh), keeping the logs.
#
#   NODE_DIR          state, PKI, kubeconfigs, logs (default: .local/node in the clone)
#   NODE_UP_TIMEOUT   seconds to wait for each step (default 120)
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
export PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin
timeout=${NODE_UP_TIMEOUT:-120}

t0=$(date +%s.%N)
elapsed() { awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%5.1fs", b - a }'; }
step() { echo "node: [$(elapsed)] $*" >&2; }

[ "$(uname -s)" = Linux ] || die "a real node needs Linux"
[ "$(id -u)" = 0 ] || die "a real node needs root (containerd, the kubelet, iptables, the bridge)"
# Unix socket paths (containerd's, the kubelet's) must stay under 108 bytes.
[ ${#NODE_DIR} -le 60 ] || die "NODE_DIR $NODE_DIR is too long for the sockets under it; set NODE_DIR to a path of at most 60 characters"

"$repo/hack/node/deps.sh"
cpdir=$("$repo/hack/controlplane.sh")
bindir=$("$repo/hack/node/build.sh")
kubectl=$cpdir/kubectl
mkdir -p "$NODE_DIR"
printf 'cpdir=%q\nbindir=%q\n' "$cpdir" "$bindir" >"$NODE_DIR/bins.env"
k() { "$kubectl" --kubeconfig "$admin_kubeconfig" --cache-dir "$NODE_DIR/kubectl-cache" "$@"; }

running() { local d; for d in "${daemons[@]}"; do pid_of "$d" >/dev/null || return 1; done; }

# import_images: bin/images/*.tar from `make image` and the node's own.
import_images() {
	local f files=()
	for f in "$repo"/bin/images/*.tar "$images"/*.tar; do [ -f "$f" ] && files+=("$f"); done
	"$repo/hack/node/import.sh" "${files[@]}"
}

if running && k get --raw /readyz >/dev/null 2>&1; then
	step "the node already runs; importing images"
	"$repo/hack/node/images.sh" "$bindir" >/dev/null
	import_images
	echo "export KUBECONFIG=$admin_kubeconfig"
	exit 0
fi
if [ -d "$run" ] || our_bridge; then
	step "cleaning up what a previous node left"
	"$repo/hack/node/down.sh"
fi
if ip link show "$bridge" >/dev/null 2>&1; then
	die "a link $bridge exists that this NODE_DIR did not create (alias: '$(cat "/sys/class/net/$bridge/ifalias" 2>/dev/null)'): is another node running? Stop it (make cluster-down NODE_DIR=...) or remove the link"
fi
busy=$(ss -Hltnp '( sport = :2379 or sport = :2380 or sport = :2381 or sport = :6443 or sport = :10248 or sport = :10249 or sport = :10250 or sport = :10256 or sport = :10257 or sport = :10259 )')
[ -z "$busy" ] || die "ports the node needs are in use:"$'\n'"$busy"

step "binaries in $cpdir and $bindir"
coredns_image=$("$repo/hack/node/images.sh" "$bindir")
"$repo/hack/node/pki.sh"
step "images and PKI ready"

# From here on, a failure tears down whatever started.
failed_daemon=
on_exit() {
	local rc=$?
	[ "$rc" = 0 ] && return
	trap - EXIT INT TERM
	echo "node: cluster-up failed (exit $rc) after $(elapsed)" >&2
	local d shown=
	for d in "${daemons[@]}"; do
		if [ -f "$run/$d.pid" ] && ! pid_of "$d" >/dev/null; then
			echo "node: $d is not running" >&2
			log_tail "$d"
			shown="$shown $d"
		fi
	done
	if [ -n "$failed_daemon" ] && [[ " $shown " != *" $failed_daemon "* ]]; then log_tail "$failed_daemon"; fi
	echo "node: tearing down; the logs stay in $logs" >&2
	"$repo/hack/node/down.sh" || true
	exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT TERM

# Fresh state for every start; the PKI and kubeconfigs are kept.
rm -rf "$NODE_DIR"/{etcd,containerd,kubelet,cni,config,logs,run}
mkdir -p "$config/net.d" "$logs/pods" "$run" "$NODE_DIR"/{etcd,containerd,kubelet,cni/ipam}
chmod 700 "$NODE_DIR/etcd"

# ---- configuration files
cat >"$config/containerd.toml" <<EOF
version = 2
root = "$NODE_DIR/containerd/root"
state = "$NODE_DIR/containerd/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = "$sock"
[ttrpc]
  address = "$sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$NODE_DIR/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$pause_image"
  # root here lacks CAP_SYS_RESOURCE: runc cannot lower oom_score_adj below
  # containerd's own, so clamp it instead of failing every sandbox.
  restrict_oom_score_adj = true
  # Pod network namespaces under the state folder, not /run/netns.
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$runc_root"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$config/net.d"
    max_conf_num = 1
EOF

# No ipMasq, no portmap: Pods talk to each other, the node and Services only.
cat >"$config/net.d/10-$cni_network.conflist" <<EOF
{
  "cniVersion": "0.4.0",
  "name": "$cni_network",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$bridge",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$NODE_DIR/cni/ipam",
        "ranges": [[{"subnet": "$pod_cidr", "gateway": "$node_ip", "rangeStart": "10.88.0.10"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    }
  ]
}
EOF

cat >"$config/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $node_ip
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
tlsCertFile: $pki/kubelet-serving.crt
tlsPrivateKeyFile: $pki/kubelet-serving.key
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $pki/ca.crt}
authorization: {mode: Webhook}
containerRuntimeEndpoint: unix://$sock
cgroupDriver: cgroupfs
# This host is cgroup v1; 1.37 refuses it unless told otherwise.
failCgroupV1: false
failSwapOn: false
podLogsDir: $logs/pods
volumePluginDir: $NODE_DIR/kubelet/volume-plugins
clusterDomain: $cluster_domain
clusterDNS: [$dns_ip]
# No upstream DNS: Pods resolve cluster.local names only.
resolvConf: ""
# up.sh sets the kernel tunables the kubelet wants; it only checks them.
protectKernelDefaults: true
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%"}
# Locally imported images cannot be pulled again: never collect them.
imageGCHighThresholdPercent: 99
imageGCLowThresholdPercent: 98
# Mounted ConfigMaps and Secrets follow changes within about 10s.
syncFrequency: 10s
serializeImagePulls: false
rotateCertificates: false
serverTLSBootstrap: false
EOF

cat >"$config/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $kubeconfigs/kube-proxy.kubeconfig}
hostnameOverride: $node_name
mode: iptables
clusterCIDR: $pod_cidr
bindAddress: 127.0.0.1
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
nodePortAddresses: ["$node_ip/32"]
iptables: {localhostNodePorts: false}
# Leave the conntrack sysctls alone.
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
EOF

# ---- host networking
# What the host had before the first start, for down.sh to restore: the
# sysctls, and which of the host folders the kubelet and containerd use existed.
if [ ! -f "$sysctl_saved" ]; then
	for s in "${node_sysctls[@]}"; do
		echo "${s%%=*}=$(sysctl -n "${s%%=*}")"
	done >"$sysctl_saved.tmp"
	for d in "${host_dirs[@]}"; do [ -d "$d" ] && echo "$d"; done >"$host_dirs_saved"
	mv "$sysctl_saved.tmp" "$sysctl_saved"
fi
sysctl -qw "${node_sysctls[@]}"
ip link add "$bridge" type bridge
# Marked as ours: down.sh deletes only this bridge.
ip link set "$bridge" alias "$bridge_alias"
ip addr add "$node_ip/16" dev "$bridge"
ip link set "$bridge" up
# Service addresses are routed to the bridge, never to the default route.
ip route add "$service_cidr" dev "$bridge" src "$node_ip"
# Pod traffic stays on the bridge: nothing from a Pod is forwarded to another
# interface, nothing from another interface to a Pod. In mangle FORWARD, which
# runs before the filter rules kube-proxy puts first.
iptables -w -t mangle -N "$guard_chain"
iptables -w -t mangle -A "$guard_chain" -s "$pod_cidr" ! -o "$bridge" -j DROP
iptables -w -t mangle -A "$guard_chain" -d "$pod_cidr" ! -i "$bridge" -j DROP
iptables -w -t mangle -I FORWARD 1 -j "$guard_chain"
step "bridge $bridge $node_ip/16 up"

# ---- daemons
# wait_for WHAT DAEMON COMMAND...: runs COMMAND until it succeeds; fails when a
# daemon died or after $timeout seconds, with DAEMON's log.
wait_for() {
	local what=$1 daemon=$2 end=$((SECONDS + timeout)) d
	shift 2
	failed_daemon=$daemon
	until "$@" >/dev/null 2>&1; do
		for d in "${daemons[@]}"; do
			[ -f "$run/$d.pid" ] || continue
			pid_of "$d" >/dev/null || die "$d exited while waiting for $what"
		done
		[ $SECONDS -lt $end ] || die "timed out after ${timeout}s waiting for $what"
		sleep 0.2
	done
	failed_daemon=
	step "$what"
}

start_daemon containerd containerd --config "$config/containerd.toml"
# ctr waits for its dial timeout when the socket is missing: check the file first.
wait_for "containerd ready" containerd bash -c "[ -S '$sock' ] && ctr -a '$sock' version"
import_images
step "images imported"

start_daemon etcd "$cpdir/etcd" --name "$node_name" --data-dir "$NODE_DIR/etcd" \
	--listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
	--listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
	--initial-cluster "$node_name=http://127.0.0.1:2380" --listen-metrics-urls http://127.0.0.1:2381 \
	--unsafe-no-fsync --log-level warn

# The default admission plugins (1.37: NamespaceLifecycle, LimitRanger,
# ServiceAccount, PodSecurity, the webhooks and admission policies, ResourceQuota,
# ...) plus NodeRestriction; the ones tests rely on are named so they stay on.
admission=NodeRestriction,PodSecurity,MutatingAdmissionWebhook,ValidatingAdmissionWebhook,ValidatingAdmissionPolicy
start_daemon kube-apiserver "$cpdir/kube-apiserver" \
	--advertise-address "$node_ip" --bind-address "$node_ip" --secure-port 6443 \
	--etcd-servers http://127.0.0.1:2379 \
	--service-cluster-ip-range "$service_cidr" --allow-privileged=true \
	--authorization-mode Node,RBAC --enable-admission-plugins "$admission" \
	--client-ca-file "$pki/ca.crt" --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
	--kubelet-client-certificate "$pki/apiserver-kubelet-client.crt" --kubelet-client-key "$pki/apiserver-kubelet-client.key" \
	--kubelet-certificate-authority "$pki/ca.crt" --kubelet-preferred-address-types InternalIP \
	--service-account-issuer "https://kubernetes.default.svc.$cluster_domain" \
	--api-audiences "https://kubernetes.default.svc.$cluster_domain" \
	--service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
	--requestheader-client-ca-file "$pki/front-proxy-ca.crt" --requestheader-allowed-names front-proxy-client \
	--requestheader-username-headers X-Remote-User --requestheader-group-headers X-Remote-Group \
	--requestheader-uid-headers X-Remote-Uid --requestheader-extra-headers-prefix X-Remote-Extra- \
	--proxy-client-cert-file "$pki/front-proxy-client.crt" --proxy-client-key-file "$pki/front-proxy-client.key" \
	--enable-aggregator-routing=true
wait_for "kube-apiserver ready" kube-apiserver k get --raw /readyz

start_daemon kube-controller-manager "$cpdir/kube-controller-manager" \
	--kubeconfig "$kubeconfigs/controller-manager.kubeconfig" \
	--authentication-kubeconfig "$kubeconfigs/controller-manager.kubeconfig" \
	--authorization-kubeconfig "$kubeconfigs/controller-manager.kubeconfig" \
	--bind-address 127.0.0.1 --leader-elect=false --use-service-account-credentials \
	--client-ca-file "$pki/ca.crt" --requestheader-client-ca-file "$pki/front-proxy-ca.crt" \
	--service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
	--cluster-signing-cert-file "$pki/ca.crt" --cluster-signing-key-file "$pki/ca.key" \
	--service-cluster-ip-range "$service_cidr" --cluster-cidr "$pod_cidr" --allocate-node-cidrs=false
start_daemon kube-scheduler "$bindir/kube-scheduler" \
	--kubeconfig "$kubeconfigs/scheduler.kubeconfig" \
	--authentication-kubeconfig "$kubeconfigs/scheduler.kubeconfig" \
	--authorization-kubeconfig "$kubeconfigs/scheduler.kubeconfig" \
	--bind-address 127.0.0.1 --leader-elect=false
start_daemon kube-proxy "$bindir/kube-proxy" --config "$config/kube-proxy.yaml"
start_daemon kubelet "$bindir/kubelet" --config "$config/kubelet.yaml" \
	--kubeconfig "$kubeconfigs/kubelet.kubeconfig" --root-dir "$NODE_DIR/kubelet" \
	--cert-dir "$NODE_DIR/kubelet/pki" --hostname-override "$node_name" --node-ip "$node_ip"

node_ready() { [ "$(k get node "$node_name" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}')" = True ]; }
wait_for "node $node_name Ready" kubelet node_ready
wait_for "default ServiceAccount" kube-controller-manager k get serviceaccount default -n default

# ---- cluster DNS
sed -e "s|@IMAGE@|$coredns_image|" -e "s|@DNS_IP@|$dns_ip|" "$repo/hack/node/manifests/coredns.yaml" | k apply -f - >/dev/null
dns_available() { [ "$(k get deployment coredns -n kube-system -o 'jsonpath={.status.availableReplicas}')" = 1 ]; }
dns_endpoints() {
	[[ " $(k get endpointslices -n kube-system -l kubernetes.io/service-name=kube-dns \
		-o 'jsonpath={.items[*].endpoints[*].conditions.ready}') " == *" true "* ]]
}
wait_for "CoreDNS available" kubelet dns_available
wait_for "kube-dns endpoints ready" kube-proxy dns_endpoints
"$NODE_DIR/build/dnscheck" -server "$dns_ip:53" -timeout 30s "kubernetes.default.svc.$cluster_domain=$api_service_ip" >/dev/null ||
	die "CoreDNS at $dns_ip does not resolve kubernetes.default.svc.$cluster_domain from the host"
step "CoreDNS answers on $dns_ip"

# From a Pod, through its resolv.conf and search path.
k delete pod dns-check -n kube-system --ignore-not-found --wait=false >/dev/null
k apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Pod
metadata: {name: dns-check, namespace: kube-system}
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 0
  securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
  containers:
  - name: dnscheck
    image: localhost/orgrbac/node-dnscheck:1
    imagePullPolicy: Never
    args: [-timeout, 30s, kubernetes.default=$api_service_ip, kube-dns.kube-system.svc.$cluster_domain=$dns_ip]
    securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}
EOF
pod_done() { [[ "$(k get pod dns-check -n kube-system -o 'jsonpath={.status.phase}')" =~ ^(Succeeded|Failed)$ ]]; }
wait_for "DNS check Pod done" kubelet pod_done
if [ "$(k get pod dns-check -n kube-system -o 'jsonpath={.status.phase}')" != Succeeded ]; then
	k logs dns-check -n kube-system >&2 || true
	die "a Pod cannot resolve Services by name"
fi
k delete pod dns-check -n kube-system --wait=false >/dev/null
step "a Pod resolves kubernetes.default and kube-dns.kube-system by name"

trap - EXIT INT TERM
touch "$run/ready"
cat >&2 <<EOF
node: up in $(elapsed). Node $node_name, API server $api_server, DNS $dns_ip.
node: containerd: $sock (hack/node/import.sh FILE.tar... imports more images)
node: stop it with: make cluster-down
EOF
echo "export KUBECONFIG=$admin_kubeconfig"
