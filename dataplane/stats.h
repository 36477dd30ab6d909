/* SPDX-License-Identifier: GPL-2.0-or-later */
/**
 * @file stats.h
 * Per-worker counters of isthmus-dp. Every packet the dataplane lets go of
 * is counted once: delivered (local_tx, uplink_tx, exception) or dropped, and
 * every drop reason has its own counter, so an operator can tell *why*.
 *
 * Counters are plain uint64_t written only by their worker (no atomics on the
 * fast path); readers sum over workers and may be a burst behind.
 */
#ifndef ISTHMUS_DP_STATS_H
#define ISTHMUS_DP_STATS_H

#include <stdint.h>
#include <stdio.h>

#include <rte_common.h>

#include "counters.h"

/** Counter ids. */
enum dp_counter {
#define DP_X_ENUM(name, desc) DP_C_##name,
	DP_COUNTERS(DP_X_ENUM)
#undef DP_X_ENUM
	DP_C_MAX
};

/** One worker's counters, on their own cache lines. */
struct dp_stats {
	uint64_t c[DP_C_MAX];
} __rte_cache_aligned;

/**
 * One worker's traffic of one segment slot: frames into the tunnel (sealed
 * for the peer) and out of it (to the local port), and their bytes (the
 * frames as they travel on the local port). Single writer: the worker.
 */
struct dp_seg_traffic {
	uint64_t out_pkts, out_bytes, in_pkts, in_bytes;
};

/** Counter name (the JSON key). */
const char *dp_counter_name(enum dp_counter c);
/** One-line description. */
const char *dp_counter_desc(enum dp_counter c);

/** Bump a counter by @p n. Single writer: the owning worker. */
static inline void dp_count(struct dp_stats *s, enum dp_counter c, uint64_t n)
{
	s->c[c] += n;
}

struct dp;
struct segment;

/** Allocate each worker's per-segment traffic counters. @return 0 or -1 */
int dp_seg_traffic_init(struct dp *dp, char *err, size_t errlen);
/** Zero segment slot @p seg in every worker (before the slot is published). */
void dp_seg_traffic_reset(struct dp *dp, uint16_t seg);
/** Sum segment slot @p seg's traffic over the workers into @p sum. */
void dp_seg_traffic_sum(const struct dp *dp, uint16_t seg, struct dp_seg_traffic *sum);
/** Free them. */
void dp_seg_traffic_fini(struct dp *dp);

/** Sum the counters of all workers into @p sum. */
void dp_stats_sum(const struct dp *dp, struct dp_stats *sum);
/** Print non-zero counters (all with @p all) and per-SA counters to @p f. */
void dp_stats_print(const struct dp *dp, FILE *f, int all);
/**
 * Write all counters, per-segment and per-SA counters and the MAC table as
 * JSON to @p path. @return 0 or -1 (errno set).
 */
int dp_stats_write_json(const struct dp *dp, const char *path);
/** The same JSON document, to an open stream. */
void dp_stats_json(const struct dp *dp, FILE *f);

/** Where a stats JSON document being written in steps stands. */
struct dp_json_cursor {
	unsigned part;      /**< section */
	uint32_t i;         /**< item within the section */
	uint32_t it;        /**< MAC table iterator (fdb_json_step) */
	bool first;         /**< no comma before the next array element */
	bool with_fdb;      /**< the MAC table too (--stats-json; not the control socket) */
};

/**
 * Write the next part of the stats JSON document to @p f: whole items (a
 * worker, a segment, an SA, MAC table entries) until about @p budget bytes
 * are written. Start with a zeroed cursor. Main lcore.
 * @return 1 when more follows, 0 when the document is complete
 */
int dp_stats_json_step(const struct dp *dp, struct dp_json_cursor *c, FILE *f, size_t budget);

#endif
