/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_segstore.c: the agreed segment set (control/segstore.c) and the one
 * parser of segment settings (dataplane/config.c config_segment_spec): the
 * text form and its strict parser, the file written atomically and read back,
 * how the store combines with a configuration file into what a site extends,
 * the dataplane changes between two sets, and validation of settings given as
 * text (the same checks and messages as a [segment] section).
 */
#include "check_main.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "segstore.h"

static char dir[] = "/tmp/isthmus-segstore-XXXXXX";
static char cfg_path[600];

/* Two access ports and a trunk; two segments in the file. */
static const char cfg_text[] =
	"[appliance]\nname = t\n"
	"[uplink]\nport = 0\naddress = 198.18.0.1\npeer = 198.18.0.2\n"
	"local_vtep = 198.19.0.1\npeer_vtep = 198.19.0.2\n"
	"[local web]\nport = 1\n[local db]\nport = 2\n[local lan]\nport = 3\nmode = trunk\n"
	"[segment web]\nlocal = web\nvni = 5101\nmss = 1300\n"
	"[segment lan10]\nlocal = lan\nvlan = 10\nvni = 5110\nstorm_broadcast = 100\n";

static void load_cfg(struct dp_config *c)
{
	char err[512];

	ck_assert_msg(config_load(cfg_path, c, err, sizeof(err)) == 0, "%s", err);
}

static struct seg_entry entry(enum seg_kind kind, uint32_t vni, const char *name, int gw,
			      const char *s0, const char *s1)
{
	struct seg_entry e = { .vni = vni, .kind = kind, .gw_site = gw };

	snprintf(e.name, sizeof(e.name), "%s", name);
	snprintf(e.spec[0], sizeof(e.spec[0]), "%s", s0 ? s0 : "");
	snprintf(e.spec[1], sizeof(e.spec[1]), "%s", s1 ? s1 : "");
	return e;
}

START_TEST(test_entry_roundtrip)
{
	struct seg_entry in[] = {
		entry(SEG_KIND_EXTEND, 5103, "db", SEG_GW_AS_CONFIGURED, "vni=5103 local=db mss=1300",
		      "vni=5103 local=db2"),
		entry(SEG_KIND_EXTEND, 7, "x-1.y", 1, "vni=7 local=db", "vni=7 local=db"),
		entry(SEG_KIND_UNEXTEND, 5101, "web", SEG_GW_AS_CONFIGURED, NULL, NULL),
		entry(SEG_KIND_CUTOVER, 16777215, "lan10", 0, NULL, NULL),
	};
	char line[3000], err[256];

	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		struct seg_entry out;

		ck_assert_int_gt(segstore_entry_format(&in[i], line, sizeof(line)), 0);
		ck_assert_msg(segstore_entry_parse(line, &out, err, sizeof(err)) == 0, "%s: %s", line,
			      err);
		ck_assert_uint_eq(out.vni, in[i].vni);
		ck_assert_int_eq(out.kind, in[i].kind);
		ck_assert_int_eq(out.gw_site, in[i].gw_site);
		ck_assert_str_eq(out.name, in[i].name);
		ck_assert_str_eq(out.spec[0], in[i].spec[0]);
		ck_assert_str_eq(out.spec[1], in[i].spec[1]);
	}
	/* too small a buffer is an error, not a cut line */
	ck_assert_int_eq(segstore_entry_format(&in[0], line, 10), -1);
}
END_TEST

START_TEST(test_entry_refused)
{
	static const char *const bad[] = {
		"",
		"extend 5103 db -",                      /* no settings */
		"extend 5103 db -\tvni=5103",            /* one site only */
		"extend 5103 db -\t\tvni=5103",          /* empty settings */
		"unextend 5101 web -\tvni=5101",         /* settings where none belong */
		"grow 5101 web -",
		"unextend 0 web -",
		"unextend 16777216 web -",
		"unextend 5101 ../x -",
		"unextend 5101 we\"b -",
		"cutover 5101 web 2",
		"cutover 5101 web",
		"cutover 5101 web - extra",
		"extend 5103 db -\tvni=5103\x01\tvni=5103",
	};
	char err[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct seg_entry e;

		err[0] = '\0';
		ck_assert_msg(segstore_entry_parse(bad[i], &e, err, sizeof(err)) == -1,
			      "'%s' accepted", bad[i]);
		ck_assert_msg(err[0], "'%s' refused without a reason", bad[i]);
	}
}
END_TEST

START_TEST(test_store_sorted_and_text)
{
	struct segstore st, back;
	struct seg_entry e;
	char text[SEGSTORE_TEXT_MAX + 1], err[256];
	uint8_t d1[32], d2[32];

	ck_assert_int_eq(segstore_init(&st), 0);
	ck_assert_int_eq(segstore_init(&back), 0);
	st.version = 42;
	e = entry(SEG_KIND_UNEXTEND, 300, "c", -1, NULL, NULL);
	ck_assert_int_eq(segstore_put(&st, &e), 0);
	e = entry(SEG_KIND_UNEXTEND, 100, "a", -1, NULL, NULL);
	ck_assert_int_eq(segstore_put(&st, &e), 0);
	e = entry(SEG_KIND_EXTEND, 200, "b", 0, "vni=200 local=db", "vni=200 local=db");
	ck_assert_int_eq(segstore_put(&st, &e), 0);
	e = entry(SEG_KIND_CUTOVER, 100, "a", 1, NULL, NULL); /* replaces VNI 100's */
	ck_assert_int_eq(segstore_put(&st, &e), 0);
	ck_assert_uint_eq(st.n, 3);
	ck_assert_uint_eq(st.e[0].vni, 100);
	ck_assert_int_eq(st.e[0].kind, SEG_KIND_CUTOVER);
	ck_assert_uint_eq(st.e[1].vni, 200);
	ck_assert_uint_eq(st.e[2].vni, 300);
	ck_assert_ptr_nonnull(segstore_find(&st, 200));
	ck_assert_ptr_null(segstore_find(&st, 201));

	ck_assert_int_gt(segstore_format(&st, text, sizeof(text)), 0);
	ck_assert_msg(segstore_parse(&back, text, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(back.version, 42);
	ck_assert_uint_eq(back.n, 3);
	ck_assert_int_eq(segstore_digest(&st, d1), 0);
	ck_assert_int_eq(segstore_digest(&back, d2), 0);
	ck_assert_mem_eq(d1, d2, 32);

	/* the digest follows the content */
	ck_assert_int_eq(segstore_del(&back, 300), 0);
	ck_assert_int_eq(segstore_del(&back, 300), -1);
	ck_assert_int_eq(segstore_digest(&back, d2), 0);
	ck_assert_mem_ne(d1, d2, 32);

	/* strict: a store that is wrong anywhere is refused whole */
	ck_assert_int_eq(segstore_parse(&back, "isthmus-segments 2\nversion 1\n", err, sizeof(err)), -1);
	ck_assert_int_eq(segstore_parse(&back, "isthmus-segments 1\n", err, sizeof(err)), -1);
	ck_assert_int_eq(segstore_parse(&back, "isthmus-segments 1\nversion -1\n", err, sizeof(err)), -1);
	ck_assert_int_eq(segstore_parse(&back, "isthmus-segments 1\nversion 1\nunextend 5 b -\n"
					"unextend 4 a -\n", err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "line 4"), "the line is named: %s", err);
	ck_assert_int_eq(segstore_parse(&back, "isthmus-segments 1\nversion 1\nunextend 5 b -\n"
					"unextend 5 a -\n", err, sizeof(err)), -1);
	/* and leaves the store as it was */
	ck_assert_uint_eq(back.n, 2);
	segstore_free(&st);
	segstore_free(&back);
}
END_TEST

START_TEST(test_save_load)
{
	struct segstore st, back;
	struct seg_entry e = entry(SEG_KIND_EXTEND, 5103, "db", -1, "vni=5103 local=db",
				   "vni=5103 local=db");
	char path[700], err[1024];
	struct stat sb;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, SEGSTORE_FILE);
	unlink(path);
	ck_assert_int_eq(segstore_init(&st), 0);
	ck_assert_int_eq(segstore_init(&back), 0);
	/* nothing agreed yet: an empty set, version 0 */
	back.version = 9;
	ck_assert_msg(segstore_load(&back, path, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(back.version, 0);
	ck_assert_uint_eq(back.n, 0);

	st.version = 7;
	ck_assert_int_eq(segstore_put(&st, &e), 0);
	ck_assert_msg(segstore_save(&st, path, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 0777, 0600);
	snprintf(err, sizeof(err), "%s.tmp", path);
	ck_assert_msg(access(err, F_OK) != 0, "the temporary file is renamed away");
	ck_assert_msg(segstore_load(&back, path, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(back.version, 7);
	ck_assert_uint_eq(back.n, 1);
	ck_assert_str_eq(back.e[0].spec[1], "vni=5103 local=db");

	/* a damaged file is an error naming it, and the store is kept */
	f = fopen(path, "a");
	ck_assert_ptr_nonnull(f);
	fputs("extend 1 x -\n", f);
	fclose(f);
	ck_assert_int_eq(segstore_load(&back, path, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, path) && strstr(err, "line 4"), "%s", err);
	ck_assert_uint_eq(back.version, 7);

	/* a save that cannot be written leaves the old file alone */
	snprintf(path, sizeof(path), "%s/nosuchdir/%s", dir, SEGSTORE_FILE);
	ck_assert_int_eq(segstore_save(&st, path, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "nosuchdir"), "%s", err);
	segstore_free(&st);
	segstore_free(&back);
}
END_TEST

/* The file's [segment] sections as text parse to what config_load made:
 * one parser for both. */
START_TEST(test_spec_same_as_file)
{
	struct dp_config c;
	char (*specs)[SEGSTORE_SPEC_LEN] = calloc(DP_MAX_SEGMENTS, sizeof(*specs)), err[256];

	load_cfg(&c);
	ck_assert_int_eq(config_segment_texts(&c, specs, err, sizeof(err)), 0);
	ck_assert_str_eq(specs[0], "local=web vni=5101 mss=1300");
	for (uint16_t i = 0; i < c.nb_seg; i++) {
		struct cfg_segment cs;

		ck_assert_msg(config_segment_spec(&c, c.seg[i].name, specs[i], &cs, err,
						  sizeof(err)) == 0, "%s", err);
		ck_assert_msg(config_segment_equal(&cs, &c.seg[i]), "segment %s differs", cs.name);
	}
	free(specs);
	config_free(&c);
}
END_TEST

START_TEST(test_spec_checks)
{
	static const struct { const char *spec, *msg; } bad[] = {
		{ "vni=5103 local=db mss=100", "mss: 100 out of range [536, 9560]" },
		{ "vni=5103 local=db mss=1300 mss=1200", "mss: set twice" },
		{ "vni=5103 local=db colour=blue", "colour: unknown key" },
		{ "vni=5103 local=db mss", "'mss': segment settings are key=value" },
		{ "vni=5103 local=nosuch", "no local port 'nosuch'" },
		{ "local=db", "vni: missing (required)" },
		{ "vni=5103 local=db vlan=20", "access port" },
		{ "vni=5103 local=lan", NULL },       /* a trunk: untagged is the native VLAN */
		{ "vni=5103 local=db storm_burst=10", "no storm_broadcast" },
		{ "vni=5103 local=db pmtu=yes", "needs gateway" },
		{ "vni=5103 local=db local_egress=yes gateway=203.0.113.1", "router_mac" },
	};
	struct dp_config c;
	struct cfg_segment cs;
	char err[256], big[CFG_SPEC_MAX + 10];

	load_cfg(&c);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = config_segment_spec(&c, "db", bad[i].spec, &cs, err, sizeof(err));

		if (!bad[i].msg) {
			ck_assert_msg(rc == 0, "'%s': %s", bad[i].spec, err);
			continue;
		}
		ck_assert_msg(rc == -1, "'%s' accepted", bad[i].spec);
		ck_assert_msg(strstr(err, bad[i].msg), "'%s': '%s' lacks '%s'", bad[i].spec, err,
			      bad[i].msg);
	}
	ck_assert_int_eq(config_segment_spec(&c, "db", "vni=5103 local=db mss=1300 "
					     "storm_broadcast=50 flap_moves=3 aging=60", &cs, err,
					     sizeof(err)), 0);
	ck_assert_uint_eq(cs.vni, 5103);
	ck_assert_uint_eq(cs.local, 1);
	ck_assert_uint_eq(cs.mss, 1300);
	ck_assert_uint_eq(cs.storm_pps[0], 50);
	ck_assert_uint_eq(cs.flap_moves, 3);
	ck_assert_uint_eq(cs.aging_s, 60);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_int_eq(config_segment_spec(&c, "db", big, &cs, err, sizeof(err)), -1);
	ck_assert_int_eq(config_segment_spec(&c, "../x", "vni=1", &cs, err, sizeof(err)), -1);
	config_free(&c);
}
END_TEST

/* What a site extends: the file less what the store unextends, plus what it
 * extends; and the dataplane changes between two such sets. */
START_TEST(test_sets_and_diff)
{
	struct dp_config c;
	struct segstore none, st;
	struct seg_set a, b;
	struct seg_action act[2 * DP_MAX_SEGMENTS];
	char (*specs)[SEGSTORE_SPEC_LEN] = calloc(DP_MAX_SEGMENTS, sizeof(*specs)), err[512];
	struct seg_entry e;
	unsigned n;

	load_cfg(&c);
	ck_assert_int_eq(config_segment_texts(&c, specs, err, sizeof(err)), 0);
	ck_assert_int_eq(segstore_init(&none), 0);
	ck_assert_int_eq(segstore_init(&st), 0);
	ck_assert_int_eq(seg_set_init(&a), 0);
	ck_assert_int_eq(seg_set_init(&b), 0);
	e = entry(SEG_KIND_UNEXTEND, 5110, "lan10", -1, NULL, NULL);
	segstore_put(&st, &e);
	e = entry(SEG_KIND_EXTEND, 5103, "db", -1, "vni=5103 local=db", "vni=5103 local=db9");
	segstore_put(&st, &e);
	e = entry(SEG_KIND_CUTOVER, 5101, "web", 1, NULL, NULL);
	segstore_put(&st, &e);
	ck_assert_int_eq(segstore_conflict(&st, &c, err, sizeof(err)), 0);

	ck_assert_int_eq(seg_set_build(&a, &c, (const char (*)[SEGSTORE_SPEC_LEN])specs, &none, 1), 0);
	ck_assert_int_eq(seg_set_build(&b, &c, (const char (*)[SEGSTORE_SPEC_LEN])specs, &st, 1), 0);
	ck_assert_uint_eq(a.n, 2);
	ck_assert_uint_eq(b.n, 2);
	ck_assert_ptr_null(seg_set_find(&b, 5110));
	ck_assert_str_eq(seg_set_find(&b, 5103)->spec, "vni=5103 local=db9"); /* site 1's */
	ck_assert(seg_set_find(&b, 5101)->cut_here);
	ck_assert_ptr_nonnull(seg_set_find_name(&b, "db"));

	n = seg_set_diff(&a, &b, act);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(act[0].kind, SEG_ACT_DEL);
	ck_assert_uint_eq(act[0].seg->vni, 5110);
	ck_assert_int_eq(act[1].kind, SEG_ACT_APPLY);
	ck_assert_uint_eq(act[1].seg->vni, 5103);
	ck_assert(act[1].added);
	ck_assert_int_eq(act[2].kind, SEG_ACT_CUTOVER);
	ck_assert_uint_eq(act[2].seg->vni, 5101);
	ck_assert_uint_eq(seg_set_diff(&b, &b, act), 0);
	/* and back: db goes, lan10 comes back; a cutover is not undone by a diff */
	n = seg_set_diff(&b, &a, act);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(act[0].kind, SEG_ACT_DEL);
	ck_assert_uint_eq(act[0].seg->vni, 5103);
	ck_assert_uint_eq(act[1].seg->vni, 5110);

	/* the store extends a VNI or a name the file has: a clash, named */
	e = entry(SEG_KIND_EXTEND, 5101, "other", -1, "vni=5101 local=db", "vni=5101 local=db");
	segstore_put(&st, &e);
	ck_assert_int_eq(segstore_conflict(&st, &c, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "[segment web]") && strstr(err, "other"), "%s", err);
	segstore_del(&st, 5101);
	e = entry(SEG_KIND_EXTEND, 9, "web", -1, "vni=9 local=db", "vni=9 local=db");
	segstore_put(&st, &e);
	ck_assert_int_eq(segstore_conflict(&st, &c, err, sizeof(err)), -1);

	seg_set_free(&a);
	seg_set_free(&b);
	segstore_free(&none);
	segstore_free(&st);
	config_free(&c);
	free(specs);
}
END_TEST

START_TEST(test_spec_diff_text)
{
	char out[300];

	ck_assert_str_eq(seg_spec_diff("vni=1 local=a mss=1300", "vni=1 local=a mss=1200 storm_broadcast=5",
				       out, sizeof(out)),
			 "mss 1300 -> 1200, storm_broadcast (default) -> 5");
	ck_assert_str_eq(seg_spec_diff("vni=1 aging=60", "vni=1", out, sizeof(out)),
			 "aging 60 -> (default)");
	ck_assert_str_eq(seg_spec_diff("vni=1", "vni=1", out, sizeof(out)), "");
}
END_TEST

Suite *test_suite(void)
{
	Suite *s = suite_create("segstore");
	TCase *tc = tcase_create("segstore");
	FILE *f;

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return NULL;
	}
	snprintf(cfg_path, sizeof(cfg_path), "%s/t.ini", dir);
	f = fopen(cfg_path, "w");
	if (!f || fputs(cfg_text, f) < 0 || fclose(f) != 0) {
		perror(cfg_path);
		return NULL;
	}
	tcase_add_test(tc, test_entry_roundtrip);
	tcase_add_test(tc, test_entry_refused);
	tcase_add_test(tc, test_store_sorted_and_text);
	tcase_add_test(tc, test_save_load);
	tcase_add_test(tc, test_spec_same_as_file);
	tcase_add_test(tc, test_spec_checks);
	tcase_add_test(tc, test_sets_and_diff);
	tcase_add_test(tc, test_spec_diff_text);
	suite_add_tcase(s, tc);
	return s;
}
