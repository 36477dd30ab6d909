/* SPDX-License-Identifier: GPL-2.0-or-later */
/**
 * @file outbound.h
 * Local port RX -> tunnel (outbound.c).
 */
#ifndef ISTHMUS_DP_OUTBOUND_H
#define ISTHMUS_DP_OUTBOUND_H

#include <stddef.h>
#include <stdint.h>

#include <rte_mbuf.h>

struct dp;
struct dp_port;
struct worker;

/** Local port RX -> tunnel. Takes ownership of the @p n mbufs. */
void outbound_input(struct worker *w, struct dp_port *lp, struct rte_mbuf **pkts, uint16_t n);
/**
 * Seal and send frames another worker (one without an outbound SA of its own)
 * encapsulated and handed over through w->seal_ring. Takes ownership.
 */
void outbound_seal_handed(struct worker *w, struct rte_mbuf **pkts, uint16_t n);
/** Each worker's seal ring (after workers_create). @return 0 or -1 with @p err */
int outbound_init(struct dp *dp, char *err, size_t errlen);
/** Free what is left in the seal rings (counted drop_handoff_shutdown), and the rings. */
void outbound_fini(struct dp *dp);

#endif
