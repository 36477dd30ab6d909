/* SPDX-License-Identifier: GPL-2.0-or-later */
/**
 * @file reass.h
 * Outer IPv4 reassembly (reass.c): per-worker rte_ip_frag tables for the
 * fragments of tunnel packets addressed to us.
 */
#ifndef ISTHMUS_DP_REASS_H
#define ISTHMUS_DP_REASS_H

#include <stddef.h>
#include <stdint.h>

#include <rte_ip_frag.h>
#include <rte_mbuf.h>

#include "worker.h"

struct dp;

/** Create each worker's reassembly table. @return 0, or -1 with a reason */
int reass_init(struct dp *dp, char *err, size_t errlen);
/** Free what is still in the tables (counted as drop_reass_shutdown). Workers stopped. */
void reass_fini(struct dp *dp);
/**
 * Add an outer IPv4 fragment for us (Ethernet first, single segment) to the
 * worker's table. Takes ownership of @p m. @return the whole datagram as one
 * single-segment mbuf when @p m completed it, else NULL (kept or dropped and
 * counted).
 */
struct rte_mbuf *reass_input(struct worker *w, struct rte_mbuf *m);
/** Free the fragments reass_input() let go of (once per burst). */
static inline void reass_flush(struct worker *w)
{
	if (w->reass_dr.cnt)
		rte_ip_frag_free_death_row(&w->reass_dr, 0);
}
/** Drop datagrams older than reass_timeout_ms (worker loop, a few times a second). */
void reass_expire(struct worker *w, uint64_t now_tsc);

#endif
