/* SPDX-License-Identifier: GPL-2.0-or-later */
/**
 * @file segsync_internal.h
 * What the files of the segment agreement service share (segsync.c: the
 * exchanges with the peer and the life cycle; segsync_wire.c: the signed
 * datagrams; segsync_mutation.c: a change and whether this site can take it;
 * segsync_dp.c: the agreed set applied to this site's dataplane;
 * segsync_ops.c: the operator's requests and the reload). Not for callers
 * outside control/segsync*.c: segsync.h is the interface.
 */
#ifndef ISTHMUS_SEGSYNC_INTERNAL_H
#define ISTHMUS_SEGSYNC_INTERNAL_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <credentials/keys/public_key.h>
#include <threading/thread.h>

#include "config.h"
#include "dp_link.h"
#include "segsync.h"
#include "segstore.h"
#include "version.h"

/* The message layout (segsync_wire.c) */
#define NONCE_LEN 16
#define SIG_LEN 64
#define HDR_LEN 72
#define MSG_MAX (HDR_LEN + SEGSTORE_TEXT_MAX + SIG_LEN)

enum ss_type {
	SS_PREPARE = 1,   /**< base version, mutation: "put LINE" or "del VNI NAME" */
	SS_VOTE = 2,      /**< status 0 (yes) or -errno with the reason */
	SS_COMMIT = 3,    /**< the prepared change, by nonce; version: the new one */
	SS_ACK = 4,
	SS_SYNC = 5,      /**< version and digest of the sender's set */
	SS_SYNC_REPLY = 6,/**< version, digest and the whole set */
	SS_ABORT = 7,     /**< the prepared change, by nonce, is dropped */
};

/** A message, decoded (the body points into the datagram). */
struct ss_msg {
	uint8_t type;
	uint8_t nonce[NONCE_LEN];
	uint64_t version;
	int32_t status;
	uint8_t digest[32];
	const char *body;
	uint32_t body_len;
};

/** One agreed change of the store. */
struct mutation {
	bool del;               /**< remove e.vni's entry; else put e */
	struct seg_entry e;
};

/** The service (segsync.h); ss->lock guards it (segsync.c's head comment). */
struct segsync {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct ike_settings s;
	private_key_t *own;
	char cfg_path[256];
	struct dp_config cfg;
	char (*specs)[SEGSTORE_SPEC_LEN];  /**< the file's [segment] sections as text */
	struct segstore st;
	char store_path[512];
	int me;                  /**< 0: our underlay address is the lower one */
	int fd;
	thread_t *thread;
	bool thread_running;
	volatile bool stop;
	struct dp_link *dp;
	atomic_bool reconcile_due; /**< a dataplane instance we have not set up */
	/* the change we lead */
	struct {
		bool active;
		uint8_t nonce[NONCE_LEN];
		uint8_t want;        /**< SS_VOTE or SS_ACK */
		bool got;
		int32_t status;
		char text[300];
	} lead;
	/* the change we voted for */
	struct {
		bool active;
		uint8_t nonce[NONCE_LEN];
		struct mutation m;
		time_t deadline;
	} prep;
	uint8_t last_commit[NONCE_LEN];
	/* sync */
	uint8_t sync_nonce[NONCE_LEN];
	time_t next_sync;
	/* the peer's software version, from its SYNC (ctl/version.h; "unknown"
	 * until one arrives, and from a peer too old to send it) */
	char peer_version[VERSION_MAX];
	/* datagrams dropped, by reason (D_SEGMENTS; the first few logged) */
	uint64_t drop_malformed, drop_signature;
	/* Where requests go: [uplink] peer, port 4502, until a fresh answer to
	 * one of ours comes from elsewhere (the peer's NAT): then there. Answers
	 * go where their request came from. */
	struct sockaddr_in peer_addr, reply_to;
	/* the pinned peer key, read again when the file changes */
	public_key_t *peer;
	struct timespec peer_mtime;
	char scratch[MSG_MAX];   /**< store text (under the lock) */
};

/* ---- segsync_wire.c --------------------------------------------------- */

/** The pinned peer key, read again when its file changed; NULL: not paired. Lock held. */
public_key_t *ss_peer_key(struct segsync *ss);

/** Sign and send one message to the peer (an answer goes where its request came from).
 * @return 0 or -1 */
int ss_send_msg(struct segsync *ss, uint8_t type, const uint8_t nonce[NONCE_LEN],
		uint64_t version, int32_t status, const uint8_t digest[32], const void *body,
		size_t body_len);

/** Decode and authenticate a datagram. @return 0, or -1 (dropped and counted) */
int ss_decode(struct segsync *ss, const uint8_t *buf, size_t n, struct ss_msg *m,
	      const struct sockaddr_in *from);

/* ---- segsync_mutation.c ----------------------------------------------- */

/** A change as the PREPARE body: "put LINE" or "del VNI NAME". @return its length or -1 */
int ss_mutation_format(const struct mutation *m, char *out, size_t len);

/** A PREPARE body back into a change. @return 0, or -1 with the reason in @p err */
int ss_mutation_parse(const char *text, size_t len, struct mutation *m, char *err,
		      size_t errlen);

/** Apply @p m to @p st, one version up. @return 0, or -1 (full, or no such entry) */
int ss_apply_mutation(struct segstore *st, const struct mutation *m);

/** Whether this site can take @p m. Lock held. @return 0, or -errno with the reason in @p err */
int ss_check_mutation(struct segsync *ss, const struct mutation *m, char *err, size_t errlen);

/* ---- segsync_dp.c ----------------------------------------------------- */

/** dp_link's new-instance callback: the service thread sets the instance up. */
void ss_dp_new(void *ctx);

/** Have this site's dataplane check or apply one segment (CTL_SEG_SET). @return 0 or -errno */
int ss_dp_seg_set(struct segsync *ss, const struct seg_eff *g, uint32_t op, char *err,
		  size_t errlen);

/** Take this site's dataplane from @p from to @p to (@p report: a line a segment, or NULL).
 * @return 0, or the first error */
int ss_apply_actions(struct segsync *ss, const struct seg_set *from, const struct seg_set *to,
		     struct ctl_out *report);

/** The effective segments of this site's file with agreed set @p st. @return 0 or -1 */
int ss_build(struct segsync *ss, const struct segstore *st, struct seg_set *out);

/** Replace the agreed set by @p next (saved first) and take the dataplane along. Lock held.
 * @return 0, -EIO (not saved), -ENOMEM, or the dataplane's first error (the set replaced) */
int ss_commit_store(struct segsync *ss, struct segstore *next, char *err, size_t errlen);

/** Apply the whole agreed set to a dataplane that may not have it. Lock held. */
void ss_reconcile(struct segsync *ss);

/* ---- segsync.c -------------------------------------------------------- */

/** The service thread's periodic part: a restarted dataplane set up, a yes vote
 * that heard nothing dropped, the sets compared when due. Lock not held. */
void ss_tick(struct segsync *ss);

/** One datagram from UDP 4502: authenticated (else dropped and counted), then
 * acted on, answered at most once. Lock not held. */
void ss_datagram(struct segsync *ss, const uint8_t *buf, size_t n, const struct sockaddr_in *from);

/** Lead one change with the peer: both sites apply it, or neither; the outcome as text in @p o.
 * Lock held. @return 0 or -errno */
int ss_lead_change(struct segsync *ss, const struct mutation *m, const char *what,
		   struct ctl_out *o);

#endif
