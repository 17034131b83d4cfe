// Package plugin is kubectl orgrbac, the kubectl plugin for orgrbac: it answers
// "can this user do this?", "who can?", "why?", "what would deleting this role
// change?", "is orgrbac healthy?" and "how many members hold each role?" from
// the objects the caller may read, with the caller's own credentials
// (kubeconfig, context, namespace as kubectl takes them), and decides with the
// same functions as the decision API (internal/resolve).
package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/orgrbac/orgrbac/internal/manageropts"
)

// Exit codes of kubectl orgrbac.
const (
	// ExitOK: the command succeeded (can-i: yes).
	ExitOK = 0
	// ExitNo: can-i answered no.
	ExitNo = 1
	// ExitError: the command failed (bad arguments, the cluster could not be
	// read); for can-i too, so that a script never takes an error for a "no".
	ExitError = 2
)

// errNo is returned by can-i when the answer is no.
var errNo = errors.New("no")

// options are the settings every command shares.
type options struct {
	config  *genericclioptions.ConfigFlags
	streams genericiooptions.IOStreams
	output  string
	// now is the clock for ages.
	now func() time.Time
}

// NewCommand returns the kubectl orgrbac command.
func NewCommand(streams genericiooptions.IOStreams) *cobra.Command {
	o := &options{config: genericclioptions.NewConfigFlags(true), streams: streams, now: time.Now}
	cmd := &cobra.Command{
		// kubectl runs the binary kubectl-orgrbac as "kubectl orgrbac": the
		// display name makes usage lines read "kubectl orgrbac members", where
		// a Use of two words would give "kubectl members".
		Use:         "kubectl-orgrbac",
		Annotations: map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl orgrbac"},
		Short:       "Ask orgrbac who may do what, and why",
		Long: `kubectl orgrbac answers from the orgrbac objects of an environment (a namespace),
with your own credentials: you need get/list on the orgrbac.dev kinds there.
Decisions follow the decision API's rule exactly.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	cmd.SetOut(streams.Out)
	cmd.SetErr(streams.ErrOut)
	o.config.AddFlags(cmd.PersistentFlags())
	cmd.AddCommand(o.canICommand(), o.whoCanCommand(), o.explainCommand(), o.previewDeleteCommand(), o.statusCommand(),
		o.membersCommand())
	return cmd
}

// Run runs kubectl orgrbac with args and returns its exit code.
func Run(ctx context.Context, args []string, streams genericiooptions.IOStreams) int {
	cmd := NewCommand(streams)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(ctx)
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, errNo):
		return ExitNo
	default:
		_, _ = fmt.Fprintln(streams.ErrOut, "error:", err)
		return ExitError
	}
}

// addOutputFlag adds -o json|yaml.
func (o *options) addOutputFlag(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&o.output, "output", "o", "", "Output format: json or yaml (default: text)")
}

// client returns a client with the user's credentials and the namespace in effect
// (-n, else the context's namespace, else "default").
func (o *options) client() (client.Client, string, error) {
	cfg, err := o.config.ToRESTConfig()
	if err != nil {
		return nil, "", err
	}
	ns, _, err := o.config.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return nil, "", err
	}
	c, err := client.New(cfg, client.Options{Scheme: manageropts.Scheme()})
	if err != nil {
		return nil, "", err
	}
	return c, ns, nil
}

// structured writes v as JSON or YAML when -o asks for it, and reports whether it
// did.
func (o *options) structured(v any) (bool, error) {
	switch o.output {
	case "":
		return false, nil
	case "json":
		enc := json.NewEncoder(o.streams.Out)
		enc.SetIndent("", "    ")
		enc.SetEscapeHTML(false)
		return true, enc.Encode(v)
	case "yaml":
		data, err := yaml.Marshal(v)
		if err != nil {
			return true, err
		}
		_, err = o.streams.Out.Write(data)
		return true, err
	default:
		return true, fmt.Errorf("unsupported output format %q: use json or yaml", o.output)
	}
}

// printf writes to the command's output.
func (o *options) printf(format string, args ...any) {
	_, _ = fmt.Fprintf(o.streams.Out, format, args...)
}

// out is the command's output.
func (o *options) out() io.Writer { return o.streams.Out }
