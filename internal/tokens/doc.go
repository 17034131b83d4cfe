// Package tokens keeps the keys that sign orgrbac's access tokens: it creates
// and rotates them in one Secret the operator owns, signs tokens with the
// current key, and serves the public key set (JWKS) that verifies them.
//
// Two runnables share the work:
//
//   - Rotator runs on the leader only. On start and on a schedule it creates
//     the Secret when it is missing (with a first key), adds a new key when the
//     signing key has signed for Options.RotationPeriod, and removes a key once
//     its successor has signed for Options.Overlap (at least the token
//     lifetime, so that every token a key signed expires before the key leaves
//     the set). It writes the Secret only when something is due, with
//     optimistic concurrency (the resourceVersion it read; on a conflict it
//     reads again). A Secret whose keys nobody can read gets a new key set
//     (its other data keys are kept).
//   - KeySet runs on every replica. It watches that one Secret (a
//     field-selected informer, so RBAC can grant it by resourceName), keeps the
//     keys in memory, signs tokens (Sign) and serves the public keys (JWKS). A
//     Secret it cannot read leaves the last good keys in place and is reported
//     by Err.
//
// A new key is published Options.PublishDelay before it signs: every replica
// and every verifier that refetches the key set on an unknown kid then finds
// it.
//
// # The Secret
//
// The Secret (type Opaque, label app.kubernetes.io/managed-by=orgrbac) holds
// one data key, keys.json:
//
//	{
//	  "version": 1,
//	  "keys": [
//	    {
//	      "kid": "<RFC 7638 SHA-256 thumbprint, base64url>",
//	      "createdAt": "2026-01-02T03:04:05Z",
//	      "activeFrom": "2026-01-02T03:05:05Z",
//	      "jwk": {"kty": "RSA", "kid": "...", "alg": "RS256", "use": "sig",
//	              "n": "...", "e": "...", "d": "...", "p": "...", "q": "...",
//	              "dp": "...", "dq": "...", "qi": "..."}
//	    }
//	  ]
//	}
//
// Every key is an RSA 2048 private key (RS256). The signing key is the key
// with the latest activeFrom that is not in the future; every key of the list
// is in the public set. The private members never leave the Secret: the JWKS
// holds kty, use, alg, kid, n and e only, and nothing here logs key material.
package tokens
