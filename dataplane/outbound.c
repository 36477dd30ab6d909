/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * outbound.c: local port RX -> tunnel, in the order packets travel:
 *
 *   1. segment by VLAN (trunk) or by port (access); strip the 802.1Q tag
 *      (and L2 safety, l2guard.h: a frame this appliance sent to the port
 *      coming back is a loop, dropped; ARP senders are noted for IP conflicts)
 *   2. learn the source MAC as local (a flapping MAC may be dampened);
 *      forward decision on the destination: known local -> drop (the local
 *      switch delivers it); known remote -> tunnel; broadcast, multicast,
 *      unknown unicast -> tunnel within the segment's storm-control rates
 *      (storm.c)
 *   3. clamp the MSS of TCP SYNs (mss.c); encapsulate: inner IPv4 (VTEP ->
 *      VTEP) / UDP 4789 / VXLAN (or, for a frame too big for the uplink MTU
 *      on a segment with pmtu = yes, answer with ICMP instead: pmtu.c)
 *   4. seal with this worker's own outbound SA (one esp_seal_burst call)
 *   5. outer Ethernet / IPv4 / UDP to the address and port the SA names
 *      (the peer's, or its NAT's: sa.h struct sa_outer) through the next hop
 *      (the configured gateway) -> uplink TX, in outer fragments when over
 *      the uplink MTU (frag.c)
 *
 * A worker without an outbound SA of its own (fewer CHILD_SAs than workers:
 * [ike] child_sas, or the peer initiated fewer) does steps 1-3 and hands the
 * encapsulated frames to the worker sa.c named in w->seal_by, through that
 * worker's seal ring; that worker does steps 4-5 with its SA, its UDP source
 * port and its IP ids. An SA is still sealed with by one thread only (esp.h),
 * and a flow, always on one worker, keeps its order.
 *
 * Every mbuf handed in ends in the uplink TX buffer, in another worker's seal
 * ring, answered locally, or dropped and counted (drop.h).
 */
#include <stdatomic.h>
#include <stdio.h>

#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_prefetch.h>
#include <rte_ring.h>

#include "dp.h"
#include "drop.h"
#include "encap.h"
#include "fdb.h"
#include "frag.h"
#include "gateway.h"
#include "ha.h"
#include "l2guard.h"
#include "mss.h"
#include "outbound.h"
#include "perftest.h"
#include "pmtu.h"
#include "port.h"
#include "rxwait.h"
#include "segment.h"
#include "storm.h"
#include "worker.h"

struct out_burst {
	struct rte_mbuf *m[DP_BURST_MAX];
	uint16_t seg[DP_BURST_MAX];
	uint16_t n;
};

/*
 * Step 1: which segment, and remove the tag. @return the segment index, or
 * DROPPED().
 */
static inline int local_segment(const struct dp_port *lp, struct rte_mbuf *m)
{
	struct rte_ether_hdr *eth;
	uint16_t vid = 0, seg;

	if (unlikely(m->nb_segs != 1))
		return DROPPED(multiseg);
	if (unlikely(m->data_len < RTE_ETHER_HDR_LEN))
		return DROPPED(local_short);
	if (unlikely(m->data_len > lp->max_frame))
		return DROPPED(too_big);
	eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	if (lp->mode == CFG_LOCAL_TRUNK && eth->ether_type == RTE_BE16(RTE_ETHER_TYPE_VLAN)) {
		if (unlikely(m->data_len < RTE_ETHER_HDR_LEN + 4))
			return DROPPED(local_short);
		/* IEEE 802.1Q: VID 0 is a priority tag, i.e. untagged. The PCP is
		 * not carried (the VNI names the segment; QoS is the underlay's). */
		vid = rte_be_to_cpu_16(((struct rte_vlan_hdr *)(eth + 1))->vlan_tci) & 0xfff;
		memmove((uint8_t *)eth + 4, eth, 2 * RTE_ETHER_ADDR_LEN);
		rte_pktmbuf_adj(m, 4);
	}
	/* Access ports carry everything, tags included, into their one segment. */
	/* segment_add() publishes the segment before its VLAN (release) */
	seg = atomic_load_explicit(&lp->vlan_seg[vid], memory_order_acquire);
	if (unlikely(seg == DP_SEG_NONE))
		return DROPPED(unknown_vlan);
	return seg;
}

/* Step 2: learning and the forward decision for the whole burst. */
static inline void learn_and_decide(struct worker *w, struct out_burst *in, struct out_burst *fwd,
				    struct drop_bin *dead, uint64_t now)
{
	struct dp *dp = w->dp;
	fdb_key_t keys[2 * DP_BURST_MAX];
	struct fdb_entry *ent[2 * DP_BURST_MAX];
	fdb_key_t fresh[DP_BURST_MAX];   /* learned as local during this burst */
	uint16_t nfresh = 0, n = in->n;

	for (uint16_t i = 0; i < n; i++) {
		struct rte_ether_hdr *eth = rte_pktmbuf_mtod(in->m[i], struct rte_ether_hdr *);

		keys[i] = fdb_key(in->seg[i], &eth->src_addr);
		keys[n + i] = fdb_key(in->seg[i], &eth->dst_addr);
	}
	for (uint32_t off = 0; off < 2u * n; off += RTE_HASH_LOOKUP_BULK_MAX)
		fdb_lookup_bulk(dp->fdb, keys + off, RTE_MIN(2u * n - off, (uint32_t)RTE_HASH_LOOKUP_BULK_MAX),
				ent + off);

	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = in->m[i];
		struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
		struct segment *s = &dp->seg[in->seg[i]];
		struct fdb_entry *dst;
		bool dst_local;

		if (ent[i] != NULL) {
			/* a flapping MAC, dampened: not from this side for now (l2guard.h) */
			if (unlikely(l2guard_seen(w, s, ent[i], FDB_LOCAL))) {
				drop_packet(w, dead, m, DROP(mac_dampened));
				continue;
			}
		} else if (fdb_learn_counted(w, s, keys[i], FDB_LOCAL) == 1) {
			fresh[nfresh++] = keys[i];
		}
		if (!rte_is_unicast_ether_addr(&eth->dst_addr)) {
			if (unlikely(s->storm_on)) {
				bool bc = rte_is_broadcast_ether_addr(&eth->dst_addr);

				if (!storm_pass(w, s, bc ? STORM_BROADCAST : STORM_MULTICAST, now)) {
					drop_packet(w, dead, m, bc ? DROP(storm_broadcast)
							       : DROP(storm_multicast));
					continue;
				}
			}
			fwd->seg[fwd->n] = in->seg[i];
			fwd->m[fwd->n++] = m;
			continue;
		}
		/* Read the side now: earlier frames of this burst may have moved it. */
		dst = ent[n + i];
		dst_local = dst != NULL && atomic_load_explicit(&dst->side, memory_order_relaxed) ==
						   FDB_LOCAL;
		for (uint16_t j = 0; dst == NULL && !dst_local && j < nfresh; j++)
			dst_local = fresh[j] == keys[n + i];
		if (dst_local) {
			drop_packet(w, dead, m, DROP(local_dst));
			continue;
		}
		/* Unknown unicast: no entry for the destination on either side (it
		 * is flooded at the other site). Known remote is never limited. */
		if (unlikely(s->storm_on) && dst == NULL && !storm_pass(w, s, STORM_UNKNOWN, now)) {
			drop_packet(w, dead, m, DROP(storm_unknown));
			continue;
		}
		fwd->seg[fwd->n] = in->seg[i];
		fwd->m[fwd->n++] = m;
	}
}

/* Steps 4 and 5: seal @p ne encapsulated frames with @p sa (this worker's,
 * read by the caller with worker_sa_out()), outer headers toward the SA's
 * destination through @p nh, onto the uplink. */
static void seal_and_send(struct worker *w, struct esp_sa *sa, const struct rte_ether_addr *nh,
			  struct rte_mbuf **m, struct esp_pkt *ep, uint16_t ne, struct drop_bin *dead)
{
	struct dp *dp = w->dp;
	const struct dp_config *c = dp->cfg;
	struct dp_port *up = &dp->port[dp->uplink];
	const uint32_t up_frame = RTE_ETHER_HDR_LEN + c->uplink_mtu;
	/* After the SA (acquire): its destination, address and ports as one
	 * word (sa.h), the same for the whole burst. */
	struct sa_outer to = sa_outer_unpack(atomic_load_explicit(&w->sa_outer,
								  memory_order_acquire));
	uint16_t sport = to.src_port_be ? to.src_port_be : w->udp_src_be;
	/* the uplink address, or an HA group's floating one while active */
	uint32_t src = ha_src_ip(dp);

	/* 4. Seal the burst with this worker's SA. */
	esp_seal_burst(sa, ep, ne);

	/* 5. Outer headers toward the peer, onto the uplink. */
	if (unlikely(to.dst_ip != w->outer_dst || src != w->outer_src)) {
		/* the peer moved (a NAT's new mapping), or we did (HA): a new
		 * checksum base */
		w->outer_dst = to.dst_ip;
		w->outer_src = src;
		w->outer_sum = ipv4_sum_base(src, to.dst_ip);
	}
	for (uint16_t i = 0; i < ne; i++) {
		if (unlikely(ep[i].status != ESP_OK)) {
			drop_packet(w, dead, m[i], ep[i].status == ESP_ERR_SA_EXPIRED
						     ? DROP(seq_exhausted) : DROP(seal));
			continue;
		}
		m[i]->data_len = OFF_ESP + ep[i].len;
		m[i]->pkt_len = m[i]->data_len;
		encap_outer(rte_pktmbuf_mtod(m[i], uint8_t *), nh, &up->mac, src, to.dst_ip,
			    w->outer_sum, sport, to.dst_port_be, w->ip_id, ep[i].len);
		w->ip_id += w->ip_id_step;
		/* isthmusctl perftest's path-MTU probes: DF, never fragmented */
		if (unlikely(m[i]->ol_flags & perftest_df_flag) &&
		    perftest_set_df(m[i], up_frame) < 0) {
			drop_packet(w, dead, m[i], DROP(perftest_df_big));
			continue;
		}
		dp_count(&w->stats, DP_C_tunnel_out, 1);
		if (unlikely(m[i]->data_len > up_frame)) {
			frag_output(w, m[i]); /* RFC 4459 section 4.2: outer fragments */
			continue;
		}
		port_tx_queue(w, dp->uplink, m[i]);
	}
	port_tx_flush(w, dp->uplink);
}

/* No SA here: the encapsulated frames go to worker @p to, which seals them. */
static void hand_to_sealer(struct worker *w, int to, struct rte_mbuf **m, uint16_t ne,
			   struct drop_bin *dead)
{
	struct worker *s = w->dp->worker[to];
	unsigned k = rte_ring_mp_enqueue_burst(s->seal_ring, (void **)m, ne, NULL);

	dp_count(&w->stats, DP_C_seal_handoff, k);
	for (unsigned i = k; i < ne; i++)
		drop_packet(w, dead, m[i], DROP(seal_handoff_full));
	if (k)
		rxwait_kick(s);
}

void outbound_input(struct worker *w, struct dp_port *lp, struct rte_mbuf **pkts, uint16_t n)
{
	struct dp *dp = w->dp;
	const struct dp_config *c = dp->cfg;
	struct out_burst in, fwd;
	struct drop_bin dead;
	struct esp_pkt ep[DP_BURST_MAX];
	struct rte_ether_addr nh;
	struct esp_sa *sa;
	int sealer = -1;
	uint64_t now;
	uint16_t ne = 0;

	in.n = fwd.n = dead.n = 0;
	dp_count(&w->stats, DP_C_local_rx, n);
	/* An HA member that is not active takes nothing in from its local
	 * ports (docs/ha.md): the active member of the group forwards them, and
	 * two would be a loop between the sites. Before learning too. */
	if (unlikely(!ha_forwarding(dp))) {
		for (uint16_t i = 0; i < n; i++)
			drop_packet(w, &dead, pkts[i], DROP(ha_standby));
		goto out;
	}
	now = rte_rdtsc();
	w->now_s = now / dp->tsc_hz;

	/* 1. Segment by VLAN. */
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		int s;

		if (i + 1 < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void *));
		s = local_segment(lp, m);
		if (unlikely(s < 0)) {
			drop_by_answer(w, &dead, m, s);
			continue;
		}
		if (unlikely(rte_is_multicast_ether_addr(
			    &rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->src_addr))) {
			drop_packet(w, &dead, m, DROP(src_mcast));
			continue;
		}
		/* A broadcast this appliance just sent to the port, back again: a loop.
		 * Dropped before learning (its source is a remote MAC) and before
		 * the tunnel, where it would multiply. */
		if (l2guard_looped(w, &dp->seg[s], m, in.m, in.seg, in.n)) {
			drop_packet(w, &dead, m, DROP(loop));
			continue;
		}
		l2guard_arp_seen(w, &dp->seg[s], m, FDB_LOCAL);
		if (unlikely(gateway_outbound(w, &dp->seg[s], m)))
			continue; /* answered locally (local egress) */
		/* The tunnel headers go into the headroom: get its lines coming. */
		rte_prefetch0(rte_pktmbuf_mtod(m, uint8_t *) - TUN_HDR_LEN);
		rte_prefetch0(rte_pktmbuf_mtod(m, uint8_t *) - TUN_HDR_LEN + RTE_CACHE_LINE_SIZE);
		in.seg[in.n] = s;
		in.m[in.n++] = m;
	}

	/* 2. Learn, and decide: tunnel or drop. */
	learn_and_decide(w, &in, &fwd, &dead, now);
	if (fwd.n == 0)
		goto out;
	/* One read per burst: the control socket may swap the SA (rekey); the old
	 * one lives until this worker's next quiescent state (sa.c). Without one,
	 * the worker sa.c names seals for this one. */
	sa = worker_sa_out(w);
	if (unlikely(sa == NULL))
		sealer = atomic_load_explicit(&w->seal_by, memory_order_acquire);
	if (unlikely((sa == NULL && sealer < 0) || !nexthop_mac(&dp->nh, &nh))) {
		for (uint16_t i = 0; i < fwd.n; i++)
			drop_packet(w, &dead, fwd.m[i], sa || sealer >= 0 ? DROP(no_nexthop) : DROP(no_sa));
		fwd.n = 0;
		goto out;
	}

	/* 3. MSS clamping; encapsulate: VXLAN inside, room in front for ESP and
	 * the outer headers. */
	for (uint16_t i = 0; i < fwd.n; i++) {
		struct rte_mbuf *m = fwd.m[i];
		struct segment *s = &dp->seg[fwd.seg[i]];
		uint16_t flen = m->data_len;
		uint8_t *hdr;

		/* Too big for the underlay in one piece: fragmented after sealing
		 * (step 5), unless the segment answers with ICMP instead (pmtu.c). */
		if (unlikely(encap_outer_ip_len(flen) > c->uplink_mtu) && s->pmtu &&
		    pmtu_answer(w, s, m))
			continue;
		/* the frame as it will travel: tag already stripped on a trunk */
		if (s->mss4)
			mss_clamp(w, s, m);
		hdr = (uint8_t *)rte_pktmbuf_prepend(m, TUN_HDR_LEN);
		if (unlikely(hdr == NULL)) {
			drop_packet(w, &dead, m, DROP(no_headroom));
			continue;
		}
		encap_inner(hdr + OFF_INNER_IP, flen, c->local_vtep, c->peer_vtep, w->inner_sum,
			    s->vxlan_vni_be);
		ep[ne] = (struct esp_pkt){
			.buf = hdr + OFF_ESP,
			.len = TUN_INNER_LEN + flen,
			.room = m->data_len - OFF_ESP + rte_pktmbuf_tailroom(m),
			.next_header = IPPROTO_IPIP, /* 4: IPv4, RFC 4303 section 2.6 */
		};
		w->seg_traffic[fwd.seg[i]].out_pkts++;
		w->seg_traffic[fwd.seg[i]].out_bytes += flen;
		fwd.m[ne++] = m;
	}

	if (unlikely(sa == NULL))
		hand_to_sealer(w, sealer, fwd.m, ne, &dead);
	else
		seal_and_send(w, sa, &nh, fwd.m, ep, ne, &dead);
out:
	drop_bin_free(&dead);
}

void outbound_seal_handed(struct worker *w, struct rte_mbuf **pkts, uint16_t n)
{
	struct esp_sa *sa = worker_sa_out(w);
	struct esp_pkt ep[DP_BURST_MAX];
	struct rte_ether_addr nh;
	struct drop_bin dead = { .n = 0 };

	if (unlikely(sa == NULL || !nexthop_mac(&w->dp->nh, &nh))) {
		/* this worker lost its SA since sa.c named it (the tunnel is going down) */
		for (uint16_t i = 0; i < n; i++)
			drop_packet(w, &dead, pkts[i], sa ? DROP(no_nexthop) : DROP(no_sa));
		goto out;
	}
	/* as the handing worker's step 3 left them: headers in front, VXLAN inside */
	for (uint16_t i = 0; i < n; i++)
		ep[i] = (struct esp_pkt){
			.buf = rte_pktmbuf_mtod(pkts[i], uint8_t *) + OFF_ESP,
			.len = pkts[i]->data_len - OFF_INNER_IP,
			.room = pkts[i]->data_len - OFF_ESP + rte_pktmbuf_tailroom(pkts[i]),
			.next_header = IPPROTO_IPIP,
		};
	seal_and_send(w, sa, &nh, pkts, ep, n, &dead);
out:
	drop_bin_free(&dead);
}

#define SEAL_RING 1024 /**< frames waiting for a sealing worker: 32 bursts */

int outbound_init(struct dp *dp, char *err, size_t errlen)
{
	for (unsigned i = 0; i < dp->nb_workers; i++) {
		struct worker *w = dp->worker[i];
		char name[RTE_RING_NAMESIZE];

		atomic_store_explicit(&w->seal_by, -1, memory_order_relaxed);
		snprintf(name, sizeof(name), "isthmus_seal%u", i);
		w->seal_ring = rte_ring_create(name, SEAL_RING, rte_lcore_to_socket_id(w->lcore),
					       RING_F_SC_DEQ);
		if (w->seal_ring == NULL) {
			snprintf(err, errlen, "seal ring of worker %u: %s", i, rte_strerror(rte_errno));
			return -1;
		}
	}
	return 0;
}

void outbound_fini(struct dp *dp)
{
	for (unsigned i = 0; i < dp->nb_workers; i++) {
		struct worker *w = dp->worker[i];
		void *m;

		if (w == NULL || w->seal_ring == NULL)
			continue;
		while (rte_ring_sc_dequeue(w->seal_ring, &m) == 0) {
			dp_count(&w->stats, DP_C_drop_handoff_shutdown, 1);
			rte_pktmbuf_free(m);
		}
		rte_ring_free(w->seal_ring);
		w->seal_ring = NULL;
	}
}
