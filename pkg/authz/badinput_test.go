package authz

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/orgrbac/orgrbac/internal/badinput"
	"github.com/orgrbac/orgrbac/internal/publish"
)

// The bad-input catalog of the snapshot reader (issue #13; docs/security.md,
// "Bad-input catalog"): adversarial contents of a mounted snapshot directory.
// A FileSource that has loaded a good snapshot must refuse each one with the
// expected error, keep answering from the snapshot it had, and not panic;
// publish.Decode, given the same files, must refuse them with the same error.
//
// To add an entry, append it to badSnapshots below; minBadSnapshots is the
// floor the catalog may not shrink below.

// minBadSnapshots is this package's share of the catalog's 120 inputs.
const minBadSnapshots = 40

var badSnapshotsRan, badSnapshotsFailed atomic.Int64

func TestMain(m *testing.M) {
	code := m.Run()
	badinput.Report("snapshots", int(badSnapshotsRan.Load()), int(badSnapshotsFailed.Load()))
	os.Exit(code)
}

// badSnapshot is one catalog entry: the files of the directory (or a function
// that lays it out, for what is not a set of files), and the refusal.
type badSnapshot struct {
	name  string
	files map[string][]byte
	// layout replaces the contents of a plain directory, instead of files.
	layout func(t *testing.T, dir string)
	err    error  // errors.Is
	msg    string // a substring of the error
	// readerOnly: publish.Decode accepts the files; only the reader, holding a
	// newer snapshot, refuses them.
	readerOnly bool
}

// rawDocument is a snapshot document written as a forger would: not normalized.
type rawDocument struct {
	Format        string                 `json:"format"`
	Revision      int64                  `json:"revision"`
	Hash          string                 `json:"hash"`
	Roles         []publish.Role         `json:"roles,omitempty"`
	Organizations []publish.Organization `json:"organizations,omitempty"`
}

// raw returns the files of a document holding s as it is (not normalized), with
// the content hash of s normalized.
func raw(t *testing.T, s *Snapshot) map[string][]byte {
	t.Helper()
	hash, err := publish.ContentHash(s)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(rawDocument{Format: publish.Format, Revision: s.Revision, Hash: hash,
		Roles: s.Roles, Organizations: s.Organizations})
	if err != nil {
		t.Fatal(err)
	}
	return map[string][]byte{publish.KeySnapshot: b}
}

// edited returns the videos snapshot at revision 6, changed by f, as raw files.
func edited(t *testing.T, f func(s *Snapshot)) map[string][]byte {
	t.Helper()
	s := videos(6)
	f(s)
	return raw(t, s)
}

// jsonEdit decodes data, changes it with f and encodes it again.
func jsonEdit(t *testing.T, data []byte, f func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		t.Fatal(err)
	}
	f(m)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func copyFiles(files map[string][]byte) map[string][]byte {
	out := make(map[string][]byte, len(files))
	for k, v := range files {
		out[k] = v
	}
	return out
}

func badSnapshots(t *testing.T) []badSnapshot {
	good := encode(t, videos(6), 0)
	doc := good[publish.KeySnapshot]
	// The sharded encoding, in three shards or more.
	sharded := encode(t, videos(6), 500)
	var shardKeys []string
	for i := 1; ; i++ {
		if _, ok := sharded[publish.ShardKey(i)]; !ok {
			break
		}
		shardKeys = append(shardKeys, publish.ShardKey(i))
	}
	if len(shardKeys) < 2 {
		t.Fatalf("the sharded encoding has %d shards, want 2 or more", len(shardKeys))
	}
	idx := sharded[publish.KeyIndex]
	docField := func(k string, v any) map[string][]byte {
		return map[string][]byte{publish.KeySnapshot: jsonEdit(t, doc, func(m map[string]any) { m[k] = v })}
	}
	docRaw := func(k, v string) map[string][]byte { // a field's raw JSON text
		return map[string][]byte{publish.KeySnapshot: jsonEdit(t, doc, func(m map[string]any) { m[k] = json.RawMessage(v) })}
	}
	docWithout := func(k string) map[string][]byte {
		return map[string][]byte{publish.KeySnapshot: jsonEdit(t, doc, func(m map[string]any) { delete(m, k) })}
	}
	shardedWith := func(k string, v []byte) map[string][]byte {
		out := copyFiles(sharded)
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
		return out
	}
	indexShards := func(f func(shards []any) []any) []byte {
		return jsonEdit(t, idx, func(m map[string]any) { m["shards"] = f(m["shards"].([]any)) })
	}
	older := encode(t, videos(3), 0)

	return []badSnapshot{
		// Nothing to read.
		{name: "empty directory", files: map[string][]byte{}, err: publish.ErrNoSnapshot},
		{name: "only files that are not .json", files: map[string][]byte{"snapshot.txt": doc, "README": []byte("hi")}, err: publish.ErrNoSnapshot},
		{name: "snapshot.json is a directory", layout: func(t *testing.T, dir string) {
			if err := os.Mkdir(filepath.Join(dir, publish.KeySnapshot), 0o700); err != nil {
				t.Fatal(err)
			}
		}, err: publish.ErrNoSnapshot},
		{name: "..data links to nothing", layout: func(t *testing.T, dir string) {
			if err := os.Symlink("..gone", filepath.Join(dir, "..data")); err != nil {
				t.Fatal(err)
			}
		}, err: publish.ErrNoSnapshot},
		{name: "the document under another key", files: map[string][]byte{"snapshot-1.json": doc}, err: publish.ErrNoSnapshot},

		// Not a document.
		{name: "empty file", files: map[string][]byte{publish.KeySnapshot: {}}, err: publish.ErrInvalid, msg: publish.KeySnapshot},
		{name: "not JSON", files: map[string][]byte{publish.KeySnapshot: []byte("{")}, err: publish.ErrInvalid, msg: publish.KeySnapshot},
		{name: "JSON null", files: map[string][]byte{publish.KeySnapshot: []byte("null")}, err: publish.ErrInvalid, msg: "format"},
		{name: "JSON array", files: map[string][]byte{publish.KeySnapshot: []byte("[" + string(doc) + "]")}, err: publish.ErrInvalid, msg: publish.KeySnapshot},
		{name: "JSON string", files: map[string][]byte{publish.KeySnapshot: []byte(`"snapshot"`)}, err: publish.ErrInvalid, msg: publish.KeySnapshot},
		{name: "trailing garbage", files: map[string][]byte{publish.KeySnapshot: append(append([]byte{}, doc...), " x"...)}, err: publish.ErrInvalid},
		{name: "100,000 nested arrays", files: map[string][]byte{publish.KeySnapshot: []byte(strings.Repeat("[", 100000))}, err: publish.ErrInvalid},
		{name: "100,000 nested objects as the roles", files: map[string][]byte{publish.KeySnapshot: []byte(`{"format":"` + publish.Format + `","revision":6,"roles":` +
			strings.Repeat(`{"a":`, 100000) + "1" + strings.Repeat("}", 100000) + `}`)}, err: publish.ErrInvalid},
		{name: "binary garbage", files: map[string][]byte{publish.KeySnapshot: {0xff, 0xfe, 0x00, 0x01}}, err: publish.ErrInvalid},

		// The envelope.
		{name: "format v2", files: docField("format", "orgrbac.dev/snapshot/v2"), err: publish.ErrInvalid, msg: "format"},
		{name: "no format", files: docWithout("format"), err: publish.ErrInvalid, msg: "format"},
		{name: "format of another case", files: docField("format", strings.ToUpper(publish.Format)), err: publish.ErrInvalid, msg: "format"},
		{name: "negative revision", files: docRaw("revision", "-1"), err: publish.ErrInvalid, msg: "negative revision"},
		{name: "revision MaxInt64", files: docRaw("revision", fmt.Sprint(int64(math.MaxInt64))), err: publish.ErrInvalid, msg: "largest revision"},
		{name: "revision MaxRevision+1", files: docRaw("revision", fmt.Sprint(int64(publish.MaxRevision+1))), err: publish.ErrInvalid, msg: "largest revision"},
		{name: "revision beyond int64", files: docRaw("revision", "1e400"), err: publish.ErrInvalid},
		{name: "fractional revision", files: docRaw("revision", "6.5"), err: publish.ErrInvalid},
		{name: "revision as a string", files: docRaw("revision", `"6"`), err: publish.ErrInvalid},
		{name: "publishedAt not a time", files: docField("publishedAt", "soon"), err: publish.ErrInvalid, msg: "publishedAt"},
		{name: "publishedAt a number", files: docRaw("publishedAt", "1700000000"), err: publish.ErrInvalid},
		{name: "hash of other content", files: map[string][]byte{publish.KeySnapshot: bytes.Replace(doc, []byte("user_bob"), []byte("user_bxb"), 1)}, err: publish.ErrTorn, msg: "content hash"},
		{name: "no hash", files: docWithout("hash"), err: publish.ErrTorn, msg: "content hash"},
		{name: "a member added without a new hash", files: map[string][]byte{publish.KeySnapshot: jsonEdit(t, doc, func(m map[string]any) {
			orgs := m["organizations"].([]any)
			g := orgs[1].(map[string]any)
			g["members"] = append(g["members"].([]any), map[string]any{"user": "user_mallory", "membership": "globex-mallory", "roles": []any{"admin"}})
		})}, err: publish.ErrTorn, msg: "content hash"},

		// Content that is not normalized or not consistent (Validate).
		{name: "unsorted members", files: edited(t, func(s *Snapshot) {
			m := s.Organizations[0].Members
			m[0], m[1] = m[1], m[0]
		}), err: publish.ErrInvalid, msg: "members not sorted"},
		{name: "a member listed twice", files: edited(t, func(s *Snapshot) {
			s.Organizations[0].Members = append(s.Organizations[0].Members[:1], s.Organizations[0].Members...)
		}), err: publish.ErrInvalid, msg: "not sorted or not unique"},
		{name: "a member without a user", files: edited(t, func(s *Snapshot) { s.Organizations[1].Members[0].User = "" }), err: publish.ErrInvalid, msg: "no user"},
		{name: "a member without a membership", files: edited(t, func(s *Snapshot) { s.Organizations[1].Members[0].Membership = "" }), err: publish.ErrInvalid, msg: "no user or membership"},
		{name: "a member holding an unknown role", files: edited(t, func(s *Snapshot) { s.Organizations[1].Members[0].Roles = []string{"root"} }), err: publish.ErrInvalid, msg: "names no visible role"},
		{name: "a member holding another organization's role", files: edited(t, func(s *Snapshot) { s.Organizations[1].Members[0].Roles = []string{"org-producer"} }), err: publish.ErrInvalid, msg: "names no visible role"},
		{name: "a member holding a role twice", files: edited(t, func(s *Snapshot) { s.Organizations[1].Members[0].Roles = []string{"member", "member"} }), err: publish.ErrInvalid, msg: "listed twice"},
		{name: "a member with an empty role list", files: map[string][]byte{publish.KeySnapshot: jsonEdit(t, doc, func(m map[string]any) {
			g := m["organizations"].([]any)[1].(map[string]any)
			g["members"].([]any)[0].(map[string]any)["roles"] = []any{}
		})}, err: publish.ErrInvalid, msg: "empty roles list"},
		{name: "an organization with an empty member list", files: map[string][]byte{publish.KeySnapshot: jsonEdit(t, doc, func(m map[string]any) {
			m["organizations"].([]any)[1].(map[string]any)["members"] = []any{}
		})}, err: publish.ErrInvalid, msg: "empty members list"},
		{name: "unsorted organizations", files: edited(t, func(s *Snapshot) {
			s.Organizations[0], s.Organizations[1] = s.Organizations[1], s.Organizations[0]
		}), err: publish.ErrInvalid, msg: "organizations not sorted"},
		{name: "an organization listed twice", files: edited(t, func(s *Snapshot) {
			s.Organizations = append(s.Organizations, s.Organizations[1])
		}), err: publish.ErrInvalid, msg: "not sorted or not unique"},
		{name: "an organization without a name", files: edited(t, func(s *Snapshot) { s.Organizations[0].Name = "" }), err: publish.ErrInvalid, msg: "no name"},
		// Security review M2: an id must name one organization.
		{name: "two organizations with one externalID", files: edited(t, func(s *Snapshot) { s.Organizations[1].ExternalID = "org_01ACME" }), err: publish.ErrInvalid, msg: "externalID"},
		{name: "an externalID that is another organization's name", files: edited(t, func(s *Snapshot) { s.Organizations[1].ExternalID = "acme" }), err: publish.ErrInvalid, msg: "externalID"},
		{name: "a role without a slug", files: edited(t, func(s *Snapshot) { s.Roles[0].Slug = "" }), err: publish.ErrInvalid, msg: "no slug"},
		{name: "a role of an unknown type", files: edited(t, func(s *Snapshot) { s.Roles[0].Type = "SuperRole" }), err: publish.ErrInvalid, msg: "unknown type"},
		{name: "an environment role naming an organization", files: edited(t, func(s *Snapshot) { s.Roles[1].Organization = "acme" }), err: publish.ErrInvalid, msg: "names organization"},
		{name: "an organization role naming none", files: edited(t, func(s *Snapshot) { s.Roles[2].Organization = "" }), err: publish.ErrInvalid, msg: "names no organization"},
		{name: "an organization role of an unknown organization", files: edited(t, func(s *Snapshot) {
			s.Roles[2].Organization = "initech"
			s.Organizations[0].Members[1].Roles = []string{"member"}
		}), err: publish.ErrInvalid, msg: "unknown organization"},
		{name: "unsorted roles", files: edited(t, func(s *Snapshot) { s.Roles[0], s.Roles[1] = s.Roles[1], s.Roles[0] }), err: publish.ErrInvalid, msg: "roles not sorted"},
		{name: "unsorted permissions", files: edited(t, func(s *Snapshot) {
			p := s.Roles[0].Permissions
			p[0], p[1] = p[1], p[0]
		}), err: publish.ErrInvalid, msg: "not sorted or not unique"},
		{name: "an empty permission", files: edited(t, func(s *Snapshot) { s.Roles[0].Permissions = append([]string{""}, s.Roles[0].Permissions...) }), err: publish.ErrInvalid, msg: "empty element"},

		// Shards.
		{name: "both a document and an index", files: shardedWith(publish.KeySnapshot, doc), err: publish.ErrInvalid, msg: "both"},
		{name: "the index names a missing shard", files: shardedWith(shardKeys[len(shardKeys)-1], nil), err: publish.ErrTorn, msg: "missing"},
		{name: "the index lists a path traversal", files: shardedWith(publish.KeyIndex, indexShards(func(s []any) []any {
			s[0].(map[string]any)["key"] = "../../etc/passwd"
			return s
		})), err: publish.ErrTorn, msg: "missing"},
		{name: "the index lists the index as a shard", files: shardedWith(publish.KeyIndex, indexShards(func(s []any) []any {
			s[0].(map[string]any)["key"] = publish.KeyIndex
			return s
		})), err: publish.ErrInvalid, msg: "holds shard"},
		{name: "the index lists no shards for other content", files: shardedWith(publish.KeyIndex, indexShards(func([]any) []any { return []any{} })), err: publish.ErrTorn, msg: "content hash"},
		{name: "the index lists a shard twice", files: shardedWith(publish.KeyIndex, indexShards(func(s []any) []any { return append(s[:1], s...) })), err: publish.ErrInvalid, msg: "holds shard"},
		{name: "shards swapped", files: shardedWith(publish.KeyIndex, indexShards(func(s []any) []any {
			s[0], s[1] = s[1], s[0]
			return s
		})), err: publish.ErrInvalid, msg: "holds shard"},
		{name: "a shard from another revision", files: shardedWith(shardKeys[0], jsonEdit(t, sharded[shardKeys[0]], func(m map[string]any) { m["revision"] = 5 })), err: publish.ErrTorn, msg: "revision"},
		{name: "a shard of other content", files: shardedWith(shardKeys[0], jsonEdit(t, sharded[shardKeys[0]], func(m map[string]any) { m["hash"] = "sha256:00" })), err: publish.ErrTorn},
		{name: "a shard that is not JSON", files: shardedWith(shardKeys[0], []byte("{{")), err: publish.ErrInvalid, msg: shardKeys[0]},
		{name: "a shard of another format", files: shardedWith(shardKeys[0], jsonEdit(t, sharded[shardKeys[0]], func(m map[string]any) { m["format"] = "x" })), err: publish.ErrInvalid, msg: "format"},
		{name: "an index that is not JSON", files: shardedWith(publish.KeyIndex, []byte(`{"format":`)), err: publish.ErrInvalid, msg: publish.KeyIndex},
		{name: "an index of another format", files: shardedWith(publish.KeyIndex, jsonEdit(t, idx, func(m map[string]any) { m["format"] = "orgrbac.dev/snapshot/v0" })), err: publish.ErrInvalid, msg: "format"},
		{name: "an index at revision MaxInt64", files: shardedWith(publish.KeyIndex, jsonEdit(t, idx, func(m map[string]any) { m["revision"] = json.Number(fmt.Sprint(int64(math.MaxInt64))) })), err: publish.ErrTorn},

		// Valid, but older than what the reader holds.
		{name: "an older revision", files: older, err: ErrStale, readerOnly: true},
	}
}

// TestBadSnapshotsAreRefused runs the catalog.
func TestBadSnapshotsAreRefused(t *testing.T) {
	good := encode(t, videos(6), 0)
	entries := badSnapshots(t)
	if len(entries) < minBadSnapshots {
		t.Errorf("the catalog holds %d inputs, fewer than its floor of %d", len(entries), minBadSnapshots)
	}
	names := map[string]bool{}
	for _, e := range entries {
		if names[e.name] {
			t.Errorf("two entries are named %q", e.name)
		}
		names[e.name] = true
		badSnapshotsRan.Add(1)
		if !t.Run(e.name, func(t *testing.T) { runBadSnapshot(t, good, e) }) {
			badSnapshotsFailed.Add(1)
		}
	}
}

func runBadSnapshot(t *testing.T, good map[string][]byte, e badSnapshot) {
	defer func() {
		if p := recover(); p != nil {
			t.Errorf("panic: %v", p)
		}
	}()
	check := func(who string, err error) {
		t.Helper()
		switch {
		case err == nil:
			t.Errorf("%s accepted it", who)
		case !errors.Is(err, e.err):
			t.Errorf("%s: %v, want %v", who, err, e.err)
		case !strings.Contains(err.Error(), e.msg):
			t.Errorf("%s: %v, want a message with %q", who, err, e.msg)
		}
	}
	dir := t.TempDir()
	if e.layout != nil {
		writeFiles(t, dir, good)
	} else {
		kubeletWrite(t, dir, good)
	}
	src := NewFileSource(dir, FileSourceOptions{})
	if err := src.Reload(); err != nil {
		t.Fatal(err)
	}
	if e.layout != nil {
		if err := os.Remove(filepath.Join(dir, publish.KeySnapshot)); err != nil {
			t.Fatal(err)
		}
		e.layout(t, dir)
	} else {
		kubeletWrite(t, dir, e.files)
	}
	check("FileSource.Reload", src.Reload())
	if !errors.Is(src.Err(), e.err) {
		t.Errorf("Err() = %v, want %v", src.Err(), e.err)
	}
	if src.Revision() != 6 || !src.Allowed("acme", "user_alice", "settings:manage") ||
		src.Allowed("globex", "user_mallory", "settings:manage") || src.Allowed("globex", "user_frank", "settings:manage") {
		t.Errorf("the loaded snapshot did not stay: revision %d", src.Revision())
	}
	if e.files == nil {
		return
	}
	_, err := publish.Decode(e.files)
	if e.readerOnly {
		if err != nil {
			t.Errorf("publish.Decode: %v, want it accepted", err)
		}
		return
	}
	check("publish.Decode", err)
	if _, err2 := Decode(e.files); (err2 == nil) != (err == nil) {
		t.Errorf("authz.Decode: %v, publish.Decode: %v", err2, err)
	}
}
