package testenv

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
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

// WebhookReceiver is a running webhook receiver of one official SDK:
// test/workos-sdk/receiver.mjs (Node's webhooks.constructEvent) or
// test/workos-go's receive mode (Go's WebhookVerifier). It verifies every
// delivery with its SDK and records the ids of the verified events in order.
type WebhookReceiver struct {
	// SDK names the receiver ("node" or "go").
	SDK string
	// Port is its port on 127.0.0.1.
	Port int
	cmd  *exec.Cmd
}

// ReceiverStats is what a receiver's GET /stats answers.
type ReceiverStats struct {
	SDKVersion string   `json:"sdkVersion"`
	Received   int      `json:"received"`
	Verified   int      `json:"verified"`
	Rejected   int      `json:"rejected"`
	Failed     int      `json:"failed"`
	IDs        []string `json:"ids"`
}

// StartWebhookReceiver starts cmd, a receiver of sdk, with the signing
// secret, answering the first failFirst deliveries with a failure, and waits
// until it prints its port. Stop ends it.
func StartWebhookReceiver(cmd *exec.Cmd, sdk, secret string, failFirst int) (*WebhookReceiver, error) {
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	cmd.Env = append(cmd.Env, "WEBHOOK_SECRET="+secret, fmt.Sprintf("FAIL_FIRST=%d", failFirst), "RECEIVER_PORT=0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the %s receiver: %w", sdk, err)
	}
	r := &WebhookReceiver{SDK: sdk, cmd: cmd}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	var p struct {
		Port int `json:"port"`
	}
	if err == nil {
		err = json.Unmarshal([]byte(line), &p)
	}
	if err != nil || p.Port == 0 {
		r.Stop()
		return nil, fmt.Errorf("the %s receiver printed no port (%q): %w", sdk, line, err)
	}
	r.Port = p.Port
	return r, nil
}

// URL is where deliveries go.
func (r *WebhookReceiver) URL() string {
	return fmt.Sprintf("http://127.0.0.1:%d/hooks/orgrbac", r.Port)
}

// Stats reads the receiver's counts and the ids it verified.
func (r *WebhookReceiver) Stats() (ReceiverStats, error) {
	var s ReceiverStats
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/stats", r.Port)) //nolint:noctx // loopback, short
	if err != nil {
		return s, err
	}
	defer func() { _ = resp.Body.Close() }()
	err = json.NewDecoder(resp.Body).Decode(&s)
	return s, err
}

// Stop ends the receiver.
func (r *WebhookReceiver) Stop() {
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
}
