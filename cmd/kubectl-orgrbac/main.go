// Command kubectl-orgrbac is the kubectl plugin for orgrbac ("kubectl orgrbac"):
// can-i, who-can, explain, preview-delete, members and status, answered from the orgrbac
// objects you may read, with your own kubeconfig and credentials.
//
// Install it with:
//
//	go install github.com/orgrbac/orgrbac/cmd/kubectl-orgrbac@latest
package main

import (
	"context"
	"os"
	"os/signal"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/orgrbac/orgrbac/internal/plugin"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := plugin.Run(ctx, os.Args[1:], genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr})
	stop()
	os.Exit(code)
}
