/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * inbound.c: uplink RX -> local ports, in the order packets travel:
 *
 *   1. classify (exception.h): ESP in UDP 4500 for our address (RFC 3948)
 *      stays on the fast path; ARP, ICMP, IKE, UDP 4500 with the non-ESP
 *      marker and NAT keepalives go to the exception path (exception_dp.c): the
 *      configured peer's IKE in its priority class, the rest policed;
 *      outer fragments for us are reassembled first (reass.c) and then
 *      classified whole; the rest is dropped
 *   2. steer by SA: SA by SPI (rte_hash), outer source must be the SA's
 *      peer; a packet of an SA another worker opens is handed to that worker
 *      (its ring); an SA no worker opens yet is claimed on trial
 *   3. open: anti-replay and ICV (esp_open_burst, one call per SA in the
 *      burst); a trial claim becomes ownership only if a packet authenticated
 *   4. check policy (inner IPv4 VTEP -> VTEP, UDP 4789, VXLAN VNI of an
 *      extended segment), decapsulate
 *   5. deliver: learn the source MAC as remote (a flapping MAC may be
 *      dampened); note ARP senders and broadcasts for L2 safety (l2guard.h);
 *      clamp the MSS of TCP SYNs (mss.c); restore the segment's VLAN tag;
 *      local TX. Never back into the tunnel (split horizon).
 *
 * Each step is a function below, in that order; inbound_burst() calls them.
 * Packets leave in the order they came. Every mbuf handed in ends on a local
 * port, in a hand-off ring, on the exception path, or dropped and counted
 * (drop.h).
 */
#include <stdatomic.h>

#include <rte_ethdev.h>
#include <rte_hash.h>
#include <rte_pause.h>
#include <rte_prefetch.h>
#include <rte_ring.h>

#include "ha.h"
#include "dp.h"
#include "drop.h"
#include "encap.h"
#include "exception_dp.h"
#include "fdb.h"
#include "gateway.h"
#include "hash_keys.h"
#include "inbound.h"
#include "l2guard.h"
#include "mss.h"
#include "perftest.h"
#include "port.h"
#include "reass.h"
#include "rxwait.h"
#include "sa.h"
#include "segment.h"
#include "worker.h"

/* Where classify() sends a packet (>= 0; a drop is < 0, drop.h). */
enum uplink_way {
	TO_ESP = 0,        /* the fast path: ESP for one of our SAs, maybe */
	TO_IKE = 1,        /* the exception path's priority class: the peer's IKE */
	TO_EXCEPTION = 2,  /* the exception path's policed class */
	TO_REASS = 3,      /* an outer fragment for us: reassemble first */
};

/* Drop counter of each ESP status esp_open_burst() returns. */
static const uint8_t esp_status_counter[ESP_STATUS_MAX] = {
	[ESP_OK] = DP_C_MAX,
	[ESP_ERR_LENGTH] = DROP(esp_short),
	[ESP_ERR_NO_ROOM] = DROP(esp_other),
	[ESP_ERR_SPI] = DROP(esp_other),
	[ESP_ERR_REPLAYED] = DROP(replayed),
	[ESP_ERR_TOO_OLD] = DROP(too_old),
	[ESP_ERR_ICV] = DROP(icv),
	[ESP_ERR_PADDING] = DROP(padding),
	[ESP_ERR_SA_EXPIRED] = DROP(esp_other),
};

/* One burst on its way through the steps. m[0..n) are the packets still on
 * the fast path, in arrival order; each step keeps those that go on. */
struct in_burst {
	struct rte_mbuf *m[DP_BURST_MAX];
	uint16_t n;
	uint32_t spi[DP_BURST_MAX];           /* steps 1-2, host order */
	struct esp_pkt ep[DP_BURST_MAX];      /* steps 1-4 */
	struct sa_in *sa[DP_BURST_MAX];       /* steps 2-4 */
	uint16_t seg[DP_BURST_MAX];           /* steps 4-5: segment index */
	fdb_key_t key[DP_BURST_MAX];          /* steps 4-5: (segment, source MAC) */
	struct rte_mbuf *exc[DP_BURST_MAX];   /* exception path, policed */
	uint16_t nexc;
	struct rte_mbuf *ike[DP_BURST_MAX];   /* exception path, the peer's IKE: priority */
	uint16_t nike;
	struct drop_bin dead;
	struct sa_in *trial[DP_BURST_MAX];    /* SAs this burst claimed on trial (step 2) */
	uint16_t ntrial;
	const struct sa_in *waited_out;       /* another's trial on it did not settle in time */
};

/*
 * Step 1 for one packet, on top of exception.h's uplink_classify(): the ESP
 * length comes from the UDP length field, which must fit the IPv4 packet.
 * @return TO_ESP (with *esp and *esp_len set), TO_IKE (the peer's IKE),
 * TO_EXCEPTION, TO_REASS, or DROPPED().
 */
static inline int uplink_way(struct dp *dp, struct rte_mbuf *m, uint8_t **esp,
			     uint32_t *esp_len)
{
	static const uint8_t class_counter[] = {
		[UPLINK_DROP_SHORT] = DROP(uplink_short),
		[UPLINK_DROP_IP_BAD] = DROP(ip_bad),
		[UPLINK_DROP_NOT_US] = DROP(not_for_us),
		[UPLINK_DROP_PROTO] = DROP(proto),
		[UPLINK_DROP_ETHERTYPE] = DROP(ethertype),
	};
	const struct rte_ipv4_hdr *ip;
	const struct rte_udp_hdr *udp;
	uint16_t off = 0, udp_len, ip_end;
	enum uplink_class k;

	if (unlikely(m->nb_segs != 1))
		return DROPPED(multiseg);
	k = uplink_classify_ha(m, dp->cfg->uplink_ip, dp->cfg->ha.vip, dp->cfg->peer_ip,
			       atomic_load_explicit(&dp->peer_now, memory_order_relaxed), &off);
	if (k == UPLINK_IKE)
		return TO_IKE;
	if (k == UPLINK_KERNEL)
		return TO_EXCEPTION;
	if (k == UPLINK_FRAG)
		return TO_REASS;
	if (k == UPLINK_VRRP)
		return TO_IKE; /* the priority class: an election must not starve */
	if (unlikely(k != UPLINK_ESP))
		return -(int)(k < RTE_DIM(class_counter) ? class_counter[k] : DROP(proto));
	/* an HA member that is not active opens nothing (docs/ha.md) */
	if (unlikely(!ha_forwarding(dp)))
		return DROPPED(ha_standby);
	ip = rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *, RTE_ETHER_HDR_LEN);
	udp = rte_pktmbuf_mtod_offset(m, const struct rte_udp_hdr *, off - sizeof(*udp));
	udp_len = rte_be_to_cpu_16(udp->dgram_len);
	ip_end = RTE_ETHER_HDR_LEN + rte_be_to_cpu_16(ip->total_length);
	if (unlikely(udp_len < sizeof(*udp) || off - sizeof(*udp) + udp_len > ip_end))
		return DROPPED(udp_short);
	*esp_len = udp_len - sizeof(*udp);
	if (unlikely(*esp_len < ESP_PAYLOAD_OFF + 2 + ESP_ICV_LEN))
		return DROPPED(esp_short);
	/* Ethernet padding and anything after the UDP datagram go now. */
	rte_pktmbuf_trim(m, m->data_len - (off + *esp_len));
	*esp = rte_pktmbuf_mtod_offset(m, uint8_t *, off);
	return TO_ESP;
}

/* Step 1: classify the burst: ESP to b->m, IKE and the rest of the
 * exception path aside, outer fragments through reassembly, drops counted. */
static inline void classify(struct worker *w, struct in_burst *b, struct rte_mbuf **pkts,
			    uint16_t n)
{
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		uint8_t *esp = NULL;
		uint32_t esp_len = 0;
		int v;

		if (i + 1 < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void *));
		v = uplink_way(w->dp, m, &esp, &esp_len);
		if (unlikely(v == TO_REASS)) {
			/* An outer fragment: held until its datagram is whole, which
			 * then goes on as if it had come in one piece. */
			m = reass_input(w, m);
			if (m == NULL)
				continue;
			v = uplink_way(w->dp, m, &esp, &esp_len);
			if (unlikely(v == TO_REASS))
				v = DROPPED(ip_frag); /* cannot be: reassembled means whole */
		}
		if (v == TO_ESP) {
			b->ep[b->n] = (struct esp_pkt){ .buf = esp, .len = esp_len };
			memcpy(&b->spi[b->n], esp, sizeof(b->spi[b->n])); /* not 4-byte aligned */
			b->spi[b->n] = rte_be_to_cpu_32(b->spi[b->n]);
			b->m[b->n++] = m;
		} else if (v == TO_IKE) {
			b->ike[b->nike++] = m;
		} else if (v == TO_EXCEPTION) {
			b->exc[b->nexc++] = m;
		} else {
			drop_by_answer(w, &b->dead, m, v);
		}
	}
}

#define SA_CLAIM_WAIT_US 100   /* longest wait for another worker's trial (one burst) */

/*
 * Step 2, for one packet: which worker opens @p sa: this one, or the one to hand it to.
 *
 * Ownership must not be given before an ICV: anyone who spoofs the peer's
 * address could then pin an SA to the worker of their choice (RSS on their
 * UDP ports). A worker that finds the SA unowned claims it on trial
 * (SA_OWNER_TRYING | its index) for the rest of the burst; after step 3, sa_trials_settle()
 * confirms the claim if a packet authenticated and releases it otherwise.
 * esp.h's one-thread rule holds throughout: a trial claim is exclusive, and
 * release/acquire order hands the SA's state (replay window) from one
 * opener to the next.
 *
 * A worker that meets another's trial waits for it (one burst of opens, a
 * few microseconds); after SA_CLAIM_WAIT_US (that worker descheduled) it
 * hands the packet to that worker, which decides when it comes to it, and
 * does not wait again for that SA in this burst.
 */
static inline int sa_claim(struct worker *w, struct sa_in *sa, struct in_burst *b)
{
	const int me = (int)w->idx, trying = SA_OWNER_TRYING | me;
	int owner = atomic_load_explicit(&sa->owner, memory_order_acquire);
	uint64_t deadline = 0;

	for (;;) {
		if (likely(owner == me) || owner == trying)
			return me;
		if (owner == SA_OWNER_NONE) {
			if (atomic_compare_exchange_strong_explicit(&sa->owner, &owner, trying,
								    memory_order_acq_rel,
								    memory_order_acquire)) {
				b->trial[b->ntrial++] = sa;
				return me;
			}
			continue; /* owner holds what another worker wrote */
		}
		if (!(owner & SA_OWNER_TRYING))
			return owner;
		/* another worker opens it on trial right now */
		if (sa == b->waited_out)
			return owner & ~SA_OWNER_TRYING;
		if (deadline == 0) {
			deadline = rte_rdtsc() + w->dp->tsc_hz * SA_CLAIM_WAIT_US / 1000000;
		} else if (rte_rdtsc() > deadline) {
			dp_count(&w->stats, DP_C_sa_claim_waited_out, 1);
			b->waited_out = sa;
			return owner & ~SA_OWNER_TRYING;
		}
		rte_pause();
		owner = atomic_load_explicit(&sa->owner, memory_order_acquire);
	}
}

/*
 * Step 2: the SA of each packet by its SPI; the outer source must be that
 * SA's peer. Packets of an SA another worker opens go to that worker's
 * hand-off ring; b->m keeps those this worker opens.
 */
static inline void steer_by_sa(struct worker *w, struct in_burst *b)
{
	struct dp *dp = w->dp;
	uint16_t k = 0;

	/* One probe per run of equal SPIs: a burst is mostly one SA (one peer
	 * worker, RSS on its UDP source port). */
	hash_lookup_runs(dp->spi_hash, b->spi, sizeof(b->spi[0]), b->n, (void **)b->sa);
	for (uint16_t i = 0; i < b->n; i++) {
		struct rte_mbuf *m = b->m[i];
		struct sa_in *sa = b->sa[i];
		const struct rte_ipv4_hdr *ip =
			rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *, OFF_OUTER_IP);
		int owner;

		if (unlikely(sa == NULL)) {
			drop_packet(w, &b->dead, m, DROP(unknown_spi));
			continue;
		}
		/* the SA's peer as charon reports it (a NAT's address); moved only
		 * by an authenticated IKE message (sa_update), never by ESP
		 * from elsewhere, however well it authenticates */
		if (unlikely(ip->src_addr !=
			     atomic_load_explicit(&sa->peer_ip, memory_order_relaxed))) {
			drop_packet(w, &b->dead, m, DROP(outer_src));
			continue;
		}
		/* esp.h: one thread opens an SA. Claimed on trial here,
		 * confirmed only after step 3 authenticated a packet. */
		owner = sa_claim(w, sa, b);
		if (unlikely(owner != (int)w->idx)) {
			/* Another worker opens it: RSS put it here (a
			 * reassembled datagram, NICs hash fragments on the
			 * addresses only), or the underlay moved a flow. */
			struct worker *o = dp->worker[owner];

			if (rte_ring_mp_enqueue(o->handoff, m) != 0) {
				drop_packet(w, &b->dead, m, DROP(sa_owner));
				continue;
			}
			dp_count(&w->stats, DP_C_handoff, 1);
			rxwait_kick(o);
			continue;
		}
		b->m[k] = m;
		b->ep[k] = b->ep[i];
		b->sa[k++] = sa;
	}
	b->n = k;
}

/* Step 3: esp_open_burst once per distinct SA of the burst (usually one). */
static inline void open_by_sa(struct in_burst *b)
{
	struct esp_pkt tmp[DP_BURST_MAX];
	uint16_t idx[DP_BURST_MAX];
	uint64_t done = 0;
	uint16_t same = 1;

	/* The common case: the whole burst is one SA (one peer worker). */
	while (same < b->n && b->sa[same] == b->sa[0])
		same++;
	if (b->n == 0 || same == b->n) {
		if (b->n)
			esp_open_burst(b->sa[0]->sa, b->ep, b->n);
		return;
	}
	for (uint16_t i = 0; i < b->n; i++) {
		struct sa_in *sa = b->sa[i];
		uint16_t k = 0;

		if (done & (1ull << i))
			continue;
		for (uint16_t j = i; j < b->n; j++)
			if (b->sa[j] == sa && !(done & (1ull << j))) {
				idx[k] = j;
				tmp[k++] = b->ep[j];
				done |= 1ull << j;
			}
		esp_open_burst(sa->sa, tmp, k);
		for (uint16_t j = 0; j < k; j++)
			b->ep[idx[j]] = tmp[j];
	}
}

/*
 * After step 3: confirm each trial claim of this burst whose SA opened a
 * packet (a good ICV, RFC 4303 section 3.4.4: only then is it the peer's),
 * release the others for the next worker.
 */
static inline void sa_trials_settle(struct worker *w, struct in_burst *b)
{
	for (uint16_t t = 0; t < b->ntrial; t++) {
		struct sa_in *sa = b->trial[t];
		bool good = false;

		for (uint16_t i = 0; i < b->n && !good; i++)
			good = b->sa[i] == sa && b->ep[i].status == ESP_OK;
		if (!good)
			dp_count(&w->stats, DP_C_sa_claim_released, 1);
		atomic_store_explicit(&sa->owner, good ? (int)w->idx : SA_OWNER_NONE,
				      memory_order_release);
	}
	b->ntrial = 0;
}

/* The last VNI policy_segment() looked up in this burst, and its answer. */
struct vni_memo {
	uint32_t vni;   /* > 24 bits: none yet */
	int seg;        /* segment index or DROPPED(unknown_vni) */
};

/*
 * Step 4 for one packet: RFC 4301 section 5.2 style check of what came out
 * of the SA. @return segment index or DROPPED().
 */
static inline int policy_segment(const struct dp *dp, const struct sa_in *sa,
				 const struct esp_pkt *ep, struct vni_memo *memo)
{
	const uint8_t *p = ep->buf + ESP_PAYLOAD_OFF;
	const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)p;
	const struct rte_udp_hdr *udp = (const struct rte_udp_hdr *)(p + 20);
	const struct vxlan_hdr *vx = (const struct vxlan_hdr *)(p + 28);
	const struct segment *s;
	uint32_t vni;

	if (unlikely(ep->next_header != IPPROTO_IPIP))
		return DROPPED(next_header);
	if (unlikely(ep->len < TUN_INNER_LEN + RTE_ETHER_HDR_LEN))
		return DROPPED(inner_short);
	if (unlikely(ip->version_ihl != RTE_IPV4_VHL_DEF ||
		     rte_be_to_cpu_16(ip->total_length) != ep->len ||
		     rte_ipv4_frag_pkt_is_fragmented(ip)))
		return DROPPED(inner_bad);
	if (unlikely(ip->src_addr != sa->peer_vtep || ip->dst_addr != sa->local_vtep))
		return DROPPED(inner_addr);
	if (unlikely(ip->next_proto_id != IPPROTO_UDP || udp->dst_port != RTE_BE16(VXLAN_PORT) ||
		     rte_be_to_cpu_16(udp->dgram_len) != ep->len - 20))
		return DROPPED(inner_proto);
	if (unlikely(!(vx->flags & VXLAN_FLAG_I)))
		return DROPPED(vxlan_flags);
	/* A burst is mostly one segment: one hash probe per change of VNI. */
	vni = rte_be_to_cpu_32(vx->vni_rsvd) >> 8;
	/* isthmusctl perftest's own frames: never a segment's (perftest.c) */
	if (unlikely(vni == CTL_PERFTEST_VNI))
		return SEG_PERFTEST;
	if (vni != memo->vni) {
		s = segment_by_vni(dp, vni);
		memo->vni = vni;
		memo->seg = s != NULL ? s->idx : DROPPED(unknown_vni);
	}
	return memo->seg;
}


/* Step 4, after the check: strip ESP and the inner IPv4/UDP/VXLAN headers,
 * leaving the inner frame. */
static inline void decapsulate(struct rte_mbuf *m, const struct esp_pkt *ep)
{
	rte_pktmbuf_adj(m, (ep->buf - rte_pktmbuf_mtod(m, uint8_t *)) + ESP_PAYLOAD_OFF +
				   TUN_INNER_LEN);
	rte_pktmbuf_trim(m, m->data_len - (ep->len - TUN_INNER_LEN));
}

/* Step 4: what opened must be VXLAN from the peer's VTEP to ours, of an
 * extended segment; decapsulate. b->m keeps the frames to deliver, in
 * arrival order, with their segment and MAC table key. */
static inline void check_policy(struct worker *w, struct in_burst *b)
{
	struct dp *dp = w->dp;
	struct vni_memo memo = { .vni = UINT32_MAX, .seg = 0 };
	uint16_t ok = 0;

	for (uint16_t i = 0; i < b->n; i++) {
		struct rte_mbuf *m = b->m[i];
		const struct esp_pkt *ep = &b->ep[i];
		int s;

		if (unlikely(ep->status != ESP_OK)) {
			if (unlikely(ep->status >= ESP_STATUS_MAX))
				fatal("%s: esp_open_burst returned status %u", __func__, ep->status);
			drop_packet(w, &b->dead, m, esp_status_counter[ep->status]);
			continue;
		}
		s = policy_segment(dp, b->sa[i], ep, &memo);
		if (unlikely(s < 0)) {
			drop_by_answer(w, &b->dead, m, s);
			continue;
		}
		/* Authenticated and from the peer: its Ethernet source is our next
		 * hop while ARP has not answered; and, when the peer is on this
		 * link, whatever ARP said since (nexthop_follow: an HA group's
		 * split brain, a peer that moved) */
		if (unlikely(!nexthop_known(&dp->nh)))
			nexthop_learn(&dp->nh, &rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->src_addr);
		else if (nexthop_on_link(&dp->nh, atomic_load_explicit(&b->sa[i]->peer_ip,
									memory_order_relaxed)) &&
			 unlikely(nexthop_follow(&dp->nh, &rte_pktmbuf_mtod(m, struct rte_ether_hdr *)
						 ->src_addr)))
			dp_count(&w->stats, DP_C_nexthop_followed, 1);
		decapsulate(m, ep);
		if (unlikely(s == SEG_PERFTEST)) {
			perftest_input(w, m, &b->dead);
			continue;
		}
		if (unlikely(rte_is_multicast_ether_addr(
			    &rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->src_addr))) {
			drop_packet(w, &b->dead, m, DROP(src_mcast));
			continue;
		}
		b->key[ok] = fdb_key(s, &rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->src_addr);
		b->seg[ok] = s;
		b->m[ok++] = m;
	}
	b->n = ok;
}

/* Step 5: learn remote sources, L2 safety, MSS, restore the tag, local TX. */
static inline void deliver(struct worker *w, struct in_burst *b)
{
	struct dp *dp = w->dp;
	struct fdb_entry *ent[DP_BURST_MAX];
	bool touched[DP_MAX_PORTS] = { false };

	for (uint32_t off = 0; off < b->n; off += RTE_HASH_LOOKUP_BULK_MAX)
		fdb_lookup_bulk(dp->fdb, b->key + off,
				RTE_MIN(b->n - off, (uint32_t)RTE_HASH_LOOKUP_BULK_MAX), ent + off);
	for (uint16_t i = 0; i < b->n; i++) {
		struct rte_mbuf *m = b->m[i];
		struct segment *s = &dp->seg[b->seg[i]];
		struct dp_port *lp = &dp->port[s->port];
		uint32_t flen;

		/* the role may have changed since step 1: nothing goes to a local
		 * port of a member that is not active */
		if (unlikely(!ha_forwarding(dp))) {
			drop_packet(w, &b->dead, m, DROP(ha_standby));
			continue;
		}
		if (ent[i] != NULL) {
			/* a flapping MAC, dampened: not from this side for now (l2guard.h) */
			if (unlikely(l2guard_seen(w, s, ent[i], FDB_REMOTE))) {
				drop_packet(w, &b->dead, m, DROP(mac_dampened));
				continue;
			}
		} else {
			/* A repeat of a MAC first seen earlier in this burst finds it
			 * learned (0): refresh happened with the learn. */
			(void)fdb_learn_counted(w, s, b->key[i], FDB_REMOTE);
		}
		if (unlikely(gateway_inbound_blocked(s, m))) {
			drop_packet(w, &b->dead, m, DROP(remote_gateway));
			continue;
		}
		/* L2 safety: ARP senders (IP conflicts), and the broadcasts a loop on
		 * the local port would bring back (l2guard.h) */
		l2guard_arp_seen(w, s, m, FDB_REMOTE);
		/* the frame as it travelled: before the trunk tag is restored */
		if (s->mss4)
			mss_clamp(w, s, m);
		l2guard_sent_local(w, s, m);
		flen = m->pkt_len; /* the frame as carried in the tunnel, untagged */
		if (unlikely(vlan_restore(m, lp, s) < 0)) {
			drop_packet(w, &b->dead, m, DROP(no_headroom));
			continue;
		}
		dp_count(&w->stats, DP_C_tunnel_in, 1);
		w->seg_traffic[s->idx].in_pkts++;
		w->seg_traffic[s->idx].in_bytes += flen;
		port_tx_queue(w, s->port, m);
		touched[s->port] = true;
	}
	for (uint16_t p = 0; p < dp->nb_ports; p++)
		if (touched[p])
			port_tx_flush(w, p);
}

/* The steps in the order packets travel; then what left the fast path. */
static void inbound_burst(struct worker *w, struct rte_mbuf **pkts, uint16_t n)
{
	struct in_burst b;

	b.n = b.nexc = b.nike = b.dead.n = b.ntrial = 0;
	b.waited_out = NULL;
	w->now_s = rte_rdtsc() / w->dp->tsc_hz;

	classify(w, &b, pkts, n);       /* 1 */
	steer_by_sa(w, &b);             /* 2 */
	/* 3. Anti-replay, ICV, decrypt; then the SAs claimed on trial get their
	 * owner (a packet authenticated) or are released (none did). */
	open_by_sa(&b);
	if (unlikely(b.ntrial))
		sa_trials_settle(w, &b);
	check_policy(w, &b);            /* 4 */
	deliver(w, &b);                 /* 5 */

	if (b.nike)
		exception_input_ike(w, b.ike, b.nike);
	if (b.nexc)
		exception_input(w, b.exc, b.nexc);
	drop_bin_free(&b.dead);
	reass_flush(w);
}

void inbound_input(struct worker *w, struct rte_mbuf **pkts, uint16_t n)
{
	dp_count(&w->stats, DP_C_uplink_rx, n);
	inbound_burst(w, pkts, n);
}

void inbound_handed(struct worker *w, struct rte_mbuf **pkts, uint16_t n)
{
	inbound_burst(w, pkts, n);
}
