/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * reass.c: reassembly of outer IPv4 fragments addressed to us, before the SA
 * lookup and decryption (the peer fragments after encryption, RFC 4459
 * section 4.2; frag.c). Also makes large IKE messages, which the kernel of a
 * peer fragments, reach the exception path whole.
 *
 * One DPDK rte_ip_frag table per worker, no locks: bounded to
 * [uplink] reass_flows datagrams in progress and reass_timeout_ms per
 * datagram. rte_ip_frag reports only "done" or "not (yet)"; what it let go of
 * lands on the worker's death row, so each call is judged by what the death
 * row gained:
 *
 *   - nothing: the fragment waits for the rest (or completed the datagram);
 *   - exactly the fragment: no free entry (table or bucket full);
 *   - more: the datagram was invalid (overlapping or duplicate fragments,
 *     more than RTE_LIBRTE_IP_FRAG_MAX_FRAG, a hole), all of it is dropped
 *     (RFC 5722 treats overlaps as an attack, not a retransmission).
 *
 * Timed-out datagrams are swept before each fragment and a few times a second
 * by the worker loop, so the table never finds a stale entry itself and every
 * timeout is counted as one.
 *
 * Time here is a logical clock, TSC plus REASS_MAX_DIST-ths of the timeout per
 * fragment received: a datagram expires after reass_timeout_ms or after
 * REASS_MAX_DIST more fragments, whichever comes first (Linux's
 * ipfrag_max_dist, in spirit). The outer IPv4 ID has 16 bits and a busy
 * sender reuses each one after 65536 / ip_id_step datagrams, which at tunnel
 * rates is far less than any sane timeout: without the distance limit, a
 * datagram that lost a fragment would wait in the table until its ID came
 * round again and swallow the next datagram with it, and that one the next,
 * as long as traffic flows (RFC 4963 section 2). The peer's fragments of one
 * datagram leave back to back (frag.c), so a few hundred fragments of
 * distance is plenty of reordering room.
 *
 * Only the peer's fragments are admitted: anyone else's could only fill the
 * table and keep the peer's out. The peer is where its IKE counts as the
 * peer's (uplink_classify()): [uplink] peer, or the address its newest SA
 * uses, which behind a NAT is the NAT's (dp->peer_now); ESP from there is
 * fragmented as any other.
 *
 * RSS: a NIC hashes IPv4 fragments on the addresses only (no ports in
 * non-first fragments), so all fragments of one datagram reach the same queue
 * and worker, though not always the worker that opens the datagram's SA
 * (whose whole packets are hashed on the ports too): inbound.c then hands the
 * reassembled datagram to that worker through its hand-off ring, made here.
 * docs/mtu.md has the details.
 */
/* rte_ip_frag_table_del_expired_entries is experimental in DPDK 22.11 */
#define ALLOW_EXPERIMENTAL_API

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ip.h>
#include <rte_ip_frag.h>
#include <rte_malloc.h>
#include <rte_ring.h>

#include "dp.h"
#include "encap.h"
#include "reass.h"
#include "worker.h"

/* Associativity of the table's buckets (rte_ip_frag's examples use 16). */
#define REASS_BUCKET_ENTRIES 16
/* Death-row room one call may need: a whole datagram and the new fragment. */
#define REASS_DR_NEED (2 * (RTE_LIBRTE_IP_FRAG_MAX_FRAG + 1))
/* Packets one worker can hold for another (inbound.c hands them over). */
#define HANDOFF_RING 1024
/* Sweep for timeouts at least this often (ms) from the worker loop. */
#define REASS_SWEEP_MS 50
/* Fragments after which a datagram in progress is given up. Under the ID
 * reuse distance of a sender with 64 workers (1024 IDs, 2048 fragments). */
#define REASS_MAX_DIST 512

/* The reassembly clock (see above): monotonic, in TSC units. */
static inline uint64_t reass_clock(const struct worker *w, uint64_t tsc)
{
	return tsc + w->reass_seq * w->reass_dist_cycles;
}

int reass_init(struct dp *dp, char *err, size_t errlen)
{
	const struct dp_config *c = dp->cfg;
	uint64_t cycles = dp->tsc_hz * c->reass_timeout_ms / 1000;
	uint32_t buckets = rte_align32pow2(RTE_MAX(c->reass_flows / REASS_BUCKET_ENTRIES * 2, 1u));
	char name[RTE_RING_NAMESIZE];

	for (unsigned i = 0; i < dp->nb_workers; i++) {
		struct worker *w = dp->worker[i];

		/* The peer reassembles by (source, destination, protocol, IP id):
		 * our workers share the first three, so each takes its own IDs,
		 * those equal to its index modulo a power of two, or their
		 * fragments could meet in one datagram (RFC 4963, RFC 6864). */
		w->ip_id = (uint16_t)i;
		w->ip_id_step = (uint16_t)rte_align32pow2(dp->nb_workers);
		w->reass_seq = 0;
		w->reass_dist_cycles = cycles / REASS_MAX_DIST + 1;
		w->reass_tbl = rte_ip_frag_table_create(buckets, REASS_BUCKET_ENTRIES, c->reass_flows,
							cycles, rte_lcore_to_socket_id(w->lcore));
		if (w->reass_tbl == NULL) {
			snprintf(err, errlen, "reassembly table of %u flows: %s", c->reass_flows,
				 rte_strerror(rte_errno));
			return -1;
		}
		/* the datagram may be whole on a worker that does not open its SA */
		snprintf(name, sizeof(name), "isthmus_ho%u", i);
		w->handoff = rte_ring_create(name, HANDOFF_RING, rte_lcore_to_socket_id(w->lcore),
					     RING_F_SC_DEQ);
		if (w->handoff == NULL) {
			snprintf(err, errlen, "hand-off ring of worker %u: %s", i, rte_strerror(rte_errno));
			return -1;
		}
	}
	return 0;
}

/* Fragments in death-row entries [from, cnt): an entry may be a chain. */
static inline uint32_t dr_fragments(const struct worker *w, uint32_t from)
{
	uint32_t n = 0;

	for (uint32_t k = from; k < w->reass_dr.cnt; k++)
		n += w->reass_dr.row[k]->nb_segs;
	return n;
}

/* Move expired datagrams to the death row and count their fragments. */
static void sweep(struct worker *w, uint64_t tms)
{
	uint32_t before;

	do {
		if (w->reass_dr.cnt + REASS_DR_NEED > RTE_IP_FRAG_DEATH_ROW_MBUF_LEN)
			reass_flush(w);
		before = w->reass_dr.cnt;
		rte_ip_frag_table_del_expired_entries(w->reass_tbl, &w->reass_dr, tms);
		dp_count(&w->stats, DP_C_drop_reass_timeout, dr_fragments(w, before));
		/* it stops early when the death row is full: go on until it is done */
	} while (w->reass_dr.cnt + REASS_DR_NEED > RTE_IP_FRAG_DEATH_ROW_MBUF_LEN);
}

void reass_expire(struct worker *w, uint64_t now)
{
	if (likely(now < w->reass_next_expiry))
		return;
	w->reass_next_expiry = now + w->dp->tsc_hz * REASS_SWEEP_MS / 1000;
	sweep(w, reass_clock(w, now));
	reass_flush(w);
}

void reass_fini(struct dp *dp)
{
	for (unsigned i = 0; i < dp->nb_workers; i++) {
		struct worker *w = dp->worker[i];
		uint32_t before;

		if (w == NULL || w->reass_tbl == NULL)
			continue;
		/* everything is expired at the end of time */
		do {
			reass_flush(w);
			before = w->reass_dr.cnt;
			rte_ip_frag_table_del_expired_entries(w->reass_tbl, &w->reass_dr, UINT64_MAX);
			dp_count(&w->stats, DP_C_drop_reass_shutdown, dr_fragments(w, before));
		} while (w->reass_dr.cnt != before);
		reass_flush(w);
		rte_ip_frag_table_destroy(w->reass_tbl);
		w->reass_tbl = NULL;
	}
	for (unsigned i = 0; i < dp->nb_workers; i++) {
		struct worker *w = dp->worker[i];
		void *m;

		if (w == NULL || w->handoff == NULL)
			continue;
		while (rte_ring_sc_dequeue(w->handoff, &m) == 0) {
			dp_count(&w->stats, DP_C_drop_handoff_shutdown, 1);
			rte_pktmbuf_free(m);
		}
		rte_ring_free(w->handoff);
		w->handoff = NULL;
	}
}

/*
 * What rte_ip_frag leaves to the caller (RFC 791, RFC 8900 section 3.5):
 * a fragment must carry data, every fragment but the last a multiple of 8
 * bytes, and the datagram must end within 65535 bytes.
 */
static inline bool frag_valid(const struct rte_ipv4_hdr *ip, uint32_t ihl)
{
	uint16_t fo = rte_be_to_cpu_16(ip->fragment_offset);
	uint32_t len = rte_be_to_cpu_16(ip->total_length) - ihl;
	uint32_t off = (uint32_t)(fo & RTE_IPV4_HDR_OFFSET_MASK) * RTE_IPV4_HDR_OFFSET_UNITS;

	if (len == 0 || off + len + ihl > UINT16_MAX)
		return false;
	if ((fo & RTE_IPV4_HDR_MF_FLAG) && (len & 7))
		return false;
	return true;
}

struct rte_mbuf *reass_input(struct worker *w, struct rte_mbuf *m)
{
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, RTE_ETHER_HDR_LEN);
	uint32_t ihl = (uint32_t)(ip->version_ihl & 0x0f) * 4;
	uint64_t now;
	struct rte_mbuf *r;
	uint32_t before;

	dp_count(&w->stats, DP_C_reass_frags, 1);
	if (unlikely(ip->src_addr != w->dp->cfg->peer_ip &&
		     ip->src_addr != atomic_load_explicit(&w->dp->peer_now, memory_order_relaxed))) {
		dp_count(&w->stats, DP_C_drop_reass_foreign, 1);
		rte_pktmbuf_free(m);
		return NULL;
	}
	/* uplink_classify() checked version, header and total length */
	if (unlikely(!frag_valid(ip, ihl))) {
		dp_count(&w->stats, DP_C_drop_ip_frag, 1);
		rte_pktmbuf_free(m);
		return NULL;
	}
	w->reass_seq++;
	now = reass_clock(w, rte_rdtsc());
	sweep(w, now);
	m->l2_len = RTE_ETHER_HDR_LEN;
	m->l3_len = ihl;
	before = w->reass_dr.cnt;
	r = rte_ipv4_frag_reassemble_packet(w->reass_tbl, &w->reass_dr, m, now, ip);
	/* The fragment alone on the death row: no room for it. Anything else
	 * there: an invalid datagram, every fragment of it counted. */
	if (w->reass_dr.cnt == before + 1 && w->reass_dr.row[before] == m)
		dp_count(&w->stats, DP_C_drop_reass_full, 1);
	else if (w->reass_dr.cnt > before)
		dp_count(&w->stats, DP_C_drop_reass_bad, dr_fragments(w, before));
	if (r == NULL)
		return NULL;
	dp_count(&w->stats, DP_C_reass_done, 1);
	/* The rest of the path wants one contiguous buffer (ESP opens in place).
	 * The mbufs are sized for the largest frame plus the tunnel headers
	 * (port.c), so a datagram the peer could have sent fits. */
	if (unlikely(r->nb_segs > 1 && rte_pktmbuf_linearize(r) < 0)) {
		dp_count(&w->stats, DP_C_drop_reass_oversize, 1);
		rte_pktmbuf_free(r);
		return NULL;
	}
	/* rte_ip_frag zeroed the checksum; nothing after this reads it, but the
	 * exception path hands the datagram to the kernel, which does. */
	ip = rte_pktmbuf_mtod_offset(r, struct rte_ipv4_hdr *, RTE_ETHER_HDR_LEN);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	return r;
}
