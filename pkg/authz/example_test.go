package authz_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"time"

	"github.com/orgrbac/orgrbac/internal/publish"
	"github.com/orgrbac/orgrbac/pkg/authz"
)

// mountSample writes what a pod sees in its volume: the files of the published
// ConfigMaps (here a tiny environment) in one directory.
func mountSample() string {
	dir, err := os.MkdirTemp("", "orgrbac-example")
	if err != nil {
		log.Fatal(err)
	}
	cms, err := publish.Encode(&authz.Snapshot{
		Revision: 12,
		Roles: []authz.Role{
			{Slug: "admin", Type: publish.RoleTypeEnvironment, Permissions: []string{"settings:manage", "videos:view"}},
			{Slug: "viewer", Type: publish.RoleTypeEnvironment, Permissions: []string{"videos:view"}},
		},
		Organizations: []authz.Organization{{Name: "acme", ExternalID: "org_01ACME", Members: []authz.Member{
			{User: "user_alice", Membership: "acme-alice", Roles: []string{"admin"}},
			{User: "user_dave", Membership: "acme-dave", Roles: []string{"viewer"}},
		}}},
	}, 0)
	if err != nil {
		log.Fatal(err)
	}
	for _, cm := range cms {
		for key, data := range cm.Data {
			if err := os.WriteFile(filepath.Join(dir, key), []byte(data), 0o600); err != nil {
				log.Fatal(err)
			}
		}
	}
	return dir
}

func ExampleFileSource() {
	dir := mountSample() // in a pod: the projected volume's mount path
	defer func() { _ = os.RemoveAll(dir) }()

	src := authz.NewFileSource(dir, authz.FileSourceOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		if err := src.Run(ctx); err != nil {
			log.Print(err)
		}
	}()
	for !src.Ready() {
		time.Sleep(10 * time.Millisecond)
	}

	fmt.Println("revision", src.Revision())
	fmt.Println(src.Allowed("acme", "user_alice", "settings:manage"))
	fmt.Println(src.Allowed("org_01ACME", "user_dave", "videos:view"))
	fmt.Println(src.Allowed("acme", "user_dave", "settings:manage"))
	// Output:
	// revision 12
	// true
	// true
	// false
}

func ExampleMiddleware() {
	dir := mountSample()
	defer func() { _ = os.RemoveAll(dir) }()
	src := authz.NewFileSource(dir, authz.FileSourceOptions{})
	if err := src.Reload(); err != nil {
		log.Fatal(err)
	}

	// identify would read the caller's session; here two headers.
	identify := func(r *http.Request) (org, user string, err error) {
		return r.Header.Get("X-Org"), r.Header.Get("X-User"), nil
	}
	settings := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "settings saved") })
	h := authz.Middleware(src, "settings:manage", identify)(settings)

	for _, user := range []string{"user_alice", "user_dave"} {
		req := httptest.NewRequest(http.MethodPost, "/settings", nil)
		req.Header.Set("X-Org", "acme")
		req.Header.Set("X-User", user)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		fmt.Println(user, rec.Code)
	}
	// Output:
	// user_alice 200
	// user_dave 403
}

func ExampleHTTPSource() {
	// A stand-in for the operator's decision API.
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct{ Organization, User, Permission string }
		_ = json.NewDecoder(r.Body).Decode(&req)
		w.Header().Set(authz.RevisionHeader, "12")
		_ = json.NewEncoder(w).Encode(map[string]bool{"allowed": req.User == "user_alice"})
	}))
	defer api.Close()
	token := filepath.Join(os.TempDir(), "orgrbac-example-token")
	_ = os.WriteFile(token, []byte("a-service-account-token"), 0o600)
	defer func() { _ = os.Remove(token) }()

	src, err := authz.NewHTTPSource(authz.HTTPSourceOptions{
		URL:       api.URL,  // e.g. https://orgrbac-api.orgrbac-system.svc:8082
		TokenFile: token,    // default: the projected token for the API (DefaultTokenFile)
		Namespace: "videos", // default: the caller's own namespace
		// The stand-in serves plain HTTP on loopback; in a cluster the URL is
		// https (with CAFile), and http URLs are refused without this.
		AllowInsecureHTTP: true,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(src.Allowed("acme", "user_alice", "settings:manage"))
	fmt.Println(src.Allowed("acme", "user_dave", "settings:manage"))
	fmt.Println("revision", src.Revision())
	// Output:
	// true
	// false
	// revision 12
}
