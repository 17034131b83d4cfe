package publish

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"
)

// ConfigMapData is the name and data of one ConfigMap to publish.
type ConfigMapData struct {
	// Name is the ConfigMap's name.
	Name string
	// Data is the ConfigMap's data: one key, one JSON document.
	Data map[string]string
}

// ErrTooLarge is wrapped when the snapshot cannot be split to fit: one role or
// member alone passes the limit, or more than MaxShards shards are needed.
var ErrTooLarge = errors.New("snapshot too large")

// document is a whole snapshot in one ConfigMap (KeySnapshot).
type document struct {
	Format        string         `json:"format"`
	Revision      int64          `json:"revision"`
	Hash          string         `json:"hash"`
	PublishedAt   string         `json:"publishedAt,omitempty"`
	Roles         []Role         `json:"roles,omitempty"`
	Organizations []Organization `json:"organizations,omitempty"`
}

// index is the index of a sharded snapshot (KeyIndex).
type index struct {
	Format      string     `json:"format"`
	Revision    int64      `json:"revision"`
	Hash        string     `json:"hash"`
	PublishedAt string     `json:"publishedAt,omitempty"`
	Shards      []shardRef `json:"shards"`
}

// shardRef names one shard: its ConfigMap and its data key.
type shardRef struct {
	ConfigMap string `json:"configMap"`
	Key       string `json:"key"`
}

// shard is one part of a sharded snapshot: a run of roles and organizations; an
// organization whose members span several shards appears in each of them with
// the next run of its members.
type shard struct {
	Format        string         `json:"format"`
	Revision      int64          `json:"revision"`
	Hash          string         `json:"hash"`
	Shard         int            `json:"shard"`
	Roles         []Role         `json:"roles,omitempty"`
	Organizations []Organization `json:"organizations,omitempty"`
}

// Encode returns the ConfigMaps holding s, normalized, at s.Revision: the
// ConfigMap ConfigMapName first, then the shards in order. Each ConfigMap's data
// (keys and values) stays within maxBytes (DefaultMaxBytes when <= 0). The
// output depends only on s's content, its revision and maxBytes.
func Encode(s *Snapshot, maxBytes int) ([]ConfigMapData, error) {
	return EncodeAt(s, maxBytes, time.Time{})
}

// EncodeAt is Encode with the publication time publishedAt written into the
// document or the index (as "publishedAt", RFC 3339 in UTC, whole seconds;
// omitted when zero). The time is outside the content hash: the publisher
// refreshes it, at the same revision, to tell readers the snapshot is still
// current (see pkg/authz's FileSourceOptions.MaxStaleness).
func EncodeAt(s *Snapshot, maxBytes int, publishedAt time.Time) ([]ConfigMapData, error) {
	at := FormatTime(publishedAt)
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	n := Normalize(s)
	if err := Validate(n); err != nil {
		return nil, err
	}
	hash, err := contentHash(n)
	if err != nil {
		return nil, err
	}
	whole, err := json.Marshal(document{Format: Format, Revision: n.Revision, Hash: hash, PublishedAt: at,
		Roles: n.Roles, Organizations: n.Organizations})
	if err != nil {
		return nil, fmt.Errorf("encoding the snapshot: %w", err)
	}
	if len(KeySnapshot)+len(whole) <= maxBytes {
		return []ConfigMapData{{Name: ConfigMapName, Data: map[string]string{KeySnapshot: string(whole)}}}, nil
	}

	shards, err := split(n, hash, maxBytes)
	if err != nil {
		return nil, err
	}
	idx := index{Format: Format, Revision: n.Revision, Hash: hash, PublishedAt: at, Shards: make([]shardRef, len(shards))}
	out := make([]ConfigMapData, 1, len(shards)+1)
	for i := range shards {
		name, key := ShardConfigMapName(i+1), ShardKey(i+1)
		idx.Shards[i] = shardRef{ConfigMap: name, Key: key}
		b, err := json.Marshal(shards[i])
		if err != nil {
			return nil, fmt.Errorf("encoding shard %d: %w", i+1, err)
		}
		if len(key)+len(b) > maxBytes {
			return nil, fmt.Errorf("shard %d is %d bytes, over the limit %d (a bug in the size estimate)", i+1, len(b), maxBytes)
		}
		out = append(out, ConfigMapData{Name: name, Data: map[string]string{key: string(b)}})
	}
	b, err := json.Marshal(idx)
	if err != nil {
		return nil, fmt.Errorf("encoding the index: %w", err)
	}
	if len(KeyIndex)+len(b) > maxBytes {
		return nil, fmt.Errorf("%w: the index of %d shards passes %d bytes", ErrTooLarge, len(shards), maxBytes)
	}
	out[0] = ConfigMapData{Name: ConfigMapName, Data: map[string]string{KeyIndex: string(b)}}
	return out, nil
}

// FormatTime is t as a publishedAt value: RFC 3339 in UTC, whole seconds; empty
// for the zero time.
func FormatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Truncate(time.Second).Format(time.RFC3339)
}

// packer fills shards greedily, in canonical order, with a size estimate that
// never undercounts: every item is counted with a separating comma, and the
// envelope with the longest revision and shard number.
type packer struct {
	limit  int
	base   int
	hash   string
	shards []shard
	cur    *shard
	size   int
	// open is true when the last organization of cur may take more members.
	open bool
}

func split(n *Snapshot, hash string, maxBytes int) ([]shard, error) {
	env, err := json.Marshal(shard{Format: Format, Revision: math.MaxInt64, Hash: hash, Shard: MaxShards})
	if err != nil {
		return nil, fmt.Errorf("encoding a shard envelope: %w", err)
	}
	p := &packer{limit: maxBytes, hash: hash,
		base: len(ShardKey(MaxShards)) + len(env) + len(`,"roles":[]`) + len(`,"organizations":[]`)}
	p.next()
	for _, r := range n.Roles {
		b, err := json.Marshal(r)
		if err != nil {
			return nil, fmt.Errorf("encoding role %q: %w", r.Slug, err)
		}
		if err := p.fit(len(b) + 1); err != nil {
			return nil, fmt.Errorf("role %q: %w", r.Slug, err)
		}
		p.cur.Roles = append(p.cur.Roles, r)
		p.size += len(b) + 1
		p.open = false
	}
	for _, o := range n.Organizations {
		b, err := json.Marshal(Organization{Name: o.Name, ExternalID: o.ExternalID})
		if err != nil {
			return nil, fmt.Errorf("encoding organization %q: %w", o.Name, err)
		}
		header := len(b) + len(`,"members":[]`) + 1
		if len(o.Members) == 0 {
			if err := p.fit(header); err != nil {
				return nil, fmt.Errorf("organization %q: %w", o.Name, err)
			}
			p.startOrganization(o, header)
			continue
		}
		p.open = false
		for _, m := range o.Members {
			b, err := json.Marshal(m)
			if err != nil {
				return nil, fmt.Errorf("encoding member %q of %q: %w", m.User, o.Name, err)
			}
			cost := len(b) + 1
			if !p.open || p.size+cost > p.limit {
				if err := p.fit(header + cost); err != nil {
					return nil, fmt.Errorf("member %q of %q: %w", m.User, o.Name, err)
				}
				p.startOrganization(o, header)
			}
			last := &p.cur.Organizations[len(p.cur.Organizations)-1]
			last.Members = append(last.Members, m)
			p.size += cost
		}
	}
	if len(p.cur.Roles) > 0 || len(p.cur.Organizations) > 0 {
		p.shards = append(p.shards, *p.cur)
	}
	if len(p.shards) > MaxShards {
		return nil, fmt.Errorf("%w: %d shards needed, at most %d", ErrTooLarge, len(p.shards), MaxShards)
	}
	for i := range p.shards {
		p.shards[i].Revision = n.Revision
	}
	return p.shards, nil
}

// next starts a new, empty shard.
func (p *packer) next() {
	p.cur = &shard{Format: Format, Hash: p.hash, Shard: len(p.shards) + 1}
	p.size = p.base
	p.open = false
}

// fit makes room for cost bytes, starting a new shard when the current one is
// not empty and too full; an item that does not fit in an empty shard is an error.
func (p *packer) fit(cost int) error {
	if p.size+cost <= p.limit {
		return nil
	}
	if len(p.cur.Roles) == 0 && len(p.cur.Organizations) == 0 {
		return fmt.Errorf("%w: %d bytes do not fit in one ConfigMap of %d bytes", ErrTooLarge, p.base+cost, p.limit)
	}
	p.shards = append(p.shards, *p.cur)
	p.next()
	if p.size+cost > p.limit {
		return fmt.Errorf("%w: %d bytes do not fit in one ConfigMap of %d bytes", ErrTooLarge, p.base+cost, p.limit)
	}
	return nil
}

// startOrganization appends o's header (without members) to the current shard.
func (p *packer) startOrganization(o Organization, header int) {
	p.cur.Organizations = append(p.cur.Organizations, Organization{Name: o.Name, ExternalID: o.ExternalID})
	p.size += header
	p.open = true
}
