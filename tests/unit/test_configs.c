/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_configs.c: the example site configurations (configs/onprem.ini,
 * configs/cloud.ini) parse with the real parsers of both daemons:
 * isthmus-dp's config_load() and isthmusd's ike_config_load(). And they are a
 * consistent pair: mirrored addresses and identities, the same VNIs, frames
 * that fit the underlay, no static test keys. And copies of onprem.ini with
 * one thing broken are refused by both, naming the file and line.
 *
 * usage: test_configs CONFIG_DIR
 */
#include "check_main.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "config.h"
#include "perftest_spec.h"
#include "ike_config.h"
#include "names.h"

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


/* onprem.ini with the first @p old replaced by @p new, in a temporary file
 * (path in @p tmp, 32 bytes); @return the line number of @p new's first line */
static int broken_copy(const char *old, const char *new, char *tmp)
{
	char src[512], *text, *at;
	FILE *in, *out;
	long n;
	int fd, line = 1;

	snprintf(src, sizeof(src), "%s/onprem.ini", dir);
	in = fopen(src, "r");
	ck_assert_ptr_nonnull(in);
	fseek(in, 0, SEEK_END);
	n = ftell(in);
	rewind(in);
	text = calloc(1, (size_t)n + 1);
	ck_assert_ptr_nonnull(text);
	ck_assert_int_eq(fread(text, 1, (size_t)n, in), n);
	fclose(in);
	at = strstr(text, old);
	ck_assert_msg(at != NULL, "'%s' not in %s", old, src);
	for (const char *p = text; p < at; p++)
		line += *p == '\n';
	strcpy(tmp, "/tmp/isthmus-cfg-XXXXXX");
	fd = mkstemp(tmp);
	ck_assert_int_ge(fd, 0);
	out = fdopen(fd, "w");
	fwrite(text, 1, (size_t)(at - text), out);
	fputs(new, out);
	fputs(at + strlen(old), out);
	fclose(out);
	free(text);
	return line;
}

/* Both parsers refuse the copy with "FILE:LINE: " and @p want in the message. */
static void refused(const char *old, const char *new, int line_offset, const char *want)
{
	char tmp[32], err[512], prefix[64];
	struct dp_config dp;
	struct ike_settings ike;
	int line = broken_copy(old, new, tmp) + line_offset;

	snprintf(prefix, sizeof(prefix), "%s:%d: ", tmp, line);
	ck_assert_int_eq(config_load(tmp, &dp, err, sizeof(err)), -1);
	ck_assert_msg(strncmp(err, prefix, strlen(prefix)) == 0 && strstr(err, want),
		      "isthmus-dp, %s: expected '%s...%s', got '%s'", new, prefix, want, err);
	ck_assert_int_eq(ike_config_load(tmp, &ike, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, prefix) && strstr(err, want),
		      "isthmusd, %s: expected '%s...%s', got '%s'", new, prefix, want, err);
	unlink(tmp);
}

/* The anti-replay window and ESN of IKE-negotiated SAs: what docs/config.md
 * promises (1024, ESN offered first), configurable, and bad windows refused. */
START_TEST(test_replay_window_and_esn)
{
	char tmp[32], err[512];
	struct ike_settings ike;

	static struct site a;

	load("onprem", &a); /* sets neither */
	ck_assert_uint_eq(a.ike.replay_window, 1024);
	ck_assert_msg(strstr(a.ike.esp_proposals, "aes256gcm16-x25519-esn-noesn") ==
		      a.ike.esp_proposals, "default esp_proposals do not offer ESN first: %s",
		      a.ike.esp_proposals);
	config_free(&a.dp);

	broken_copy("dpd = 10s\n", "dpd = 10s\nreplay_window = 4096\n", tmp);
	ck_assert_int_eq(ike_config_load(tmp, &ike, err, sizeof(err)), 0);
	ck_assert_uint_eq(ike.replay_window, 4096);
	unlink(tmp);
	/* isthmus-dp ignores [ike] values: only isthmusd refuses these */
	static const char *const bad[][2] = {
		{ "1000", "a power of two from 32" },
		{ "16", "a power of two from 32" },
		{ "8192", "not a number up to 4096" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char line[64];

		snprintf(line, sizeof(line), "dpd = 10s\nreplay_window = %s\n", bad[i][0]);
		broken_copy("dpd = 10s\n", line, tmp);
		ck_assert_int_eq(ike_config_load(tmp, &ike, err, sizeof(err)), -1);
		ck_assert_msg(strstr(err, "replay_window") && strstr(err, bad[i][1]),
			      "replay_window = %s: %s", bad[i][0], err);
		unlink(tmp);
	}
}
END_TEST

/* [ike] child_sas: every value up to IKE_CHILD_SAS_MAX is negotiated (17 was
 * silently cut to 16 before); above it isthmusd refuses to start, naming the
 * key, the value and the limit. */
START_TEST(test_child_sas_limit)
{
	char tmp[32], err[512], line[64], want[64];
	struct ike_settings ike;
	static const unsigned ok[] = { 0, 1, 17, IKE_CHILD_SAS_MAX };

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(line, sizeof(line), "child_sas = %u\n", ok[i]);
		broken_copy("child_sas = 0\n", line, tmp);
		ck_assert_msg(ike_config_load(tmp, &ike, err, sizeof(err)) == 0, "%s: %s", line, err);
		ck_assert_uint_eq(ike.child_sas, ok[i]);
		unlink(tmp);
	}
	static const char *const bad[] = { "65", "1000", "4294967296" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(line, sizeof(line), "child_sas = %s\n", bad[i]);
		broken_copy("child_sas = 0\n", line, tmp);
		ck_assert_int_eq(ike_config_load(tmp, &ike, err, sizeof(err)), -1);
		snprintf(want, sizeof(want), "the %d CHILD_SAs", IKE_CHILD_SAS_MAX);
		ck_assert_msg(strstr(err, "[ike] child_sas") && strstr(err, bad[i]) &&
			      (strstr(err, want) || i == 2), "child_sas = %s: %s", bad[i], err);
		unlink(tmp);
	}
}
END_TEST

/* rte_cfgfile alone keeps the first of two sections or keys and gives no
 * line for a stray line: each is an error with its line (cfg_lint.c). */
START_TEST(test_structure)
{
	refused("[ike]", "[appliance]\nburst = 8\n\n[ike]", 0,
		"[appliance] appears twice (first at line 20)");
	refused("burst = 32\n", "burst = 32\nburst = 7\n", 1,
		"[appliance] burst: set twice (first at line 27)");
	refused("dpd = 10s\n", "dpd = 10s\ndpd = 1h\n", 1, "[ike] dpd: set twice (first at line 122)");
	refused("burst = 32\n", "burst 7\n", 0, "neither a comment (;), a [section] header nor");
	refused("[appliance]", "name = x\n[appliance]", 0, "key outside any [section]");
	refused("[ike]", "[ike", 0, "section header without ']'");
}
END_TEST

/* [ha] (docs/ha.md): absent, no HA; present, its values and defaults as
 * docs/config.md says; bad values refused by both daemons with their line. */
START_TEST(test_ha)
{
	char tmp[32], err[512];
	struct dp_config dp;
	struct ike_settings ike;
	static struct site a;

	load("onprem", &a);
	ck_assert(!a.dp.ha.enabled);
	config_free(&a.dp);

	broken_copy("[ike]", "[ha]\ngroup = pair1\nvip = 198.18.10.5/24\n\n[ike]", tmp);
	ck_assert_msg(config_load(tmp, &dp, err, sizeof(err)) == 0, "%s", err);
	ck_assert(dp.ha.enabled);
	ck_assert_str_eq(dp.ha.group, "pair1");
	ck_assert_uint_eq(dp.ha.vip, htonl(0xc6120a05));
	ck_assert_uint_eq(dp.ha.vip_len, 24);
	ck_assert_uint_eq(dp.ha.vrid, 51);
	ck_assert_uint_eq(dp.ha.priority, 100);
	ck_assert(!dp.ha.preempt);
	ck_assert_uint_eq(dp.ha.preempt_delay_s, 0);
	ck_assert_uint_eq(dp.ha.advert_ms, 200);
	ck_assert_uint_eq(dp.ha.unicast_peer, 0);
	config_free(&dp);
	ck_assert_msg(ike_config_load(tmp, &ike, err, sizeof(err)) == 0, "%s", err);
	ck_assert(ike.ha);
	ck_assert_uint_eq(ike.ha_vip, htonl(0xc6120a05));
	/* the peer knows the group by its VIP: IKE, pairing, segment agreements */
	ck_assert_uint_eq(ike.local_ip, htonl(0xc6120a05));
	ck_assert_uint_eq(ike.own_ip, htonl(0xc6120a0a));
	unlink(tmp);

	broken_copy("[ike]", "[ha]\ngroup = pair1\nvip = 198.18.10.5/24\nvrid = 7\npriority = 200\n"
		    "preempt = yes\npreempt_delay = 30\nadvert_interval = 100\n"
		    "unicast_peer = 198.18.10.11\n\n[ike]", tmp);
	ck_assert_msg(config_load(tmp, &dp, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(dp.ha.vrid, 7);
	ck_assert_uint_eq(dp.ha.priority, 200);
	ck_assert(dp.ha.preempt);
	ck_assert_uint_eq(dp.ha.preempt_delay_s, 30);
	ck_assert_uint_eq(dp.ha.advert_ms, 100);
	ck_assert_uint_eq(dp.ha.unicast_peer, htonl(0xc6120a0b));
	config_free(&dp);
	unlink(tmp);

	refused("[ike]", "[ha]\ngroup = pair1\n\n[ike]", 0, "[ha]: vip: missing (required)");
	refused("[ike]", "[ha]\ngroup = pair1\nvip = 198.18.10.10/24\n\n[ike]", 2,
		"[ha] vip: same as [uplink] address");
	refused("[ike]", "[ha]\ngroup = pair1\nvip = 198.18.10.5\n\n[ike]", 2,
		"[ha] vip: '198.18.10.5' is not an address with its prefix length");
	refused("[ike]", "[ha]\ngroup = pair1\nvip = 198.18.10.5/24\nadvert_interval = 155\n\n[ike]",
		3, "[ha] advert_interval: 155: a multiple of 10 ms");
	refused("[ike]", "[ha]\ngroup = pair1\nvip = 198.18.10.5/24\npreempt_delay = 5\n\n[ike]",
		3, "[ha] preempt_delay: set, but preempt = no");
	refused("[ike]", "[ha]\ngroup = pair1\nvip = 198.18.10.5/24\npriority = 255\n\n[ike]", 3,
		"[ha] priority: 255 out of range [1, 254]");
	refused("[ike]", "[ha]\ngroup = pair1\nvip = 198.18.10.5/24\nunicast_peer = 198.18.10.10\n\n[ike]",
		3, "[ha] unicast_peer: must be the other member's own");
	refused("[ike]", "[ha]\ngroup = pair1\nvip = 198.18.10.5/24\nvirtual_mac = yes\n\n[ike]", 3,
		"[ha] virtual_mac: unknown key");
	refused("[ike]", "[ha]\ngroup = a b\nvip = 198.18.10.5/24\n\n[ike]", 1,
		"HA group name 'a?b' is not a safe name");
}
END_TEST

/* Names end up in paths, JSON, Prometheus labels and logs (names.h). */
START_TEST(test_names)
{
	static const char *const good[] = { "onprem", "site-a", "a.b_c-1", "A0", "x",
					    "0123456789012345678901234567890", NULL };
	static const char *const bad[] = { "", ".hidden", "-a", "_a", "a..b", "../../tmp/x", "a/b",
					   "a\"b", "a b", "a\\b", "a\nb", "{x}", "caf\xc3\xa9",
					   "01234567890123456789012345678901", NULL };
	char err[256];

	for (const char *const *n = good; *n; n++)
		ck_assert_msg(name_ok(*n), "'%s' refused", *n);
	for (const char *const *n = bad; *n; n++) {
		ck_assert_msg(!name_ok(*n), "'%s' accepted", *n);
		ck_assert_int_eq(name_check("segment name", *n, err, sizeof(err)), -1);
		ck_assert_msg(strspn(err, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				     "0123456789 '.,_-?:()") == strlen(err), "unsafe message '%s'", err);
	}

	refused("name = onprem", "name = ../../tmp/x", 0, "appliance name '..?..?tmp?x' is not a safe name");
	refused("name = onprem", "name = on prem", 0, "appliance name 'on?prem' is not a safe name");
	refused("[segment workload-web]", "[segment web\"}]", 0, "segment name 'web?" "?' is not a safe name");
	refused("[local trunk]", "[local tr/unk]", 0, "local port name 'tr?unk' is not a safe name");
	refused("tap = isth-up", "tap = isth$(x)", 0, "interface name 'isth??x?' is not a safe name");
}
END_TEST

/* [appliance] rx_spin_us and rx_nap_us: the documented defaults, 0 and the
 * bound accepted, beyond it refused with the key named (isthmus-dp's keys
 * only: isthmusd does not read them). */
START_TEST(test_rx_spin)
{
	static const struct { const char *line, *key; int ok; uint32_t want; } cases[] = {
		{ "", "rx_spin_us", 1, DP_RX_SPIN_US }, { "", "rx_nap_us", 1, DP_RX_NAP_US },
		{ "rx_spin_us = 0\n", "rx_spin_us", 1, 0 },
		{ "rx_spin_us = 1000\n", "rx_spin_us", 1, 1000 },
		{ "rx_spin_us = 1001\n", "rx_spin_us", 0, 0 }, { "rx_spin_us = -1\n", "rx_spin_us", 0, 0 },
		{ "rx_nap_us = 0\n", "rx_nap_us", 1, 0 }, { "rx_nap_us = 1000\n", "rx_nap_us", 1, 1000 },
		{ "rx_nap_us = 1001\n", "rx_nap_us", 0, 0 },
	};
	char tmp[32], err[512], line[64];
	struct dp_config dp;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(line, sizeof(line), "burst = 32\n%s", cases[i].line);
		broken_copy("burst = 32\n", line, tmp);
		memset(&dp, 0, sizeof(dp));
		if (cases[i].ok) {
			ck_assert_msg(config_load(tmp, &dp, err, sizeof(err)) == 0, "%s: %s", line, err);
			ck_assert_uint_eq(strcmp(cases[i].key, "rx_spin_us") ? dp.rx_nap_us : dp.rx_spin_us,
					  cases[i].want);
			config_free(&dp);
		} else {
			ck_assert_int_eq(config_load(tmp, &dp, err, sizeof(err)), -1);
			char want[64];

			snprintf(want, sizeof(want), "[appliance] %s", cases[i].key);
			ck_assert_msg(strstr(err, want) != NULL, "%s: %s", line, err);
		}
		unlink(tmp);
	}
}
END_TEST

/* isthmusctl perftest (docs/perftest.md): off by default, allow / deny, the
 * rate ceiling in range, and its reserved VNI never a segment's. */
START_TEST(test_perftest_keys)
{
	char src[512], tmp[32], err[512];
	struct dp_config dp;

	snprintf(src, sizeof(src), "%s/onprem.ini", dir);
	ck_assert_msg(config_load(src, &dp, err, sizeof(err)) == 0, "%s", err);
	ck_assert(!dp.perftest);
	ck_assert_uint_eq(dp.perftest_max_rate, PERFTEST_DEFAULT_MAX_RATE);
	config_free(&dp);
	broken_copy("name = onprem\n", "name = onprem\nperftest = allow\nperftest_max_rate = 250\n",
		    tmp);
	ck_assert_msg(config_load(tmp, &dp, err, sizeof(err)) == 0, "%s", err);
	ck_assert(dp.perftest);
	ck_assert_uint_eq(dp.perftest_max_rate, 250);
	config_free(&dp);
	unlink(tmp);
	refused("vni = 5101", "vni = 16777215", 0, "reserved for isthmusctl perftest");
	refused("name = onprem\n", "name = onprem\nperftest = yes\n", 1, "allow or deny");
	refused("name = onprem\n", "name = onprem\nperftest_max_rate = 0\n", 1, "out of range");
	refused("name = onprem\n", "name = onprem\nperftest_max_rate = 100001\n", 1,
		"out of range");
}
END_TEST

Suite *test_suite(void)
{
	Suite *s;
	TCase *tc;

	if (check_argc != 2) {
		fprintf(stderr, "usage: %s CONFIG_DIR\n", check_argv[0]);
		exit(2);
	}
	dir = check_argv[1];
	s = suite_create("configs");
	tc = tcase_create("examples");
	tcase_add_test(tc, test_examples_parse_and_pair);
	tcase_add_test(tc, test_broken_copy_fails);
	tcase_add_test(tc, test_structure);
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_replay_window_and_esn);
	tcase_add_test(tc, test_child_sas_limit);
	tcase_add_test(tc, test_ha);
	tcase_add_test(tc, test_rx_spin);
	tcase_add_test(tc, test_perftest_keys);
	suite_add_tcase(s, tc);
	return s;
}
