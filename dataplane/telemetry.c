/*
 * telemetry.c: isthmus-dp's counters through DPDK telemetry, so the stock
 * client reads them:
 *
 *   dpdk-telemetry.py -f PREFIX   then   /isthmus/stats, /isthmus/drops,
 *   /isthmus/worker,N, /isthmus/segments, /isthmus/sas, /isthmus/ports
 *
 * Callbacks run in EAL's telemetry thread. Counters are read without locks
 * (64-bit, single writer: a reading may be a burst behind); the SA lists,
 * which the main lcore changes, are read under dp->sa_lock.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_ethdev.h>
#include <rte_telemetry.h>

#include "dp.h"

static struct dp *tel_dp;

static void add_counters(struct rte_tel_data *d, const struct dp_stats *s, bool drops_only)
{
	for (int c = 0; c < DP_C_MAX; c++) {
		const char *n = dp_counter_name(c);

		if (!drops_only || strncmp(n, "drop_", 5) == 0)
			rte_tel_data_add_dict_u64(d, n, s->c[c]);
	}
}

static int tel_stats(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct dp_stats s;

	(void)params;
	dp_stats_sum(tel_dp, &s);
	rte_tel_data_start_dict(d);
	add_counters(d, &s, strcmp(cmd, "/isthmus/drops") == 0);
	if (strcmp(cmd, "/isthmus/stats") == 0) {
		rte_tel_data_add_dict_u64(d, "fdb_aged", tel_dp->fdb_aged);
		rte_tel_data_add_dict_u64(d, "workers", tel_dp->nb_workers);
	}
	return 0;
}

static int tel_worker(const char *cmd, const char *params, struct rte_tel_data *d)
{
	char *end;
	unsigned long w;

	(void)cmd;
	if (params == NULL || *params == '\0')
		return -EINVAL;
	w = strtoul(params, &end, 10);
	if (*end != '\0' || w >= tel_dp->nb_workers)
		return -EINVAL;
	rte_tel_data_start_dict(d);
	add_counters(d, &tel_dp->worker[w]->stats, false);
	return 0;
}

static int tel_segments(const char *cmd, const char *params, struct rte_tel_data *d)
{
	(void)cmd;
	(void)params;
	rte_tel_data_start_dict(d);
	for (uint16_t i = 0; i < tel_dp->nb_seg; i++) {
		const struct segment *g = &tel_dp->seg[i];
		struct rte_tel_data *c = rte_tel_data_alloc();

		if (c == NULL)
			return -ENOMEM;
		rte_tel_data_start_dict(c);
		rte_tel_data_add_dict_u64(c, "vni", g->vni);
		rte_tel_data_add_dict_u64(c, "vlan", g->vlan);
		rte_tel_data_add_dict_string(c, "port", tel_dp->port[g->port].name);
		rte_tel_data_add_dict_u64(c, "macs", atomic_load(&g->mac_count));
		rte_tel_data_add_dict_u64(c, "mac_limit", g->mac_limit);
		rte_tel_data_add_dict_u64(c, "limit_hits", atomic_load(&g->limit_hits));
		rte_tel_data_add_dict_container(d, g->name, c, 0);
	}
	return 0;
}

static void add_sa(struct rte_tel_data *d, const char *dir, const struct esp_sa *sa, int worker)
{
	struct rte_tel_data *c = rte_tel_data_alloc();
	struct esp_sa_stats st;
	char key[32];

	if (c == NULL)
		return;
	esp_sa_get_stats(sa, &st);
	rte_tel_data_start_dict(c);
	rte_tel_data_add_dict_string(c, "dir", dir);
	rte_tel_data_add_dict_int(c, "worker", worker);
	rte_tel_data_add_dict_u64(c, "packets", st.packets);
	rte_tel_data_add_dict_u64(c, "bytes", st.bytes);
	rte_tel_data_add_dict_u64(c, "seq", st.seq);
	for (int e = 1; e < ESP_STATUS_MAX; e++)
		rte_tel_data_add_dict_u64(c, esp_status_name(e), st.errors[e]);
	snprintf(key, sizeof(key), "%s.0x%08x", dir, esp_sa_spi(sa));
	rte_tel_data_add_dict_container(d, key, c, 0);
}

static int tel_sas(const char *cmd, const char *params, struct rte_tel_data *d)
{
	(void)cmd;
	(void)params;
	rte_tel_data_start_dict(d);
	rte_spinlock_lock(&tel_dp->sa_lock);
	for (uint16_t i = 0; i < tel_dp->nb_sa_out; i++)
		add_sa(d, "out", tel_dp->sa_out[i]->sa, tel_dp->sa_out[i]->worker);
	for (uint16_t i = 0; i < tel_dp->nb_sa_in; i++)
		add_sa(d, "in", tel_dp->sa_in[i]->sa, atomic_load(&tel_dp->sa_in[i]->owner));
	rte_spinlock_unlock(&tel_dp->sa_lock);
	return 0;
}

static int tel_ports(const char *cmd, const char *params, struct rte_tel_data *d)
{
	(void)cmd;
	(void)params;
	rte_tel_data_start_dict(d);
	for (uint16_t i = 0; i < tel_dp->nb_ports; i++) {
		struct rte_tel_data *c = rte_tel_data_alloc();
		struct rte_eth_stats es = { 0 };
		const struct dp_port *p = &tel_dp->port[i];

		if (c == NULL)
			return -ENOMEM;
		rte_eth_stats_get(p->port_id, &es);
		rte_tel_data_start_dict(c);
		rte_tel_data_add_dict_string(c, "role", p->role == PORT_UPLINK ? "uplink" : "local");
		rte_tel_data_add_dict_u64(c, "port_id", p->port_id);
		rte_tel_data_add_dict_u64(c, "ipackets", es.ipackets);
		rte_tel_data_add_dict_u64(c, "opackets", es.opackets);
		rte_tel_data_add_dict_u64(c, "ibytes", es.ibytes);
		rte_tel_data_add_dict_u64(c, "obytes", es.obytes);
		rte_tel_data_add_dict_u64(c, "imissed", es.imissed);
		rte_tel_data_add_dict_u64(c, "ierrors", es.ierrors);
		rte_tel_data_add_dict_u64(c, "oerrors", es.oerrors);
		rte_tel_data_add_dict_container(d, p->name, c, 0);
	}
	return 0;
}

int telemetry_init(struct dp *dp)
{
	tel_dp = dp;
	if (rte_telemetry_register_cmd("/isthmus/stats", tel_stats,
				       "Dataplane counters, summed over workers. No parameters") ||
	    rte_telemetry_register_cmd("/isthmus/drops", tel_stats,
				       "Drop counters only, one per reason. No parameters") ||
	    rte_telemetry_register_cmd("/isthmus/worker", tel_worker,
				       "Counters of one worker. Parameter: worker index") ||
	    rte_telemetry_register_cmd("/isthmus/segments", tel_segments,
				       "Extended segments: VNI, VLAN, port, MAC counts. No parameters") ||
	    rte_telemetry_register_cmd("/isthmus/sas", tel_sas,
				       "SAs: packets, bytes, sequence number, errors by reason. No parameters") ||
	    rte_telemetry_register_cmd("/isthmus/ports", tel_ports,
				       "Ports by name: packets, bytes, misses, errors. No parameters"))
		return -1;
	return 0;
}
