// Package store is the read model of the decision API: an in-memory view of
// every environment (namespace), fed by the manager's informer cache, from
// which the HTTP face (internal/api) answers without calling the API server.
//
// One goroutine, the writer (Store.Start), records informer events, coalesces
// them per namespace and applies them in batches: a Membership change updates
// that membership's entry, a change of the roles or organizations rebuilds the
// namespace's structure through internal/model and internal/resolve, so the
// store decides by the resolver's rules (Decide, Content.Check). Requests read
// one environment at a time under its read lock (EnvIndex.Read); a check
// allocates nothing.
//
// The package knows nothing of HTTP: the HTTP face sets headers, encodes wire
// formats and counts requests. The store's own metrics (its age and its
// updates) are registered here, under the decision API's metric names.
package store
