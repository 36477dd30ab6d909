/* SPDX-License-Identifier: GPL-2.0-or-later */
/**
 * @file exception_dp.h
 * The exception path inside isthmus-dp (exception_dp.c): workers hand uplink
 * packets for the appliance itself to the main lcore through two rings (the
 * configured peer's IKE first, the rest policed); the main lcore serves them
 * (exception.h: ARP, TAP).
 */
#ifndef ISTHMUS_DP_EXCEPTION_DP_H
#define ISTHMUS_DP_EXCEPTION_DP_H

#include <stddef.h>
#include <stdint.h>

#include <rte_mbuf.h>

struct dp;
struct worker;

/**
 * The exception path hook, policed class: uplink packets for the appliance
 * itself (ARP, ICMP, NAT keepalives, pairing, IKE not from the configured
 * peer). Takes ownership. Those within [uplink] exception_rate reach the main
 * lcore through dp->exc_ring; the rest are dropped and counted
 * (drop_exception_policed, drop_exception_full).
 */
void exception_input(struct worker *w, struct rte_mbuf **pkts, uint16_t n);
/**
 * The exception path hook, priority class: IKE from the configured peer's
 * address (uplink_classify() said UPLINK_IKE). Takes ownership; not policed;
 * through dp->exc_ike_ring, which the main lcore serves first
 * (exception_ike, drop_exception_ike_full).
 */
void exception_input_ike(struct worker *w, struct rte_mbuf **pkts, uint16_t n);
/**
 * Main lcore: an SA with @p peer_ip (network order) was installed. When the
 * peer is on this link, the next hop follows the MAC its last IKE message
 * came from (the exchange that negotiated the SA; nexthop_follow), counted
 * nexthop_followed.
 */
void exception_new_sa(struct dp *dp, rte_be32_t peer_ip);
/** Main lcore: serve the exception path (the peer's IKE first; ARP snooping
 * and requests; TAP in both directions). */
void exception_service(struct dp *dp);
/** Create the exception rings and, if configured, the kernel TAP. */
int exception_init(struct dp *dp, char *err, size_t errlen);
/** Set up each worker's policer of the exception path (after ports_assign():
 * the rate is split over the workers that poll the uplink). @return 0 or -1 */
int exception_policer_init(struct dp *dp, char *err, size_t errlen);
void exception_fini(struct dp *dp);

#endif
