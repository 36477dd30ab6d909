/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_mss.c: TCP MSS clamping (dataplane/mss.c) without EAL.
 *
 *  - mss_default() agrees, for every uplink MTU, with the length the data path
 *    really gives an encapsulated frame (encap_outer_ip_len, encap.h)
 *  - random SYNs (IPv4 and IPv6, 0..3 NOPs before the MSS: every alignment,
 *    random MSS values, tags): the MSS comes out min(MSS, clamp) and the
 *    incrementally updated checksum equals one computed from scratch (DPDK
 *    rte_ipv4_udptcp_cksum / rte_ipv6_udptcp_cksum)
 *  - random option bytes and truncated frames: never a read outside the frame
 *    (run under ASan), and a frame is only ever changed in its MSS value and
 *    checksum; what is counted malformed is not changed at all
 */
#include "check_main.h"
#include <stdlib.h>
#include <string.h>

#include <rte_ip.h>
#include <rte_tcp.h>

#include "dp.h"
#include "encap.h"
#include "mss.h"
#include "segment.h"
#include "worker.h"

static struct worker w;
static struct segment seg;

static void set_mbuf(struct rte_mbuf *m, uint8_t *buf, uint16_t len)
{
	memset(m, 0, sizeof(*m));
	m->buf_addr = buf;
	m->data_off = 0;
	m->data_len = len;
	m->pkt_len = len;
	m->nb_segs = 1;
}

START_TEST(test_default_matches_encap)
{
	for (uint32_t mtu = 576; mtu <= 9600; mtu++) {
		for (int v6 = 0; v6 <= 1; v6++) {
			uint32_t hdrs = v6 ? 60 : 40, mss = mss_default(mtu, v6);

			/* fits, and one byte more would not */
			ck_assert_msg(encap_outer_ip_len(RTE_ETHER_HDR_LEN + hdrs + mss) <= mtu,
				      "mtu %u v6 %d: mss %u does not fit", mtu, v6, mss);
			ck_assert_msg(encap_outer_ip_len(RTE_ETHER_HDR_LEN + hdrs + mss + 1) > mtu,
				      "mtu %u v6 %d: mss %u is not the largest", mtu, v6, mss);
		}
	}
	ck_assert_uint_eq(mss_default(1500, false), 1348);
	ck_assert_uint_eq(mss_default(1500, true), 1328);
}
END_TEST

/* Ethernet [tags] IPv4/IPv6 TCP SYN with @p nops NOPs, then MSS, then padding. */
static uint16_t build_syn(uint8_t *b, bool v6, int tags, int nops, uint16_t mss, uint16_t payload)
{
	uint16_t off = 12, l3, l4, optlen = RTE_ALIGN_CEIL(nops + 4, 4), tcplen;
	struct rte_tcp_hdr *th;

	memset(b, 0, 2048);
	for (int i = 0; i < 12; i++)
		b[i] = (uint8_t)rand();
	b[0] &= 0xfe;
	for (int t = 0; t < tags; t++) {
		b[off] = t == 0 && tags == 2 ? 0x88 : 0x81;
		b[off + 1] = t == 0 && tags == 2 ? 0xa8 : 0x00;
		b[off + 3] = (uint8_t)(10 + t);
		off += 4;
	}
	b[off] = v6 ? 0x86 : 0x08;
	b[off + 1] = v6 ? 0xdd : 0x00;
	l3 = off + 2;
	l4 = l3 + (v6 ? 40 : 20);
	tcplen = 20 + optlen + payload;
	th = (struct rte_tcp_hdr *)(b + l4);
	th->src_port = rte_cpu_to_be_16((uint16_t)rand());
	th->dst_port = RTE_BE16(443);
	th->sent_seq = (uint32_t)rand();
	th->data_off = (uint8_t)(((20 + optlen) / 4) << 4);
	th->tcp_flags = RTE_TCP_SYN_FLAG | (rand() & 1 ? RTE_TCP_ACK_FLAG : 0);
	th->rx_win = (uint16_t)rand();
	for (int i = 0; i < nops; i++)
		b[l4 + 20 + i] = 1;
	b[l4 + 20 + nops] = 2;
	b[l4 + 20 + nops + 1] = 4;
	b[l4 + 20 + nops + 2] = mss >> 8;
	b[l4 + 20 + nops + 3] = mss & 0xff;
	for (uint16_t i = 0; i < payload; i++)
		b[l4 + 20 + optlen + i] = (uint8_t)rand();
	if (v6) {
		struct rte_ipv6_hdr *ip = (struct rte_ipv6_hdr *)(b + l3);

		ip->vtc_flow = RTE_BE32(6u << 28);
		ip->payload_len = rte_cpu_to_be_16(tcplen);
		ip->proto = IPPROTO_TCP;
		ip->hop_limits = 64;
		for (int i = 0; i < 16; i++) {
			ip->src_addr[i] = (uint8_t)rand();
			ip->dst_addr[i] = (uint8_t)rand();
		}
		th->cksum = rte_ipv6_udptcp_cksum(ip, th);
	} else {
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(b + l3);

		ip->version_ihl = RTE_IPV4_VHL_DEF;
		ip->total_length = rte_cpu_to_be_16(20 + tcplen);
		ip->time_to_live = 64;
		ip->next_proto_id = IPPROTO_TCP;
		ip->src_addr = (uint32_t)rand();
		ip->dst_addr = (uint32_t)rand();
		ip->hdr_checksum = rte_ipv4_cksum(ip);
		th->cksum = rte_ipv4_udptcp_cksum(ip, th);
	}
	return l4 + tcplen;
}

/* The TCP checksum verifies: the one's complement sum over the pseudo-header
 * and the whole segment, checksum included, is 0xffff (RFC 1071). */
static bool tcp_ok(uint8_t *b, bool v6, int tags)
{
	uint16_t l3 = 14 + 4 * tags;
	uint32_t sum, len;

	if (v6) {
		const struct rte_ipv6_hdr *ip = (const struct rte_ipv6_hdr *)(b + l3);

		len = rte_be_to_cpu_16(ip->payload_len);
		sum = rte_ipv6_phdr_cksum(ip, 0) + (uint32_t)rte_raw_cksum(b + l3 + 40, len);
	} else {
		const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)(b + l3);

		len = rte_be_to_cpu_16(ip->total_length) - 20;
		sum = rte_ipv4_phdr_cksum(ip, 0) + (uint32_t)rte_raw_cksum(b + l3 + 20, len);
	}
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return sum == 0xffff;
}

START_TEST(test_random_syns)
{
	static uint8_t b[2048], orig[2048];
	struct rte_mbuf m;
	unsigned clamped = 0;

	srand(7);
	seg.mss4 = 1348;
	seg.mss6 = 1328;
	for (int n = 0; n < 20000; n++) {
		bool v6 = n & 1;
		int tags = (n >> 1) % 3, nops = (n >> 3) % 4;
		uint16_t mss = n % 5 == 0 ? (uint16_t)(1200 + rand() % 300) : (uint16_t)rand();
		uint16_t payload = (uint16_t)(rand() % 64), len, limit, got, at;

		len = build_syn(b, v6, tags, nops, mss, payload);
		memcpy(orig, b, len);
		ck_assert(tcp_ok(b, v6, tags));
		memset(&w.stats, 0, sizeof(w.stats));
		set_mbuf(&m, b, len);
		mss_clamp(&w, &seg, &m);
		limit = (v6 ? seg.mss6 : seg.mss4) - 4 * tags;
		at = 14 + 4 * tags + (v6 ? 40 : 20) + 20 + nops + 2;
		got = (uint16_t)(b[at] << 8 | b[at + 1]);
		ck_assert_msg(got == RTE_MIN(mss, limit), "n %d: mss %u limit %u got %u", n, mss, limit, got);
		ck_assert_msg(tcp_ok(b, v6, tags), "n %d: checksum wrong after clamping (nops %d, v6 %d)", n,
			      nops, v6);
		ck_assert_uint_eq(w.stats.c[DP_C_mss_clamped], mss > limit);
		ck_assert_uint_eq(w.stats.c[DP_C_mss_malformed], 0);
		clamped += mss > limit;
		/* nothing else changed: the MSS value and the checksum only */
		for (uint16_t i = 0; i < len; i++) {
			uint16_t ck = 14 + 4 * tags + (v6 ? 40 : 20) + 16;

			if (i != at && i != at + 1 && i != ck && i != ck + 1)
				ck_assert_msg(b[i] == orig[i], "n %d: byte %u changed", n, i);
		}
	}
	ck_assert_uint_gt(clamped, 1000);
}
END_TEST

START_TEST(test_garbage_options)
{
	static uint8_t b[2048], orig[2048];
	struct rte_mbuf m;
	unsigned malformed = 0;

	srand(11);
	seg.mss4 = 1348;
	seg.mss6 = 1328;
	for (int n = 0; n < 50000; n++) {
		bool v6 = n & 1;
		uint16_t len = build_syn(b, v6, 0, 0, 1460, 0), l4 = 14 + (v6 ? 40 : 20), cut;

		/* random data offset and option bytes, then a random truncation */
		b[l4 + 12] = (uint8_t)(rand() & 0xf0);
		for (int i = 20; i < 24; i++)
			b[l4 + i] = (uint8_t)(rand() % 8 < 6 ? rand() % 5 : rand());
		cut = (uint16_t)(rand() % 4 == 0 ? rand() % (len + 1) : len);
		memcpy(orig, b, len);
		memset(&w.stats, 0, sizeof(w.stats));
		/* the frame in a buffer of exactly its length: ASan sees overreads */
		{
			uint8_t *heap = malloc(cut ? cut : 1);

			memcpy(heap, b, cut);
			set_mbuf(&m, heap, cut);
			mss_clamp(&w, &seg, &m);
			memcpy(b, heap, cut);
			free(heap);
		}
		if (w.stats.c[DP_C_mss_malformed]) {
			malformed++;
			ck_assert_msg(memcmp(b, orig, cut) == 0, "n %d: malformed but changed", n);
		}
		if (!w.stats.c[DP_C_mss_clamped])
			ck_assert_msg(memcmp(b, orig, cut) == 0, "n %d: changed but not counted", n);
	}
	ck_assert_uint_gt(malformed, 1000);
}
END_TEST

Suite *test_suite(void)
{
	Suite *s = suite_create("mss");
	TCase *tc = tcase_create("mss");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_default_matches_encap);
	tcase_add_test(tc, test_random_syns);
	tcase_add_test(tc, test_garbage_options);
	suite_add_tcase(s, tc);
	return s;
}
