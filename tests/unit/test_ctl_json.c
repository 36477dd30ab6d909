/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_ctl_json.c: names of any characters survive the daemons' JSON. Strings
 * with quotes, backslashes, every control character, DEL, non-ASCII UTF-8 and
 * bytes that are not UTF-8 at all go through the helpers isthmus-dp and
 * isthmusd write every reply with (ctl/ctl_json.c: ctl_json_str, ctl_out_json
 * into a reply of the real control socket server, ctl_json_elem into a
 * streamed list), and come back byte for byte through the parser isthmusctl
 * reads replies with (ctl_reply_json, json-c). The text on the wire holds no
 * raw control character (RFC 8259 section 7), and valid UTF-8 input makes a
 * reply that json-c's strict parser, checking UTF-8, accepts.
 */
#include "check_main.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <json-c/json.h>

#include "ctl_client.h"
#include "ctl_json.h"
#include "ctl_server.h"

/* Each a name a reply may carry: a config identity, a segment, a message. */
static const char *const odd[] = {
	"plain",
	"",
	"we\"b",
	"back\\slash\\",
	"\\\"",
	"sl/ash</script>",
	"tab\there\nnew\rline\b\f",
	("\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19"
	 "\x1a\x1b\x1c\x1d\x1e\x1f"), /* every control character: one string */
	"del\x7f",
	"caf\xc3\xa9 \xe4\xb8\xad \xf0\x9f\x98\x80",    /* é 中 😀 (2, 3 and 4 bytes) */
	"\xe2\x80\xa8line\xe2\x80\xa9sep",              /* U+2028, U+2029 */
	"{\"json\": [\"inside\", 1]}",
	"\\u0000 is text here",
};

/* Bytes that are not UTF-8: a lone continuation, a truncated sequence, 0xff. */
static const char not_utf8[] = "bad\x80\xc3(\xff\xfe end";

/* Every byte from 1 to 255 once. */
static char all_bytes[256];

static void fill_all_bytes(void)
{
	for (int i = 1; i < 256; i++)
		all_bytes[i - 1] = (char)i;
	all_bytes[255] = '\0';
}

/* RFC 8259 section 7: inside a string, characters below U+0020 must be
 * escaped (between tokens, tab, line feed and carriage return are whitespace). */
static void assert_no_raw_control(const char *s, size_t len)
{
	bool in_string = false;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (in_string) {
			ck_assert_msg(c >= 0x20, "raw control byte 0x%02x in a string at %zu", c, i);
			if (c == '\\')
				i++; /* the escaped character, whatever it is */
			else if (c == '"')
				in_string = false;
		} else if (c == '"') {
			in_string = true;
		} else {
			ck_assert_msg(c >= 0x20 || c == '\t' || c == '\n' || c == '\r',
				      "control byte 0x%02x between tokens at %zu", c, i);
		}
	}
	ck_assert_msg(!in_string, "unterminated string");
}

/* Parse @p s with json-c's strict parser, UTF-8 checked. */
static struct json_object *parse_strict(const char *s, size_t len)
{
	struct json_tokener *t = json_tokener_new();
	struct json_object *j;

	ck_assert_ptr_nonnull(t);
	json_tokener_set_flags(t, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	j = json_tokener_parse_ex(t, s, (int)len);
	ck_assert_msg(json_tokener_get_error(t) == json_tokener_success, "strict parse: %s: %.*s",
		      json_tokener_error_desc(json_tokener_get_error(t)), (int)len, s);
	json_tokener_free(t);
	return j;
}

static void assert_string(struct json_object *o, const char *key, const char *want)
{
	struct json_object *v;

	ck_assert_msg(json_object_object_get_ex(o, key, &v), "no key %s", key);
	ck_assert(json_object_is_type(v, json_type_string));
	ck_assert_int_eq(json_object_get_string_len(v), (int)strlen(want));
	ck_assert_int_eq(memcmp(json_object_get_string(v), want, strlen(want)), 0);
}

/* --- the control socket: a handler answers with the names as JSON --- */

static char path[108];
static struct ctl_server *srv;
static uint8_t rbuf[CTL_MAX_MSG + 1] __attribute__((aligned(8)));
static const char *reply_name; /* what the handler puts in "name" */

static int handler(void *ctx, const struct ctl_hdr *req, struct ctl_out *out)
{
	struct json_object *j = json_object_new_object(), *list = json_object_new_array();

	(void)ctx;
	(void)req;
	ctl_json_str(j, "name", reply_name);
	for (size_t i = 0; list && i < sizeof(odd) / sizeof(odd[0]); i++)
		json_object_array_add(list, json_object_new_string(odd[i]));
	if (j)
		json_object_object_add(j, "odd", list);
	return ctl_out_json(out, j);
}

static void setup(void)
{
	char err[256];

	fill_all_bytes();
	snprintf(path, sizeof(path), "/tmp/isthmus-json-%d/dp.sock", (int)getpid());
	srv = ctl_server_open(path, handler, NULL, err, sizeof(err));
	ck_assert_msg(srv != NULL, "open: %s", err);
}

static void teardown(void)
{
	char dir[108];

	ctl_server_close(srv);
	snprintf(dir, sizeof(dir), "/tmp/isthmus-json-%d", (int)getpid());
	rmdir(dir);
}

/* One request on a new connection; the reply as the client receives it. */
static const struct ctl_reply *ask(void)
{
	struct ctl_hdr h = { .magic = CTL_MAGIC, .version = CTL_VERSION, .type = CTL_STATS,
			     .len = sizeof(h), .seq = 1 };
	char err[256];
	ssize_t n = -1;
	int fd = ctl_connect(path, err, sizeof(err));

	ck_assert_msg(fd >= 0, "connect: %s", err);
	ctl_server_poll(srv, 0); /* accept */
	ck_assert_int_eq(send(fd, &h, sizeof(h), 0), (ssize_t)sizeof(h));
	for (int i = 0; i < 50 && n < 0; i++) {
		ctl_server_poll(srv, 10);
		n = recv(fd, rbuf, CTL_MAX_MSG, MSG_DONTWAIT);
	}
	close(fd);
	ck_assert_int_ge(n, (ssize_t)sizeof(struct ctl_reply));
	rbuf[n] = 0;
	return (const struct ctl_reply *)rbuf;
}

/* Each odd name in a reply of the real server, read back by ctl_reply_json. */
START_TEST(test_reply_roundtrip)
{
	const char *name = odd[_i];
	const struct ctl_reply *r;
	struct json_object *j, *strict, *list;

	reply_name = name;
	r = ask();
	ck_assert_int_eq(r->status, 0);
	assert_no_raw_control(ctl_reply_body(r), r->body_len);
	j = ctl_reply_json(r);
	ck_assert_msg(j != NULL, "ctl_reply_json failed on %.*s", (int)r->body_len,
		      (const char *)ctl_reply_body(r));
	assert_string(j, "name", name);
	ck_assert(json_object_object_get_ex(j, "odd", &list));
	ck_assert_uint_eq(json_object_array_length(list), sizeof(odd) / sizeof(odd[0]));
	for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++)
		ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(list, i)), odd[i]);
	/* all valid UTF-8: a strict, UTF-8 checking parser takes it too */
	strict = parse_strict(ctl_reply_body(r), r->body_len);
	assert_string(strict, "name", name);
	json_object_put(strict);
	json_object_put(j);
}
END_TEST

/* Bytes 1..255 and bytes that are not UTF-8: escaped where they must be, and
 * back byte for byte through the parser isthmusctl uses. */
START_TEST(test_reply_any_bytes)
{
	const char *const names[] = { all_bytes, not_utf8 };

	for (size_t k = 0; k < 2; k++) {
		const struct ctl_reply *r;
		struct json_object *j;

		reply_name = names[k];
		r = ask();
		ck_assert_int_eq(r->status, 0);
		assert_no_raw_control(ctl_reply_body(r), r->body_len);
		j = ctl_reply_json(r);
		ck_assert_ptr_nonnull(j);
		assert_string(j, "name", names[k]);
		json_object_put(j);
	}
}
END_TEST

/* What json-c writes for the characters RFC 8259 section 7 names. */
START_TEST(test_escapes_on_the_wire)
{
	struct json_object *j = json_object_new_object();
	const char *s;
	size_t len;

	ctl_json_str(j, "n", "q\" b\\ t\t n\n c\x01 d\x1f");
	s = json_object_to_json_string_length(j, CTL_JSON_FLAGS, &len);
	ck_assert_str_eq(s, "{\"n\":\"q\\\" b\\\\ t\\t n\\n c\\u0001 d\\u001f\"}");
	ck_assert_uint_eq(len, strlen(s));
	json_object_put(j);
}
END_TEST

/* A streamed list (fdb.c, l2guard.c, ctl_dp.c write theirs so): elements
 * with the separators, wrapped in [ ], parse back to the same strings. */
START_TEST(test_streamed_list)
{
	char *buf = NULL;
	size_t size = 0, n = 0, count = sizeof(odd) / sizeof(odd[0]);
	FILE *f = open_memstream(&buf, &size);
	bool first = true;
	struct json_object *list;

	fill_all_bytes();
	ck_assert_ptr_nonnull(f);
	n += (size_t)fprintf(f, "[");
	for (size_t i = 0; i < count; i++) {
		struct json_object *e = json_object_new_object();

		ctl_json_str(e, "segment", odd[i]);
		n += ctl_json_elem(f, &first, ",\n    ", e);
	}
	n += ctl_json_elem(f, &first, ",", json_object_new_string(all_bytes));
	n += (size_t)fprintf(f, "]");
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_uint_eq(n, size); /* ctl_json_elem counts what it wrote */
	assert_no_raw_control(buf, size);
	list = json_tokener_parse(buf);
	ck_assert_msg(list != NULL, "list does not parse: %s", buf);
	ck_assert_uint_eq(json_object_array_length(list), count + 1);
	for (size_t i = 0; i < count; i++)
		assert_string(json_object_array_get_idx(list, i), "segment", odd[i]);
	ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(list, count)), all_bytes);
	json_object_put(list);
	free(buf);
}
END_TEST

Suite *test_suite(void)
{
	Suite *s = suite_create("ctl_json");
	TCase *tc = tcase_create("escaping");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_reply_roundtrip, 0, sizeof(odd) / sizeof(odd[0]));
	tcase_add_test(tc, test_reply_any_bytes);
	tcase_add_test(tc, test_escapes_on_the_wire);
	tcase_add_test(tc, test_streamed_list);
	suite_add_tcase(s, tc);
	return s;
}
