/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nexthop.c: ARP for the uplink next hop (RFC 826). Snooping both requests and
 * replies means a peer that changes its MAC (a failed-over VM, a new vNIC) is
 * followed as soon as it sends a gratuitous ARP, without waiting for a refresh.
 */
#include "nexthop.h"

#include <stdatomic.h>
#include <string.h>

#include <rte_arp.h>
#include <rte_cycles.h>

#define RESOLVE_INTERVAL_S 1
#define REFRESH_INTERVAL_S 30

static uint64_t pack(const struct rte_ether_addr *mac)
{
	uint64_t v = NEXTHOP_VALID;

	for (int i = 0; i < RTE_ETHER_ADDR_LEN; i++)
		v |= (uint64_t)mac->addr_bytes[i] << (8 * i);
	return v;
}

void nexthop_init(struct nexthop *nh, rte_be32_t ip, rte_be32_t local_ip,
		  const struct rte_ether_addr *local_mac)
{
	memset(nh, 0, sizeof(*nh));
	nh->ip = ip;
	nh->local_ip = local_ip;
	nh->local_mac = *local_mac;
}

void nexthop_snoop(struct nexthop *nh, const struct rte_mbuf *m)
{
	const struct rte_ether_hdr *eh = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	const struct rte_arp_hdr *arp = (const struct rte_arp_hdr *)(eh + 1);
	uint64_t v;

	if (rte_pktmbuf_data_len(m) < sizeof(*eh) + sizeof(*arp) ||
	    eh->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP) ||
	    arp->arp_hardware != rte_cpu_to_be_16(RTE_ARP_HRD_ETHER) ||
	    arp->arp_protocol != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) ||
	    arp->arp_hlen != RTE_ETHER_ADDR_LEN || arp->arp_plen != 4)
		return;
	if (arp->arp_data.arp_sip != nh->ip || rte_is_zero_ether_addr(&arp->arp_data.arp_sha) ||
	    !rte_is_unicast_ether_addr(&arp->arp_data.arp_sha))
		return;
	v = pack(&arp->arp_data.arp_sha);
	if (v != atomic_load_explicit(&nh->packed, memory_order_relaxed)) {
		atomic_store_explicit(&nh->packed, v, memory_order_release);
		nh->changes++;
		/* resolved: next refresh in REFRESH_INTERVAL_S */
		nh->next_request = rte_get_tsc_cycles() + REFRESH_INTERVAL_S * rte_get_tsc_hz();
	}
}

struct rte_mbuf *arp_request_alloc(struct rte_mempool *mp, const struct rte_ether_addr *sha,
				   rte_be32_t sip, rte_be32_t tip)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
	struct rte_ether_hdr *eh;
	struct rte_arp_hdr *arp;

	if (!m)
		return NULL;
	eh = (struct rte_ether_hdr *)rte_pktmbuf_append(m, sizeof(*eh) + sizeof(*arp));
	if (!eh) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	arp = (struct rte_arp_hdr *)(eh + 1);
	memset(&eh->dst_addr, 0xff, sizeof(eh->dst_addr));
	eh->src_addr = *sha;
	eh->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
	arp->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
	arp->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	arp->arp_hlen = RTE_ETHER_ADDR_LEN;
	arp->arp_plen = 4;
	arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REQUEST);
	arp->arp_data.arp_sha = *sha;
	arp->arp_data.arp_sip = sip;
	memset(&arp->arp_data.arp_tha, 0, sizeof(arp->arp_data.arp_tha));
	arp->arp_data.arp_tip = tip;
	return m;
}

struct rte_mbuf *nexthop_poll(struct nexthop *nh, struct rte_mempool *mp, uint64_t now_tsc)
{
	struct rte_mbuf *m;
	bool known = nexthop_known(nh);

	if (now_tsc < nh->next_request)
		return NULL;
	nh->next_request = now_tsc +
		(known ? REFRESH_INTERVAL_S : RESOLVE_INTERVAL_S) * rte_get_tsc_hz();
	m = arp_request_alloc(mp, &nh->local_mac, nh->local_ip, nh->ip);
	if (m)
		nh->requests++;
	return m;
}

void nexthop_learn(struct nexthop *nh, const struct rte_ether_addr *mac)
{
	uint64_t none = 0;

	/* Only while unresolved: ARP (nexthop_snoop) stays the authority. */
	atomic_compare_exchange_strong_explicit(&nh->packed, &none, pack(mac), memory_order_release,
						memory_order_relaxed);
}

bool nexthop_follow(struct nexthop *nh, const struct rte_ether_addr *mac)
{
	uint64_t v = pack(mac);

	if (nh->is_static || !rte_is_unicast_ether_addr(mac) ||
	    atomic_load_explicit(&nh->packed, memory_order_relaxed) == v)
		return false;
	atomic_store_explicit(&nh->packed, v, memory_order_release);
	return true;
}

void nexthop_set_static(struct nexthop *nh, const struct rte_ether_addr *mac)
{
	nh->is_static = true;
	atomic_store_explicit(&nh->packed, pack(mac), memory_order_release);
	nh->next_request = UINT64_MAX; /* never ask */
	nh->changes++;
}
