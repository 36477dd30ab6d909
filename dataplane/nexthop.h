/* SPDX-License-Identifier: GPL-2.0-or-later */
/**
 * @file nexthop.h
 * The uplink next hop (the peer appliance, or the underlay gateway): its MAC is
 * resolved with ARP, never configured by hand. The dataplane snoops every ARP
 * frame from the uplink (they all also go to the kernel) and asks by itself
 * while the MAC is unknown, and now and then to notice a change.
 *
 * Workers read the MAC with one atomic 64-bit load per burst; the main lcore
 * writes it.
 */
#ifndef ISTHMUS_NEXTHOP_H
#define ISTHMUS_NEXTHOP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <rte_ether.h>
#include <rte_mbuf.h>

#define NEXTHOP_VALID (1ull << 63)

struct nexthop {
	rte_be32_t ip;                 /**< next hop IPv4 (network order) */
	rte_be32_t local_ip;           /**< uplink address */
	struct rte_ether_addr local_mac;
	_Atomic uint64_t packed;       /**< MAC in the low 48 bits | NEXTHOP_VALID */
	uint64_t next_request;         /**< TSC of the next ARP request */
	uint64_t requests;             /**< ARP requests sent */
	uint64_t changes;              /**< times the MAC was learned or changed */
	bool is_static;                /**< [uplink] peer_mac: never learned */
};

/**
 * A broadcast ARP request (RFC 826) from @p sha / @p sip for @p tip, in a new
 * mbuf from @p mp; @p tip == @p sip makes it a gratuitous ARP (RFC 5227
 * section 3). @return the mbuf (the caller owns it), or NULL
 */
struct rte_mbuf *arp_request_alloc(struct rte_mempool *mp, const struct rte_ether_addr *sha,
				   rte_be32_t sip, rte_be32_t tip);

/** Start resolving @p ip from @p local_ip / @p local_mac. */
void nexthop_init(struct nexthop *nh, rte_be32_t ip, rte_be32_t local_ip,
		  const struct rte_ether_addr *local_mac);

/** Learn from an ARP frame received on the uplink (request or reply). */
void nexthop_snoop(struct nexthop *nh, const struct rte_mbuf *m);

/**
 * An ARP request to send on the uplink, if one is due (every second while
 * unresolved, every 30 s once resolved), else NULL. The caller owns the mbuf.
 */
struct rte_mbuf *nexthop_poll(struct nexthop *nh, struct rte_mempool *mp, uint64_t now_tsc);

/**
 * Learn the MAC from an authenticated packet of the peer (its outer Ethernet
 * source) while ARP has not resolved it yet. Any thread; ARP stays the
 * authority once it answers.
 */
void nexthop_learn(struct nexthop *nh, const struct rte_ether_addr *mac);

/**
 * Follow the peer to @p mac: an authenticated packet came from it, and the
 * next hop is the peer itself (on this link; nexthop_on_link()). Over ARP,
 * which anyone on the link can answer: two members of an HA group that both
 * believe they are active (split brain, docs/ha.md) both claim the group's
 * address, and ARP follows whichever spoke last, while only the member holding
 * this appliance's SAs can send a packet that opens. Not for a configured
 * (static) MAC. Any thread.
 * @return true when the MAC changed
 */
bool nexthop_follow(struct nexthop *nh, const struct rte_ether_addr *mac);

/** True when the next hop is @p peer_ip itself (no router between). */
static inline bool nexthop_on_link(const struct nexthop *nh, rte_be32_t peer_ip)
{
	return nh->ip == peer_ip && !nh->is_static;
}

/**
 * Fix the MAC by configuration (peer_mac=): nexthop_poll() then never asks.
 * Call before workers start; callers stop feeding nexthop_snoop().
 */
void nexthop_set_static(struct nexthop *nh, const struct rte_ether_addr *mac);

/** Whether the MAC is known (no ordering: a hint, e.g. whether to learn). Any thread. */
static inline bool nexthop_known(const struct nexthop *nh)
{
	return atomic_load_explicit(&nh->packed, memory_order_relaxed) & NEXTHOP_VALID;
}

/** Read the MAC; false while unresolved. Any thread. */
static inline bool nexthop_mac(const struct nexthop *nh, struct rte_ether_addr *mac)
{
	uint64_t v = atomic_load_explicit(&nh->packed, memory_order_acquire);

	if (!(v & NEXTHOP_VALID))
		return false;
	for (int i = 0; i < RTE_ETHER_ADDR_LEN; i++)
		mac->addr_bytes[i] = (uint8_t)(v >> (8 * i));
	return true;
}

#endif
