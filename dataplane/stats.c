/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * stats.c: reading the workers' counters, for the periodic dump on stdout
 * and the JSON report (--stats-json, the control socket's STATS). Every value
 * of the report is made by json-c (names of segments and ports escaped as
 * JSON wants); the document is streamed item by item (below).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>
#include <rte_ethdev.h>
#include <rte_malloc.h>

#include "ha.h"
#include "ctl_dp.h"
#include "ctl_json.h"
#include "ctl_server.h"
#include "dp.h"
#include "isthmus_version.h"
#include "fdb.h"
#include "l2guard.h"
#include "portloss.h"
#include "segment.h"
#include "storm.h"
#include "worker.h"

static const char *const names[DP_C_MAX] = {
#define DP_X_NAME(name, desc) #name,
	DP_COUNTERS(DP_X_NAME)
#undef DP_X_NAME
};

static const char *const descs[DP_C_MAX] = {
#define DP_X_DESC(name, desc) desc,
	DP_COUNTERS(DP_X_DESC)
#undef DP_X_DESC
};

const char *dp_counter_name(enum dp_counter c)
{
	return c < DP_C_MAX ? names[c] : "?";
}

const char *dp_counter_desc(enum dp_counter c)
{
	return c < DP_C_MAX ? descs[c] : "?";
}

void dp_stats_sum(const struct dp *dp, struct dp_stats *sum)
{
	*sum = dp->main_stats;
	for (unsigned w = 0; w < dp->nb_workers; w++)
		for (int c = 0; c < DP_C_MAX; c++)
			sum->c[c] += dp->worker[w]->stats.c[c];
}

static void sa_print(FILE *f, const char *dir, const struct esp_sa *sa)
{
	struct esp_sa_stats st;

	esp_sa_get_stats(sa, &st);
	fprintf(f, "  sa %s spi 0x%08x: %" PRIu64 " packets, %" PRIu64 " bytes, seq %" PRIu64, dir,
		esp_sa_spi(sa), st.packets, st.bytes, st.seq);
	for (int e = 1; e < ESP_STATUS_MAX; e++)
		if (st.errors[e])
			fprintf(f, ", %s %" PRIu64, esp_status_name(e), st.errors[e]);
	fputc('\n', f);
}

void dp_stats_print(const struct dp *dp, FILE *f, int all)
{
	struct dp_stats s;

	dp_stats_sum(dp, &s);
	fprintf(f, "isthmus-dp %s: counters (%u workers)\n", dp->cfg->name, dp->nb_workers);
	for (int c = 0; c < DP_C_MAX; c++)
		if (all || s.c[c])
			fprintf(f, "  %-18s %12" PRIu64 "  %s\n", names[c], s.c[c], descs[c]);
	fprintf(f, "  %-18s %12" PRIu64 "  MAC table entries aged out\n", "fdb_aged", dp->fdb_aged);
	fprintf(f, "  %-18s %12u  MAC table entries\n", "fdb_entries", fdb_count(dp->fdb));
	for (uint16_t i = 0; i < dp->nb_sa_out; i++)
		sa_print(f, "out", dp->sa_out[i]->sa);
	for (uint16_t i = 0; i < dp->nb_sa_in; i++)
		sa_print(f, "in", dp->sa_in[i]->sa);
	fflush(f);
}

int dp_seg_traffic_init(struct dp *dp, char *err, size_t errlen)
{
	/* every slot: a segment extended at run time counts from its start */
	for (unsigned i = 0; i < dp->nb_workers; i++) {
		struct worker *w = dp->worker[i];

		w->seg_traffic = rte_zmalloc_socket("isthmus_seg_traffic",
						    sizeof(*w->seg_traffic) * DP_MAX_SEGMENTS,
						    RTE_CACHE_LINE_SIZE, rte_lcore_to_socket_id(w->lcore));
		if (w->seg_traffic == NULL) {
			snprintf(err, errlen, "segment counters: out of memory");
			return -1;
		}
	}
	return 0;
}

void dp_seg_traffic_reset(struct dp *dp, uint16_t seg)
{
	for (unsigned i = 0; i < dp->nb_workers; i++)
		if (dp->worker[i]->seg_traffic != NULL)
			memset(&dp->worker[i]->seg_traffic[seg], 0, sizeof(struct dp_seg_traffic));
}

void dp_seg_traffic_sum(const struct dp *dp, uint16_t seg, struct dp_seg_traffic *sum)
{
	*sum = (struct dp_seg_traffic){ 0 };
	for (unsigned i = 0; i < dp->nb_workers; i++) {
		const struct dp_seg_traffic *t = dp->worker[i]->seg_traffic;

		if (t == NULL)
			continue;
		sum->out_pkts += t[seg].out_pkts;
		sum->out_bytes += t[seg].out_bytes;
		sum->in_pkts += t[seg].in_pkts;
		sum->in_bytes += t[seg].in_bytes;
	}
}

void dp_seg_traffic_fini(struct dp *dp)
{
	for (unsigned i = 0; i < dp->nb_workers; i++) {
		rte_free(dp->worker[i]->seg_traffic);
		dp->worker[i]->seg_traffic = NULL;
	}
}

/*
 * Write @p o (consumed; NULL is null) to @p f as "key": value after @p sep
 * (keys here are fixed identifiers of this file). @return bytes written
 */
static size_t j_member(FILE *f, const char *sep, const char *key, struct json_object *o)
{
	size_t n = (size_t)fprintf(f, "%s\"%s\": ", sep, key);
	bool first = true;

	if (o == NULL)
		return n + (size_t)fprintf(f, "null");
	return n + ctl_json_elem(f, &first, "", o);
}

static struct json_object *json_counters(const struct dp_stats *s)
{
	struct json_object *o = json_object_new_object();

	for (int c = 0; c < DP_C_MAX; c++)
		ctl_json_uint(o, names[c], s->c[c]);
	return o;
}

static struct json_object *json_sa(const char *dir, const struct esp_sa *sa)
{
	struct json_object *o = json_object_new_object(), *e = json_object_new_object();
	struct esp_sa_stats st;

	esp_sa_get_stats(sa, &st);
	ctl_json_str(o, "dir", dir);
	json_object_object_add(o, "spi", ctl_json_spi(esp_sa_spi(sa)));
	ctl_json_uint(o, "packets", st.packets);
	ctl_json_uint(o, "bytes", st.bytes);
	ctl_json_uint(o, "seq", st.seq);
	for (int k = 1; k < ESP_STATUS_MAX; k++)
		ctl_json_uint(e, esp_status_name(k), st.errors[k]);
	json_object_object_add(o, "errors", e);
	return o;
}

int dp_stats_write_json(const struct dp *dp, const char *path)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return -1;
	dp_stats_json(dp, f);
	if (fclose(f) != 0)
		return -1;
	return 0;
}

void dp_stats_json(const struct dp *dp, FILE *f)
{
	struct dp_json_cursor c = { .with_fdb = true };

	while (dp_stats_json_step(dp, &c, f, SIZE_MAX))
		;
}

static struct json_object *json_segment(const struct dp *dp, uint16_t i)
{
	const struct segment *g = &dp->seg[i];
	struct json_object *o = json_object_new_object(), *storm = json_object_new_object();
	struct dp_seg_traffic t;

	dp_seg_traffic_sum(dp, i, &t);
	ctl_json_str(o, "name", g->name);
	ctl_json_uint(o, "vni", g->vni);
	ctl_json_str(o, "port", dp->port[g->port].name);
	ctl_json_uint(o, "vlan", g->vlan);
	ctl_json_uint(o, "macs", atomic_load(&g->mac_count));
	ctl_json_uint(o, "mac_limit", g->mac_limit);
	ctl_json_uint(o, "limit_hits", atomic_load(&g->limit_hits));
	ctl_json_uint(o, "mac_flaps", atomic_load(&g->guard.mac_flaps));
	ctl_json_uint(o, "loops", atomic_load(&g->guard.loops));
	ctl_json_uint(o, "ip_conflicts", atomic_load(&g->guard.ip_conflicts));
	ctl_json_uint(o, "mss4", g->mss4);
	ctl_json_uint(o, "mss6", g->mss6);
	/* frames into the tunnel (tunnel_out) and out of it (tunnel_in), untagged */
	ctl_json_uint(o, "tunnel_out_packets", t.out_pkts);
	ctl_json_uint(o, "tunnel_out_bytes", t.out_bytes);
	ctl_json_uint(o, "tunnel_in_packets", t.in_pkts);
	ctl_json_uint(o, "tunnel_in_bytes", t.in_bytes);
	for (int k = 0; k < STORM_CLASSES; k++)
		ctl_json_uint(storm, storm_class_name[k], storm_drops(dp, i, k));
	json_object_object_add(o, "storm_drops", storm);
	return o;
}

static void json_head(const struct dp *dp, FILE *f)
{
	struct dp_stats s;

	dp_stats_sum(dp, &s);
	j_member(f, "{\n  ", "appliance", json_object_new_string(dp->cfg->name));
	j_member(f, ",\n  ", "version", json_object_new_string(ISTHMUS_VERSION));
	j_member(f, ",\n  ", "workers", json_object_new_uint64(dp->nb_workers));
	if (dp->cfg->ha.enabled) {
		/* docs/ha.md: whether this member forwards */
		struct json_object *ha = json_object_new_object();

		json_object_object_add(ha, "group", json_object_new_string(dp->cfg->ha.group));
		json_object_object_add(ha, "role", json_object_new_string(ha_role_name(
			atomic_load_explicit(&((struct dp *)dp)->ha_role, memory_order_relaxed))));
		j_member(f, ",\n  ", "ha", ha);
	}
	j_member(f, ",\n  ", "counters", json_counters(&s));
	fputs(",\n  \"per_worker\": [", f);
}

static void json_middle(const struct dp *dp, FILE *f)
{
	struct rte_ether_addr nh;
	struct json_object *m = NULL;

	j_member(f, "],\n  ", "fdb_aged", json_object_new_uint64(dp->fdb_aged));
	j_member(f, ",\n  ", "fdb_entries", json_object_new_uint64(fdb_count(dp->fdb)));
	if (nexthop_mac(&dp->nh, &nh)) {
		char a[RTE_ETHER_ADDR_FMT_SIZE];

		rte_ether_format_addr(a, sizeof(a), &nh);
		m = json_object_new_string(a);
	}
	j_member(f, ",\n  ", "nexthop", m);
	fputs(",\n  \"segments\": [", f);
}

/* The control socket's counters (ctl_server.h; docs/control-protocol.md). */
static struct json_object *json_ctl(const struct dp *dp)
{
	struct ctl_server_stats c;
	struct json_object *o;

	if (dp->ctl == NULL)
		return NULL;
	ctl_server_get_stats(dp->ctl, &c);
	o = json_object_new_object();
	ctl_json_uint(o, "accepted", c.accepted);
	ctl_json_uint(o, "refused", c.refused);
	ctl_json_uint(o, "requests", c.requests);
	ctl_json_uint(o, "failed", c.failed);
	ctl_json_uint(o, "bad_magic", c.bad_magic);
	ctl_json_uint(o, "bad_version", c.bad_version);
	ctl_json_uint(o, "bad_type", c.bad_type);
	ctl_json_uint(o, "bad_length", c.bad_length);
	ctl_json_uint(o, "oversized", c.oversized);
	ctl_json_uint(o, "send_errors", c.send_errors);
	ctl_json_uint(o, "streams", c.streams);
	ctl_json_uint(o, "parts", c.parts);
	ctl_json_uint(o, "streams_aborted", c.streams_aborted);
	ctl_json_uint(o, "poll_max_us", ctl_dp_poll_max_us());
	return o;
}

/* A port's counters (portloss.h): packets and bytes each way, what it lost
 * before the dataplane read it (imissed: the PMD's count, and for
 * net_af_packet the kernel's receive-ring drops, also alone in
 * rx_kernel_drops), what its driver could not receive for want of an mbuf,
 * and errors. docs/dataplane.md, "Port counters". */
static struct json_object *json_port(const struct dp *dp, uint16_t i)
{
	struct json_object *o = json_object_new_object();
	struct rte_eth_dev_info info;
	struct port_counters pc;

	portloss_get(dp, i, &pc);
	ctl_json_str(o, "name", dp->port[i].name);
	ctl_json_uint(o, "port_id", dp->port[i].port_id);
	ctl_json_str(o, "driver", rte_eth_dev_info_get(dp->port[i].port_id, &info) == 0 &&
		     info.driver_name ? info.driver_name : "");
	ctl_json_uint(o, "ipackets", pc.ipackets);
	ctl_json_uint(o, "ibytes", pc.ibytes);
	ctl_json_uint(o, "opackets", pc.opackets);
	ctl_json_uint(o, "obytes", pc.obytes);
	ctl_json_uint(o, "imissed", pc.imissed);
	ctl_json_uint(o, "rx_kernel_drops", pc.kernel_drops);
	ctl_json_uint(o, "rx_nombuf", pc.rx_nombuf);
	ctl_json_uint(o, "ierrors", pc.ierrors);
	ctl_json_uint(o, "oerrors", pc.oerrors);
	return o;
}

static void json_ports(const struct dp *dp, FILE *f)
{
	bool first = true;

	fputs("],\n  \"ports\": [", f);
	for (uint16_t i = 0; i < dp->nb_ports; i++)
		ctl_json_elem(f, &first, ",\n    ", json_port(dp, i));
	fprintf(f, "],\n  \"l2guard\": ");
	l2guard_json(dp, f);
	j_member(f, ",\n  ", "ctl", json_ctl(dp));
}

/*
 * The document in sections, each list item by item: the control socket sends
 * it in parts (ctl_dp.c) and the main lcore formats about one part between
 * two exception-path polls, whatever the number of segments or MACs. Each
 * item is one json-c object; only the punctuation between them is written
 * here.
 */
enum { J_HEAD, J_WORKERS, J_MIDDLE, J_SEGMENTS, J_SAS_START, J_SAS, J_TAIL, J_FDB, J_END, J_DONE };

int dp_stats_json_step(const struct dp *dp, struct dp_json_cursor *c, FILE *f, size_t budget)
{
	size_t used = 0;

	while (used < budget) {
		switch (c->part) {
		case J_HEAD:
			json_head(dp, f);
			c->part = J_WORKERS;
			c->i = 0;
			c->first = true;
			break;
		case J_WORKERS:
			if (c->i >= dp->nb_workers) {
				c->part = J_MIDDLE;
				break;
			}
			used += ctl_json_elem(f, &c->first, ",\n    ",
					      json_counters(&dp->worker[c->i]->stats));
			c->i++;
			break;
		case J_MIDDLE:
			json_middle(dp, f);
			c->part = J_SEGMENTS;
			c->i = 0;
			c->first = true;
			break;
		case J_SEGMENTS:
			if (c->i >= dp->nb_seg) {
				c->part = J_SAS_START;
				break;
			}
			if (!dp->seg[c->i].removed) {
				used += ctl_json_elem(f, &c->first, ",\n    ",
						      json_segment(dp, (uint16_t)c->i));
			}
			c->i++;
			break;
		case J_SAS_START:
			fprintf(f, "],\n  \"sas\": [");
			c->part = J_SAS;
			c->i = 0;
			c->first = true;
			break;
		case J_SAS:
			/* outbound, then inbound */
			if (c->i < dp->nb_sa_out)
				used += ctl_json_elem(f, &c->first, ",\n    ",
						      json_sa("out", dp->sa_out[c->i]->sa));
			else if (c->i - dp->nb_sa_out < dp->nb_sa_in)
				used += ctl_json_elem(f, &c->first, ",\n    ",
						      json_sa("in", dp->sa_in[c->i - dp->nb_sa_out]->sa));
			else {
				c->part = J_TAIL;
				break;
			}
			c->i++;
			break;
		case J_TAIL:
			json_ports(dp, f);
			used += 4096;
			c->part = c->with_fdb ? J_FDB : J_END;
			c->it = 0;
			c->first = true;
			if (c->with_fdb)
				fprintf(f, ",\n  \"fdb\": [");
			break;
		case J_FDB: {
			size_t n = 0;

			if (!fdb_json_step(dp->fdb, &c->it, &c->first, f, budget - used, &n)) {
				fputc(']', f);
				c->part = J_END;
			}
			used += n;
			break;
		}
		case J_END:
			fprintf(f, "\n}\n");
			c->part = J_DONE;
			return 0;
		default:
			return 0;
		}
	}
	return 1;
}
