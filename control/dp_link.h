/* SPDX-License-Identifier: GPL-2.0-or-later */
/**
 * @file dp_link.h
 * isthmusd's connection to isthmus-dp's control socket: request/reply from any
 * charon thread (serialised), connection on first use, reconnection after the
 * dataplane restarts, and a callback for every dataplane instance seen (the
 * boot id in its HELLO), before any request reaches it.
 * Plain C (no strongSwan types), so it is unit-testable on its own.
 */
#ifndef ISTHMUS_DP_LINK_H
#define ISTHMUS_DP_LINK_H

#include <stddef.h>
#include <stdint.h>

#include "ctl_proto.h"
#include "ctl_client.h"

struct dp_link;

/** Called, with the link unlocked, once for every new dataplane instance
 *  (boot id), before any request other than HELLO is sent to it. */
typedef void (*dp_link_up_fn)(void *ctx);

/** Create a link to the socket at @p path; nothing is connected yet. */
struct dp_link *dp_link_create(const char *path, dp_link_up_fn up, void *ctx);

/**
 * Send one request and wait (up to 2 s) for its reply, connecting (and
 * greeting, dp_link_ping) first if needed. A broken connection is reopened
 * and the request retried once, after the greeting.
 *
 * @param req    request (ctl_hdr type set); header filled in here
 * @param rbuf   reply buffer, CTL_MAX_MSG + 1 bytes (a streamed reply that
 *               does not fit is refused: dp_link_call_alloc())
 * @return the reply (check its status), or NULL with a reason in @p err
 */
const struct ctl_reply *dp_link_call(struct dp_link *l, void *req, size_t len, void *rbuf,
				     char *err, size_t errlen);

/**
 * dp_link_call() for replies of any length (STATS, MACS and SA_LIST stream
 * theirs): the reply in memory of its own, up to @p max_body bytes of body;
 * free it with ctl_reply_free().
 */
struct ctl_reply *dp_link_call_alloc(struct dp_link *l, void *req, size_t len, size_t max_body,
				     char *err, size_t errlen);

/**
 * Liveness check (HELLO). Notices a dataplane that restarted (its boot id
 * changed) or came back, and runs the up callback.
 * @return 0 if the dataplane answered, -1 otherwise
 */
int dp_link_ping(struct dp_link *l);

/** Whether the last exchange succeeded. */
int dp_link_is_up(const struct dp_link *l);

/** Close and free. */
void dp_link_destroy(struct dp_link *l);

#endif
