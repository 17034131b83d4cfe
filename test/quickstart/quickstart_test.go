//go:build envtest

package quickstart

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Parts of the output that change from run to run.
var (
	agePattern      = regexp.MustCompile(`\b\d+(s|m|h|d|y)(\d+(s|m|h))? ago\b`)
	revisionPattern = regexp.MustCompile(`\brevision \d+\b`)
)

func normalize(s string) string {
	s = agePattern.ReplaceAllString(s, "<age> ago")
	s = revisionPattern.ReplaceAllString(s, "revision <n>")
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i := range lines {
		lines[i] = strings.TrimRight(lines[i], " ")
	}
	return strings.Join(lines, "\n") + "\n"
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestQuickstart(t *testing.T) {
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		t.Fatal("KUBEBUILDER_ASSETS is not set: run `make test`, which builds the control plane")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(filepath.Join(root, "docs", "quickstart.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := parseBlocks(string(doc))
	if len(blocks) < 5 {
		t.Fatalf("docs/quickstart.md has %d sh blocks; the parser or the document is broken", len(blocks))
	}

	tmp := t.TempDir()
	localDir := filepath.Join(tmp, "local")
	apiPort := freePort(t)
	env := append(os.Environ(),
		"LOCAL_DIR="+localDir,
		// A kubeconfig that names no cluster: make run starts its local one.
		"KUBECONFIG="+filepath.Join(tmp, "no-cluster.kubeconfig"),
		"ORGRBAC_API_PORT="+strconv.Itoa(apiPort),
		"ORGRBAC_PROBE_PORT="+strconv.Itoa(freePort(t)),
		"ORGRBAC_METRICS_PORT="+strconv.Itoa(freePort(t)),
		"ORGRBAC_WEBHOOK_PORT="+strconv.Itoa(freePort(t)),
		// The control plane make test found, not another build.
		"ORGRBAC_CACHE="+filepath.Dir(filepath.Dir(assets)),
	)

	t.Log("make run (hack/run.sh)")
	out := &syncBuffer{}
	run := exec.Command("bash", "hack/run.sh")
	run.Dir, run.Env, run.Stdout, run.Stderr = root, env, out, out
	run.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = run.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-run.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = syscall.Kill(-run.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		down := exec.Command(filepath.Join(root, "bin", "localcluster"), "down", "--dir", localDir)
		if b, err := down.CombinedOutput(); err != nil {
			t.Errorf("stopping the local control plane: %v\n%s", err, b)
		}
		if t.Failed() {
			t.Logf("make run's output:\n%s", out.String())
			for _, name := range []string{"localcluster.log"} {
				b, _ := os.ReadFile(filepath.Join(localDir, name))
				t.Logf("%s:\n%s", name, b)
			}
		}
	})
	deadline := time.After(10 * time.Minute)
	for !strings.Contains(out.String(), "Then follow docs/quickstart.md.") {
		select {
		case <-exited:
			t.Fatalf("make run exited before printing the commands:\n%s", out.String())
		case <-deadline:
			t.Fatalf("make run printed no commands in 10 minutes:\n%s", out.String())
		case <-time.After(500 * time.Millisecond):
		}
	}

	// The printed commands: the export line, then five commands.
	var printed []string
	sc := bufio.NewScanner(strings.NewReader(out.String()[strings.Index(out.String(), "The manager is ready"):]))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		if line, ok := strings.CutPrefix(sc.Text(), "    "); ok && strings.TrimSpace(line) != "" {
			printed = append(printed, line)
		}
	}
	if len(printed) != 6 || !strings.HasPrefix(printed[0], "export KUBECONFIG=") {
		t.Fatalf("make run printed %d command lines, want an export line and five commands:\n%s", len(printed), strings.Join(printed, "\n"))
	}
	prelude := printed[0]
	shell := func(t *testing.T, script string) (string, string, error) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "bash", "-c", prelude+"\nset -eo pipefail\n"+script)
		cmd.Dir, cmd.Env = root, env
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		return stdout.String(), stderr.String(), err
	}

	t.Run("printed commands", func(t *testing.T) {
		// can-i, a check, a minted access token, the public key set, the SDK's check.
		for i, want := range []string{"yes\n", `"allowed":true`, `"token_type":"Bearer"`, `"alg":"RS256"`, `{"authorized":true}`} {
			stdout, stderr, err := shell(t, printed[i+1])
			if err != nil || !strings.Contains(stdout, want) {
				t.Errorf("printed command %d\n  %s\nfailed (%v) or did not print %q:\nstdout: %s\nstderr: %s", i+1, printed[i+1], err, want, stdout, stderr)
			}
		}
		for _, insecure := range []string{" -k ", "--insecure", "NODE_TLS_REJECT_UNAUTHORIZED", "rejectUnauthorized"} {
			if strings.Contains(strings.Join(printed[2:], "\n"), insecure) {
				t.Errorf("a printed command skips TLS verification (%s)", insecure)
			}
		}
		// The deny, with its exit code.
		_, _, err := shell(t, "kubectl orgrbac can-i acme user_dave videos:delete -n videos")
		if code := exitCode(err); code != 1 {
			t.Errorf("kubectl orgrbac can-i acme user_dave videos:delete exited %d, want 1", code)
		}
	})

	t.Run("docs/quickstart.md", func(t *testing.T) {
		// The document's commands name the defaults; this run uses its own folder and port.
		replacer := strings.NewReplacer(".local/", localDir+"/", "127.0.0.1:8082", fmt.Sprintf("127.0.0.1:%d", apiPort))
		for _, b := range blocks {
			script := replacer.Replace(b.script)
			stdout, stderr, err := shell(t, script)
			if err != nil {
				t.Fatalf("docs/quickstart.md:%d failed: %v\n%s\nstdout: %s\nstderr: %s", b.line, err, script, stdout, stderr)
			}
			if b.check && normalize(stdout) != normalize(b.want) {
				t.Errorf("docs/quickstart.md:%d printed\n%s\nwant (the text block after it)\n%s\nstderr: %s", b.line, stdout, b.want, stderr)
			}
		}
	})
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}
