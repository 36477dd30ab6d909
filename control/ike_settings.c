/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ike_settings.c: defaults for isthmusd's IKE settings (docs/config.md, [ike]). */
#include "ike_settings.h"

#include <stdio.h>
#include <string.h>

#include "ctl_proto.h"
#include "esp.h"

void ike_settings_defaults(struct ike_settings *s)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->ike_proposals, sizeof(s->ike_proposals), "%s",
		 "aes256gcm16-prfsha256-x25519, chacha20poly1305-prfsha256-x25519");
	snprintf(s->esp_proposals, sizeof(s->esp_proposals), "%s",
		 "aes256gcm16-x25519-esn-noesn, chacha20poly1305-x25519-esn-noesn");
	s->ike_rekey_s = 4 * 3600;
	s->child_rekey_s = 3600;
	s->dpd_s = 10;
	s->nat_keepalive_s = 20;  /* charon's default; RFC 3948 section 4 suggests 20 s */
	s->replay_window = ESP_REPLAY_WINDOW_DEFAULT;
	s->child_sas = 1;
	s->role = IKE_ROLE_AUTO;
	s->auth = IKE_AUTH_PUBKEY;
	snprintf(s->state_dir, sizeof(s->state_dir), "%s", "/var/lib/isthmus");
	s->pairing_port = 4501;
	snprintf(s->vici_socket, sizeof(s->vici_socket), "%s", "unix:///run/isthmus/charon.vici");
	snprintf(s->dp_socket, sizeof(s->dp_socket), "%s", CTL_DEFAULT_PATH);
	snprintf(s->ctl_socket, sizeof(s->ctl_socket), "%s", "/run/isthmus/isthmusd.sock");
}
