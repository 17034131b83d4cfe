package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat; it is
// 100 on every Linux architecture Go supports.
const clockTicks = 100

// cpuSeconds returns the user+system CPU time a process has used so far.
func cpuSeconds(pid int) (float64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("reading process CPU time: %w", err)
	}
	return parseStatCPU(string(data))
}

// parseStatCPU reads utime+stime from /proc/<pid>/stat text. The command name
// (field 2) may contain spaces, so fields are counted after its closing ')'.
func parseStatCPU(stat string) (float64, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("malformed stat %q", stat)
	}
	// After ')': field 3 (state) is index 0, so utime (field 14) is index 11.
	f := strings.Fields(stat[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("short stat %q", stat)
	}
	utime, err := strconv.ParseInt(f[11], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("utime: %w", err)
	}
	stime, err := strconv.ParseInt(f[12], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("stime: %w", err)
	}
	return float64(utime+stime) / clockTicks, nil
}

// findProcess returns the pid of a process whose first argument is exe and whose
// command line mentions marker (the cluster's data folder), or 0.
func findProcess(exe, marker string) int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := bytes.Split(cmdline, []byte{0})
		if len(args) > 0 && string(args[0]) == exe && bytes.Contains(cmdline, []byte(marker)) {
			return pid
		}
	}
	return 0
}

// cpuMeter reads the CPU time of the processes that share the machine during a
// phase: the manager, kube-apiserver, etcd and the benchmark itself.
type cpuMeter struct {
	pids map[string]int
}

// read returns the CPU seconds used so far by each known process.
func (c *cpuMeter) read() map[string]float64 {
	out := map[string]float64{}
	for name, pid := range c.pids {
		if pid == 0 {
			continue
		}
		if s, err := cpuSeconds(pid); err == nil {
			out[name] = s
		}
	}
	return out
}

// machine describes the host the benchmark ran on.
type machine struct {
	CPUs       int     `json:"cpus"`
	CPUModel   string  `json:"cpuModel"`
	MemoryGiB  float64 `json:"memoryGiB"`
	Kernel     string  `json:"kernel"`
	GoVersion  string  `json:"goVersion"`
	Kubernetes string  `json:"kubernetes"`
	LoadAvg    string  `json:"loadAverageAtStart"`
}

func machineFacts(ctx context.Context, binDir string) machine {
	m := machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version()}
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(data)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		for line := range strings.Lines(string(data)) {
			if k, v, ok := strings.Cut(line, ":"); ok && k == "MemTotal" {
				if f := strings.Fields(v); len(f) > 0 {
					kb, _ := strconv.ParseFloat(f[0], 64)
					m.MemoryGiB = float64(int(kb/1024/1024*10)) / 10
				}
				break
			}
		}
	}
	if data, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(data))
	}
	if data, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(data)); len(f) >= 3 {
			m.LoadAvg = strings.Join(f[:3], " ")
		}
	}
	out, err := exec.CommandContext(ctx, filepath.Join(binDir, "kube-apiserver"), "--version").Output()
	if err == nil {
		m.Kubernetes = strings.TrimSpace(string(out))
	}
	return m
}

// runQueueWait returns how long the threads of a process have together been
// runnable but waiting for a CPU: the second field of each
// /proc/<pid>/task/<tid>/schedstat (nanoseconds). Time waited by threads that
// have exited is not counted.
func runQueueWait(pid int) (time.Duration, error) {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return 0, fmt.Errorf("listing threads: %w", err)
	}
	var total time.Duration
	for _, t := range tasks {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/schedstat", pid, t.Name()))
		if err != nil {
			continue // the thread exited
		}
		d, err := parseSchedstatWait(string(data))
		if err != nil {
			return 0, err
		}
		total += d
	}
	return total, nil
}

// parseSchedstatWait reads the run-queue wait (the second of three fields:
// time on a CPU, time waiting on a run queue, timeslices) of schedstat text.
func parseSchedstatWait(s string) (time.Duration, error) {
	f := strings.Fields(s)
	if len(f) < 3 {
		return 0, fmt.Errorf("malformed schedstat %q", s)
	}
	ns, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("schedstat wait: %w", err)
	}
	return time.Duration(ns), nil
}
