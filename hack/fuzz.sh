#!/usr/bin/env bash
# Runs every native Go fuzz target of the repository (every `func FuzzX(` of a
# _test.go file, in any module) for FUZZTIME each (default 10s), one after the
# other. `make test` runs their seed corpora; this explores beyond them.
# A failure leaves its input in the package's testdata/fuzz/FuzzX directory:
# commit it, and it becomes a seed.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime="${FUZZTIME:-10s}"
start=$SECONDS
n=0
while IFS=: read -r file name; do
	dir=$(dirname "$file")
	# The module holding the package: the nearest go.mod above it.
	mod=$dir
	while [[ ! -f "$mod/go.mod" ]]; do mod=$(dirname "$mod"); done
	pkg="./${dir#"$mod"}"
	pkg="${pkg/#.\/\//./}"
	echo "== $name ($dir) for $fuzztime"
	# -tags envtest: a target in a file of the envtest layer is found too (-run '^$'
	# keeps the suites themselves from running).
	(cd "$mod" && go test -tags envtest -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" "$pkg")
	n=$((n + 1))
done < <(git ls-files -co --exclude-standard -- '*_test.go' | xargs grep -Ho '^func Fuzz[A-Za-z0-9_]*' |
	sed 's/func //' | sort -u)
if [[ $n -eq 0 ]]; then
	echo "no fuzz targets found" >&2
	exit 1
fi
echo "fuzzed $n targets in $((SECONDS - start))s"
