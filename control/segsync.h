/* SPDX-License-Identifier: GPL-2.0-or-later */
/**
 * @file segsync.h
 * Segment changes as agreements between the two appliances (segsync.c and the segsync_*.c beside it: control/segsync_internal.h):
 * isthmusd owns the segment set. An extend, unextend or cutover asked for at
 * either site is validated there, proposed to the peer over UDP 4502 in
 * messages signed with the pinned Ed25519 identity keys, and applied by both
 * sites or by neither; the agreed set is versioned, kept in
 * STATE_DIR/segments.state, exchanged and reconciled with the peer, and
 * applied again to a dataplane that restarted. Also the live reload of the
 * configuration file's segments. docs/control-protocol.md has the protocol.
 */
#ifndef ISTHMUS_SEGSYNC_H
#define ISTHMUS_SEGSYNC_H

#include <stddef.h>

#include <credentials/keys/private_key.h>

#include "ctl_proto.h"
#include "ctl_server.h"
#include "ike_settings.h"

#define SEGSYNC_PORT 4502 /**< UDP, between the two underlay addresses */

struct segsync;

/**
 * Load the agreed set, open the UDP socket, start the service thread.
 * @param config  the configuration file (its [segment] sections)
 * @param own     our identity key (a reference is taken); NULL with PSK auth
 * @return the service, or NULL with a reason in @p err
 */
struct segsync *segsync_create(const struct ike_settings *s, const char *config,
			       private_key_t *own, char *err, size_t errlen);

/**
 * Extend, unextend or cut over a segment at both sites (CTL_D_SEG): what
 * happened, or why nothing did, as text in @p o. @return 0 or a negative errno
 */
int segsync_change(struct segsync *ss, const struct ctl_d_seg *req, struct ctl_out *o);

/**
 * Re-read the configuration file and apply its segment changes to this
 * site's dataplane; refuse, changing nothing, what needs a restart. The
 * report (or the reason) as text in @p o. @return 0 or a negative errno
 */
int segsync_reload(struct segsync *ss, struct ctl_out *o);

/** The agreed set as JSON (CTL_D_SEGMENTS). */
int segsync_json(struct segsync *ss, struct ctl_out *o);

/**
 * The peer's software version as its last SYNC gave it (ctl/version.h), or
 * VERSION_UNKNOWN: none heard yet, a peer older than the exchange, or no
 * segment agreements (PSK, @p ss NULL). Copied to @p out (VERSION_MAX bytes).
 */
void segsync_peer_version(struct segsync *ss, char *out);

/** Stop the thread, close, free. */
void segsync_destroy(struct segsync *ss);

#endif
