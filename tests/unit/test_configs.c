/*
 * test_configs.c: the example site configurations (configs/onprem.ini,
 * configs/cloud.ini) parse with the real parsers of both daemons:
 * isthmus-dp's config_load() and isthmusd's ike_config_load(). And they are a
 * consistent pair: mirrored addresses and identities, the same VNIs, frames
 * that fit the underlay, no static test keys.
 *
 * usage: test_configs CONFIG_DIR
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "ike_config.h"

static const char *dir;

struct site {
	struct dp_config dp;
	struct ike_settings ike;
};

static void load(const char *name, struct site *s)
{
	char path[512], err[512];

	snprintf(path, sizeof(path), "%s/%s.ini", dir, name);
	memset(s, 0, sizeof(*s));
	ck_assert_msg(config_load(path, &s->dp, err, sizeof(err)) == 0, "isthmus-dp: %s", err);
	ck_assert_msg(ike_config_load(path, &s->ike, err, sizeof(err)) == 0, "isthmusd: %s", err);
	/* NAME = file name = systemd instance (deploy/systemd/isthmus-dp@.service) */
	ck_assert_str_eq(s->dp.name, name);
	ck_assert_str_eq(s->ike.name, name);
	/* Production examples get their SAs from isthmusd, never from the file. */
	ck_assert_msg(!s->dp.sa_static, "%s: [sa.static] is for tests only", path);
	ck_assert_msg(s->dp.tap[0], "%s: no exception TAP: isthmusd could not speak IKE", path);
	ck_assert_msg(s->dp.nb_seg > 0, "%s: no segment", path);
}

/* ESP-in-UDP + VXLAN overhead at most (docs/config.md, [uplink] mtu). */
#define TUNNEL_OVERHEAD (20 + 8 + 16 + 36 + 5 + 16)

static void check_mtu(const struct site *s)
{
	for (uint16_t i = 0; i < s->dp.nb_local; i++) {
		const struct cfg_local *l = &s->dp.local[i];
		unsigned frame = l->mtu + 14 + (l->mode == CFG_LOCAL_TRUNK ? 4 : 0);

		ck_assert_msg(frame + TUNNEL_OVERHEAD <= s->dp.uplink_mtu,
			      "%s: [local %s] mtu %u: a %u-byte frame does not fit the %u-byte underlay",
			      s->dp.name, l->name, l->mtu, frame, s->dp.uplink_mtu);
	}
}

START_TEST(test_examples_parse_and_pair)
{
	static struct site a, b;

	load("onprem", &a);
	load("cloud", &b);
	check_mtu(&a);
	check_mtu(&b);

	ck_assert_uint_eq(a.dp.peer_ip, b.dp.uplink_ip);
	ck_assert_uint_eq(b.dp.peer_ip, a.dp.uplink_ip);
	ck_assert_uint_eq(a.dp.local_vtep, b.dp.peer_vtep);
	ck_assert_uint_eq(b.dp.local_vtep, a.dp.peer_vtep);
	ck_assert_str_eq(a.ike.peer_id, b.ike.local_id);
	ck_assert_str_eq(b.ike.peer_id, a.ike.local_id);
	ck_assert_str_eq(a.ike.ike_proposals, b.ike.ike_proposals);
	ck_assert_str_eq(a.ike.esp_proposals, b.ike.esp_proposals);
	ck_assert_int_eq(a.ike.auth, IKE_AUTH_PUBKEY);
	ck_assert_int_eq(b.ike.auth, IKE_AUTH_PUBKEY);
	ck_assert_uint_eq(a.ike.pairing_port, b.ike.pairing_port);

	/* every segment at one site has its VNI at the other, by the same name */
	ck_assert_uint_eq(a.dp.nb_seg, b.dp.nb_seg);
	for (uint16_t i = 0; i < a.dp.nb_seg; i++) {
		int found = 0;

		for (uint16_t j = 0; j < b.dp.nb_seg; j++)
			if (a.dp.seg[i].vni == b.dp.seg[j].vni) {
				ck_assert_str_eq(a.dp.seg[i].name, b.dp.seg[j].name);
				found = 1;
			}
		ck_assert_msg(found, "VNI %u only at onprem", a.dp.seg[i].vni);
	}
	/* the on-prem side is the trunk of the example, the cloud side access ports */
	ck_assert_int_eq(a.dp.local[0].mode, CFG_LOCAL_TRUNK);
	for (uint16_t i = 0; i < b.dp.nb_local; i++)
		ck_assert_int_eq(b.dp.local[i].mode, CFG_LOCAL_ACCESS);
	config_free(&a.dp);
	config_free(&b.dp);
}
END_TEST

/* The check is not vacuous: the same file with one [ike] line broken fails
 * in isthmusd's parser and names the key. */
START_TEST(test_broken_copy_fails)
{
	char src[512], tmp[] = "/tmp/isthmus-cfg-XXXXXX", line[1024], err[512];
	struct ike_settings ike;
	FILE *in, *out;
	int fd;

	snprintf(src, sizeof(src), "%s/onprem.ini", dir);
	in = fopen(src, "r");
	ck_assert_ptr_nonnull(in);
	fd = mkstemp(tmp);
	ck_assert_int_ge(fd, 0);
	out = fdopen(fd, "w");
	while (fgets(line, sizeof(line), in))
		fputs(strncmp(line, "dpd = ", 6) ? line : "dpd = soon\n", out);
	fclose(in);
	fclose(out);
	ck_assert_int_eq(ike_config_load(tmp, &ike, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "[ike] dpd") != NULL, "unexpected error: %s", err);
	unlink(tmp);
}
END_TEST

int main(int argc, char **argv)
{
	Suite *s = suite_create("configs");
	TCase *tc = tcase_create("examples");
	SRunner *sr;
	int failed;

	if (argc != 2) {
		fprintf(stderr, "usage: %s CONFIG_DIR\n", argv[0]);
		return 2;
	}
	dir = argv[1];
	tcase_add_test(tc, test_examples_parse_and_pair);
	tcase_add_test(tc, test_broken_copy_fails);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
