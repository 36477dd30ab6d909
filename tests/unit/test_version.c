/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_version.c: the software version the two sites exchange in the segment
 * agreements' SYNC (ctl/version.c): this build's version goes out and comes
 * back as it was; an older peer's empty body, another format, an overlong or
 * odd version are "unknown", never copied through.
 */
#include "check_main.h"

#include <string.h>

#include "isthmus_version.h"
#include "version.h"

static int from(const char *body, char out[VERSION_MAX])
{
	return version_from_body(body, strlen(body), out);
}

START_TEST(test_roundtrip)
{
	char body[128], out[VERSION_MAX];
	int n = version_body(ISTHMUS_VERSION, body, sizeof(body));

	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(version_from_body(body, (size_t)n, out), 0);
	ck_assert_str_eq(out, ISTHMUS_VERSION);
	ck_assert_int_eq(from("version=1.2.3+git4.gabcdef0.dirty", out), 0);
	ck_assert_str_eq(out, "1.2.3+git4.gabcdef0.dirty");
	ck_assert_int_eq(version_body(ISTHMUS_VERSION, body, 8), -1);
}
END_TEST

START_TEST(test_unknown)
{
	char out[VERSION_MAX], long_body[VERSION_MAX + 16];

	/* a peer from before versions were exchanged: SYNC has no body */
	ck_assert_int_eq(version_from_body(NULL, 0, out), -1);
	ck_assert_str_eq(out, VERSION_UNKNOWN);
	ck_assert_int_eq(version_from_body("", 0, out), -1);
	ck_assert_str_eq(out, VERSION_UNKNOWN);
	ck_assert_int_eq(from("version=", out), -1);
	ck_assert_int_eq(from("release=1.0", out), -1);
	ck_assert_str_eq(out, VERSION_UNKNOWN);
	ck_assert_int_eq(from("version=1.0 rm -rf", out), -1);
	ck_assert_int_eq(from("version=1.0\n", out), -1);
	ck_assert_int_eq(from("version=1.0\x1b[2J", out), -1);
	ck_assert_int_eq(version_from_body("version=1.0\0x", 13, out), -1);
	ck_assert_str_eq(out, VERSION_UNKNOWN);
	/* the longest that fits, and one more */
	memcpy(long_body, "version=", 8);
	memset(long_body + 8, '7', VERSION_MAX - 1);
	ck_assert_int_eq(version_from_body(long_body, 8 + VERSION_MAX - 1, out), 0);
	ck_assert_uint_eq(strlen(out), VERSION_MAX - 1);
	long_body[8 + VERSION_MAX - 1] = '7';
	ck_assert_int_eq(version_from_body(long_body, 8 + VERSION_MAX, out), -1);
	ck_assert_str_eq(out, VERSION_UNKNOWN);
}
END_TEST

Suite *test_suite(void)
{
	Suite *s = suite_create("version");
	TCase *tc = tcase_create("version");

	tcase_add_test(tc, test_roundtrip);
	tcase_add_test(tc, test_unknown);
	suite_add_tcase(s, tc);
	return s;
}
