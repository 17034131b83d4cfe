package main

import (
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/go-logr/logr"
)

// defaultGCPercent is the manager's GOGC when the environment sets none. Most of
// the heap is the informer cache, which lives as long as the process; Go's
// default of 100 lets the heap grow to twice that before collecting. 50 keeps
// RSS near the live data for a few percent more CPU (docs/benchmarks.md).
const defaultGCPercent = 50

// memoryLimitShare is the part of the container's memory limit given to Go as
// its soft limit (GOMEMLIMIT), when the environment sets none: the collector
// works harder near the limit instead of the kernel killing the container.
const memoryLimitShare = 0.9

// cgroupMemoryFiles hold the container's memory limit: cgroup v2, then v1.
var cgroupMemoryFiles = []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"}

// tuneMemory applies the garbage collector's settings that the environment
// (GOGC, GOMEMLIMIT) leaves unset and logs the result.
func tuneMemory(log logr.Logger) {
	gc, limit := memorySettings(os.Getenv, containerMemoryLimit())
	if gc > 0 {
		debug.SetGCPercent(gc)
	}
	if limit > 0 {
		debug.SetMemoryLimit(limit)
	}
	log.Info("Memory settings", "gcPercent", currentGCPercent(), "memoryLimitBytes", debug.SetMemoryLimit(-1))
}

// memorySettings returns the GC percent and soft memory limit to set, 0 for
// each that the environment sets itself. containerLimit is the container's
// memory limit in bytes, 0 when there is none.
func memorySettings(getenv func(string) string, containerLimit int64) (gcPercent int, memoryLimit int64) {
	if getenv("GOGC") == "" {
		gcPercent = defaultGCPercent
	}
	if getenv("GOMEMLIMIT") == "" && containerLimit > 0 {
		memoryLimit = int64(float64(containerLimit) * memoryLimitShare)
	}
	return gcPercent, memoryLimit
}

// containerMemoryLimit reads the cgroup memory limit; 0 when there is none or
// it cannot be read.
func containerMemoryLimit() int64 {
	for _, f := range cgroupMemoryFiles {
		if b, err := os.ReadFile(f); err == nil { //nolint:gosec // fixed cgroup paths
			return parseCgroupLimit(string(b))
		}
	}
	return 0
}

// parseCgroupLimit parses a cgroup memory limit file: a byte count, or "max"
// (v2) or a value near MaxInt64 (v1) for none, which it returns as 0.
func parseCgroupLimit(s string) int64 {
	s = strings.TrimSpace(s)
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n >= math.MaxInt64/2 {
		return 0
	}
	return n
}

// currentGCPercent reads GOGC's current value without changing it.
func currentGCPercent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

// releaseMemory returns a function that collects and returns every freed page
// to the kernel at once, and logs how much RSS the heap held before and after.
// The controllers call it once a burst of membership changes is over.
func releaseMemory(log logr.Logger) func() {
	return func() {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		debug.FreeOSMemory()
		runtime.ReadMemStats(&after)
		log.Info("Returned the memory freed by a burst of membership changes to the kernel",
			"heapHeldBytesBefore", before.HeapSys-before.HeapReleased, "heapHeldBytesAfter", after.HeapSys-after.HeapReleased,
			"heapLiveBytes", after.HeapAlloc)
	}
}
