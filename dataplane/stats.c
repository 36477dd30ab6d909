/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * stats.c: reading the workers' counters, for the periodic dump on stdout
 * and the JSON report (--stats-json) until DPDK telemetry serves them.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include <rte_ethdev.h>

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
	struct dp_stats s;
	struct rte_ether_addr nh;
	const char *sep = "";

	dp_stats_sum(dp, &s);
	fprintf(f, "{\n  \"appliance\": \"%s\",\n  \"workers\": %u,\n  \"counters\": {\n",
		dp->cfg->name, dp->nb_workers);
	json_counters(f, &s, "    ");
	fprintf(f, "  },\n  \"per_worker\": [");
	for (unsigned w = 0; w < dp->nb_workers; w++) {
		fprintf(f, "%s\n    {\n", w ? "," : "");
		json_counters(f, &dp->worker[w]->stats, "      ");
		fprintf(f, "    }");
	}
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
	sep = "";
	for (uint16_t i = 0; i < dp->nb_seg; i++) {
		const struct segment *g = &dp->seg[i];

		if (g->removed)
			continue;
		fprintf(f, "%s\n    {\"name\": \"%s\", \"vni\": %u, \"port\": \"%s\", \"vlan\": %u, "
			"\"macs\": %u, \"mac_limit\": %u, \"limit_hits\": %" PRIu64 ", "
			"\"mac_flaps\": %" PRIu64 ", \"loops\": %" PRIu64 ", \"ip_conflicts\": %" PRIu64
			", \"mss4\": %u, \"mss6\": %u, \"storm_drops\": {",
			sep, g->name, g->vni, dp->port[g->port].name, g->vlan,
			atomic_load(&g->mac_count), g->mac_limit, atomic_load(&g->limit_hits),
			atomic_load(&g->guard.mac_flaps), atomic_load(&g->guard.loops),
			atomic_load(&g->guard.ip_conflicts), g->mss4, g->mss6);
		for (int k = 0; k < STORM_CLASSES; k++)
			fprintf(f, "%s\"%s\": %" PRIu64, k ? ", " : "", storm_class_name[k],
				storm_drops(dp, i, k));
		fputs("}}", f);
		sep = ",";
	}
	sep = "";
	fprintf(f, "],\n  \"sas\": [");
	for (uint16_t i = 0; i < dp->nb_sa_out; i++) {
		json_sa(f, "out", dp->sa_out[i]->sa, sep);
		sep = ",";
	}
	for (uint16_t i = 0; i < dp->nb_sa_in; i++) {
		json_sa(f, "in", dp->sa_in[i]->sa, sep);
		sep = ",";
	}
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
	fprintf(f, ",\n  \"fdb\": ");
	fdb_dump_json(dp->fdb, f);
	fprintf(f, "\n}\n");
}
