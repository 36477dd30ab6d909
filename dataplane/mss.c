/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mss.c: TCP MSS clamping (docs/conditioning.md).
 *
 * A host advertises in its SYN the largest TCP segment it can receive (RFC
 * 9293 section 3.7.1), from its own interface MTU: 1460 on a 1500-byte LAN.
 * Across the tunnel every frame carries about a hundred bytes of headers, so
 * a 1500-byte IP packet no longer fits a 1500-byte underlay; it has to be
 * fragmented, or, with DF set, path MTU discovery has to work through
 * firewalls that drop ICMP (RFC 4459 section 3; RFC 2923 "black holes").
 * Rewriting the MSS option of SYN and SYN-ACK to what fits makes TCP, most of
 * the traffic, never send a segment that needs fragmenting. Both directions
 * are clamped (the option in each side's SYN governs what the other sends),
 * on the frame exactly as it travels in the tunnel: outbound after the trunk
 * tag is removed, inbound before it is restored. A tag that travels inside
 * the tunnel (an access port carrying tagged frames) costs 4 bytes of the
 * budget, so such frames are clamped 4 bytes lower.
 *
 * Only the MSS option is touched, only ever lowered, and the TCP checksum is
 * updated incrementally (RFC 1624 equation 3). A SYN without an MSS option is
 * left alone: its sender then assumes 536 (IPv4) or 1220 (IPv6) (RFC 9293
 * section 3.7.1, RFC 8200 section 8.3), which fits an underlay MTU of 688 or
 * 1392 and more; adding an option would mean growing the packet and moving
 * its payload, for a rare case.
 *
 * Skipped safely (passed unchanged, not counted as bad): non-first IPv4
 * fragments and IPv6 packets whose fragment header has a non-zero offset (no
 * TCP header in them), IPv6 extension headers other than hop-by-hop, routing,
 * destination options and fragment (AH, ESP, unknown), more than two VLAN
 * tags. Walked: up to two 802.1Q / 802.1ad tags, IPv4 options, the IPv6
 * extension headers above (at most 8). A SYN whose TCP options are malformed
 * (length 0 or 1, running past the header, an MSS option not 4 bytes long,
 * anywhere in the list: all options are checked before any is changed) or
 * whose headers are truncated is passed untouched and counted
 * (mss_malformed): the receiving host judges it, the appliance does not drop
 * what it cannot parse.
 */
#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_tcp.h>

#include "dp.h"
#include "encap.h"
#include "mss.h"
#include "segment.h"
#include "worker.h"

#define MSS_MAX_TAGS 2
#define MSS_MAX_EXT_HDRS 8
#define TCPOPT_EOL 0
#define TCPOPT_NOP 1
#define TCPOPT_MSS 2
#define TCPOLEN_MSS 4

uint16_t mss_default(uint16_t uplink_mtu, bool ipv6)
{
	/*
	 * The outer IPv4 packet for an inner IP packet of L bytes (docs/conditioning.md):
	 *
	 *   outer IPv4 20 + UDP 8 + ESP header 8 + IV 8                    = 44
	 *   ESP payload: inner IPv4 20 + UDP 8 + VXLAN 8 + Ethernet 14 + L = 50 + L,
	 *     with pad length and next header (2) padded to 4 bytes (RFC 4303 2.4)
	 *   ICV                                                            = 16
	 *
	 *   outer = 44 + align4(50 + L + 2) + 16 = 60 + align4(52 + L) <= MTU
	 *   => 52 + L <= floor4(MTU - 60)  =>  L <= floor4(MTU - 60) - 52
	 *
	 * and the MSS is L less the inner IP and TCP headers: 40 for IPv4, 60
	 * for IPv6. MTU 1500: L = 1440 - 52 = 1388, MSS 1348 (IPv4), 1328 (IPv6).
	 */
	int l = (int)RTE_ALIGN_FLOOR((unsigned)uplink_mtu - 60, 4) - 52;
	int mss = l - (ipv6 ? 60 : 40);

	RTE_BUILD_BUG_ON(20 + 8 + ESP_PAYLOAD_OFF != 44);
	RTE_BUILD_BUG_ON(TUN_INNER_LEN + RTE_ETHER_HDR_LEN + 2 != 52);
	RTE_BUILD_BUG_ON(20 + 8 + ESP_PAYLOAD_OFF + ESP_ICV_LEN != 60);
	return mss > 0 ? (uint16_t)mss : 0;
}

/* RFC 1624 equation 3: HC' = ~(~HC + ~m + m'), all host-order values. */
static inline uint16_t csum_replace(uint16_t hc, uint16_t m, uint16_t m_new)
{
	uint32_t sum = (uint16_t)~hc + (uint32_t)(uint16_t)~m + m_new;

	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Lower the 16-bit MSS value at @p off of the TCP header @p tcp to @p limit. */
static inline void rewrite_mss(uint8_t *tcp, uint32_t off, uint16_t mss, uint16_t limit)
{
	struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)tcp;
	uint16_t hc = rte_be_to_cpu_16(th->cksum);

	tcp[off] = limit >> 8;
	tcp[off + 1] = limit & 0xff;
	/*
	 * The checksum sums 16-bit words aligned to the TCP header (the
	 * pseudo-header is 12 or 40 bytes, even). A value at an odd offset
	 * straddles two words: its high byte is the low byte of one and its low
	 * byte the high byte of the next, i.e. it adds in byte-swapped (RFC 1071
	 * section 2(B), byte order independence).
	 */
	if (off & 1)
		hc = csum_replace(hc, rte_bswap16(mss), rte_bswap16(limit));
	else
		hc = csum_replace(hc, mss, limit);
	th->cksum = rte_cpu_to_be_16(hc);
}

/*
 * Walk all the options of a SYN and, if every one is well-formed, lower its
 * MSS option(s). @return the counter to bump (DP_C_MAX: nothing to count).
 */
static inline int clamp_tcp(uint8_t *tcp, uint32_t avail, uint16_t limit)
{
	const struct rte_tcp_hdr *th = (const struct rte_tcp_hdr *)tcp;
	uint32_t hlen, i, at[4];
	unsigned n = 0;
	bool lowered = false;

	if (unlikely(avail < sizeof(*th)))
		return DP_C_mss_malformed;
	if (!(th->tcp_flags & RTE_TCP_SYN_FLAG))
		return DP_C_MAX;
	hlen = (th->data_off >> 4) * 4u;
	if (unlikely(hlen < sizeof(*th) || hlen > avail))
		return DP_C_mss_malformed;
	/* RFC 9293 section 3.1: kind, or kind-length-data with length >= 2 */
	for (i = sizeof(*th); i < hlen;) {
		uint8_t kind = tcp[i], len;

		if (kind == TCPOPT_EOL)
			break;
		if (kind == TCPOPT_NOP) {
			i++;
			continue;
		}
		if (unlikely(i + 1 >= hlen))
			return DP_C_mss_malformed;
		len = tcp[i + 1];
		if (unlikely(len < 2 || i + len > hlen))
			return DP_C_mss_malformed;
		if (kind == TCPOPT_MSS) {
			/* more than one MSS option: each is lowered (the receiver
			 * may honour any); more than four is not a real SYN */
			if (unlikely(len != TCPOLEN_MSS || n == RTE_DIM(at)))
				return DP_C_mss_malformed;
			at[n++] = i + 2;
		}
		i += len;
	}
	if (n == 0)
		return DP_C_mss_missing;
	for (unsigned k = 0; k < n; k++) {
		uint16_t mss = (uint16_t)(tcp[at[k]] << 8 | tcp[at[k] + 1]);

		if (mss > limit) {
			rewrite_mss(tcp, at[k], mss, limit);
			lowered = true;
		}
	}
	return lowered ? DP_C_mss_clamped : DP_C_MAX;
}

/* IPv6 after the fixed header: the TCP header's offset, or 0 (skip). */
static inline uint32_t ipv6_tcp_offset(const uint8_t *p, uint32_t off, uint32_t end, uint8_t nh)
{
	for (int n = 0; n < MSS_MAX_EXT_HDRS; n++) {
		switch (nh) {
		case IPPROTO_TCP:
			return off;
		case IPPROTO_HOPOPTS:
		case IPPROTO_ROUTING:
		case IPPROTO_DSTOPTS:
			if (off + 8 > end)
				return 0;
			nh = p[off];
			off += (p[off + 1] + 1u) * 8;
			break;
		case IPPROTO_FRAGMENT:
			/* RFC 8200 4.5: offset in the upper 13 bits of bytes 2-3 */
			if (off + 8 > end || ((p[off + 2] << 8 | p[off + 3]) & 0xfff8) != 0)
				return 0;
			nh = p[off];
			off += 8;
			break;
		default: /* AH, ESP, no next header, anything else: not ours to parse */
			return 0;
		}
	}
	/* at most MSS_MAX_EXT_HDRS walked: the TCP header may follow the last */
	return nh == IPPROTO_TCP ? off : 0;
}

void mss_clamp(struct worker *w, const struct segment *s, struct rte_mbuf *m)
{
	uint8_t *p = rte_pktmbuf_mtod(m, uint8_t *);
	uint32_t len = m->data_len, off = RTE_ETHER_HDR_LEN, end;
	uint16_t type, limit;
	int tags = 0, c;

	if (unlikely(len < RTE_ETHER_HDR_LEN))
		return;
	type = (uint16_t)(p[12] << 8 | p[13]);
	while (type == RTE_ETHER_TYPE_VLAN || type == RTE_ETHER_TYPE_QINQ) {
		if (tags == MSS_MAX_TAGS || off + 4 > len)
			return;
		type = (uint16_t)(p[off + 2] << 8 | p[off + 3]);
		off += 4;
		tags++;
	}
	if (type == RTE_ETHER_TYPE_IPV4) {
		const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)(p + off);
		uint32_t ihl;

		if (off + sizeof(*ip) > len || ip->next_proto_id != IPPROTO_TCP)
			return;
		/* a non-first fragment carries no TCP header */
		if (ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_OFFSET_MASK))
			return;
		ihl = (ip->version_ihl & 0xf) * 4u;
		end = off + rte_be_to_cpu_16(ip->total_length);
		if (unlikely((ip->version_ihl >> 4) != 4 || ihl < sizeof(*ip) || end > len ||
			     off + ihl > end)) {
			dp_count(&w->stats, DP_C_mss_malformed, 1);
			return;
		}
		off += ihl;
		limit = s->mss4;
	} else if (type == RTE_ETHER_TYPE_IPV6) {
		const struct rte_ipv6_hdr *ip6 = (const struct rte_ipv6_hdr *)(p + off);

		if (off + sizeof(*ip6) > len)
			return;
		end = off + sizeof(*ip6) + rte_be_to_cpu_16(ip6->payload_len);
		if (unlikely(end > len || (p[off] >> 4) != 6)) {
			if (ip6->proto == IPPROTO_TCP)
				dp_count(&w->stats, DP_C_mss_malformed, 1);
			return;
		}
		off = ipv6_tcp_offset(p, off + sizeof(*ip6), end, ip6->proto);
		if (off == 0)
			return;
		limit = s->mss6;
	} else {
		return;
	}
	if (unlikely(off > end))
		return;
	/* each tag inside the tunnel takes 4 bytes of the budget */
	limit = limit > 4 * tags ? limit - 4 * tags : 1;
	c = clamp_tcp(p + off, end - off, limit);
	if (c != DP_C_MAX)
		dp_count(&w->stats, c, 1);
}
