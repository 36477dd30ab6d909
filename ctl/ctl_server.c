/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ctl_server.c: the control socket server. Everything a client sends is
 * untrusted input (root-only socket, but a buggy or hostile tool must not take
 * the dataplane down): each message is checked for magic, version, type and the
 * exact size of that type before any handler sees it, and anything else gets an
 * error reply and a counter. SOCK_SEQPACKET keeps message boundaries, so a short
 * or long message is detected as such (MSG_TRUNC gives the real length).
 *
 * A reply body longer than one message goes out in parts (struct ctl_part),
 * CTL_PARTS_PER_POLL per client per poll, produced step by step when the
 * handler asked for a stream (ctl_out_stream()): the dataplane's main lcore
 * never formats or sends more than a few parts' worth between two
 * exception-path polls. A client with a reply in progress is not read until
 * it is sent, so replies keep the order of the requests.
 */
#include "ctl_server.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#define CTL_MAX_CLIENTS 16
/** Largest body a handler or a step may build before it is sent. */
#define CTL_OUT_LIMIT ((size_t)16 << 20)
#define CTL_OUT_INITIAL 4096

/* A reply going out in parts. */
struct ctl_stream {
	uint16_t type;
	uint32_t seq;
	struct ctl_out body;    /* produced; body.buf + off onwards not sent yet */
	size_t off;
	uint64_t sent;          /* body bytes sent: the next part's offset */
	uint32_t index;         /* the next part's */
	int produced;           /* 1: the step said the body is complete */
	uint64_t stalled_ms;    /* since when the client has not been reading, or 0 */
	int fail;               /* the producer's error: the reply ends with it */
	int32_t status;         /* a one-message reply kept for later (reply_later) */
	uint8_t msg[CTL_MAX_MSG] __attribute__((aligned(8)));
};

struct ctl_server {
	int lfd;
	int cfd[CTL_MAX_CLIENTS];
	struct ctl_stream *stream[CTL_MAX_CLIENTS];
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	ctl_handler_fn fn;
	void *ctx;
	struct ctl_server_stats st;
	/* requests (may hold key material: wiped) and one-message replies,
	 * aligned for the message structs laid over them */
	uint8_t rbuf[CTL_MAX_MSG + 1] __attribute__((aligned(8)));
	uint8_t wbuf[CTL_MAX_MSG] __attribute__((aligned(8)));
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/*
 * Room for @p n more bytes and a NUL. A growable buffer grows by allocate,
 * copy, wipe, free: replies may carry keys (sa --wireshark), and realloc would
 * leave copies in freed memory.
 */
int ctl_out_reserve(struct ctl_out *o, size_t n)
{
	size_t need = o->len + n + 1, cap;
	uint8_t *nb;

	if (need <= o->cap)
		return 0;
	if (o->limit <= o->cap || need > o->limit)
		return -ENOSPC;
	for (cap = o->cap ? o->cap : CTL_OUT_INITIAL; cap < need; cap *= 2)
		;
	if (cap > o->limit)
		cap = o->limit;
	nb = malloc(cap);
	if (!nb)
		return -ENOMEM;
	memcpy(nb, o->buf, o->len);
	sodium_memzero(o->buf, o->cap);
	free(o->buf);
	o->buf = nb;
	o->cap = cap;
	return 0;
}

static void out_free(struct ctl_out *o)
{
	if (o->buf) {
		sodium_memzero(o->buf, o->cap);
		free(o->buf);
	}
	o->buf = NULL;
	o->len = o->cap = 0;
}

int ctl_out_append(struct ctl_out *o, const void *p, size_t n)
{
	int rc = ctl_out_reserve(o, n);

	if (rc < 0)
		return rc;
	memcpy(o->buf + o->len, p, n);
	o->len += n;
	return 0;
}

int ctl_out_printf(struct ctl_out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf((char *)o->buf + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n >= o->cap - o->len && ctl_out_reserve(o, (size_t)n) == 0) {
		va_start(ap, fmt);
		n = vsnprintf((char *)o->buf + o->len, o->cap - o->len, fmt, ap);
		va_end(ap);
	}
	if (n < 0 || (size_t)n >= o->cap - o->len) {
		o->buf[o->len] = '\0';
		return -ENOSPC;
	}
	o->len += (size_t)n;
	return 0;
}

void ctl_out_stream(struct ctl_out *o, ctl_step_fn step, void (*fini)(void *state), void *state)
{
	o->step = step;
	o->fini = fini;
	o->state = state;
}

static int mkdir_parent(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	/* mkdir -p: every missing component, e.g. /run/isthmus/NAME */
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(dir, 0750) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

struct ctl_server *ctl_server_open(const char *path, ctl_handler_fn fn, void *ctx,
				   char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct ctl_server *s;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "control socket path too long: %s", path);
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (int i = 0; i < CTL_MAX_CLIENTS; i++)
		s->cfd[i] = -1;
	s->fn = fn;
	s->ctx = ctx;
	snprintf(s->path, sizeof(s->path), "%s", path);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);

	if (mkdir_parent(path) < 0) {
		snprintf(err, errlen, "cannot create the directory of %s: %s", path, strerror(errno));
		goto fail;
	}
	s->lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->lfd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		goto fail;
	}
	unlink(path); /* a stale socket from a previous run */
	if (bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(path, 0600) < 0 || listen(s->lfd, 8) < 0) {
		snprintf(err, errlen, "control socket %s: %s", path, strerror(errno));
		close(s->lfd);
		goto fail;
	}
	return s;
fail:
	free(s);
	return NULL;
}

/* Lay a one-message reply of @p n body bytes out in @p m. @return its length */
static size_t build_reply(uint8_t *m, const struct ctl_hdr *req_or_null, uint16_t type,
			  int32_t status, const void *body, size_t n)
{
	struct ctl_reply *r = (struct ctl_reply *)m;

	r->h.magic = CTL_MAGIC;
	r->h.version = CTL_VERSION;
	r->h.type = type | CTL_REPLY;
	r->h.seq = req_or_null ? req_or_null->seq : 0;
	r->status = status;
	r->body_len = (uint32_t)n;
	r->h.len = (uint32_t)(sizeof(*r) + n);
	if (n && body != m + sizeof(*r))
		memcpy(m + sizeof(*r), body, n);
	return r->h.len;
}

/*
 * A one-message reply the client's socket had no room for (it has not read
 * the replies before it: a client that sends requests back to back): kept,
 * like a streamed reply, and sent when the socket can take it, the client's
 * next requests unread until then. Never dropped, so every request gets its
 * one answer; a client that stops reading is dropped after
 * CTL_STREAM_STALL_MS, as with any reply in progress. @return 0, or -ENOMEM
 */
static int reply_later(struct ctl_server *s, int i, const struct ctl_hdr *req_or_null,
		       uint16_t type, int32_t status, const void *body, size_t n)
{
	struct ctl_stream *st = calloc(1, sizeof(*st));

	if (!st)
		return -ENOMEM;
	st->body.buf = malloc(n + 1);
	if (!st->body.buf) {
		free(st);
		return -ENOMEM;
	}
	memcpy(st->body.buf, body, n);
	st->body.len = n;
	st->body.cap = n + 1;
	st->type = type;
	st->seq = req_or_null ? req_or_null->seq : 0;
	st->status = status;
	st->produced = 1;
	s->stream[i] = st;
	return 0;
}

static void reply(struct ctl_server *s, int i, const struct ctl_hdr *req_or_null,
		  uint16_t type, int32_t status, const void *body, size_t n)
{
	size_t len = build_reply(s->wbuf, req_or_null, type, status, body, n);
	ssize_t sent = send(s->cfd[i], s->wbuf, len, MSG_NOSIGNAL | MSG_DONTWAIT);

	if (sent != (ssize_t)len &&
	    (sent >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK) ||
	     reply_later(s, i, req_or_null, type, status, s->wbuf + sizeof(struct ctl_reply),
			 n) < 0))
		s->st.send_errors++;
	/* replies may carry keys too (isthmusctl sa --wireshark) */
	sodium_memzero(s->wbuf, len);
}

/* Reply with an error message; also used before the header could be trusted. */
static void reply_err(struct ctl_server *s, int i, const struct ctl_hdr *h, uint16_t type,
		      int32_t status, const char *msg)
{
	struct ctl_out o = {
		.buf = s->wbuf + sizeof(struct ctl_reply),
		.cap = sizeof(s->wbuf) - sizeof(struct ctl_reply),
	};

	ctl_out_printf(&o, "%s", msg);
	reply(s, i, h, type, status, o.buf, o.len);
}

static void stream_free(struct ctl_stream *st)
{
	if (!st)
		return;
	if (st->body.fini)
		st->body.fini(st->body.state);
	out_free(&st->body);
	sodium_memzero(st->msg, sizeof(st->msg));
	free(st);
}

static void drop_client(struct ctl_server *s, int i)
{
	if (s->stream[i]) {
		if (!s->stream[i]->fail) /* a failed one was counted when it failed */
			s->st.streams_aborted++;
		stream_free(s->stream[i]);
		s->stream[i] = NULL;
	}
	close(s->cfd[i]);
	s->cfd[i] = -1;
}

/*
 * Send one message of a stream. @return 1 sent, 0 the client is not reading
 * (try again later), -1 the client is gone or stalled for too long (dropped)
 */
static int stream_send(struct ctl_server *s, int i, size_t len)
{
	struct ctl_stream *st = s->stream[i];
	ssize_t n = send(s->cfd[i], st->msg, len, MSG_NOSIGNAL | MSG_DONTWAIT);

	sodium_memzero(st->msg, len);
	if (n == (ssize_t)len) {
		st->stalled_ms = 0;
		return 1;
	}
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		uint64_t now = mono_ms();

		if (!st->stalled_ms)
			st->stalled_ms = now;
		else if (now - st->stalled_ms > CTL_STREAM_STALL_MS)
			goto gone;
		return 0;
	}
gone:
	s->st.send_errors++;
	drop_client(s, i);
	return -1;
}

static void stream_done(struct ctl_server *s, int i)
{
	stream_free(s->stream[i]);
	s->stream[i] = NULL;
}

/* Send the error that ends a reply whose producer failed (st->fail): a part,
 * or a plain error reply when nothing was sent yet; again on the next poll
 * while the client's socket is full. */
static void stream_fail_send(struct ctl_server *s, int i)
{
	struct ctl_stream *st = s->stream[i];
	struct ctl_part *p = (struct ctl_part *)st->msg;
	struct ctl_hdr h = { .seq = st->seq };
	char text[160];
	size_t len, n;

	n = (size_t)snprintf(text, sizeof(text), "reply abandoned after %llu bytes: %s",
			     (unsigned long long)st->sent, strerror(-st->fail));
	if (st->index == 0) {
		len = build_reply(st->msg, &h, st->type, st->fail, text, n);
	} else {
		build_reply(st->msg, &h, st->type | CTL_PART, st->fail, NULL, 0);
		p->index = st->index;
		p->flags = 0;
		p->offset = st->sent;
		memcpy(p + 1, text, n);
		p->r.body_len = (uint32_t)n;
		p->r.h.len = (uint32_t)(sizeof(*p) + n);
		len = p->r.h.len;
	}
	if (stream_send(s, i, len) > 0)
		stream_done(s, i);
}

/* Produce until a part's worth is ready or the body is complete. @return 0, or a negative errno */
static int stream_produce(struct ctl_stream *st)
{
	if (st->off) {
		/* move what is left to the front, wipe what it leaves behind */
		size_t left = st->body.len - st->off;

		memmove(st->body.buf, st->body.buf + st->off, left);
		sodium_memzero(st->body.buf + left, st->off);
		st->body.len = left;
		st->off = 0;
	}
	/* each step adds about CTL_STREAM_STEP bytes: a few at most */
	for (int g = 0; g < 4 && !st->produced && st->body.len < CTL_PART_PAYLOAD_MAX; g++) {
		int rc = st->body.step(st->body.state, &st->body);

		if (rc < 0)
			return rc;
		if (rc == 0)
			st->produced = 1;
	}
	return 0;
}

/* Send the next parts of client @p i's streamed reply. */
static void stream_pump(struct ctl_server *s, int i)
{
	for (int k = 0; k < CTL_PARTS_PER_POLL && s->stream[i]; k++) {
		struct ctl_stream *st = s->stream[i];
		struct ctl_part *p = (struct ctl_part *)st->msg;
		struct ctl_hdr h = { .seq = st->seq };
		size_t avail, chunk, len;
		int rc, last;

		if (st->fail) {
			stream_fail_send(s, i);
			return;
		}
		if (st->body.len - st->off < CTL_PART_PAYLOAD_MAX && !st->produced) {
			rc = stream_produce(st);
			if (rc < 0) {
				st->fail = rc;
				s->st.streams_aborted++;
				s->st.failed++;
				stream_fail_send(s, i);
				return;
			}
		}
		avail = st->body.len - st->off;
		if (st->index == 0 && st->produced && avail <= CTL_SINGLE_BODY_MAX) {
			/* it fits one message after all: sent as one, as to any client */
			len = build_reply(st->msg, &h, st->type, st->status, st->body.buf + st->off,
					  avail);
			if (stream_send(s, i, len) > 0)
				stream_done(s, i);
			return;
		}
		if (avail == 0 && !st->produced)
			return; /* the producer had nothing yet: next poll */
		chunk = avail < CTL_PART_PAYLOAD_MAX ? avail : CTL_PART_PAYLOAD_MAX;
		last = st->produced && chunk == avail;
		build_reply(st->msg, &h, st->type | CTL_PART, 0, NULL, 0);
		p->index = st->index;
		p->flags = last ? 0 : CTL_PART_MORE;
		p->offset = st->sent;
		memcpy(p + 1, st->body.buf + st->off, chunk);
		p->r.body_len = (uint32_t)chunk;
		p->r.h.len = (uint32_t)(sizeof(*p) + chunk);
		rc = stream_send(s, i, p->r.h.len);
		if (rc <= 0)
			return;
		if (st->index == 0)
			s->st.streams++;
		s->st.parts++;
		st->index++;
		st->off += chunk;
		st->sent += chunk;
		if (last) {
			stream_done(s, i);
			return;
		}
	}
}

/* The handler's answer in @p o: one message, or the start of a stream. */
static void answer(struct ctl_server *s, int i, const struct ctl_hdr *h, struct ctl_out *o)
{
	struct ctl_stream *st;

	if (!o->step && o->len <= CTL_SINGLE_BODY_MAX) {
		reply(s, i, h, h->type, 0, o->buf, o->len);
		out_free(o);
		return;
	}
	st = calloc(1, sizeof(*st));
	if (!st) {
		if (o->fini)
			o->fini(o->state);
		out_free(o);
		s->st.failed++;
		reply_err(s, i, h, h->type, -ENOMEM, "out of memory for the reply");
		return;
	}
	st->type = h->type;
	st->seq = h->seq;
	st->body = *o;
	st->produced = !o->step;
	s->stream[i] = st;
	stream_pump(s, i);
}

/*
 * The type an error reply echoes. A "request" whose type has the reply or
 * part bit is none, and its type echoed with CTL_REPLY would read as a part
 * of a streamed reply (struct ctl_part): it is answered with type 0, like a
 * message whose header cannot be trusted at all.
 */
static uint16_t echo_type(uint16_t type)
{
	return type & (CTL_REPLY | CTL_PART) ? 0 : type;
}

/* One datagram from client @p i: validate, dispatch, answer. */
static void serve_one(struct ctl_server *s, int i, ssize_t n)
{
	const struct ctl_hdr *h = (const struct ctl_hdr *)s->rbuf;
	struct ctl_out o = { .limit = CTL_OUT_LIMIT };
	long want;
	int rc;

	if (n > CTL_MAX_MSG) {
		s->st.oversized++;
		reply_err(s, i, NULL, 0, -EMSGSIZE, "message larger than CTL_MAX_MSG");
		return;
	}
	if ((size_t)n < sizeof(*h)) {
		s->st.bad_length++;
		reply_err(s, i, NULL, 0, -EBADMSG, "message shorter than the header");
		return;
	}
	if (h->magic != CTL_MAGIC) {
		s->st.bad_magic++;
		reply_err(s, i, NULL, 0, -EBADMSG, "bad magic: not an isthmus control message");
		return;
	}
	if (h->version != CTL_VERSION) {
		s->st.bad_version++;
		reply_err(s, i, h, echo_type(h->type), -EPROTONOSUPPORT,
			  "unsupported protocol version");
		return;
	}
	want = ctl_request_size(h->type);
	if (want < 0) {
		s->st.bad_type++;
		reply_err(s, i, h, echo_type(h->type), -EOPNOTSUPP, "unknown message type");
		return;
	}
	if (h->len != (uint32_t)n || n != want) {
		s->st.bad_length++;
		reply_err(s, i, h, h->type, -EBADMSG, "wrong length for this message type");
		return;
	}
	o.buf = malloc(CTL_OUT_INITIAL);
	if (!o.buf) {
		reply_err(s, i, h, h->type, -ENOMEM, "out of memory for the reply");
		return;
	}
	o.cap = CTL_OUT_INITIAL;
	s->st.requests++;
	rc = s->fn(s->ctx, h, &o);
	if (rc < 0) {
		s->st.failed++;
		if (o.fini)
			o.fini(o.state);
		if (o.len == 0)
			ctl_out_printf(&o, "%s", strerror(-rc));
		reply(s, i, h, h->type, rc, o.buf,
		      o.len < CTL_SINGLE_BODY_MAX ? o.len : CTL_SINGLE_BODY_MAX);
		out_free(&o);
		return;
	}
	answer(s, i, h, &o);
}

static void accept_clients(struct ctl_server *s)
{
	for (;;) {
		int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		int i;

		if (fd < 0)
			return;
		for (i = 0; i < CTL_MAX_CLIENTS && s->cfd[i] >= 0; i++)
			;
		if (i == CTL_MAX_CLIENTS) {
			s->st.refused++;
			close(fd);
			continue;
		}
		s->cfd[i] = fd;
		s->st.accepted++;
	}
}

int ctl_server_poll(struct ctl_server *s, int timeout_ms)
{
	struct pollfd pfd[CTL_MAX_CLIENTS + 1];
	int idx[CTL_MAX_CLIENTS + 1];
	int nfds = 0, processed = 0;

	pfd[nfds].fd = s->lfd;
	pfd[nfds].events = POLLIN;
	idx[nfds++] = -1;
	for (int i = 0; i < CTL_MAX_CLIENTS; i++) {
		if (s->cfd[i] < 0)
			continue;
		pfd[nfds].fd = s->cfd[i];
		/* a client with a reply under way is not read until it is sent */
		pfd[nfds].events = s->stream[i] ? POLLOUT : POLLIN;
		idx[nfds++] = i;
	}
	if (poll(pfd, nfds, timeout_ms) < 0)
		return errno == EINTR ? 0 : -1;

	for (int k = 1; k < nfds; k++) {
		int i = idx[k];

		if (s->stream[i]) {
			/* also when not writable: notices a client stalled for too long */
			stream_pump(s, i);
			continue;
		}
		if (!(pfd[k].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		/* Bounded: at most a handful of messages per client per poll, so
		 * one chatty client cannot starve the others. */
		for (int m = 0; m < 8 && s->cfd[i] >= 0 && !s->stream[i]; m++) {
			ssize_t n = recv(s->cfd[i], s->rbuf, sizeof(s->rbuf), MSG_TRUNC | MSG_DONTWAIT);

			if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
				drop_client(s, i);
				break;
			}
			if (n < 0)
				break;
			serve_one(s, i, n);
			/* SA_ADD carries keys: never leave them in the buffer. */
			sodium_memzero(s->rbuf, (size_t)n < sizeof(s->rbuf) ? (size_t)n : sizeof(s->rbuf));
			processed++;
		}
	}
	if (pfd[0].revents & POLLIN)
		accept_clients(s);
	return processed;
}

void ctl_server_get_stats(const struct ctl_server *s, struct ctl_server_stats *st)
{
	*st = s->st;
}

void ctl_server_close(struct ctl_server *s)
{
	if (!s)
		return;
	for (int i = 0; i < CTL_MAX_CLIENTS; i++)
		if (s->cfd[i] >= 0)
			drop_client(s, i);
	close(s->lfd);
	unlink(s->path);
	sodium_memzero(s->rbuf, sizeof(s->rbuf));
	free(s);
}
