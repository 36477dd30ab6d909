/* SPDX-License-Identifier: GPL-2.0-or-later */
/**
 * @file perftest.h
 * isthmusctl perftest (perftest.c, docs/perftest.md): the two dataplanes test
 * the tunnel between them with frames of their own, on the reserved VNI
 * CTL_PERFTEST_VNI, sealed on the normal path with the live SAs, never
 * delivered to a local port.
 */
#ifndef ISTHMUS_DP_PERFTEST_H
#define ISTHMUS_DP_PERFTEST_H

#include <stdint.h>

#include "ctl_proto.h"
#include "ctl_server.h"

struct dp;
struct worker;
struct drop_bin;
struct rte_mbuf;

/** The segment index policy_segment() (inbound.c) gives the reserved VNI. */
#define SEG_PERFTEST DP_MAX_SEGMENTS

/**
 * The mbuf flag (a DPDK dynamic flag) of a path-MTU probe: sealed like any
 * frame, then sent with DF set and never fragmented here (outbound.c).
 * 0 until perftest_init().
 */
extern uint64_t perftest_df_flag;

/**
 * A flagged frame, sealed, outer headers written (@p m at its Ethernet
 * header): set DF. @return 0, or -1 when it is larger than @p up_frame (it
 * would need fragments here: the probe is too big)
 */
int perftest_set_df(struct rte_mbuf *m, uint32_t up_frame);

/** Allocate the state and the workers' ring to the main lcore. @return 0 or -1 */
int perftest_init(struct dp *dp, char *err, size_t errlen);
/** Free it (frames still in the ring included). */
void perftest_fini(struct dp *dp);

/**
 * Worker: a frame of the reserved VNI, opened and decapsulated (@p m starts
 * at its Ethernet header). Counted and freed, reflected (a round-trip
 * probe), or queued for the main lcore (control frames); never delivered.
 * Freed frames go to @p dead (the burst's bin).
 */
void perftest_input(struct worker *w, struct rte_mbuf *m, struct drop_bin *dead);

/** Main lcore, every turn: the test's schedule, the generator, control frames. */
void perftest_service(struct dp *dp);

/** Main lcore: CTL_PERFTEST (start, status, stop). @return 0 or -errno */
int perftest_ctl(struct dp *dp, const struct ctl_perftest *m, struct ctl_out *o);

#endif
