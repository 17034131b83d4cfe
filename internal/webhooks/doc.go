// Package webhooks delivers each environment's change events (the log of
// internal/events) to its WebhookEndpoints, in order and at least once, signed
// as WorkOS signs its webhooks, so that a receiver written for WorkOS verifies
// them with the official SDKs unchanged.
//
// The leader runs one delivery loop per endpoint (controller.go, loop.go). A
// loop reads the log of its namespace from the manager's cache, takes the
// events after status.lastDeliveredEventID (none yet: those created since the
// endpoint), scanning the tail in place for at most maxBatch events of the
// types of spec.events, and POSTs them one at a time (delivery.go). A 2xx
// moves the cursor, and so do the events the filter skips; a failure is
// retried with exponential backoff (backoff.go), and an event that fails once
// it is older than spec.retryWindowSeconds (from its creation) is given up,
// with the as old ones after it while the destination fails. Progress is
// written to the status (conditional on the resourceVersion, never moving the
// cursor back) at most about once a second while delivering and at once on a
// failure or a change of state, so a restart redelivers at most the unrecorded
// tail: a receiver spots those duplicates by event id.
//
// The pure parts have table tests: the body (body.go: JSON that is a fixed
// point of JSON.stringify(JSON.parse(body)), which the Node SDK signs again),
// the signature (signature.go), the backoff and the destination policy
// (destinations.go: --webhook-destinations, checked on every dialed address).
package webhooks
