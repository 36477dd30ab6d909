/*
 * inbound.c: uplink RX -> local ports, in the order packets travel:
 *
 *   1. classify (exception.h): ESP in UDP 4500 for our address (RFC 3948)
 *      stays on the fast path; ARP, ICMP, IKE, UDP 4500 with the non-ESP
 *      marker and NAT keepalives go to the exception path (exception_dp.c): the
 *      configured peer's IKE in its priority class, the rest policed;
 *      outer fragments for us are reassembled first (reass.c) and then
 *      classified whole; the rest is dropped
 *   2. SA by SPI (rte_hash), outer source must be the SA's peer; a packet
 *      of an SA another worker opens is handed to that worker (its ring); an
 *      SA no worker opens yet is claimed on trial
 *   3. open: anti-replay and ICV (esp_open_burst, one call per SA in the
 *      burst); a trial claim becomes ownership only if a packet authenticated
 *   4. policy check (inner IPv4 VTEP -> VTEP, UDP 4789, VXLAN VNI of an
 *      extended segment), decapsulate
 *   5. learn the source MAC as remote (a flapping MAC may be dampened); note
 *      ARP senders and broadcasts for L2 safety (l2guard.h); clamp the MSS of
 *      TCP SYNs (mss.c); restore the segment's VLAN tag; local TX. Never back
 *      into the tunnel (split horizon).
 *
 * Packets leave in the order they came.
 */
#include <rte_ethdev.h>
#include <rte_hash.h>
#include <rte_pause.h>
#include <rte_prefetch.h>
#include <rte_ring.h>

#include "dp.h"
#include "encap.h"
#include "exception_dp.h"
#include "fdb.h"
#include "gateway.h"
#include "hash_keys.h"
#include "inbound.h"
#include "l2guard.h"
#include "mss.h"
#include "port.h"
#include "reass.h"
#include "rxwait.h"
#include "sa.h"
#include "segment.h"
#include "worker.h"

#define DROP(reason) DP_C_drop_##reason
#define TO_EXCEPTION (-1)
#define TO_ESP (-2)
#define TO_REASS (-3)
#define TO_IKE (-4)

/* Drop counter of each ESP status (open and seal). */
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

struct in_burst {
	struct rte_mbuf *m[DP_BURST_MAX];
	struct esp_pkt ep[DP_BURST_MAX];
	struct sa_in *sa[DP_BURST_MAX];
	uint16_t n;
	struct rte_mbuf *exc[DP_BURST_MAX];   /* exception path, policed */
	uint16_t nexc;
	struct rte_mbuf *ike[DP_BURST_MAX];   /* exception path, the peer's IKE: priority */
	uint16_t nike;
	struct rte_mbuf *dead[DP_BURST_MAX];
	uint16_t ndead;
	struct sa_in *trial[DP_BURST_MAX];    /* SAs this burst claimed on trial (step 2) */
	uint16_t ntrial;
	const struct sa_in *waited_out;       /* another's trial on it did not settle in time */
};

static inline void in_drop(struct worker *w, struct in_burst *b, struct rte_mbuf *m, int reason)
{
	dp_count(&w->stats, reason, 1);
	b->dead[b->ndead++] = m;
}

/*
 * Step 1, on top of exception.h's uplink_classify(): the ESP length comes
 * from the UDP length field, which must fit the IPv4 packet. @return TO_ESP
 * (with *esp and *esp_len set), TO_IKE (the peer's IKE), TO_EXCEPTION, TO_REASS,
 * or a drop counter id.
 */
static inline int uplink_sort(const struct dp_config *c, struct rte_mbuf *m, uint8_t **esp,
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
		return DROP(multiseg);
	k = uplink_classify(m, c->uplink_ip, c->peer_ip, &off);
	if (k == UPLINK_IKE)
		return TO_IKE;
	if (k == UPLINK_KERNEL)
		return TO_EXCEPTION;
	if (k == UPLINK_FRAG)
		return TO_REASS;
	if (unlikely(k != UPLINK_ESP))
		return k < RTE_DIM(class_counter) ? class_counter[k] : DROP(proto);
	ip = rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *, RTE_ETHER_HDR_LEN);
	udp = rte_pktmbuf_mtod_offset(m, const struct rte_udp_hdr *, off - sizeof(*udp));
	udp_len = rte_be_to_cpu_16(udp->dgram_len);
	ip_end = RTE_ETHER_HDR_LEN + rte_be_to_cpu_16(ip->total_length);
	if (unlikely(udp_len < sizeof(*udp) || off - sizeof(*udp) + udp_len > ip_end))
		return DROP(udp_short);
	*esp_len = udp_len - sizeof(*udp);
	if (unlikely(*esp_len < ESP_PAYLOAD_OFF + 2 + ESP_ICV_LEN))
		return DROP(esp_short);
	/* Ethernet padding and anything after the UDP datagram go now. */
	rte_pktmbuf_trim(m, m->data_len - (off + *esp_len));
	*esp = rte_pktmbuf_mtod_offset(m, uint8_t *, off);
	return TO_ESP;
}

#define SA_CLAIM_WAIT_US 100   /* longest wait for another worker's trial (one burst) */

/*
 * Step 2: which worker opens @p sa: this one, or the one to hand it to.
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

/* The last VNI policy_check() looked up in this burst, and its answer. */
struct vni_memo {
	uint32_t vni;   /* > 24 bits: none yet */
	int seg;        /* segment index or -drop counter id */
};

/*
 * Step 4: RFC 4301 section 5.2 style check of what came out of the SA.
 * @return segment index or a drop counter id (negative).
 */
static inline int policy_check(const struct dp *dp, const struct sa_in *sa, const struct esp_pkt *ep,
			       struct vni_memo *memo)
{
	const uint8_t *p = ep->buf + ESP_PAYLOAD_OFF;
	const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)p;
	const struct rte_udp_hdr *udp = (const struct rte_udp_hdr *)(p + 20);
	const struct vxlan_hdr *vx = (const struct vxlan_hdr *)(p + 28);
	const struct segment *s;
	uint32_t vni;

	if (unlikely(ep->next_header != IPPROTO_IPIP))
		return -DROP(next_header);
	if (unlikely(ep->len < TUN_INNER_LEN + RTE_ETHER_HDR_LEN))
		return -DROP(inner_short);
	if (unlikely(ip->version_ihl != RTE_IPV4_VHL_DEF ||
		     rte_be_to_cpu_16(ip->total_length) != ep->len ||
		     rte_ipv4_frag_pkt_is_fragmented(ip)))
		return -DROP(inner_bad);
	if (unlikely(ip->src_addr != sa->peer_vtep || ip->dst_addr != sa->local_vtep))
		return -DROP(inner_addr);
	if (unlikely(ip->next_proto_id != IPPROTO_UDP || udp->dst_port != RTE_BE16(VXLAN_PORT) ||
		     rte_be_to_cpu_16(udp->dgram_len) != ep->len - 20))
		return -DROP(inner_proto);
	if (unlikely(!(vx->flags & VXLAN_FLAG_I)))
		return -DROP(vxlan_flags);
	/* A burst is mostly one segment: one hash probe per change of VNI. */
	vni = rte_be_to_cpu_32(vx->vni_rsvd) >> 8;
	if (vni != memo->vni) {
		s = segment_by_vni(dp, vni);
		memo->vni = vni;
		memo->seg = s != NULL ? s->idx : -DROP(unknown_vni);
	}
	return memo->seg;
}


static void inbound_burst(struct worker *w, struct rte_mbuf **pkts, uint16_t n);

void inbound_input(struct worker *w, struct rte_mbuf **pkts, uint16_t n)
{
	dp_count(&w->stats, DP_C_uplink_rx, n);
	inbound_burst(w, pkts, n);
}

void inbound_handed(struct worker *w, struct rte_mbuf **pkts, uint16_t n)
{
	inbound_burst(w, pkts, n);
}

static void inbound_burst(struct worker *w, struct rte_mbuf **pkts, uint16_t n)
{
	struct dp *dp = w->dp;
	const struct dp_config *c = dp->cfg;
	struct in_burst b;
	uint32_t spi[DP_BURST_MAX];
	uint16_t seg[DP_BURST_MAX], ok = 0;
	fdb_key_t keys[DP_BURST_MAX];
	struct fdb_entry *ent[DP_BURST_MAX];
	struct vni_memo memo = { .vni = UINT32_MAX, .seg = 0 };
	bool touched[DP_MAX_PORTS] = { false };

	b.n = b.nexc = b.nike = b.ndead = b.ntrial = 0;
	b.waited_out = NULL;
	w->now_s = rte_rdtsc() / dp->tsc_hz;

	/* 1. Classify. */
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		uint8_t *esp = NULL;
		uint32_t esp_len = 0;
		int v;

		if (i + 1 < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void *));
		v = uplink_sort(c, m, &esp, &esp_len);
		if (unlikely(v == TO_REASS)) {
			/* An outer fragment: held until its datagram is whole, which
			 * then goes on as if it had come in one piece. */
			m = reass_input(w, m);
			if (m == NULL)
				continue;
			v = uplink_sort(c, m, &esp, &esp_len);
			if (unlikely(v == TO_REASS))
				v = DROP(ip_frag); /* cannot be: reassembled means whole */
		}
		if (v == TO_ESP) {
			b.ep[b.n] = (struct esp_pkt){ .buf = esp, .len = esp_len };
			memcpy(&spi[b.n], esp, sizeof(spi[b.n])); /* not 4-byte aligned */
			spi[b.n] = rte_be_to_cpu_32(spi[b.n]);
			b.m[b.n++] = m;
		} else if (v == TO_IKE) {
			b.ike[b.nike++] = m;
		} else if (v == TO_EXCEPTION) {
			b.exc[b.nexc++] = m;
		} else {
			in_drop(w, &b, m, v);
		}
	}

	/* 2. SA by SPI; the outer source must be that SA's peer. */
	/* One probe per run of equal SPIs: a burst is mostly one SA (one peer
	 * worker, RSS on its UDP source port). */
	hash_lookup_runs(dp->spi_hash, spi, sizeof(spi[0]), b.n, (void **)b.sa);
	{
		uint16_t k = 0;

		for (uint16_t i = 0; i < b.n; i++) {
			struct rte_mbuf *m = b.m[i];
			struct sa_in *sa = b.sa[i];
			const struct rte_ipv4_hdr *ip =
				rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *, OFF_OUTER_IP);
			int owner;

			if (unlikely(sa == NULL)) {
				in_drop(w, &b, m, DROP(unknown_spi));
				continue;
			}
			if (unlikely(ip->src_addr != sa->peer_ip)) {
				in_drop(w, &b, m, DROP(outer_src));
				continue;
			}
			/* esp.h: one thread opens an SA. Claimed on trial here,
			 * confirmed only after step 3 authenticated a packet. */
			owner = sa_claim(w, sa, &b);
			if (unlikely(owner != (int)w->idx)) {
				/* Another worker opens it: RSS put it here (a
				 * reassembled datagram, NICs hash fragments on the
				 * addresses only), or the underlay moved a flow. */
				struct worker *o = dp->worker[owner];

				if (rte_ring_mp_enqueue(o->handoff, m) != 0) {
					in_drop(w, &b, m, DROP(sa_owner));
					continue;
				}
				dp_count(&w->stats, DP_C_handoff, 1);
				rxwait_kick(o);
				continue;
			}
			b.m[k] = m;
			b.ep[k] = b.ep[i];
			b.sa[k++] = sa;
		}
		b.n = k;
	}

	/* 3. Anti-replay, ICV, decrypt; then the SAs claimed on trial get their
	 * owner (a packet authenticated) or are released (none did). */
	open_by_sa(&b);
	if (unlikely(b.ntrial))
		sa_trials_settle(w, &b);

	/* 4. Policy check and decapsulation, in arrival order. */
	for (uint16_t i = 0; i < b.n; i++) {
		struct rte_mbuf *m = b.m[i];
		const struct esp_pkt *ep = &b.ep[i];
		int s;

		if (unlikely(ep->status != ESP_OK)) {
			if (unlikely(ep->status >= ESP_STATUS_MAX))
				fatal("%s: esp_open_burst returned status %u", __func__, ep->status);
			in_drop(w, &b, m, esp_status_counter[ep->status]);
			continue;
		}
		s = policy_check(dp, b.sa[i], ep, &memo);
		if (unlikely(s < 0)) {
			in_drop(w, &b, m, -s);
			continue;
		}
		/* Authenticated and from the peer: its Ethernet source is our next hop. */
		if (unlikely(!(__atomic_load_n(&dp->nh.packed, __ATOMIC_RELAXED) & NEXTHOP_VALID)))
			nexthop_learn(&dp->nh, &rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->src_addr);
		rte_pktmbuf_adj(m, (ep->buf - rte_pktmbuf_mtod(m, uint8_t *)) + ESP_PAYLOAD_OFF +
					   TUN_INNER_LEN);
		rte_pktmbuf_trim(m, m->data_len - (ep->len - TUN_INNER_LEN));
		if (unlikely(rte_is_multicast_ether_addr(
			    &rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->src_addr))) {
			in_drop(w, &b, m, DROP(src_mcast));
			continue;
		}
		keys[ok] = fdb_key(s, &rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->src_addr);
		seg[ok] = s;
		b.m[ok++] = m;
	}

	/* 5. Learn remote sources, restore the tag, deliver. */
	for (uint32_t off = 0; off < ok; off += RTE_HASH_LOOKUP_BULK_MAX)
		fdb_lookup_bulk(dp->fdb, keys + off, RTE_MIN(ok - off, (uint32_t)RTE_HASH_LOOKUP_BULK_MAX), ent + off);
	for (uint16_t i = 0; i < ok; i++) {
		struct rte_mbuf *m = b.m[i];
		struct segment *s = &dp->seg[seg[i]];
		struct dp_port *lp = &dp->port[s->port];

		if (ent[i] != NULL) {
			/* a flapping MAC, dampened: not from this side for now (l2guard.h) */
			if (unlikely(l2guard_seen(w, s, ent[i], FDB_REMOTE))) {
				in_drop(w, &b, m, DROP(mac_dampened));
				continue;
			}
		} else {
			/* A repeat of a MAC first seen earlier in this burst finds it
			 * learned (0): refresh happened with the learn. */
			(void)fdb_learn_counted(w, s, keys[i], FDB_REMOTE);
		}
		if (unlikely(gateway_inbound_blocked(s, m))) {
			in_drop(w, &b, m, DROP(remote_gateway));
			continue;
		}
		/* L2 safety: ARP senders (IP conflicts), and the broadcasts a loop on
		 * the local port would bring back (l2guard.h) */
		l2guard_arp_seen(w, s, m, FDB_REMOTE);
		/* the frame as it travelled: before the trunk tag is restored */
		if (s->mss4)
			mss_clamp(w, s, m);
		l2guard_sent_local(w, s, m);
		if (unlikely(vlan_restore(m, lp, s) < 0)) {
			in_drop(w, &b, m, DROP(no_headroom));
			continue;
		}
		dp_count(&w->stats, DP_C_tunnel_in, 1);
		port_tx_queue(w, s->port, m);
		touched[s->port] = true;
	}
	for (uint16_t p = 0; p < dp->nb_ports; p++)
		if (touched[p])
			port_tx_flush(w, p);
	if (b.nike)
		exception_input_ike(w, b.ike, b.nike);
	if (b.nexc)
		exception_input(w, b.exc, b.nexc);
	if (b.ndead)
		rte_pktmbuf_free_bulk(b.dead, b.ndead);
	reass_flush(w);
}
