/* SPDX-License-Identifier: GPL-2.0-or-later */
/**
 * @file ctl_client.h
 * Client side of the isthmus-dp control socket (ctl_proto.h), for isthmusd,
 * isthmusctl and the tests. No DPDK.
 */
#ifndef ISTHMUS_CTL_CLIENT_H
#define ISTHMUS_CTL_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "ctl_proto.h"

/**
 * Connect to the dataplane's control socket.
 * @return a socket fd, or -1 with a reason in @p err (e.g. "isthmus-dp is not
 *         running (no socket at PATH)")
 */
int ctl_connect(const char *path, char *err, size_t errlen);

/**
 * Send one request and wait for its reply.
 *
 * @param fd       from ctl_connect()
 * @param req      request, starting with a struct ctl_hdr whose type is set; magic,
 *                 version, len and seq are filled in here
 * @param req_len  size of the request
 * @param rbuf     buffer for the reply (CTL_MAX_MSG bytes suffice)
 * @param rcap     its size
 * @param timeout_ms how long to wait for the reply
 * @return the reply (inside @p rbuf; check ->status), or NULL on a transport
 *         error with a reason in @p err
 */
const struct ctl_reply *ctl_call(int fd, void *req, size_t req_len, void *rbuf, size_t rcap,
				 int timeout_ms, char *err, size_t errlen);

/** The reply's body (text bodies are NUL-terminated by ctl_call when room allows). */
static inline const void *ctl_reply_body(const struct ctl_reply *r)
{
	return (const uint8_t *)r + sizeof(*r);
}

#endif
