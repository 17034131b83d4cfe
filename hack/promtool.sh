#!/usr/bin/env bash
# Prints the path of promtool (Prometheus' rule checker and tester), installing
# Debian's prometheus package first when it is missing (the tests of
# config/prometheus need it: `make test` runs this script). Progress goes to
# stderr. The package would start a Prometheus service: nothing is started where
# there is no init system, and policy-rc.d forbids it where there is one.
set -euo pipefail

if path=$(command -v promtool); then
	echo "$path"
	exit 0
fi
if ! command -v apt-get >/dev/null; then
	echo "promtool: not found and no apt-get to install it; install Prometheus' promtool" >&2
	exit 1
fi
sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"
echo "promtool: installing Debian's prometheus package" >&2
policy=/usr/sbin/policy-rc.d
added_policy=false
if [ ! -e "$policy" ]; then
	# Exit code 101: services are not started by package scripts.
	printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
	$sudo chmod +x "$policy"
	added_policy=true
fi
trap '$added_policy && $sudo rm -f "$policy"' EXIT
$sudo apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends prometheus >&2
command -v promtool
