/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_perftest.c: the parameters of isthmusctl perftest (ctl/perftest_spec.c),
 * checked the same way by isthmusctl and isthmus-dp: frame-size lists,
 * durations, and a START request's bounds.
 */
#include "check_main.h"

#include <string.h>

#include "perftest_spec.h"

static int sizes(const char *s, uint16_t out[CTL_PERFTEST_SIZES])
{
	char err[160];

	memset(out, 0, CTL_PERFTEST_SIZES * sizeof(*out));
	return perftest_parse_sizes(s, out, err, sizeof(err));
}

START_TEST(test_sizes)
{
	uint16_t v[CTL_PERFTEST_SIZES];
	char err[160];

	ck_assert_int_eq(sizes("64,512,1400", v), 3);
	ck_assert_uint_eq(v[0], 64);
	ck_assert_uint_eq(v[1], 512);
	ck_assert_uint_eq(v[2], 1400);
	ck_assert_int_eq(sizes("1514", v), 1);
	ck_assert_int_eq(sizes("64,100,200,300,400,500,600,700", v), 8);
	/* too many, repeated, out of range, not numbers, empty parts */
	ck_assert_int_eq(perftest_parse_sizes("64,100,200,300,400,500,600,700,800", v, err,
					      sizeof(err)), -1);
	ck_assert_msg(strstr(err, "more than 8") != NULL, "%s", err);
	ck_assert_int_eq(perftest_parse_sizes("64,64", v, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "twice") != NULL, "%s", err);
	ck_assert_int_eq(perftest_parse_sizes("63", v, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "out of range") != NULL, "%s", err);
	ck_assert_int_eq(sizes("1515", v), -1);
	ck_assert_int_eq(sizes("", v), -1);
	ck_assert_int_eq(sizes("64,", v), -1);
	ck_assert_int_eq(sizes(",64", v), -1);
	ck_assert_int_eq(sizes("64;512", v), -1);
	ck_assert_int_eq(sizes("-64", v), -1);
	ck_assert_int_eq(sizes("+64", v), -1);
	ck_assert_int_eq(sizes("64 ", v), -1);
	ck_assert_int_eq(sizes("99999999999999999999999", v), -1);
	ck_assert_int_eq(perftest_parse_sizes(NULL, v, err, sizeof(err)), -1);
}
END_TEST

START_TEST(test_duration)
{
	ck_assert_uint_eq(perftest_parse_duration("3"), 3000);
	ck_assert_uint_eq(perftest_parse_duration("3s"), 3000);
	ck_assert_uint_eq(perftest_parse_duration("500ms"), 500);
	ck_assert_uint_eq(perftest_parse_duration("1m"), 60000);
	ck_assert_uint_eq(perftest_parse_duration("100ms"), 100);
	ck_assert_uint_eq(perftest_parse_duration("60"), 60000);
	/* out of range or not a duration: 0 */
	ck_assert_uint_eq(perftest_parse_duration("99ms"), 0);
	ck_assert_uint_eq(perftest_parse_duration("61"), 0);
	ck_assert_uint_eq(perftest_parse_duration("2m"), 0);
	ck_assert_uint_eq(perftest_parse_duration("0"), 0);
	ck_assert_uint_eq(perftest_parse_duration("3h"), 0);
	ck_assert_uint_eq(perftest_parse_duration("s"), 0);
	ck_assert_uint_eq(perftest_parse_duration("-3"), 0);
	ck_assert_uint_eq(perftest_parse_duration("4294967296"), 0);
	ck_assert_uint_eq(perftest_parse_duration(NULL), 0);
}
END_TEST

START_TEST(test_check)
{
	struct ctl_perftest m = { .duration_ms = 1000, .probes = 20, .nb_sizes = 2,
				  .sizes = { 64, 1400 } };
	struct ctl_perftest b;
	char err[160];

	ck_assert_int_eq(perftest_check(&m, err, sizeof(err)), 0);
	b = m;
	b.nb_sizes = 0;
	ck_assert_int_eq(perftest_check(&b, err, sizeof(err)), -1);
	b.nb_sizes = CTL_PERFTEST_SIZES + 1;
	ck_assert_int_eq(perftest_check(&b, err, sizeof(err)), -1);
	b = m;
	b.sizes[1] = 64;
	ck_assert_int_eq(perftest_check(&b, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "twice") != NULL, "%s", err);
	b.sizes[1] = 40;
	ck_assert_int_eq(perftest_check(&b, err, sizeof(err)), -1);
	b = m;
	b.duration_ms = 99;
	ck_assert_int_eq(perftest_check(&b, err, sizeof(err)), -1);
	b.duration_ms = CTL_PERFTEST_MAX_DURATION_MS + 1;
	ck_assert_int_eq(perftest_check(&b, err, sizeof(err)), -1);
	b = m;
	b.probes = CTL_PERFTEST_MAX_PROBES + 1;
	ck_assert_int_eq(perftest_check(&b, err, sizeof(err)), -1);
	b = m;
	b.rate_mbps = PERFTEST_RATE_CEILING + 1;
	ck_assert_int_eq(perftest_check(&b, err, sizeof(err)), -1);
	b.rate_mbps = PERFTEST_RATE_CEILING;
	ck_assert_int_eq(perftest_check(&b, err, sizeof(err)), 0);
}
END_TEST

Suite *test_suite(void)
{
	Suite *s = suite_create("perftest");
	TCase *tc = tcase_create("perftest");

	tcase_add_test(tc, test_sizes);
	tcase_add_test(tc, test_duration);
	tcase_add_test(tc, test_check);
	suite_add_tcase(s, tc);
	return s;
}
