/* SPDX-License-Identifier: GPL-2.0-or-later */
/**
 * @file peer_config.h
 * charon configuration for the one peer appliance: an IKEv2 connection with
 * UDP encapsulation forced, public-key (pinned) or PSK authentication, and a
 * CHILD_SA template covering VTEP-to-VTEP traffic.
 */
#ifndef ISTHMUS_PEER_CONFIG_H
#define ISTHMUS_PEER_CONFIG_H

#include <config/backend.h>
#include <config/peer_cfg.h>
#include <credentials/sets/mem_cred.h>

#include "ike_settings.h"

/** CHILD_SA configurations offered: one per dataplane worker, at most this many. */
#define PEER_CHILD_SLOTS IKE_CHILD_SAS_MAX

/** The backend and the credentials it relies on. */
struct peer_config {
	backend_t backend;
	peer_cfg_t *peer_cfg;
	child_cfg_t *child_cfg;
	mem_cred_t *creds;
};

/**
 * Build the configuration and register backend and credentials with charon.
 *
 * @param own     this appliance's private key (pubkey auth; adopted)
 * @param peer    the peer's pinned public key (pubkey auth; adopted), or NULL
 *                while not paired: the connection then exists but cannot
 *                authenticate anybody
 * @return the configuration, or NULL with a reason in @p err
 */
struct peer_config *peer_config_create(const struct ike_settings *s, private_key_t *own,
				       public_key_t *peer, char *err, size_t errlen);

/** Replace the pinned peer key (after pairing); NULL unpairs. Adopts @p peer. */
void peer_config_set_peer_key(struct peer_config *pc, public_key_t *peer);

/** Peers refused since start: they did not sign with the pinned key. */
unsigned long peer_config_refused(void);

/** Unregister and free. */
void peer_config_destroy(struct peer_config *pc);

#endif
