/* SPDX-License-Identifier: GPL-2.0-or-later */
/**
 * @file l2guard.h
 * L2 safety of a stretched segment (docs/l2-safety.md): what a stretched
 * network dies of, detected where the frames pass.
 *
 *  - MAC flap: a MAC moving between the local and the remote side more than
 *    flap_moves times in flap_window seconds (a loop, or one MAC on both
 *    sites). Reported; optionally dampened: the MAC is frozen on the side it
 *    was on and its frames from the side it flapped to are dropped for
 *    flap_dampen seconds (RFC 7432 section 15.1 does the same for EVPN).
 *  - Loop: a broadcast or multicast frame the appliance sent to the local port
 *    (from the tunnel) coming back in on it, byte for byte, within
 *    L2G_LOOP_MS, while its source MAC is still remote. Dropped, so it never
 *    goes back into the tunnel. The same bytes from a source MAC learned at
 *    this site since then are that host repeating itself after a move
 *    (vMotion): forwarded, counted as l2guard_host_repeat.
 *  - IP conflict: one IPv4 address claimed in ARP by two MACs, one on each
 *    side, within the segment's MAC aging time.
 *
 * Workers only detect and count; they hand reports to the main lcore through
 * a ring (at most one per segment, kind and second), and the main lcore
 * writes the log lines (rate-limited) and keeps the last ones for
 * `isthmusctl stats`. The per-packet cost for ordinary traffic: one load in
 * the MAC entry already read (dampening), one bit test on the destination
 * (loops: only broadcast and multicast are recorded and checked) and one
 * ethertype compare (ARP).
 */
#ifndef ISTHMUS_DP_L2GUARD_H
#define ISTHMUS_DP_L2GUARD_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <rte_ether.h>
#include <rte_mbuf.h>

#include "dp.h"
#include "fdb.h"
#include "segment.h"

struct json_object;
#include "worker.h"

/*
 * A looped frame is back within this. A loop in the local switching fabric
 * returns a frame in well under a millisecond (netns_loop: 0 ms, every frame).
 * A host that moves between the sites (vMotion) may repeat an identical
 * multicast it sent a moment before at the other site (an MLD or IGMP report
 * retransmitted after a random delay of up to 1 s, an ARP retry); that is
 * told from a loop by its source MAC, learned at this site by then (the RARP
 * or GARP of the move), not by time (docs/l2-safety.md). The bound stays
 * short for the one repeat nothing can tell from a loop: one that reaches
 * the new site before any other frame of the host.
 */
#define L2G_LOOP_MS 50
#define L2G_LOOP_ENTRIES 4096    /**< recently sent broadcast signatures */
#define L2G_LOOP_HASH_LEN 96     /**< bytes of the frame in its signature */
#define L2G_EVENT_RING 1024
#define L2G_HISTORY 32           /**< reports kept for isthmusctl stats */
#define L2G_LOG_PER_S 10         /**< log lines per second, at most */

enum l2guard_kind { L2G_FLAP = 0, L2G_LOOP = 1, L2G_IP_CONFLICT = 2, L2G_KINDS };

/** One report, worker -> main lcore. */
struct l2guard_event {
	uint8_t kind;                /**< enum l2guard_kind */
	uint8_t side;                /**< flap: side it moved to; conflict: side of mac */
	uint16_t seg;
	struct rte_ether_addr mac;   /**< the MAC flapping, looping, claiming the IP */
	struct rte_ether_addr mac2;  /**< conflict: the MAC that claimed it before */
	rte_be32_t ip;               /**< conflict: the address */
	uint32_t moves;              /**< flap: moves in the window */
	uint32_t dampen_s;           /**< flap: dampened for so long (0: report only) */
	uint32_t when_s;             /**< worker clock (seconds) */
};

/** One ARP sender (IP conflict table). */
struct l2guard_arp {
	struct rte_ether_addr mac;
	uint8_t side;                /**< enum fdb_side */
	uint32_t seen;
};

struct l2guard {
	struct dp *dp;
	struct rte_ring *events;          /**< workers (MP) -> main lcore (SC) */
	struct rte_hash *loop;            /**< frame signature -> ms it was sent locally */
	rte_spinlock_t loop_lock;         /**< serialises the loop table's writers */
	struct rte_hash *arp;             /**< (segment, IPv4) -> arp_ent[position] */
	struct l2guard_arp *arp_ent;
	rte_spinlock_t arp_lock;          /**< the whole ARP table: ARP frames only */
	uint32_t arp_size;
	uint64_t tsc_per_ms;
	/* main lcore */
	struct l2guard_event hist[L2G_HISTORY];
	unsigned nhist, hist_next;
	uint64_t log_second;
	unsigned log_lines;
	uint64_t log_suppressed;
	uint64_t last_age_ms;
};

/** Create the tables and the report ring. @return 0, or -1 with @p err set */
int l2guard_init(struct dp *dp, char *err, size_t errlen);
void l2guard_fini(struct dp *dp);

/**
 * Main lcore: write the pending reports (log lines, at most L2G_LOG_PER_S a
 * second), age the tables. Call often (every few ms).
 */
void l2guard_service(struct dp *dp);

/**
 * Main lcore, segment @p seg unextended and no worker holding its index any
 * more: write its pending reports, then forget its loop signatures, ARP
 * senders and past reports, so nothing of it is taken for the segment that
 * reuses the slot (segment.c).
 */
void l2guard_forget_segment(struct dp *dp, uint16_t seg);

/**
 * The L2 safety reports as a json-c object {"events": [...], "log_suppressed": N}
 * (the caller owns it), oldest report first. Main lcore.
 */
struct json_object *l2guard_json_object(const struct dp *dp);

/** l2guard_json_object() written to @p f, for the stats report. Main lcore. */
void l2guard_json(const struct dp *dp, FILE *f);

/**
 * A MAC moved to @p to (fdb_touch returned 1). Counts its moves in the
 * segment's window and reports a flap once it moves more than flap_moves
 * times. @return true if the MAC is now dampened: the move is undone and the
 * frame must be dropped (drop_mac_dampened)
 */
bool l2guard_moved(struct worker *w, struct segment *s, struct fdb_entry *e, enum fdb_side to);

/** Whether frames of @p e seen on @p side are dropped (dampened MAC). */
static inline bool l2guard_dampened(const struct fdb_entry *e, enum fdb_side side, uint32_t now)
{
	uint32_t until = atomic_load_explicit(&e->damp_until, memory_order_relaxed);

	return unlikely(until != 0) && (int32_t)(until - now) > 0 &&
	       atomic_load_explicit(&e->side, memory_order_relaxed) != side;
}

/**
 * A frame from known MAC @p e seen on @p side: refresh the entry, move it
 * there if it was on the other side (fdb_moved) and count the move toward a
 * flap. @return true if the frame must be dropped (drop_mac_dampened): the
 * MAC is dampened, or this move made it so
 */
static inline bool l2guard_seen(struct worker *w, struct segment *s, struct fdb_entry *e,
				enum fdb_side side)
{
	if (unlikely(l2guard_dampened(e, side, w->now_s)))
		return true;
	if (unlikely(fdb_touch(e, side, w->now_s))) {
		if (l2guard_moved(w, s, e, side))
			return true;
		dp_count(&w->stats, DP_C_fdb_moved, 1);
	}
	return false;
}

/* out of line: the frames they look at are the rare ones */
void l2guard_record_sent(struct worker *w, struct segment *s, struct rte_mbuf *m);
bool l2guard_check_looped(struct worker *w, struct segment *s, struct rte_mbuf *m,
			  struct rte_mbuf *const *earlier, const uint16_t *earlier_seg, uint16_t nearlier);
void l2guard_arp_input(struct worker *w, struct segment *s, struct rte_mbuf *m, enum fdb_side side);

/**
 * Inbound, before the frame (untagged) goes to the local port: remember
 * broadcast and multicast frames, the ones a loop multiplies.
 */
static inline void l2guard_sent_local(struct worker *w, struct segment *s, struct rte_mbuf *m)
{
	if (rte_is_multicast_ether_addr(&rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->dst_addr))
		l2guard_record_sent(w, s, m);
}

/**
 * Outbound, after the tag is stripped: whether this frame is one the
 * appliance sent to the local port a moment ago coming back (a loop), and
 * not its source host repeating it from this site after a move (its MAC
 * learned here since, in the MAC table or by one of the @p nearlier frames
 * of this burst already accepted, @p earlier with their segments
 * @p earlier_seg: they are learned only after the loop check).
 * Counted by the caller.
 */
static inline bool l2guard_looped(struct worker *w, struct segment *s, struct rte_mbuf *m,
				  struct rte_mbuf *const *earlier, const uint16_t *earlier_seg,
				  uint16_t nearlier)
{
	return rte_is_multicast_ether_addr(&rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->dst_addr) &&
	       l2guard_check_looped(w, s, m, earlier, earlier_seg, nearlier);
}

/** ARP senders of either side, for IP conflicts: one ethertype compare for the rest. */
static inline void l2guard_arp_seen(struct worker *w, struct segment *s, struct rte_mbuf *m,
				    enum fdb_side side)
{
	if (unlikely(rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->ether_type ==
		     RTE_BE16(RTE_ETHER_TYPE_ARP)))
		l2guard_arp_input(w, s, m, side);
}

#endif
