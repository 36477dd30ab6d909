/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pmtu.c: optional path-MTU help, per segment ([segment] pmtu = yes).
 *
 * By default a frame whose tunnel packet exceeds the uplink MTU is carried
 * anyway, in outer fragments (frag.c): hosts never notice, at the price of
 * fragmentation and reassembly. With pmtu = yes the appliance acts like the
 * router the segment's hosts would see at a real MTU step: an IPv4 packet
 * with DF set (RFC 1191) or an IPv6 packet (RFC 8200 section 5: routers never
 * fragment IPv6) that would need outer fragmentation is answered with ICMP
 * "fragmentation needed" (type 3 code 4, the next-hop MTU being the largest
 * inner IP packet that fits, RFC 1191 section 4) or ICMPv6 "packet too big"
 * (RFC 4443 section 3.2, RFC 8201) from the segment's gateway address, and not
 * sent. TCP then lowers its segment size and the flow runs unfragmented.
 *
 * ICMP errors are rate-limited (RFC 1812 section 4.3.2.8, RFC 4443 section
 * 2.4 f) with one rte_meter srTCM per segment and worker; over the rate the
 * frame is fragmented as usual (it still arrives, nothing is black-holed).
 * Never sent in answer to an ICMP error, a non-first fragment, or a packet
 * from an unspecified, multicast or broadcast source (RFC 1812 4.3.2.7,
 * RFC 4443 2.4 e); an IPv6 PTB never announces less than 1280 (RFC 8200
 * section 5): below that the frame is fragmented instead.
 */
#include <rte_cycles.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_malloc.h>
#include <rte_meter.h>

#include "dp.h"
#include "encap.h"
#include "pmtu.h"
#include "segment.h"
#include "worker.h"

#define ICMP4_MAX_LEN 576        /**< RFC 1812 section 4.3.2.3 */
#define ICMP6_MAX_LEN 1280       /**< RFC 4443 section 2.4 c: the IPv6 minimum MTU */
#define ICMP4_DEST_UNREACH 3    /**< RFC 792 */
#define ICMP6_PTB 2              /**< RFC 4443 section 3.2 */
#define IPV6_MIN_MTU 1280

/* The largest inner IP packet whose untagged frame crosses unfragmented. */
static uint16_t inner_ip_mtu(uint16_t uplink_mtu)
{
	uint32_t ip = uplink_mtu;

	while (ip > 0 && encap_outer_ip_len(RTE_ETHER_HDR_LEN + ip) > uplink_mtu)
		ip--;
	return (uint16_t)ip;
}

int pmtu_init(struct dp *dp, char *err, size_t errlen)
{
	/* every segment slot: a segment extended at run time may ask for it */
	for (unsigned i = 0; i < dp->nb_workers; i++) {
		struct worker *w = dp->worker[i];

		w->pmtu_meter = rte_zmalloc_socket("isthmus_pmtu", DP_MAX_SEGMENTS * sizeof(*w->pmtu_meter),
						   RTE_CACHE_LINE_SIZE, rte_lcore_to_socket_id(w->lcore));
		if (w->pmtu_meter == NULL) {
			snprintf(err, errlen, "pmtu meters: out of memory");
			return -1;
		}
	}
	return 0;
}

int pmtu_segment_setup(struct dp *dp, struct segment *s, char *err, size_t errlen)
{
	const struct cfg_segment *cs = &s->cfg;
	struct rte_meter_srtcm_params prm;

	/* gw6 is set with the gateway (segment.c) */
	s->pmtu_ip_mtu = inner_ip_mtu(dp->cfg->uplink_mtu);
	s->pmtu = false;
	if (!cs->pmtu)
		return 0;
	/* the rate is the segment's: each worker gets its share */
	prm.cir = RTE_MAX(cs->pmtu_rate / dp->nb_workers, 1u);
	prm.cbs = prm.cir;
	prm.ebs = 0;
	if (rte_meter_srtcm_profile_config(&s->pmtu_prof, &prm) != 0) {
		snprintf(err, errlen, "pmtu_rate %u: bad meter profile", cs->pmtu_rate);
		return -1;
	}
	/* the slot is not published yet: no worker reads its meter */
	for (unsigned i = 0; i < dp->nb_workers; i++)
		rte_meter_srtcm_config(&dp->worker[i]->pmtu_meter[s->idx], &s->pmtu_prof);
	s->pmtu = true;
	return 0;
}

void pmtu_fini(struct dp *dp)
{
	for (unsigned i = 0; i < dp->nb_workers; i++)
		if (dp->worker[i] != NULL) {
			rte_free(dp->worker[i]->pmtu_meter);
			dp->worker[i]->pmtu_meter = NULL;
		}
}

/* Which IP packet (if any) earns an answer. @return 4, 6 or 0 */
static inline int wants_answer(const struct segment *s, const struct rte_mbuf *m)
{
	const struct rte_ether_hdr *eh = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	const uint8_t *l3 = (const uint8_t *)(eh + 1);

	/* The segment's router routed it here: an ICMP error from its own
	 * address would come back to it as a martian. Fragment instead. */
	if (!rte_is_zero_ether_addr(&s->router_mac) && rte_is_same_ether_addr(&eh->src_addr, &s->router_mac))
		return 0;
	if (eh->ether_type == RTE_BE16(RTE_ETHER_TYPE_IPV4) && s->gw_ip != 0 &&
	    m->data_len >= RTE_ETHER_HDR_LEN + sizeof(struct rte_ipv4_hdr)) {
		const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)l3;
		uint16_t fo = rte_be_to_cpu_16(ip->fragment_offset);
		uint32_t ihl = (uint32_t)(ip->version_ihl & 0x0f) * 4;
		uint32_t src = rte_be_to_cpu_32(ip->src_addr);

		if ((ip->version_ihl >> 4) != 4 || ihl < sizeof(*ip) ||
		    !(fo & RTE_IPV4_HDR_DF_FLAG) || (fo & RTE_IPV4_HDR_OFFSET_MASK) != 0)
			return 0;
		if (src == 0 || src == UINT32_MAX || (src >> 28) >= 0xe)
			return 0;
		/* RFC 1812 section 4.3.2.7: no ICMP error about a packet sent to a
		 * broadcast or multicast address, in IP or in the link layer */
		if (!rte_is_unicast_ether_addr(&eh->dst_addr) || ip->dst_addr == RTE_BE32(UINT32_MAX) ||
		    (rte_be_to_cpu_32(ip->dst_addr) >> 28) == 0xe)
			return 0;
		if (ip->next_proto_id == IPPROTO_ICMP) {
			const struct rte_icmp_hdr *ic = (const struct rte_icmp_hdr *)(l3 + ihl);

			/* only echo and the like: never about an ICMP error */
			if (m->data_len < RTE_ETHER_HDR_LEN + ihl + 1 ||
			    (ic->icmp_type != RTE_IP_ICMP_ECHO_REQUEST &&
			     ic->icmp_type != RTE_IP_ICMP_ECHO_REPLY))
				return 0;
		}
		return 4;
	}
	if (eh->ether_type == RTE_BE16(RTE_ETHER_TYPE_IPV6) && s->has_gw6 &&
	    s->pmtu_ip_mtu >= IPV6_MIN_MTU &&
	    m->data_len >= RTE_ETHER_HDR_LEN + sizeof(struct rte_ipv6_hdr)) {
		const struct rte_ipv6_hdr *ip6 = (const struct rte_ipv6_hdr *)l3;
		static const uint8_t unspec[16];

		if ((l3[0] >> 4) != 6 || ip6->src_addr[0] == 0xff ||
		    memcmp(ip6->src_addr, unspec, sizeof(unspec)) == 0)
			return 0;
		/* ICMPv6 errors are types 0-127 (RFC 4443 section 2.1) */
		if (ip6->proto == IPPROTO_ICMPV6 &&
		    (m->data_len < RTE_ETHER_HDR_LEN + sizeof(*ip6) + 1 || l3[sizeof(*ip6)] < 128))
			return 0;
		return 6;
	}
	return 0;
}

/* Ethernet header of the answer: back to the sender, from whom it was sent to. */
static inline void answer_eth(struct worker *w, const struct segment *s,
			      const struct rte_ether_hdr *orig, struct rte_ether_hdr *eh,
			      uint16_t type)
{
	eh->dst_addr = orig->src_addr;
	if (rte_is_unicast_ether_addr(&orig->dst_addr))
		eh->src_addr = orig->dst_addr;
	else if (!rte_is_zero_ether_addr(&s->router_mac))
		eh->src_addr = s->router_mac;
	else
		eh->src_addr = w->dp->port[s->port].mac;
	eh->ether_type = rte_cpu_to_be_16(type);
}

/* ICMP destination unreachable, fragmentation needed (RFC 792, RFC 1191). */
static struct rte_mbuf *build_icmp4(struct worker *w, const struct segment *s,
				    const struct rte_mbuf *orig)
{
	const struct rte_ether_hdr *oeh = rte_pktmbuf_mtod(orig, const struct rte_ether_hdr *);
	const struct rte_ipv4_hdr *oip = (const struct rte_ipv4_hdr *)(oeh + 1);
	uint32_t quote = RTE_MIN((uint32_t)rte_be_to_cpu_16(oip->total_length),
				 (uint32_t)orig->data_len - RTE_ETHER_HDR_LEN);
	struct rte_mbuf *m;
	struct rte_ether_hdr *eh;
	struct rte_ipv4_hdr *ip;
	struct rte_icmp_hdr *ic;
	uint32_t len;

	quote = RTE_MIN(quote, (uint32_t)(ICMP4_MAX_LEN - sizeof(*ip) - sizeof(*ic)));
	len = sizeof(*ip) + sizeof(*ic) + quote;
	m = rte_pktmbuf_alloc(w->dp->pool);
	if (m == NULL)
		return NULL;
	eh = (struct rte_ether_hdr *)rte_pktmbuf_append(m, RTE_ETHER_HDR_LEN + len);
	answer_eth(w, s, oeh, eh, RTE_ETHER_TYPE_IPV4);
	ip = (struct rte_ipv4_hdr *)(eh + 1);
	*ip = (struct rte_ipv4_hdr){
		.version_ihl = RTE_IPV4_VHL_DEF,
		.total_length = rte_cpu_to_be_16((uint16_t)len),
		.time_to_live = IP_DEFTTL,
		.next_proto_id = IPPROTO_ICMP,
		.src_addr = s->gw_ip,
		.dst_addr = oip->src_addr,
	};
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	ic = (struct rte_icmp_hdr *)(ip + 1);
	ic->icmp_type = ICMP4_DEST_UNREACH;
	ic->icmp_code = 4;                       /* fragmentation needed and DF set */
	ic->icmp_cksum = 0;
	ic->icmp_ident = 0;                      /* unused (RFC 1191 section 4) */
	ic->icmp_seq_nb = rte_cpu_to_be_16(s->pmtu_ip_mtu); /* next-hop MTU */
	rte_memcpy(ic + 1, oip, quote);
	ic->icmp_cksum = (uint16_t)~rte_raw_cksum(ic, sizeof(*ic) + quote);
	return m;
}

/* ICMPv6 packet too big (RFC 4443 section 3.2). */
static struct rte_mbuf *build_icmp6(struct worker *w, const struct segment *s,
				    const struct rte_mbuf *orig)
{
	const struct rte_ether_hdr *oeh = rte_pktmbuf_mtod(orig, const struct rte_ether_hdr *);
	const struct rte_ipv6_hdr *oip = (const struct rte_ipv6_hdr *)(oeh + 1);
	uint32_t quote = RTE_MIN((uint32_t)sizeof(*oip) + rte_be_to_cpu_16(oip->payload_len),
				 (uint32_t)orig->data_len - RTE_ETHER_HDR_LEN);
	struct rte_mbuf *m;
	struct rte_ether_hdr *eh;
	struct rte_ipv6_hdr *ip6;
	uint8_t *ic;
	uint32_t plen, mtu_be;

	quote = RTE_MIN(quote, (uint32_t)(ICMP6_MAX_LEN - sizeof(*ip6) - 8));
	plen = 8 + quote;
	m = rte_pktmbuf_alloc(w->dp->pool);
	if (m == NULL)
		return NULL;
	eh = (struct rte_ether_hdr *)rte_pktmbuf_append(m, RTE_ETHER_HDR_LEN + sizeof(*ip6) + plen);
	answer_eth(w, s, oeh, eh, RTE_ETHER_TYPE_IPV6);
	ip6 = (struct rte_ipv6_hdr *)(eh + 1);
	ip6->vtc_flow = RTE_BE32(6u << 28);
	ip6->payload_len = rte_cpu_to_be_16((uint16_t)plen);
	ip6->proto = IPPROTO_ICMPV6;
	ip6->hop_limits = 255;
	memcpy(ip6->src_addr, s->gw6, 16);
	memcpy(ip6->dst_addr, oip->src_addr, 16);
	ic = (uint8_t *)(ip6 + 1);
	ic[0] = ICMP6_PTB;
	ic[1] = 0;
	ic[2] = ic[3] = 0;
	mtu_be = rte_cpu_to_be_32(s->pmtu_ip_mtu);
	memcpy(ic + 4, &mtu_be, 4);
	rte_memcpy(ic + 8, oip, quote);
	/* pseudo-header checksum (RFC 8200 section 8.1); 0 and 0xffff are the
	 * same in one's complement, so rte_ipv6_udptcp_cksum's UDP rule is harmless */
	*(uint16_t *)(ic + 2) = rte_ipv6_udptcp_cksum(ip6, ic);
	return m;
}

bool pmtu_answer(struct worker *w, struct segment *s, struct rte_mbuf *m)
{
	struct rte_mbuf *a;
	int v = wants_answer(s, m);

	if (v == 0)
		return false;
	if (rte_meter_srtcm_color_blind_check(&w->pmtu_meter[s->idx], &s->pmtu_prof, rte_rdtsc(), 1) !=
	    RTE_COLOR_GREEN) {
		dp_count(&w->stats, DP_C_pmtu_rate_limited, 1);
		return false;
	}
	a = v == 4 ? build_icmp4(w, s, m) : build_icmp6(w, s, m);
	if (unlikely(a == NULL))
		return false; /* no mbuf: carry the frame in fragments */
	if (unlikely(segment_send_now(w, s, a) < 0)) {
		rte_pktmbuf_free(a);
		return false; /* no room for the tag: carry the frame in fragments */
	}
	dp_count(&w->stats, v == 4 ? DP_C_pmtu_icmp4 : DP_C_pmtu_icmp6, 1);
	dp_count(&w->stats, DP_C_drop_pmtu, 1);
	rte_pktmbuf_free(m);
	return true;
}
