/* SPDX-License-Identifier: GPL-2.0-or-later */
/**
 * @file storm.h
 * Storm control (storm.c): per-segment, per-worker srTCM buckets for the
 * broadcast, multicast and unknown-unicast frames flooded into the tunnel.
 */
#ifndef ISTHMUS_DP_STORM_H
#define ISTHMUS_DP_STORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_meter.h>

#include "segment.h"
#include "worker.h"

struct dp;

/** One worker's storm-control buckets of one segment (storm.c). */
struct storm_state {
	struct rte_meter_srtcm m[STORM_CLASSES];
	uint64_t drops[STORM_CLASSES];   /**< per segment, summed in reports */
};

extern const char *const storm_class_name[STORM_CLASSES];
/** Allocate each worker's buckets, one set per segment slot. */
int storm_init(struct dp *dp, char *err, size_t errlen);
/**
 * Set up segment @p s's storm-control profiles from s->cfg and reset each
 * worker's buckets of its slot, before the slot is published (segment.c).
 * After ports_assign(): rates are split by the workers polling its port.
 */
int storm_segment_setup(struct dp *dp, struct segment *s, char *err, size_t errlen);
void storm_fini(struct dp *dp);
/** Frames of class @p k dropped on segment @p seg, over all workers. */
uint64_t storm_drops(const struct dp *dp, uint16_t seg, enum storm_class k);

/**
 * Whether a frame of class @p k on segment @p s may enter the tunnel now
 * (@p now: rte_rdtsc()). Counts a drop in the segment's per-worker counter;
 * the caller counts drop_storm_*.
 */
static inline bool storm_pass(struct worker *w, const struct segment *s, enum storm_class k,
			      uint64_t now)
{
	struct storm_state *st;

	if (likely(!(s->storm_on & (1u << k))))
		return true;
	st = &w->storm[s->idx];
	/* packet mode: every frame is 1 "byte" (storm.c) */
	if (rte_meter_srtcm_color_blind_check(&st->m[k], (struct rte_meter_srtcm_profile *)&s->storm_prof[k],
					      now, 1) == RTE_COLOR_GREEN)
		return true;
	st->drops[k]++;
	return false;
}

#endif
