/* SPDX-License-Identifier: GPL-2.0-or-later */
/**
 * @file outbound.h
 * Local port RX -> tunnel (outbound.c).
 */
#ifndef ISTHMUS_DP_OUTBOUND_H
#define ISTHMUS_DP_OUTBOUND_H

#include <stdint.h>

#include <rte_mbuf.h>

struct dp_port;
struct worker;

/** Local port RX -> tunnel. Takes ownership of the @p n mbufs. */
void outbound_input(struct worker *w, struct dp_port *lp, struct rte_mbuf **pkts, uint16_t n);

#endif
