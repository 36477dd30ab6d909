#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Suite "fuzz": generate the seed corpus, then run the harness for a bounded
# time. run-fuzz.sh libfuzzer|driver HARNESS SEEDGEN WORKDIR
#   libfuzzer: HARNESS is the libFuzzer binary (clang, -Dfuzz=enabled)
#   driver:    HARNESS is fuzz_driver (gcc), seeds + deterministic mutations
set -eu
mode=$1 harness=$2 seedgen=$3 work=$4
rm -rf "$work"
mkdir -p "$work/seeds" "$work/corpus"
"$seedgen" "$work/seeds"
case "$mode" in
libfuzzer)
	# Bounded in time and runs; new inputs go to corpus/, crashes to work/.
	exec "$harness" -max_total_time=20 -runs=3000000 -timeout=10 -rss_limit_mb=1024 \
		-print_final_stats=1 -artifact_prefix="$work/" "$work/corpus" "$work/seeds"
	;;
driver)
	exec "$harness" "$work/seeds" 200000
	;;
*)
	echo "run-fuzz.sh: unknown mode $mode" >&2
	exit 2
	;;
esac
