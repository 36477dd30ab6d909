/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_dp_link.c: isthmusd's link to the dataplane (control/dp_link.c)
 * against the real control socket server (ctl/ctl_server.c) on a real
 * unix SOCK_SEQPACKET socket, the server polled by a thread of its own and
 * answering HELLO with a boot id as isthmus-dp does.
 *
 * A dataplane that restarted holds none of the old SAs; isthmusd learns it
 * from the boot id in the HELLO reply and runs its up callback
 * (kernel_dp.c: retire what the new instance holds, rekey what it lost). A
 * request that reached the new instance before that callback could be
 * undone by it (an SA_ADD retired right after) or be meant for the old one.
 * So these tests record, in one log, the message types the server receives
 * and the callback runs, and prove that:
 *  - the callback runs once per new boot id, not for every HELLO, and not
 *    for a reconnection to the same instance;
 *  - after the server is replaced by one with another boot id at the same
 *    path, the next dp_link_call sends HELLO first, runs the callback, and
 *    only then sends its request; dp_link_ping notices a restart as well;
 *  - the callback runs with the link unlocked: a request it makes (as
 *    kernel_dp's retire does) goes out, before the request that found the
 *    new instance;
 *  - without a dataplane, dp_link_call fails, and runs no callback.
 */
#include "check_main.h"
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl_client.h"
#include "ctl_server.h"
#include "dp_link.h"

/* The log: one letter per event, in the order they happened. */
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char events[256];
static int ups;

static void note(char c)
{
	size_t n;

	pthread_mutex_lock(&log_lock);
	n = strlen(events);
	ck_assert_uint_lt(n, sizeof(events) - 1);
	events[n] = c;
	events[n + 1] = '\0';
	pthread_mutex_unlock(&log_lock);
}

static void log_reset(void)
{
	pthread_mutex_lock(&log_lock);
	events[0] = '\0';
	pthread_mutex_unlock(&log_lock);
}

static void log_is(const char *want)
{
	pthread_mutex_lock(&log_lock);
	ck_assert_msg(strcmp(events, want) == 0, "events \"%s\", want \"%s\"", events, want);
	pthread_mutex_unlock(&log_lock);
}

/* A dataplane's control socket: H = HELLO, S = STATS, R = SA_RETIRE received. */
struct fake_dp {
	struct ctl_server *srv;
	uint64_t boot;
	volatile int stop;
	pthread_t th;
};

static char path[108];
static struct fake_dp fdp;

static int handler(void *ctx, const struct ctl_hdr *req, struct ctl_out *out)
{
	struct fake_dp *d = ctx;

	switch (req->type) {
	case CTL_HELLO:
		note('H');
		return ctl_out_printf(out, "{\"version\":%d,\"name\":\"t\",\"boot\":%llu,"
				      "\"workers\":1}", CTL_VERSION, (unsigned long long)d->boot);
	case CTL_STATS:
		note('S');
		return ctl_out_printf(out, "{}");
	case CTL_MACS:
		/* 300 000 bytes written at once: the server sends them in parts */
		note('M');
		for (int i = 0; i < 30000; i++)
			if (ctl_out_printf(out, "%09d,", i) < 0)
				return -ENOSPC;
		return 0;
	case CTL_SA_RETIRE:
		note('R');
		return ctl_out_printf(out, "{\"retired\":0}");
	default:
		note('?');
		return -EOPNOTSUPP;
	}
}

static void *serve(void *arg)
{
	struct fake_dp *d = arg;

	while (!d->stop)
		ck_assert_int_ge(ctl_server_poll(d->srv, 10), 0);
	return NULL;
}

static void dp_start(uint64_t boot)
{
	char err[256] = "";

	fdp.boot = boot;
	fdp.stop = 0;
	fdp.srv = ctl_server_open(path, handler, &fdp, err, sizeof(err));
	ck_assert_msg(fdp.srv != NULL, "ctl_server_open: %s", err);
	ck_assert_int_eq(pthread_create(&fdp.th, NULL, serve, &fdp), 0);
}

/* The dataplane goes away: its clients' connections are closed. */
static void dp_stop(void)
{
	fdp.stop = 1;
	ck_assert_int_eq(pthread_join(fdp.th, NULL), 0);
	ctl_server_close(fdp.srv);
	fdp.srv = NULL;
}

static struct dp_link *cb_link;   /* set: the callback makes a request of its own */

static void up(void *ctx)
{
	(void)ctx;
	ups++;
	note('U');
	if (cb_link) {
		struct ctl_sa_retire r = { .h.type = CTL_SA_RETIRE, .grace_s = 30 };
		uint8_t rbuf[CTL_MAX_MSG + 1] __attribute__((aligned(8)));
		char err[256] = "";
		const struct ctl_reply *rep = dp_link_call(cb_link, &r, sizeof(r), rbuf, err,
							   sizeof(err));

		ck_assert_msg(rep != NULL, "retire from the callback: %s", err);
		ck_assert_int_eq(rep->status, 0);
	}
}

static uint8_t rbuf[CTL_MAX_MSG + 1] __attribute__((aligned(8)));

/* One STATS request through the link; it must succeed. */
static void stats(struct dp_link *l)
{
	struct ctl_hdr h = { .type = CTL_STATS };
	char err[256] = "";
	const struct ctl_reply *r = dp_link_call(l, &h, sizeof(h), rbuf, err, sizeof(err));

	ck_assert_msg(r != NULL, "dp_link_call: %s", err);
	ck_assert_int_eq(r->status, 0);
	ck_assert_uint_eq(r->h.type, CTL_STATS | CTL_REPLY);
	ck_assert(dp_link_is_up(l));
}

static void setup(void)
{
	snprintf(path, sizeof(path), "/tmp/isthmus-ut-dl-%d/dp.sock", (int)getpid());
	log_reset();
	ups = 0;
	cb_link = NULL;
}

static void teardown(void)
{
	char dir[108];

	snprintf(dir, sizeof(dir), "/tmp/isthmus-ut-dl-%d", (int)getpid());
	unlink(path);
	rmdir(dir);
}

/* (a) One callback per boot id: further HELLOs and requests on the same
 * instance run none, nor does a reconnection to the same instance. */
START_TEST(test_up_once_per_boot)
{
	struct dp_link *l = dp_link_create(path, up, NULL);

	ck_assert_ptr_nonnull(l);
	dp_start(11);
	ck_assert_int_eq(dp_link_ping(l), 0);
	log_is("HU");
	ck_assert_int_eq(ups, 1);
	ck_assert_int_eq(dp_link_ping(l), 0);
	stats(l);
	stats(l);
	log_is("HUHSS");     /* an open connection: no HELLO before each request */
	ck_assert_int_eq(ups, 1);

	/* the same instance closes the connection (its socket reopened): the
	 * link greets it again, but it is no new dataplane */
	dp_stop();
	dp_start(11);
	log_reset();
	stats(l);
	log_is("HS");
	ck_assert_int_eq(ups, 1);
	dp_stop();
	dp_link_destroy(l);
}
END_TEST

/* (b) The dataplane restarts (new boot id, same path): the next request
 * finds the old connection dead, greets the new instance, the callback runs,
 * and only then does the request go out; once. */
START_TEST(test_restart_hello_callback_then_request)
{
	struct dp_link *l = dp_link_create(path, up, NULL);

	dp_start(11);
	stats(l);            /* first use: connects and greets first too */
	log_is("HUS");
	ck_assert_int_eq(ups, 1);

	dp_stop();
	dp_start(22);
	log_reset();
	stats(l);
	log_is("HUS");
	ck_assert_int_eq(ups, 2);
	stats(l);
	log_is("HUSS");
	ck_assert_int_eq(ups, 2);

	/* and a liveness check notices a restart just as well */
	dp_stop();
	dp_start(33);
	log_reset();
	ck_assert_int_eq(dp_link_ping(l), 0);
	log_is("HU");
	ck_assert_int_eq(ups, 3);
	stats(l);
	log_is("HUS");
	dp_stop();
	dp_link_destroy(l);
}
END_TEST

/* The callback makes a request itself (kernel_dp.c retires what the new
 * dataplane holds): the link is not locked while it runs, and that request
 * reaches the new instance before the one that found it. */
START_TEST(test_callback_request_goes_first)
{
	struct dp_link *l = dp_link_create(path, up, NULL);

	cb_link = l;
	dp_start(5);
	stats(l);
	log_is("HURS");
	dp_stop();
	dp_start(6);
	log_reset();
	stats(l);
	log_is("HURS");
	ck_assert_int_eq(ups, 2);
	dp_stop();
	dp_link_destroy(l);
}
END_TEST

/* No dataplane: the request fails with a reason, no callback, nothing sent;
 * when one comes, the next request greets it first. */
START_TEST(test_no_dataplane)
{
	struct dp_link *l = dp_link_create(path, up, NULL);
	struct ctl_hdr h = { .type = CTL_STATS };
	char err[256] = "";

	ck_assert_ptr_null(dp_link_call(l, &h, sizeof(h), rbuf, err, sizeof(err)));
	ck_assert_msg(strstr(err, "not running") != NULL, "err: %s", err);
	ck_assert_int_eq(dp_link_ping(l), -1);
	ck_assert(!dp_link_is_up(l));
	ck_assert_int_eq(ups, 0);
	dp_start(7);
	stats(l);
	log_is("HUS");
	ck_assert_int_eq(ups, 1);
	dp_stop();
	/* gone again: the request fails, the callback does not run */
	ck_assert_ptr_null(dp_link_call(l, &h, sizeof(h), rbuf, err, sizeof(err)));
	ck_assert_int_eq(ups, 1);
	dp_link_destroy(l);
}
END_TEST

/* A reply longer than one message: whole through dp_link_call_alloc(),
 * refused (not cut) by dp_link_call()'s one-message buffer, and the link
 * works on afterwards. */
START_TEST(test_long_reply)
{
	struct dp_link *l = dp_link_create(path, up, NULL);
	struct ctl_hdr h = { .type = CTL_MACS };
	struct ctl_reply *r;
	char err[256] = "", want[16];

	ck_assert_ptr_nonnull(l);
	dp_start(41);
	r = dp_link_call_alloc(l, &h, sizeof(h), 1 << 20, err, sizeof(err));
	ck_assert_msg(r != NULL, "dp_link_call_alloc: %s", err);
	ck_assert_int_eq(r->status, 0);
	ck_assert_uint_eq(r->body_len, 300000);
	for (int i = 0; i < 30000; i += 997) {
		snprintf(want, sizeof(want), "%09d,", i);
		ck_assert_int_eq(memcmp((const char *)ctl_reply_body(r) + 10 * i, want, 10), 0);
	}
	ctl_reply_free(r);
	ck_assert_ptr_null(dp_link_call(l, &h, sizeof(h), rbuf, err, sizeof(err)));
	ck_assert_msg(strstr(err, "larger than") != NULL, "%s", err);
	stats(l);
	dp_stop();
	dp_link_destroy(l);
}
END_TEST

Suite *test_suite(void)
{
	Suite *s = suite_create("dp_link");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_up_once_per_boot);
	tcase_add_test(tc, test_restart_hello_callback_then_request);
	tcase_add_test(tc, test_callback_request_goes_first);
	tcase_add_test(tc, test_no_dataplane);
	tcase_add_test(tc, test_long_reply);
	tcase_set_timeout(tc, 20);
	suite_add_tcase(s, tc);
	return s;
}
