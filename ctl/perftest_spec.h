/* SPDX-License-Identifier: GPL-2.0-or-later */
/**
 * @file perftest_spec.h
 * The parameters of isthmusctl perftest (struct ctl_perftest): the one check,
 * shared by isthmusctl (before anything is contacted) and isthmus-dp (what a
 * client sends), and the frame-size list parser. No DPDK.
 */
#ifndef ISTHMUS_PERFTEST_SPEC_H
#define ISTHMUS_PERFTEST_SPEC_H

#include <stddef.h>
#include <stdint.h>

#include "ctl_proto.h"

#define PERFTEST_DEFAULT_DURATION_MS 3000u
#define PERFTEST_DEFAULT_PROBES 20u
#define PERFTEST_DEFAULT_MAX_RATE 1000u   /**< [appliance] perftest_max_rate, Mbit/s */
#define PERFTEST_RATE_CEILING 100000u     /**< largest perftest_max_rate, Mbit/s */

/**
 * Parse "64,512,1400" into @p out (at most CTL_PERFTEST_SIZES sizes, each
 * CTL_PERFTEST_MIN_FRAME..CTL_PERFTEST_MAX_FRAME, no repeats).
 * @return the number of sizes, or -1 with a reason in @p err
 */
int perftest_parse_sizes(const char *s, uint16_t *out, char *err, size_t errlen);

/**
 * Parse a duration per direction and size: "3", "3s", "500ms", "1m"
 * (100 ms .. CTL_PERFTEST_MAX_DURATION_MS). @return milliseconds, or 0
 */
uint32_t perftest_parse_duration(const char *s);

/**
 * Check a START request's parameters: sizes, duration, probes, rate (0 or
 * 1..PERFTEST_RATE_CEILING). @return 0, or -1 with a reason in @p err
 */
int perftest_check(const struct ctl_perftest *m, char *err, size_t errlen);

#endif
