/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_exception.c: the uplink classifier sends ESP to the tunnel and ARP, ICMP,
 * IKE (UDP 500, UDP 4500 with the non-ESP marker) and NAT keepalives to the
 * kernel, the configured peer's IKE in the priority class (UPLINK_IKE), IKE
 * from anyone else in the policed one, and drops the rest with a reason; the next-hop resolver asks by ARP
 * while unresolved and learns the MAC from the next hop's ARP only.
 * Frames are built in real mbufs from a real DPDK mempool.
 */
#include "check_main.h"
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_arp.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_mbuf.h>

#include "exception.h"
#include "nexthop.h"

static struct rte_mempool *mp;
static const rte_be32_t US = RTE_BE32(0xc6120001) /* 198.18.0.1 */;
static const rte_be32_t PEER = RTE_BE32(0xc6120002) /* 198.18.0.2 */;
static const rte_be32_t OTHER = RTE_BE32(0xc6120063) /* 198.18.0.99 */;

static void eal_setup(void)
{
	char prefix[64];

	snprintf(prefix, sizeof(prefix), "--file-prefix=isthmus-ut-exc-%d", (int)getpid());
	char *argv[] = { "test_exception", "--no-huge", "--no-pci", "-m", "64", prefix,
			 "--log-level=lib.eal:error", "--no-telemetry" };
	ck_assert_int_ge(rte_eal_init(8, argv), 0);
	mp = rte_pktmbuf_pool_create("ut", 255, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	ck_assert_ptr_nonnull(mp);
}

/* Ethernet + IPv4 (+ UDP with payload) to @dst, protocol @proto. */
static struct rte_mbuf *ipv4(rte_be32_t dst, uint8_t proto, uint16_t dport,
			     const void *payload, uint16_t plen, uint16_t frag_off)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
	uint16_t l4 = proto == IPPROTO_UDP ? sizeof(struct rte_udp_hdr) : 8;
	uint16_t total = sizeof(struct rte_ipv4_hdr) + l4 + plen;
	uint8_t *p = (uint8_t *)rte_pktmbuf_append(m, sizeof(struct rte_ether_hdr) + total);
	struct rte_ether_hdr *eh = (struct rte_ether_hdr *)p;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eh + 1);

	memset(p, 0, sizeof(struct rte_ether_hdr) + total);
	eh->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	ip->version_ihl = 0x45;
	ip->total_length = rte_cpu_to_be_16(total);
	ip->fragment_offset = rte_cpu_to_be_16(frag_off);
	ip->next_proto_id = proto;
	ip->src_addr = PEER;
	ip->dst_addr = dst;
	if (proto == IPPROTO_UDP) {
		struct rte_udp_hdr *u = (struct rte_udp_hdr *)(ip + 1);

		u->src_port = rte_cpu_to_be_16(4500);
		u->dst_port = rte_cpu_to_be_16(dport);
		u->dgram_len = rte_cpu_to_be_16(sizeof(*u) + plen);
		memcpy(u + 1, payload, plen);
	}
	return m;
}

static enum uplink_class classify(struct rte_mbuf *m, uint16_t *off)
{
	enum uplink_class c = uplink_classify(m, US, PEER, PEER, off);

	rte_pktmbuf_free(m);
	return c;
}

static enum uplink_class uplink_classify_ha_free(struct rte_mbuf *m, rte_be32_t vip, uint16_t *off)
{
	enum uplink_class c = uplink_classify_ha(m, US, vip, PEER, PEER, off);

	rte_pktmbuf_free(m);
	return c;
}

START_TEST(test_classify)
{
	const uint8_t esp[24] = { 0, 0, 0x10, 0x01, 0, 0, 0, 1 };
	const uint8_t marker[12] = { 0 };
	const uint8_t keepalive[1] = { 0xff };
	uint16_t off = 0;
	struct rte_mbuf *m;

	eal_setup();
	ck_assert_int_eq(classify(ipv4(US, IPPROTO_UDP, 4500, esp, sizeof(esp), 0), &off), UPLINK_ESP);
	ck_assert_uint_eq(off, sizeof(struct rte_ether_hdr) + 20 + 8);
	/* the peer's IKE: the priority class */
	ck_assert_int_eq(classify(ipv4(US, IPPROTO_UDP, 4500, marker, sizeof(marker), 0), &off),
			 UPLINK_IKE);
	ck_assert_int_eq(classify(ipv4(US, IPPROTO_UDP, 500, marker, 8, 0), &off), UPLINK_IKE);
	/* IKE from any other source: the policed class */
	m = ipv4(US, IPPROTO_UDP, 500, marker, 8, 0);
	rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, 14)->src_addr = OTHER;
	ck_assert_int_eq(classify(m, &off), UPLINK_KERNEL);
	m = ipv4(US, IPPROTO_UDP, 4500, marker, sizeof(marker), 0);
	rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, 14)->src_addr = OTHER;
	ck_assert_int_eq(classify(m, &off), UPLINK_KERNEL);
	/* NAT keepalives and pairing, even from the peer: policed */
	ck_assert_int_eq(classify(ipv4(US, IPPROTO_UDP, 4500, keepalive, 1, 0), &off), UPLINK_KERNEL);
	ck_assert_int_eq(classify(ipv4(US, IPPROTO_UDP, 4501, esp, 8, 0), &off), UPLINK_KERNEL);
	ck_assert_int_eq(classify(ipv4(US, IPPROTO_ICMP, 0, NULL, 0, 0), &off), UPLINK_KERNEL);
	ck_assert_int_eq(classify(ipv4(US, IPPROTO_TCP, 0, NULL, 0, 0), &off), UPLINK_DROP_PROTO);
	ck_assert_int_eq(classify(ipv4(US, IPPROTO_UDP, 53, esp, 8, 0), &off), UPLINK_DROP_PROTO);
	ck_assert_int_eq(classify(ipv4(PEER, IPPROTO_UDP, 4500, esp, sizeof(esp), 0), &off),
			 UPLINK_DROP_NOT_US);
	ck_assert_int_eq(classify(ipv4(US, IPPROTO_UDP, 4500, esp, sizeof(esp), RTE_IPV4_HDR_MF_FLAG),
				  &off), UPLINK_FRAG);

	/* truncated: IPv4 total length beyond the frame */
	m = ipv4(US, IPPROTO_UDP, 4500, esp, sizeof(esp), 0);
	rte_pktmbuf_trim(m, 10);
	ck_assert_int_eq(classify(m, &off), UPLINK_DROP_IP_BAD);
	/* a bare Ethernet header */
	m = ipv4(US, IPPROTO_UDP, 4500, esp, sizeof(esp), 0);
	rte_pktmbuf_trim(m, rte_pktmbuf_data_len(m) - 14);
	ck_assert_int_eq(classify(m, &off), UPLINK_DROP_SHORT);
	/* IPv6 ethertype */
	m = ipv4(US, IPPROTO_UDP, 4500, esp, sizeof(esp), 0);
	rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6);
	ck_assert_int_eq(classify(m, &off), UPLINK_DROP_ETHERTYPE);
	/* IHL below 5 */
	m = ipv4(US, IPPROTO_UDP, 4500, esp, sizeof(esp), 0);
	rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, 14)->version_ihl = 0x44;
	ck_assert_int_eq(classify(m, &off), UPLINK_DROP_IP_BAD);
	/* UDP 4500 with a payload shorter than a marker and not a keepalive: ESP,
	 * rejected later by the ESP length check */
	ck_assert_int_eq(classify(ipv4(US, IPPROTO_UDP, 4500, esp, 2, 0), &off), UPLINK_ESP);
	rte_eal_cleanup();
}
END_TEST

/* A member of an HA group (docs/ha.md): the VIP is ours too; VRRP with TTL
 * 255 to 224.0.0.18 or to us is UPLINK_VRRP, with another TTL a drop; without
 * a VIP (no [ha]) neither. */
START_TEST(test_classify_ha)
{
	const uint8_t esp[24] = { 0, 0, 0x10, 0x01, 0, 0, 0, 1 };
	const rte_be32_t VIP = RTE_BE32(0xc6120009), MCAST = RTE_BE32(0xe0000012);
	uint16_t off = 0;
	struct rte_mbuf *m;

	eal_setup();
#define HA(m) uplink_classify_ha_free(m, VIP, &off)
	ck_assert_int_eq(HA(ipv4(VIP, IPPROTO_UDP, 4500, esp, sizeof(esp), 0)), UPLINK_ESP);
	ck_assert_int_eq(HA(ipv4(US, IPPROTO_UDP, 4500, esp, sizeof(esp), 0)), UPLINK_ESP);
	ck_assert_int_eq(classify(ipv4(VIP, IPPROTO_UDP, 4500, esp, sizeof(esp), 0), &off),
			 UPLINK_DROP_NOT_US);
	for (int i = 0; i < 3; i++) {
		rte_be32_t dst = i == 0 ? MCAST : i == 1 ? US : VIP;

		m = ipv4(dst, 112, 0, NULL, 0, 0);
		rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, 14)->time_to_live = 255;
		ck_assert_int_eq(HA(m), i < 2 ? UPLINK_VRRP : UPLINK_DROP_PROTO);
		/* RFC 5798 section 7.1: TTL other than 255, discarded */
		m = ipv4(dst, 112, 0, NULL, 0, 0);
		rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, 14)->time_to_live = 254;
		ck_assert_int_eq(HA(m), UPLINK_DROP_PROTO);
	}
	/* no HA: VRRP is nothing of ours */
	m = ipv4(MCAST, 112, 0, NULL, 0, 0);
	rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, 14)->time_to_live = 255;
	ck_assert_int_eq(classify(m, &off), UPLINK_DROP_NOT_US);
#undef HA
	rte_eal_cleanup();
}
END_TEST

static struct rte_mbuf *arp_from(rte_be32_t sip, const struct rte_ether_addr *sha, uint16_t op)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
	struct rte_ether_hdr *eh = (struct rte_ether_hdr *)rte_pktmbuf_append(
		m, sizeof(*eh) + sizeof(struct rte_arp_hdr));
	struct rte_arp_hdr *a = (struct rte_arp_hdr *)(eh + 1);

	memset(eh, 0, sizeof(*eh) + sizeof(*a));
	eh->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
	eh->src_addr = *sha;
	a->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
	a->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	a->arp_hlen = 6;
	a->arp_plen = 4;
	a->arp_opcode = rte_cpu_to_be_16(op);
	a->arp_data.arp_sha = *sha;
	a->arp_data.arp_sip = sip;
	a->arp_data.arp_tip = US;
	return m;
}

START_TEST(test_nexthop)
{
	struct rte_ether_addr us = { { 0x02, 0, 0, 0, 0, 1 } };
	struct rte_ether_addr peer = { { 0x02, 0, 0, 0, 0, 2 } };
	struct rte_ether_addr other = { { 0x02, 0, 0, 0, 0, 9 } };
	struct rte_ether_addr got;
	struct nexthop nh;
	struct rte_mbuf *m;
	const struct rte_arp_hdr *a;
	uint64_t now;

	eal_setup();
	nexthop_init(&nh, PEER, US, &us);
	ck_assert(!nexthop_mac(&nh, &got));

	/* unresolved: a broadcast ARP request for the peer, then none until 1 s later */
	now = rte_get_tsc_cycles();
	m = nexthop_poll(&nh, mp, now);
	ck_assert_ptr_nonnull(m);
	ck_assert(rte_is_broadcast_ether_addr(&rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->dst_addr));
	a = rte_pktmbuf_mtod_offset(m, const struct rte_arp_hdr *, sizeof(struct rte_ether_hdr));
	ck_assert_uint_eq(rte_be_to_cpu_16(a->arp_opcode), RTE_ARP_OP_REQUEST);
	ck_assert_uint_eq(a->arp_data.arp_tip, PEER);
	ck_assert_uint_eq(a->arp_data.arp_sip, US);
	ck_assert(rte_is_same_ether_addr(&a->arp_data.arp_sha, &us));
	rte_pktmbuf_free(m);
	ck_assert_ptr_null(nexthop_poll(&nh, mp, now + 1));
	m = nexthop_poll(&nh, mp, now + 2 * rte_get_tsc_hz());
	ck_assert_ptr_nonnull(m);
	rte_pktmbuf_free(m);
	ck_assert_uint_eq(nh.requests, 2);

	/* ARP from another address teaches nothing */
	m = arp_from(RTE_BE32(0xc6120009) /* 198.18.0.9 */, &other, RTE_ARP_OP_REPLY);
	nexthop_snoop(&nh, m);
	rte_pktmbuf_free(m);
	ck_assert(!nexthop_mac(&nh, &got));

	/* the peer's reply resolves it */
	m = arp_from(PEER, &peer, RTE_ARP_OP_REPLY);
	nexthop_snoop(&nh, m);
	rte_pktmbuf_free(m);
	ck_assert(nexthop_mac(&nh, &got));
	ck_assert(rte_is_same_ether_addr(&got, &peer));

	/* a gratuitous ARP (request) from the peer with a new MAC moves it */
	m = arp_from(PEER, &other, RTE_ARP_OP_REQUEST);
	nexthop_snoop(&nh, m);
	rte_pktmbuf_free(m);
	ck_assert(nexthop_mac(&nh, &got));
	ck_assert(rte_is_same_ether_addr(&got, &other));
	ck_assert_uint_eq(nh.changes, 2);

	/* the peer on this link: an authenticated packet from @peer's MAC takes
	 * it back from the ARP that said @other (HA split brain), once */
	ck_assert(nexthop_on_link(&nh, PEER));
	ck_assert(!nexthop_on_link(&nh, RTE_BE32(0xc6120009)));
	ck_assert(nexthop_follow(&nh, &peer));
	ck_assert(nexthop_mac(&nh, &got) && rte_is_same_ether_addr(&got, &peer));
	ck_assert(!nexthop_follow(&nh, &peer));
	ck_assert(!nexthop_follow(&nh, &(struct rte_ether_addr){ { 0x01, 0, 0x5e, 0, 0, 1 } }));
	ck_assert(nexthop_mac(&nh, &got) && rte_is_same_ether_addr(&got, &peer));

	/* a configured MAC is never followed */
	nexthop_set_static(&nh, &us);
	ck_assert(!nexthop_on_link(&nh, PEER));
	ck_assert(!nexthop_follow(&nh, &other));
	ck_assert(nexthop_mac(&nh, &got) && rte_is_same_ether_addr(&got, &us));
	rte_eal_cleanup();
}
END_TEST

Suite *test_suite(void)
{
	Suite *s = suite_create("exception");
	TCase *tc = tcase_create("uplink");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_classify);
	tcase_add_test(tc, test_classify_ha);
	tcase_add_test(tc, test_nexthop);
	suite_add_tcase(s, tc);
	return s;
}
