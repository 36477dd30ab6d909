/* SPDX-License-Identifier: GPL-2.0-or-later */
/**
 * @file drop.h
 * The one drop convention of both packet paths (outbound.c, inbound.c).
 *
 * Every packet that leaves a burst without being sent is counted under the
 * counter of its own reason, DP_C_drop_<reason> (stats.h: the pcap tests and
 * operators read them by name), and put in the burst's drop bin, which is
 * freed in one call at the end of the burst.
 *
 * A step that decides about one packet answers with an int: >= 0 where the
 * packet goes on (a segment index, a path), or DROPPED(reason), a negative
 * number whose negation is the counter. DROP(reason) is the counter itself
 * (for tables of reasons). Counter 0 is local_rx, never a drop, so every
 * DROPPED() is < 0.
 */
#ifndef ISTHMUS_DP_DROP_H
#define ISTHMUS_DP_DROP_H

#include <stdint.h>

#include <rte_mbuf.h>

#include "config.h"
#include "stats.h"
#include "worker.h"

/** The counter of drop reason @p reason: DP_C_drop_<reason>. */
#define DROP(reason) DP_C_drop_##reason
/** A step's answer for a packet to drop under DROP(reason). */
#define DROPPED(reason) (-(int)DROP(reason))

/** The packets a burst dropped, freed together at its end. */
struct drop_bin {
	struct rte_mbuf *m[DP_BURST_MAX];
	uint16_t n;
};

/** Count @p m under @p counter (a DROP()) and put it in @p bin. */
static inline void drop_packet(struct worker *w, struct drop_bin *bin, struct rte_mbuf *m,
			       enum dp_counter counter)
{
	dp_count(&w->stats, counter, 1);
	bin->m[bin->n++] = m;
}

/** Drop @p m by a step's negative answer @p v (DROPPED()). */
static inline void drop_by_answer(struct worker *w, struct drop_bin *bin, struct rte_mbuf *m, int v)
{
	drop_packet(w, bin, m, (enum dp_counter)-v);
}

/** End of burst: free what was dropped. */
static inline void drop_bin_free(struct drop_bin *bin)
{
	if (bin->n)
		rte_pktmbuf_free_bulk(bin->m, bin->n);
	bin->n = 0;
}

#endif
