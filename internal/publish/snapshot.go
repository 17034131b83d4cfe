package publish

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/orgrbac/orgrbac/internal/resolve"
)

// Format is the format identifier every published document carries.
const Format = "orgrbac.dev/snapshot/v1"

// Names and keys of the published ConfigMaps.
const (
	// ConfigMapName is the ConfigMap holding the whole snapshot, or the index of
	// the shards when the snapshot does not fit in one ConfigMap.
	ConfigMapName = "orgrbac-permissions"
	// KeySnapshot is the data key of a snapshot held in one ConfigMap.
	KeySnapshot = "snapshot.json"
	// KeyIndex is the data key of the index of a sharded snapshot.
	KeyIndex = "index.json"
	// LabelPublished marks every published ConfigMap (value "true").
	LabelPublished = "orgrbac.dev/published"
	// AnnotationRevision on every published ConfigMap is the snapshot revision.
	AnnotationRevision = "orgrbac.dev/revision"
	// AnnotationContentHash on every published ConfigMap is the content hash.
	AnnotationContentHash = "orgrbac.dev/content-hash"
	// AnnotationPublishedAt on the ConfigMap ConfigMapName is the publishedAt of
	// its document or index.
	AnnotationPublishedAt = "orgrbac.dev/published-at"
)

// Limits of the encoding.
const (
	// DefaultMaxBytes is the largest data (keys and values) Encode puts in one
	// ConfigMap: 768 KiB, leaving room under the API server's ~1 MiB object limit.
	DefaultMaxBytes = 768 << 10
	// MaxShards is the largest number of shard ConfigMaps.
	MaxShards = 255
	// MaxRevision is the largest revision, 2^53-1: the largest integer that every
	// JSON reader (JavaScript's included) reads exactly. The publisher never gets
	// near it (one publication per second for 285 million years); a larger
	// revision is a forgery, and Validate refuses it.
	MaxRevision = 1<<53 - 1
)

// ShardConfigMapName is the name of shard n (1-based).
func ShardConfigMapName(n int) string { return fmt.Sprintf("%s-%d", ConfigMapName, n) }

// ShardKey is the data key of shard n (1-based).
func ShardKey(n int) string { return fmt.Sprintf("shard-%04d.json", n) }

// RoleType says whether a role belongs to the environment or to one organization.
type RoleType string

// Role types, the values of WorkOS's role "type" field.
const (
	// RoleTypeEnvironment is an environment Role, visible to every organization.
	RoleTypeEnvironment RoleType = "EnvironmentRole"
	// RoleTypeOrganization is an OrganizationRole, visible to its organization only.
	RoleTypeOrganization RoleType = "OrganizationRole"
)

// Snapshot is everything a workload needs to decide whether a user of an
// organization holds a permission.
type Snapshot struct {
	// Revision grows whenever the content changes; it never shrinks within an
	// environment.
	Revision int64
	// Roles are the environment's roles, sorted by (Organization, Slug):
	// environment roles (no organization) first.
	Roles []Role
	// Organizations are sorted by Name.
	Organizations []Organization
}

// Role is one role and its permissions.
type Role struct {
	// Slug is the role's slug.
	Slug string `json:"slug"`
	// Type is RoleTypeEnvironment or RoleTypeOrganization.
	Type RoleType `json:"type"`
	// Organization is the organization's name for an organization role, empty
	// for an environment role.
	Organization string `json:"organization,omitempty"`
	// Permissions is the sorted, unique permission set.
	Permissions []string `json:"permissions,omitempty"`
}

// Organization is one organization and its active members.
type Organization struct {
	// Name is the Organization object's name.
	Name string `json:"name"`
	// ExternalID is the organization's external id (e.g. a WorkOS org_ id), if any.
	ExternalID string `json:"externalID,omitempty"`
	// Members are the active members, sorted by User.
	Members []Member `json:"members,omitempty"`
}

// Member is one active member of an organization.
type Member struct {
	// User is the user id.
	User string `json:"user"`
	// Membership is the Membership object's name (the WorkOS membership id).
	Membership string `json:"membership"`
	// Roles are the effective role slugs, highest priority first.
	Roles []string `json:"roles,omitempty"`
}

// ErrInvalid is wrapped by every error about a snapshot's content.
var ErrInvalid = errors.New("invalid snapshot")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// Normalize returns a deep copy of s in canonical order: roles sorted by
// (organization, slug) with sorted, unique permissions; organizations sorted by
// name; members sorted by user. A member's roles keep their (priority) order.
// Empty lists become nil.
func Normalize(s *Snapshot) *Snapshot {
	out := &Snapshot{Revision: s.Revision}
	if len(s.Roles) > 0 {
		out.Roles = make([]Role, len(s.Roles))
		for i, r := range s.Roles {
			r.Permissions = sortedSet(r.Permissions)
			out.Roles[i] = r
		}
		slices.SortStableFunc(out.Roles, compareRole)
	}
	if len(s.Organizations) > 0 {
		out.Organizations = make([]Organization, len(s.Organizations))
		for i, o := range s.Organizations {
			o.Members = slices.Clone(o.Members)
			for j := range o.Members {
				o.Members[j].Roles = cloneOrNil(o.Members[j].Roles)
			}
			if len(o.Members) == 0 {
				o.Members = nil
			}
			slices.SortStableFunc(o.Members, compareMember)
			out.Organizations[i] = o
		}
		slices.SortStableFunc(out.Organizations, func(a, b Organization) int { return strings.Compare(a.Name, b.Name) })
	}
	return out
}

func compareRole(a, b Role) int {
	return cmp.Or(strings.Compare(a.Organization, b.Organization), strings.Compare(a.Slug, b.Slug))
}

func compareMember(a, b Member) int {
	return cmp.Or(strings.Compare(a.User, b.User), strings.Compare(a.Membership, b.Membership))
}

func sortedSet(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	out := slices.Clone(s)
	slices.Sort(out)
	return slices.Compact(out)
}

func cloneOrNil(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return slices.Clone(s)
}

// Validate checks that s is normalized (see Normalize) and consistent: slugs,
// names and users are non-empty and unique where they must be, no two
// organizations answer to one id (name or externalID), a role's type
// matches its organization, organization roles belong to a listed
// organization, and every member role names a role visible to the member's
// organization (an environment role or one of its organization roles).
func Validate(s *Snapshot) error {
	if s.Revision < 0 {
		return invalid("negative revision %d", s.Revision)
	}
	if s.Revision > MaxRevision {
		return invalid("revision %d is above the largest revision %d", s.Revision, int64(MaxRevision))
	}
	envRoles := map[string]bool{}
	orgRoles := map[[2]string]bool{}
	for i, r := range s.Roles {
		if r.Slug == "" {
			return invalid("role %d has no slug", i)
		}
		switch r.Type {
		case RoleTypeEnvironment:
			if r.Organization != "" {
				return invalid("environment role %q names organization %q", r.Slug, r.Organization)
			}
			envRoles[r.Slug] = true
		case RoleTypeOrganization:
			if r.Organization == "" {
				return invalid("organization role %q names no organization", r.Slug)
			}
			orgRoles[[2]string{r.Organization, r.Slug}] = true
		default:
			return invalid("role %q has unknown type %q", r.Slug, r.Type)
		}
		if i > 0 && compareRole(s.Roles[i-1], r) >= 0 {
			return invalid("roles not sorted or not unique at %q/%q", r.Organization, r.Slug)
		}
		if err := checkSet(r.Permissions); err != nil {
			return invalid("role %q: permissions %v", r.Slug, err)
		}
	}
	orgs := make(map[string]bool, len(s.Organizations))
	for i, o := range s.Organizations {
		if o.Name == "" {
			return invalid("organization %d has no name", i)
		}
		if i > 0 && s.Organizations[i-1].Name >= o.Name {
			return invalid("organizations not sorted or not unique at %q", o.Name)
		}
		orgs[o.Name] = true
		if o.Members != nil && len(o.Members) == 0 {
			return invalid("organization %q: empty members list is not nil", o.Name)
		}
		for j, m := range o.Members {
			if m.User == "" || m.Membership == "" {
				return invalid("organization %q: member %d has no user or membership", o.Name, j)
			}
			if j > 0 && o.Members[j-1].User >= m.User {
				return invalid("organization %q: members not sorted or not unique at %q", o.Name, m.User)
			}
			if m.Roles != nil && len(m.Roles) == 0 {
				return invalid("organization %q: member %q: empty roles list is not nil", o.Name, m.User)
			}
			for k, slug := range m.Roles {
				if !envRoles[slug] && !orgRoles[[2]string{o.Name, slug}] {
					return invalid("organization %q: member %q: role %q names no visible role", o.Name, m.User, slug)
				}
				if slices.Contains(m.Roles[:k], slug) {
					return invalid("organization %q: member %q: role %q listed twice", o.Name, m.User, slug)
				}
			}
		}
	}
	if err := checkOrganizationIDs(s.Organizations); err != nil {
		return err
	}
	for k := range orgRoles {
		if !orgs[k[0]] {
			return invalid("organization role %q names unknown organization %q", k[1], k[0])
		}
	}
	return nil
}

// checkOrganizationIDs refuses two organizations answering to one id: an
// externalID equal to another organization's externalID or name. Readers look
// organizations up by either, with resolve.IndexOrganizations, whose duplicates
// are exactly these collisions; the publisher leaves the younger of two
// colliding organizations out, so a snapshot with a collision is not the
// publisher's.
func checkOrganizationIDs(orgs []Organization) error {
	refs := make([]resolve.OrganizationRef, len(orgs))
	for i, o := range orgs {
		refs[i] = resolve.OrganizationRef{Meta: resolve.Meta{Name: o.Name}, ExternalID: o.ExternalID}
	}
	ids := resolve.IndexOrganizations(refs)
	for _, o := range orgs {
		c, dup := ids.Duplicate(o.Name)
		switch {
		case !dup:
		case c.Field == resolve.FieldName:
			return invalid("organization %q: externalID %q is the name of another organization", c.Winner, c.Key)
		case c.WinnerField == resolve.FieldName:
			return invalid("organization %q: externalID %q is the name of another organization", o.Name, c.Key)
		default:
			return invalid("organizations %q and %q have the same externalID %q", c.Winner, o.Name, c.Key)
		}
	}
	return nil
}

// checkSet reports an empty, unsorted or duplicate element; nil lists are sets,
// empty non-nil ones are not normalized.
func checkSet(s []string) error {
	if s != nil && len(s) == 0 {
		return errors.New("empty list is not nil")
	}
	for i, v := range s {
		if v == "" {
			return errors.New("empty element")
		}
		if i > 0 && s[i-1] >= v {
			return fmt.Errorf("not sorted or not unique at %q", v)
		}
	}
	return nil
}

// content is what the content hash covers: everything but the revision.
type content struct {
	Format        string         `json:"format"`
	Roles         []Role         `json:"roles"`
	Organizations []Organization `json:"organizations"`
}

// ContentHash returns "sha256:<hex>" over the canonical JSON of s's normalized
// content, excluding the revision: two snapshots with the same roles and members
// have the same hash whatever their revisions and input order.
func ContentHash(s *Snapshot) (string, error) {
	return contentHash(Normalize(s))
}

func contentHash(n *Snapshot) (string, error) {
	b, err := json.Marshal(content{Format: Format, Roles: n.Roles, Organizations: n.Organizations})
	if err != nil {
		return "", fmt.Errorf("encoding the content: %w", err)
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}
