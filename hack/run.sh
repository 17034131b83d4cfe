#!/usr/bin/env bash
# `make run`: runs the operator in the foreground against the configured cluster, or,
# when none is configured or reachable, against a local control plane (etcd,
# kube-apiserver, kube-controller-manager built from source) that it starts in the
# background. Installs the CRDs and applies config/samples first.
#
#   --cluster-only   stop after the cluster, CRDs and samples are in place
#   ARGS="..."       extra flags for the manager
#   LOCAL_DIR        where the local cluster keeps its kubeconfig, pid and logs (.local)
set -euo pipefail
cd "$(dirname "$0")/.."

cluster_only=false
[ "${1:-}" = "--cluster-only" ] && cluster_only=true

assets=$(hack/controlplane.sh)
kubectl="$assets/kubectl"
local_dir=${LOCAL_DIR:-$PWD/.local}

configured_cluster() {
	# A kubeconfig is configured when KUBECONFIG is set or ~/.kube/config exists, and
	# it is usable when its current context answers.
	[ -n "${KUBECONFIG:-}" ] || [ -f "$HOME/.kube/config" ] || return 1
	timeout 10 "$kubectl" version --request-timeout=5s >/dev/null 2>&1
}

if configured_cluster; then
	echo "run: using the configured cluster ($("$kubectl" config current-context 2>/dev/null || echo in-cluster))"
else
	mkdir -p "$local_dir"
	pid_file="$local_dir/localcluster.pid"
	if [ -f "$local_dir/ready" ] && [ -f "$pid_file" ] && kill -0 "$(cat "$pid_file")" 2>/dev/null; then
		echo "run: reusing the local control plane (pid $(cat "$pid_file"))"
	else
		echo "run: no cluster configured; starting a local control plane in the background"
		go build -o bin/localcluster ./hack/localcluster
		rm -f "$local_dir/ready"
		# Its own session: Ctrl-C on `make run` stops the manager, not the control plane.
		KUBEBUILDER_ASSETS="$assets" setsid nohup bin/localcluster up --dir "$local_dir" \
			>"$local_dir/localcluster.log" 2>&1 </dev/null &
		for _ in $(seq 1 180); do
			[ -f "$local_dir/ready" ] && break
			if ! kill -0 $! 2>/dev/null; then
				echo "run: the local control plane failed to start; see $local_dir/localcluster.log" >&2
				tail -20 "$local_dir/localcluster.log" >&2
				exit 1
			fi
			sleep 1
		done
		[ -f "$local_dir/ready" ] || { echo "run: the local control plane did not become ready in 180s" >&2; exit 1; }
	fi
	export KUBECONFIG="$local_dir/kubeconfig"
	cat <<EOT

  Local control plane is up. Point kubectl at it with:
    export KUBECONFIG=$KUBECONFIG
    kubectl get orgrbac -A        # (or $kubectl)
  Stop it with: make dev-down

EOT
fi

echo "run: installing the CRDs"
"$kubectl" apply --server-side --force-conflicts -k config/crd >/dev/null
"$kubectl" wait --for condition=Established --timeout=60s -f config/crd/bases >/dev/null
# The admission webhooks: an API server on this machine calls the manager at
# 127.0.0.1:9443 (the manager makes up a certificate and installs a webhook
# configuration pointing to itself, removed when it stops); a remote one cannot
# reach this machine, so the manager runs without webhooks there. A configuration
# left by a manager that was killed is removed before anything is applied.
"$kubectl" delete validatingwebhookconfiguration orgrbac-local-validating-webhook-configuration \
	--ignore-not-found >/dev/null
server=$("$kubectl" config view --minify -o jsonpath='{.clusters[0].cluster.server}')
case "$server" in
https://127.0.0.1:* | https://localhost:* | https://\[::1\]:*)
	webhook_args="--webhook-local-url=https://127.0.0.1:9443" ;;
*)
	echo "run: $server cannot call webhooks on this machine: the manager runs without them"
	webhook_args="--enable-webhooks=false" ;;
esac
echo "run: applying config/samples"
"$kubectl" apply --server-side -k config/samples

if $cluster_only; then
	exit 0
fi
echo "run: starting the manager (Ctrl-C stops it; the local control plane keeps running)"
# shellcheck disable=SC2086
exec go run ./cmd $webhook_args ${ARGS:-}
