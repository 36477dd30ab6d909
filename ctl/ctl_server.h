/* SPDX-License-Identifier: GPL-2.0-or-later */
/**
 * @file ctl_server.h
 * The control socket server of isthmus-dp: accepts local clients on a unix
 * SOCK_SEQPACKET socket, validates every message against ctl_proto.h and hands
 * well-formed requests to the dataplane's handler. Bad messages get an error
 * reply and a counter, never a crash. No DPDK: polled from the main lcore.
 */
#ifndef ISTHMUS_CTL_SERVER_H
#define ISTHMUS_CTL_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "ctl_proto.h"

/** Parts of a streamed reply sent per client per ctl_server_poll(). */
#define CTL_PARTS_PER_POLL 2
/** A streamed reply whose client reads nothing for this long is abandoned. */
#define CTL_STREAM_STALL_MS 10000

struct ctl_out;

/**
 * Produce the next piece of a streamed reply's body (ctl_out_stream()): append
 * to @p o, about CTL_STREAM_STEP bytes (a bounded amount of work: the main
 * lcore of isthmus-dp calls it between exception-path polls).
 * @return 1 when more follows, 0 when the body is complete, or a negative errno:
 *         the reply then ends with an error part
 */
typedef int (*ctl_step_fn)(void *state, struct ctl_out *o);

/** Reply body under construction. */
struct ctl_out {
	uint8_t *buf;
	size_t len;
	size_t cap;
	size_t limit;           /**< > cap: buf is malloc'ed and grows up to limit */
	ctl_step_fn step;       /**< set by ctl_out_stream() */
	void (*fini)(void *state);
	void *state;
};

/** What a step aims to add at a time: half a message. */
#define CTL_STREAM_STEP (CTL_MAX_MSG / 2)

/** Room for @p n more bytes (and a NUL) in a reply body: 0, or -ENOSPC beyond its limit. */
int ctl_out_reserve(struct ctl_out *o, size_t n);
/** Append bytes to a reply body; -ENOSPC when it would exceed its limit. */
int ctl_out_append(struct ctl_out *o, const void *p, size_t n);
/** Append formatted text to a reply body; -ENOSPC when it would not fit. */
int ctl_out_printf(struct ctl_out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/**
 * Make the reply a streamed one: after the handler returns 0 (with the start of
 * the body, if any, in @p o), the server calls @p step on later polls, each
 * time its output is about to run out, and sends the body in parts
 * (docs/control-protocol.md, "Streamed replies"); @p fini(@p state) is called
 * once it is done or abandoned (the client gone). A body that turns out to fit
 * one message is sent as one.
 */
void ctl_out_stream(struct ctl_out *o, ctl_step_fn step, void (*fini)(void *state), void *state);

/**
 * Request handler. @p req has been validated: magic, version, known type and the
 * exact size for that type. Returns 0 with the reply body in @p out (a body
 * longer than one message is sent in parts), or a negative errno with a
 * human-readable message in @p out.
 */
typedef int (*ctl_handler_fn)(void *ctx, const struct ctl_hdr *req, struct ctl_out *out);

/** Counters of the server: every rejected message has its own. */
struct ctl_server_stats {
	uint64_t accepted;      /**< connections accepted */
	uint64_t refused;       /**< connections refused: too many clients */
	uint64_t requests;      /**< well-formed requests handled */
	uint64_t failed;        /**< handled requests whose handler returned an error */
	uint64_t bad_magic;
	uint64_t bad_version;
	uint64_t bad_type;
	uint64_t bad_length;    /**< truncated, or the wrong size for the type */
	uint64_t oversized;     /**< longer than CTL_MAX_MSG */
	uint64_t send_errors;   /**< reply could not be sent (client gone) */
	uint64_t streams;       /**< replies sent in parts */
	uint64_t parts;         /**< parts sent */
	uint64_t streams_aborted; /**< streamed replies (or one-message replies waiting
				     for room in the client's socket) not finished: the
				     client went away or stopped reading, or the
				     producer failed */
};

struct ctl_server;

/**
 * Create the socket at @p path (its directory is created, a stale socket file is
 * replaced, mode 0600: root only).
 * @return the server, or NULL with a reason in @p err
 */
struct ctl_server *ctl_server_open(const char *path, ctl_handler_fn fn, void *ctx,
				   char *err, size_t errlen);

/**
 * Serve whatever is pending: accept, read and answer, send the next parts of
 * streamed replies (at most CTL_PARTS_PER_POLL per client), waiting up to
 * @p timeout_ms for the first event (0: do not wait).
 * @return number of messages processed, or -1 on a fatal socket error
 */
int ctl_server_poll(struct ctl_server *s, int timeout_ms);

/** Snapshot of the counters. */
void ctl_server_get_stats(const struct ctl_server *s, struct ctl_server_stats *st);

/** Close all clients, remove the socket file, free. NULL is ignored. */
void ctl_server_close(struct ctl_server *s);

#endif
