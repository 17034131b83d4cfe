//go:build linux

package main

import (
	"os/exec"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

func TestPinThreads(t *testing.T) {
	if runtime.NumCPU() < 2 {
		t.Skip("pinning to one CPU of several needs two CPUs; this machine has one")
	}
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

	restore, err := pinThreads(pid, []int{1})
	if err != nil {
		t.Fatal(err)
	}
	if got := affinity(); got.Count() != 1 || !got.IsSet(1) {
		t.Errorf("pinned to CPU 1: affinity has %d CPUs, CPU 1 set %v", got.Count(), got.IsSet(1))
	}
	restore()
	if got := affinity(); got != before {
		t.Errorf("restored affinity has %d CPUs, want %d", got.Count(), before.Count())
	}
	if _, err := pinThreads(1<<30, []int{0}); err == nil {
		t.Error("pinning a process that does not exist: no error")
	}
}
