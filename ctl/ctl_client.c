/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ctl_client.c: blocking request/reply over the control socket, with a timeout,
 * checking that the reply matches the request (type and sequence number).
 */
#include "ctl_client.h"

#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

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

const struct ctl_reply *ctl_call(int fd, void *req, size_t req_len, void *rbuf, size_t rcap,
				 int timeout_ms, char *err, size_t errlen)
{
	static _Atomic uint32_t next_seq = 1;
	struct ctl_hdr *h = req;
	struct ctl_reply *r = rbuf;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	ssize_t n;

	h->magic = CTL_MAGIC;
	h->version = CTL_VERSION;
	h->len = (uint32_t)req_len;
	h->seq = atomic_fetch_add_explicit(&next_seq, 1, memory_order_relaxed);
	if (send(fd, req, req_len, MSG_NOSIGNAL) != (ssize_t)req_len) {
		snprintf(err, errlen, "send to isthmus-dp: %s", strerror(errno));
		return NULL;
	}
	for (;;) {
		int p = poll(&pfd, 1, timeout_ms);

		if (p < 0 && errno == EINTR)
			continue;
		if (p <= 0) {
			if (p == 0)
				snprintf(err, errlen, "isthmus-dp did not answer within %d ms", timeout_ms);
			else
				snprintf(err, errlen, "poll: %s", strerror(errno));
			return NULL;
		}
		n = recv(fd, rbuf, rcap - 1, 0);
		if (n <= 0) {
			if (n == 0)
				snprintf(err, errlen, "isthmus-dp closed the control connection");
			else
				snprintf(err, errlen, "recv: %s", strerror(errno));
			return NULL;
		}
		if ((size_t)n < sizeof(*r) || r->h.magic != CTL_MAGIC || r->h.len != (uint32_t)n ||
		    sizeof(*r) + r->body_len != (size_t)n) {
			snprintf(err, errlen, "malformed reply from isthmus-dp (%zd bytes)", n);
			return NULL;
		}
		if (r->h.seq != h->seq)
			continue; /* a late reply to an earlier, timed-out request */
		if (r->h.type != (h->type | CTL_REPLY)) {
			snprintf(err, errlen, "reply of type %#x to a request of type %u",
				 r->h.type, h->type);
			return NULL;
		}
		((uint8_t *)rbuf)[n] = '\0';
		return r;
	}
}
