/* SPDX-License-Identifier: GPL-2.0-or-later */
/**
 * @file ike_settings.h
 * What isthmusd needs to know to pair with the peer appliance, filled from the
 * appliance configuration file ([appliance], [uplink], [ike]; docs/config.md).
 */
#ifndef ISTHMUS_IKE_SETTINGS_H
#define ISTHMUS_IKE_SETTINGS_H

#include <stdbool.h>
#include <stdint.h>

/**
 * Most CHILD_SAs isthmusd negotiates (`[ike] child_sas`). Each is one
 * dataplane worker's outbound SA, so more than DP_MAX_WORKERS (64) would never
 * seal; each needs a CHILD_SA configuration of its own (peer_config.c,
 * PEER_CHILD_SLOTS, so charon does not refuse it as a duplicate); and the
 * dataplane's DP_MAX_SA (256 per direction) must hold them three times over:
 * installed, their rekeyed successors, and retired ones left by a restarted
 * isthmusd (ike_config.c checks both at compile time).
 */
#define IKE_CHILD_SAS_MAX 64

enum ike_auth { IKE_AUTH_PUBKEY = 0, IKE_AUTH_PSK = 1 };
enum ike_role { IKE_ROLE_AUTO = 0, IKE_ROLE_INITIATOR, IKE_ROLE_RESPONDER };

struct ike_settings {
	char name[64];             /**< this appliance; default IKE identity */
	char local_id[128];        /**< IKE identity (FQDN form), default NAME.isthmus */
	char peer_id[128];         /**< the peer's IKE identity */
	uint32_t local_ip, peer_ip;       /**< underlay, network order; local_ip: an HA
					       member's is the group's VIP, the address the
					       peer knows (IKE, pairing, segment agreements) */
	uint32_t own_ip;           /**< [uplink] address (an HA member's own: VRRP's source) */
	bool peer_nat;             /**< [uplink] peer_nat: the peer may appear at another
				        address (its NAT's): IKE accepted from any address */
	uint32_t nat_keepalive_s;  /**< NAT-T keepalive interval (RFC 3948 section 2.3) */
	uint32_t local_vtep, peer_vtep;   /**< inner VXLAN endpoints: the traffic selectors */
	char ike_proposals[256];
	char esp_proposals[256];
	uint32_t ike_rekey_s;      /**< IKE_SA rekey time */
	uint32_t child_rekey_s;    /**< CHILD_SA rekey (soft) time; hard = +10% */
	uint64_t child_rekey_bytes;/**< 0: no volume-based rekey */
	uint64_t child_rekey_packets;
	uint32_t dpd_s;
	uint32_t replay_window;    /**< anti-replay window of every CHILD_SA (packets) */
	unsigned child_sas;        /**< 0: one per dataplane worker; at most IKE_CHILD_SAS_MAX */
	enum ike_role role;
	enum ike_auth auth;
	char psk_file[256];        /**< IKE_AUTH_PSK: for non-Isthmus peers (interop) */
	char state_dir[256];       /**< identity key, pinned peer key */
	uint16_t pairing_port;     /**< UDP port site A listens on while a token is open */
	char dp_socket[108];       /**< isthmus-dp control socket */
	char vici_socket[128];     /**< charon's vici socket URI, for swanctl */
	char ctl_socket[108];      /**< isthmusd's own socket for isthmusctl */
	char run_dir[96];          /**< [appliance] run_dir: ha.down lives here (docs/ha.md) */
	/* [ha] (docs/ha.md): IKE from the floating address, only while active */
	bool ha;
	uint32_t ha_vip;           /**< network order */
	char ha_group[32];
	/* what keepalived's VRRP instance is made of (isthmusctl ha keepalived-config) */
	uint8_t ha_vip_len, ha_vrid, ha_priority;
	bool ha_preempt;
	uint32_t ha_preempt_delay_s, ha_advert_ms;
	uint32_t ha_unicast_peer;  /**< network order, 0: multicast */
	char tap[16];              /**< [uplink] tap: VRRP's interface, holds the VIP */
};

/** Defaults: AES-256-GCM first, ChaCha20-Poly1305 offered, x25519 PFS. */
void ike_settings_defaults(struct ike_settings *s);

#endif
