/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * storm.c: storm control for frames sent into the tunnel (docs/conditioning.md).
 *
 * A broadcast storm or a flood of unknown unicast on one site (a loop, a
 * misbehaving host, a MAC table overflow on a switch) would otherwise cross
 * the tunnel, load the uplink and the encryption, and flood the other site
 * too. Per segment, broadcast, multicast and unknown-unicast frames go
 * through a token bucket each; what exceeds it is dropped and counted
 * (drop_storm_broadcast, drop_storm_multicast, drop_storm_unknown, and per
 * segment in the JSON report). Known unicast is never limited. Off unless a
 * rate is configured.
 *
 * The buckets are DPDK rte_meter srTCM meters in colour-blind mode (RFC 2697)
 * used in packets instead of bytes: each frame is metered with a length of
 * 1, so the CIR is in packets per second and the CBS in packets; EBS is 0, so
 * a frame is green (passed) or red (dropped), never yellow.
 *
 * Workers run to completion and several may receive from a segment's local
 * port (RSS). rte_meter is not thread-safe and a shared bucket would need an
 * atomic per frame on one cache line bounced between cores exactly when a
 * storm hits, so each worker has its own buckets with the segment's rate and
 * burst divided by the number of workers polling that port (at least 1 pps
 * and 1 packet each). The sum over workers never exceeds the configured rate;
 * a storm that RSS puts on one queue only (one flow) is cut to rate/workers.
 * No locks, no atomics on the fast path.
 */
#include <errno.h>
#include <string.h>

#include <rte_lcore.h>
#include <rte_malloc.h>

#include "dp.h"
#include "segment.h"
#include "storm.h"
#include "worker.h"

const char *const storm_class_name[STORM_CLASSES] = {
	[STORM_BROADCAST] = "broadcast",
	[STORM_MULTICAST] = "multicast",
	[STORM_UNKNOWN] = "unknown",
};

/* Workers with an RX queue on dp->port[p]. */
static unsigned port_workers(const struct dp *dp, uint16_t p)
{
	unsigned n = 0;

	for (unsigned i = 0; i < dp->nb_workers; i++) {
		const struct worker *w = dp->worker[i];

		for (uint16_t q = 0; q < w->nb_rxq; q++)
			if (w->rxq[q].port == p) {
				n++;
				break;
			}
	}
	return n;
}

int storm_init(struct dp *dp, char *err, size_t errlen)
{
	/* every segment slot, in every worker: a segment extended at run time
	 * may bring storm control to an appliance that started without any */
	for (unsigned i = 0; i < dp->nb_workers; i++) {
		struct worker *w = dp->worker[i];

		w->storm = rte_zmalloc_socket("isthmus_storm", sizeof(*w->storm) * DP_MAX_SEGMENTS,
					      RTE_CACHE_LINE_SIZE, rte_lcore_to_socket_id(w->lcore));
		if (w->storm == NULL) {
			snprintf(err, errlen, "storm control: out of memory");
			return -1;
		}
	}
	return 0;
}

int storm_segment_setup(struct dp *dp, struct segment *s, char *err, size_t errlen)
{
	const struct cfg_segment *cs = &s->cfg;
	unsigned nw = RTE_MAX(port_workers(dp, s->port), 1u);

	s->storm_on = 0;
	for (int k = 0; k < STORM_CLASSES; k++) {
		uint64_t burst = cs->storm_burst ? cs->storm_burst : cs->storm_pps[k];
		struct rte_meter_srtcm_params prm = {
			.cir = RTE_MAX(cs->storm_pps[k] / nw, 1u),
			.cbs = RTE_MAX(burst / nw, (uint64_t)1),
			.ebs = 0,
		};

		if (cs->storm_pps[k] == 0)
			continue;
		if (rte_meter_srtcm_profile_config(&s->storm_prof[k], &prm) != 0) {
			snprintf(err, errlen, "storm control %s: bad rate %u", storm_class_name[k],
				 cs->storm_pps[k]);
			return -1;
		}
		s->storm_on |= 1u << k;
	}
	/* the slot is not published yet: no worker reads its buckets */
	for (unsigned i = 0; i < dp->nb_workers; i++) {
		struct storm_state *st = &dp->worker[i]->storm[s->idx];

		memset(st, 0, sizeof(*st));
		for (int k = 0; k < STORM_CLASSES; k++)
			if (s->storm_on & (1u << k))
				rte_meter_srtcm_config(&st->m[k], &s->storm_prof[k]);
	}
	return 0;
}

void storm_fini(struct dp *dp)
{
	for (unsigned i = 0; i < dp->nb_workers; i++) {
		rte_free(dp->worker[i]->storm);
		dp->worker[i]->storm = NULL;
	}
}

uint64_t storm_drops(const struct dp *dp, uint16_t seg, enum storm_class k)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < dp->nb_workers; i++)
		n += dp->worker[i]->storm[seg].drops[k];
	return n;
}
