/* SPDX-License-Identifier: GPL-2.0-or-later */
/**
 * @file ha.h
 * isthmusd's side of an HA group (docs/ha.md): keepalived's state changes
 * (isthmusctl ha notify) become the dataplane's role, a fresh IKE_SA from the
 * VIP when this member becomes active, a teardown when it stops being; the
 * split-brain stand-down; the MAC announcements after every new IKE_SA.
 */
#ifndef ISTHMUS_ISD_HA_H
#define ISTHMUS_ISD_HA_H

#include <stdbool.h>

#include <json-c/json.h>

#include "ctl_server.h"
#include "ike_settings.h"

/** Seconds a member that stood down for a split brain keeps RUN_DIR/ha.down. */
#define HA_SPLIT_HOLD_S 30

/**
 * Start: register the bus listener (announcements, split brain) and, with
 * [ha], put the dataplane in standby. @p initiate brings the tunnel up (called
 * when this member becomes active).
 */
void ha_start(const struct ike_settings *s, void (*initiate)(void));

/** Whether this appliance may hold an IKE_SA now: no [ha], or active. */
bool ha_may_run(void);

/** CTL_D_HA NOTIFY: keepalived's new state (MASTER, BACKUP, FAULT, STOP). */
int ha_notify(const char *state, struct ctl_out *o);

/** The HA part of the status (role, group, VIP, since, last failover, counters). */
struct json_object *ha_status_json(void);

void ha_stop(void);

#endif
