/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ctl_server.c: the control socket server. Everything a client sends is
 * untrusted input (root-only socket, but a buggy or hostile tool must not take
 * the dataplane down): each message is checked for magic, version, type and the
 * exact size of that type before any handler sees it, and anything else gets an
 * error reply and a counter. SOCK_SEQPACKET keeps message boundaries, so a short
 * or long message is detected as such (MSG_TRUNC gives the real length).
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
#include <unistd.h>

#include <sodium.h>

#define CTL_MAX_CLIENTS 16

struct ctl_server {
	int lfd;
	int cfd[CTL_MAX_CLIENTS];
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	ctl_handler_fn fn;
	void *ctx;
	struct ctl_server_stats st;
	/* requests (may hold key material: wiped) and replies, aligned for the
	 * message structs laid over them */
	uint8_t rbuf[CTL_MAX_MSG + 1] __attribute__((aligned(8)));
	uint8_t wbuf[CTL_MAX_MSG] __attribute__((aligned(8)));
};

int ctl_out_append(struct ctl_out *o, const void *p, size_t n)
{
	if (n > o->cap - o->len)
		return -ENOSPC;
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
	if (n < 0 || (size_t)n >= o->cap - o->len) {
		o->buf[o->len] = '\0';
		return -ENOSPC;
	}
	o->len += (size_t)n;
	return 0;
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

static void reply(struct ctl_server *s, int fd, const struct ctl_hdr *req_or_null,
		  uint16_t type, int32_t status, const struct ctl_out *body)
{
	struct ctl_reply *r = (struct ctl_reply *)s->wbuf;

	r->h.magic = CTL_MAGIC;
	r->h.version = CTL_VERSION;
	r->h.type = type | CTL_REPLY;
	r->h.seq = req_or_null ? req_or_null->seq : 0;
	r->status = status;
	r->body_len = (uint32_t)body->len; /* body was built in place after *r */
	r->h.len = (uint32_t)(sizeof(*r) + body->len);
	if (send(fd, r, r->h.len, MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)r->h.len)
		s->st.send_errors++;
	/* replies may carry keys too (isthmusctl sa --wireshark) */
	sodium_memzero(s->wbuf, r->h.len);
}

/* Reply with an error message; also used before the header could be trusted. */
static void reply_err(struct ctl_server *s, int fd, const struct ctl_hdr *h, uint16_t type,
		      int32_t status, const char *msg)
{
	struct ctl_out o = {
		.buf = s->wbuf + sizeof(struct ctl_reply),
		.cap = sizeof(s->wbuf) - sizeof(struct ctl_reply),
	};

	ctl_out_printf(&o, "%s", msg);
	reply(s, fd, h, type, status, &o);
}

/* One datagram from a client: validate, dispatch, answer. */
static void serve_one(struct ctl_server *s, int fd, ssize_t n)
{
	const struct ctl_hdr *h = (const struct ctl_hdr *)s->rbuf;
	struct ctl_out o = {
		.buf = s->wbuf + sizeof(struct ctl_reply),
		.cap = sizeof(s->wbuf) - sizeof(struct ctl_reply),
	};
	long want;
	int rc;

	if (n > CTL_MAX_MSG) {
		s->st.oversized++;
		reply_err(s, fd, NULL, 0, -EMSGSIZE, "message larger than CTL_MAX_MSG");
		return;
	}
	if ((size_t)n < sizeof(*h)) {
		s->st.bad_length++;
		reply_err(s, fd, NULL, 0, -EBADMSG, "message shorter than the header");
		return;
	}
	if (h->magic != CTL_MAGIC) {
		s->st.bad_magic++;
		reply_err(s, fd, NULL, 0, -EBADMSG, "bad magic: not an isthmus control message");
		return;
	}
	if (h->version != CTL_VERSION) {
		s->st.bad_version++;
		reply_err(s, fd, h, h->type, -EPROTONOSUPPORT, "unsupported protocol version");
		return;
	}
	want = ctl_request_size(h->type);
	if (want < 0) {
		s->st.bad_type++;
		reply_err(s, fd, h, h->type, -EOPNOTSUPP, "unknown message type");
		return;
	}
	if (h->len != (uint32_t)n || n != want) {
		s->st.bad_length++;
		reply_err(s, fd, h, h->type, -EBADMSG, "wrong length for this message type");
		return;
	}
	s->st.requests++;
	rc = s->fn(s->ctx, h, &o);
	if (rc < 0) {
		s->st.failed++;
		if (o.len == 0)
			ctl_out_printf(&o, "%s", strerror(-rc));
	}
	reply(s, fd, h, h->type, rc < 0 ? rc : 0, &o);
}

static void drop_client(struct ctl_server *s, int i)
{
	close(s->cfd[i]);
	s->cfd[i] = -1;
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
		pfd[nfds].events = POLLIN;
		idx[nfds++] = i;
	}
	if (poll(pfd, nfds, timeout_ms) < 0)
		return errno == EINTR ? 0 : -1;

	for (int k = 1; k < nfds; k++) {
		int i = idx[k];

		if (!(pfd[k].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		/* Bounded: at most a handful of messages per client per poll, so
		 * one chatty client cannot starve the others. */
		for (int m = 0; m < 8; m++) {
			ssize_t n = recv(s->cfd[i], s->rbuf, sizeof(s->rbuf), MSG_TRUNC | MSG_DONTWAIT);

			if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
				drop_client(s, i);
				break;
			}
			if (n < 0)
				break;
			serve_one(s, s->cfd[i], n);
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
			close(s->cfd[i]);
	close(s->lfd);
	unlink(s->path);
	sodium_memzero(s->rbuf, sizeof(s->rbuf));
	free(s);
}
