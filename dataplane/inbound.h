/* SPDX-License-Identifier: GPL-2.0-or-later */
/**
 * @file inbound.h
 * Tunnel (uplink RX) -> local ports (inbound.c).
 */
#ifndef ISTHMUS_DP_INBOUND_H
#define ISTHMUS_DP_INBOUND_H

#include <stdint.h>

#include <rte_mbuf.h>

struct worker;

/** Uplink RX -> local ports or exception path. Takes ownership. */
void inbound_input(struct worker *w, struct rte_mbuf **pkts, uint16_t n);
/** The same for packets another worker handed over (w->handoff): not counted as uplink_rx again. */
void inbound_handed(struct worker *w, struct rte_mbuf **pkts, uint16_t n);

#endif
