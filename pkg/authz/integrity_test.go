package authz

import (
	"context"
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/orgrbac/orgrbac/internal/publish"
)

// fakeClock is a settable clock for FileSourceOptions.now.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

// withRevision rewrites the revision of an unsharded snapshot's document: the
// content hash does not cover it, so this is what a forger with write access to
// the ConfigMap does.
func withRevision(t *testing.T, files map[string][]byte, rev int64) map[string][]byte {
	t.Helper()
	doc := string(files[publish.KeySnapshot])
	i := strings.Index(doc, `"revision":`)
	j := strings.Index(doc, `,"hash"`)
	if i < 0 || j < i {
		t.Fatalf("no revision in %s", doc)
	}
	return map[string][]byte{publish.KeySnapshot: []byte(doc[:i] + `"revision":` + strconv.FormatInt(rev, 10) + doc[j:])}
}

func forgedVideos() *Snapshot {
	s := videos(1)
	s.Organizations[1].Members = append(s.Organizations[1].Members,
		Member{User: "user_mallory", Membership: "globex-mallory", Roles: []string{"admin"}})
	return s
}

// Security review H3(b): a forged snapshot at revision MaxInt64 is refused
// outright, and the loaded snapshot stays.
func TestAbsurdRevisionIsRefused(t *testing.T) {
	dir := t.TempDir()
	kubeletWrite(t, dir, encode(t, videos(42), 0))
	src := NewFileSource(dir, FileSourceOptions{})
	if err := src.Reload(); err != nil {
		t.Fatal(err)
	}
	kubeletWrite(t, dir, withRevision(t, encode(t, forgedVideos(), 0), math.MaxInt64))
	if err := src.Reload(); !errors.Is(err, publish.ErrInvalid) {
		t.Fatalf("Reload of revision MaxInt64: %v, want ErrInvalid", err)
	}
	if src.Revision() != 42 || src.Allowed("globex", "user_mallory", "settings:manage") {
		t.Errorf("revision %d, mallory allowed %v", src.Revision(), src.Allowed("globex", "user_mallory", "settings:manage"))
	}
}

// Security review H3(b): the highest valid revision, forged, pins a reader only
// for StaleGrace; then the publisher's restored snapshot, at a lower revision,
// is loaded.
func TestForgedRevisionPinsReadersOnlyForStaleGrace(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 11, 30, 20, 0, 0, 0, time.UTC)}
	dir := t.TempDir()
	kubeletWrite(t, dir, withRevision(t, encode(t, forgedVideos(), 0), publish.MaxRevision))
	src := NewFileSource(dir, FileSourceOptions{now: clk.now})
	if err := src.Reload(); err != nil {
		t.Fatal(err)
	}
	if src.Revision() != publish.MaxRevision || !src.Allowed("globex", "user_mallory", "settings:manage") {
		t.Fatal("the forgery did not load")
	}
	// The publisher restarts its revisions and restores the content.
	for rev := int64(1); rev <= 3; rev++ {
		kubeletWrite(t, dir, encode(t, videos(rev), 0))
		if err := src.Reload(); !errors.Is(err, ErrStale) {
			t.Fatalf("Reload at revision %d: %v, want ErrStale within the grace", rev, err)
		}
		clk.t = clk.t.Add(DefaultStaleGrace / 3)
	}
	clk.t = clk.t.Add(time.Second)
	if err := src.Reload(); err != nil {
		t.Fatalf("Reload after the grace: %v", err)
	}
	if src.Revision() != 3 || src.Allowed("globex", "user_mallory", "settings:manage") {
		t.Errorf("after the grace: revision %d, mallory allowed %v", src.Revision(), src.Allowed("globex", "user_mallory", "settings:manage"))
	}
	// Newer revisions follow as usual, and a short dip is refused again.
	kubeletWrite(t, dir, encode(t, videos(4), 0))
	if err := src.Reload(); err != nil || src.Revision() != 4 {
		t.Fatalf("revision 4: %v, %d", err, src.Revision())
	}
	kubeletWrite(t, dir, encode(t, videos(2), 0))
	if err := src.Reload(); !errors.Is(err, ErrStale) {
		t.Fatalf("a new dip: %v, want ErrStale", err)
	}
	kubeletWrite(t, dir, encode(t, videos(4), 0))
	if err := src.Reload(); err != nil {
		t.Fatal(err)
	}
	clk.t = clk.t.Add(time.Hour)
	kubeletWrite(t, dir, encode(t, videos(2), 0))
	if err := src.Reload(); !errors.Is(err, ErrStale) {
		t.Fatalf("a dip after the directory caught up: %v, want ErrStale (the grace starts again)", err)
	}
}

func TestNegativeStaleGraceKeepsTheHighestRevision(t *testing.T) {
	clk := &fakeClock{t: time.Now()}
	dir := t.TempDir()
	kubeletWrite(t, dir, encode(t, videos(9), 0))
	src := NewFileSource(dir, FileSourceOptions{StaleGrace: -1, now: clk.now})
	if err := src.Reload(); err != nil {
		t.Fatal(err)
	}
	kubeletWrite(t, dir, encode(t, videos(8), 0))
	for range 3 {
		clk.t = clk.t.Add(time.Hour)
		if err := src.Reload(); !errors.Is(err, ErrStale) || src.Revision() != 9 {
			t.Fatalf("Reload: %v, revision %d", err, src.Revision())
		}
	}
}

func encodeAt(t *testing.T, s *Snapshot, limit int, at time.Time) map[string][]byte {
	t.Helper()
	cms, err := publish.EncodeAt(s, limit, at)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, cm := range cms {
		for k, v := range cm.Data {
			files[k] = []byte(v)
		}
	}
	return files
}

// Security review M8: past MaxStaleness a reader refuses to answer instead of
// granting from a snapshot nobody confirms any more.
func TestMaxStaleness(t *testing.T) {
	for _, limit := range []int{0, 500} {
		start := time.Date(2026, 11, 30, 20, 0, 0, 0, time.UTC)
		clk := &fakeClock{t: start}
		dir := t.TempDir()
		kubeletWrite(t, dir, encodeAt(t, videos(5), limit, start))
		src := NewFileSource(dir, FileSourceOptions{MaxStaleness: 15 * time.Minute, now: clk.now})
		if err := src.Reload(); err != nil {
			t.Fatal(err)
		}
		check := func(want bool, wantErr error) {
			t.Helper()
			got, err := src.Check(context.Background(), "acme", "user_alice", "settings:manage")
			if got != want || !errors.Is(err, wantErr) || src.Allowed("acme", "user_alice", "settings:manage") != want {
				t.Errorf("limit %d, age %s: Check = %v, %v; want %v, %v", limit, src.Age(), got, err, want, wantErr)
			}
		}
		check(true, nil)
		clk.t = start.Add(15 * time.Minute)
		check(true, nil)
		if src.Age() != 15*time.Minute || !src.PublishedAt().Equal(start) {
			t.Errorf("Age %s, PublishedAt %s", src.Age(), src.PublishedAt())
		}
		clk.t = start.Add(15*time.Minute + time.Second)
		check(false, ErrTooOld)

		// The publisher confirms the same revision again.
		kubeletWrite(t, dir, encodeAt(t, videos(5), limit, clk.t))
		if err := src.Reload(); err != nil {
			t.Fatal(err)
		}
		check(true, nil)
		if src.Age() != 0 || src.Revision() != 5 {
			t.Errorf("after the refresh: Age %s, revision %d", src.Age(), src.Revision())
		}
		// An older confirmation of the same revision does not make it younger or older.
		kubeletWrite(t, dir, encodeAt(t, videos(5), limit, start))
		if err := src.Reload(); err != nil || src.Age() != 0 {
			t.Errorf("an older publishedAt: %v, Age %s", err, src.Age())
		}
	}

	// A snapshot without publishedAt is too old for a source with MaxStaleness,
	// and fine for one without.
	dir := t.TempDir()
	kubeletWrite(t, dir, encode(t, videos(5), 0))
	strict := NewFileSource(dir, FileSourceOptions{MaxStaleness: time.Hour})
	lax := NewFileSource(dir, FileSourceOptions{})
	for _, s := range []*FileSource{strict, lax} {
		if err := s.Reload(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := strict.Check(context.Background(), "acme", "user_alice", "settings:manage"); !errors.Is(err, ErrTooOld) {
		t.Errorf("no publishedAt with MaxStaleness: %v, want ErrTooOld", err)
	}
	if ok, err := lax.Check(context.Background(), "acme", "user_alice", "settings:manage"); !ok || err != nil || lax.Age() != 0 {
		t.Errorf("no publishedAt without MaxStaleness: %v, %v", ok, err)
	}
}

func TestAllowedWithMaxStalenessDoesNotAllocate(t *testing.T) {
	dir := t.TempDir()
	kubeletWrite(t, dir, encodeAt(t, videos(1), 0, time.Now()))
	src := NewFileSource(dir, FileSourceOptions{MaxStaleness: time.Hour})
	if err := src.Reload(); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(1000, func() { src.Allowed("acme", "user_alice", "settings:manage") }); n != 0 {
		t.Errorf("Allowed allocates %.1f times per call", n)
	}
}

// Security review, the reader's side: adversarial directory contents are
// refused without replacing the loaded snapshot, and without a panic.
func TestAdversarialSnapshotsAreRefused(t *testing.T) {
	good := encode(t, videos(5), 0)
	sharded := encode(t, videos(5), 500)
	with := func(base map[string][]byte, k, v string) map[string][]byte {
		out := map[string][]byte{}
		for a, b := range base {
			out[a] = b
		}
		if v == "" {
			delete(out, k)
		} else {
			out[k] = []byte(v)
		}
		return out
	}
	var shardKey string
	for k := range sharded {
		if strings.HasPrefix(k, "shard-") {
			shardKey = k
		}
	}
	doc := string(good[publish.KeySnapshot])
	cases := map[string]map[string][]byte{
		"empty dir":                 {},
		"not JSON":                  {publish.KeySnapshot: []byte("{")},
		"JSON array":                {publish.KeySnapshot: []byte("[]")},
		"wrong format":              {publish.KeySnapshot: []byte(strings.Replace(doc, "snapshot/v1", "snapshot/v2", 1))},
		"hash mismatch (edited)":    {publish.KeySnapshot: []byte(strings.Replace(doc, "user_bob", "user_bxb", 1))},
		"negative revision":         {publish.KeySnapshot: []byte(strings.Replace(doc, `"revision":5`, `"revision":-1`, 1))},
		"revision MaxInt64":         withRevision(t, good, math.MaxInt64),
		"revision MaxRevision+1":    withRevision(t, good, publish.MaxRevision+1),
		"bad publishedAt":           {publish.KeySnapshot: []byte(strings.Replace(doc, `"hash"`, `"publishedAt":"soon","hash"`, 1))},
		"both snapshot and index":   with(sharded, publish.KeySnapshot, doc),
		"index names missing shard": with(sharded, shardKey, ""),
		"index lists path traversal": with(sharded, publish.KeyIndex,
			strings.Replace(string(sharded[publish.KeyIndex]), shardKey, "../../etc/passwd", 1)),
		"deep nesting":             {publish.KeySnapshot: []byte(strings.Repeat("[", 100000))},
		"unsorted members":         {publish.KeySnapshot: []byte(strings.Replace(doc, "user_alice", "user_zzz", 1))},
		"unknown role of a member": {publish.KeySnapshot: []byte(strings.Replace(doc, `"roles":["admin"]`, `"roles":["root"]`, 1))},
	}
	for name, files := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			kubeletWrite(t, dir, good)
			src := NewFileSource(dir, FileSourceOptions{})
			if err := src.Reload(); err != nil {
				t.Fatal(err)
			}
			kubeletWrite(t, dir, files)
			if err := src.Reload(); err == nil {
				t.Errorf("accepted")
			}
			if src.Revision() != 5 || !src.Allowed("acme", "user_alice", "settings:manage") {
				t.Errorf("the loaded snapshot was replaced: revision %d", src.Revision())
			}
		})
	}
	// Duplicate keys that decode to the same content are the same snapshot.
	dup := strings.Replace(doc, `"roles":[`, `"roles":[],"roles":[`, 1)
	if _, err := Decode(map[string][]byte{publish.KeySnapshot: []byte(dup)}); err != nil {
		t.Errorf("duplicate keys with identical content: %v", err)
	}
}
