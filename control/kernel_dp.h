/* SPDX-License-Identifier: GPL-2.0-or-later */
/**
 * @file kernel_dp.h
 * charon "kernel-ipsec" backend that installs SAs in isthmus-dp.
 */
#ifndef ISTHMUS_KERNEL_DP_H
#define ISTHMUS_KERNEL_DP_H

#include <stdio.h>

#include <kernel/kernel_ipsec.h>

/** Where isthmus-dp's control socket is; call before charon initialises. */
void kernel_dp_set_socket(const char *path);

/**
 * Whether this appliance leads CHILD_SA rekeys (the IKE initiator does). The
 * other side asks for a rekey only half-way from the soft to the hard
 * lifetime (and at 7/8 of 2^32 instead of 3/4), so the two never start one at
 * once: a rekey collision (RFC 7296 2.8.1) leaves one side without an
 * outbound SA between deleting the redundant CHILD_SA and installing the
 * winner, and packets are dropped (drop_no_sa).
 */
void kernel_dp_set_lead(bool lead);

/**
 * Constructor registered with PLUGIN_CALLBACK(kernel_ipsec_register, ...).
 * @return the backend, or NULL if it cannot be created
 */
kernel_ipsec_t *kernel_dp_create(void);

/**
 * Give the dataplane its HA role (enum ctl_ha_role), now and again after
 * every restart of isthmus-dp (docs/ha.md). @return 0, or -1 if it did not
 * take it now
 */
int kernel_dp_ha_role(uint32_t role);

/**
 * Have the dataplane announce its local MACs through the tunnel (RARP,
 * CTL_HA_ANNOUNCE). @return 1 started, 0 not yet (no outbound SA), -1 no answer
 */
int kernel_dp_ha_announce(void);

/** Number of workers the dataplane runs (from its HELLO), or -1 if it does not answer. */
int kernel_dp_workers(void);

/**
 * Print every installed SA in Wireshark's esp_sa table format (one line per
 * SA, keys included: for troubleshooting only, root only).
 */
void kernel_dp_wireshark(FILE *f);

#endif
