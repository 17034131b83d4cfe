//go:build linux

package main

import (
	"os/exec"
	"testing"

	"golang.org/x/sys/unix"
)

func TestPinThreads(t *testing.T) {
	cpus, err := allowedCPUs()
	if err != nil {
		t.Fatal(err)
	}
	if len(cpus) < 2 {
		t.Skipf("pinning to one CPU of several needs two allowed CPUs; this process has %v", cpus)
	}
	last := cpus[len(cpus)-1]
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	pid := cmd.Process.Pid
	affinity := func() unix.CPUSet {
		var s unix.CPUSet
		if err := unix.SchedGetaffinity(pid, &s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	before := affinity()

	restore, err := pinThreads(pid, []int{last})
	if err != nil {
		t.Fatal(err)
	}
	if got := affinity(); got.Count() != 1 || !got.IsSet(last) {
		t.Errorf("pinned to CPU %d: affinity has %d CPUs, CPU %d set %v", last, got.Count(), last, got.IsSet(last))
	}
	restore()
	if got := affinity(); got != before {
		t.Errorf("restored affinity has %d CPUs, want %d", got.Count(), before.Count())
	}
	if _, err := pinThreads(1<<30, []int{0}); err == nil {
		t.Error("pinning a process that does not exist: no error")
	}
}
