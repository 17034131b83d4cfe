//go:build !linux

package cluster

import "syscall"

// childProcAttr puts kube-controller-manager in its own process group, as
// envtest does with etcd and kube-apiserver, so that a Ctrl-C in the terminal
// reaches only us and we stop the components in order.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
