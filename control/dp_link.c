/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * dp_link.c: see dp_link.h. The dataplane can be restarted under isthmusd (an
 * upgrade, a crash, an operator): its SAs are then gone. Every change of the
 * dataplane's boot id seen in a HELLO triggers the up callback
 * (control/kernel_dp.c: retire what a dataplane holds from before, and have
 * fresh CHILD_SAs negotiated for what it lost). A request is never sent on a
 * new connection before that HELLO, so it cannot reach a dataplane instance
 * the callback has not seen; nor on any connection while the callback runs
 * (another thread's request would reach the new instance first, and the
 * callback would retire the SA it installed).
 */
#include "dp_link.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl_client.h"
#include "ctl_json.h"

#define CALL_TIMEOUT_MS 2000

struct dp_link {
	pthread_mutex_t lock;
	pthread_cond_t synced;  /**< signalled when the up callback is done */
	char path[108];
	int fd;
	int up;
	int syncing;         /**< a new instance's up callback runs: other requests wait */
	uint64_t boot;       /**< boot id of the dataplane instance last seen */
	dp_link_up_fn up_fn;
	void *ctx;
};

/* Set while this thread runs the up callback: its own requests go through. */
static __thread int in_up_fn;

/* Call with the lock held: wait until no up callback of another thread runs
 * (a request sent meanwhile would reach the new instance before it is
 * brought in step, and the callback would then retire what it installed). */
static void wait_synced(struct dp_link *l)
{
	while (l->syncing && !in_up_fn)
		pthread_cond_wait(&l->synced, &l->lock);
}

struct dp_link *dp_link_create(const char *path, dp_link_up_fn up, void *ctx)
{
	struct dp_link *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	pthread_mutex_init(&l->lock, NULL);
	pthread_cond_init(&l->synced, NULL);
	snprintf(l->path, sizeof(l->path), "%s", path);
	l->fd = -1;
	l->up_fn = up;
	l->ctx = ctx;
	return l;
}

static void disconnect(struct dp_link *l)
{
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
	l->up = 0;
}

/* Call with the lock held. Returns 1 when a new connection was made. */
static int ensure_connected(struct dp_link *l, char *err, size_t errlen)
{
	if (l->fd >= 0)
		return 0;
	l->fd = ctl_connect(l->path, err, errlen);
	return l->fd >= 0 ? 1 : -1;
}

/* One exchange on the current connection (opened if there is none), the
 * reply into @p rbuf (CTL_MAX_MSG + 1 bytes) or, without it, into memory of
 * its own of up to @p max_body bytes of body. Call with the lock held; a
 * failed exchange closes the connection. */
static const struct ctl_reply *call_once(struct dp_link *l, void *req, size_t len, void *rbuf,
					 size_t max_body, char *err, size_t errlen)
{
	const struct ctl_reply *r;

	if (ensure_connected(l, err, errlen) < 0)
		return NULL;
	if (rbuf)
		r = ctl_call(l->fd, req, len, rbuf, CTL_MAX_MSG + 1, CALL_TIMEOUT_MS, err, errlen);
	else
		r = ctl_call_alloc(l->fd, req, len, max_body, CALL_TIMEOUT_MS, err, errlen);
	if (r)
		l->up = 1;
	else
		disconnect(l); /* stale (the dataplane restarted) or broken */
	return r;
}

static const struct ctl_reply *call(struct dp_link *l, void *req, size_t len, void *rbuf,
				    size_t max_body, char *err, size_t errlen)
{
	/* A connection made here may be to a dataplane instance we have not
	 * seen: the HELLO (dp_link_ping) brings it in step first, through the
	 * up callback, so this request is neither undone by the callback nor
	 * applied to an instance it was not meant for. Two tries: the first may
	 * find the connection stale. */
	for (int attempt = 0; attempt < 2; attempt++) {
		const struct ctl_reply *r;
		int fresh;

		pthread_mutex_lock(&l->lock);
		wait_synced(l);
		fresh = l->fd < 0;
		pthread_mutex_unlock(&l->lock);
		if (fresh && dp_link_ping(l) < 0) {
			snprintf(err, errlen, "isthmus-dp is not running (no answer on %s)", l->path);
			return NULL;
		}
		pthread_mutex_lock(&l->lock);
		/* another thread's HELLO may have met a new instance meanwhile */
		wait_synced(l);
		r = call_once(l, req, len, rbuf, max_body, err, errlen);
		pthread_mutex_unlock(&l->lock);
		if (r)
			return r;
	}
	return NULL;
}

const struct ctl_reply *dp_link_call(struct dp_link *l, void *req, size_t len, void *rbuf,
				     char *err, size_t errlen)
{
	return call(l, req, len, rbuf, 0, err, errlen);
}

struct ctl_reply *dp_link_call_alloc(struct dp_link *l, void *req, size_t len, size_t max_body,
				     char *err, size_t errlen)
{
	return (struct ctl_reply *)call(l, req, len, NULL, max_body, err, errlen);
}

/* The dataplane's boot id: "boot" of the HELLO reply's JSON body (0 if absent). */
static uint64_t boot_id(const struct ctl_reply *r)
{
	return ctl_reply_json_uint(r, "boot", 0);
}

int dp_link_ping(struct dp_link *l)
{
	static __thread uint8_t rbuf[CTL_MAX_MSG + 1] __attribute__((aligned(8)));
	struct ctl_hdr h = { .type = CTL_HELLO };
	const struct ctl_reply *r;
	char err[256];
	int changed = 0;

	int ok;

	pthread_mutex_lock(&l->lock);
	wait_synced(l);
	r = call_once(l, &h, sizeof(h), rbuf, 0, err, sizeof(err));
	if (!r) /* HELLO changes nothing: a stale connection is retried at once */
		r = call_once(l, &h, sizeof(h), rbuf, 0, err, sizeof(err));
	ok = r && r->status == 0;
	if (ok) {
		uint64_t b = boot_id(r);

		changed = b != l->boot && l->up_fn;
		l->boot = b;
		/* in the same hold of the lock as the HELLO: no other request
		 * reaches the new instance before the callback is done */
		l->syncing |= changed;
	}
	pthread_mutex_unlock(&l->lock);
	if (changed) {
		in_up_fn = 1;
		l->up_fn(l->ctx);
		in_up_fn = 0;
		pthread_mutex_lock(&l->lock);
		l->syncing = 0;
		pthread_cond_broadcast(&l->synced);
		pthread_mutex_unlock(&l->lock);
	}
	return ok ? 0 : -1;
}

int dp_link_is_up(const struct dp_link *l)
{
	return l->up;
}

void dp_link_destroy(struct dp_link *l)
{
	if (!l)
		return;
	disconnect(l);
	pthread_cond_destroy(&l->synced);
	pthread_mutex_destroy(&l->lock);
	free(l);
}
