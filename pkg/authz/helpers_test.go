package authz

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/orgrbac/orgrbac/internal/publish"
)

// videos is the sample environment: acme (external id org_01ACME) with alice
// (admin), bob (his organization's producer role, then member); globex with
// frank (member).
func videos(rev int64) *Snapshot {
	return &Snapshot{
		Revision: rev,
		Roles: []Role{
			{Slug: "admin", Type: publish.RoleTypeEnvironment, Permissions: []string{"settings:manage", "videos:create", "videos:view"}},
			{Slug: "member", Type: publish.RoleTypeEnvironment, Permissions: []string{"users:invite", "videos:view"}},
			{Slug: "org-producer", Type: publish.RoleTypeOrganization, Organization: "acme", Permissions: []string{"videos:create", "videos:edit"}},
		},
		Organizations: []Organization{
			{Name: "acme", ExternalID: "org_01ACME", Members: []Member{
				{User: "user_alice", Membership: "acme-alice", Roles: []string{"admin"}},
				{User: "user_bob", Membership: "acme-bob", Roles: []string{"org-producer", "member"}},
			}},
			{Name: "globex", Members: []Member{{User: "user_frank", Membership: "globex-frank", Roles: []string{"member"}}}},
		},
	}
}

// encode returns the files of s's ConfigMaps, sharded at limit bytes.
func encode(t testing.TB, s *Snapshot, limit int) map[string][]byte {
	t.Helper()
	cms, err := publish.Encode(s, limit)
	if err != nil {
		t.Fatalf("encoding: %v", err)
	}
	files := map[string][]byte{}
	for _, cm := range cms {
		for k, v := range cm.Data {
			files[k] = []byte(v)
		}
	}
	return files
}

// writeFiles writes files into dir, as plain files.
func writeFiles(t testing.TB, dir string, files map[string][]byte) {
	t.Helper()
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// kubeletWrite updates dir the way kubelet's atomic writer updates a ConfigMap
// volume: the files go into a new hidden timestamped directory, a ..data_tmp
// link to it is renamed over ..data, each file name is a link into ..data, and
// the previous directory and the links of files that are gone are removed.
func kubeletWrite(t testing.TB, dir string, files map[string][]byte) {
	t.Helper()
	ts := fmt.Sprintf("..%d", time.Now().UnixNano())
	if err := os.Mkdir(filepath.Join(dir, ts), 0o700); err != nil {
		t.Fatal(err)
	}
	writeFiles(t, filepath.Join(dir, ts), files)
	old, _ := os.Readlink(filepath.Join(dir, "..data"))
	if err := os.Symlink(ts, filepath.Join(dir, "..data_tmp")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if name := e.Name(); name[0] != '.' && files[name] == nil {
			if err := os.Remove(filepath.Join(dir, name)); err != nil {
				t.Fatal(err)
			}
		}
	}
	for name := range files {
		if _, err := os.Lstat(filepath.Join(dir, name)); err != nil {
			if err := os.Symlink(filepath.Join("..data", name), filepath.Join(dir, name)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if old != "" {
		if err := os.RemoveAll(filepath.Join(dir, old)); err != nil {
			t.Fatal(err)
		}
	}
}

// eventually polls cond for up to 5s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
