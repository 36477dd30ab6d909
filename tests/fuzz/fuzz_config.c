/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer harness for the configuration file of both daemons: isthmus-dp's
 * config_load() (dataplane/config.c, with cfg_lint.c's structural pass and
 * config_segment_spec() for each segment's settings as text) and isthmusd's
 * ike_config_load() (control/ike_config.c: the whole file as isthmus-dp
 * reads it, then [ike] and what isthmusd takes from [appliance]/[uplink]).
 *
 * Input: the file's text, written to a temporary file (the loaders read a
 * path, and report FILE:LINE).
 *
 * Checked on every input (abort() on violation):
 *   - each loader returns 0 or -1, and -1 comes with a non-empty message;
 *   - no error message contains key material of the file ([sa.static]
 *     out.N / in.N keys: no 12 characters of a key that occur nowhere else
 *     in the file);
 *   - an accepted file satisfies the documented limits (docs/config.md),
 *     checked against the struct: burst, MTUs, counts of ports, segments and
 *     static SAs, VNI range and uniqueness, VLANs only on trunks, each
 *     segment's port, mac_limit within the MAC table, MSS range; and each
 *     segment's settings as text (config_segment_texts()) parse back with
 *     config_segment_spec() to the same segment (config_segment_equal());
 *   - isthmusd accepts only what isthmus-dp accepts, and its [ike] values
 *     are within their limits (replay_window a power of two 32..4096,
 *     child_sas <= IKE_CHILD_SAS_MAX, rekey times, identities set);
 *   - config_free() wipes the static SA keys (and LSan sees every
 *     allocation freed).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "ike_config.h"

#define SECRET_WINDOW 12
#define MAX_SECRETS 32

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static char path[64];

static void check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_config: invariant violated: %s\n", what);
		abort();
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	snprintf(path, sizeof(path), "/tmp/fuzz-config-%d.ini", (int)getpid());
	return 0;
}

struct secret {
	const char *p;
	size_t len;
};

/* The KEY of every "out.N = SPI KEY" / "in.N = SPI KEY" line of @p text. */
static unsigned find_secrets(const char *text, struct secret *s)
{
	unsigned n = 0;

	for (const char *line = text; *line && n < MAX_SECRETS;) {
		const char *eol = strchr(line, '\n'), *p = line, *q;

		if (!eol)
			eol = line + strlen(line);
		while (p < eol && (*p == ' ' || *p == '\t'))
			p++;
		if ((!strncmp(p, "out.", 4) || !strncmp(p, "in.", 3)) && (q = memchr(p, '=', eol - p))) {
			q++;
			while (q < eol && (*q == ' ' || *q == '\t'))
				q++;
			while (q < eol && *q != ' ' && *q != '\t') /* the SPI */
				q++;
			while (q < eol && (*q == ' ' || *q == '\t'))
				q++;
			if (eol - q >= SECRET_WINDOW)
				s[n++] = (struct secret){ q, (size_t)(eol - q) };
		}
		line = *eol ? eol + 1 : eol;
	}
	return n;
}

static unsigned occurrences(const char *hay, const char *needle, size_t len)
{
	unsigned c = 0;

	for (const char *p = hay; (p = memmem(p, strlen(p), needle, len)) != NULL; p++)
		c++;
	return c;
}

static void check_no_secret(const char *text, const struct secret *s, unsigned n, const char *err)
{
	for (unsigned k = 0; k < n; k++)
		for (size_t i = 0; i + SECRET_WINDOW <= s[k].len; i++) {
			const char *w = s[k].p + i;

			/* part of a key that the file has only there */
			if (memmem(err, strlen(err), w, SECRET_WINDOW) &&
			    occurrences(text, w, SECRET_WINDOW) == 1) {
				fprintf(stderr, "fuzz_config: error message: %s\n", err);
				check(false, "key material in an error message");
			}
		}
}

static void check_dp(const struct dp_config *c)
{
	static char specs[DP_MAX_SEGMENTS][CFG_SPEC_MAX + 1];
	char err[512] = "";

	check(c->burst >= 1 && c->burst <= DP_BURST_MAX, "burst out of range");
	check(c->uplink_mtu >= 576 && c->uplink_mtu <= 9600, "[uplink] mtu out of range");
	check(c->nb_local >= 1 && c->nb_local <= DP_MAX_LOCAL_PORTS, "local port count");
	check(c->nb_seg <= DP_MAX_SEGMENTS, "segment count");
	check(c->nb_sa_out <= DP_MAX_STATIC_SA && c->nb_sa_in <= DP_MAX_STATIC_SA, "static SA count");
	check(c->name[0] != '\0' && c->uplink_ip != 0 && c->peer_ip != 0, "required keys");
	check(c->replay_window <= 4096, "[sa.static] replay_window");
	for (uint16_t i = 0; i < c->nb_local; i++)
		check(c->local[i].mtu >= 576 && c->local[i].mtu <= 9000, "[local] mtu out of range");
	for (uint16_t i = 0; i < c->nb_seg; i++) {
		const struct cfg_segment *g = &c->seg[i];

		check(g->vni >= 1 && g->vni <= 0xffffff, "VNI out of range");
		check(g->local < c->nb_local, "segment on no local port");
		check(g->vlan <= 4094, "VLAN out of range");
		check(g->vlan == DP_VLAN_UNTAGGED || c->local[g->local].mode == CFG_LOCAL_TRUNK,
		      "VLAN on an access port");
		/* an explicit mac_limit is bounded by the MAC table; the default (4096) is
		 * not lowered to a smaller table, which then fills first */
		check(g->mac_limit >= 1 && (g->mac_limit <= c->fdb_size || g->mac_limit == 4096),
		      "mac_limit");
		check(g->mss == 0 || (g->mss >= 536 && g->mss <= 9560), "mss out of range");
		check(g->flap_moves >= 1 && g->flap_moves <= 1000, "flap_moves");
		for (uint16_t j = 0; j < i; j++) {
			check(c->seg[j].vni != g->vni, "VNI twice");
			check(strcmp(c->seg[j].name, g->name) != 0, "segment name twice");
		}
	}
	/* the settings as text, the form of extends and of the agreed set */
	if (c->nb_seg == 0)
		return;
	if (config_segment_texts(c, specs, err, sizeof(err)) < 0) {
		fprintf(stderr, "fuzz_config: %s\n", err);
		check(false, "config_segment_texts failed on an accepted file");
	}
	for (uint16_t i = 0; i < c->nb_seg; i++) {
		struct cfg_segment back;

		if (config_segment_spec(c, c->seg[i].name, specs[i], &back, err, sizeof(err)) < 0) {
			fprintf(stderr, "fuzz_config: [segment %s] as '%s': %s\n", c->seg[i].name,
				specs[i], err);
			check(false, "a segment's settings as text refused");
		}
		check(config_segment_equal(&back, &c->seg[i]), "a segment's settings as text differ");
	}
}

static void check_ike(const struct ike_settings *s)
{
	check(s->replay_window >= 32 && s->replay_window <= 4096 &&
	      !(s->replay_window & (s->replay_window - 1)), "[ike] replay_window");
	check(s->child_sas <= IKE_CHILD_SAS_MAX, "[ike] child_sas");
	check(s->child_rekey_s >= 10 && s->ike_rekey_s >= 60, "[ike] rekey times");
	check(s->peer_id[0] != '\0' && s->local_id[0] != '\0' && s->name[0] != '\0', "identities");
	check(s->auth != IKE_AUTH_PSK || s->psk_file[0] != '\0', "psk without psk_file");
	check(s->local_ip != 0 && s->peer_ip != 0, "[uplink] addresses");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dp_config cfg;
	struct ike_settings ike;
	struct secret sec[MAX_SECRETS];
	char err[1024], *text;
	unsigned nsec;
	int rc, irc;
	FILE *f;

	if (size > 65536)
		return 0;
	if (!path[0])
		LLVMFuzzerInitialize(NULL, NULL);
	text = malloc(size + 1);
	check(text != NULL, "malloc");
	memcpy(text, data, size);
	text[size] = '\0';
	nsec = find_secrets(text, sec);
	f = fopen(path, "wb");
	check(f != NULL, "temporary file");
	fwrite(data, 1, size, f);
	fclose(f);

	memset(&cfg, 0, sizeof(cfg));
	err[0] = '\0';
	rc = config_load(path, &cfg, err, sizeof(err));
	check(rc == 0 || rc == -1, "config_load returned neither 0 nor -1");
	if (rc < 0) {
		check(err[0] != '\0', "config_load refused without a message");
		check_no_secret(text, sec, nsec, err);
		check(cfg.seg == NULL, "a refused file left segments allocated");
	} else {
		check_dp(&cfg);
		config_free(&cfg);
		for (size_t i = 0; i < sizeof(cfg.sa_out); i++)
			check(((uint8_t *)cfg.sa_out)[i] == 0, "config_free left key material");
		for (size_t i = 0; i < sizeof(cfg.sa_in); i++)
			check(((uint8_t *)cfg.sa_in)[i] == 0, "config_free left key material");
	}

	memset(&ike, 0, sizeof(ike));
	err[0] = '\0';
	irc = ike_config_load(path, &ike, err, sizeof(err));
	check(irc == 0 || irc == -1, "ike_config_load returned neither 0 nor -1");
	if (irc < 0) {
		check(err[0] != '\0', "ike_config_load refused without a message");
		check_no_secret(text, sec, nsec, err);
	} else {
		check(rc == 0, "isthmusd accepted a file isthmus-dp refuses");
		check_ike(&ike);
	}
	unlink(path);
	free(text);
	return 0;
}
