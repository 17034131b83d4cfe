//go:build !linux

package main

import "syscall"

// childProcAttr puts the manager in its own process group, so that a Ctrl-C in
// the terminal reaches only the benchmark, which then stops it in order.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
