// Package authz is the client library for workloads that authorize requests
// with orgrbac: "may user U of organization O do P?".
//
// Two sources answer that question:
//
//   - FileSource reads the snapshot the operator publishes into the ConfigMaps
//     orgrbac-permissions (and orgrbac-permissions-1..N when it is sharded),
//     mounted as one directory. It reloads on every change, survives kubelet's
//     atomic ..data symlink swaps, keeps the last good snapshot when a read is
//     bad or torn, and answers Allowed from memory with no allocation.
//   - HTTPSource calls the operator's decision API (POST /v1/check) with the
//     workload's ServiceAccount token and caches answers briefly.
//
// Both implement Decider, which Middleware uses to guard a net/http handler.
// docs/publishing.md describes the snapshot format and how to mount it.
package authz

import (
	"context"

	"github.com/orgrbac/orgrbac/internal/publish"
)

// Decider decides whether a user of an organization holds a permission. org is
// the organization's name or its external id.
type Decider interface {
	// Check reports whether the user holds the permission; an error means no
	// decision could be made (the caller must deny).
	Check(ctx context.Context, org, user, permission string) (bool, error)
}

// Snapshot is a decoded orgrbac.dev/snapshot/v1 snapshot.
type Snapshot = publish.Snapshot

// Role is a role of a Snapshot.
type Role = publish.Role

// Organization is an organization of a Snapshot, with its active members.
type Organization = publish.Organization

// Member is an active member of an Organization.
type Member = publish.Member

// Decode reads a snapshot from the files of the mounted ConfigMaps, keyed by
// file name, and verifies that it is complete and consistent.
func Decode(files map[string][]byte) (*Snapshot, error) { return publish.Decode(files) }
