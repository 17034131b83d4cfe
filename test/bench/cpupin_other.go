//go:build !linux

package main

import "errors"

// pinThreads is Linux-only; elsewhere the decision-API phase runs unpinned.
func pinThreads(int, []int) (func(), error) {
	return nil, errors.New("CPU pinning needs Linux")
}

// allowedCPUs is Linux-only, as pinThreads is.
func allowedCPUs() ([]int, error) {
	return nil, errors.New("CPU affinity needs Linux")
}
