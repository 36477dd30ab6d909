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
 * IPv4 (ARP) only in this version; IPv6 ND is not intercepted.
 */
#include <string.h>

#include <rte_arp.h>

#include "dp.h"
#include "encap.h"

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

static inline bool egress_here(const struct segment *s)
{
	return s->gw_ip != 0 && s->local_egress &&
	       !__atomic_load_n(&s->gw_local, __ATOMIC_RELAXED);
}

bool gateway_outbound(struct worker *w, struct segment *s, struct rte_mbuf *m)
{
	struct rte_ether_hdr *eh;
	struct rte_arp_hdr *a;
	struct rte_ether_addr req_mac;
	rte_be32_t req_ip;

	if (likely(!egress_here(s)))
		return false;
	a = arp_of(m);
	if (a == NULL || a->arp_opcode != RTE_BE16(RTE_ARP_OP_REQUEST) ||
	    a->arp_data.arp_tip != s->gw_ip || a->arp_data.arp_sip == s->gw_ip)
		return false;
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
	if (unlikely(vlan_restore(m, &w->dp->port[s->port], s) < 0)) {
		dp_count(&w->stats, DP_C_drop_no_headroom, 1);
		rte_pktmbuf_free(m);
		return true;
	}
	dp_count(&w->stats, DP_C_gw_arp_answered, 1);
	port_tx_queue(w, s->port, m);
	port_tx_flush(w, s->port);
	return true;
}

bool gateway_inbound_blocked(const struct segment *s, struct rte_mbuf *m)
{
	struct rte_arp_hdr *a;

	if (likely(!egress_here(s)))
		return false;
	a = arp_of(m);
	/* the remote gateway speaking ARP (replies, gratuitous ARPs): it must not
	 * teach our hosts its MAC for the gateway address */
	return a != NULL && a->arp_data.arp_sip == s->gw_ip;
}

int gateway_cutover(struct dp *dp, struct segment *s)
{
	if (s->gw_ip == 0 || rte_is_zero_ether_addr(&s->router_mac))
		return -1;
	__atomic_store_n(&s->gw_local, true, __ATOMIC_RELEASE);
	/* The announcement goes out from worker 0, on its own TX queue of the
	 * segment's port (the main lcore has no queue on local ports). */
	__atomic_store_n(&s->announce, true, __ATOMIC_RELEASE);
	__atomic_store_n(&dp->gw_announce, 1, __ATOMIC_RELEASE);
	return 0;
}

/* One gratuitous ARP for the segment's gateway, from the local router. */
static void announce(struct worker *w, struct segment *s)
{
	struct rte_mbuf *m = arp_request_alloc(w->dp->pool, &s->router_mac, s->gw_ip, s->gw_ip);

	if (m == NULL)
		return;
	if (vlan_restore(m, &w->dp->port[s->port], s) < 0) {
		rte_pktmbuf_free(m);
		return;
	}
	dp_count(&w->stats, DP_C_gw_announced, 1);
	port_tx_queue(w, s->port, m);
	port_tx_flush(w, s->port);
}

void gateway_announce(struct worker *w)
{
	struct dp *dp = w->dp;
	uint16_t n = __atomic_load_n(&dp->nb_seg, __ATOMIC_ACQUIRE);

	__atomic_store_n(&dp->gw_announce, 0, __ATOMIC_RELEASE);
	for (uint16_t i = 0; i < n; i++)
		if (__atomic_exchange_n(&dp->seg[i].announce, false, __ATOMIC_ACQ_REL))
			announce(w, &dp->seg[i]);
}
