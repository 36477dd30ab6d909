/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gateway.c: the segment's first-hop router, and local egress.
 *
 * A stretched segment has one gateway (first-hop router), on one site. VMs
 * migrated to the other site would send all their routed traffic back across
 * the tunnel to it ("tromboning"). With local egress (in the spirit of HCX
 * Mobility Optimized Networking) the appliance on the site without the gateway
 * answers ARP requests for the gateway address itself, with the MAC of a local
 * first-hop router (which holds the same address), and stops the remote
 * gateway's ARP replies and gratuitous ARPs from crossing, so hosts here keep
 * resolving the gateway to the local router. At unextend time the gateway moves
 * to this site for good: `cutover` makes it local and announces it with a
 * gratuitous ARP (RFC 5227 section 3), so every host updates its cache at once.
 *
 * IPv6 the same way with Neighbor Discovery (RFC 4861): a neighbor solicitation
 * for the gateway's IPv6 address (gateway6) is answered with a solicited
 * advertisement carrying the router's MAC, the remote gateway's advertisements
 * and solicitations are stopped, and cutover sends an unsolicited advertisement
 * to all nodes (section 7.2.6). Router advertisements, which name the router by
 * its link-local address, are not touched: hosts keep them, and reach the
 * local router through the same MAC once it answers for that address too.
 */
#include <stdatomic.h>
#include <string.h>

#include <rte_arp.h>
#include <rte_ip.h>

#include "dp.h"
#include "encap.h"
#include "gateway.h"
#include "segment.h"
#include "worker.h"

static inline struct rte_arp_hdr *arp_of(struct rte_mbuf *m)
{
	struct rte_ether_hdr *eh = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_arp_hdr *a = (struct rte_arp_hdr *)(eh + 1);

	if (m->data_len < sizeof(*eh) + sizeof(*a) ||
	    eh->ether_type != RTE_BE16(RTE_ETHER_TYPE_ARP) ||
	    a->arp_hardware != RTE_BE16(RTE_ARP_HRD_ETHER) ||
	    a->arp_protocol != RTE_BE16(RTE_ETHER_TYPE_IPV4) ||
	    a->arp_hlen != RTE_ETHER_ADDR_LEN || a->arp_plen != 4)
		return NULL;
	return a;
}

/* RFC 4861 section 4.3/4.4: NS and NA; the one option used is the link-layer address. */
#define ND_NS 135
#define ND_NA 136
#define ND_OPT_TLLA 2
#define ND_NA_ROUTER RTE_BE32(0x80000000)
#define ND_NA_SOLICITED RTE_BE32(0x40000000)
#define ND_NA_OVERRIDE RTE_BE32(0x20000000)

struct nd_msg {
	uint8_t type, code;
	rte_be16_t cksum;
	rte_be32_t flags;        /* NA: R S O; NS: reserved */
	uint8_t target[16];
} __rte_packed;

struct nd_lla_opt {
	uint8_t type, len;       /* len in units of 8 bytes: 1 */
	uint8_t mac[RTE_ETHER_ADDR_LEN];
} __rte_packed;

#define NA_FRAME_LEN (RTE_ETHER_HDR_LEN + sizeof(struct rte_ipv6_hdr) + \
		      sizeof(struct nd_msg) + sizeof(struct nd_lla_opt))

/*
 * A Neighbor Discovery message of type @p type on an untagged frame: no
 * extension headers (a valid ND message has none before ICMPv6 in practice),
 * hop limit 255 (section 7.1: anything else did not come from the link).
 */
static inline struct nd_msg *nd_of(struct rte_mbuf *m, uint8_t type, struct rte_ipv6_hdr **ip)
{
	struct rte_ether_hdr *eh = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_ipv6_hdr *h = (struct rte_ipv6_hdr *)(eh + 1);
	struct nd_msg *nd = (struct nd_msg *)(h + 1);

	if (m->data_len < sizeof(*eh) + sizeof(*h) + sizeof(*nd) ||
	    eh->ether_type != RTE_BE16(RTE_ETHER_TYPE_IPV6) || h->proto != IPPROTO_ICMPV6 ||
	    h->hop_limits != 255 || rte_be_to_cpu_16(h->payload_len) < sizeof(*nd) ||
	    nd->type != type || nd->code != 0)
		return NULL;
	*ip = h;
	return nd;
}

/*
 * Write a neighbor advertisement for the gateway (from the router's MAC) at
 * @p eh, which has room for NA_FRAME_LEN bytes. RFC 4861 section 7.2.4.
 */
static void na_fill(struct rte_ether_hdr *eh, const struct segment *s,
		    const struct rte_ether_addr *dst_mac, const uint8_t dst_ip[16], rte_be32_t flags)
{
	struct rte_ipv6_hdr *h = (struct rte_ipv6_hdr *)(eh + 1);
	struct nd_msg *nd = (struct nd_msg *)(h + 1);
	struct nd_lla_opt *o = (struct nd_lla_opt *)(nd + 1);

	eh->dst_addr = *dst_mac;
	eh->src_addr = s->router_mac;
	eh->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV6);
	h->vtc_flow = RTE_BE32(6u << 28);
	h->payload_len = rte_cpu_to_be_16(sizeof(*nd) + sizeof(*o));
	h->proto = IPPROTO_ICMPV6;
	h->hop_limits = 255;
	memmove(h->dst_addr, dst_ip, 16); /* may be the solicitation's own source */
	memcpy(h->src_addr, s->gw6, 16);
	*nd = (struct nd_msg){ .type = ND_NA, .flags = flags };
	memcpy(nd->target, s->gw6, 16);
	*o = (struct nd_lla_opt){ .type = ND_OPT_TLLA, .len = 1 };
	memcpy(o->mac, s->router_mac.addr_bytes, sizeof(o->mac));
	/* The ICMPv6 checksum covers the pseudo-header (RFC 4443 section 2.3). */
	nd->cksum = rte_ipv6_udptcp_cksum(h, nd);
}

static inline bool egress_here(const struct segment *s)
{
	return (s->gw_ip != 0 || s->has_gw6) && s->local_egress &&
	       !atomic_load_explicit(&s->gw_local, memory_order_relaxed);
}

/*
 * Whether a frame is the gateway speaking ARP or ND for its own address (ARP
 * with it as sender: replies, requests, gratuitous ARPs; advertisements for
 * gateway6; solicitations from gateway6, which carry the sender's MAC). With
 * local egress the two sites each have a router holding the gateway address:
 * neither's frames may reach the other site's hosts, or they would learn the
 * far router's MAC for their gateway.
 */
static bool gateway_speaks(const struct segment *s, struct rte_mbuf *m)
{
	struct rte_ipv6_hdr *h;
	struct rte_arp_hdr *a;
	struct nd_msg *nd;

	a = arp_of(m);
	if (a != NULL)
		return s->gw_ip != 0 && a->arp_data.arp_sip == s->gw_ip;
	if (!s->has_gw6)
		return false;
	if ((nd = nd_of(m, ND_NA, &h)) != NULL)
		return memcmp(nd->target, s->gw6, 16) == 0;
	if ((nd = nd_of(m, ND_NS, &h)) != NULL)
		return memcmp(h->src_addr, s->gw6, 16) == 0;
	return false;
}

/* Send an answer built in @p m back out of the segment's local port. */
static void answer(struct worker *w, struct segment *s, struct rte_mbuf *m)
{
	if (unlikely(segment_send_now(w, s, m) < 0)) {
		dp_count(&w->stats, DP_C_drop_no_headroom, 1);
		rte_pktmbuf_free(m);
		return;
	}
	dp_count(&w->stats, DP_C_gw_arp_answered, 1);
}

/*
 * RFC 4861 section 7.1.1: a solicitation that fails validation is silently
 * discarded, so it earns no answer (the frame crosses as it came): IPv6, its
 * ICMP length (from the IP length, within the frame) 24 or more, the ICMP
 * checksum right, every option of a non-zero length within the message.
 * nd_of() checked the hop limit, the code and the 24 bytes.
 */
static bool ns_valid(const struct rte_mbuf *m, const struct rte_ipv6_hdr *h)
{
	uint32_t plen = rte_be_to_cpu_16(h->payload_len), sum;
	const uint8_t *icmp = (const uint8_t *)(h + 1);

	if ((rte_be_to_cpu_32(h->vtc_flow) >> 28) != 6 ||
	    RTE_ETHER_HDR_LEN + sizeof(*h) + plen > m->data_len)
		return false;
	/* RFC 4443 section 2.3: over the pseudo-header and the message */
	sum = (uint32_t)rte_ipv6_phdr_cksum(h, 0) + rte_raw_cksum(icmp, plen);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	if (sum != 0xffff)
		return false;
	for (uint32_t o = sizeof(struct nd_msg); o < plen; o += icmp[o + 1] * 8u)
		if (plen - o < 2 || icmp[o + 1] == 0 || icmp[o + 1] * 8u > plen - o)
			return false;
	return true;
}

/* IPv6: a solicitation for gateway6 -> a solicited advertisement, in place. */
static bool nd_outbound(struct worker *w, struct segment *s, struct rte_mbuf *m)
{
	static const uint8_t unspecified[16];
	struct rte_ipv6_hdr *h;
	struct nd_msg *nd = nd_of(m, ND_NS, &h);
	struct rte_ether_addr req_mac;

	/* A duplicate address detection probe (source ::) is not ours to answer:
	 * the router's address is not tentative. The router itself asking is not either. */
	if (nd == NULL || memcmp(nd->target, s->gw6, 16) != 0 ||
	    memcmp(h->src_addr, unspecified, 16) == 0 || memcmp(h->src_addr, s->gw6, 16) == 0 ||
	    !ns_valid(m, h))
		return false;
	if (m->data_len < NA_FRAME_LEN &&
	    rte_pktmbuf_append(m, NA_FRAME_LEN - m->data_len) == NULL) {
		dp_count(&w->stats, DP_C_drop_no_headroom, 1);
		rte_pktmbuf_free(m);
		return true;
	}
	rte_pktmbuf_trim(m, m->data_len - NA_FRAME_LEN);
	req_mac = rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->src_addr;
	na_fill(rte_pktmbuf_mtod(m, struct rte_ether_hdr *), s, &req_mac, h->src_addr,
		ND_NA_ROUTER | ND_NA_SOLICITED | ND_NA_OVERRIDE);
	answer(w, s, m);
	return true;
}

bool gateway_outbound(struct worker *w, struct segment *s, struct rte_mbuf *m)
{
	struct rte_ether_hdr *eh;
	struct rte_arp_hdr *a;
	struct rte_ether_addr req_mac;
	rte_be32_t req_ip;

	if (likely(!egress_here(s)))
		return false;
	if (s->has_gw6 && nd_outbound(w, s, m))
		return true;
	a = arp_of(m);
	if (a == NULL || s->gw_ip == 0 || a->arp_opcode != RTE_BE16(RTE_ARP_OP_REQUEST) ||
	    a->arp_data.arp_tip != s->gw_ip || a->arp_data.arp_sip == s->gw_ip) {
		/* the local router's own ARP / ND for the gateway address stays here */
		if (gateway_speaks(s, m)) {
			dp_count(&w->stats, DP_C_drop_local_gateway, 1);
			rte_pktmbuf_free(m);
			return true;
		}
		return false;
	}
	/* Answer in place: who-has GW -> GW is-at ROUTER_MAC, back where it came. */
	eh = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	req_mac = a->arp_data.arp_sha;
	req_ip = a->arp_data.arp_sip;
	a->arp_opcode = RTE_BE16(RTE_ARP_OP_REPLY);
	a->arp_data.arp_tha = req_mac;
	a->arp_data.arp_tip = req_ip;
	a->arp_data.arp_sha = s->router_mac;
	a->arp_data.arp_sip = s->gw_ip;
	eh->dst_addr = req_mac;
	eh->src_addr = s->router_mac;
	answer(w, s, m);
	return true;
}

bool gateway_inbound_blocked(const struct segment *s, struct rte_mbuf *m)
{
	return unlikely(egress_here(s)) && gateway_speaks(s, m);
}

int gateway_cutover(struct dp *dp, struct segment *s)
{
	if ((s->gw_ip == 0 && !s->has_gw6) || rte_is_zero_ether_addr(&s->router_mac))
		return -1;
	atomic_store_explicit(&s->gw_local, true, memory_order_release);
	/* The announcement goes out from worker 0, on its own TX queue of the
	 * segment's port (the main lcore has no queue on local ports). */
	atomic_store_explicit(&s->announce, true, memory_order_release);
	atomic_store_explicit(&dp->gw_announce, 1, memory_order_release);
	return 0;
}

/* An unsolicited advertisement to all nodes (RFC 4861 section 7.2.6). */
static struct rte_mbuf *na_unsolicited_alloc(struct rte_mempool *mp, const struct segment *s)
{
	static const struct rte_ether_addr all_nodes_mac = { { 0x33, 0x33, 0, 0, 0, 1 } };
	static const uint8_t all_nodes[16] = { 0xff, 0x02, [15] = 1 };
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
	struct rte_ether_hdr *eh;

	if (m == NULL)
		return NULL;
	eh = (struct rte_ether_hdr *)rte_pktmbuf_append(m, NA_FRAME_LEN);
	if (eh == NULL) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	na_fill(eh, s, &all_nodes_mac, all_nodes, ND_NA_ROUTER | ND_NA_OVERRIDE);
	return m;
}

/* Send one announcement out of the segment's local port. */
static void announce_one(struct worker *w, struct segment *s, struct rte_mbuf *m)
{
	if (m == NULL)
		return;
	if (unlikely(segment_send_now(w, s, m) < 0)) {
		dp_count(&w->stats, DP_C_drop_no_headroom, 1);
		rte_pktmbuf_free(m);
		return;
	}
	dp_count(&w->stats, DP_C_gw_announced, 1);
}

/* A gratuitous ARP and/or an unsolicited NA for the gateway, from the local router. */
static void announce(struct worker *w, struct segment *s)
{
	if (s->gw_ip != 0)
		announce_one(w, s, arp_request_alloc(w->dp->pool, &s->router_mac, s->gw_ip, s->gw_ip));
	if (s->has_gw6)
		announce_one(w, s, na_unsolicited_alloc(w->dp->pool, s));
}

void gateway_announce(struct worker *w)
{
	struct dp *dp = w->dp;
	uint16_t n = atomic_load_explicit(&dp->nb_seg, memory_order_acquire);

	atomic_store_explicit(&dp->gw_announce, 0, memory_order_release);
	for (uint16_t i = 0; i < n; i++)
		if (atomic_exchange_explicit(&dp->seg[i].announce, false, memory_order_acq_rel))
			announce(w, &dp->seg[i]);
}
