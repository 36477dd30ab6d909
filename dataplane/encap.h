/* SPDX-License-Identifier: GPL-2.0-or-later */
/**
 * @file encap.h
 * Header writers and readers for the tunnel format of docs/design.md:
 *
 *     outer Ethernet | outer IPv4 | UDP -> 4500 (or a NAT's port) | ESP hdr + IV |
 *       inner IPv4 (VTEP -> VTEP) | UDP -> 4789 | VXLAN | frame | ESP trailer | ICV
 *
 * Offsets from the start of the outer Ethernet header.
 */
#ifndef ISTHMUS_DP_ENCAP_H
#define ISTHMUS_DP_ENCAP_H

#include <string.h>

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_hash_crc.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include "dp.h"         /* segment_send_now(): w->dp->port */
#include "esp.h"
#include "exception.h"  /* NATT_PORT */
#include "port.h"
#include "segment.h"
#include "worker.h"

#define VXLAN_PORT 4789         /**< RFC 7348 section 5 */

/** Bytes in front of the inner frame on the wire: outer Ethernet, IPv4,
 * UDP, ESP header and IV, inner IPv4, UDP and VXLAN. */
#define TUN_OUTER_LEN (RTE_ETHER_HDR_LEN + 20 + 8)
#define TUN_INNER_LEN (20 + 8 + 8)
#define TUN_HDR_LEN (TUN_OUTER_LEN + ESP_PAYLOAD_OFF + TUN_INNER_LEN)
/** Outer IPv4 bytes around an inner frame, at most (docs/design.md: 98 to 101). */
#define TUN_IP_OVERHEAD (20 + 8 + ESP_MAX_OVERHEAD + TUN_INNER_LEN)

#define OFF_OUTER_IP RTE_ETHER_HDR_LEN
#define OFF_OUTER_UDP (OFF_OUTER_IP + 20)
#define OFF_ESP (OFF_OUTER_UDP + 8)
#define OFF_INNER_IP (OFF_ESP + ESP_PAYLOAD_OFF)
#define OFF_INNER_UDP (OFF_INNER_IP + 20)
#define OFF_VXLAN (OFF_INNER_UDP + 8)
#define OFF_FRAME (OFF_VXLAN + 8)
#define VXLAN_FLAG_I 0x08               /**< RFC 7348 section 5: valid VNI */
#define IP_DEFTTL 64

/**
 * IPv4 header checksum (RFC 1071) of a header whose only varying fields are
 * the total length and the identification: @p base is the folded one's
 * complement sum of the rest (ipv4_sum_base()), so a packet costs two adds
 * and a fold instead of a pass over the header (RFC 1624 style).
 */
static inline uint16_t ipv4_cksum_fast(uint32_t base, rte_be16_t total_length, rte_be16_t id)
{
	uint32_t sum = base + total_length + id;

	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/** The base sum for ipv4_cksum_fast(): TTL 64, UDP, no options, DF clear. */
static inline uint32_t ipv4_sum_base(uint32_t src, uint32_t dst)
{
	struct rte_ipv4_hdr h = {
		.version_ihl = RTE_IPV4_VHL_DEF,
		.time_to_live = 64,
		.next_proto_id = IPPROTO_UDP,
		.src_addr = src,
		.dst_addr = dst,
	};

	return rte_raw_cksum(&h, sizeof(h));
}

/** VXLAN header (RFC 7348 section 5). */
struct vxlan_hdr {
	uint8_t flags;
	uint8_t reserved1[3];
	rte_be32_t vni_rsvd;  /**< VNI << 8 */
} __rte_packed;

/**
 * Write inner IPv4 / UDP / VXLAN in front of a frame of @p frame_len bytes.
 * The UDP source port carries flow entropy (RFC 7348 section 5: a hash of
 * the inner frame's headers, from the dynamic range); checksum 0 is allowed
 * for UDP over IPv4 (RFC 768, RFC 7348 section 5).
 */
static inline void encap_inner(uint8_t *ip_start, uint16_t frame_len, uint32_t src_vtep,
			       uint32_t dst_vtep, uint32_t sum_base, uint32_t vxlan_vni_be)
{
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)ip_start;
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip_start + 20);
	struct vxlan_hdr *vx = (struct vxlan_hdr *)(ip_start + 28);
	const uint8_t *frame = ip_start + TUN_INNER_LEN;
	uint64_t macs;
	uint32_t more, h;
	uint16_t type;

	/* CRC of both MACs and the EtherType; memcpy: the frame is not aligned. */
	memcpy(&macs, frame, sizeof(macs));
	memcpy(&more, frame + 8, sizeof(more));
	memcpy(&type, frame + 12, sizeof(type));
	h = rte_hash_crc_2byte(type,
			       rte_hash_crc_4byte(more, rte_hash_crc_8byte(macs, 0)));

	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->type_of_service = 0;
	ip->total_length = rte_cpu_to_be_16(TUN_INNER_LEN + frame_len);
	ip->packet_id = 0;
	ip->fragment_offset = 0;
	ip->time_to_live = IP_DEFTTL;
	ip->next_proto_id = IPPROTO_UDP;
	ip->src_addr = src_vtep;
	ip->dst_addr = dst_vtep;
	ip->hdr_checksum = ipv4_cksum_fast(sum_base, ip->total_length, 0);
	udp->src_port = rte_cpu_to_be_16(49152 | (h & 0x3fff));
	udp->dst_port = RTE_BE16(VXLAN_PORT);
	udp->dgram_len = rte_cpu_to_be_16(8 + 8 + frame_len);
	udp->dgram_cksum = 0;
	vx->flags = VXLAN_FLAG_I;
	vx->reserved1[0] = vx->reserved1[1] = vx->reserved1[2] = 0;
	vx->vni_rsvd = vxlan_vni_be;
}

/**
 * Write outer Ethernet / IPv4 / UDP in front of an ESP packet of @p esp_len
 * bytes, to @p dst_ip port @p dst_port_be: the peer's 4500, or what its NAT
 * mapped it to (RFC 3948 section 2.1, the SA's ports). UDP checksum 0 (RFC 3948 section 2.1). DF clear and a fresh IP id
 * per packet, so the underlay may fragment (RFC 6864).
 */
static inline void encap_outer(uint8_t *eth_start, const struct rte_ether_addr *dst,
			       const struct rte_ether_addr *src, uint32_t src_ip, uint32_t dst_ip,
			       uint32_t sum_base, uint16_t src_port_be, uint16_t dst_port_be,
			       uint16_t ip_id, uint16_t esp_len)
{
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)eth_start;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth_start + OFF_OUTER_IP);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(eth_start + OFF_OUTER_UDP);

	rte_ether_addr_copy(dst, &eth->dst_addr);
	rte_ether_addr_copy(src, &eth->src_addr);
	eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->type_of_service = 0;
	ip->total_length = rte_cpu_to_be_16(20 + 8 + esp_len);
	ip->packet_id = rte_cpu_to_be_16(ip_id);
	ip->fragment_offset = 0;
	ip->time_to_live = IP_DEFTTL;
	ip->next_proto_id = IPPROTO_UDP;
	ip->src_addr = src_ip;
	ip->dst_addr = dst_ip;
	ip->hdr_checksum = ipv4_cksum_fast(sum_base, ip->total_length, ip->packet_id);
	udp->src_port = src_port_be;
	udp->dst_port = dst_port_be;
	udp->dgram_len = rte_cpu_to_be_16(8 + esp_len);
	udp->dgram_cksum = 0;
}

/**
 * Outer IPv4 length for a frame of @p frame_len bytes: ESP pads the payload
 * plus its 2-byte trailer to 4 bytes (RFC 4303 section 2.4).
 */
static inline uint32_t encap_outer_ip_len(uint32_t frame_len)
{
	uint32_t payload = TUN_INNER_LEN + frame_len;

	return 20 + 8 + ESP_PAYLOAD_OFF + RTE_ALIGN_CEIL(payload + 2, 4) + ESP_ICV_LEN;
}

/* The segment's 802.1Q tag back on a frame for a trunk (inbound, and the
 * gateway's local answers). */
static inline int vlan_restore(struct rte_mbuf *m, const struct dp_port *lp, const struct segment *s)
{
	uint8_t *p;
	struct rte_vlan_hdr *vh;

	if (lp->mode != CFG_LOCAL_TRUNK || s->vlan == DP_VLAN_UNTAGGED)
		return 0;
	p = (uint8_t *)rte_pktmbuf_prepend(m, 4);
	if (unlikely(p == NULL))
		return -1;
	memmove(p, p + 4, 2 * RTE_ETHER_ADDR_LEN);
	((struct rte_ether_hdr *)p)->ether_type = RTE_BE16(RTE_ETHER_TYPE_VLAN);
	vh = (struct rte_vlan_hdr *)(p + RTE_ETHER_HDR_LEN);
	vh->vlan_tci = rte_cpu_to_be_16(s->vlan);
	/* vh->eth_proto is the frame's own EtherType, already in place. */
	return 0;
}

/**
 * Send a frame the appliance itself made (an answer, an announcement) out of
 * segment @p s's local port at once, its VLAN tag restored. @return 0 (@p m
 * is gone), or -1 when there is no headroom for the tag (@p m is still the
 * caller's)
 */
static inline int segment_send_now(struct worker *w, const struct segment *s, struct rte_mbuf *m)
{
	if (unlikely(vlan_restore(m, &w->dp->port[s->port], s) < 0))
		return -1;
	port_tx_queue(w, s->port, m);
	port_tx_flush(w, s->port);
	return 0;
}

#endif
