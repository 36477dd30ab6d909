/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ike_config.c: isthmusd reads the same appliance file as isthmus-dp. The
 * dataplane's parser (dataplane/config.c) checks the whole file and gives the
 * shared facts (name, underlay and VTEP addresses, run directory); the [ike]
 * section, which only isthmusd uses, is read here with the same rte_cfgfile.
 */
#include "ike_config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <rte_cfgfile.h>

#include "config.h"
#include "dp.h"
#include "esp.h"
#include "pairing.h"
#include "sa.h"

/* ike_settings.h: why child_sas stops at IKE_CHILD_SAS_MAX */
_Static_assert(IKE_CHILD_SAS_MAX <= DP_MAX_WORKERS, "a CHILD_SA per worker at most");
_Static_assert(3 * IKE_CHILD_SAS_MAX <= DP_MAX_SA,
	       "the dataplane holds installed, rekeyed and retired SAs at once");

#define S "ike"

static int fail(char *err, size_t errlen, const char *key, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(err, errlen, "[%s] %s: ", S, key);

	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < errlen)
		vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

/* "3600", "90s", "10m", "4h", "1d" -> seconds */
static int parse_duration(const char *v, uint32_t *out)
{
	char *end;
	unsigned long long n = strtoull(v, &end, 10);
	unsigned mult = 1;

	if (end == v)
		return -1;
	switch (*end) {
	case '\0': case 's': break;
	case 'm': mult = 60; break;
	case 'h': mult = 3600; break;
	case 'd': mult = 86400; break;
	default: return -1;
	}
	if (*end && end[1])
		return -1;
	if (n * mult > UINT32_MAX)
		return -1;
	*out = (uint32_t)(n * mult);
	return 0;
}

static int get_str(struct rte_cfgfile *cf, const char *key, char *out, size_t len, char *err,
		   size_t errlen)
{
	const char *v = rte_cfgfile_get_entry(cf, S, key);

	if (!v)
		return 0;
	if (strlen(v) >= len)
		return fail(err, errlen, key, "longer than %zu characters", len - 1);
	snprintf(out, len, "%s", v);
	return 0;
}

static int get_duration(struct rte_cfgfile *cf, const char *key, uint32_t min, uint32_t *out,
			char *err, size_t errlen)
{
	const char *v = rte_cfgfile_get_entry(cf, S, key);

	if (!v)
		return 0;
	if (parse_duration(v, out) < 0 || *out < min)
		return fail(err, errlen, key, "'%s' is not a duration of at least %u s "
			    "(e.g. 3600, 90s, 10m, 4h)", v, min);
	return 0;
}

static int get_u64(struct rte_cfgfile *cf, const char *key, uint64_t max, uint64_t *out,
		   char *err, size_t errlen)
{
	const char *v = rte_cfgfile_get_entry(cf, S, key);
	char *end;

	if (!v)
		return 0;
	errno = 0;
	*out = strtoull(v, &end, 0);
	if (end == v || *end || errno || *out > max)
		return fail(err, errlen, key, "'%s' is not a number up to %llu", v,
			    (unsigned long long)max);
	return 0;
}

static int check_keys(struct rte_cfgfile *cf, char *err, size_t errlen)
{
	static const char *const known[] = {
		"local_id", "peer_id", "ike_proposals", "esp_proposals", "ike_rekey",
		"child_rekey", "child_rekey_bytes", "child_rekey_packets", "dpd", "role",
		"auth", "psk_file", "state_dir", "pairing_port", "child_sas", "replay_window",
		"nat_keepalive", NULL,
	};
	int n = rte_cfgfile_section_num_entries(cf, S);
	struct rte_cfgfile_entry *e;

	if (n <= 0)
		return 0;
	e = calloc((size_t)n, sizeof(*e));
	if (!e)
		return fail(err, errlen, "-", "out of memory");
	rte_cfgfile_section_entries(cf, S, e, n);
	for (int i = 0; i < n; i++) {
		int k = 0;

		while (known[k] && strcmp(known[k], e[i].name))
			k++;
		if (!known[k]) {
			fail(err, errlen, e[i].name, "unknown key (docs/config.md lists the keys)");
			free(e);
			return -1;
		}
	}
	free(e);
	return 0;
}

static int parse_ike(struct rte_cfgfile *cf, struct ike_settings *s, char *err, size_t errlen)
{
	char role[16] = "auto", auth[16] = "pubkey";
	uint64_t v;

	if (check_keys(cf, err, errlen) < 0 ||
	    get_str(cf, "local_id", s->local_id, sizeof(s->local_id), err, errlen) < 0 ||
	    get_str(cf, "peer_id", s->peer_id, sizeof(s->peer_id), err, errlen) < 0 ||
	    get_str(cf, "ike_proposals", s->ike_proposals, sizeof(s->ike_proposals), err, errlen) < 0 ||
	    get_str(cf, "esp_proposals", s->esp_proposals, sizeof(s->esp_proposals), err, errlen) < 0 ||
	    get_duration(cf, "ike_rekey", 60, &s->ike_rekey_s, err, errlen) < 0 ||
	    get_duration(cf, "child_rekey", 5, &s->child_rekey_s, err, errlen) < 0 ||
	    get_duration(cf, "dpd", 0, &s->dpd_s, err, errlen) < 0 ||
	    get_duration(cf, "nat_keepalive", 1, &s->nat_keepalive_s, err, errlen) < 0 ||
	    get_u64(cf, "child_rekey_bytes", UINT64_MAX / 2, &s->child_rekey_bytes, err, errlen) < 0 ||
	    get_u64(cf, "child_rekey_packets", UINT64_MAX / 2, &s->child_rekey_packets, err, errlen) < 0 ||
	    get_str(cf, "role", role, sizeof(role), err, errlen) < 0 ||
	    get_str(cf, "auth", auth, sizeof(auth), err, errlen) < 0 ||
	    get_str(cf, "psk_file", s->psk_file, sizeof(s->psk_file), err, errlen) < 0 ||
	    get_str(cf, "state_dir", s->state_dir, sizeof(s->state_dir), err, errlen) < 0)
		return -1;
	v = s->pairing_port;
	if (get_u64(cf, "pairing_port", 65535, &v, err, errlen) < 0)
		return -1;
	s->pairing_port = (uint16_t)v;
	v = s->child_sas;
	if (get_u64(cf, "child_sas", UINT32_MAX, &v, err, errlen) < 0)
		return -1;
	if (v > IKE_CHILD_SAS_MAX)
		return fail(err, errlen, "child_sas", "%llu is more than the %d CHILD_SAs isthmusd "
			    "can negotiate (one per dataplane worker, at most %d workers); "
			    "0: one per worker", (unsigned long long)v, IKE_CHILD_SAS_MAX,
			    DP_MAX_WORKERS);
	s->child_sas = (unsigned)v;
	v = s->replay_window;
	if (get_u64(cf, "replay_window", ESP_REPLAY_WINDOW_MAX, &v, err, errlen) < 0)
		return -1;
	if (v < 32 || (v & (v - 1)))
		return fail(err, errlen, "replay_window", "%llu: a power of two from 32 to %d",
			    (unsigned long long)v, ESP_REPLAY_WINDOW_MAX);
	s->replay_window = (uint32_t)v;

	if (!strcasecmp(role, "auto"))
		s->role = IKE_ROLE_AUTO;
	else if (!strcasecmp(role, "initiator"))
		s->role = IKE_ROLE_INITIATOR;
	else if (!strcasecmp(role, "responder"))
		s->role = IKE_ROLE_RESPONDER;
	else
		return fail(err, errlen, "role", "'%s': auto, initiator or responder", role);
	if (!strcasecmp(auth, "pubkey"))
		s->auth = IKE_AUTH_PUBKEY;
	else if (!strcasecmp(auth, "psk"))
		s->auth = IKE_AUTH_PSK;
	else
		return fail(err, errlen, "auth", "'%s': pubkey (paired appliances) or psk "
			    "(a stock strongSwan peer, docs/interop.md)", auth);
	if (s->auth == IKE_AUTH_PSK && !s->psk_file[0])
		return fail(err, errlen, "psk_file", "auth = psk needs a psk_file (mode 0600)");
	if (!s->peer_id[0])
		return fail(err, errlen, "peer_id", "missing: the peer appliance's IKE identity "
			    "(its [ike] local_id, by default NAME.isthmus)");
	if (s->child_rekey_s < 10)
		return fail(err, errlen, "child_rekey", "at least 10 s");
	return 0;
}

int ike_config_load(const char *path, struct ike_settings *s, char *err, size_t errlen)
{
	struct rte_cfgfile_parameters prm = { .comment_character = ';' };
	struct dp_config cfg;
	struct rte_cfgfile *cf;
	int rc;

	if (config_load(path, &cfg, err, errlen) < 0)
		return -1;
	ike_settings_defaults(s);
	snprintf(s->name, sizeof(s->name), "%s", cfg.name);
	snprintf(s->local_id, sizeof(s->local_id), "%s.isthmus", cfg.name);
	snprintf(s->state_dir, sizeof(s->state_dir), "/var/lib/isthmus/%s", cfg.name);
	snprintf(s->dp_socket, sizeof(s->dp_socket), "%s/dp.sock", cfg.run_dir);
	snprintf(s->ctl_socket, sizeof(s->ctl_socket), "%s/isthmusd.sock", cfg.run_dir);
	snprintf(s->vici_socket, sizeof(s->vici_socket), "unix://%s/charon.vici", cfg.run_dir);
	snprintf(s->run_dir, sizeof(s->run_dir), "%s", cfg.run_dir);
	s->local_ip = cfg.uplink_ip;
	/* an HA member speaks IKE from the group's floating address, which
	 * the peer has as its [uplink] peer (docs/ha.md) */
	s->own_ip = cfg.uplink_ip;
	if (cfg.ha.enabled)
		s->local_ip = cfg.ha.vip;
	s->ha = cfg.ha.enabled;
	s->ha_vip = cfg.ha.vip;
	snprintf(s->ha_group, sizeof(s->ha_group), "%s", cfg.ha.group);
	s->ha_vip_len = cfg.ha.vip_len;
	s->ha_vrid = cfg.ha.vrid;
	s->ha_priority = cfg.ha.priority;
	s->ha_preempt = cfg.ha.preempt;
	s->ha_preempt_delay_s = cfg.ha.preempt_delay_s;
	s->ha_advert_ms = cfg.ha.advert_ms;
	s->ha_unicast_peer = cfg.ha.unicast_peer;
	snprintf(s->tap, sizeof(s->tap), "%s", cfg.tap);
	s->peer_ip = cfg.peer_ip;
	s->peer_nat = cfg.peer_nat;
	s->local_vtep = cfg.local_vtep;
	s->peer_vtep = cfg.peer_vtep;
	s->pairing_port = PAIRING_PORT_DEFAULT;
	s->child_sas = 0; /* as many as the dataplane has workers */
	config_free(&cfg);

	cf = rte_cfgfile_load_with_params(path, 0, &prm);
	if (!cf) {
		snprintf(err, errlen, "%s: syntax error", path);
		return -1;
	}
	rc = parse_ike(cf, s, err, errlen);
	rte_cfgfile_close(cf);
	if (rc < 0) {
		char tmp[512];

		snprintf(tmp, sizeof(tmp), "%s: %s", path, err);
		snprintf(err, errlen, "%s", tmp);
	}
	return rc;
}
