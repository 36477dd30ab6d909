/* SPDX-License-Identifier: GPL-2.0-or-later */
/* isthmus-bench: shared helpers (timing, statistics, output). */
#ifndef ISTHMUS_BENCH_H
#define ISTHMUS_BENCH_H

#include <stdbool.h>
#include <stdint.h>

/** Options common to every subcommand. */
struct bench_opts {
	double seconds; /**< target wall time of the whole run */
	int trials;     /**< repetitions per figure (the median is reported) */
	bool json;      /**< machine-readable output */
};

/** Monotonic time in nanoseconds. */
uint64_t bench_now_ns(void);
/** Time-stamp counter (cycles), or nanoseconds where there is no TSC. */
uint64_t bench_cycles(void);
/** TSC ticks per second, measured against CLOCK_MONOTONIC_RAW once. */
double bench_tsc_hz(void);
/** Median of @p n values (sorts @p v in place). */
double bench_median(double *v, int n);

/** A subcommand: returns the process exit status. */
int bench_crypto_main(int argc, char **argv, const struct bench_opts *o);
int bench_dp_main(int argc, char **argv, const struct bench_opts *o);

#endif
