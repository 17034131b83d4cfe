// Package certs gives orgrbac's TLS servers their serving certificates, and their
// clients the CA to trust, without manual steps:
//
//   - in a cluster (config/default), AddRotator keeps a CA and a serving
//     certificate in a Secret with github.com/open-policy-agent/cert-controller,
//     which also injects the CA bundle into the Validating- and
//     MutatingWebhookConfiguration;
//     the webhook server serves it, and so do the metrics server and the
//     decision API when the certificate names their Services;
//   - for a manager running on the developer's machine (`make run` against the
//     local control plane), SelfSigned writes a throw-away CA and certificate and
//     LocalConfiguration installs webhook configurations whose URLs point to the
//     local manager, removing them when the manager stops;
//   - a server that has no certificate of its own (the decision API without
//     --api-cert-dir) serves one from InMemory, which never touches the disk.
//
// SelfSigned and InMemory are one generator with two outputs, so every
// self-signed certificate orgrbac makes has the same shape.
package certs
