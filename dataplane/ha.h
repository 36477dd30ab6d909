/* SPDX-License-Identifier: GPL-2.0-or-later */
/**
 * @file ha.h
 * The dataplane's part of an active/standby HA group (docs/ha.md): its role,
 * set by isthmusd when keepalived's VRRP instance changes state, and the MAC
 * announcements sent through a new tunnel after a failover.
 *
 * A standby (or faulty) member forwards nothing between its local ports and
 * the uplink: frames from local ports are dropped (drop_ha_standby), nothing
 * is sent to them, and ESP is dropped; only the exception path (ARP, VRRP,
 * ICMP, IKE) keeps working, so that keepalived can elect. A member with [ha]
 * starts as standby: it never forwards before keepalived made it active.
 */
#ifndef ISTHMUS_DP_HA_H
#define ISTHMUS_DP_HA_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "dp.h"

/** struct dp's ha_role. The values are those of the control protocol (CTL_HA_*). */
enum dp_ha_role {
	DP_HA_OFF = 0,     /**< no [ha]: always forwarding */
	DP_HA_ACTIVE = 1,  /**< the group's active member: forwarding, holds the VIP */
	DP_HA_STANDBY = 2, /**< forwarding nothing, ready to take over */
	DP_HA_FAULT = 3,   /**< forwarding nothing, keepalived found a fault (or ha.down) */
	DP_HA_ROLES
};

/** Whether frames cross between local ports and the tunnel now. */
static inline bool ha_forwarding(const struct dp *dp)
{
	return atomic_load_explicit(&((struct dp *)dp)->ha_role, memory_order_relaxed) <=
	       DP_HA_ACTIVE;
}

/**
 * The outer source address of ESP: the VIP while active in a group, else the
 * uplink address (network order).
 */
static inline uint32_t ha_src_ip(const struct dp *dp)
{
	return atomic_load_explicit(&((struct dp *)dp)->src_ip, memory_order_relaxed);
}

/** "off", "active", "standby", "fault" (or "?"). */
const char *ha_role_name(unsigned role);

/** The role at start: standby with [ha] (fail safe), off without. */
void ha_init(struct dp *dp);

/**
 * Set the role (main lcore, control socket). Moving away from active stops an
 * announcement in progress. @return 0, or -EINVAL (no [ha], or an unknown role)
 */
int ha_set_role(struct dp *dp, unsigned role);

/**
 * Announce the MACs learned on the local ports through the tunnel: one RARP
 * frame (EtherType 0x8035, as QEMU and VMware send after a migration) per
 * MAC, with that MAC as its source, on its segment, so the peer floods it to
 * its local ports and their switches learn the new path. Sent from the main
 * lcore over the following turns, HA_ANNOUNCE_PER_TURN frames a turn, at most
 * HA_ANNOUNCE_MAX frames (ha_announce_capped counts the rest). Main lcore.
 * @return 0, or -EAGAIN when no worker holds an outbound SA yet
 */
int ha_announce_start(struct dp *dp);

/** Continue an announcement in progress. Main lcore, from its loop. */
void ha_service(struct dp *dp);

#define HA_ANNOUNCE_PER_TURN 64   /**< RARP frames per 2 ms turn: 32000/s at most */
#define HA_ANNOUNCE_MAX 16384     /**< RARP frames per announcement at most */

#endif
