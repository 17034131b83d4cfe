//go:build linux

// Command pause is the sandbox ("pause") container of a pod for containerd: it
// holds the pod's namespaces open, doing nothing until SIGINT or SIGTERM, then
// exits 0. As the sandbox's PID 1 it reaps any child orphaned into it on
// SIGCHLD, so no zombie stays behind.
package main

import (
	"errors"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	signals := make(chan os.Signal, 8)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for sig := range signals {
		if sig == syscall.SIGCHLD {
			reap()
			continue
		}
		os.Exit(0)
	}
}

// reap collects every child that has exited; SIGCHLDs coalesce, so one
// signal may stand for several children.
func reap() {
	for {
		var status syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if pid <= 0 || err != nil {
			return
		}
	}
}
