#!/usr/bin/env bash
# Writes the node's PKI and kubeconfigs with openssl, once: $NODE_DIR/pki and
# $NODE_DIR/kubeconfig. A complete set is kept (up.sh reuses it); delete
# $NODE_DIR/pki to start over. ECDSA P-256 keys, ten years.
#
#   ca                         signs every certificate below
#   apiserver                  serving: 10.88.0.1, 127.0.0.1, 10.96.0.1, kubernetes.default.svc...
#   apiserver-kubelet-client   the apiserver to the kubelets (system:masters)
#   admin                      kubernetes-admin (system:masters)
#   controller-manager         system:kube-controller-manager
#   scheduler                  system:kube-scheduler
#   kubelet                    system:node:<node> (system:nodes)
#   kubelet-serving            the kubelet's serving certificate
#   kube-proxy                 system:kube-proxy
#   front-proxy-ca             the aggregation layer's requestheader CA, which signs
#   front-proxy-client         the apiserver to aggregated API servers
#   sa.key, sa.pub             ServiceAccount token signing
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ -f "$pki/.complete" ] && [ -f "$admin_kubeconfig" ] && exit 0

rm -rf "$pki" "$kubeconfigs"
mkdir -p "$pki" "$kubeconfigs"
chmod 700 "$pki" "$kubeconfigs"
cd "$pki"

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null; }

# ca NAME CN
ca() {
	key "$1"
	openssl req -x509 -new -key "$1.key" -subj "/CN=$2" -days 3650 -sha256 \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign" \
		-out "$1.crt"
}

# cert NAME CA SUBJECT EXTENDED_KEY_USAGE [SUBJECT_ALT_NAMES]
cert() {
	local ext
	key "$1"
	openssl req -new -key "$1.key" -subj "$3" -out "$1.csr"
	ext="basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=$4
authorityKeyIdentifier=keyid"
	[ -n "${5:-}" ] && ext+=$'\n'"subjectAltName=$5"
	openssl x509 -req -in "$1.csr" -CA "$2.crt" -CAkey "$2.key" -set_serial "0x$(openssl rand -hex 16)" \
		-days 3650 -sha256 -extfile <(echo "$ext") -out "$1.crt" 2>/dev/null
	rm "$1.csr"
}

ca ca orgrbac-node-ca
ca front-proxy-ca orgrbac-node-front-proxy-ca
cert apiserver ca /CN=kube-apiserver serverAuth \
	"IP:$node_ip,IP:127.0.0.1,IP:$api_service_ip,DNS:localhost,DNS:$node_name,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.$cluster_domain"
cert apiserver-kubelet-client ca /O=system:masters/CN=kube-apiserver-kubelet-client clientAuth
cert admin ca /O=system:masters/CN=kubernetes-admin clientAuth
cert controller-manager ca /CN=system:kube-controller-manager clientAuth
cert scheduler ca /CN=system:kube-scheduler clientAuth
cert kubelet ca "/O=system:nodes/CN=system:node:$node_name" clientAuth
cert kubelet-serving ca "/CN=$node_name" serverAuth "IP:$node_ip,DNS:$node_name"
cert kube-proxy ca /CN=system:kube-proxy clientAuth
cert front-proxy-client front-proxy-ca /CN=front-proxy-client clientAuth
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out sa.key 2>/dev/null
openssl pkey -in sa.key -pubout -out sa.pub 2>/dev/null
chmod 600 ./*.key

# kubeconfig NAME: a kubeconfig with the certificate NAME embedded.
kubeconfig() {
	cat >"$kubeconfigs/$1.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: $node_name
  cluster:
    server: $api_server
    certificate-authority-data: $(base64 -w0 ca.crt)
users:
- name: $1
  user:
    client-certificate-data: $(base64 -w0 "$1.crt")
    client-key-data: $(base64 -w0 "$1.key")
contexts:
- name: $1@$node_name
  context:
    cluster: $node_name
    user: $1
current-context: $1@$node_name
EOF
	chmod 600 "$kubeconfigs/$1.kubeconfig"
}
for n in admin controller-manager scheduler kubelet kube-proxy; do kubeconfig "$n"; done
touch .complete
