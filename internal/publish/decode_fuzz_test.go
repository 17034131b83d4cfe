package publish

import (
	"errors"
	"reflect"
	"testing"
)

// FuzzDecode feeds Decode hostile bytes: a document, an index and two shards.
// It never panics; what it refuses wraps one of its errors; what it accepts
// validates, matches its hash, and encodes to files that decode to the same
// snapshot.
func FuzzDecode(f *testing.F) {
	seed := func(s *Snapshot, maxBytes int) {
		cms, err := Encode(s, maxBytes)
		if err != nil {
			f.Fatal(err)
		}
		files := map[string][]byte{}
		for _, cm := range cms {
			for k, v := range cm.Data {
				files[k] = []byte(v)
			}
		}
		f.Add(files[KeySnapshot], files[KeyIndex], files[ShardKey(1)], files[ShardKey(2)])
	}
	seed(fuzzSnapshot([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9}), 0)
	seed(fuzzSnapshot([]byte{3, 9, 5, 1, 2, 7, 0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 11, 11, 11}), 0)
	seed(fuzzSnapshot([]byte{3, 9, 5, 1, 2, 7, 0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 11, 11, 11}), 700)
	f.Add([]byte(`{"format":"orgrbac.dev/snapshot/v1","revision":-1}`), []byte(nil), []byte(nil), []byte(nil))
	f.Add([]byte(nil), []byte(`{"format":"orgrbac.dev/snapshot/v1","shards":[{"key":"../../etc/passwd"}]}`), []byte("{"), []byte("[]"))
	f.Add([]byte("[[[[[[[[[[[[[[[[[[[["), []byte(nil), []byte(nil), []byte(nil))
	f.Add([]byte(`{"format":"orgrbac.dev/snapshot/v1","revision":9223372036854775807,"hash":"sha256:00"}`), []byte(nil), []byte(nil), []byte(nil))
	f.Fuzz(func(t *testing.T, doc, idx, shard1, shard2 []byte) {
		files := map[string][]byte{}
		for k, v := range map[string][]byte{KeySnapshot: doc, KeyIndex: idx, ShardKey(1): shard1, ShardKey(2): shard2} {
			if v != nil {
				files[k] = v
			}
		}
		s, err := Decode(files)
		if err != nil {
			if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrTorn) && !errors.Is(err, ErrNoSnapshot) {
				t.Fatalf("Decode: %v, which wraps none of ErrInvalid, ErrTorn, ErrNoSnapshot", err)
			}
			if s != nil {
				t.Fatalf("Decode returned a snapshot with its error %v", err)
			}
			return
		}
		if err := Validate(s); err != nil {
			t.Fatalf("Decode accepted a snapshot that does not validate: %v", err)
		}
		if s.Revision < 0 || s.Revision > MaxRevision {
			t.Fatalf("Decode accepted revision %d", s.Revision)
		}
		if !reflect.DeepEqual(Normalize(s), s) {
			t.Fatalf("Decode accepted a snapshot that is not normalized")
		}
		cms, err := Encode(s, 0)
		if err != nil {
			t.Fatalf("encoding what Decode accepted: %v", err)
		}
		again := map[string][]byte{}
		for _, cm := range cms {
			for k, v := range cm.Data {
				again[k] = []byte(v)
			}
		}
		s2, err := Decode(again)
		if err != nil || !reflect.DeepEqual(s2, s) {
			t.Fatalf("re-encoding what Decode accepted: %v\nfirst: %+v\nagain: %+v", err, s, s2)
		}
	})
}
