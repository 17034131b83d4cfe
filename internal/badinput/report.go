// Package badinput reports the counts of the bad-input catalogs (docs/security.md,
// "Bad-input catalog"): the test packages that hold one call Report from their
// TestMain, and `make test` adds the lines up.
package badinput

import (
	"fmt"
	"os"
)

// EnvReport names a file that Report appends its line to, when set: `make test`
// sets it, prints the file once every package has run, and fails when the
// catalogs hold fewer than Total inputs.
const EnvReport = "ORGRBAC_BADINPUT_REPORT"

// Total is the least number of inputs of all the catalogs together.
const Total = 120

// Line is the line Report prints for a catalog of inputs entries, failed of
// which were not refused as expected.
func Line(area string, inputs, failed int) string {
	if failed == 0 {
		return fmt.Sprintf("bad-input catalog (%s): %d inputs, all rejected cleanly", area, inputs)
	}
	return fmt.Sprintf("bad-input catalog (%s): %d inputs, %d not rejected as expected", area, inputs, failed)
}

// Report prints Line on standard output (shown by `go test -v`, and for a
// failed package) and appends it to the file EnvReport names. It does nothing
// when the catalog did not run (inputs == 0, e.g. filtered out by -run).
func Report(area string, inputs, failed int) {
	if inputs == 0 {
		return
	}
	line := Line(area, inputs, failed)
	fmt.Println(line)
	path := os.Getenv(EnvReport)
	if path == "" {
		return
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600) //nolint:gosec // a path the caller chose
	if err != nil {
		fmt.Fprintf(os.Stderr, "bad-input catalog: %v\n", err)
		return
	}
	defer func() { _ = f.Close() }()
	if _, err := fmt.Fprintln(f, line); err != nil {
		fmt.Fprintf(os.Stderr, "bad-input catalog: %v\n", err)
	}
}
