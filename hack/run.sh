#!/usr/bin/env bash
# `make run`: runs the operator in the foreground against the configured cluster, or,
# when none is configured or reachable, against a local control plane (etcd,
# kube-apiserver, kube-controller-manager built from source) that it starts in the
# background. Installs the CRDs and applies config/samples first.
#
# It also installs what calling the decision API needs (the ClusterRole
# orgrbac-api-caller, the ServiceAccount videos/orgrbac-demo bound to it), gives
# the API a certificate signed by a throw-away CA (.local/api-certs), builds
# kubectl orgrbac into bin/, and once the manager is ready prints three commands
# to try: kubectl orgrbac, curl and the WorkOS Node SDK (docs/quickstart.md).
#
#   --cluster-only   stop after the cluster, CRDs and samples are in place
#   ARGS="..."       extra flags for the manager
#   LOCAL_DIR        where the local cluster keeps its kubeconfig, pid and logs (.local)
#   ORGRBAC_API_PORT, ORGRBAC_PROBE_PORT, ORGRBAC_METRICS_PORT, ORGRBAC_WEBHOOK_PORT
#                    the manager's ports on 127.0.0.1 (8082, 8081, 8443, 9443)
set -euo pipefail
cd "$(dirname "$0")/.."

cluster_only=false
[ "${1:-}" = "--cluster-only" ] && cluster_only=true

assets=$(hack/controlplane.sh)
kubectl="$assets/kubectl"
local_dir=${LOCAL_DIR:-$PWD/.local}
api_port=${ORGRBAC_API_PORT:-8082}
probe_port=${ORGRBAC_PROBE_PORT:-8081}
metrics_port=${ORGRBAC_METRICS_PORT:-8443}
webhook_port=${ORGRBAC_WEBHOOK_PORT:-9443}

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
# 127.0.0.1:$webhook_port (the manager makes up a certificate and installs webhook
# configurations pointing to itself, removed when it stops); a remote one cannot
# reach this machine, so the manager runs without webhooks there. Configurations
# left by a manager that was killed are removed before anything is applied.
"$kubectl" delete validatingwebhookconfiguration orgrbac-local-validating-webhook-configuration \
	--ignore-not-found >/dev/null
"$kubectl" delete mutatingwebhookconfiguration orgrbac-local-mutating-webhook-configuration \
	--ignore-not-found >/dev/null
server=$("$kubectl" config view --minify -o jsonpath='{.clusters[0].cluster.server}')
case "$server" in
https://127.0.0.1:* | https://localhost:* | https://\[::1\]:*)
	webhook_args="--webhook-local-url=https://127.0.0.1:$webhook_port" ;;
*)
	echo "run: $server cannot call webhooks on this machine: the manager runs without them"
	webhook_args="--enable-webhooks=false" ;;
esac
echo "run: applying config/samples"
"$kubectl" apply --server-side -k config/samples

# Calling the decision API: the caller (checks) and reader (member data)
# ClusterRoles under the names every install path gives them (config/default
# prefixes config/rbac's api-caller and api-reader with orgrbac-), and a
# ServiceAccount of the samples' environment bound to both. Its tokens for the
# API are minted with the API's audience (kubectl create token --audience).
echo "run: installing the ClusterRoles orgrbac-api-caller, -reader, -writer and -token-minter and the ServiceAccount videos/orgrbac-demo"
"$kubectl" apply --server-side -f - >/dev/null <<'EOF'
apiVersion: v1
kind: ServiceAccount
metadata:
  name: orgrbac-demo
  namespace: videos
EOF
for role in api-caller api-reader api-writer api-token-minter; do
	file=config/rbac/${role//-/_}_role.yaml
	manifest=$(sed "s/^  name: $role\$/  name: orgrbac-$role/" "$file")
	grep -q "^  name: orgrbac-$role\$" <<<"$manifest" || {
		echo "run: $file no longer names the ClusterRole $role" >&2; exit 1; }
	"$kubectl" apply --server-side -f - >/dev/null <<<"$manifest"
	"$kubectl" apply --server-side -f - >/dev/null <<EOF
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: orgrbac-demo-$role
  namespace: videos
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: orgrbac-$role
subjects:
- kind: ServiceAccount
  name: orgrbac-demo
  namespace: videos
EOF
done


# The access tokens' signing keys: the manager creates the Secret in this
# namespace and rotates its keys.
"$kubectl" create namespace orgrbac-system --dry-run=client -o yaml | "$kubectl" apply --server-side -f - >/dev/null

if $cluster_only; then
	exit 0
fi
echo "run: building the manager and kubectl orgrbac into bin/"
go build -o bin/manager ./cmd
go build -o bin/kubectl-orgrbac ./cmd/kubectl-orgrbac
go build -o bin/localcluster ./hack/localcluster
# The decision API's certificate, signed by a CA that curl and Node are given.
cert_dir="$local_dir/api-certs"
bin/localcluster certs --dir "$cert_dir" --hosts 127.0.0.1,localhost

echo "run: starting the manager (Ctrl-C stops it; the local control plane keeps running)"
# shellcheck disable=SC2086
bin/manager $webhook_args --api-cert-dir "$cert_dir" \
	--api-bind-address "127.0.0.1:$api_port" --health-probe-bind-address "127.0.0.1:$probe_port" \
	--metrics-bind-address "127.0.0.1:$metrics_port" \
	--token-signing-secret orgrbac-system/orgrbac-token-signing-keys --token-issuer "https://127.0.0.1:$api_port" ${ARGS:-} &
manager=$!
trap 'kill -TERM "$manager" 2>/dev/null; wait "$manager"; exit' INT TERM

# Ready: an HTTP 200 from /readyz (bash only: no curl needed).
ready() {
	(exec 3<>"/dev/tcp/127.0.0.1/$probe_port" && printf 'GET /readyz HTTP/1.0\r\n\r\n' >&3 &&
		head -1 <&3 | grep -q ' 200 ') 2>/dev/null
}
until ready; do
	kill -0 "$manager" 2>/dev/null || { wait "$manager"; exit; }
	sleep 0.5
done
# The commands below ask about the samples: wait until the controllers have
# resolved every sample membership (the readiness above is the caches' and
# the decision API's index's, not the samples').
until "$kubectl" wait memberships.orgrbac.dev --all -n videos --timeout=5s \
	--for=jsonpath='{.status.conditions[?(@.type=="Ready")].status}'=True >/dev/null 2>&1; do
	kill -0 "$manager" 2>/dev/null || { wait "$manager"; exit; }
done

kubeconfig=${KUBECONFIG:-$HOME/.kube/config}
path_dirs="$PWD/bin"
command -v kubectl >/dev/null || path_dirs="$path_dirs:$assets"
body='{"organization":"acme","user":"user_alice","permission":"videos:delete"}'
sdk="$local_dir/workos-sdk"
cat <<EOT

  The manager is ready. Try it, in another terminal:

    export KUBECONFIG=$kubeconfig PATH=$path_dirs:\$PATH

    kubectl orgrbac can-i acme user_alice videos:delete -n videos

    curl --cacert $cert_dir/ca.crt -H "Authorization: Bearer \$(kubectl create token orgrbac-demo -n videos --audience=orgrbac.dev/decision-api)" -d '$body' https://127.0.0.1:$api_port/v1/check

    curl --cacert $cert_dir/ca.crt -H "Authorization: Bearer \$(kubectl create token orgrbac-demo -n videos --audience=orgrbac.dev/decision-api)" -d '{"organization":"acme","user":"user_alice"}' https://127.0.0.1:$api_port/v1/tokens

    curl --cacert $cert_dir/ca.crt https://127.0.0.1:$api_port/.well-known/jwks.json

    npm install --prefix $sdk --no-audit --no-fund --silent @workos-inc/node@11.0.0 && NODE_EXTRA_CA_CERTS=$cert_dir/ca.crt WORKOS_API_KEY=\$(kubectl create token orgrbac-demo -n videos --audience=orgrbac.dev/decision-api) node -e "const { WorkOS } = require('$sdk/node_modules/@workos-inc/node'); new WorkOS(process.env.WORKOS_API_KEY, { apiHostname: '127.0.0.1', port: $api_port, https: true }).authorization.check({ organizationMembershipId: 'acme-alice', permissionSlug: 'videos:delete' }).then((r) => console.log(JSON.stringify(r)))"

  Then follow docs/quickstart.md.

EOT
wait "$manager"
