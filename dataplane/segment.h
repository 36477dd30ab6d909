/* SPDX-License-Identifier: GPL-2.0-or-later */
/**
 * @file segment.h
 * An extended L2 segment (segment.c): a local VLAN or access port <-> a VNI,
 * with the per-segment settings of the modules that act on its frames
 * (gateway, MSS clamping, storm control, L2 safety, path-MTU help).
 */
#ifndef ISTHMUS_DP_SEGMENT_H
#define ISTHMUS_DP_SEGMENT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_common.h>
#include <rte_ether.h>
#include <rte_meter.h>

#include "config.h"

struct dp;

#define DP_SEG_NONE 0xffff /**< no segment (a VLAN not extended) */

/** Storm control classes (storm.c): frames flooded into the tunnel. */
enum storm_class {
	STORM_BROADCAST = 0,
	STORM_MULTICAST = 1,
	STORM_UNKNOWN = 2,      /**< unicast to a MAC not in the table */
	STORM_CLASSES
};

/** An extended L2 segment: a local VLAN (or access port) <-> a VNI. */
struct segment {
	char name[DP_NAME_LEN];
	uint16_t idx;
	uint16_t port;           /**< dp->port[] index of its local port */
	uint16_t vlan;           /**< 802.1Q id on a trunk, DP_VLAN_UNTAGGED otherwise */
	uint32_t vni;
	uint32_t vxlan_vni_be;   /**< VNI << 8, network order: the VXLAN word */
	uint32_t mac_limit;
	uint32_t aging_s;
	_Atomic uint32_t mac_count;
	_Atomic uint64_t limit_hits;
	_Atomic bool removed;    /**< unextended: not listed; a free slot segment_add() reuses */
	/* first-hop router (gateway.c) */
	rte_be32_t gw_ip;        /**< gateway address, 0: none configured */
	uint8_t gw6[16];         /**< gateway IPv6 address, if has_gw6 */
	bool has_gw6;
	_Atomic bool gw_local;   /**< the gateway is on this site (cutover sets it) */
	bool local_egress;       /**< answer ARP for gw_ip / ND for gw6 here, with router_mac */
	_Atomic bool announce;   /**< a gratuitous ARP is due (cutover) */
	struct rte_ether_addr router_mac; /**< the local first-hop router */
	/* TCP MSS clamping (mss.c) */
	uint16_t mss4, mss6;     /**< largest MSS in IPv4 / IPv6 SYNs, 0: clamping off */
	/* storm control (storm.c) */
	uint8_t storm_on;        /**< bit (1 << enum storm_class) per limited class */
	struct rte_meter_srtcm_profile storm_prof[STORM_CLASSES]; /**< per-worker rate */
	/* L2 safety (l2guard.c) */
	uint16_t flap_moves;     /**< moves allowed in flap_window_s before a flap */
	uint32_t flap_window_s;
	uint32_t flap_dampen_s;  /**< 0: report only */
	/** Written by workers during a loop or a flap storm: on a line of their own,
	 * away from the fields every packet reads. */
	struct {
		_Atomic uint64_t mac_flaps, loops, ip_conflicts;
		_Atomic uint32_t report_s[3]; /**< last report per kind: one a second */
	} guard __rte_cache_aligned;
	/* path-MTU help (pmtu.c); the ICMPv6 source is gw6 */
	bool pmtu;               /**< answer oversize DF IPv4 / IPv6 frames with ICMP */
	uint16_t pmtu_ip_mtu;    /**< largest inner IP packet that crosses unfragmented */
	struct rte_meter_srtcm_profile pmtu_prof; /**< pmtu_rate, split over the workers */
};

int segments_init(struct dp *dp, char *err, size_t errlen);
/** Segment of VNI @p vni (host order), or NULL. Lock-free read. */
struct segment *segment_by_vni(const struct dp *dp, uint32_t vni);
/**
 * Extend a segment at run time (main lcore): local port by name, VLAN (0:
 * untagged on an access port), VNI. @return 0, or a negative errno with a
 * reason in @p err
 */
int segment_add(struct dp *dp, const char *name, const char *port, uint16_t vlan, uint32_t vni,
		char *err, size_t errlen);
/** Unextend the segment with this VNI (main lcore). @return 0 or -ENOENT */
int segment_del(struct dp *dp, uint32_t vni);

#endif
