#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Suite "fuzz": generate a harness's seed corpus, add its kept regression
# inputs, then run it for a bounded time.
#
#   run-fuzz.sh MODE HARNESS WORKDIR REGRESS_DIR ITERATIONS SEEDGEN [ARG...]
#
#   MODE libfuzzer: HARNESS is a libFuzzer binary (clang, -Dfuzz=enabled),
#        run for ISTHMUS_FUZZ_SECONDS (default 20) seconds
#   MODE driver:    HARNESS has fuzz_driver.c (gcc): the seeds, then
#        ITERATIONS deterministic mutations of them
#   SEEDGEN ARG... DIR writes the seed corpus into DIR.
set -eu
mode=$1 harness=$2 work=$3 regress=$4 iters=$5
shift 5
rm -rf "$work"
mkdir -p "$work/seeds" "$work/corpus"
"$@" "$work/seeds"
if [ -d "$regress" ]; then
	# Inputs that once found a bug: replayed first, on every run.
	for f in "$regress"/*; do
		[ -f "$f" ] && cp "$f" "$work/seeds/regress-$(basename "$f")"
	done
fi
case "$mode" in
libfuzzer)
	# Bounded in time; new inputs go to corpus/, a crash to WORKDIR/crash-*.
	exec "$harness" -max_total_time="${ISTHMUS_FUZZ_SECONDS:-20}" -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$work/" \
		"$work/corpus" "$work/seeds"
	;;
driver)
	exec "$harness" "$work/seeds" "$iters"
	;;
*)
	echo "run-fuzz.sh: unknown mode $mode" >&2
	exit 2
	;;
esac
