/* SPDX-License-Identifier: GPL-2.0-or-later */
/**
 * @file portloss.h
 * A port's counters with every frame it lost before the dataplane read it
 * (portloss.c): the PMD's own imissed, plus the kernel's receive-ring drops
 * of net_af_packet and net_af_xdp ports, which DPDK 22.11's PMDs do not report.
 */
#ifndef ISTHMUS_DP_PORTLOSS_H
#define ISTHMUS_DP_PORTLOSS_H

#include <stdint.h>

struct dp;

/** A port's counters as the reports show them (docs/dataplane.md, "Port counters"). */
struct port_counters {
	uint64_t ipackets, ibytes;   /**< frames (bytes) the dataplane read from the port */
	uint64_t opackets, obytes;   /**< frames (bytes) sent */
	/** Frames lost before the dataplane read them: rte_eth_stats imissed + kernel_drops */
	uint64_t imissed;
	/** Frames the kernel could not put in a socket's receive ring: net_af_packet
	 *  (PACKET_STATISTICS tp_drops), net_af_xdp (XDP_STATISTICS rx_ring_full) */
	uint64_t kernel_drops;
	uint64_t rx_nombuf;          /**< the PMD found no mbuf to receive into (rte_eth_stats) */
	uint64_t ierrors, oerrors;
};

/** Find the kernel sockets of @p dp's net_af_packet ports; their counts start from here on. */
void portloss_init(const struct dp *dp);
/**
 * Add what the kernel counted since the last read (PACKET_STATISTICS resets
 * on read) to each port's sums. Any thread: reads are serialised by a lock,
 * so concurrent reports never lose a delta. The main lcore calls it often
 * enough (every 100 ms) that the kernel's 32-bit counters cannot wrap between
 * two reads.
 */
void portloss_update(const struct dp *dp);
/** Port @p p's counters (rte_eth_stats and the kernel's drops, read now). Any thread. */
void portloss_get(const struct dp *dp, uint16_t p, struct port_counters *out);
/** Forget the sockets (before ports_close() closes them). */
void portloss_fini(const struct dp *dp);

#endif
