/* SPDX-License-Identifier: GPL-2.0-or-later */
/**
 * @file telemetry.h
 * The counters and tables through DPDK telemetry, /isthmus/... (telemetry.c).
 */
#ifndef ISTHMUS_DP_TELEMETRY_H
#define ISTHMUS_DP_TELEMETRY_H

struct dp;

/** Register the /isthmus/... DPDK telemetry commands. @return 0 or -1 */
int telemetry_init(struct dp *dp);
/** Stop answering (before the tables go away). */
void telemetry_fini(void);
/** Main lcore: refresh what telemetry shows of the SAs. */
void telemetry_snapshot(const struct dp *dp);

#endif
