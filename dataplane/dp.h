/* SPDX-License-Identifier: GPL-2.0-or-later */
/**
 * @file dp.h
 * The dataplane's shared state (struct dp) and its life cycle (dp.c).
 * Read-mostly tables are written at start-up (and later by the control
 * socket, behind rte_rcu_qsbr); workers never take locks. Each module has its
 * own header (port.h, segment.h, sa.h, worker.h, ...; docs/dataplane.md).
 */
#ifndef ISTHMUS_DP_H
#define ISTHMUS_DP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <rte_common.h>
#include <rte_meter.h>

#include "config.h"
#include "exception.h"
#include "nexthop.h"
#include "port.h"
#include "sa.h"
#include "stats.h"

#define DP_MAX_WORKERS 64

/** Print to stderr and abort: an impossible state, a bug. */
#define fatal(...) do { fprintf(stderr, "isthmus-dp: fatal: " __VA_ARGS__); \
			 fputc('\n', stderr); abort(); } while (0)

struct fdb;
struct l2guard;
struct segment;
struct worker;
struct ctl_server;
struct rte_hash;
struct rte_mempool;
struct rte_rcu_qsbr;
struct rte_ring;

/** Everything shared by workers. */
struct dp {
	const struct dp_config *cfg;
	struct rte_mempool *pool;
	struct dp_port port[DP_MAX_PORTS];
	uint16_t nb_ports;
	uint16_t uplink;                 /**< index of the uplink in port[] */
	struct segment *seg;             /**< cfg->nb_seg segments */
	_Atomic uint16_t nb_seg;         /**< grows at run time (segment_add) */
	struct rte_hash *vni_hash;       /**< VNI -> segment index */
	struct fdb *fdb;
	struct l2guard *guard;           /**< MAC flaps, loops, IP conflicts (l2guard.h) */
	struct rte_hash *spi_hash;       /**< SPI -> struct sa_in * (lock-free readers) */
	struct sa_in *sa_in[DP_MAX_SA];  /**< main lcore's list of inbound SAs */
	uint16_t nb_sa_in;
	struct sa_out *sa_out[DP_MAX_SA];/**< main lcore's list of outbound SAs */
	uint16_t nb_sa_out;
	struct rte_rcu_qsbr *qsbr;       /**< workers report quiescent states here */
	struct nexthop nh;               /**< peer's next-hop MAC (nexthop.h) */
	bool nexthop_fixed;              /**< peer_mac= in the config: never resolved */
	struct rte_ether_addr ike_mac;   /**< Ethernet source of the on-link peer's last IKE
					      message (main lcore; exception_dp.c) */
	bool ike_mac_seen;
	struct rte_ring *exc_ring;       /**< workers -> main lcore: exception packets, policed */
	struct rte_ring *exc_ike_ring;   /**< workers -> main lcore: the peer's IKE, served first */
	struct rte_meter_srtcm_profile exc_prof; /**< [uplink] exception_rate, split over workers */
	bool exc_policed;                /**< exception_rate is not 0 */
	struct exc_path exc;             /**< kernel TAP, when [uplink] tap= is set */
	bool exc_tap;
	bool exc_route;                  /**< the route to the peer on the TAP is ours */
	_Atomic uint32_t peer_now;       /**< the peer's address as the newest SA says
					      (behind a NAT: the NAT's), for uplink_classify() */
	struct dp_stats main_stats;      /**< counters of the main lcore */
	struct worker *worker[DP_MAX_WORKERS];
	unsigned nb_workers;
	uint64_t tsc_hz;
	uint64_t fdb_aged;                /**< entries removed by aging (main lcore) */
	_Atomic uint32_t gw_announce;    /**< some segment has announce set (gateway.c) */
	struct ctl_server *ctl;          /**< control socket (ctl_dp.c) */
	/* HA (ha.c, docs/ha.md) */
	_Atomic uint8_t ha_role;         /**< enum dp_ha_role: standby forwards nothing */
	_Atomic uint32_t src_ip;         /**< outer source of ESP: the VIP while active */
	struct ha_announce {             /**< a MAC announcement in progress (main lcore) */
		bool on;
		uint16_t seg;            /**< segment being announced */
		uint32_t it;             /**< its MAC table iterator */
		uint32_t sent;
	} ha_ann;
	struct perftest *pt;             /**< isthmusctl perftest (perftest.c) */
	uint64_t boot_id;                /**< random per start: clients notice restarts */
	volatile bool stop;
};

/* dp.c */
/**
 * Bring the dataplane up from a loaded configuration: one worker per EAL
 * worker lcore, ports, segments, SAs, MAC table, exception path. Nothing
 * runs until dp_launch(). On failure call dp_fini() all the same.
 * @return 0, or -1 with a reason in @p err
 */
int dp_init(struct dp *dp, const struct dp_config *cfg, char *err, size_t errlen);
/** Start every worker on its lcore (they return at once if dp->stop is set). */
void dp_launch(struct dp *dp);
/** Stop the workers and send what they left in the TX rings. */
void dp_halt(struct dp *dp);
/** Release everything dp_init() made (ports are stopped and closed). */
void dp_fini(struct dp *dp);

#endif
