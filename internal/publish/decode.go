package publish

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Errors of Decode.
var (
	// ErrNoSnapshot: neither KeySnapshot nor KeyIndex is present.
	ErrNoSnapshot = errors.New("no snapshot: neither " + KeySnapshot + " nor " + KeyIndex + " is present")
	// ErrTorn: the shards do not match the index (missing, or of another
	// revision or content): a read caught in the middle of an update.
	ErrTorn = errors.New("torn snapshot")
)

// Decode reads a snapshot from the data of the published ConfigMaps, keyed by
// data key (the file names of a mounted directory holding every ConfigMap).
// Other keys are ignored. It verifies the format, that every shard the index
// lists is present at the index's revision and content hash, that the content
// is normalized and valid (Validate), and that it matches its hash.
func Decode(files map[string][]byte) (*Snapshot, error) {
	s, _, err := DecodeInfo(files)
	return s, err
}

// Info is what a published snapshot says about its publication, outside its
// content.
type Info struct {
	// PublishedAt is when the publisher last confirmed that the snapshot was
	// current; zero when the document carries no time (older publishers).
	PublishedAt time.Time
}

// DecodeInfo is Decode, and also returns the publication time of the document
// or the index.
func DecodeInfo(files map[string][]byte) (*Snapshot, Info, error) {
	idxData, sharded := files[KeyIndex]
	whole, single := files[KeySnapshot]
	switch {
	case sharded && single:
		return nil, Info{}, fmt.Errorf("%w: both %s and %s are present", ErrInvalid, KeySnapshot, KeyIndex)
	case single:
		var d document
		if err := unmarshal(KeySnapshot, whole, &d); err != nil {
			return nil, Info{}, err
		}
		if err := checkFormat(KeySnapshot, d.Format); err != nil {
			return nil, Info{}, err
		}
		info, err := parseInfo(KeySnapshot, d.PublishedAt)
		if err != nil {
			return nil, Info{}, err
		}
		s, err := verify(&Snapshot{Revision: d.Revision, Roles: d.Roles, Organizations: d.Organizations}, d.Hash)
		return s, info, err
	case sharded:
		var idx index
		if err := unmarshal(KeyIndex, idxData, &idx); err != nil {
			return nil, Info{}, err
		}
		if err := checkFormat(KeyIndex, idx.Format); err != nil {
			return nil, Info{}, err
		}
		info, err := parseInfo(KeyIndex, idx.PublishedAt)
		if err != nil {
			return nil, Info{}, err
		}
		s, err := decodeShards(&idx, files)
		return s, info, err
	default:
		return nil, Info{}, ErrNoSnapshot
	}
}

func parseInfo(key, publishedAt string) (Info, error) {
	if publishedAt == "" {
		return Info{}, nil
	}
	t, err := time.Parse(time.RFC3339, publishedAt)
	if err != nil {
		return Info{}, fmt.Errorf("%w: %s: publishedAt: %w", ErrInvalid, key, err)
	}
	return Info{PublishedAt: t}, nil
}

func decodeShards(idx *index, files map[string][]byte) (*Snapshot, error) {
	s := &Snapshot{Revision: idx.Revision}
	for i, ref := range idx.Shards {
		data, ok := files[ref.Key]
		if !ok {
			return nil, fmt.Errorf("%w: shard %d (%s, ConfigMap %s) is missing", ErrTorn, i+1, ref.Key, ref.ConfigMap)
		}
		var sh shard
		if err := unmarshal(ref.Key, data, &sh); err != nil {
			return nil, err
		}
		if err := checkFormat(ref.Key, sh.Format); err != nil {
			return nil, err
		}
		if sh.Revision != idx.Revision || sh.Hash != idx.Hash {
			return nil, fmt.Errorf("%w: %s is at revision %d, the index at revision %d", ErrTorn, ref.Key, sh.Revision, idx.Revision)
		}
		if sh.Shard != i+1 {
			return nil, fmt.Errorf("%w: %s holds shard %d, the index lists it as shard %d", ErrInvalid, ref.Key, sh.Shard, i+1)
		}
		s.Roles = append(s.Roles, sh.Roles...)
		for _, o := range sh.Organizations {
			if n := len(s.Organizations); n > 0 && s.Organizations[n-1].Name == o.Name {
				last := &s.Organizations[n-1]
				if last.ExternalID != o.ExternalID {
					return nil, fmt.Errorf("%w: organization %q has two external ids across shards", ErrInvalid, o.Name)
				}
				last.Members = append(last.Members, o.Members...)
				continue
			}
			s.Organizations = append(s.Organizations, o)
		}
	}
	return verify(s, idx.Hash)
}

// verify checks that s is valid and matches hash.
func verify(s *Snapshot, hash string) (*Snapshot, error) {
	if err := Validate(s); err != nil {
		return nil, err
	}
	got, err := contentHash(s)
	if err != nil {
		return nil, err
	}
	if got != hash {
		return nil, fmt.Errorf("%w: content hash %s does not match the published %s", ErrTorn, got, hash)
	}
	return s, nil
}

func unmarshal(key string, data []byte, v any) error {
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrInvalid, key, err)
	}
	return nil
}

func checkFormat(key, format string) error {
	if format != Format {
		return fmt.Errorf("%w: %s has format %q, want %q", ErrInvalid, key, format, Format)
	}
	return nil
}
