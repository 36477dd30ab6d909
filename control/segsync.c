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
 * Locking: ss->lock guards the service's state (struct segsync in
 * segsync_internal.h); it is released while a caller waits for the peer's
 * answer (ss->cond), never held across a send to the peer's answer.
 * Dataplane requests go through a dp_link of our own, whose new-instance
 * callback only raises a flag: the service thread applies the set to a
 * restarted dataplane.
 *
 * The files: this one has the exchanges with the peer, the service thread and
 * the life cycle; segsync_wire.c the signed datagrams; segsync_mutation.c a
 * change and whether this site can take it; segsync_dp.c the agreed set
 * applied to the dataplane; segsync_ops.c the operator's requests and the
 * reload. segsync_internal.h has what they share.
 */
#include "isd_log.h"
#include "segsync.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <daemon.h>
#include <sodium.h>

#include "isthmus_version.h"
#include "segsync_internal.h"

#define TRY_MS 400            /**< retransmission interval */
#define TRIES 12              /**< about 5 s in all: then the peer is unreachable */
#define PREPARED_S 10         /**< a yes vote holds this long without COMMIT or ABORT */
#define SYNC_EVERY_S 10

static time_t now_s(void)
{
	return time_monotonic(NULL);
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

		ss_send_msg(ss, type, ss->lead.nonce, version, 0, NULL, body, body_len);
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
	char body[sizeof("version=") + VERSION_MAX];
	int n = version_body(ISTHMUS_VERSION, body, sizeof(body));

	randombytes_buf(ss->sync_nonce, sizeof(ss->sync_nonce));
	/* the body: our software version, which older peers ignore (they read
	 * no body in a SYNC); docs/control-protocol.md, "Versions" */
	if (segstore_digest(&ss->st, digest) == 0)
		ss_send_msg(ss, SS_SYNC, ss->sync_nonce, ss->st.version, 0, digest, body,
			    n < 0 ? 0 : (size_t)n);
	ss->next_sync = now_s() + SYNC_EVERY_S;
}

static const char *peer_name(const struct segsync *ss)
{
	return ss->s.peer_id;
}

/* Lead one change: both sites apply it, or neither. Lock held. */
int ss_lead_change(struct segsync *ss, const struct mutation *m, const char *what,
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
	rc = ss_check_mutation(ss, m, err, sizeof(err));
	if (rc < 0) {
		ctl_out_printf(o, "refused here (%s): %s; nothing applied", ss->s.name, err);
		return rc;
	}
	len = ss_mutation_format(m, text, sizeof(text));
	if (len < 0) {
		ctl_out_printf(o, "the change is too long");
		return -EINVAL;
	}
	ss->lead.active = true;
	randombytes_buf(ss->lead.nonce, sizeof(ss->lead.nonce));
	if (!lead_exchange(ss, SS_PREPARE, SS_VOTE, base, text, (size_t)len)) {
		char a[INET_ADDRSTRLEN];

		ss_send_msg(ss, SS_ABORT, ss->lead.nonce, base, 0, NULL, NULL, 0);
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
	if (segstore_copy(&next, &ss->st) < 0 || ss_apply_mutation(&next, m) < 0) {
		segstore_free(&next);
		ss_send_msg(ss, SS_ABORT, ss->lead.nonce, base, 0, NULL, NULL, 0);
		ss->lead.active = false;
		ctl_out_printf(o, "out of memory; nothing applied");
		return -ENOMEM;
	}
	rc = ss_commit_store(ss, &next, err, sizeof(err));
	segstore_free(&next);
	if (rc == -EIO) {
		ss_send_msg(ss, SS_ABORT, ss->lead.nonce, base, 0, NULL, NULL, 0);
		ss->lead.active = false;
		ctl_out_printf(o, "cannot keep the change (%s); nothing applied", err);
		return rc;
	}
	isd_log(LOG_NOTICE, DBG_DMN, "isthmusd: segment %s: %s, agreed with %s (version %llu)", m->e.name, what,
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
		ss_send_msg(ss, SS_VOTE, q->nonce, ss->st.version, 0, NULL, NULL, 0); /* again */
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
	} else if (ss_mutation_parse(q->body, q->body_len, &m, err, sizeof(err)) < 0) {
		snprintf(msg, sizeof(msg), "%s", err);
		rc = -EINVAL;
	} else if ((rc = ss_check_mutation(ss, &m, err, sizeof(err))) < 0) {
		snprintf(msg, sizeof(msg), "at %s: %s", ss->s.name, err);
	} else {
		ss->prep.active = true;
		memcpy(ss->prep.nonce, q->nonce, NONCE_LEN);
		ss->prep.m = m;
		ss->prep.deadline = now_s() + PREPARED_S;
		msg[0] = '\0';
	}
	if (rc < 0)
		isd_log(LOG_WARNING, DBG_DMN, "isthmusd: segment change proposed by %s refused: %s", peer_name(ss), msg);
	ss_send_msg(ss, SS_VOTE, q->nonce, ss->st.version, rc, NULL, msg, strlen(msg));
}

/* The peer decided: apply what we voted for. Lock held. */
static void on_commit(struct segsync *ss, const struct ss_msg *q)
{
	struct segstore next;
	char err[300];
	int32_t status = 0;

	if (!memcmp(ss->last_commit, q->nonce, NONCE_LEN) || ss->st.version == q->version) {
		/* a retransmission (our ACK was lost), or taken in by a sync already */
		ss_send_msg(ss, SS_ACK, q->nonce, ss->st.version, 0, NULL, NULL, 0);
		return;
	}
	if (!ss->prep.active || memcmp(ss->prep.nonce, q->nonce, NONCE_LEN) ||
	    q->version != ss->st.version + 1) {
		/* not the change we voted for (a restart, a replay): compare sets */
		ss->next_sync = 0;
		ss_send_msg(ss, SS_ACK, q->nonce, ss->st.version, -ESTALE, NULL, NULL, 0);
		return;
	}
	ss->prep.active = false;
	/* what the log says if the first two fail (neither sets err) */
	snprintf(err, sizeof(err), "out of memory, or the change no longer applies");
	if (segstore_copy(&next, &ss->st) < 0 || ss_apply_mutation(&next, &ss->prep.m) < 0 ||
	    ss_commit_store(ss, &next, err, sizeof(err)) == -EIO) {
		isd_log(LOG_ERR, DBG_DMN, "isthmusd: cannot apply the agreed segment change: %s", err);
		status = -EIO;
		ss->next_sync = now_s() + 1;
	} else {
		memcpy(ss->last_commit, q->nonce, NONCE_LEN);
		isd_log(LOG_NOTICE, DBG_DMN, "isthmusd: segment %s (VNI %u): change agreed with %s applied "
		     "(version %llu)", ss->prep.m.e.name, ss->prep.m.e.vni, peer_name(ss),
		     (unsigned long long)ss->st.version);
	}
	segstore_free(&next);
	ss_send_msg(ss, SS_ACK, q->nonce, ss->st.version, status, NULL, NULL, 0);
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
	isd_log(LOG_INFO, DBG_DMN, "isthmusd: segment agreements with %s now at %s:%u", peer_name(ss), a,
	     ntohs(ss->peer_addr.sin_port));
}

/* The peer's set: adopt it if it is ahead (or wins a tie). Lock held. */
static void on_sync_reply(struct segsync *ss, const struct ss_msg *q)
{
	struct segstore theirs = { 0 };
	uint8_t ours[32];
	char err[300], *text;
	bool readable = true;

	/* not the answer to our question: a replay, or late; and with no question
	 * out (the nonce is zero until the first SYNC and after each answer) a
	 * reply echoing zeros answers nothing (found by fuzz_segsync) */
	if (sodium_is_zero(ss->sync_nonce, NONCE_LEN) || memcmp(q->nonce, ss->sync_nonce, NONCE_LEN))
		return;
	memset(ss->sync_nonce, 0, NONCE_LEN);
	learn_peer(ss);
	if (segstore_digest(&ss->st, ours) < 0)
		return;
	if (q->version < ss->st.version || ss->lead.active || ss->prep.active)
		return;
	if (q->version == ss->st.version) {
		if (!memcmp(ours, q->digest, 32) || ss->me == 0)
			return; /* the same; or a tie the lower address wins: ours stands */
		isd_log(LOG_WARNING, DBG_DMN, "isthmusd: the agreed segment sets differ at the same version %llu: "
		     "taking %s's (the lower underlay address wins)",
		     (unsigned long long)q->version, peer_name(ss));
	}
	text = strndup(q->body, q->body_len);
	if (!text || segstore_init(&theirs) < 0) {
		snprintf(err, sizeof(err), "out of memory");
		readable = false;
	} else if (segstore_parse(&theirs, text, err, sizeof(err)) < 0) {
		readable = false;
	} else if (theirs.version != q->version) {
		/* parsed: err says nothing yet (it was logged unset, found by fuzz_segsync) */
		snprintf(err, sizeof(err), "its text says version %llu, the message %llu",
			 (unsigned long long)theirs.version, (unsigned long long)q->version);
		readable = false;
	}
	if (!readable) {
		isd_log(LOG_WARNING, DBG_DMN, "isthmusd: the peer's segment set is unreadable: %s", err);
	} else if (segstore_conflict(&theirs, &ss->cfg, err, sizeof(err)) < 0) {
		isd_log(LOG_WARNING, DBG_DMN, "isthmusd: the peer's segment set (version %llu) clashes with this "
		     "site's configuration file, not taken: %s", (unsigned long long)q->version, err);
	} else {
		uint64_t was = ss->st.version;

		if (ss_commit_store(ss, &theirs, err, sizeof(err)) == -EIO)
			isd_log(LOG_ERR, DBG_DMN, "isthmusd: cannot keep the peer's segment set: %s", err);
		else
			isd_log(LOG_NOTICE, DBG_DMN, "isthmusd: agreed segment set brought from version %llu to %s's "
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
		version_from_body(q->body, q->body_len, ss->peer_version);
		n = segstore_format(&ss->st, ss->scratch, SEGSTORE_TEXT_MAX + 1);
		if (n >= 0 && segstore_digest(&ss->st, digest) == 0) {
			/* the whole set only to an asker that is behind or differs */
			bool same = q->version == ss->st.version && !memcmp(digest, q->digest, 32);

			ss_send_msg(ss, SS_SYNC_REPLY, q->nonce, ss->st.version, 0, digest, ss->scratch,
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

void ss_tick(struct segsync *ss)
{
	if (atomic_exchange(&ss->reconcile_due, false)) {
		pthread_mutex_lock(&ss->lock);
		ss_reconcile(ss);
		pthread_mutex_unlock(&ss->lock);
	}
	pthread_mutex_lock(&ss->lock);
	if (ss->prep.active && now_s() >= ss->prep.deadline) {
		/* voted yes, heard nothing since: the sets will tell */
		ss->prep.active = false;
		ss->next_sync = 0;
	}
	if (now_s() >= ss->next_sync && !ss->lead.active && ss_peer_key(ss))
		sync_now(ss);
	pthread_mutex_unlock(&ss->lock);
}

void ss_datagram(struct segsync *ss, const uint8_t *buf, size_t n, const struct sockaddr_in *from)
{
	struct ss_msg q;

	/* any source: the signature says who sent it (the peer may be
	 * behind a NAT, which changes its address and port) */
	pthread_mutex_lock(&ss->lock);
	if (ss_decode(ss, buf, n, &q, from) == 0) {
		ss->reply_to = *from;
		if (q.type == SS_PREPARE || q.type == SS_SYNC)
			learn_peer(ss); /* a NATed peer is reached where it sends from */
		on_message(ss, &q);
	}
	pthread_mutex_unlock(&ss->lock);
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
		ssize_t n;

		if (now_s() != last_ping || !dp_up) {
			/* a restarted dataplane is noticed here (ss_dp_new), then set up:
			 * while it is away, asked every round (200 ms), so the segments
			 * of its file that the agreed set removed go soon after it is up */
			dp_up = dp_link_ping(ss->dp) == 0;
			last_ping = now_s();
		}
		ss_tick(ss);
		if (poll(&pfd, 1, 200) <= 0)
			continue;
		n = recvfrom(ss->fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
		if (n < 0)
			continue;
		ss_datagram(ss, buf, (size_t)n, &from);
	}
	return NULL;
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
	snprintf(ss->peer_version, sizeof(ss->peer_version), "%s", VERSION_UNKNOWN);
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
	ss->dp = dp_link_create(s->dp_socket, ss_dp_new, ss);
	if (!ss->dp || open_socket(ss, err, errlen) < 0)
		goto fail;
	ss->thread = thread_create(serve, ss);
	if (ss->thread == NULL) {
		snprintf(err, errlen, "segment agreements: cannot start a thread");
		goto fail;
	}
	ss->thread_running = true;
	if (ss->st.n)
		isd_log(LOG_INFO, DBG_DMN, "isthmusd: agreed segment set version %llu: %u entries from %s",
		     (unsigned long long)ss->st.version, ss->st.n, ss->store_path);
	return ss;
fail:
	segsync_destroy(ss);
	return NULL;
}

void segsync_peer_version(struct segsync *ss, char *out)
{
	if (!ss) {
		snprintf(out, VERSION_MAX, "%s", VERSION_UNKNOWN);
		return;
	}
	pthread_mutex_lock(&ss->lock);
	snprintf(out, VERSION_MAX, "%s", ss->peer_version);
	pthread_mutex_unlock(&ss->lock);
}

void segsync_destroy(struct segsync *ss)
{
	if (!ss)
		return;
	if (ss->thread_running) {
		ss->stop = true;
		ss->thread->join(ss->thread);
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
