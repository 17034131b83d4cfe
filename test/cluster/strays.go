package cluster

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// StopStrays stops control-plane processes that still run on dataDir although
// the process that started them is gone (it was killed with SIGKILL, or a
// "go test" binary panicked on its -timeout before Stop ran). envtest starts
// etcd and kube-apiserver in their own process groups, so they outlive their
// parent.
//
// A process counts as a stray only if its executable is etcd, kube-apiserver
// or kube-controller-manager and its command line points at this dataDir
// (--data-dir, --cert-dir or --kubeconfig as Start sets them); nothing else is
// touched. Strays get SIGTERM, then SIGKILL after timeout. It returns the pids
// it signalled. It relies on /proc and does nothing where that is missing.
//
// Do not call it while a Cluster on the same dataDir is meant to keep running.
func StopStrays(dataDir string, timeout time.Duration) ([]int, error) {
	dataDir, err := filepath.Abs(dataDir)
	if err != nil {
		return nil, err
	}
	if timeout <= 0 {
		timeout = 15 * time.Second
	}
	// In shutdown order: the API server drains slowly once etcd is gone.
	kinds := []struct{ bin, marker string }{
		{controllerManagerBin, "--kubeconfig=" + filepath.Join(dataDir, kcmKubeconfig)},
		{apiServerBin, "--cert-dir=" + filepath.Join(dataDir, apiServerDir)},
		{etcdBin, "--data-dir=" + filepath.Join(dataDir, etcdDir)},
	}
	var all []int
	var errs []error
	for _, k := range kinds {
		pids := findProcesses(func(argv []string) bool {
			return filepath.Base(argv[0]) == k.bin && slices.Contains(argv[1:], k.marker)
		})
		if len(pids) == 0 {
			continue
		}
		all = append(all, pids...)
		if err := terminate(pids, timeout); err != nil {
			errs = append(errs, fmt.Errorf("stray %s on %s: %w", k.bin, dataDir, err))
		}
	}
	return all, errors.Join(errs...)
}

// terminate sends SIGTERM to pids, waits up to timeout for them to exit and
// then sends SIGKILL.
func terminate(pids []int, timeout time.Duration) error {
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGTERM)
	}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if !anyAlive(pids) {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	time.Sleep(200 * time.Millisecond)
	if anyAlive(pids) {
		return fmt.Errorf("pids %v survive SIGKILL", pids)
	}
	return nil
}

// findProcesses returns the pids (other than our own) whose argv matches.
func findProcesses(match func(argv []string) bool) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	self := os.Getpid()
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		raw, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || len(raw) == 0 {
			continue
		}
		argv := strings.Split(strings.TrimRight(string(raw), "\x00"), "\x00")
		if match(argv) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// anyAlive reports whether any of pids still exists as a non-zombie process.
// Strays were orphaned and are reaped by init (or a subreaper), so a zombie
// is as good as gone.
func anyAlive(pids []int) bool {
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
			continue
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		s := string(stat)
		if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) && (s[i+2] == 'Z' || s[i+2] == 'X') {
			continue
		}
		return true
	}
	return false
}
