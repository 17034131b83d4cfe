package authz

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/orgrbac/orgrbac/internal/publish"
)

func loaded(t *testing.T, s *Snapshot, limit int) *FileSource {
	t.Helper()
	dir := t.TempDir()
	writeFiles(t, dir, encode(t, s, limit))
	src := NewFileSource(dir, FileSourceOptions{})
	if err := src.Reload(); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	return src
}

func TestAllowed(t *testing.T) {
	for _, limit := range []int{0, 500} { // one ConfigMap, shards
		src := loaded(t, videos(3), limit)
		for _, tc := range []struct {
			org, user, permission string
			want                  bool
		}{
			{"acme", "user_alice", "settings:manage", true},
			{"org_01ACME", "user_alice", "settings:manage", true}, // by external id
			{"acme", "user_alice", "videos:edit", false},
			{"acme", "user_bob", "videos:edit", true},  // organization role
			{"acme", "user_bob", "users:invite", true}, // second role
			{"acme", "user_bob", "settings:manage", false},
			{"globex", "user_frank", "videos:view", true},
			{"globex", "user_alice", "videos:view", false}, // not a member there
			{"globex", "user_frank", "videos:edit", false}, // held by another org's role only
			{"initech", "user_frank", "videos:view", false},
			{"acme", "user_zoe", "videos:view", false},
			{"acme", "user_alice", "nope", false},
			{"", "", "", false},
		} {
			if got := src.Allowed(tc.org, tc.user, tc.permission); got != tc.want {
				t.Errorf("limit %d: Allowed(%q, %q, %q) = %v, want %v", limit, tc.org, tc.user, tc.permission, got, tc.want)
			}
			got, err := src.Check(context.Background(), tc.org, tc.user, tc.permission)
			if err != nil || got != tc.want {
				t.Errorf("limit %d: Check(%q, %q, %q) = %v, %v, want %v", limit, tc.org, tc.user, tc.permission, got, err, tc.want)
			}
		}
		if src.Revision() != 3 || !src.Ready() || src.Err() != nil || len(src.Snapshot().Organizations) != 2 {
			t.Errorf("limit %d: revision %d, ready %v, err %v", limit, src.Revision(), src.Ready(), src.Err())
		}
	}
}

// An organization's externalID equal to another organization's name (security
// review M2) is a snapshot no publisher writes: encoding it fails, and a forged
// one is refused, so the organization named acme keeps answering for "acme".
func TestOrganizationNameBeatsExternalID(t *testing.T) {
	s := videos(1)
	s.Organizations[1].ExternalID = "acme" // globex's external id is acme's name
	if _, err := publish.Encode(s, 0); !errors.Is(err, publish.ErrInvalid) {
		t.Fatalf("encoding a snapshot whose ids collide: %v, want ErrInvalid", err)
	}
	dir := t.TempDir()
	kubeletWrite(t, dir, encode(t, videos(1), 0))
	src := NewFileSource(dir, FileSourceOptions{})
	if err := src.Reload(); err != nil {
		t.Fatal(err)
	}
	kubeletWrite(t, dir, forgeExternalID(t, videos(2), "globex", "acme"))
	if err := src.Reload(); !errors.Is(err, publish.ErrInvalid) {
		t.Fatalf("Reload of a snapshot whose ids collide: %v, want ErrInvalid", err)
	}
	if !src.Allowed("acme", "user_alice", "settings:manage") || src.Allowed("acme", "user_frank", "videos:view") {
		t.Error("the organization named acme must win over the one whose external id is acme")
	}
}

func TestAllowedDoesNotAllocate(t *testing.T) {
	src := loaded(t, videos(1), 0)
	queries := [][3]string{
		{"acme", "user_alice", "settings:manage"},
		{"org_01ACME", "user_bob", "videos:edit"},
		{"acme", "user_bob", "settings:manage"},
		{"nowhere", "user_bob", "videos:edit"},
	}
	for _, q := range queries {
		if n := testing.AllocsPerRun(1000, func() { src.Allowed(q[0], q[1], q[2]) }); n != 0 {
			t.Errorf("Allowed%v allocates %.1f times per call", q, n)
		}
	}
}

func TestNotLoaded(t *testing.T) {
	src := NewFileSource(t.TempDir(), FileSourceOptions{})
	if _, err := src.Check(context.Background(), "acme", "user_alice", "videos:view"); !errors.Is(err, ErrNotLoaded) {
		t.Errorf("Check before a load: got %v, want ErrNotLoaded", err)
	}
	if src.Allowed("acme", "user_alice", "videos:view") || src.Ready() || src.Revision() != 0 || src.Snapshot() != nil {
		t.Error("an empty source must deny and report nothing loaded")
	}
	if err := src.Reload(); !errors.Is(err, publish.ErrNoSnapshot) || !errors.Is(src.Err(), publish.ErrNoSnapshot) {
		t.Errorf("Reload of an empty directory: got %v, want ErrNoSnapshot", err)
	}
}

func TestReloadKeepsTheLastGoodSnapshot(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, encode(t, videos(5), 500))
	src := NewFileSource(dir, FileSourceOptions{})
	if err := src.Reload(); err != nil {
		t.Fatal(err)
	}

	// A torn read: one shard of the next revision, in which alice lost admin.
	next := videos(6)
	next.Organizations[0].Members[0].Roles = []string{"member"}
	newer := encode(t, next, 500)
	writeFiles(t, dir, map[string][]byte{publish.ShardKey(2): newer[publish.ShardKey(2)]})
	if err := src.Reload(); !errors.Is(err, publish.ErrTorn) {
		t.Fatalf("Reload of a torn snapshot: got %v, want ErrTorn", err)
	}
	if src.Revision() != 5 || !src.Allowed("acme", "user_alice", "settings:manage") || !errors.Is(src.Err(), publish.ErrTorn) {
		t.Errorf("after a torn read: revision %d, err %v; want the last good snapshot", src.Revision(), src.Err())
	}

	// The rest of the update arrives.
	writeFiles(t, dir, newer)
	if err := src.Reload(); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	if src.Revision() != 6 || src.Allowed("acme", "user_alice", "settings:manage") || src.Err() != nil {
		t.Errorf("after the update: revision %d, err %v", src.Revision(), src.Err())
	}

	// An older revision never replaces a newer one.
	for _, f := range []string{publish.KeyIndex, publish.ShardKey(1), publish.ShardKey(2), publish.ShardKey(3)} {
		_ = os.Remove(filepath.Join(dir, f))
	}
	writeFiles(t, dir, encode(t, videos(4), 0))
	if err := src.Reload(); !errors.Is(err, ErrStale) {
		t.Errorf("Reload of an older revision: got %v, want ErrStale", err)
	}
	if src.Revision() != 6 {
		t.Errorf("revision %d, want 6 kept", src.Revision())
	}

	// Garbage is an error, not a crash, and changes nothing.
	writeFiles(t, dir, map[string][]byte{publish.KeySnapshot: []byte("{not json")})
	if err := src.Reload(); !errors.Is(err, publish.ErrInvalid) || src.Revision() != 6 {
		t.Errorf("Reload of garbage: got %v at revision %d", err, src.Revision())
	}
}

func TestRunFollowsKubeletUpdates(t *testing.T) {
	dir := t.TempDir()
	kubeletWrite(t, dir, encode(t, videos(1), 0))

	var mu sync.Mutex
	reloads := 0
	src := NewFileSource(dir, FileSourceOptions{Debounce: 20 * time.Millisecond, Resync: -1,
		OnReload: func(int64, error) { mu.Lock(); reloads++; mu.Unlock() }})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	eventually(t, "the first load", func() bool { return src.Revision() == 1 })

	// A new revision, now sharded over four files: ..data swaps once.
	next := videos(2)
	next.Organizations[1].Members[0].Roles = []string{"member"}
	next.Organizations[1].Members = append(next.Organizations[1].Members,
		Member{User: "user_grace", Membership: "globex-grace", Roles: []string{"admin"}})
	kubeletWrite(t, dir, encode(t, next, 500))
	eventually(t, "revision 2", func() bool { return src.Revision() == 2 })
	if !src.Allowed("globex", "user_grace", "settings:manage") || src.Err() != nil {
		t.Errorf("after the swap: grace denied, err %v", src.Err())
	}

	// Back to one file; the shard links disappear.
	kubeletWrite(t, dir, encode(t, videos(3), 0))
	eventually(t, "revision 3", func() bool { return src.Revision() == 3 })
	if src.Allowed("globex", "user_grace", "settings:manage") {
		t.Error("grace is gone at revision 3")
	}

	// A bad update keeps revision 3 and reports the error.
	kubeletWrite(t, dir, map[string][]byte{publish.KeySnapshot: []byte(`{"format":"orgrbac.dev/snapshot/v1","revision":4,"hash":"sha256:0"}`)})
	eventually(t, "the error", func() bool { return errors.Is(src.Err(), publish.ErrTorn) })
	if src.Revision() != 3 || !src.Allowed("acme", "user_alice", "settings:manage") {
		t.Errorf("after a bad update: revision %d", src.Revision())
	}
	mu.Lock()
	defer mu.Unlock()
	if reloads > 12 {
		t.Errorf("%d reloads for 4 updates: the debounce does not coalesce", reloads)
	}
}

func TestRunFailsOnAMissingDirectory(t *testing.T) {
	src := NewFileSource(filepath.Join(t.TempDir(), "missing"), FileSourceOptions{})
	if err := src.Run(context.Background()); err == nil {
		t.Error("Run on a missing directory succeeded")
	}
}
