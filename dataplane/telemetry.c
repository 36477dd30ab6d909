/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * telemetry.c: the dataplane's counters through DPDK telemetry, so that
 * dpdk-telemetry.py (or isthmusctl) reads them from a running appliance:
 *
 *   /isthmus/stats               all counters, summed over workers
 *   /isthmus/worker,N            one worker's counters
 *   /isthmus/segments[,OFFSET]   segment names, in pages (below)
 *   /isthmus/segment,NAME        VNI, VLAN, port, MAC count, limit, limit hits,
 *                                MSS clamps, frames and bytes into and out
 *                                of the tunnel, storm-control drops,
 *                                MAC flaps, loops, IP conflicts
 *   /isthmus/ports               each port's counters by port name: packets,
 *                                bytes, missed (docs/dataplane.md, "Port
 *                                counters"), no-mbuf, errors
 *   /isthmus/sas                 SPIs, outbound then inbound
 *   /isthmus/sa,SPI              one SA's counters (SPI decimal or 0x hex)
 *   /isthmus/fdb,NAME[,CURSOR]   a segment's MAC table, "MAC side", in pages
 *
 * DPDK telemetry answers in one message of at most 16 KiB, with at most
 * RTE_TEL_MAX_ARRAY_ENTRIES (512) elements per array, and drops what does not
 * fit without a word. So lists come in pages: without a parameter, the plain
 * array as before when the whole list fits one page; otherwise (and always
 * with an OFFSET or CURSOR) a dict saying where the page starts, how many
 * there are, whether more follow and where the next page starts ("next").
 *
 * Callbacks run on the telemetry thread: counters are read as they are (a
 * burst behind at worst), the MAC table under its writer lock, SAs from a
 * snapshot the main lcore refreshes every 100 ms, the kernel's drop counts
 * of af_packet ports under portloss.c's lock.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <rte_ethdev.h>
#include <rte_spinlock.h>
#include <rte_telemetry.h>

#include "dp.h"
#include "fdb.h"
#include "portloss.h"
#include "sa.h"
#include "segment.h"
#include "storm.h"
#include "telemetry.h"

static struct dp *tel_dp;
static bool tel_registered;
/* Held by every command that reads tel_dp, and by telemetry_fini(): DPDK
 * 22.11 cannot unregister a command, and the telemetry thread may be inside
 * one while the main lcore frees the tables. */
static rte_spinlock_t tel_dp_lock = RTE_SPINLOCK_INITIALIZER;

/*
 * The SA lists change on the main lcore (control socket) and their SAs are
 * freed there: the telemetry thread never walks them. The main lcore copies
 * what telemetry shows into this snapshot (telemetry_snapshot()).
 */
struct tel_sa {
	uint32_t spi;
	bool out;
	enum esp_backend backend;
	struct esp_sa_stats st;
};
static rte_spinlock_t tel_lock = RTE_SPINLOCK_INITIALIZER;
static struct tel_sa snap_sas[2 * DP_MAX_SA];
static unsigned tel_nb_sas;

void telemetry_snapshot(const struct dp *dp)
{
	static struct tel_sa tmp[2 * DP_MAX_SA];
	unsigned n = 0;

	for (uint16_t i = 0; i < dp->nb_sa_out; i++, n++) {
		tmp[n] = (struct tel_sa){ .spi = dp->sa_out[i]->spi, .out = true,
					  .backend = esp_sa_backend(dp->sa_out[i]->sa) };
		esp_sa_get_stats(dp->sa_out[i]->sa, &tmp[n].st);
	}
	for (uint16_t i = 0; i < dp->nb_sa_in; i++, n++) {
		tmp[n] = (struct tel_sa){ .spi = dp->sa_in[i]->spi, .out = false,
					  .backend = esp_sa_backend(dp->sa_in[i]->sa) };
		esp_sa_get_stats(dp->sa_in[i]->sa, &tmp[n].st);
	}
	rte_spinlock_lock(&tel_lock);
	memcpy(snap_sas, tmp, n * sizeof(tmp[0]));
	tel_nb_sas = n;
	rte_spinlock_unlock(&tel_lock);
}

static void add_counters(struct rte_tel_data *d, const struct dp_stats *s)
{
	for (int c = 0; c < DP_C_MAX; c++)
		rte_tel_data_add_dict_u64(d, dp_counter_name(c), s->c[c]);
}

static int tel_stats(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct dp_stats s;

	(void)cmd;
	if (tel_dp == NULL)
		return -1;
	(void)params;
	dp_stats_sum(tel_dp, &s);
	rte_tel_data_start_dict(d);
	add_counters(d, &s);
	rte_tel_data_add_dict_u64(d, "fdb_aged", tel_dp->fdb_aged);
	rte_tel_data_add_dict_u64(d, "fdb_entries", fdb_count(tel_dp->fdb));
	return 0;
}

static int tel_worker(const char *cmd, const char *params, struct rte_tel_data *d)
{
	char *end;
	unsigned long w;

	(void)cmd;
	if (tel_dp == NULL)
		return -1;
	if (params == NULL || *params == '\0')
		return -1;
	w = strtoul(params, &end, 10);
	if (*end != '\0' || w >= tel_dp->nb_workers)
		return -1;
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_int(d, "lcore", (int)tel_dp->worker[w]->lcore);
	add_counters(d, &tel_dp->worker[w]->stats);
	return 0;
}

/* /isthmus/ports: {"NAME": {counters}, ...}, as the JSON report's "ports". */
static int tel_ports(const char *cmd, const char *params, struct rte_tel_data *d)
{
	(void)cmd;
	(void)params;
	rte_tel_data_start_dict(d);
	for (uint16_t i = 0; i < tel_dp->nb_ports; i++) {
		struct rte_tel_data *p = rte_tel_data_alloc();
		struct port_counters pc;

		if (p == NULL)
			return -1;
		portloss_get(tel_dp, i, &pc);
		rte_tel_data_start_dict(p);
		rte_tel_data_add_dict_u64(p, "port_id", tel_dp->port[i].port_id);
		rte_tel_data_add_dict_u64(p, "ipackets", pc.ipackets);
		rte_tel_data_add_dict_u64(p, "ibytes", pc.ibytes);
		rte_tel_data_add_dict_u64(p, "opackets", pc.opackets);
		rte_tel_data_add_dict_u64(p, "obytes", pc.obytes);
		rte_tel_data_add_dict_u64(p, "imissed", pc.imissed);
		rte_tel_data_add_dict_u64(p, "rx_kernel_drops", pc.kernel_drops);
		rte_tel_data_add_dict_u64(p, "rx_nombuf", pc.rx_nombuf);
		rte_tel_data_add_dict_u64(p, "ierrors", pc.ierrors);
		rte_tel_data_add_dict_u64(p, "oerrors", pc.oerrors);
		if (rte_tel_data_add_dict_container(d, tel_dp->port[i].name, p, 0) != 0)
			rte_tel_data_free(p);   /* not taken: ours to free */
	}
	return 0;
}

static const struct segment *seg_by_name(const char *name)
{
	for (uint16_t i = 0; tel_dp != NULL && name != NULL && i < tel_dp->nb_seg; i++)
		if (!tel_dp->seg[i].removed && strcmp(tel_dp->seg[i].name, name) == 0)
			return &tel_dp->seg[i];
	return NULL;
}

/* A page of names: at most this many JSON bytes (16 KiB replies, room
 * left for the dict around it) and RTE_TEL_MAX_ARRAY_ENTRIES entries. */
#define TEL_PAGE_BYTES 12000

/* Whether @p s is a decimal number; its value in @p v. */
static bool tel_number(const char *s, unsigned long *v)
{
	char *end;

	if (s == NULL || *s < '0' || *s > '9')
		return false;
	*v = strtoul(s, &end, 10);
	return *end == '\0';
}

/*
 * /isthmus/segments[,OFFSET]: the names of the extended segments from the
 * OFFSET-th on, as many as fit a page. Without OFFSET and when all fit, the
 * array alone (as before paging); otherwise {"offset", "count", "total",
 * "more", "next", "segments": [...]}: "more" is 1 and "next" the OFFSET of the
 * next page when the list goes on.
 */
static int tel_segments(const char *cmd, const char *params, struct rte_tel_data *d)
{
	unsigned long offset = 0;
	unsigned total = 0, count = 0;
	size_t bytes = 2;
	struct rte_tel_data *names;
	bool paged = params != NULL && *params != '\0';

	(void)cmd;
	if (paged && !tel_number(params, &offset))
		return -1;
	names = rte_tel_data_alloc();
	if (names == NULL)
		return -1;
	rte_tel_data_start_array(names, RTE_TEL_STRING_VAL);
	for (uint16_t i = 0; i < tel_dp->nb_seg; i++) {
		const char *name = tel_dp->seg[i].name;

		if (tel_dp->seg[i].removed)
			continue;
		/* safe names (names.c): no JSON escapes, 3 bytes of quotes and comma */
		if (total++ < offset || count == RTE_TEL_MAX_ARRAY_ENTRIES ||
		    bytes + strlen(name) + 3 > TEL_PAGE_BYTES)
			continue;
		rte_tel_data_add_array_string(names, name);
		bytes += strlen(name) + 3;
		count++;
	}
	if (!paged && count == total) {
		/* the plain array, as before paging; the copy is small */
		rte_tel_data_start_array(d, RTE_TEL_STRING_VAL);
		for (uint16_t i = 0; i < tel_dp->nb_seg; i++)
			if (!tel_dp->seg[i].removed && count-- > 0)
				rte_tel_data_add_array_string(d, tel_dp->seg[i].name);
		rte_tel_data_free(names);
		return 0;
	}
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "offset", offset);
	rte_tel_data_add_dict_u64(d, "count", count);
	rte_tel_data_add_dict_u64(d, "total", total);
	rte_tel_data_add_dict_u64(d, "more", offset + count < total);
	rte_tel_data_add_dict_u64(d, "next", offset + count);
	rte_tel_data_add_dict_container(d, "segments", names, 0);
	return 0;
}

static int tel_segment(const char *cmd, const char *params, struct rte_tel_data *d)
{
	const struct segment *s = seg_by_name(params);

	(void)cmd;
	if (tel_dp == NULL)
		return -1;
	if (s == NULL)
		return -1;
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "vni", s->vni);
	rte_tel_data_add_dict_string(d, "port", tel_dp->port[s->port].name);
	rte_tel_data_add_dict_u64(d, "vlan", s->vlan);
	rte_tel_data_add_dict_u64(d, "macs", atomic_load(&s->mac_count));
	rte_tel_data_add_dict_u64(d, "mac_limit", s->mac_limit);
	rte_tel_data_add_dict_u64(d, "limit_hits", atomic_load(&s->limit_hits));
	rte_tel_data_add_dict_u64(d, "aging", s->aging_s);
	rte_tel_data_add_dict_u64(d, "mss4", s->mss4);
	rte_tel_data_add_dict_u64(d, "mss6", s->mss6);
	{
		struct dp_seg_traffic t;

		dp_seg_traffic_sum(tel_dp, s->idx, &t);
		rte_tel_data_add_dict_u64(d, "tunnel_out_packets", t.out_pkts);
		rte_tel_data_add_dict_u64(d, "tunnel_out_bytes", t.out_bytes);
		rte_tel_data_add_dict_u64(d, "tunnel_in_packets", t.in_pkts);
		rte_tel_data_add_dict_u64(d, "tunnel_in_bytes", t.in_bytes);
	}
	for (int k = 0; k < STORM_CLASSES; k++) {
		char key[32];

		snprintf(key, sizeof(key), "storm_drops_%s", storm_class_name[k]);
		rte_tel_data_add_dict_u64(d, key, storm_drops(tel_dp, s->idx, k));
	}
	/* L2 safety (docs/l2-safety.md) */
	rte_tel_data_add_dict_u64(d, "mac_flaps", atomic_load(&s->guard.mac_flaps));
	rte_tel_data_add_dict_u64(d, "loops", atomic_load(&s->guard.loops));
	rte_tel_data_add_dict_u64(d, "ip_conflicts", atomic_load(&s->guard.ip_conflicts));
	return 0;
}

static int tel_sas(const char *cmd, const char *params, struct rte_tel_data *d)
{
	(void)cmd;
	(void)params;
	rte_tel_data_start_array(d, RTE_TEL_U64_VAL);
	rte_spinlock_lock(&tel_lock);
	for (unsigned i = 0; i < tel_nb_sas; i++)
		rte_tel_data_add_array_u64(d, snap_sas[i].spi);
	rte_spinlock_unlock(&tel_lock);
	return 0;
}

static int tel_sa(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct tel_sa sa;
	unsigned long spi;
	char *end;
	bool found = false;

	(void)cmd;
	if (params == NULL || *params == '\0')
		return -1;
	spi = strtoul(params, &end, 0);
	if (*end != '\0')
		return -1;
	rte_spinlock_lock(&tel_lock);
	for (unsigned i = 0; !found && i < tel_nb_sas; i++)
		if (snap_sas[i].spi == spi) {
			sa = snap_sas[i];
			found = true;
		}
	rte_spinlock_unlock(&tel_lock);
	if (!found)
		return -1;
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "dir", sa.out ? "out" : "in");
	rte_tel_data_add_dict_string(d, "backend", esp_backend_name(sa.backend));
	rte_tel_data_add_dict_u64(d, "packets", sa.st.packets);
	rte_tel_data_add_dict_u64(d, "bytes", sa.st.bytes);
	rte_tel_data_add_dict_u64(d, "seq", sa.st.seq);
	for (int e = 1; e < ESP_STATUS_MAX; e++) {
		char name[32];

		/* Telemetry names allow [A-Za-z0-9_/.]: "no-room" becomes "no_room". */
		snprintf(name, sizeof(name), "%s", esp_status_name(e));
		for (char *c = name; *c; c++)
			if (*c == '-')
				*c = '_';
		rte_tel_data_add_dict_u64(d, name, sa.st.errors[e]);
	}
	return 0;
}

/*
 * /isthmus/fdb,NAME[,CURSOR]: the segment's MAC table, "MAC side", a page at
 * a time. CURSOR is where the previous page left the MAC table's iterator
 * ("next"): a page costs what it lists, however large the table. Without a
 * CURSOR and when the segment's MACs fit one page, the array alone (as
 * before paging); otherwise {"segment", "macs" (the segment's count),
 * "cursor", "count", "more", "next", "entries": [...]}.
 */
static int tel_fdb(const char *cmd, const char *params, struct rte_tel_data *d)
{
	/* "02:00:00:00:00:01 remote" and quotes: 27 bytes */
	enum { PAGE = TEL_PAGE_BYTES / 28 };
	struct fdb_mac list[PAGE];
	char name[DP_NAME_LEN];
	const struct segment *s;
	const char *comma;
	unsigned long cursor = 0;
	uint32_t it;
	unsigned n;
	bool end, paged = false;
	struct rte_tel_data *arr;

	(void)cmd;
	if (params == NULL)
		return -1;
	comma = strchr(params, ',');
	if (comma != NULL) {
		if (!tel_number(comma + 1, &cursor) || cursor > UINT32_MAX)
			return -1;
		paged = true;
	}
	snprintf(name, sizeof(name), "%.*s", (int)(comma ? comma - params : (long)strlen(params)),
		 params);
	s = seg_by_name(name);
	if (s == NULL)
		return -1;
	it = (uint32_t)cursor;
	n = fdb_list_from(tel_dp->fdb, s->idx, &it, &end, list, RTE_DIM(list));
	if (!end) {
		/* a full page: is there anything of this segment after it? */
		struct fdb_mac probe;
		uint32_t it2 = it;

		if (fdb_list_from(tel_dp->fdb, s->idx, &it2, &end, &probe, 1) == 0)
			end = true;
	}
	arr = paged || !end ? rte_tel_data_alloc() : d;
	if (arr == NULL)
		return -1;
	rte_tel_data_start_array(arr, RTE_TEL_STRING_VAL);
	for (unsigned i = 0; i < n; i++) {
		char mac[RTE_ETHER_ADDR_FMT_SIZE], line[RTE_ETHER_ADDR_FMT_SIZE + 8];

		rte_ether_format_addr(mac, sizeof(mac), &list[i].mac);
		snprintf(line, sizeof(line), "%s %s", mac, list[i].side == FDB_LOCAL ? "local" : "remote");
		rte_tel_data_add_array_string(arr, line);
	}
	if (arr == d)
		return 0;
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "segment", s->name);
	rte_tel_data_add_dict_u64(d, "macs", atomic_load(&s->mac_count));
	rte_tel_data_add_dict_u64(d, "cursor", cursor);
	rte_tel_data_add_dict_u64(d, "count", n);
	rte_tel_data_add_dict_u64(d, "more", !end);
	rte_tel_data_add_dict_u64(d, "next", it);
	rte_tel_data_add_dict_container(d, "entries", arr, 0);
	return 0;
}

/* name##_locked: the command under tel_dp_lock, refused once tel_dp is gone. */
#define TEL_LOCKED(name)                                                                \
	static int name##_locked(const char *cmd, const char *params, struct rte_tel_data *d) \
	{                                                                               \
		int r = -1;                                                             \
                                                                                        \
		rte_spinlock_lock(&tel_dp_lock);                                        \
		if (tel_dp != NULL)                                                     \
			r = name(cmd, params, d);                                       \
		rte_spinlock_unlock(&tel_dp_lock);                                      \
		return r;                                                               \
	}
TEL_LOCKED(tel_stats)
TEL_LOCKED(tel_worker)
TEL_LOCKED(tel_ports)
TEL_LOCKED(tel_segments)
TEL_LOCKED(tel_segment)
TEL_LOCKED(tel_fdb)

int telemetry_init(struct dp *dp)
{
	rte_spinlock_lock(&tel_dp_lock);
	tel_dp = dp;
	rte_spinlock_unlock(&tel_dp_lock);
	if (tel_registered)
		return 0;
	tel_registered = true;
	if (rte_telemetry_register_cmd("/isthmus/stats", tel_stats_locked,
				       "Dataplane counters, summed over workers. No parameters") ||
	    rte_telemetry_register_cmd("/isthmus/worker", tel_worker_locked,
				       "One worker's counters. Parameter: worker index") ||
	    rte_telemetry_register_cmd("/isthmus/ports", tel_ports_locked,
				       "Each port's counters, missed frames included. No parameters") ||
	    rte_telemetry_register_cmd("/isthmus/segments", tel_segments_locked,
				       "Extended segments, in pages. Parameter: none or OFFSET") ||
	    rte_telemetry_register_cmd("/isthmus/segment", tel_segment_locked,
				       "One segment: VNI, VLAN, MACs, limit. Parameter: name") ||
	    rte_telemetry_register_cmd("/isthmus/sas", tel_sas, "SPIs of the SAs. No parameters") ||
	    rte_telemetry_register_cmd("/isthmus/sa", tel_sa, "One SA's counters. Parameter: SPI") ||
	    rte_telemetry_register_cmd("/isthmus/fdb", tel_fdb_locked,
				       "A segment's MAC table, in pages. Parameter: NAME or NAME,CURSOR"))
		return -1;
	return 0;
}

void telemetry_fini(void)
{
	rte_spinlock_lock(&tel_dp_lock);
	tel_dp = NULL;
	rte_spinlock_unlock(&tel_dp_lock);
	rte_spinlock_lock(&tel_lock);
	tel_nb_sas = 0;
	rte_spinlock_unlock(&tel_lock);
}
