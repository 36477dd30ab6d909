/* SPDX-License-Identifier: GPL-2.0-or-later */
/**
 * @file exception.h
 * The exception path: uplink traffic that is not ESP but is for the appliance
 * (ARP, ICMP, IKE on UDP 500, IKE on UDP 4500 behind the non-ESP marker, NAT
 * keepalives, isthmusd's pairing exchange on UDP 4501) goes to a kernel TAP
 * interface holding the uplink address, and whatever the kernel sends on that TAP goes out of the uplink. This is how
 * isthmusd's libcharon speaks IKE while DPDK owns the uplink port.
 */
#ifndef ISTHMUS_EXCEPTION_H
#define ISTHMUS_EXCEPTION_H

#include <net/if.h>
#include <stdint.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_ip_frag.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

#define IKE_PORT 500 /**< RFC 7296 section 2 */
#define NATT_PORT 4500 /**< RFC 3948: ESP in UDP, and IKE behind the non-ESP marker */
#define PAIRING_UDP_PORT 4501 /**< isthmusd's one-time pairing (docs/pairing.md) */
#define SEGSYNC_UDP_PORT 4502 /**< isthmusd's segment agreements (docs/control-protocol.md) */

/** What the uplink RX path does with a frame. */
enum uplink_class {
	UPLINK_ESP = 0,        /**< ESP in UDP 4500 to us: the tunnel */
	UPLINK_KERNEL,         /**< ARP, ICMP, NAT keepalive, pairing, IKE from elsewhere:
				    exception path, policed (exception_dp.c) */
	UPLINK_IKE,            /**< IKE (UDP 500, UDP 4500 with the non-ESP marker) from the
				    configured peer: exception path, priority class */
	UPLINK_DROP_SHORT,     /**< truncated Ethernet/IPv4/UDP header */
	UPLINK_DROP_IP_BAD,    /**< outer IPv4 header malformed */
	UPLINK_FRAG,           /**< outer IPv4 fragment for us: reassemble (reass.c), classify again */
	UPLINK_DROP_NOT_US,    /**< not addressed to the uplink address */
	UPLINK_DROP_PROTO,     /**< to us, but nothing we or the kernel serve */
	UPLINK_DROP_ETHERTYPE, /**< neither IPv4 nor ARP */
	UPLINK_VRRP,           /**< VRRP (RFC 5798) of an HA group: exception path, priority
				    class (keepalived on the TAP elects the active member) */
};

#define IPPROTO_VRRP_ 112      /**< RFC 5798 section 5.1.1.4 */
/** 224.0.0.18, RFC 5798 section 5.1.1.2 (not RTE_IPV4(), which shifts an int into its sign bit) */
#define VRRP_MCAST_BE RTE_BE32(0xe0000012u)

/**
 * Classify an uplink frame. Only reads headers; the mbuf is untouched.
 *
 * RFC 3948 section 2.2: on UDP 4500, a payload starting with four zero bytes
 * (the non-ESP marker) is IKE; a single 0xff byte is a NAT keepalive; anything
 * else is ESP (the SPI is never zero, RFC 4303 section 2.1).
 *
 * IKE (RFC 7296 section 2: UDP 500, or UDP 4500 behind the marker) whose
 * outer source is the configured peer, or the address the peer's SAs use
 * now (a NAT's external address, which charon reports), is UPLINK_IKE, the
 * exception path's priority class: a flood of anything else toward the
 * appliance must not crowd out the peer's rekeys (exception_dp.c). The
 * source address is not authenticated here; it only sorts the traffic into
 * queues.
 *
 * @param m         frame as received (Ethernet first, no VLAN on the uplink)
 * @param local_ip  the uplink address (network order)
 * @param peer_ip   the configured peer's underlay address (network order)
 * @param peer_now  where the peer's SAs say it is now (its NAT's address;
 *                  else peer_ip)
 * @param l4_off    out: for UPLINK_ESP, offset of the ESP header
 */
static inline enum uplink_class uplink_classify_ha(const struct rte_mbuf *m, rte_be32_t local_ip,
						   rte_be32_t vip, rte_be32_t peer_ip,
						   rte_be32_t peer_now, uint16_t *l4_off);

static inline enum uplink_class uplink_classify(const struct rte_mbuf *m, rte_be32_t local_ip,
						rte_be32_t peer_ip, rte_be32_t peer_now,
						uint16_t *l4_off)
{
	return uplink_classify_ha(m, local_ip, 0, peer_ip, peer_now, l4_off);
}

/**
 * uplink_classify() for a member of an HA group (docs/ha.md): @p vip, the
 * group's floating address (0: none), is ours as well, and VRRP (IP protocol
 * 112, TTL 255 as RFC 5798 section 5.1.1.3 requires of every advertisement,
 * which no router forwards: from the link only) to 224.0.0.18 or to us is
 * UPLINK_VRRP. Whether the member is active is not decided here (ha.h).
 */
static inline enum uplink_class uplink_classify_ha(const struct rte_mbuf *m, rte_be32_t local_ip,
						   rte_be32_t vip, rte_be32_t peer_ip,
						   rte_be32_t peer_now, uint16_t *l4_off)
{
	const uint32_t len = rte_pktmbuf_data_len(m);
	const struct rte_ether_hdr *eh = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	const struct rte_ipv4_hdr *ip;
	const struct rte_udp_hdr *udp;
	uint32_t ihl, off, plen;

	if (len < sizeof(*eh))
		return UPLINK_DROP_SHORT;
	if (eh->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP))
		return UPLINK_KERNEL;
	if (eh->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4))
		return UPLINK_DROP_ETHERTYPE;
	if (len < sizeof(*eh) + sizeof(*ip))
		return UPLINK_DROP_SHORT;
	ip = (const struct rte_ipv4_hdr *)(eh + 1);
	ihl = (uint32_t)(ip->version_ihl & 0x0f) * 4;
	if ((ip->version_ihl >> 4) != 4 || ihl < sizeof(*ip) ||
	    rte_be_to_cpu_16(ip->total_length) < ihl ||
	    sizeof(*eh) + rte_be_to_cpu_16(ip->total_length) > len)
		return UPLINK_DROP_IP_BAD;
	if (ip->next_proto_id == IPPROTO_VRRP_ && vip != 0 &&
	    (ip->dst_addr == VRRP_MCAST_BE || ip->dst_addr == local_ip))
		return ip->time_to_live == 255 && !rte_ipv4_frag_pkt_is_fragmented(ip)
			       ? UPLINK_VRRP : UPLINK_DROP_PROTO;
	if (ip->dst_addr != local_ip && (vip == 0 || ip->dst_addr != vip))
		return UPLINK_DROP_NOT_US;
	if (rte_ipv4_frag_pkt_is_fragmented(ip))
		return UPLINK_FRAG; /* ports only in the first fragment: decide when whole */
	if (ip->next_proto_id == IPPROTO_ICMP)
		return UPLINK_KERNEL;
	if (ip->next_proto_id != IPPROTO_UDP)
		return UPLINK_DROP_PROTO;
	off = sizeof(*eh) + ihl;
	plen = rte_be_to_cpu_16(ip->total_length) - ihl;
	if (plen < sizeof(*udp))
		return UPLINK_DROP_SHORT;
	udp = (const struct rte_udp_hdr *)((const uint8_t *)eh + off);
	if (udp->dst_port == rte_cpu_to_be_16(IKE_PORT))
		return ip->src_addr == peer_ip || ip->src_addr == peer_now ? UPLINK_IKE
									    : UPLINK_KERNEL;
	if (udp->dst_port == rte_cpu_to_be_16(PAIRING_UDP_PORT) ||
	    udp->dst_port == rte_cpu_to_be_16(SEGSYNC_UDP_PORT))
		return UPLINK_KERNEL;
	if (udp->dst_port != rte_cpu_to_be_16(NATT_PORT))
		return UPLINK_DROP_PROTO;
	off += sizeof(*udp);
	plen -= sizeof(*udp);
	if (plen == 1 && *((const uint8_t *)eh + off) == 0xff)
		return UPLINK_KERNEL; /* NAT keepalive: the kernel socket discards it */
	if (plen >= 4 && memcmp((const uint8_t *)eh + off, "\0\0\0\0", 4) == 0)
		/* non-ESP marker: IKE */
		return ip->src_addr == peer_ip || ip->src_addr == peer_now ? UPLINK_IKE
									    : UPLINK_KERNEL;
	*l4_off = (uint16_t)off;
	return UPLINK_ESP;
}

/** Counters of the exception path. */
struct exc_stats {
	uint64_t to_kernel;        /**< frames handed to the TAP */
	uint64_t to_kernel_drops;  /**< TAP queue full */
	uint64_t from_kernel;      /**< frames the kernel sent toward the uplink */
};

/** The exception TAP. */
struct exc_path {
	uint16_t port;             /**< DPDK port id of the net_tap vdev */
	char ifname[IF_NAMESIZE];  /**< kernel interface name */
	struct exc_stats st;
};

/**
 * Create the TAP (a net_tap vdev named after @p ifname), give it the uplink
 * port's MAC so the kernel's ARP replies and IKE packets carry the right
 * source, start it, and configure the kernel side (address, MTU, up).
 *
 * @return 0, or -1 with a reason in @p err
 */
int exc_open(struct exc_path *x, const char *ifname, const struct rte_ether_addr *mac,
	     rte_be32_t addr, unsigned prefixlen, unsigned mtu, struct rte_mempool *mp,
	     char *err, size_t errlen);

/**
 * Hand frames to the kernel. Takes ownership of all @p n mbufs: those the TAP
 * does not take are freed and counted in to_kernel_drops.
 * @return frames the TAP took (the caller counts the rest as dropped)
 */
uint16_t exc_to_kernel(struct exc_path *x, struct rte_mbuf **pkts, uint16_t n);

/**
 * Frames the kernel wants sent on the uplink; the caller owns them.
 * @return number of mbufs stored in @p pkts
 */
uint16_t exc_from_kernel(struct exc_path *x, struct rte_mbuf **pkts, uint16_t max);

/** Stop and remove the TAP. */
void exc_close(struct exc_path *x);

#endif
