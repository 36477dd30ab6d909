/* SPDX-License-Identifier: GPL-2.0-or-later */
/**
 * @file port.h
 * A DPDK port as the dataplane uses it (port.c): probe, queue plan, and the
 * TX paths (a worker's own queue, or the port's multi-producer TX ring).
 */
#ifndef ISTHMUS_DP_PORT_H
#define ISTHMUS_DP_PORT_H

#include <stdatomic.h>
#include <stdint.h>

#include <rte_ether.h>
#include <rte_mbuf.h>

#include "config.h"
#include "worker.h"

struct dp;
struct rte_ring;

#define DP_TXQ_RING 0xffff      /**< worker transmits through the port's TX ring */
#define DP_PORT_MAX_FDQ 64      /**< RX queues whose kernel socket a port remembers */

enum port_role { PORT_LOCAL = 0, PORT_UPLINK = 1 };

/** A DPDK port as the dataplane uses it. */
struct dp_port {
	uint16_t port_id;        /**< DPDK port id */
	uint16_t idx;            /**< index in dp->port[] */
	enum port_role role;
	enum cfg_local_mode mode;/**< local ports */
	char name[DP_NAME_LEN];
	struct rte_ether_addr mac;
	uint16_t nb_rxq, nb_txq;
	uint16_t max_frame;      /**< largest frame accepted on RX (local ports) */
	/**
	 * TX plan: when the port has fewer TX queues than there are workers
	 * (single-queue vdevs), workers other than tx_owner enqueue to this
	 * multi-producer ring and tx_owner drains it into queue 0. NULL when
	 * every worker has its own queue.
	 */
	struct rte_ring *tx_ring;
	unsigned tx_owner;
	const struct cfg_portspec *spec; /**< how the config names it */
	/** driver = af_xdp: each RX queue's AF_XDP socket, -1 if not found (rxwait.c) */
	int rx_fd[DP_PORT_MAX_FDQ];
	/** Trunk: VLAN id -> segment index (DP_SEG_NONE); [0] is the untagged segment. */
	_Atomic uint16_t vlan_seg[4096];
};

/** Probe/find, configure and start every port of the config; plan RX/TX queues. */
int ports_init(struct dp *dp, char *err, size_t errlen);
/** Give each worker its RX queues and TX queues or rings. */
void ports_assign(struct dp *dp);
/** Queue packets from the main lcore on port @p p's TX ring (takes ownership). */
void port_tx_from_main(struct dp *dp, uint16_t p, struct rte_mbuf **pkts, uint16_t n);
/** Transmit what a worker gathered for port @p p (takes ownership of every mbuf). */
void port_tx_flush(struct worker *w, uint16_t p);
/** TX owner: move packets other workers queued for @p p onto the wire. */
void port_tx_drain_ring(struct worker *w, uint16_t p);
/** Send what is left in the TX rings. Workers must be stopped. */
void ports_drain(struct dp *dp);
/** Stop and close every port (flushes pcap files). Workers must be stopped. */
void ports_close(struct dp *dp);

/** Queue one packet for transmission on port @p p (flushed at end of burst). */
static inline void port_tx_queue(struct worker *w, uint16_t p, struct rte_mbuf *m)
{
	struct txbuf *b = &w->tx[p];

	b->pkts[b->n++] = m;
	if (unlikely(b->n == DP_BURST_MAX))
		port_tx_flush(w, p);
}

#endif
