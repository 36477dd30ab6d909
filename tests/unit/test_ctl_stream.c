/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_ctl_stream.c: streamed replies on the control protocol
 * (docs/control-protocol.md, "Streamed replies"), server and client both
 * real, over real unix SOCK_SEQPACKET sockets: a reply of several MB arrives
 * whole and in order; a body that fits one message still goes as one; the
 * server sends a bounded number of parts per poll; a stream cut in the middle
 * (server gone, producer failing) is an error at the client, never a shorter
 * reply; parts out of order, of another request, or past the client's bound
 * are refused by the reassembly.
 */
#include "check_main.h"
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ctl_client.h"
#include "ctl_server.h"

static char path[108];
static struct ctl_server *srv;
static size_t body_total;     /* bytes the streamed replies carry */
static size_t fail_after;     /* SA_LIST: the producer fails after this many */

/* Byte @p j of every streamed body: position-dependent, so a part lost,
 * repeated or misplaced shows. */
static uint8_t pattern(size_t j)
{
	return (uint8_t)('a' + (j * 7 + j / 1000) % 26);
}

struct gen {
	size_t done;
	size_t total;
	size_t fail_at;           /* 0: never */
};

static int gen_step(void *state, struct ctl_out *o)
{
	struct gen *g = state;
	uint8_t chunk[CTL_STREAM_STEP];
	size_t n = g->total - g->done;

	if (g->fail_at && g->done >= g->fail_at)
		return -EIO;
	if (n > sizeof(chunk))
		n = sizeof(chunk);
	for (size_t k = 0; k < n; k++)
		chunk[k] = pattern(g->done + k);
	if (ctl_out_append(o, chunk, n) < 0)
		return -ENOSPC;
	g->done += n;
	return g->done < g->total;
}

static int handler(void *ctx, const struct ctl_hdr *req, struct ctl_out *out)
{
	struct gen *g;

	(void)ctx;
	switch (req->type) {
	case CTL_MACS:      /* body_total bytes, streamed */
	case CTL_STATS:     /* 100 bytes, streamed: fits one message */
	case CTL_SA_LIST:   /* body_total bytes, the producer fails after fail_after */
		g = calloc(1, sizeof(*g));
		g->total = req->type == CTL_STATS ? 100 : body_total;
		g->fail_at = req->type == CTL_SA_LIST ? fail_after : 0;
		ctl_out_stream(out, gen_step, free, g);
		return 0;
	default:
		return -EOPNOTSUPP;
	}
}

static void setup(void)
{
	char err[256];

	snprintf(path, sizeof(path), "/tmp/isthmus-ut-stream-%d/dp.sock", (int)getpid());
	srv = ctl_server_open(path, handler, NULL, err, sizeof(err));
	ck_assert_msg(srv != NULL, "open: %s", err);
	body_total = 0;
	fail_after = 0;
}

static void teardown(void)
{
	char dir[108];

	ctl_server_close(srv);
	srv = NULL;
	snprintf(dir, sizeof(dir), "/tmp/isthmus-ut-stream-%d", (int)getpid());
	rmdir(dir);
}

/* A client in a thread of its own (ctl_call blocks), the server polled here. */
struct call {
	uint16_t type;
	size_t max_body;          /* 0: ctl_call into a fixed CTL_MAX_MSG + 1 buffer */
	int fd;
	struct ctl_reply *r;      /* ctl_call_alloc's */
	const struct ctl_reply *fixed_r;
	char err[256];
	volatile int done;
	pthread_t th;
};

static uint8_t fixed_buf[CTL_MAX_MSG + 1] __attribute__((aligned(8)));

static void *call_thread(void *arg)
{
	struct call *c = arg;
	struct ctl_hdr h = { .type = c->type };

	if (c->max_body)
		c->r = ctl_call_alloc(c->fd, &h, sizeof(h), c->max_body, 5000, c->err, sizeof(c->err));
	else
		c->fixed_r = ctl_call(c->fd, &h, sizeof(h), fixed_buf, sizeof(fixed_buf), 5000, c->err,
				      sizeof(c->err));
	c->done = 1;
	return NULL;
}

static void call_start(struct call *c, uint16_t type, size_t max_body)
{
	char err[256];

	memset(c, 0, sizeof(*c));
	c->type = type;
	c->max_body = max_body;
	c->fd = ctl_connect(path, err, sizeof(err));
	ck_assert_msg(c->fd >= 0, "connect: %s", err);
	ck_assert_int_eq(pthread_create(&c->th, NULL, call_thread, c), 0);
}

/* Poll the server until the client is done (bounded: 20 s). */
static void call_finish(struct call *c)
{
	for (int i = 0; i < 20000 && !c->done; i++)
		if (srv)
			ctl_server_poll(srv, 1);
		else
			usleep(1000);
	ck_assert_msg(c->done, "the client is still waiting after 20 s");
	pthread_join(c->th, NULL);
	close(c->fd);
}

static void check_body(const struct ctl_reply *r, size_t total)
{
	const uint8_t *b = ctl_reply_body(r);

	ck_assert_uint_eq(r->body_len, total);
	ck_assert_uint_eq(r->h.len, sizeof(*r) + total);
	for (size_t j = 0; j < total; j++)
		if (b[j] != pattern(j))
			ck_abort_msg("body byte %zu is %#x, not %#x", j, b[j], pattern(j));
	ck_assert_uint_eq(b[total], 0); /* NUL-terminated */
}

START_TEST(test_big_reply_reassembled)
{
	struct ctl_server_stats st;
	struct call c;
	size_t parts;

	body_total = 5 * 1024 * 1024 + 123;
	call_start(&c, CTL_MACS, CTL_STREAM_MAX);
	call_finish(&c);
	ck_assert_msg(c.r != NULL, "%s", c.err);
	ck_assert_int_eq(c.r->status, 0);
	ck_assert_uint_eq(c.r->h.type, CTL_MACS | CTL_REPLY);
	check_body(c.r, body_total);
	ctl_server_get_stats(srv, &st);
	parts = (body_total + CTL_PART_PAYLOAD_MAX - 1) / CTL_PART_PAYLOAD_MAX;
	ck_assert_uint_eq(st.streams, 1);
	ck_assert_uint_eq(st.parts, parts);
	ck_assert_uint_eq(st.streams_aborted, 0);
	ctl_reply_free(c.r);
}
END_TEST

/* A streamed body that fits one message goes as one message, as any client
 * (one before streamed replies) expects; and one just too long for a message
 * goes in two parts. */
START_TEST(test_small_stream_is_one_message)
{
	struct ctl_server_stats st;
	struct call c;

	call_start(&c, CTL_STATS, CTL_STREAM_MAX);
	call_finish(&c);
	ck_assert_msg(c.r != NULL, "%s", c.err);
	check_body(c.r, 100);
	ctl_server_get_stats(srv, &st);
	ck_assert_uint_eq(st.streams, 0);
	ck_assert_uint_eq(st.parts, 0);
	ctl_reply_free(c.r);

	body_total = CTL_SINGLE_BODY_MAX;
	call_start(&c, CTL_MACS, 0); /* exactly fills one message: a fixed buffer takes it */
	call_finish(&c);
	ck_assert_msg(c.fixed_r != NULL, "%s", c.err);
	check_body(c.fixed_r, body_total);
	ctl_server_get_stats(srv, &st);
	ck_assert_uint_eq(st.streams, 0);

	body_total = CTL_SINGLE_BODY_MAX + 1;
	call_start(&c, CTL_MACS, CTL_STREAM_MAX);
	call_finish(&c);
	ck_assert_msg(c.r != NULL, "%s", c.err);
	check_body(c.r, body_total);
	ctl_server_get_stats(srv, &st);
	ck_assert_uint_eq(st.streams, 1);
	ck_assert_uint_eq(st.parts, 2);
	ctl_reply_free(c.r);
}
END_TEST

/* The server sends at most CTL_PARTS_PER_POLL parts per poll, in order,
 * each with its index and byte offset, the last without CTL_PART_MORE. */
START_TEST(test_parts_on_the_wire)
{
	static uint8_t m[CTL_MAX_MSG];
	struct ctl_hdr h = { .magic = CTL_MAGIC, .version = CTL_VERSION, .type = CTL_MACS,
			     .len = sizeof(h), .seq = 77 };
	const struct ctl_part *p = (const struct ctl_part *)m;
	char err[256];
	int fd = ctl_connect(path, err, sizeof(err));
	uint32_t index = 0;
	uint64_t offset = 0;
	int last = 0;

	ck_assert_msg(fd >= 0, "%s", err);
	body_total = 1024 * 1024;
	ctl_server_poll(srv, 0); /* accept */
	ck_assert_int_eq(send(fd, &h, sizeof(h), 0), (ssize_t)sizeof(h));
	for (int turn = 0; turn < 100 && !last; turn++) {
		int got = 0;

		ctl_server_poll(srv, 0);
		for (;;) {
			ssize_t n = recv(fd, m, sizeof(m), MSG_DONTWAIT);

			if (n < 0)
				break;
			got++;
			ck_assert_uint_ge((size_t)n, sizeof(*p));
			ck_assert_uint_eq(p->r.h.type, CTL_MACS | CTL_REPLY | CTL_PART);
			ck_assert_uint_eq(p->r.h.seq, 77);
			ck_assert_uint_eq(p->r.h.len, (size_t)n);
			ck_assert_uint_eq(sizeof(*p) + p->r.body_len, (size_t)n);
			ck_assert_int_eq(p->r.status, 0);
			ck_assert_uint_eq(p->index, index);
			ck_assert_uint_eq(p->offset, offset);
			for (uint32_t k = 0; k < p->r.body_len; k++)
				if (((const uint8_t *)(p + 1))[k] != pattern(offset + k))
					ck_abort_msg("part %u byte %u is wrong", index, k);
			index++;
			offset += p->r.body_len;
			last = !(p->flags & CTL_PART_MORE);
		}
		ck_assert_int_le(got, CTL_PARTS_PER_POLL);
	}
	ck_assert_msg(last, "no last part after 100 polls");
	ck_assert_uint_eq(offset, body_total);
	ck_assert_uint_eq(index, (body_total + CTL_PART_PAYLOAD_MAX - 1) / CTL_PART_PAYLOAD_MAX);
	close(fd);
}
END_TEST

/* The server goes away in the middle of a reply: the client says so. */
START_TEST(test_stream_cut_detected)
{
	struct ctl_server_stats st;
	struct call c;

	body_total = 1024 * 1024;
	call_start(&c, CTL_MACS, CTL_STREAM_MAX);
	for (int i = 0; i < 5000; i++) {
		ctl_server_poll(srv, 1);
		ctl_server_get_stats(srv, &st);
		if (st.parts >= 3)
			break;
	}
	ck_assert_uint_ge(st.parts, 3);
	ctl_server_close(srv);
	srv = NULL;
	call_finish(&c);
	ck_assert(c.r == NULL);
	ck_assert_msg(strstr(c.err, "middle of a streamed reply") != NULL, "%s", c.err);
}
END_TEST

/* The producer fails half-way: the reply is that error, not what came before. */
START_TEST(test_producer_error_ends_reply)
{
	struct ctl_server_stats st;
	struct call c;

	body_total = 2 * 1024 * 1024;
	fail_after = 300 * 1024;
	call_start(&c, CTL_SA_LIST, CTL_STREAM_MAX);
	call_finish(&c);
	ck_assert_msg(c.r != NULL, "%s", c.err);
	ck_assert_int_eq(c.r->status, -EIO);
	ck_assert_msg(strstr(ctl_reply_body(c.r), "reply abandoned") != NULL, "%s",
		      (const char *)ctl_reply_body(c.r));
	ctl_server_get_stats(srv, &st);
	ck_assert_uint_eq(st.streams_aborted, 1);
	ctl_reply_free(c.r);
}
END_TEST

/* A reply longer than the client takes is refused, by both kinds of call;
 * the server notices the client gone and drops the rest. */
START_TEST(test_oversize_refused)
{
	struct ctl_server_stats st;
	struct call c;
	char want[64];

	body_total = 1024 * 1024;
	call_start(&c, CTL_MACS, 0); /* fixed buffer of one message */
	call_finish(&c);
	ck_assert(c.fixed_r == NULL);
	snprintf(want, sizeof(want), "larger than %zu bytes",
		 sizeof(fixed_buf) - sizeof(struct ctl_reply) - 1);
	ck_assert_msg(strstr(c.err, want) != NULL, "%s", c.err);

	call_start(&c, CTL_MACS, 100000);
	call_finish(&c);
	ck_assert(c.r == NULL);
	ck_assert_msg(strstr(c.err, "larger than 100000 bytes") != NULL, "%s", c.err);
	for (int i = 0; i < 100; i++)
		ctl_server_poll(srv, 1);
	ctl_server_get_stats(srv, &st);
	ck_assert_uint_eq(st.streams_aborted, 2);
}
END_TEST

/* Craft a part of the reply to (CTL_MACS, seq) in @p m. @return its length */
static size_t part(uint8_t *m, uint32_t seq, uint32_t index, uint64_t offset, int more,
		   int32_t status, const char *payload)
{
	struct ctl_part *p = (struct ctl_part *)m;
	size_t n = strlen(payload);

	memset(p, 0, sizeof(*p));
	p->r.h = (struct ctl_hdr){ .magic = CTL_MAGIC, .version = CTL_VERSION,
				   .type = CTL_MACS | CTL_REPLY | CTL_PART,
				   .len = (uint32_t)(sizeof(*p) + n), .seq = seq };
	p->r.status = status;
	p->r.body_len = (uint32_t)n;
	p->index = index;
	p->flags = more ? CTL_PART_MORE : 0;
	p->offset = offset;
	memcpy(p + 1, payload, n);
	return sizeof(*p) + n;
}

START_TEST(test_reasm_refuses)
{
	static uint8_t m[512] __attribute__((aligned(8)));
	struct ctl_reasm a;
	char err[256];
	size_t n;

	/* in order, with a message of an earlier request in between: skipped */
	ctl_reasm_init(&a, CTL_MACS, 5, NULL, 0, 1000);
	n = part(m, 5, 0, 0, 1, 0, "hello ");
	ck_assert_int_eq(ctl_reasm_feed(&a, m, n, err, sizeof(err)), CTL_REASM_MORE);
	n = part(m, 4, 1, 6, 1, 0, "STALE");
	ck_assert_int_eq(ctl_reasm_feed(&a, m, n, err, sizeof(err)), CTL_REASM_STALE);
	n = part(m, 5, 1, 6, 0, 0, "world");
	ck_assert_int_eq(ctl_reasm_feed(&a, m, n, err, sizeof(err)), CTL_REASM_DONE);
	ck_assert_str_eq(ctl_reply_body(ctl_reasm_reply(&a)), "hello world");
	ck_assert_uint_eq(ctl_reasm_reply(&a)->body_len, 11);
	ck_assert_uint_eq(ctl_reasm_reply(&a)->h.type, CTL_MACS | CTL_REPLY);
	ck_assert_uint_eq(a.stale, 1);
	ctl_reasm_free(&a);

	/* a part missing */
	ctl_reasm_init(&a, CTL_MACS, 5, NULL, 0, 1000);
	n = part(m, 5, 0, 0, 1, 0, "abc");
	ck_assert_int_eq(ctl_reasm_feed(&a, m, n, err, sizeof(err)), CTL_REASM_MORE);
	n = part(m, 5, 2, 3, 0, 0, "def");
	ck_assert_int_eq(ctl_reasm_feed(&a, m, n, err, sizeof(err)), -EPROTO);
	ck_assert_msg(strstr(err, "out of order") != NULL, "%s", err);
	ctl_reasm_free(&a);

	/* the first part is not part 0 */
	ctl_reasm_init(&a, CTL_MACS, 5, NULL, 0, 1000);
	n = part(m, 5, 1, 0, 0, 0, "abc");
	ck_assert_int_eq(ctl_reasm_feed(&a, m, n, err, sizeof(err)), -EPROTO);
	ctl_reasm_free(&a);

	/* the right index at the wrong offset (bytes lost or repeated) */
	ctl_reasm_init(&a, CTL_MACS, 5, NULL, 0, 1000);
	n = part(m, 5, 0, 0, 1, 0, "abc");
	ck_assert_int_eq(ctl_reasm_feed(&a, m, n, err, sizeof(err)), CTL_REASM_MORE);
	n = part(m, 5, 1, 2, 0, 0, "def");
	ck_assert_int_eq(ctl_reasm_feed(&a, m, n, err, sizeof(err)), -EPROTO);
	ctl_reasm_free(&a);

	/* a one-message reply in the middle of a stream */
	ctl_reasm_init(&a, CTL_MACS, 5, NULL, 0, 1000);
	n = part(m, 5, 0, 0, 1, 0, "abc");
	ck_assert_int_eq(ctl_reasm_feed(&a, m, n, err, sizeof(err)), CTL_REASM_MORE);
	{
		struct ctl_reply *r = (struct ctl_reply *)m;

		r->h.type = CTL_MACS | CTL_REPLY;
		r->h.len = sizeof(*r) + 2;
		r->status = 0;
		r->body_len = 2;
		ck_assert_int_eq(ctl_reasm_feed(&a, m, r->h.len, err, sizeof(err)), -EPROTO);
	}
	ctl_reasm_free(&a);

	/* longer than the bound */
	ctl_reasm_init(&a, CTL_MACS, 5, NULL, 0, 8);
	n = part(m, 5, 0, 0, 1, 0, "12345");
	ck_assert_int_eq(ctl_reasm_feed(&a, m, n, err, sizeof(err)), CTL_REASM_MORE);
	n = part(m, 5, 1, 5, 0, 0, "6789");
	ck_assert_int_eq(ctl_reasm_feed(&a, m, n, err, sizeof(err)), -EMSGSIZE);
	ctl_reasm_free(&a);

	/* an error part ends the reply, what came before is gone */
	ctl_reasm_init(&a, CTL_MACS, 5, NULL, 0, 1000);
	n = part(m, 5, 0, 0, 1, 0, "partial");
	ck_assert_int_eq(ctl_reasm_feed(&a, m, n, err, sizeof(err)), CTL_REASM_MORE);
	n = part(m, 5, 1, 7, 0, -EIO, "failed");
	ck_assert_int_eq(ctl_reasm_feed(&a, m, n, err, sizeof(err)), CTL_REASM_DONE);
	ck_assert_int_eq(ctl_reasm_reply(&a)->status, -EIO);
	ck_assert_str_eq(ctl_reply_body(ctl_reasm_reply(&a)), "failed");
	ctl_reasm_free(&a);

	/* an error part that announces more */
	ctl_reasm_init(&a, CTL_MACS, 5, NULL, 0, 1000);
	n = part(m, 5, 0, 0, 1, -EIO, "failed");
	ck_assert_int_eq(ctl_reasm_feed(&a, m, n, err, sizeof(err)), -EPROTO);
	ctl_reasm_free(&a);

	/* a part of a reply to another type; a length that lies; bad magic */
	ctl_reasm_init(&a, CTL_STATS, 5, NULL, 0, 1000);
	n = part(m, 5, 0, 0, 0, 0, "abc");
	ck_assert_int_eq(ctl_reasm_feed(&a, m, n, err, sizeof(err)), -EPROTO);
	ctl_reasm_free(&a);
	ctl_reasm_init(&a, CTL_MACS, 5, NULL, 0, 1000);
	n = part(m, 5, 0, 0, 0, 0, "abc");
	ck_assert_int_eq(ctl_reasm_feed(&a, m, n - 1, err, sizeof(err)), -EBADMSG);
	((struct ctl_part *)m)->r.body_len = 2;
	ck_assert_int_eq(ctl_reasm_feed(&a, m, n, err, sizeof(err)), -EBADMSG);
	((struct ctl_part *)m)->r.h.magic = 0;
	ck_assert_int_eq(ctl_reasm_feed(&a, m, n, err, sizeof(err)), -EBADMSG);
	ctl_reasm_free(&a);
}
END_TEST

Suite *test_suite(void)
{
	Suite *s = suite_create("ctl_stream");
	TCase *tc = tcase_create("streamed replies");

	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_big_reply_reassembled);
	tcase_add_test(tc, test_small_stream_is_one_message);
	tcase_add_test(tc, test_parts_on_the_wire);
	tcase_add_test(tc, test_stream_cut_detected);
	tcase_add_test(tc, test_producer_error_ends_reply);
	tcase_add_test(tc, test_oversize_refused);
	tcase_add_test(tc, test_reasm_refuses);
	suite_add_tcase(s, tc);
	return s;
}
