/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A real dataplane in the test process (header-only, static), for the unit
 * tests that drive dataplane paths by hand: EAL without hugepages, NW workers
 * on lcores that never run (the test calls the paths itself, from one thread,
 * so the order of events between "workers" is exact), net_ring ports whose
 * rings the test reads and writes.
 *
 * Ports: "lan" (access, segment "web", VNI 5101), "trunk" (a trunk without
 * segments), the uplink; the lab's site A addresses; no TAP.
 */
#ifndef ISTHMUS_TESTS_DP_TESTUTIL_H
#define ISTHMUS_TESTS_DP_TESTUTIL_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_ring.h>

#include "config.h"
#include "dp.h"

#define NW 2

static struct dp_config cfg;
static struct dp D;
/* the ports' rings: what the test feeds in (rx), what the dataplane sent (tx) */
static struct rte_ring *urx[NW], *utx[NW], *lrx[NW], *ltx[NW], *trx[NW], *ttx[NW];
static struct rte_mempool *mp;

static void ring_port(const char *name, struct rte_ring **rx, struct rte_ring **tx, char *dev)
{
	for (int k = 0; k < NW; k++) {
		char n[RTE_RING_NAMESIZE];

		snprintf(n, sizeof(n), "%s_rx%d", name, k);
		rx[k] = rte_ring_create(n, 1024, rte_socket_id(), RING_F_SP_ENQ | RING_F_SC_DEQ);
		snprintf(n, sizeof(n), "%s_tx%d", name, k);
		tx[k] = rte_ring_create(n, 4096, rte_socket_id(), RING_F_SP_ENQ | RING_F_SC_DEQ);
		ck_assert(rx[k] != NULL && tx[k] != NULL);
	}
	int id = rte_eth_from_rings(name, rx, NW, tx, NW, rte_socket_id());

	ck_assert_int_ge(id, 0);
	ck_assert_int_eq(rte_eth_dev_get_name_by_port((uint16_t)id, dev), 0);
}

/* EAL (file prefix from @p prog, @p tag and the pid) and the dataplane;
 * @p uplink_extra: more [uplink] lines. */
static void dp_boot(const char *prog, const char *tag, const char *uplink_extra)
{
	char up[RTE_ETH_NAME_MAX_LEN], lo[RTE_ETH_NAME_MAX_LEN], tr[RTE_ETH_NAME_MAX_LEN];
	char path[] = "/tmp/isthmus-ut-XXXXXX", prefix[64], err[256];
	int fd;
	FILE *f;

	snprintf(prefix, sizeof(prefix), "--file-prefix=isthmus-ut-%s-%s-%d", prog, tag,
		 (int)getpid());
	char *argv[] = { "isthmus-ut", "--no-huge", "--no-pci", "-m", "256", prefix,
			 "--lcores", "0@0,1@0,2@0", "--log-level=lib.eal:error", "--no-telemetry" };
	ck_assert_int_ge(rte_eal_init(RTE_DIM(argv), argv), 0);
	ring_port("ut_up", urx, utx, up);
	ring_port("ut_lo", lrx, ltx, lo);
	ring_port("ut_tr", trx, ttx, tr);
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "w");
	fprintf(f,
		"[appliance]\nname = ut\nrx_mode = poll\nburst = 32\nmbufs = 16384\nmac_table_size = 1024\n"
		"run_dir = /tmp\n"
		"[uplink]\nport = %s\naddress = 198.18.0.1\npeer = 198.18.0.2\n"
		"peer_mac = 02:00:5e:12:00:02\nmtu = 1700\nlocal_vtep = 198.19.0.1\n"
		"peer_vtep = 198.19.0.2\n%s"
		"[local lan]\nport = %s\nmode = access\nmtu = 1500\n"
		"[local trunk]\nport = %s\nmode = trunk\nmtu = 1500\n"
		"[segment web]\nlocal = lan\nvni = 5101\n",
		up, uplink_extra, lo, tr);
	fclose(f);
	if (config_load(path, &cfg, err, sizeof(err)) < 0)
		ck_abort_msg("config: %s", err);
	unlink(path);
	cfg.backend = ESP_BACKEND_SODIUM;
	if (dp_init(&D, &cfg, err, sizeof(err)) < 0)
		ck_abort_msg("dp_init: %s", err);
	ck_assert_uint_eq(D.nb_workers, NW);
	mp = D.pool;
}

static void dp_shutdown(void)
{
	dp_halt(&D);
	dp_fini(&D);
	config_free(&cfg);
	rte_eal_cleanup();
}

static uint64_t cnt(unsigned w, enum dp_counter c)
{
	return D.worker[w]->stats.c[c];
}

#endif
