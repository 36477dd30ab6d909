/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ctl_dp.c: isthmus-dp's side of the control socket (docs/control-protocol.md).
 * ctl_server.c has already checked framing, type and size; here each request
 * is checked for meaning (direction, cipher, addresses matching the
 * configured uplink and peer) before it touches the SA table. Runs on the
 * main lcore, between exception-path polls.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_random.h>
#include <sodium.h>

#include "ctl_dp.h"
#include "ctl_json.h"
#include "ctl_server.h"
#include "dp.h"
#include "exception_dp.h"
#include "isthmus_version.h"
#include "fdb.h"
#include "gateway.h"
#include "ha.h"
#include "names.h"
#include "perftest.h"
#include "sa.h"
#include "segment.h"
#include "stats.h"
#include "log.h"

_Static_assert(NAME_MAX_LEN < DP_NAME_LEN && NAME_MAX_LEN < CTL_NAME_LEN,
	       "a safe name fits the configuration's and the control protocol's fields");

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ull + ts.tv_nsec / 1000000;
}

static void ip_str(uint32_t be, char *buf)
{
	const uint8_t *b = (const uint8_t *)&be;

	sprintf(buf, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
}

static int hello(struct dp *dp, struct ctl_out *o)
{
	struct json_object *j = json_object_new_object();

	ctl_json_int(j, "version", CTL_VERSION);
	ctl_json_str(j, "name", dp->cfg->name);
	ctl_json_uint(j, "boot", dp->boot_id);
	ctl_json_int(j, "workers", dp->nb_workers);
	/* "version": the protocol's; "software": this build's (isthmus_version.h) */
	ctl_json_str(j, "software", ISTHMUS_VERSION);
	return ctl_out_json(o, j);
}

/* {"segment": NAME, "vni": VNI, "result": RESULT} */
static int seg_result_json(struct ctl_out *o, const char *name, uint32_t vni, const char *result)
{
	struct json_object *j = json_object_new_object();

	ctl_json_str(j, "segment", name);
	ctl_json_int(j, "vni", vni);
	if (result)
		ctl_json_str(j, "result", result);
	return ctl_out_json(o, j);
}

/*
 * The outer addresses of an SA from isthmusd (add or update), checked against
 * the configuration: our side must be the uplink address; the peer's side the
 * configured peer, or, with [uplink] peer_nat, any address charon reports
 * (the peer's NAT, whose external address may change; IKE authenticated it
 * with the pinned key, RFC 7296 section 2.23). Fills the spec's peer fields.
 *
 * Whether a NAT is on the path decides our source port (sa.h struct
 * sa_outer). In front of us, charon knows (CTL_SA_F_NAT_HERE). In front of
 * the peer, charon cannot tell: both appliances force UDP encapsulation,
 * which charon does by faking its NAT detection payloads, so each always sees
 * the other "behind a NAT". A peer port other than 4500 proves a NAT
 * translated it; [uplink] peer_nat says so for a NAT that keeps the port.
 */
static int sa_addresses(const struct dp *dp, uint8_t dir, uint8_t flags, uint32_t src_ip,
			uint32_t dst_ip, uint16_t src_port, uint16_t dst_port, struct sa_spec *s,
			struct ctl_out *o)
{
	const struct dp_config *c = dp->cfg;
	bool out = dir == CTL_SA_OUT;
	uint32_t ours = out ? src_ip : dst_ip, theirs = out ? dst_ip : src_ip;
	char a[16], b[16];

	/* an HA member's SAs use the group's floating address (docs/ha.md) */
	if ((ours != c->uplink_ip && !(c->ha.enabled && ours == c->ha.vip)) || theirs == 0 ||
	    theirs == c->uplink_ip || theirs == c->ha.vip ||
	    (theirs != c->peer_ip && !c->peer_nat)) {
		ip_str(src_ip, a);
		ip_str(dst_ip, b);
		ctl_out_printf(o, "SA %s -> %s does not match this appliance's uplink and peer%s", a, b,
			       theirs != c->peer_ip && ours == c->uplink_ip
				       ? " (a peer behind a NAT whose address changes needs "
					 "[uplink] peer_nat = yes)" : "");
		return -EINVAL;
	}
	if ((out ? dst_port : src_port) == 0 || (out ? src_port : dst_port) == 0 ||
	    (flags & ~CTL_SA_F_NAT_HERE)) {
		ctl_out_printf(o, "bad UDP encapsulation port or flags");
		return -EINVAL;
	}
	s->peer_ip = theirs;
	s->peer_port = out ? dst_port : src_port;
	s->local_port = out ? src_port : dst_port;
	s->nat = c->peer_nat || s->peer_port != NATT_PORT || (flags & CTL_SA_F_NAT_HERE);
	return 0;
}

/* Where the peer is now, for the exception path's priority class. */
static void note_peer(struct dp *dp, uint32_t ip)
{
	if (atomic_exchange_explicit(&dp->peer_now, ip, memory_order_relaxed) != ip && ip != dp->cfg->peer_ip) {
		char a[16];

		ip_str(ip, a);
		dp_log(LOG_NOTICE, "the peer's SAs now use %s (behind a NAT)", a);
	}
}

static int sa_add_req(struct dp *dp, const struct ctl_sa_add *m, struct ctl_out *o)
{
	const struct dp_config *c = dp->cfg;
	bool out = m->dir == CTL_SA_OUT;
	struct sa_spec s = {
		.dir = out ? ESP_DIR_OUTBOUND : ESP_DIR_INBOUND,
		.spi = m->spi,
		.cipher = (enum esp_cipher)m->cipher,
		.esn = m->esn,
		.replay_window = m->replay_window,
		.keymat = m->keymat,
		.worker = m->worker == 0xffff ? -1 : m->worker,
		.initial_seq = out ? c->test_seq_start : 0,
	};
	char err[256];
	int rc;

	if (m->dir > CTL_SA_IN || m->esn > 1 ||
	    (m->cipher != ESP_CIPHER_AES256GCM && m->cipher != ESP_CIPHER_CHACHA20POLY1305)) {
		ctl_out_printf(o, "bad direction, ESN flag or cipher");
		return -EINVAL;
	}
	rc = sa_addresses(dp, m->dir, m->flags, m->src_ip, m->dst_ip, m->src_port, m->dst_port, &s,
			  o);
	if (rc < 0)
		return rc;
	rc = sa_add(dp, &s, err, sizeof(err));
	if (rc < 0) {
		ctl_out_printf(o, "%s", err);
		dp_log(rc == -EEXIST ? LOG_WARNING : LOG_ERR, "%s", err);
	} else {
		dp_log(LOG_INFO, "%s SA 0x%08x installed (%s%s%s)", out ? "outbound" : "inbound",
		       m->spi, esp_cipher_name(s.cipher), s.esn ? ", ESN" : "",
		       s.nat ? ", NAT on the path" : "");
		note_peer(dp, s.peer_ip);
		exception_new_sa(dp, s.peer_ip);
	}
	return rc;
}

static int sa_update_req(struct dp *dp, const struct ctl_sa_update *m, struct ctl_out *o)
{
	struct sa_spec s = {
		.dir = m->dir == CTL_SA_OUT ? ESP_DIR_OUTBOUND : ESP_DIR_INBOUND,
		.spi = m->spi,
	};
	char a[16];
	int rc;

	if (m->dir > CTL_SA_IN) {
		ctl_out_printf(o, "bad direction");
		return -EINVAL;
	}
	rc = sa_addresses(dp, m->dir, m->flags, m->src_ip, m->dst_ip, m->src_port, m->dst_port, &s,
			  o);
	if (rc < 0)
		return rc;
	rc = sa_update(dp, &s);
	if (rc < 0) {
		ctl_out_printf(o, "no %s SA 0x%08x", m->dir == CTL_SA_OUT ? "outbound" : "inbound",
			       m->spi);
		return rc;
	}
	ip_str(s.peer_ip, a);
	dp_log(LOG_NOTICE, "%s SA 0x%08x moved: peer %s port %u (a NAT mapping changed)",
	       m->dir == CTL_SA_OUT ? "outbound" : "inbound", m->spi, a, s.peer_port);
	dp_count(&dp->main_stats, DP_C_sa_updated, 1);
	note_peer(dp, s.peer_ip);
	return 0;
}

static int sa_del_req(struct dp *dp, const struct ctl_sa_id *m, struct ctl_out *o)
{
	int rc;

	if (m->dir > CTL_SA_IN) {
		ctl_out_printf(o, "bad direction");
		return -EINVAL;
	}
	rc = sa_del(dp, m->spi, m->dir == CTL_SA_OUT ? ESP_DIR_OUTBOUND : ESP_DIR_INBOUND);
	if (rc < 0)
		ctl_out_printf(o, "no %s SA 0x%08x", m->dir == CTL_SA_OUT ? "outbound" : "inbound",
			       m->spi);
	else
		dp_log(LOG_INFO, "%s SA 0x%08x deleted", m->dir == CTL_SA_OUT ? "outbound" : "inbound",
		       m->spi);
	return rc;
}

static int sa_query_req(struct dp *dp, const struct ctl_sa_id *m, struct ctl_out *o)
{
	enum esp_dir dir = m->dir == CTL_SA_OUT ? ESP_DIR_OUTBOUND : ESP_DIR_INBOUND;
	struct esp_sa *sa = m->dir <= CTL_SA_IN ? sa_find(dp, m->spi, dir) : NULL;
	struct ctl_sa_counters cnt = { 0 };
	struct esp_sa_stats st;

	if (!sa) {
		ctl_out_printf(o, "no such SA 0x%08x", m->spi);
		return -ENOENT;
	}
	esp_sa_get_stats(sa, &st);
	cnt.bytes = st.bytes;
	cnt.packets = st.packets;
	for (int e = 1; e < ESP_STATUS_MAX; e++)
		cnt.errors += st.errors[e];
	cnt.seq = st.seq;
	cnt.idle_ms = sa_idle_ms(dp, m->spi, dir, mono_ms());
	return ctl_out_append(o, &cnt, sizeof(cnt));
}

static const char *const seg_result[] = {
	[SEG_ADDED] = "added", [SEG_REPLACED] = "replaced", [SEG_UNCHANGED] = "unchanged",
};

/*
 * Extend, apply or check one segment given with its settings as text: the
 * configuration file's [segment] parser (config_segment_spec) and the one
 * apply path (segment_add / segment_apply) the file's segments take too.
 */
static int seg_set(struct dp *dp, const char *name, const char *spec, uint32_t op,
		   struct ctl_out *o)
{
	struct cfg_segment cs;
	char err[256];
	int rc;

	/* the name goes into every stats reply (JSON) and the log: the same
	 * rule as the configuration file's */
	if (name_check("segment name", name, err, sizeof(err)) < 0 ||
	    config_segment_spec(dp->cfg, name, spec, &cs, err, sizeof(err)) < 0) {
		ctl_out_printf(o, "segment %s: %s", name, err);
		return -EINVAL;
	}
	switch (op) {
	case CTL_SEG_OP_CHECK:
		rc = segment_check(dp, &cs, 0, err, sizeof(err));
		break;
	case CTL_SEG_OP_ADD:
		rc = segment_add(dp, &cs, err, sizeof(err));
		rc = rc < 0 ? rc : SEG_ADDED;
		break;
	case CTL_SEG_OP_APPLY:
		rc = segment_apply(dp, &cs, err, sizeof(err));
		break;
	default:
		ctl_out_printf(o, "unknown segment operation %u", op);
		return -EINVAL;
	}
	if (rc < 0) {
		ctl_out_printf(o, "%s", err);
		return rc;
	}
	if (op == CTL_SEG_OP_CHECK)
		return seg_result_json(o, name, cs.vni, "ok");
	if (rc != SEG_UNCHANGED)
		dp_log(LOG_NOTICE, "segment %s %s (VNI %u, port %s, VLAN %u): %s", name,
		       rc == SEG_ADDED ? "extended" : "settings changed", cs.vni,
		       dp->port[cs.local].name, cs.vlan, spec);
	return seg_result_json(o, name, cs.vni, seg_result[rc]);
}

/* Names from the wire: NUL-terminated here, whatever was sent. */
static void wire_str(char *dst, const char *src, size_t n)
{
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static int seg_set_req(struct dp *dp, const struct ctl_seg_set *m, struct ctl_out *o)
{
	char name[CTL_NAME_LEN + 1], spec[CTL_SEG_SPEC_LEN + 1];

	wire_str(name, m->name, CTL_NAME_LEN);
	wire_str(spec, m->spec, CTL_SEG_SPEC_LEN);
	return seg_set(dp, name, spec, m->op, o);
}

/* SEG_ADD (name, port, VLAN, VNI): the same path, with the [segment] defaults. */
static int seg_add_req(struct dp *dp, const struct ctl_seg *m, struct ctl_out *o)
{
	char name[CTL_NAME_LEN + 1], port[CTL_NAME_LEN + 1], err[256], spec[128];

	wire_str(name, m->name, CTL_NAME_LEN);
	wire_str(port, m->port, CTL_NAME_LEN);
	/* the port name goes into error replies: the same rule */
	if (name_check("port name", port, err, sizeof(err)) < 0) {
		ctl_out_printf(o, "%s", err);
		return -EINVAL;
	}
	if (m->vlan)
		snprintf(spec, sizeof(spec), "vni=%u local=%s vlan=%u", m->vni, port, m->vlan);
	else
		snprintf(spec, sizeof(spec), "vni=%u local=%s", m->vni, port);
	return seg_set(dp, name, spec, CTL_SEG_OP_ADD, o);
}

/*
 * One SA for CTL_SA_LIST (never key material). rekey_at_seq: without ESN,
 * isthmusd rekeys at CTL_SEQ_REKEY_32 and sealing stops at 2^32 - 1; with ESN
 * the 64-bit counter cannot run out, so the rekey is by time only (null).
 */
static void json_sa(FILE *f, const char *dir, const struct esp_sa *sa, int worker,
		    enum esp_cipher cipher, bool esn, uint32_t window, uint64_t retire_ms,
		    uint32_t peer_ip, int peer_port, bool *first)
{
	struct json_object *j = json_object_new_object();
	struct esp_sa_stats st;

	esp_sa_get_stats(sa, &st);
	ctl_json_str(j, "dir", dir);
	json_object_object_add(j, "spi", ctl_json_spi(esp_sa_spi(sa)));
	ctl_json_str(j, "cipher", esp_cipher_name(cipher));
	ctl_json_bool(j, "esn", esn);
	ctl_json_str(j, "backend", esp_backend_name(esp_sa_backend(sa)));
	ctl_json_int(j, "worker", worker);
	ctl_json_uint(j, "packets", st.packets);
	ctl_json_uint(j, "bytes", st.bytes);
	ctl_json_uint(j, "seq", st.seq);
	ctl_json_bool(j, "retired", retire_ms != 0);
	if (window)
		ctl_json_int(j, "replay_window", window);
	if (esn) {
		json_object_object_add(j, "rekey_at_seq", NULL);
		json_object_object_add(j, "seq_to_rekey", NULL);
	} else {
		ctl_json_uint(j, "rekey_at_seq", CTL_SEQ_REKEY_32);
		ctl_json_uint(j, "seq_to_rekey",
			      st.seq < CTL_SEQ_REKEY_32 ? CTL_SEQ_REKEY_32 - st.seq : 0);
	}
	/* the outer address (and, outbound, port) of the peer: a NAT's, if any */
	json_object_object_add(j, "peer", ctl_json_ip4(peer_ip));
	if (peer_port >= 0)
		ctl_json_int(j, "peer_port", peer_port);
	ctl_json_elem(f, first, ",", j);
}

/*
 * The JSON list replies (STATS, MACS, SA_LIST) are streamed: built a step at
 * a time (about CTL_STREAM_STEP bytes: whole segments, SAs, MAC entries) on
 * later control-loop turns, so that 50 000 MACs or 1000 segments never hold
 * the main lcore, which serves the exception path, for more than a step
 * (docs/control-protocol.md, "Streamed replies").
 */
struct json_stream {
	struct dp *dp;
	uint16_t kind;          /* CTL_STATS, CTL_MACS or CTL_SA_LIST */
	struct dp_json_cursor c;
};

static int sa_list_step(struct dp *dp, struct dp_json_cursor *c, FILE *f)
{
	size_t used = 0;

	if (c->i == 0 && c->first)
		fputc('[', f);
	for (; used < CTL_STREAM_STEP; c->i++, used += 360) {
		if (c->i < dp->nb_sa_out) {
			const struct sa_out *o = dp->sa_out[c->i];

			json_sa(f, "out", o->sa, o->worker, o->cipher, o->esn, 0, o->retire_ms,
				o->outer.dst_ip, rte_be_to_cpu_16(o->outer.dst_port_be), &c->first);
		} else if (c->i - dp->nb_sa_out < dp->nb_sa_in) {
			const struct sa_in *in = dp->sa_in[c->i - dp->nb_sa_out];

			json_sa(f, "in", in->sa, sa_in_owner(in), in->cipher, in->esn,
				in->replay_window ? in->replay_window : ESP_REPLAY_WINDOW_DEFAULT,
				in->retire_ms,
				atomic_load_explicit(&in->peer_ip, memory_order_relaxed), -1,
				&c->first);
		} else {
			fputc(']', f);
			return 0;
		}
	}
	return 1;
}

static int macs_step(struct dp *dp, struct dp_json_cursor *c, FILE *f)
{
	size_t n = 0;

	if (c->part == 0) {
		fputc('[', f);
		c->part = 1;
	}
	if (fdb_json_step(dp->fdb, &c->it, &c->first, f, CTL_STREAM_STEP, &n))
		return 1;
	fputc(']', f);
	return 0;
}

static int json_step(void *state, struct ctl_out *o)
{
	struct json_stream *js = state;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int more, rc;

	if (!f)
		return -ENOMEM;
	if (js->kind == CTL_STATS)
		more = dp_stats_json_step(js->dp, &js->c, f, CTL_STREAM_STEP);
	else if (js->kind == CTL_MACS)
		more = macs_step(js->dp, &js->c, f);
	else
		more = sa_list_step(js->dp, &js->c, f);
	if (fclose(f) != 0) {
		free(buf);
		return -ENOMEM;
	}
	rc = ctl_out_append(o, buf, len);
	free(buf);
	return rc < 0 ? rc : more;
}

/* Answer @p kind with a streamed JSON reply. The control socket's STATS
 * leaves the MAC table out: MACS lists it. */
static int json_stream_start(struct dp *dp, uint16_t kind, struct ctl_out *o)
{
	struct json_stream *js = calloc(1, sizeof(*js));

	if (!js) {
		ctl_out_printf(o, "out of memory");
		return -ENOMEM;
	}
	js->dp = dp;
	js->kind = kind;
	js->c.first = true;
	ctl_out_stream(o, json_step, free, js);
	return 0;
}

static int ha_set_req(struct dp *dp, const struct ctl_ha *m, struct ctl_out *o)
{
	unsigned old = atomic_load_explicit(&dp->ha_role, memory_order_relaxed);
	struct json_object *j;

	_Static_assert((int)CTL_HA_ACTIVE == (int)DP_HA_ACTIVE &&
		       (int)CTL_HA_STANDBY == (int)DP_HA_STANDBY &&
		       (int)CTL_HA_FAULT == (int)DP_HA_FAULT, "one numbering of the HA roles");
	if (ha_set_role(dp, m->role) < 0) {
		ctl_out_printf(o, dp->cfg->ha.enabled ? "unknown HA role %u"
				  : "no [ha] section: this appliance is in no HA group", m->role);
		return -EINVAL;
	}
	j = json_object_new_object();
	ctl_json_str(j, "role", ha_role_name(m->role));
	ctl_json_str(j, "previous", ha_role_name(old));
	return ctl_out_json(o, j);
}

static int handle(void *ctx, const struct ctl_hdr *req, struct ctl_out *o)
{
	struct dp *dp = ctx;

	switch (req->type) {
	case CTL_HELLO:
		return hello(dp, o);
	case CTL_SA_ADD:
		return sa_add_req(dp, (const struct ctl_sa_add *)req, o);
	case CTL_SA_DEL:
		return sa_del_req(dp, (const struct ctl_sa_id *)req, o);
	case CTL_SA_UPDATE:
		return sa_update_req(dp, (const struct ctl_sa_update *)req, o);
	case CTL_SA_QUERY:
		return sa_query_req(dp, (const struct ctl_sa_id *)req, o);
	case CTL_SA_LIST:
	case CTL_STATS:
	case CTL_MACS:
		return json_stream_start(dp, req->type, o);
	case CTL_SA_RETIRE: {
		const struct ctl_sa_retire *m = (const struct ctl_sa_retire *)req;
		unsigned n = sa_retire_all(dp, (uint64_t)m->grace_s * 1000);

		if (n)
			dp_log(LOG_NOTICE, "%u SAs retired (the control plane restarted): kept at most "
			       "%u s, until new ones replace them", n, m->grace_s);
		struct json_object *j = json_object_new_object();

		ctl_json_int(j, "retired", n);
		return ctl_out_json(o, j);
	}
	case CTL_HA_SET:
		return ha_set_req(dp, (const struct ctl_ha *)req, o);
	case CTL_HA_ANNOUNCE: {
		struct json_object *j = json_object_new_object();

		ctl_json_int(j, "started", ha_announce_start(dp) == 0);
		return ctl_out_json(o, j);
	}
	case CTL_SEG_ADD:
		return seg_add_req(dp, (const struct ctl_seg *)req, o);
	case CTL_SEG_SET:
		return seg_set_req(dp, (const struct ctl_seg_set *)req, o);
	case CTL_PERFTEST:
		return perftest_ctl(dp, (const struct ctl_perftest *)req, o);
	case CTL_SEG_CUTOVER: {
		const struct ctl_seg *m = (const struct ctl_seg *)req;
		struct segment *g = segment_by_vni(dp, m->vni);

		if (g == NULL) {
			ctl_out_printf(o, "no segment with VNI %u", m->vni);
			return -ENOENT;
		}
		if (gateway_cutover(dp, g) < 0) {
			ctl_out_printf(o, "segment %s has no gateway and router_mac configured", g->name);
			return -EINVAL;
		}
		dp_log(LOG_NOTICE, "segment %s: gateway cut over to this site, announced", g->name);
		return seg_result_json(o, g->name, g->vni, "cut over");
	}
	case CTL_SEG_DEL: {
		const struct ctl_seg *m = (const struct ctl_seg *)req;

		if (segment_del(dp, m->vni) < 0) {
			ctl_out_printf(o, "no segment with VNI %u", m->vni);
			return -ENOENT;
		}
		dp_log(LOG_NOTICE, "segment VNI %u unextended", m->vni);
		return 0;
	}
	default:
		ctl_out_printf(o, "not a dataplane request (isthmusd's socket is another one)");
		return -EOPNOTSUPP;
	}
}

int ctl_dp_open(struct dp *dp, char *err, size_t errlen)
{
	char path[128];

	dp->boot_id = rte_rand() | 1;
	snprintf(path, sizeof(path), "%s/dp.sock", dp->cfg->run_dir);
	dp->ctl = ctl_server_open(path, handle, dp, err, errlen);
	return dp->ctl ? 0 : -1;
}

static uint64_t poll_max_ns; /* main lcore only */

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void ctl_dp_poll(struct dp *dp)
{
	uint64_t t0, dt;

	if (!dp->ctl)
		return;
	t0 = thread_cpu_ns();
	ctl_server_poll(dp->ctl, 0);
	dt = thread_cpu_ns() - t0;
	if (dt > poll_max_ns)
		poll_max_ns = dt;
}

uint64_t ctl_dp_poll_max_us(void)
{
	return poll_max_ns / 1000;
}

void ctl_dp_close(struct dp *dp)
{
	ctl_server_close(dp->ctl);
	dp->ctl = NULL;
}
