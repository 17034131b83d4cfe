//go:build linux

package main

import (
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// pinThreads restricts every thread of process pid to cpus; threads the
// process creates later inherit the restriction from the thread that creates
// them. restore gives every thread the affinity the process's main thread had
// before.
func pinThreads(pid int, cpus []int) (restore func(), err error) {
	var before unix.CPUSet
	if err := unix.SchedGetaffinity(pid, &before); err != nil {
		return nil, fmt.Errorf("reading the CPU affinity of %d: %w", pid, err)
	}
	var want unix.CPUSet
	for _, c := range cpus {
		want.Set(c)
	}
	if err := setThreads(pid, &want); err != nil {
		return nil, err
	}
	return func() { _ = setThreads(pid, &before) }, nil
}

// setThreads sets the affinity of every current thread of pid.
func setThreads(pid int, set *unix.CPUSet) error {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return fmt.Errorf("listing the threads of %d: %w", pid, err)
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		// A thread that ended meanwhile is no error.
		if err := unix.SchedSetaffinity(tid, set); err != nil && err != unix.ESRCH {
			return fmt.Errorf("setting the CPU affinity of thread %d of %d: %w", tid, pid, err)
		}
	}
	return nil
}

// allowedCPUs returns the CPUs this process may run on, in order.
func allowedCPUs() ([]int, error) {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return nil, fmt.Errorf("reading the CPU affinity: %w", err)
	}
	var cpus []int
	for c := 0; len(cpus) < set.Count(); c++ {
		if set.IsSet(c) {
			cpus = append(cpus, c)
		}
	}
	return cpus, nil
}
