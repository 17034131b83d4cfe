// Package publish defines the snapshot format the operator publishes for
// workloads, orgrbac.dev/snapshot/v1, and its encoding into ConfigMaps.
//
// A Snapshot holds an environment's roles (environment roles and organization
// roles, each with its sorted permission set) and, per organization, its active
// members with their effective roles in priority order. Readers derive
// permissions from roles, which keeps the snapshot small.
//
// Encode writes the snapshot deterministically: the same content and revision
// always give the same bytes. When the data fits in one ConfigMap, the ConfigMap
// orgrbac-permissions holds it under the key snapshot.json. Otherwise
// orgrbac-permissions holds an index (index.json) naming the shard ConfigMaps
// orgrbac-permissions-1..N, whose keys shard-0001.json..shard-NNNN.json are all
// distinct, so that a projected volume can mount every source in one directory.
// Every document carries the revision and the content hash, so Decode can tell a
// torn read (shards of different revisions) from a complete one.
//
// The package is pure: no client, no I/O. docs/publishing.md is the
// specification of the format.
package publish
