/* SPDX-License-Identifier: GPL-2.0-or-later */
/**
 * @file worker.h
 * One run-to-completion worker (worker.c): its private state and its loop.
 */
#ifndef ISTHMUS_DP_WORKER_H
#define ISTHMUS_DP_WORKER_H

#include <stdatomic.h>
#include <stdint.h>

#include <rte_common.h>
#include <rte_ip_frag.h>
#include <rte_mbuf.h>
#include <rte_meter.h>

#include "config.h"
#include "rxwait.h"
#include "stats.h"

struct dp;

#define ADAPTIVE_LINGER_US 1000     /**< adaptive RX: naps (rx_nap_us) for this long after
					 the last packet, then blocks */
struct esp_sa;
struct rte_ring;
struct storm_state;

/** A queue a worker polls. */
struct rxq {
	uint16_t port;                   /**< dp->port[] index */
	uint16_t queue;
};

/** Packets gathered for one port during a burst. */
struct txbuf {
	uint16_t n;
	struct rte_mbuf *pkts[DP_BURST_MAX];
};

/** One run-to-completion worker (one lcore). */
struct worker {
	struct dp_stats stats;           /**< first: own cache lines */
	struct dp *dp;
	unsigned idx;
	unsigned lcore;
	uint16_t burst;
	struct rxq rxq[DP_MAX_PORTS * 4];
	uint16_t nb_rxq;
	uint16_t txq[DP_MAX_PORTS];      /**< TX queue per port, or DP_TXQ_RING */
	struct txbuf tx[DP_MAX_PORTS];
	struct esp_sa *_Atomic sa_out;   /**< this worker's own outbound SA (sa.c swaps it) */
	_Atomic uint64_t sa_outer;       /**< its struct sa_outer, packed (sa.h), stored
					      before sa_out and whenever it changes */
	uint16_t udp_src_be;             /**< this worker's own UDP source port */
	uint16_t ip_id;                  /**< outer IPv4 identification */
	uint16_t ip_id_step;             /**< workers (power of 2): IDs never shared (reass.c) */
	uint32_t inner_sum, outer_sum;   /**< IPv4 checksum bases (encap.h) */
	uint32_t outer_dst;              /**< the destination outer_sum was made for */
	uint32_t outer_src;              /**< and the source (the VIP while HA active) */
	uint32_t now_s;                  /**< coarse clock for MAC aging, per burst */
	uint32_t idle_rounds;            /**< adaptive RX: rounds in a row without a packet */
	uint32_t idle_sleeps;            /**< adaptive RX: sleeps since the last packet */
	uint64_t idle_since;             /**< adaptive RX: TSC of the first empty round */
	uint64_t spin_cycles;            /**< adaptive RX: rx_spin_us in TSC cycles */
	uint64_t linger_cycles;          /**< adaptive RX: naps this long after the last packet */
	int wake_fd;                     /**< eventfd: others wake this worker (rxwait.c) */
	_Atomic uint32_t blocked;        /**< in rxwait_block(): kick it to wake it */
	uint16_t nb_wait_fds;            /**< 0: cannot block, sleep in steps instead */
	int wait_fds[RXWAIT_MAX_FDS];    /**< AF_PACKET sockets of its queues + wake_fd */
	struct storm_state *storm;       /**< per segment slot (storm.c) */
	struct dp_seg_traffic *seg_traffic; /**< per segment slot (stats.c) */
	/* outer reassembly (reass.c) and path-MTU rate limit (pmtu.c) */
	struct rte_ip_frag_tbl *reass_tbl;
	struct rte_ring *handoff;        /**< packets of SAs this worker opens, from other workers */
	/**
	 * Outbound frames of workers without an SA of their own, encapsulated,
	 * for this worker to seal with its SA (outbound.c; multi-producer).
	 */
	struct rte_ring *seal_ring;
	/** Worker that seals this one's frames while it has no SA (sa.c), -1: none or not needed. */
	_Atomic int seal_by;
	uint64_t reass_next_expiry;      /**< TSC of the next sweep for timed-out datagrams */
	uint64_t reass_seq;              /**< fragments received: the clock's distance part (reass.c) */
	uint64_t reass_dist_cycles;      /**< what one fragment adds to the reassembly clock */
	struct rte_meter_srtcm *pmtu_meter; /**< one per segment (DP_MAX_SEGMENTS) */
	struct rte_meter_srtcm exc_meter;   /**< exception path's policed class (exception_dp.c) */
	struct rte_ip_frag_death_row reass_dr; /**< fragments to free (large: last) */
} __rte_cache_aligned;

/**
 * This worker's outbound SA, read once per burst: the control socket may swap
 * it (a rekey, sa.c, with a release store); the old one lives until this
 * worker's next quiescent state.
 */
static inline struct esp_sa *worker_sa_out(struct worker *w)
{
	return atomic_load_explicit(&w->sa_out, memory_order_acquire);
}

/** lcore entry point of a worker (arg: struct worker *). */
int worker_main(void *arg);
/**
 * One round of the worker loop: poll each RX queue once, run what came
 * through outbound_input()/inbound_input(), drain the TX rings this worker
 * owns, report a quiescent state. @p pkts: scratch of DP_BURST_MAX. The
 * caller must be registered and online in dp->qsbr (worker_main does it;
 * isthmus-bench dp drives rounds itself). @return packets received.
 */
uint32_t worker_round(struct worker *w, struct rte_mbuf **pkts);

#endif
