package testenv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

// The official WorkOS SDKs the suites drive: @workos-inc/node, pinned in
// test/workos-sdk/package.json and installed from npm into the cache, and
// github.com/workos/workos-go, pinned by test/workos-go's own module.

// CacheRoot is where orgrbac keeps downloads outside the clone, as
// hack/controlplane.sh: $ORGRBAC_CACHE, else $XDG_CACHE_HOME/orgrbac, else
// ~/.cache/orgrbac.
func CacheRoot() (string, error) {
	if d := os.Getenv("ORGRBAC_CACHE"); d != "" {
		return d, nil
	}
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "orgrbac"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, ".cache", "orgrbac"), nil
}

var exactVersion = regexp.MustCompile(`^\d+\.\d+\.\d+$`)

// NPMPin returns the exact version test/workos-sdk/package.json pins for the
// npm package name.
func NPMPin(name string) (string, error) {
	root, err := Root()
	if err != nil {
		return "", err
	}
	data, err := os.ReadFile(filepath.Clean(filepath.Join(root, "test", "workos-sdk", "package.json")))
	if err != nil {
		return "", err
	}
	var pkg struct {
		Dependencies map[string]string `json:"dependencies"`
	}
	if err := json.Unmarshal(data, &pkg); err != nil {
		return "", fmt.Errorf("test/workos-sdk/package.json: %w", err)
	}
	v := pkg.Dependencies[name]
	if !exactVersion.MatchString(v) {
		return "", fmt.Errorf("test/workos-sdk/package.json pins %s at %q, not an exact version", name, v)
	}
	return v, nil
}

// InstallNPM installs the npm package name at version into a prefix of its
// own in the cache (once) and returns the prefix. A missing node or npm, or
// an unreachable registry, is an error: the tests that need the SDK fail, they
// never skip.
func InstallNPM(ctx context.Context, name, version string) (string, error) {
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			return "", fmt.Errorf("the WorkOS SDK tests need %s (Node.js 20.15 or later) on the PATH: %w", tool, err)
		}
	}
	root, err := CacheRoot()
	if err != nil {
		return "", err
	}
	dirName := strings.NewReplacer("@workos-inc/node", "workos-node", "@", "", "/", "-").Replace(name) + "-" + version
	dir := filepath.Join(root, "npm", dirName)
	installed := func() bool {
		data, err := os.ReadFile(filepath.Clean(filepath.Join(dir, "node_modules", filepath.FromSlash(name), "package.json")))
		var pkg struct {
			Version string `json:"version"`
		}
		return err == nil && json.Unmarshal(data, &pkg) == nil && pkg.Version == version
	}
	if installed() {
		return dir, nil
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o750); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".install-")
	if err != nil {
		return "", err
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	out, err := exec.CommandContext(ctx, "npm", "install", "--prefix", tmp, "--no-audit", "--no-fund",
		"--loglevel=error", name+"@"+version).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("installing %s@%s from npm failed; the tests need the npm registry (or a filled cache in %s): %w\n%s",
			name, version, dir, err, out)
	}
	// Another run may have installed it meanwhile: either copy is good.
	if err := os.Rename(tmp, dir); err != nil && !errors.Is(err, fs.ErrExist) && !installed() {
		return "", fmt.Errorf("moving %s into %s: %w", name, dir, err)
	}
	if !installed() {
		return "", fmt.Errorf("%s@%s is not in %s after its installation", name, version, dir)
	}
	return dir, nil
}

// BuildWorkOSGo builds test/workos-go, the Go SDK's driver and webhook
// receiver (its own module: the operator does not depend on the SDK), into
// bin. The module proxy serves workos-go on the first build; the module
// cache keeps it.
func BuildWorkOSGo(ctx context.Context, bin string) error {
	root, err := Root()
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	cmd.Dir = filepath.Join(root, "test", "workos-go")
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=readonly -buildvcs=false", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building test/workos-go: %w\n%s", err, out)
	}
	return nil
}
