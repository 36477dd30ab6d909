/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * stats.c: reading the workers' counters, for the periodic dump on stdout
 * and the JSON report (--stats-json) until DPDK telemetry serves them.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>

#include <rte_ethdev.h>

#include "ctl_dp.h"
#include "ctl_server.h"
#include "dp.h"
#include "fdb.h"
#include "l2guard.h"
#include "segment.h"
#include "storm.h"

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

static void json_counters(FILE *f, const struct dp_stats *s, const char *indent)
{
	for (int c = 0; c < DP_C_MAX; c++)
		fprintf(f, "%s\"%s\": %" PRIu64 "%s\n", indent, names[c], s->c[c],
			c + 1 < DP_C_MAX ? "," : "");
}

static void json_sa(FILE *f, const char *dir, const struct esp_sa *sa, const char *sep)
{
	struct esp_sa_stats st;

	esp_sa_get_stats(sa, &st);
	fprintf(f, "%s\n    {\"dir\": \"%s\", \"spi\": %u, \"packets\": %" PRIu64 ", \"bytes\": %" PRIu64
		", \"seq\": %" PRIu64 ", \"errors\": {", sep, dir, esp_sa_spi(sa), st.packets, st.bytes,
		st.seq);
	for (int e = 1; e < ESP_STATUS_MAX; e++)
		fprintf(f, "%s\"%s\": %" PRIu64, e > 1 ? ", " : "", esp_status_name(e), st.errors[e]);
	fputs("}}", f);
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

static size_t json_segment(const struct dp *dp, uint16_t i, const char *sep, FILE *f)
{
	const struct segment *g = &dp->seg[i];
	int n = fprintf(f, "%s\n    {\"name\": \"%s\", \"vni\": %u, \"port\": \"%s\", \"vlan\": %u, "
			"\"macs\": %u, \"mac_limit\": %u, \"limit_hits\": %" PRIu64 ", "
			"\"mac_flaps\": %" PRIu64 ", \"loops\": %" PRIu64 ", \"ip_conflicts\": %" PRIu64
			", \"mss4\": %u, \"mss6\": %u, \"storm_drops\": {",
			sep, g->name, g->vni, dp->port[g->port].name, g->vlan,
			atomic_load(&g->mac_count), g->mac_limit, atomic_load(&g->limit_hits),
			atomic_load(&g->guard.mac_flaps), atomic_load(&g->guard.loops),
			atomic_load(&g->guard.ip_conflicts), g->mss4, g->mss6);

	for (int k = 0; k < STORM_CLASSES; k++)
		n += fprintf(f, "%s\"%s\": %" PRIu64, k ? ", " : "", storm_class_name[k],
			     storm_drops(dp, i, k));
	n += fprintf(f, "}}");
	return n > 0 ? (size_t)n : 0;
}

static void json_head(const struct dp *dp, FILE *f)
{
	struct dp_stats s;

	dp_stats_sum(dp, &s);
	fprintf(f, "{\n  \"appliance\": \"%s\",\n  \"workers\": %u,\n  \"counters\": {\n",
		dp->cfg->name, dp->nb_workers);
	json_counters(f, &s, "    ");
	fprintf(f, "  },\n  \"per_worker\": [");
}

static void json_middle(const struct dp *dp, FILE *f)
{
	struct rte_ether_addr nh;

	fprintf(f, "],\n  \"fdb_aged\": %" PRIu64 ",\n  \"fdb_entries\": %u,\n", dp->fdb_aged,
		fdb_count(dp->fdb));
	if (nexthop_mac(&dp->nh, &nh)) {
		char m[RTE_ETHER_ADDR_FMT_SIZE];

		rte_ether_format_addr(m, sizeof(m), &nh);
		fprintf(f, "  \"nexthop\": \"%s\",\n", m);
	} else {
		fprintf(f, "  \"nexthop\": null,\n");
	}
	fprintf(f, "  \"segments\": [");
}

/* The control socket's counters (ctl_server.h; docs/control-protocol.md). */
static void json_ctl(const struct dp *dp, FILE *f)
{
	struct ctl_server_stats c;

	if (dp->ctl == NULL) {
		fprintf(f, ",\n  \"ctl\": null");
		return;
	}
	ctl_server_get_stats(dp->ctl, &c);
	fprintf(f, ",\n  \"ctl\": {\"accepted\": %" PRIu64 ", \"refused\": %" PRIu64
		", \"requests\": %" PRIu64 ", \"failed\": %" PRIu64 ", \"bad_magic\": %" PRIu64
		", \"bad_version\": %" PRIu64 ", \"bad_type\": %" PRIu64 ", \"bad_length\": %" PRIu64
		", \"oversized\": %" PRIu64 ", \"send_errors\": %" PRIu64 ", \"streams\": %" PRIu64
		", \"parts\": %" PRIu64 ", \"streams_aborted\": %" PRIu64 ", \"poll_max_us\": %" PRIu64
		"}", c.accepted, c.refused, c.requests, c.failed, c.bad_magic, c.bad_version, c.bad_type,
		c.bad_length, c.oversized, c.send_errors, c.streams, c.parts, c.streams_aborted,
		ctl_dp_poll_max_us());
}

static void json_ports(const struct dp *dp, FILE *f)
{
	fprintf(f, "],\n  \"ports\": [");
	for (uint16_t i = 0; i < dp->nb_ports; i++) {
		struct rte_eth_stats es = { 0 };

		rte_eth_stats_get(dp->port[i].port_id, &es);
		fprintf(f, "%s\n    {\"name\": \"%s\", \"port_id\": %u, \"ipackets\": %" PRIu64
			", \"opackets\": %" PRIu64 ", \"imissed\": %" PRIu64 ", \"oerrors\": %" PRIu64 "}",
			i ? "," : "", dp->port[i].name, dp->port[i].port_id, es.ipackets, es.opackets,
			es.imissed, es.oerrors);
	}
	fprintf(f, "],\n  \"l2guard\": ");
	l2guard_json(dp, f);
	json_ctl(dp, f);
}

/*
 * The document in sections, each list item by item: the control socket sends
 * it in parts (ctl_dp.c) and the main lcore formats about one part between
 * two exception-path polls, whatever the number of segments or MACs.
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
			break;
		case J_WORKERS:
			if (c->i >= dp->nb_workers) {
				c->part = J_MIDDLE;
				break;
			}
			fprintf(f, "%s\n    {\n", c->i ? "," : "");
			json_counters(f, &dp->worker[c->i]->stats, "      ");
			fprintf(f, "    }");
			used += 64 * DP_C_MAX; /* about what a worker's counters take */
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
				used += json_segment(dp, (uint16_t)c->i, c->first ? "" : ",", f);
				c->first = false;
			}
			c->i++;
			break;
		case J_SAS_START:
			fprintf(f, "],\n  \"sas\": [");
			c->part = J_SAS;
			c->i = 0;
			break;
		case J_SAS:
			/* outbound, then inbound */
			if (c->i < dp->nb_sa_out)
				json_sa(f, "out", dp->sa_out[c->i]->sa, c->i ? "," : "");
			else if (c->i - dp->nb_sa_out < dp->nb_sa_in)
				json_sa(f, "in", dp->sa_in[c->i - dp->nb_sa_out]->sa, c->i ? "," : "");
			else {
				c->part = J_TAIL;
				break;
			}
			used += 256;
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
