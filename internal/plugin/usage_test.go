package plugin

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// TestUsageNamesThePlugin: every command's usage line reads "kubectl orgrbac
// <command>", the way kubectl runs the plugin.
func TestUsageNamesThePlugin(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"members", "--help"}, {"can-i", "--help"}, {"status", "--help"}} {
		var out, errOut bytes.Buffer
		code := Run(context.Background(), args, genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
		if code != 0 {
			t.Fatalf("%v: exit code %d, stderr %q", args, code, errOut.String())
		}
		want := "kubectl orgrbac"
		if len(args) > 1 {
			want += " " + args[0]
		}
		if !strings.Contains(out.String(), "Usage:\n  "+want) {
			t.Errorf("%v: the usage does not start with %q:\n%s", args, want, out.String())
		}
	}
}
