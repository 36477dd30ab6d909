/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * segsync.c: segment changes agreed by both appliances (segsync.h,
 * docs/control-protocol.md "Segment agreements").
 *
 * The channel: UDP 4502 between the two underlay addresses (the dataplane
 * hands the port to the kernel like IKE's and pairing's), every message
 * signed with the sender's Ed25519 identity key and checked against the key
 * pinned by pairing, so only the paired peer can propose or confirm a change.
 * Replies echo the request's random nonce; a change is a two-phase exchange
 * led by the site where the operator asked (PREPARE -> VOTE, COMMIT -> ACK) on
 * a base version; the agreed set is versioned and both sites exchange
 * (version, digest) every few seconds and after any doubt, the one behind
 * adopting the other's set. So a lost message, a restart in the middle, or a
 * replayed message leaves both sites with the same set.
 *
 * Locking: ss->lock guards everything below; it is released while a caller
 * waits for the peer's answer (ss->cond), never held across a send to the
 * peer's answer. Dataplane requests go through a dp_link of our own, whose
 * new-instance callback only raises a flag: the service thread applies the
 * set to a restarted dataplane.
 */
#include "segsync.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <daemon.h>
#include <sodium.h>

#include "config.h"
#include "dp_link.h"
#include "identity.h"
#include "ike_config.h"
#include "names.h"
#include "segstore.h"

#define MAGIC "ISS1"
#define NONCE_LEN 16
#define SIG_LEN 64
#define HDR_LEN 72
#define MSG_MAX (HDR_LEN + SEGSTORE_TEXT_MAX + SIG_LEN)
#define TRY_MS 400            /**< retransmission interval */
#define TRIES 12              /**< about 5 s in all: then the peer is unreachable */
#define PREPARED_S 10         /**< a yes vote holds this long without COMMIT or ABORT */
#define SYNC_EVERY_S 10

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
	pthread_t thread;
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

static time_t now_s(void)
{
	return time_monotonic(NULL);
}

/* ---- the dataplane ---------------------------------------------------- */

static void dp_new(void *ctx)
{
	struct segsync *ss = ctx;

	atomic_store(&ss->reconcile_due, true);
}

/* One dataplane request: 0, or the negative status with its text in @p err. */
static int dp_call(struct segsync *ss, void *req, size_t len, char *err, size_t errlen)
{
	uint8_t *rbuf = malloc(CTL_MAX_MSG + 1);
	const struct ctl_reply *r;
	int rc;

	if (!rbuf) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	r = dp_link_call(ss->dp, req, len, rbuf, err, errlen);
	if (!r) {
		rc = -EHOSTDOWN;
	} else {
		rc = r->status;
		snprintf(err, errlen, "%.*s", (int)r->body_len, (const char *)ctl_reply_body(r));
	}
	free(rbuf);
	return rc;
}

static int dp_seg_set(struct segsync *ss, const struct seg_eff *g, uint32_t op, char *err,
		      size_t errlen)
{
	struct ctl_seg_set *m = calloc(1, sizeof(*m));
	int rc;

	if (!m)
		return -ENOMEM;
	m->h.type = CTL_SEG_SET;
	m->op = op;
	snprintf(m->name, sizeof(m->name), "%s", g->name);
	snprintf(m->spec, sizeof(m->spec), "%s", g->spec);
	rc = dp_call(ss, m, sizeof(*m), err, errlen);
	free(m);
	return rc;
}

static int dp_seg_vni(struct segsync *ss, uint16_t type, uint32_t vni, char *err, size_t errlen)
{
	struct ctl_seg m = { .h.type = type, .vni = vni };

	return dp_call(ss, &m, sizeof(m), err, errlen);
}

/*
 * Take this site's dataplane from @p from to @p to. Every action is tried;
 * @p report (may be NULL) gets one line per segment. @return 0, or the
 * first error
 */
static int apply_actions(struct segsync *ss, const struct seg_set *from, const struct seg_set *to,
			 struct ctl_out *report)
{
	struct seg_action *act = calloc(2 * DP_MAX_SEGMENTS + 1, sizeof(*act));
	unsigned n;
	int first = 0;

	if (!act)
		return -ENOMEM;
	n = seg_set_diff(from, to, act);
	for (unsigned i = 0; i < n; i++) {
		const struct seg_eff *g = act[i].seg;
		char err[300], diff[600];
		int rc;

		switch (act[i].kind) {
		case SEG_ACT_DEL:
			rc = dp_seg_vni(ss, CTL_SEG_DEL, g->vni, err, sizeof(err));
			if (rc == -ENOENT)
				rc = 0; /* not there: what we want */
			if (report && rc == 0)
				ctl_out_printf(report, "segment %s (VNI %u): removed\n", g->name, g->vni);
			break;
		case SEG_ACT_APPLY:
			rc = dp_seg_set(ss, g, CTL_SEG_OP_APPLY, err, sizeof(err));
			if (report && rc == 0) {
				const struct seg_eff *old = seg_set_find(from, g->vni);

				if (act[i].added)
					ctl_out_printf(report, "segment %s (VNI %u): added\n", g->name, g->vni);
				else
					ctl_out_printf(report, "segment %s (VNI %u): %s\n", g->name, g->vni,
						       seg_spec_diff(old->spec, g->spec, diff, sizeof(diff)));
			}
			break;
		default:
			rc = dp_seg_vni(ss, CTL_SEG_CUTOVER, g->vni, err, sizeof(err));
			if (report && rc == 0)
				ctl_out_printf(report, "segment %s (VNI %u): gateway cut over to this site\n",
					       g->name, g->vni);
			break;
		}
		if (rc < 0) {
			DBG1(DBG_DMN, "isthmusd: segment %s (VNI %u): the dataplane refused: %s", g->name,
			     g->vni, err);
			if (report)
				ctl_out_printf(report, "segment %s (VNI %u): refused by isthmus-dp: %s\n",
					       g->name, g->vni, err);
			if (!first)
				first = rc;
		}
	}
	free(act);
	return first;
}

/* ---- sets ------------------------------------------------------------- */

static int build(struct segsync *ss, const struct segstore *st, struct seg_set *out)
{
	if (seg_set_init(out) < 0)
		return -1;
	if (seg_set_build(out, &ss->cfg, (const char (*)[SEGSTORE_SPEC_LEN])ss->specs, st, ss->me) < 0) {
		seg_set_free(out);
		return -1;
	}
	return 0;
}

/* Replace the store by @p next (saved first) and take the dataplane along. */
static int commit_store(struct segsync *ss, struct segstore *next, char *err, size_t errlen)
{
	struct seg_set from, to;
	int rc;

	if (segstore_save(next, ss->store_path, err, errlen) < 0)
		return -EIO;
	if (build(ss, &ss->st, &from) < 0)
		return -ENOMEM;
	if (build(ss, next, &to) < 0) {
		seg_set_free(&from);
		return -ENOMEM;
	}
	segstore_free(&ss->st);
	ss->st = *next;
	next->e = NULL;
	rc = apply_actions(ss, &from, &to, NULL);
	if (rc < 0)
		snprintf(err, errlen, "agreed and kept, but this site's dataplane refused a part "
			 "(see isthmusd's log)");
	seg_set_free(&from);
	seg_set_free(&to);
	return rc;
}

/* Apply everything the set says to a dataplane that may not have it. */
static void reconcile(struct segsync *ss)
{
	struct segstore none = { .version = 0, .n = 0 };
	struct seg_set from, to;

	if (segstore_init(&none) < 0)
		return;
	if (build(ss, &none, &from) == 0) {
		if (build(ss, &ss->st, &to) == 0) {
			int rc = apply_actions(ss, &from, &to, NULL);

			DBG1(DBG_DMN, "isthmusd: agreed segment set (version %llu, %u entries) applied to "
			     "the dataplane%s", (unsigned long long)ss->st.version, ss->st.n,
			     rc < 0 ? " with errors" : "");
			seg_set_free(&to);
		}
		seg_set_free(&from);
	}
	segstore_free(&none);
}

/* ---- mutations -------------------------------------------------------- */

static int mutation_format(const struct mutation *m, char *out, size_t len)
{
	int n;

	if (m->del)
		n = snprintf(out, len, "del %u %s", m->e.vni, m->e.name);
	else {
		n = snprintf(out, len, "put ");
		if (n < 0 || (size_t)n >= len || segstore_entry_format(&m->e, out + n, len - n) < 0)
			return -1;
		n = (int)strlen(out);
	}
	return n < 0 || (size_t)n >= len ? -1 : n;
}

static int mutation_parse(const char *text, size_t len, struct mutation *m, char *err,
			  size_t errlen)
{
	char buf[2 * SEGSTORE_SPEC_LEN + 200], name[64], msg[200];
	unsigned long vni;
	int used = 0;

	memset(m, 0, sizeof(*m));
	if (len >= sizeof(buf) || memchr(text, '\0', len)) {
		snprintf(err, errlen, "malformed change");
		return -1;
	}
	memcpy(buf, text, len);
	buf[len] = '\0';
	if (!strncmp(buf, "put ", 4))
		return segstore_entry_parse(buf + 4, &m->e, err, errlen);
	if (sscanf(buf, "del %lu %63s%n", &vni, name, &used) != 2 || buf[used] || vni == 0 ||
	    vni > 0xffffff || name_check("segment name", name, msg, sizeof(msg)) < 0) {
		snprintf(err, errlen, "malformed change");
		return -1;
	}
	m->del = true;
	m->e.vni = (uint32_t)vni;
	snprintf(m->e.name, sizeof(m->e.name), "%s", name);
	return 0;
}

static int apply_mutation(struct segstore *st, const struct mutation *m)
{
	st->version++;
	return m->del ? segstore_del(st, m->e.vni) : segstore_put(st, &m->e);
}

/*
 * Whether this site can take @p m (both sites run this on the same change):
 * what it means here (extend, unextend, cutover), checked against this site's
 * set and, for a segment added, by this site's dataplane. @return 0 or -errno
 */
static int check_mutation(struct segsync *ss, const struct mutation *m, char *err, size_t errlen)
{
	const struct seg_entry *cur = segstore_find(&ss->st, m->e.vni);
	struct seg_set before;
	const struct seg_eff *g, *named;
	int rc = 0;

	if (build(ss, &ss->st, &before) < 0) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	g = seg_set_find(&before, m->e.vni);
	named = seg_set_find_name(&before, m->e.name);
	if (m->del && cur && cur->kind == SEG_KIND_UNEXTEND) {
		/* a file's segment extended again, with the file's settings */
		rc = -ENOENT;
		snprintf(err, errlen, "VNI %u is in no [segment] of this site's configuration file",
			 m->e.vni);
		for (uint16_t i = 0; i < ss->cfg.nb_seg; i++)
			if (ss->cfg.seg[i].vni == m->e.vni) {
				struct seg_eff add = { .vni = m->e.vni };

				snprintf(add.name, sizeof(add.name), "%s", ss->cfg.seg[i].name);
				snprintf(add.spec, sizeof(add.spec), "%s", ss->specs[i]);
				rc = dp_seg_set(ss, &add, CTL_SEG_OP_CHECK, err, errlen);
			}
	} else if (m->del) {
		if (!cur || cur->kind != SEG_KIND_EXTEND) {
			snprintf(err, errlen, "no segment with VNI %u extended at run time here",
				 m->e.vni);
			rc = -ENOENT;
		}
	} else if (m->e.kind == SEG_KIND_UNEXTEND) {
		if (!g) {
			snprintf(err, errlen, "no segment with VNI %u here", m->e.vni);
			rc = -ENOENT;
		}
	} else if (m->e.kind == SEG_KIND_CUTOVER ||
		   (cur && cur->kind == SEG_KIND_EXTEND && m->e.kind == SEG_KIND_EXTEND)) {
		/* a cutover: of a file's segment, or of one extended at run time
		 * (its entry again with only the gateway's site changed) */
		if (!g) {
			snprintf(err, errlen, "no segment with VNI %u here", m->e.vni);
			rc = -ENOENT;
		} else if (m->e.kind == SEG_KIND_EXTEND &&
			   (strcmp(cur->spec[0], m->e.spec[0]) || strcmp(cur->spec[1], m->e.spec[1]))) {
			snprintf(err, errlen, "VNI %u is already extended here (segment '%s')", g->vni,
				 g->name);
			rc = -EEXIST;
		} else if (m->e.gw_site == ss->me) {
			struct cfg_segment cs;

			if (config_segment_spec(&ss->cfg, g->name, g->spec, &cs, err, errlen) < 0) {
				rc = -EINVAL;
			} else if ((!cs.gateway && !cs.has_gateway6) ||
				   rte_is_zero_ether_addr(&cs.router_mac)) {
				snprintf(err, errlen, "segment %s has no gateway and router_mac here: "
					 "nothing to cut over", g->name);
				rc = -EINVAL;
			}
		}
	} else { /* extend */
		struct seg_eff add = { .vni = m->e.vni };

		if (g) {
			snprintf(err, errlen, "VNI %u is already extended here (segment '%s')", g->vni,
				 g->name);
			rc = -EEXIST;
		} else if (named) {
			snprintf(err, errlen, "a segment named '%s' is extended here (VNI %u)",
				 named->name, named->vni);
			rc = -EEXIST;
		} else {
			snprintf(add.name, sizeof(add.name), "%s", m->e.name);
			snprintf(add.spec, sizeof(add.spec), "%s", m->e.spec[ss->me]);
			rc = dp_seg_set(ss, &add, CTL_SEG_OP_CHECK, err, errlen);
			if (rc == -EHOSTDOWN)
				snprintf(err + strlen(err), errlen - strlen(err),
					 ": cannot check the segment here");
		}
	}
	if (rc == 0) {
		struct segstore next;

		if (segstore_copy(&next, &ss->st) < 0 || apply_mutation(&next, m) < 0 ||
		    segstore_format(&next, ss->scratch, sizeof(ss->scratch) - HDR_LEN - SIG_LEN) < 0) {
			snprintf(err, errlen, "limit reached: the agreed segment set would exceed %d "
				 "entries or %d bytes", DP_MAX_SEGMENTS, SEGSTORE_TEXT_MAX);
			rc = -ENOSPC;
		} else if (segstore_conflict(&next, &ss->cfg, err, errlen) < 0) {
			rc = -EEXIST; /* a name or VNI of this site's file */
		}
		segstore_free(&next);
	}
	seg_set_free(&before);
	return rc;
}

/* ---- the wire --------------------------------------------------------- */

/* The pinned key, read again when the file changed (pairing, unpairing). */
static public_key_t *peer_key(struct segsync *ss)
{
	char path[512];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/%s", ss->s.state_dir, PEER_PUB_FILE);
	if (stat(path, &sb) < 0) {
		DESTROY_IF(ss->peer);
		ss->peer = NULL;
		return NULL;
	}
	if (!ss->peer || sb.st_mtim.tv_sec != ss->peer_mtime.tv_sec ||
	    sb.st_mtim.tv_nsec != ss->peer_mtime.tv_nsec) {
		DESTROY_IF(ss->peer);
		ss->peer = identity_load_pubkey(path);
		ss->peer_mtime = sb.st_mtim;
	}
	return ss->peer;
}

static void put32(uint8_t *p, uint32_t v)
{
	v = htobe32(v);
	memcpy(p, &v, 4);
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return be32toh(v);
}

/* Sign and send one message to the peer. @return 0 or -1 */
static int send_msg(struct segsync *ss, uint8_t type, const uint8_t nonce[NONCE_LEN],
		    uint64_t version, int32_t status, const uint8_t digest[32], const void *body,
		    size_t body_len)
{
	static __thread uint8_t buf[MSG_MAX];
	bool answer = type == SS_VOTE || type == SS_ACK || type == SS_SYNC_REPLY;
	struct sockaddr_in to = answer ? ss->reply_to : ss->peer_addr;
	uint64_t v = htobe64(version);
	chunk_t sig = chunk_empty;
	ssize_t n;

	if (!ss->own || body_len > SEGSTORE_TEXT_MAX)
		return -1;
	memset(buf, 0, HDR_LEN);
	memcpy(buf, MAGIC, 4);
	buf[4] = type;
	memcpy(buf + 8, nonce, NONCE_LEN);
	memcpy(buf + 24, &v, 8);
	put32(buf + 32, (uint32_t)status);
	put32(buf + 36, (uint32_t)body_len);
	if (digest)
		memcpy(buf + 40, digest, 32);
	memcpy(buf + HDR_LEN, body, body_len);
	if (!ss->own->sign(ss->own, SIGN_ED25519, NULL, chunk_create(buf, HDR_LEN + body_len), &sig) ||
	    sig.len != SIG_LEN) {
		chunk_free(&sig);
		return -1;
	}
	memcpy(buf + HDR_LEN + body_len, sig.ptr, SIG_LEN);
	chunk_free(&sig);
	n = sendto(ss->fd, buf, HDR_LEN + body_len + SIG_LEN, 0, (struct sockaddr *)&to, sizeof(to));
	return n < 0 ? -1 : 0;
}

#define DROPS_LOGGED 10 /* per reason: anyone on the path can send to the port */

/* Count a dropped datagram; log the first few of each reason. */
static void dropped(uint64_t *count, const char *why, const struct sockaddr_in *from)
{
	char a[INET_ADDRSTRLEN];

	if (++*count > DROPS_LOGGED)
		return;
	inet_ntop(AF_INET, &from->sin_addr, a, sizeof(a));
	DBG1(DBG_DMN, "isthmusd: segment agreement datagram from %s:%u dropped: %s%s", a,
	     ntohs(from->sin_port), why, *count == DROPS_LOGGED ? " (further ones counted only)" : "");
}

/* Decode and authenticate a datagram. @return 0, or -1 (dropped and counted) */
static int decode(struct segsync *ss, const uint8_t *buf, size_t n, struct ss_msg *m,
		  const struct sockaddr_in *from)
{
	public_key_t *peer = peer_key(ss);
	uint32_t body_len;
	uint64_t v;

	if (n < HDR_LEN + SIG_LEN || memcmp(buf, MAGIC, 4) ||
	    (body_len = get32(buf + 36)) != n - HDR_LEN - SIG_LEN) {
		dropped(&ss->drop_malformed, "malformed", from);
		return -1;
	}
	if (!peer || !peer->verify(peer, SIGN_ED25519, NULL,
				   chunk_create((u_char *)buf, HDR_LEN + body_len),
				   chunk_create((u_char *)buf + HDR_LEN + body_len, SIG_LEN))) {
		dropped(&ss->drop_signature, peer ? "not signed by the paired peer's key"
						  : "not paired", from);
		return -1;
	}
	m->type = buf[4];
	memcpy(m->nonce, buf + 8, NONCE_LEN);
	memcpy(&v, buf + 24, 8);
	m->version = be64toh(v);
	m->status = (int32_t)get32(buf + 32);
	memcpy(m->digest, buf + 40, 32);
	m->body = (const char *)buf + HDR_LEN;
	m->body_len = body_len;
	return 0;
}

/* ---- the exchanges ---------------------------------------------------- */

/*
 * Send a request of the change we lead and wait for its answer (retransmitted
 * every TRY_MS, TRIES times). Called with the lock held; it is released while
 * waiting. @return 1 answered, 0 no answer
 */
static int lead_exchange(struct segsync *ss, uint8_t type, uint8_t want, uint64_t version,
			 const char *body, size_t body_len)
{
	ss->lead.want = want;
	ss->lead.got = false;
	for (int t = 0; t < TRIES && !ss->lead.got; t++) {
		struct timespec until;

		send_msg(ss, type, ss->lead.nonce, version, 0, NULL, body, body_len);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += TRY_MS * 1000000L;
		until.tv_sec += until.tv_nsec / 1000000000L;
		until.tv_nsec %= 1000000000L;
		while (!ss->lead.got &&
		       pthread_cond_timedwait(&ss->cond, &ss->lock, &until) != ETIMEDOUT)
			;
	}
	return ss->lead.got;
}

static void sync_now(struct segsync *ss)
{
	uint8_t digest[32];

	randombytes_buf(ss->sync_nonce, sizeof(ss->sync_nonce));
	if (segstore_digest(&ss->st, digest) == 0)
		send_msg(ss, SS_SYNC, ss->sync_nonce, ss->st.version, 0, digest, NULL, 0);
	ss->next_sync = now_s() + SYNC_EVERY_S;
}

static const char *peer_name(const struct segsync *ss)
{
	return ss->s.peer_id;
}

/* Lead one change: both sites apply it, or neither. Lock held. */
static int lead_change(struct segsync *ss, const struct mutation *m, const char *what,
		       struct ctl_out *o)
{
	char text[2 * SEGSTORE_SPEC_LEN + 200], err[300];
	struct segstore next;
	uint64_t base = ss->st.version;
	int len, rc;

	if (ss->lead.active || ss->prep.active) {
		ctl_out_printf(o, "another segment change is in progress (%s): nothing applied, "
			       "try again in a few seconds", ss->lead.active ? "here" : "asked by the peer");
		return -EBUSY;
	}
	rc = check_mutation(ss, m, err, sizeof(err));
	if (rc < 0) {
		ctl_out_printf(o, "refused here (%s): %s; nothing applied", ss->s.name, err);
		return rc;
	}
	len = mutation_format(m, text, sizeof(text));
	if (len < 0) {
		ctl_out_printf(o, "the change is too long");
		return -EINVAL;
	}
	ss->lead.active = true;
	randombytes_buf(ss->lead.nonce, sizeof(ss->lead.nonce));
	if (!lead_exchange(ss, SS_PREPARE, SS_VOTE, base, text, (size_t)len)) {
		char a[INET_ADDRSTRLEN];

		send_msg(ss, SS_ABORT, ss->lead.nonce, base, 0, NULL, NULL, 0);
		ss->lead.active = false;
		inet_ntop(AF_INET, &ss->s.peer_ip, a, sizeof(a));
		ctl_out_printf(o, "peer unreachable: no answer from %s (%s, UDP %u) in %.1f s; "
			       "nothing applied at either site", peer_name(ss), a, SEGSYNC_PORT,
			       TRIES * TRY_MS / 1000.0);
		return -EHOSTUNREACH;
	}
	if (ss->lead.status != 0) {
		ss->lead.active = false;
		ctl_out_printf(o, "refused by the peer (%s): %s; nothing applied at either site",
			       peer_name(ss), ss->lead.text);
		return ss->lead.status;
	}
	/* the peer said yes: ours to decide, and we commit (kept first) */
	if (segstore_copy(&next, &ss->st) < 0 || apply_mutation(&next, m) < 0) {
		segstore_free(&next);
		send_msg(ss, SS_ABORT, ss->lead.nonce, base, 0, NULL, NULL, 0);
		ss->lead.active = false;
		ctl_out_printf(o, "out of memory; nothing applied");
		return -ENOMEM;
	}
	rc = commit_store(ss, &next, err, sizeof(err));
	segstore_free(&next);
	if (rc == -EIO) {
		send_msg(ss, SS_ABORT, ss->lead.nonce, base, 0, NULL, NULL, 0);
		ss->lead.active = false;
		ctl_out_printf(o, "cannot keep the change (%s); nothing applied", err);
		return rc;
	}
	DBG1(DBG_DMN, "isthmusd: segment %s: %s, agreed with %s (version %llu)", m->e.name, what,
	     peer_name(ss), (unsigned long long)ss->st.version);
	if (lead_exchange(ss, SS_COMMIT, SS_ACK, ss->st.version, NULL, 0) && ss->lead.status == 0)
		ctl_out_printf(o, "segment %s (VNI %u): %s at both sites (here, %s, and at %s), "
			       "agreed set version %llu", m->e.name, m->e.vni, what, ss->s.name,
			       peer_name(ss), (unsigned long long)ss->st.version);
	else
		ctl_out_printf(o, "segment %s (VNI %u): %s here and agreed by %s, which has not "
			       "confirmed applying it yet: it will when the two sites next "
			       "compare their sets (within %d s of the peer answering)", m->e.name,
			       m->e.vni, what, peer_name(ss), SYNC_EVERY_S);
	if (rc < 0)
		ctl_out_printf(o, "; %s", err);
	ss->lead.active = false;
	return 0;
}

/* The peer proposes a change: vote. Lock held. */
static void on_prepare(struct segsync *ss, const struct ss_msg *q)
{
	struct mutation m;
	char err[300], msg[400];
	int rc;

	if (ss->prep.active && !memcmp(ss->prep.nonce, q->nonce, NONCE_LEN)) {
		send_msg(ss, SS_VOTE, q->nonce, ss->st.version, 0, NULL, NULL, 0); /* again */
		return;
	}
	if (ss->lead.active || ss->prep.active) {
		snprintf(msg, sizeof(msg), "another segment change is in progress at %s, try again",
			 ss->s.name);
		rc = -EBUSY;
	} else if (q->version != ss->st.version) {
		snprintf(msg, sizeof(msg), "the sites' agreed sets differ (version %llu at %s, %llu "
			 "at the proposer): they are being compared now, try again in a few seconds",
			 (unsigned long long)ss->st.version, ss->s.name,
			 (unsigned long long)q->version);
		rc = -ESTALE;
		ss->next_sync = 0;
	} else if (mutation_parse(q->body, q->body_len, &m, err, sizeof(err)) < 0) {
		snprintf(msg, sizeof(msg), "%s", err);
		rc = -EINVAL;
	} else if ((rc = check_mutation(ss, &m, err, sizeof(err))) < 0) {
		snprintf(msg, sizeof(msg), "at %s: %s", ss->s.name, err);
	} else {
		ss->prep.active = true;
		memcpy(ss->prep.nonce, q->nonce, NONCE_LEN);
		ss->prep.m = m;
		ss->prep.deadline = now_s() + PREPARED_S;
		msg[0] = '\0';
	}
	if (rc < 0)
		DBG1(DBG_DMN, "isthmusd: segment change proposed by %s refused: %s", peer_name(ss), msg);
	send_msg(ss, SS_VOTE, q->nonce, ss->st.version, rc, NULL, msg, strlen(msg));
}

/* The peer decided: apply what we voted for. Lock held. */
static void on_commit(struct segsync *ss, const struct ss_msg *q)
{
	struct segstore next;
	char err[300];
	int32_t status = 0;

	if (!memcmp(ss->last_commit, q->nonce, NONCE_LEN) || ss->st.version == q->version) {
		/* a retransmission (our ACK was lost), or taken in by a sync already */
		send_msg(ss, SS_ACK, q->nonce, ss->st.version, 0, NULL, NULL, 0);
		return;
	}
	if (!ss->prep.active || memcmp(ss->prep.nonce, q->nonce, NONCE_LEN) ||
	    q->version != ss->st.version + 1) {
		/* not the change we voted for (a restart, a replay): compare sets */
		ss->next_sync = 0;
		send_msg(ss, SS_ACK, q->nonce, ss->st.version, -ESTALE, NULL, NULL, 0);
		return;
	}
	ss->prep.active = false;
	if (segstore_copy(&next, &ss->st) < 0 || apply_mutation(&next, &ss->prep.m) < 0 ||
	    commit_store(ss, &next, err, sizeof(err)) == -EIO) {
		DBG1(DBG_DMN, "isthmusd: cannot apply the agreed segment change: %s", err);
		status = -EIO;
		ss->next_sync = now_s() + 1;
	} else {
		memcpy(ss->last_commit, q->nonce, NONCE_LEN);
		DBG1(DBG_DMN, "isthmusd: segment %s (VNI %u): change agreed with %s applied "
		     "(version %llu)", ss->prep.m.e.name, ss->prep.m.e.vni, peer_name(ss),
		     (unsigned long long)ss->st.version);
	}
	segstore_free(&next);
	send_msg(ss, SS_ACK, q->nonce, ss->st.version, status, NULL, NULL, 0);
}

/*
 * The peer sent from reply_to (signed): it is there now, behind a NAT whose
 * mapping it keeps with its SYNCs every 10 s. A datagram replayed from
 * elsewhere can send our next requests astray until the peer's next one:
 * a delay an attacker on the path can cause anyway by dropping. Lock held.
 */
static void learn_peer(struct segsync *ss)
{
	char a[INET_ADDRSTRLEN];

	if (ss->reply_to.sin_addr.s_addr == ss->peer_addr.sin_addr.s_addr &&
	    ss->reply_to.sin_port == ss->peer_addr.sin_port)
		return;
	ss->peer_addr = ss->reply_to;
	inet_ntop(AF_INET, &ss->peer_addr.sin_addr, a, sizeof(a));
	DBG1(DBG_DMN, "isthmusd: segment agreements with %s now at %s:%u", peer_name(ss), a,
	     ntohs(ss->peer_addr.sin_port));
}

/* The peer's set: adopt it if it is ahead (or wins a tie). Lock held. */
static void on_sync_reply(struct segsync *ss, const struct ss_msg *q)
{
	struct segstore theirs = { 0 };
	uint8_t ours[32];
	char err[300], *text;

	if (memcmp(q->nonce, ss->sync_nonce, NONCE_LEN))
		return; /* not the answer to our question: a replay, or late */
	memset(ss->sync_nonce, 0, NONCE_LEN);
	learn_peer(ss);
	if (segstore_digest(&ss->st, ours) < 0)
		return;
	if (q->version < ss->st.version || ss->lead.active || ss->prep.active)
		return;
	if (q->version == ss->st.version) {
		if (!memcmp(ours, q->digest, 32) || ss->me == 0)
			return; /* the same; or a tie the lower address wins: ours stands */
		DBG1(DBG_DMN, "isthmusd: the agreed segment sets differ at the same version %llu: "
		     "taking %s's (the lower underlay address wins)",
		     (unsigned long long)q->version, peer_name(ss));
	}
	text = strndup(q->body, q->body_len);
	if (!text || segstore_init(&theirs) < 0 ||
	    segstore_parse(&theirs, text, err, sizeof(err)) < 0 || theirs.version != q->version) {
		DBG1(DBG_DMN, "isthmusd: the peer's segment set is unreadable: %s", text ? err : "");
	} else if (segstore_conflict(&theirs, &ss->cfg, err, sizeof(err)) < 0) {
		DBG1(DBG_DMN, "isthmusd: the peer's segment set (version %llu) clashes with this "
		     "site's configuration file, not taken: %s", (unsigned long long)q->version, err);
	} else {
		uint64_t was = ss->st.version;

		if (commit_store(ss, &theirs, err, sizeof(err)) == -EIO)
			DBG1(DBG_DMN, "isthmusd: cannot keep the peer's segment set: %s", err);
		else
			DBG1(DBG_DMN, "isthmusd: agreed segment set brought from version %llu to %s's "
			     "version %llu", (unsigned long long)was, peer_name(ss),
			     (unsigned long long)ss->st.version);
	}
	segstore_free(&theirs);
	free(text);
}

static void on_message(struct segsync *ss, const struct ss_msg *q)
{
	uint8_t digest[32] = { 0 };
	long n;

	switch (q->type) {
	case SS_PREPARE:
		on_prepare(ss, q);
		break;
	case SS_COMMIT:
		on_commit(ss, q);
		break;
	case SS_ABORT:
		if (ss->prep.active && !memcmp(ss->prep.nonce, q->nonce, NONCE_LEN))
			ss->prep.active = false;
		break;
	case SS_VOTE:
	case SS_ACK:
		if (ss->lead.active && ss->lead.want == q->type && !ss->lead.got &&
		    !memcmp(ss->lead.nonce, q->nonce, NONCE_LEN)) {
			learn_peer(ss);
			ss->lead.got = true;
			ss->lead.status = q->status;
			snprintf(ss->lead.text, sizeof(ss->lead.text), "%.*s",
				 (int)(q->body_len < 299 ? q->body_len : 299), q->body);
			pthread_cond_broadcast(&ss->cond);
		}
		break;
	case SS_SYNC:
		n = segstore_format(&ss->st, ss->scratch, SEGSTORE_TEXT_MAX + 1);
		if (n >= 0 && segstore_digest(&ss->st, digest) == 0) {
			/* the whole set only to an asker that is behind or differs */
			bool same = q->version == ss->st.version && !memcmp(digest, q->digest, 32);

			send_msg(ss, SS_SYNC_REPLY, q->nonce, ss->st.version, 0, digest, ss->scratch,
				 same || q->version > ss->st.version ? 0 : (size_t)n);
		}
		/* the asker is ahead, or they differ: ask back */
		if (q->version > ss->st.version ||
		    (q->version == ss->st.version && memcmp(digest, q->digest, 32)))
			ss->next_sync = 0;
		break;
	case SS_SYNC_REPLY:
		on_sync_reply(ss, q);
		break;
	default:
		break;
	}
}

static void *serve(void *arg)
{
	struct segsync *ss = arg;
	static uint8_t buf[MSG_MAX + 1];
	time_t last_ping = 0;
	bool dp_up = false;

	while (!ss->stop) {
		struct pollfd pfd = { .fd = ss->fd, .events = POLLIN };
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		struct ss_msg q;
		ssize_t n;

		if (now_s() != last_ping || !dp_up) {
			/* a restarted dataplane is noticed here (dp_new), then set up:
			 * while it is away, asked every round (200 ms), so the segments
			 * of its file that the agreed set removed go soon after it is up */
			dp_up = dp_link_ping(ss->dp) == 0;
			last_ping = now_s();
		}
		if (atomic_exchange(&ss->reconcile_due, false)) {
			pthread_mutex_lock(&ss->lock);
			reconcile(ss);
			pthread_mutex_unlock(&ss->lock);
		}
		pthread_mutex_lock(&ss->lock);
		if (ss->prep.active && now_s() >= ss->prep.deadline) {
			/* voted yes, heard nothing since: the sets will tell */
			ss->prep.active = false;
			ss->next_sync = 0;
		}
		if (now_s() >= ss->next_sync && !ss->lead.active && peer_key(ss))
			sync_now(ss);
		pthread_mutex_unlock(&ss->lock);
		if (poll(&pfd, 1, 200) <= 0)
			continue;
		n = recvfrom(ss->fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
		if (n < 0)
			continue;
		/* any source: the signature says who sent it (the peer may be
		 * behind a NAT, which changes its address and port) */
		pthread_mutex_lock(&ss->lock);
		if (decode(ss, buf, (size_t)n, &q, &from) == 0) {
			ss->reply_to = from;
			if (q.type == SS_PREPARE || q.type == SS_SYNC)
				learn_peer(ss); /* a NATed peer is reached where it sends from */
			on_message(ss, &q);
		}
		pthread_mutex_unlock(&ss->lock);
	}
	return NULL;
}

/* ---- the operator's requests ------------------------------------------ */

/* The segment an unextend or cutover names, in this site's set. Lock held. */
static int find_ref(struct segsync *ss, const struct ctl_d_seg *req, struct seg_eff *out,
		    struct ctl_out *o)
{
	struct seg_set set;
	const struct seg_eff *g;
	char name[CTL_NAME_LEN + 1];

	memcpy(name, req->name, CTL_NAME_LEN);
	name[CTL_NAME_LEN] = '\0';
	if (build(ss, &ss->st, &set) < 0)
		return -ENOMEM;
	g = name[0] ? seg_set_find_name(&set, name) : seg_set_find(&set, req->vni);
	if (g)
		*out = *g;
	seg_set_free(&set);
	if (!g) {
		if (name[0])
			ctl_out_printf(o, "no segment named '%s' here", name);
		else
			ctl_out_printf(o, "no segment with VNI %u here", req->vni);
		return -ENOENT;
	}
	return 0;
}

int segsync_change(struct segsync *ss, const struct ctl_d_seg *req, struct ctl_out *o)
{
	struct mutation m = { 0 };
	struct seg_eff g;
	const struct seg_entry *cur;
	const char *what;
	char msg[300], cut[128];
	int rc;

	if (!ss->own) {
		ctl_out_printf(o, "this appliance authenticates with a PSK ([ike] auth = psk): "
			       "segment changes are agreed only between paired Isthmus appliances; "
			       "use --local for this dataplane alone");
		return -EOPNOTSUPP;
	}
	pthread_mutex_lock(&ss->lock);
	if (!peer_key(ss)) {
		pthread_mutex_unlock(&ss->lock);
		ctl_out_printf(o, "not paired: the peer must agree to segment changes (isthmusctl "
			       "pairing-token / pair), or use --local for this dataplane alone");
		return -ENOTCONN;
	}
	switch (req->op) {
	case CTL_D_EXTEND: {
		char name[CTL_NAME_LEN + 1];

		memcpy(name, req->name, CTL_NAME_LEN);
		name[CTL_NAME_LEN] = '\0';
		if (name_check("segment name", name, msg, sizeof(msg)) < 0) {
			ctl_out_printf(o, "%s", msg);
			rc = -EINVAL;
			goto out;
		}
		m.e.kind = SEG_KIND_EXTEND;
		m.e.gw_site = SEG_GW_AS_CONFIGURED;
		snprintf(m.e.name, sizeof(m.e.name), "%s", name);
		snprintf(m.e.spec[ss->me], SEGSTORE_SPEC_LEN, "%.*s", CTL_SEG_SPEC_LEN - 1, req->spec);
		snprintf(m.e.spec[!ss->me], SEGSTORE_SPEC_LEN, "%.*s", CTL_SEG_SPEC_LEN - 1,
			 req->peer_spec);
		/* the VNI is the one in the settings: parsed here as the dataplane will */
		{
			struct cfg_segment cs;

			if (config_segment_spec(&ss->cfg, name, m.e.spec[ss->me], &cs, msg,
						sizeof(msg)) < 0) {
				ctl_out_printf(o, "segment %s: %s", name, msg);
				rc = -EINVAL;
				goto out;
			}
			m.e.vni = cs.vni;
		}
		what = "extended";
		cur = segstore_find(&ss->st, m.e.vni);
		if (cur && cur->kind == SEG_KIND_UNEXTEND) {
			/* a file's segment unextended before: back as the files say */
			m.del = true;
			snprintf(m.e.name, sizeof(m.e.name), "%s", cur->name);
			what = "extended again, with the configuration files' settings";
		}
		break;
	}
	case CTL_D_UNEXTEND:
	case CTL_D_CUTOVER:
		rc = find_ref(ss, req, &g, o);
		if (rc < 0)
			goto out;
		cur = segstore_find(&ss->st, g.vni);
		snprintf(m.e.name, sizeof(m.e.name), "%s", g.name);
		m.e.vni = g.vni;
		if (req->op == CTL_D_UNEXTEND) {
			what = "unextended";
			if (cur && cur->kind == SEG_KIND_EXTEND) {
				m.del = true;
			} else {
				m.e.kind = SEG_KIND_UNEXTEND;
				m.e.gw_site = SEG_GW_AS_CONFIGURED;
			}
		} else {
			snprintf(cut, sizeof(cut), "gateway cut over to %s", ss->s.name);
			what = cut;
			if (g.cut_here) {
				ctl_out_printf(o, "segment %s's gateway is already cut over to this site",
					       g.name);
				rc = -EALREADY;
				goto out;
			}
			if (cur && cur->kind == SEG_KIND_EXTEND)
				m.e = *cur;
			else
				m.e.kind = SEG_KIND_CUTOVER;
			m.e.gw_site = ss->me;
		}
		break;
	default:
		ctl_out_printf(o, "unknown segment operation %u", req->op);
		rc = -EINVAL;
		goto out;
	}
	rc = lead_change(ss, &m, what, o);
out:
	pthread_mutex_unlock(&ss->lock);
	return rc;
}

/* What differs between two loaded files that only a restart can apply. */
static const char *restart_needed(const struct dp_config *a, const struct dp_config *b)
{
#define SPAN(x, y) offsetof(struct dp_config, y) - offsetof(struct dp_config, x)
	if (memcmp(a->name, b->name, SPAN(name, uplink)))
		return "[appliance]";
	if (memcmp(&a->uplink, &b->uplink, SPAN(uplink, local)))
		return "[uplink]";
	if (a->nb_local != b->nb_local)
		return "the [local NAME] sections (ports)";
	for (uint16_t i = 0; i < a->nb_local; i++)
		if (memcmp(&a->local[i], &b->local[i], sizeof(a->local[i]))) {
			static __thread char what[64];

			snprintf(what, sizeof(what), "[local %s]", a->local[i].name);
			return what;
		}
	if (memcmp(&a->sa_static, &b->sa_static, sizeof(*a) - offsetof(struct dp_config, sa_static)))
		return "[sa.static] or [test]";
	return NULL;
#undef SPAN
}

int segsync_reload(struct segsync *ss, struct ctl_out *o)
{
	struct dp_config next;
	struct ike_settings s2;
	char (*specs)[SEGSTORE_SPEC_LEN] = NULL;
	char err[512];
	const char *what;
	struct seg_set from, to;
	int rc;

	if (config_load(ss->cfg_path, &next, err, sizeof(err)) < 0) {
		ctl_out_printf(o, "not reloaded, nothing applied: %s", err);
		return -EINVAL;
	}
	pthread_mutex_lock(&ss->lock);
	if (ss->lead.active || ss->prep.active) {
		ctl_out_printf(o, "not reloaded, nothing applied: a segment change agreed with the "
			       "peer is in progress; try again in a few seconds");
		rc = -EBUSY;
		goto out;
	}
	if ((what = restart_needed(&ss->cfg, &next))) {
		ctl_out_printf(o, "not reloaded, nothing applied: %s changed in %s: that needs a "
			       "restart (systemctl restart isthmus-dp@%s isthmusd@%s)", what,
			       ss->cfg_path, ss->s.name, ss->s.name);
		rc = -EINVAL;
		goto out;
	}
	if (ike_config_load(ss->cfg_path, &s2, err, sizeof(err)) < 0 ||
	    memcmp(&s2, &ss->s, sizeof(s2))) {
		ctl_out_printf(o, "not reloaded, nothing applied: [ike] changed in %s: that needs a "
			       "restart of isthmusd", ss->cfg_path);
		rc = -EINVAL;
		goto out;
	}
	if (segstore_conflict(&ss->st, &next, err, sizeof(err)) < 0) {
		ctl_out_printf(o, "not reloaded, nothing applied: %s", err);
		rc = -EEXIST;
		goto out;
	}
	specs = calloc(DP_MAX_SEGMENTS, sizeof(*specs));
	if (!specs || config_segment_texts(&next, specs, err, sizeof(err)) < 0) {
		ctl_out_printf(o, "not reloaded, nothing applied: %s", specs ? err : "out of memory");
		rc = -EIO;
		goto out;
	}
	if (build(ss, &ss->st, &from) < 0) {
		rc = -ENOMEM;
		goto out;
	}
	{
		struct dp_config prev = ss->cfg;
		char (*prev_specs)[SEGSTORE_SPEC_LEN] = ss->specs;

		ss->cfg = next;
		ss->specs = specs;
		if (build(ss, &ss->st, &to) < 0) {
			ss->cfg = prev;
			ss->specs = prev_specs;
			seg_set_free(&from);
			rc = -ENOMEM;
			goto out;
		}
		next = prev;
		specs = prev_specs;
	}
	{
		size_t start = o->len;

		rc = apply_actions(ss, &from, &to, o);
		if (o->len == start)
			ctl_out_printf(o, "no segment changes\n");
	}
	DBG1(DBG_DMN, "isthmusd: configuration reloaded (%s)", rc < 0 ? "with errors" : "applied");
	seg_set_free(&from);
	seg_set_free(&to);
out:
	pthread_mutex_unlock(&ss->lock);
	config_free(&next);
	free(specs);
	return rc;
}

int segsync_json(struct segsync *ss, struct ctl_out *o)
{
	pthread_mutex_lock(&ss->lock);
	ctl_out_printf(o, "{\"version\":%llu,\"dropped\":{\"malformed\":%llu,"
		       "\"signature\":%llu},\"entries\":[", (unsigned long long)ss->st.version,
		       (unsigned long long)ss->drop_malformed, (unsigned long long)ss->drop_signature);
	for (unsigned i = 0; i < ss->st.n; i++) {
		const struct seg_entry *e = &ss->st.e[i];
		static const char *const kinds[] = { "extend", "unextend", "cutover" };

		ctl_out_printf(o, "%s{\"vni\":%u,\"name\":\"%s\",\"kind\":\"%s\",\"gateway_here\":%s}",
			       i ? "," : "", e->vni, e->name, kinds[e->kind],
			       e->gw_site == ss->me ? "true" : "false");
	}
	pthread_mutex_unlock(&ss->lock);
	return ctl_out_printf(o, "]}");
}

/* ---- life cycle ------------------------------------------------------- */

static int open_socket(struct segsync *ss, char *err, size_t errlen)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = ss->s.local_ip,
				  .sin_port = htons(SEGSYNC_PORT) };
	int one = 1;

	ss->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (ss->fd < 0) {
		snprintf(err, errlen, "segment agreements: socket: %s", strerror(errno));
		return -1;
	}
	setsockopt(ss->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* the uplink address is the TAP's, which a dataplane not started yet
	 * has not made: bind to it all the same (ip(7) IP_FREEBIND) */
	setsockopt(ss->fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
	if (bind(ss->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return 0;
	snprintf(err, errlen, "segment agreements: cannot listen on %s:%u: %s",
		 inet_ntoa(sa.sin_addr), SEGSYNC_PORT, strerror(errno));
	return -1;
}

struct segsync *segsync_create(const struct ike_settings *s, const char *config,
			       private_key_t *own, char *err, size_t errlen)
{
	struct segsync *ss = calloc(1, sizeof(*ss));

	if (!ss) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&ss->lock, NULL);
	pthread_cond_init(&ss->cond, NULL);
	ss->fd = -1;
	ss->s = *s;
	ss->own = own ? own->get_ref(own) : NULL;
	ss->me = ntohl(s->local_ip) < ntohl(s->peer_ip) ? 0 : 1;
	ss->peer_addr = (struct sockaddr_in){ .sin_family = AF_INET, .sin_addr.s_addr = s->peer_ip,
					      .sin_port = htons(SEGSYNC_PORT) };
	snprintf(ss->cfg_path, sizeof(ss->cfg_path), "%s", config);
	snprintf(ss->store_path, sizeof(ss->store_path), "%s/%s", s->state_dir, SEGSTORE_FILE);
	ss->specs = calloc(DP_MAX_SEGMENTS, sizeof(*ss->specs));
	if (!ss->specs || segstore_init(&ss->st) < 0) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (config_load(config, &ss->cfg, err, errlen) < 0 ||
	    config_segment_texts(&ss->cfg, ss->specs, err, errlen) < 0 ||
	    segstore_load(&ss->st, ss->store_path, err, errlen) < 0)
		goto fail;
	if (segstore_conflict(&ss->st, &ss->cfg, err, errlen) < 0)
		goto fail;
	ss->dp = dp_link_create(s->dp_socket, dp_new, ss);
	if (!ss->dp || open_socket(ss, err, errlen) < 0)
		goto fail;
	if (pthread_create(&ss->thread, NULL, serve, ss) != 0) {
		snprintf(err, errlen, "segment agreements: cannot start a thread");
		goto fail;
	}
	ss->thread_running = true;
	if (ss->st.n)
		DBG1(DBG_DMN, "isthmusd: agreed segment set version %llu: %u entries from %s",
		     (unsigned long long)ss->st.version, ss->st.n, ss->store_path);
	return ss;
fail:
	segsync_destroy(ss);
	return NULL;
}

void segsync_destroy(struct segsync *ss)
{
	if (!ss)
		return;
	if (ss->thread_running) {
		ss->stop = true;
		pthread_join(ss->thread, NULL);
	}
	if (ss->fd >= 0)
		close(ss->fd);
	dp_link_destroy(ss->dp);
	DESTROY_IF(ss->peer);
	DESTROY_IF(ss->own);
	segstore_free(&ss->st);
	config_free(&ss->cfg);
	free(ss->specs);
	pthread_cond_destroy(&ss->cond);
	pthread_mutex_destroy(&ss->lock);
	free(ss);
}
