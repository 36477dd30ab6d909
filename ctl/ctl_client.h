/* SPDX-License-Identifier: GPL-2.0-or-later */
/**
 * @file ctl_client.h
 * Client side of the isthmus-dp control socket (ctl_proto.h), for isthmusd,
 * isthmusctl and the tests. No DPDK.
 */
#ifndef ISTHMUS_CTL_CLIENT_H
#define ISTHMUS_CTL_CLIENT_H

#include <stdbool.h>
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
 * Send one request and wait for its whole reply: one message, or a streamed
 * reply reassembled from its parts (docs/control-protocol.md).
 *
 * @param fd       from ctl_connect()
 * @param req      request, starting with a struct ctl_hdr whose type is set; magic,
 *                 version, len and seq are filled in here
 * @param req_len  size of the request
 * @param rbuf     buffer for the reply, 8-byte aligned: a struct ctl_reply, the
 *                 body and a NUL; a longer reply is refused (CTL_MAX_MSG + 1
 *                 bytes hold any one-message reply)
 * @param rcap     its size
 * @param timeout_ms how long to wait for each message of the reply
 * @return the reply (inside @p rbuf; check ->status), or NULL on a transport
 *         error, a reply that does not fit, or a broken stream, with a reason
 *         in @p err
 */
const struct ctl_reply *ctl_call(int fd, void *req, size_t req_len, void *rbuf, size_t rcap,
				 int timeout_ms, char *err, size_t errlen);

/**
 * ctl_call() into a buffer of its own, grown as the reply arrives up to
 * @p max_body bytes of body (CTL_STREAM_MAX for the CLI). Free the result
 * with ctl_reply_free().
 */
struct ctl_reply *ctl_call_alloc(int fd, void *req, size_t req_len, size_t max_body,
				 int timeout_ms, char *err, size_t errlen);

/** Wipe (replies may carry keys) and free a reply of ctl_call_alloc(). NULL is ignored. */
void ctl_reply_free(struct ctl_reply *r);

/** The reply's body (NUL-terminated by ctl_call and ctl_call_alloc). */
static inline const void *ctl_reply_body(const struct ctl_reply *r)
{
	return (const uint8_t *)r + sizeof(*r);
}

/**
 * Reassembly of one reply from the messages received (ctl_call uses it; public
 * for the unit tests). The result is laid out as a one-message reply: a
 * struct ctl_reply, the body, a NUL.
 */
struct ctl_reasm {
	uint32_t seq;       /**< of the request */
	uint16_t type;      /**< of the request */
	size_t max_body;    /**< a longer body is refused (-EMSGSIZE) */
	uint8_t *buf;       /**< the reply being built */
	size_t cap;
	bool fixed;         /**< buf is the caller's: never grown or freed */
	size_t len;         /**< body bytes so far */
	uint32_t parts;     /**< parts received */
	uint32_t stale;     /**< messages of other requests skipped */
};

/** Outcomes of ctl_reasm_feed() besides errors. */
enum { CTL_REASM_MORE = 0, CTL_REASM_DONE = 1, CTL_REASM_STALE = 2 };

/**
 * Start reassembling the reply to request (@p type, @p seq) into @p buf of
 * @p cap bytes (fixed) or, with @p buf NULL, into memory of its own.
 */
void ctl_reasm_init(struct ctl_reasm *a, uint16_t type, uint32_t seq, void *buf, size_t cap,
		    size_t max_body);

/**
 * Take one received message of @p n bytes.
 * @return CTL_REASM_MORE (a part; more follow), CTL_REASM_DONE (the reply is
 *         complete: ctl_reasm_reply()), CTL_REASM_STALE (a message of another
 *         request: ignored), or a negative errno with a reason in @p err:
 *         -EBADMSG malformed, -EPROTO a part out of order or not where one was
 *         expected, -EMSGSIZE longer than allowed. After an error the reply is
 *         unusable.
 */
int ctl_reasm_feed(struct ctl_reasm *a, const void *msg, size_t n, char *err, size_t errlen);

/** The reply once ctl_reasm_feed() returned CTL_REASM_DONE. */
static inline struct ctl_reply *ctl_reasm_reply(struct ctl_reasm *a)
{
	return (struct ctl_reply *)a->buf;
}

/** Wipe and free what the reassembly allocated (not a caller's buffer). */
void ctl_reasm_free(struct ctl_reasm *a);

#endif
