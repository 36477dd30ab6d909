/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_ctl_server.c: the control socket server survives garbage, truncated,
 * oversized, wrong-version, unknown-type and wrong-length messages, answers each
 * with the right error and counter, and keeps serving well-formed requests on the
 * same and on new connections. Real unix SOCK_SEQPACKET sockets, real client code.
 */
#include "check_main.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ctl_client.h"
#include "ctl_server.h"

static char path[108];
static struct ctl_server *srv;
static int handled;
static uint8_t rbuf[CTL_MAX_MSG + 1] __attribute__((aligned(8)));

static int handler(void *ctx, const struct ctl_hdr *req, struct ctl_out *out)
{
	(void)ctx;
	handled++;
	switch (req->type) {
	case CTL_HELLO:
		return ctl_out_printf(out, "{\"version\":%d}", CTL_VERSION);
	case CTL_SA_DEL:
		ctl_out_printf(out, "no such SA");
		return -ENOENT;
	default:
		return -EOPNOTSUPP;
	}
}

static void setup(void)
{
	char err[256];

	snprintf(path, sizeof(path), "/tmp/isthmus-ut-%d/dp.sock", (int)getpid());
	srv = ctl_server_open(path, handler, NULL, err, sizeof(err));
	ck_assert_msg(srv != NULL, "open: %s", err);
	handled = 0;
}

static void teardown(void)
{
	char dir[108];

	ctl_server_close(srv);
	snprintf(dir, sizeof(dir), "/tmp/isthmus-ut-%d", (int)getpid());
	rmdir(dir);
}

static int client(void)
{
	char err[256];
	int fd = ctl_connect(path, err, sizeof(err));

	ck_assert_msg(fd >= 0, "connect: %s", err);
	ctl_server_poll(srv, 0); /* accept */
	return fd;
}

/* Send raw bytes, let the server run, and read its reply. */
static const struct ctl_reply *raw_roundtrip(int fd, const void *msg, size_t len, void *rbuf)
{
	ssize_t n = -1;

	ck_assert_int_eq(send(fd, msg, len, 0), (ssize_t)len);
	for (int i = 0; i < 10 && n < 0; i++) {
		ctl_server_poll(srv, 10);
		n = recv(fd, rbuf, CTL_MAX_MSG, MSG_DONTWAIT);
	}
	ck_assert_int_ge(n, (ssize_t)sizeof(struct ctl_reply));
	return rbuf;
}

START_TEST(test_hello)
{
	int fd = client();
	struct ctl_hdr h = { .magic = CTL_MAGIC, .version = CTL_VERSION, .type = CTL_HELLO,
			     .len = sizeof(h), .seq = 7 };
	const struct ctl_reply *r = raw_roundtrip(fd, &h, sizeof(h), rbuf);

	ck_assert_int_eq(r->status, 0);
	ck_assert_uint_eq(r->h.type, CTL_HELLO | CTL_REPLY);
	ck_assert_uint_eq(r->h.seq, 7);
	ck_assert_uint_eq(r->h.len, sizeof(*r) + r->body_len);
	ck_assert_int_eq(memcmp(ctl_reply_body(r), "{\"version\":1}", r->body_len), 0);
	ck_assert_int_eq(handled, 1);
	close(fd);
}
END_TEST

/* SOCK_SEQPACKET cannot tell an empty datagram from end-of-file: the server
 * closes that connection, and goes on serving others. */
START_TEST(test_empty_datagram_closes_connection)
{
	int fd = client(), fd2;
	struct ctl_hdr h = { .magic = CTL_MAGIC, .version = CTL_VERSION, .type = CTL_HELLO,
			     .len = sizeof(h), .seq = 5 };
	const struct ctl_reply *r;

	ck_assert_int_eq(send(fd, "", 0, 0), 0);
	ctl_server_poll(srv, 10);
	ck_assert_int_eq(recv(fd, rbuf, CTL_MAX_MSG, MSG_DONTWAIT), 0); /* closed */
	ck_assert_int_eq(handled, 0);

	fd2 = client();
	r = raw_roundtrip(fd2, &h, sizeof(h), rbuf);
	ck_assert_int_eq(r->status, 0);
	close(fd);
	close(fd2);
}
END_TEST

START_TEST(test_garbage_then_good)
{
	int fd = client();
	uint8_t junk[200];
	struct ctl_server_stats st;
	const struct ctl_reply *r;

	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(i * 37 + 11);
	r = raw_roundtrip(fd, junk, sizeof(junk), rbuf);
	ck_assert_int_eq(r->status, -EBADMSG);
	r = raw_roundtrip(fd, junk, 3, rbuf); /* shorter than a header */
	ck_assert_int_eq(r->status, -EBADMSG);

	ctl_server_get_stats(srv, &st);
	ck_assert_uint_eq(st.bad_magic, 1);
	ck_assert_uint_eq(st.bad_length, 1);
	ck_assert_int_eq(handled, 0);

	/* the same connection still works */
	struct ctl_hdr h = { .magic = CTL_MAGIC, .version = CTL_VERSION, .type = CTL_HELLO,
			     .len = sizeof(h), .seq = 9 };
	r = raw_roundtrip(fd, &h, sizeof(h), rbuf);
	ck_assert_int_eq(r->status, 0);
	ck_assert_uint_eq(r->h.seq, 9);
	close(fd);
}
END_TEST

START_TEST(test_oversized)
{
	int fd = client();
	size_t len = CTL_MAX_MSG + 100;
	uint8_t *big = calloc(1, len);
	struct ctl_hdr *h = (struct ctl_hdr *)big;
	struct ctl_server_stats st;
	const struct ctl_reply *r;
	int sz = 4 * CTL_MAX_MSG;

	ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)), 0);
	h->magic = CTL_MAGIC;
	h->version = CTL_VERSION;
	h->type = CTL_SA_ADD;
	h->len = (uint32_t)len;
	r = raw_roundtrip(fd, big, len, rbuf);
	ck_assert_int_eq(r->status, -EMSGSIZE);
	ctl_server_get_stats(srv, &st);
	ck_assert_uint_eq(st.oversized, 1);
	ck_assert_int_eq(handled, 0);
	free(big);
	close(fd);
}
END_TEST

START_TEST(test_version_type_length)
{
	int fd = client();
	struct ctl_sa_id id;
	struct ctl_server_stats st;
	const struct ctl_reply *r;

	memset(&id, 0, sizeof(id));
	id.h = (struct ctl_hdr){ .magic = CTL_MAGIC, .version = 2, .type = CTL_SA_DEL,
				 .len = sizeof(id), .seq = 1 };
	r = raw_roundtrip(fd, &id, sizeof(id), rbuf);
	ck_assert_int_eq(r->status, -EPROTONOSUPPORT);

	id.h.version = CTL_VERSION;
	id.h.type = 999;
	r = raw_roundtrip(fd, &id, sizeof(id), rbuf);
	ck_assert_int_eq(r->status, -EOPNOTSUPP);

	id.h.type = CTL_SA_DEL;
	r = raw_roundtrip(fd, &id, sizeof(id) - 1, rbuf); /* truncated body */
	ck_assert_int_eq(r->status, -EBADMSG);

	id.h.len = sizeof(id) + 4; /* header lies about the length */
	r = raw_roundtrip(fd, &id, sizeof(id), rbuf);
	ck_assert_int_eq(r->status, -EBADMSG);

	id.h.len = sizeof(id); /* well-formed: reaches the handler, which fails */
	r = raw_roundtrip(fd, &id, sizeof(id), rbuf);
	ck_assert_int_eq(r->status, -ENOENT);
	ck_assert_int_eq(memcmp(ctl_reply_body(r), "no such SA", r->body_len), 0);

	ctl_server_get_stats(srv, &st);
	ck_assert_uint_eq(st.bad_version, 1);
	ck_assert_uint_eq(st.bad_type, 1);
	ck_assert_uint_eq(st.bad_length, 2);
	ck_assert_uint_eq(st.requests, 1);
	ck_assert_uint_eq(st.failed, 1);
	ck_assert_int_eq(handled, 1);
	close(fd);
}
END_TEST

START_TEST(test_too_many_clients_and_hangups)
{
	int fds[20];
	struct ctl_server_stats st;

	for (int i = 0; i < 20; i++)
		fds[i] = client();
	ctl_server_poll(srv, 0);
	ctl_server_get_stats(srv, &st);
	ck_assert_uint_eq(st.accepted, 16);
	ck_assert_uint_eq(st.refused, 4);
	for (int i = 0; i < 20; i++)
		close(fds[i]);
	ctl_server_poll(srv, 0); /* notices the hang-ups and frees the slots */

	int fd = client();
	struct ctl_hdr h = { .magic = CTL_MAGIC, .version = CTL_VERSION, .type = CTL_HELLO,
			     .len = sizeof(h), .seq = 3 };
	const struct ctl_reply *r = raw_roundtrip(fd, &h, sizeof(h), rbuf);

	ck_assert_int_eq(r->status, 0);
	close(fd);
}
END_TEST

/* A type with the reply and part bits is answered as type 0: its type echoed
 * with CTL_REPLY would read as a part of a streamed reply. */
START_TEST(test_reply_bits_answered_as_type_0)
{
	int fd = client();
	struct ctl_hdr h = { .magic = CTL_MAGIC, .version = CTL_VERSION,
			     .type = CTL_STATS | CTL_REPLY | CTL_PART, .len = sizeof(h), .seq = 11 };
	const struct ctl_reply *r = raw_roundtrip(fd, &h, sizeof(h), rbuf);

	ck_assert_int_eq(r->status, -EOPNOTSUPP);
	ck_assert_uint_eq(r->h.type, CTL_REPLY);
	ck_assert_uint_eq(r->h.seq, 11);
	ck_assert_uint_eq(r->h.len, sizeof(*r) + r->body_len);
	h.version = 9; /* the version error too */
	r = raw_roundtrip(fd, &h, sizeof(h), rbuf);
	ck_assert_int_eq(r->status, -EPROTONOSUPPORT);
	ck_assert_uint_eq(r->h.type, CTL_REPLY);
	close(fd);
}
END_TEST

/* Requests sent back to back by a client that does not read its replies
 * until the server's sends would block: every request gets its reply, in
 * order, none dropped (the one without room waits). */
START_TEST(test_pipelined_replies_never_dropped)
{
	int fd = client();
	struct ctl_server_stats st;
	uint32_t sent = 0, got = 0;

	/* the client writes and the server answers, nobody reads the answers */
	for (int k = 0; k < 400; k++) {
		struct ctl_hdr h = { .magic = CTL_MAGIC, .version = CTL_VERSION, .type = CTL_HELLO,
				     .len = sizeof(h), .seq = sent };

		if (send(fd, &h, sizeof(h), MSG_DONTWAIT) != (ssize_t)sizeof(h))
			break;
		sent++;
		ctl_server_poll(srv, 0);
	}
	ck_assert_uint_gt(sent, 100);
	/* then every answer is read, in order */
	for (int k = 0; k < 5000 && got < sent; k++) {
		const struct ctl_reply *r = (const struct ctl_reply *)rbuf;
		ssize_t n = recv(fd, rbuf, CTL_MAX_MSG, MSG_DONTWAIT);

		if (n < 0) {
			ctl_server_poll(srv, 1);
			continue;
		}
		ck_assert_int_ge(n, (ssize_t)sizeof(*r));
		ck_assert_int_eq(r->status, 0);
		ck_assert_uint_eq(r->h.seq, got);
		got++;
	}
	ck_assert_uint_eq(got, sent);
	ctl_server_get_stats(srv, &st);
	ck_assert_uint_eq(st.send_errors, 0);
	ck_assert_uint_eq(st.requests, sent);
	close(fd);
}
END_TEST

START_TEST(test_client_reports_missing_daemon)
{
	char err[256] = "";

	ck_assert_int_lt(ctl_connect("/tmp/isthmus-ut-nonexistent/dp.sock", err, sizeof(err)), 0);
	ck_assert_msg(strstr(err, "isthmus-dp is not running") != NULL, "%s", err);
}
END_TEST

Suite *test_suite(void)
{
	Suite *s = suite_create("ctl_server");
	TCase *tc = tcase_create("robustness");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_hello);
	tcase_add_test(tc, test_empty_datagram_closes_connection);
	tcase_add_test(tc, test_garbage_then_good);
	tcase_add_test(tc, test_oversized);
	tcase_add_test(tc, test_version_type_length);
	tcase_add_test(tc, test_too_many_clients_and_hangups);
	tcase_add_test(tc, test_reply_bits_answered_as_type_0);
	tcase_add_test(tc, test_pipelined_replies_never_dropped);
	tcase_add_test(tc, test_client_reports_missing_daemon);
	suite_add_tcase(s, tc);
	return s;
}
