/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ctl_client.c: blocking request/reply over the control socket, with a timeout,
 * checking that the reply matches the request (type and sequence number), and
 * reassembling a streamed reply from its parts (docs/control-protocol.md,
 * "Streamed replies"): every part must come in order (index and byte offset),
 * the last says so, and a reply cut short (the server gone, a part missing, an
 * error part) is an error, never a shorter reply.
 */
#include "ctl_client.h"

#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <sodium.h>

int ctl_connect(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "control socket path too long: %s", path);
		return -1;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;

		close(fd);
		if (e == ENOENT || e == ECONNREFUSED)
			snprintf(err, errlen, "isthmus-dp is not running (no control socket at %s)", path);
		else
			snprintf(err, errlen, "cannot connect to %s: %s", path, strerror(e));
		return -1;
	}
	return fd;
}

void ctl_reasm_init(struct ctl_reasm *a, uint16_t type, uint32_t seq, void *buf, size_t cap,
		    size_t max_body)
{
	*a = (struct ctl_reasm){ .seq = seq, .type = type, .buf = buf, .cap = buf ? cap : 0,
				 .fixed = buf != NULL, .max_body = max_body };
}

void ctl_reasm_free(struct ctl_reasm *a)
{
	if (!a->fixed && a->buf) {
		sodium_memzero(a->buf, a->cap);
		free(a->buf);
	}
	a->buf = NULL;
	a->cap = 0;
}

/*
 * Room for @p body bytes of body (plus the header and a NUL). Grown by
 * allocate, copy, wipe, free: a reply may carry keys (sa --wireshark), and
 * realloc would leave a copy in freed memory.
 */
static int reserve(struct ctl_reasm *a, size_t body, char *err, size_t errlen)
{
	size_t need = sizeof(struct ctl_reply) + body + 1, cap;
	uint8_t *nb;

	if (body > a->max_body) {
		snprintf(err, errlen, "reply larger than %zu bytes: refused", a->max_body);
		return -EMSGSIZE;
	}
	if (need <= a->cap)
		return 0;
	if (a->fixed) {
		snprintf(err, errlen, "reply of more than %zu bytes does not fit the buffer",
			 a->cap - sizeof(struct ctl_reply) - 1);
		return -EMSGSIZE;
	}
	cap = a->cap ? a->cap : 4096;
	while (cap < need)
		cap *= 2;
	nb = malloc(cap);
	if (!nb) {
		snprintf(err, errlen, "out of memory for a reply of %zu bytes", body);
		return -ENOMEM;
	}
	if (a->buf) {
		memcpy(nb, a->buf, sizeof(struct ctl_reply) + a->len);
		sodium_memzero(a->buf, a->cap);
		free(a->buf);
	}
	a->buf = nb;
	a->cap = cap;
	return 0;
}

/* Append @p n body bytes; the reply's header says what is there so far. */
static int append(struct ctl_reasm *a, const void *p, size_t n, char *err, size_t errlen)
{
	struct ctl_reply *r;
	int rc = reserve(a, a->len + n, err, errlen);

	if (rc < 0)
		return rc;
	memcpy(a->buf + sizeof(*r) + a->len, p, n);
	a->len += n;
	a->buf[sizeof(*r) + a->len] = '\0';
	r = (struct ctl_reply *)a->buf;
	r->body_len = (uint32_t)a->len;
	r->h.len = (uint32_t)(sizeof(*r) + a->len);
	return 0;
}

/* A complete reply of @p status with @p n body bytes at @p body. */
static int whole(struct ctl_reasm *a, const struct ctl_reply *m, const void *body, size_t n,
		 char *err, size_t errlen)
{
	int rc;

	if (a->buf && a->len) /* the parts before an error part: gone, and wiped */
		sodium_memzero(a->buf + sizeof(*m), a->len);
	a->len = 0;
	rc = reserve(a, n, err, errlen);
	if (rc < 0)
		return rc;
	*(struct ctl_reply *)a->buf = *m;
	((struct ctl_reply *)a->buf)->h.type = a->type | CTL_REPLY;
	rc = append(a, body, n, err, errlen);
	return rc < 0 ? rc : CTL_REASM_DONE;
}

int ctl_reasm_feed(struct ctl_reasm *a, const void *msg, size_t n, char *err, size_t errlen)
{
	const struct ctl_reply *r = msg;
	const struct ctl_part *p = msg;
	int rc;

	if (n < sizeof(*r) || r->h.magic != CTL_MAGIC || r->h.len != n) {
		snprintf(err, errlen, "malformed reply (%zu bytes)", n);
		return -EBADMSG;
	}
	if (r->h.seq != a->seq) {
		/* a late reply to an earlier request that timed out: not ours */
		a->stale++;
		return CTL_REASM_STALE;
	}
	if ((r->h.type & ~CTL_PART) != (a->type | CTL_REPLY)) {
		snprintf(err, errlen, "reply of type %#x to a request of type %u", r->h.type, a->type);
		return -EPROTO;
	}
	if (!(r->h.type & CTL_PART)) {
		if (sizeof(*r) + (size_t)r->body_len != n) {
			snprintf(err, errlen, "malformed reply (%zu bytes)", n);
			return -EBADMSG;
		}
		if (a->parts) {
			snprintf(err, errlen, "a one-message reply after %u parts of a streamed one",
				 a->parts);
			return -EPROTO;
		}
		return whole(a, r, r + 1, r->body_len, err, errlen);
	}
	if (n < sizeof(*p) || sizeof(*p) + (size_t)r->body_len != n) {
		snprintf(err, errlen, "malformed reply part (%zu bytes)", n);
		return -EBADMSG;
	}
	if (p->index != a->parts || p->offset != a->len) {
		snprintf(err, errlen, "reply part %u at byte %llu where part %u at byte %zu was "
			 "expected: parts lost or out of order", p->index,
			 (unsigned long long)p->offset, a->parts, a->len);
		return -EPROTO;
	}
	if (r->status < 0) {
		/* the server gave up half-way: the whole reply is this error */
		if (p->flags & CTL_PART_MORE) {
			snprintf(err, errlen, "error part %u announces more parts", p->index);
			return -EPROTO;
		}
		return whole(a, r, p + 1, r->body_len, err, errlen);
	}
	if (a->parts == 0) {
		rc = reserve(a, 0, err, errlen);
		if (rc < 0)
			return rc;
		*(struct ctl_reply *)a->buf = *r;
		((struct ctl_reply *)a->buf)->h.type = a->type | CTL_REPLY;
	}
	rc = append(a, p + 1, r->body_len, err, errlen);
	if (rc < 0)
		return rc;
	a->parts++;
	return p->flags & CTL_PART_MORE ? CTL_REASM_MORE : CTL_REASM_DONE;
}

/* Send @p req and feed every message that comes back into @p a until the reply is complete. */
static struct ctl_reply *exchange(int fd, void *req, size_t req_len, struct ctl_reasm *a,
				  size_t rbuf_cap, size_t max_body, void *rbuf, int timeout_ms,
				  char *err, size_t errlen)
{
	static _Atomic uint32_t next_seq = 1;
	struct ctl_hdr *h = req;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	struct ctl_reply *out = NULL;
	uint8_t *msg = malloc(CTL_MAX_MSG);
	ssize_t n;

	h->magic = CTL_MAGIC;
	h->version = CTL_VERSION;
	h->len = (uint32_t)req_len;
	h->seq = atomic_fetch_add_explicit(&next_seq, 1, memory_order_relaxed);
	ctl_reasm_init(a, h->type, h->seq, rbuf, rbuf_cap, max_body);
	if (!msg) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (send(fd, req, req_len, MSG_NOSIGNAL) != (ssize_t)req_len) {
		snprintf(err, errlen, "send to isthmus-dp: %s", strerror(errno));
		goto out;
	}
	for (;;) {
		int p = poll(&pfd, 1, timeout_ms), rc;

		if (p < 0 && errno == EINTR)
			continue;
		if (p <= 0) {
			if (p == 0)
				snprintf(err, errlen, "isthmus-dp did not answer within %d ms%s", timeout_ms,
					 a->parts ? " (a streamed reply stopped half-way)" : "");
			else
				snprintf(err, errlen, "poll: %s", strerror(errno));
			goto out;
		}
		n = recv(fd, msg, CTL_MAX_MSG, MSG_TRUNC);
		if (n <= 0) {
			if (n == 0)
				snprintf(err, errlen, "isthmus-dp closed the control connection%s",
					 a->parts ? " in the middle of a streamed reply" : "");
			else
				snprintf(err, errlen, "recv: %s", strerror(errno));
			goto out;
		}
		if (n > CTL_MAX_MSG) {
			snprintf(err, errlen, "message of %zd bytes from isthmus-dp: larger than the "
				 "protocol allows", n);
			goto out;
		}
		rc = ctl_reasm_feed(a, msg, (size_t)n, err, errlen);
		if (rc < 0)
			goto out;
		if (rc == CTL_REASM_DONE) {
			out = ctl_reasm_reply(a);
			goto out;
		}
	}
out:
	sodium_memzero(msg, CTL_MAX_MSG); /* every message received left bytes here */
	free(msg);
	return out;
}

const struct ctl_reply *ctl_call(int fd, void *req, size_t req_len, void *rbuf, size_t rcap,
				 int timeout_ms, char *err, size_t errlen)
{
	struct ctl_reasm a;

	if (rcap < sizeof(struct ctl_reply) + 1) {
		snprintf(err, errlen, "reply buffer too small");
		return NULL;
	}
	return exchange(fd, req, req_len, &a, rcap, rcap - sizeof(struct ctl_reply) - 1, rbuf,
			timeout_ms, err, errlen);
}

struct ctl_reply *ctl_call_alloc(int fd, void *req, size_t req_len, size_t max_body,
				 int timeout_ms, char *err, size_t errlen)
{
	struct ctl_reasm a;
	struct ctl_reply *r = exchange(fd, req, req_len, &a, 0, max_body, NULL, timeout_ms, err,
				       errlen);

	if (!r)
		ctl_reasm_free(&a);
	return r;
}

void ctl_reply_free(struct ctl_reply *r)
{
	if (!r)
		return;
	/* the buffer is at least the reply and its NUL; wipe what was used */
	sodium_memzero(r, sizeof(*r) + r->body_len + 1);
	free(r);
}
