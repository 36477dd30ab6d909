/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_dpdk_ring.c: proves the dataplane toolchain. DPDK's EAL starts without
 * hugepages or PCI, two net_ring ports are made from two rings crossed over
 * (rte_eth_from_rings: port 0 transmits into the ring port 1 receives from, and
 * back), and every packet sent on port 0 arrives on port 1, counted exactly,
 * with its payload intact.
 */
#include "check_main.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_eth_ring.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#define NB_PKTS 1000
#define BURST 32

static int port_start(uint16_t port, struct rte_mempool *mp)
{
	struct rte_eth_conf conf;

	memset(&conf, 0, sizeof(conf));
	if (rte_eth_dev_configure(port, 1, 1, &conf) < 0 ||
	    rte_eth_rx_queue_setup(port, 0, 1024, rte_socket_id(), NULL, mp) < 0 ||
	    rte_eth_tx_queue_setup(port, 0, 1024, rte_socket_id(), NULL) < 0)
		return -1;
	return rte_eth_dev_start(port);
}

START_TEST(test_ring_pair_delivers_every_packet)
{
	char prefix[64];
	struct rte_mempool *mp;
	struct rte_eth_stats st0, st1;
	uint32_t sent = 0, received = 0, bad_payload = 0;
	int loops = 0;

	snprintf(prefix, sizeof(prefix), "--file-prefix=isthmus-ut-%d", (int)getpid());
	char *argv[] = {
		"test_dpdk_ring", "--no-huge", "--no-pci", "-m", "128",
		prefix, "--log-level=lib.eal:error",
	};
	int argc = sizeof(argv) / sizeof(argv[0]);

	ck_assert_int_ge(rte_eal_init(argc, argv), 0);
	struct rte_ring *a = rte_ring_create("ut_a", 1024, rte_socket_id(), RING_F_SP_ENQ | RING_F_SC_DEQ);
	struct rte_ring *b = rte_ring_create("ut_b", 1024, rte_socket_id(), RING_F_SP_ENQ | RING_F_SC_DEQ);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(rte_eth_from_rings("net_ring_ut0", &a, 1, &b, 1, rte_socket_id()), 0);
	ck_assert_int_eq(rte_eth_from_rings("net_ring_ut1", &b, 1, &a, 1, rte_socket_id()), 1);
	ck_assert_uint_eq(rte_eth_dev_count_avail(), 2);
	mp = rte_pktmbuf_pool_create("ut_pool", 2047, 64, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				     rte_socket_id());
	ck_assert_ptr_nonnull(mp);
	ck_assert_int_eq(port_start(0, mp), 0);
	ck_assert_int_eq(port_start(1, mp), 0);

	while ((sent < NB_PKTS || received < NB_PKTS) && loops++ < 100000) {
		struct rte_mbuf *tx[BURST], *rx[BURST];
		uint16_t n = 0, k;

		for (; n < BURST && sent + n < NB_PKTS; n++) {
			tx[n] = rte_pktmbuf_alloc(mp);
			ck_assert_ptr_nonnull(tx[n]);
			uint32_t *p = (uint32_t *)rte_pktmbuf_append(tx[n], 64);
			memset(p, 0, 64);
			p[0] = sent + n; /* sequence number in the payload */
		}
		k = n ? rte_eth_tx_burst(0, 0, tx, n) : 0;
		for (uint16_t i = k; i < n; i++)
			rte_pktmbuf_free(tx[i]);
		sent += k;

		n = rte_eth_rx_burst(1, 0, rx, BURST);
		for (uint16_t i = 0; i < n; i++) {
			const uint32_t *p = rte_pktmbuf_mtod(rx[i], const uint32_t *);
			if (rx[i]->pkt_len != 64 || p[0] != received + i)
				bad_payload++;
			rte_pktmbuf_free(rx[i]);
		}
		received += n;
	}
	ck_assert_uint_eq(sent, NB_PKTS);
	ck_assert_uint_eq(received, NB_PKTS);
	ck_assert_uint_eq(bad_payload, 0);

	ck_assert_int_eq(rte_eth_stats_get(0, &st0), 0);
	ck_assert_int_eq(rte_eth_stats_get(1, &st1), 0);
	ck_assert_uint_eq(st0.opackets, NB_PKTS);
	ck_assert_uint_eq(st1.ipackets, NB_PKTS);
	ck_assert_uint_eq(st0.ipackets, 0);

	rte_eth_dev_stop(0);
	rte_eth_dev_stop(1);
	rte_eal_cleanup();
}
END_TEST

Suite *test_suite(void)
{
	Suite *s = suite_create("dpdk_ring");
	TCase *tc = tcase_create("net_ring");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_ring_pair_delivers_every_packet);
	suite_add_tcase(s, tc);
	return s;
}
