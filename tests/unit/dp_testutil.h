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

#include "dp_rig.h"

#define NW DP_RIG_WORKERS

static struct dp_config cfg;
static struct dp D;
/* the ports' rings: what the test feeds in (rx), what the dataplane sent (tx) */
static struct rte_ring *urx[NW], *utx[NW], *lrx[NW], *ltx[NW], *trx[NW], *ttx[NW];
static struct rte_mempool *mp;

/* EAL (file prefix from @p prog, @p tag and the pid) and the dataplane;
 * @p uplink_extra: more [uplink] lines. */
static void dp_boot(const char *prog, const char *tag, const char *uplink_extra)
{
	char up[RTE_ETH_NAME_MAX_LEN], lo[RTE_ETH_NAME_MAX_LEN], tr[RTE_ETH_NAME_MAX_LEN];
	char text[2048], err[256];

	if (dp_rig_eal(prog, tag, err, sizeof(err)) < 0 ||
	    dp_rig_port("ut_up", urx, utx, up, err, sizeof(err)) < 0 ||
	    dp_rig_port("ut_lo", lrx, ltx, lo, err, sizeof(err)) < 0 ||
	    dp_rig_port("ut_tr", trx, ttx, tr, err, sizeof(err)) < 0)
		ck_abort_msg("%s", err);
	snprintf(text, sizeof(text),
		"[appliance]\nname = ut\nrx_mode = poll\nburst = 32\nmbufs = 16384\nmac_table_size = 1024\n"
		"run_dir = /tmp\n"
		"[uplink]\nport = %s\naddress = 198.18.0.1\npeer = 198.18.0.2\n"
		"peer_mac = 02:00:5e:12:00:02\nmtu = 1700\nlocal_vtep = 198.19.0.1\n"
		"peer_vtep = 198.19.0.2\n%s"
		"[local lan]\nport = %s\nmode = access\nmtu = 1500\n"
		"[local trunk]\nport = %s\nmode = trunk\nmtu = 1500\n"
		"[segment web]\nlocal = lan\nvni = 5101\n",
		up, uplink_extra, lo, tr);
	if (dp_rig_start(text, &cfg, &D, err, sizeof(err)) < 0)
		ck_abort_msg("dataplane: %s", err);
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
