/* SPDX-License-Identifier: GPL-2.0-or-later */
/* isthmus-bench: timing and statistics helpers. */
#include <stdlib.h>
#include <time.h>
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

#include "bench.h"

uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t bench_cycles(void)
{
#if defined(__x86_64__) || defined(__i386__)
	return __rdtsc();
#else
	return bench_now_ns();
#endif
}

double bench_tsc_hz(void)
{
	static double hz;

	if (hz == 0) {
		/* 200 ms against the raw monotonic clock: TSC is invariant on
		 * every x86 this runs on, so one calibration is enough. */
		uint64_t t0 = bench_now_ns(), c0 = bench_cycles(), t1, c1;

		do
			t1 = bench_now_ns();
		while (t1 - t0 < 200000000u);
		c1 = bench_cycles();
		hz = (double)(c1 - c0) * 1e9 / (double)(t1 - t0);
	}
	return hz;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double bench_median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}
