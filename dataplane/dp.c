/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * dp.c: bringing the dataplane up and down, in dependency order. Used by
 * isthmus-dp (main.c) and by anything that runs the real paths in-process
 * (benchmarks, tests).
 */
#include <errno.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include "ha.h"
#include "dp.h"
#include "encap.h"
#include "exception_dp.h"
#include "fdb.h"
#include "l2guard.h"
#include "outbound.h"
#include "perftest.h"
#include "pmtu.h"
#include "port.h"
#include "portloss.h"
#include "reass.h"
#include "rxwait.h"
#include "sa.h"
#include "segment.h"
#include "storm.h"
#include "telemetry.h"
#include "worker.h"

static int workers_create(struct dp *dp, char *err, size_t errlen)
{
	unsigned lcore, i = 0;
	size_t sz;

	RTE_LCORE_FOREACH_WORKER(lcore) {
		struct worker *w;

		if (i == DP_MAX_WORKERS)
			break;
		w = rte_zmalloc_socket("isthmus_worker", sizeof(*w), RTE_CACHE_LINE_SIZE,
				       rte_lcore_to_socket_id(lcore));
		if (w == NULL) {
			snprintf(err, errlen, "worker %u: out of memory", i);
			return -1;
		}
		w->dp = dp;
		w->idx = i;
		w->lcore = lcore;
		w->burst = dp->cfg->burst;
		w->spin_cycles = rte_get_tsc_hz() / 1000000 * dp->cfg->rx_spin_us;
		w->linger_cycles = dp->cfg->rx_nap_us ? rte_get_tsc_hz() / 1000000 * ADAPTIVE_LINGER_US : 0;
		w->udp_src_be = rte_cpu_to_be_16((uint16_t)(dp->cfg->src_port_base + i));
		w->inner_sum = ipv4_sum_base(dp->cfg->local_vtep, dp->cfg->peer_vtep);
		w->outer_dst = dp->cfg->peer_ip;
		w->outer_src = dp->cfg->uplink_ip;
		w->outer_sum = ipv4_sum_base(dp->cfg->uplink_ip, dp->cfg->peer_ip);
		dp->worker[i++] = w;
	}
	if (i == 0) {
		snprintf(err, errlen, "no worker lcore: give EAL at least two lcores (e.g. -l 0,1); "
			 "the first is the main lcore, the others forward");
		return -1;
	}
	dp->nb_workers = i;
	sz = rte_rcu_qsbr_get_memsize(i);
	dp->qsbr = rte_zmalloc("isthmus_qsbr", sz, RTE_CACHE_LINE_SIZE);
	if (dp->qsbr == NULL || rte_rcu_qsbr_init(dp->qsbr, i) != 0) {
		snprintf(err, errlen, "RCU: out of memory");
		return -1;
	}
	return 0;
}

int dp_init(struct dp *dp, const struct dp_config *cfg, char *err, size_t errlen)
{
	dp->cfg = cfg;
	dp->tsc_hz = rte_get_tsc_hz();
	ha_init(dp); /* an HA member starts as standby: nothing forwarded yet */
	if (workers_create(dp, err, errlen) < 0 || outbound_init(dp, err, errlen) < 0 ||
	    ports_init(dp, err, errlen) < 0 || segments_init(dp, err, errlen) < 0 ||
	    sas_init(dp, err, errlen) < 0)
		return -1;
	dp->fdb = fdb_create(dp, cfg->fdb_size);
	if (dp->fdb == NULL) {
		snprintf(err, errlen, "MAC table of %u entries: %s", cfg->fdb_size,
			 rte_strerror(rte_errno));
		return -1;
	}
	if (l2guard_init(dp, err, errlen) < 0)
		return -1;
	if (exception_init(dp, err, errlen) < 0 || reass_init(dp, err, errlen) < 0 ||
	    pmtu_init(dp, err, errlen) < 0 || perftest_init(dp, err, errlen) < 0)
		return -1;
	if (telemetry_init(dp) < 0) {
		snprintf(err, errlen, "telemetry: cannot register /isthmus/ commands");
		return -1;
	}
	/* Workers got their outbound SAs from sa.c (sa_add). */
	ports_assign(dp);
	/* the file's segments after the workers know their ports: storm rates
	 * are split by the workers polling a segment's port (storm.c) */
	if (storm_init(dp, err, errlen) < 0 || dp_seg_traffic_init(dp, err, errlen) < 0 || segments_load(dp, err, errlen) < 0 ||
	    exception_policer_init(dp, err, errlen) < 0)
		return -1;
	if (rxwait_init(dp) < 0) {
		snprintf(err, errlen, "workers: eventfd: %s", strerror(errno));
		return -1;
	}
	portloss_init(dp);
	telemetry_snapshot(dp);
	return 0;
}

void dp_launch(struct dp *dp)
{
	/* dp->stop is left alone: a signal during start-up must still stop us. */
	for (unsigned w = 0; w < dp->nb_workers; w++)
		if (rte_eal_remote_launch(worker_main, dp->worker[w], dp->worker[w]->lcore) != 0)
			fatal("%s: lcore %u is not free", __func__, dp->worker[w]->lcore);
}

void dp_halt(struct dp *dp)
{
	dp->stop = true;
	for (unsigned w = 0; w < dp->nb_workers; w++)
		rxwait_kick(dp->worker[w]);
	rte_eal_mp_wait_lcore();
	exception_service(dp);
	l2guard_service(dp);   /* the last reports of the workers */
	ports_drain(dp);
	/* fragments and frames still waiting are counted now, before the final report */
	reass_fini(dp);
	outbound_fini(dp);
}

void dp_fini(struct dp *dp)
{
	telemetry_fini();
	rxwait_fini(dp);
	exception_fini(dp);
	portloss_fini(dp);
	if (dp->nb_ports)
		ports_close(dp);
	dp->nb_ports = 0;
	l2guard_fini(dp);
	fdb_free(dp->fdb);
	dp->fdb = NULL;
	sas_free(dp);
	rte_hash_free(dp->vni_hash);
	dp->vni_hash = NULL;
	rte_free(dp->seg);
	dp->seg = NULL;
	storm_fini(dp);
	dp_seg_traffic_fini(dp);
	reass_fini(dp);
	outbound_fini(dp);
	pmtu_fini(dp);
	perftest_fini(dp);
	for (unsigned w = 0; w < dp->nb_workers; w++)
		rte_free(dp->worker[w]);
	dp->nb_workers = 0;
	rte_free(dp->qsbr);
	dp->qsbr = NULL;
	rte_mempool_free(dp->pool);
	dp->pool = NULL;
}
