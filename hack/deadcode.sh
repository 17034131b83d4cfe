#!/usr/bin/env bash
# Fails when deadcode (golang.org/x/tools/cmd/deadcode, pinned in
# hack/tools/deadcode) finds a function that no command, test or example of the
# main module reaches, the tagged layers (envtest, realnode) included, unless
# hack/deadcode-allow.txt lists it with its reason; or when that list names a
# function deadcode no longer reports.
set -euo pipefail
cd "$(dirname "$0")/.."
found=$(go tool -modfile=hack/tools/deadcode/go.mod deadcode -test -tags envtest,realnode ./... |
	sed -E 's/:[0-9]+:[0-9]+: unreachable func: /: /' | sort)
allowed=$(sed -E -e '/^#/d' -e '/^[[:space:]]*$/d' -e 's/[[:space:]]*#.*//' hack/deadcode-allow.txt | sort)
unexpected=$(comm -23 <(echo "$found") <(echo "$allowed") | sed '/^$/d')
stale=$(comm -13 <(echo "$found") <(echo "$allowed") | sed '/^$/d')
if [ -n "$unexpected" ]; then
	echo "deadcode: unreachable functions (delete them, or list them with a reason in hack/deadcode-allow.txt):" >&2
	echo "$unexpected" >&2
fi
if [ -n "$stale" ]; then
	echo "deadcode: hack/deadcode-allow.txt lists functions deadcode no longer reports; remove them:" >&2
	echo "$stale" >&2
fi
[ -z "$unexpected" ] && [ -z "$stale" ]
