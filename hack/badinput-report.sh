#!/usr/bin/env bash
# Prints the counts the bad-input catalogs reported during `make test`
# (internal/badinput), and fails when a catalog is missing, one of its inputs
# was not refused as expected, or all of them hold fewer than 120 inputs.
set -euo pipefail
report=$1
areas=(api crds snapshots)
minimum=120
total=0
status=0
for area in "${areas[@]}"; do
	line=$(grep -F "bad-input catalog ($area):" "$report" || true)
	if [[ -z $line ]]; then
		echo "bad-input catalog ($area): did not run" >&2
		status=1
		continue
	fi
	echo "$line"
	n=$(sed -E 's/.*: ([0-9]+) inputs.*/\1/' <<<"$line")
	total=$((total + n))
	if [[ $line != *"all rejected cleanly"* ]]; then
		status=1
	fi
done
echo "bad-input catalog (total): $total inputs"
if ((total < minimum)); then
	echo "bad-input catalog: $total inputs, fewer than $minimum" >&2
	status=1
fi
exit $status
