/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * isthmusctl stats: the dataplane's counters (the control socket's STATS
 * report, dataplane/stats.c) for people, as JSON, in Prometheus' text format
 * (https://prometheus.io/docs/instrumenting/exposition_formats/, named as
 * https://prometheus.io/docs/practices/naming/ says), and as live rates.
 *
 * The Prometheus output is what node_exporter's textfile collector serves:
 * `-o FILE` writes it atomically (a temporary file renamed over FILE, so the
 * collector never reads half a file); deploy/systemd/isthmus-metrics.* run
 * it on a timer (docs/deploy.md, "Metrics").
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "counters.h"
#include "ctl_json.h"
#include "isthmusctl.h"

/* The dataplane's own table (dataplane/counters.h): the HELP lines. */
static const struct {
	const char *name, *desc;
} counter_help[] = {
#define X_HELP(name, desc) { #name, desc },
	DP_COUNTERS(X_HELP)
#undef X_HELP
};

static const char *counter_desc(const char *name)
{
	for (size_t i = 0; i < sizeof(counter_help) / sizeof(counter_help[0]); i++)
		if (!strcmp(counter_help[i].name, name))
			return counter_help[i].desc;
	return NULL; /* a counter of a newer dataplane */
}

static uint64_t u64(struct json_object *o, const char *key)
{
	struct json_object *v = get(o, key);

	return v ? json_object_get_uint64(v) : 0;
}

static size_t len(struct json_object *a)
{
	return a && json_object_is_type(a, json_type_array) ? json_object_array_length(a) : 0;
}

/* Member @p key of @p o if it is an object (to walk), else an empty one: a
 * report of an older or newer dataplane may lack it. */
static struct json_object *obj(struct json_object *o, const char *key)
{
	static struct json_object *empty;
	struct json_object *v = get(o, key);

	if (v && json_object_is_type(v, json_type_object))
		return v;
	if (!empty)
		empty = json_object_new_object();
	return empty;
}

static struct json_object *stats_fetch(void)
{
	struct ctl_hdr h = { .type = CTL_STATS };

	return parse(call("dp.sock", &h, sizeof(h), 5000));
}

/* ---- Prometheus text format ---- */

/* A label value as the text format wants it: \, " and newline escaped. */
static void label_value(FILE *f, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fputc('\\', f);
		if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
}

/* HELP text: \ and newline escaped. */
static void help_text(FILE *f, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\')
			fputs("\\\\", f);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s ", name);
	help_text(f, help);
	fprintf(f, "\n# TYPE %s %s\n", name, type);
}

/*
 * One sample: NAME{appliance="...",LABELS} VALUE. @p labels is a list of
 * label name, value pairs ending with NULL.
 */
static void sample(FILE *f, const char *name, const char *appliance, uint64_t v,
		   const char *const *labels)
{
	fprintf(f, "%s{appliance=\"", name);
	label_value(f, appliance);
	fputc('"', f);
	for (; labels && labels[0]; labels += 2) {
		fprintf(f, ",%s=\"", labels[0]);
		label_value(f, labels[1]);
		fputc('"', f);
	}
	fprintf(f, "} %" PRIu64 "\n", v);
}

/* Counters of the dataplane: drops as one family by reason, the rest each
 * under its own name. */
static void prom_counters(FILE *f, const char *app, struct json_object *c)
{
	char name[128];

	json_object_object_foreach(c, k, v) {
		const char *d = counter_desc(k);

		if (!strncmp(k, "drop_", 5))
			continue;
		snprintf(name, sizeof(name), "isthmus_%s_total", k);
		family(f, name, "counter", d ? d : "isthmus-dp counter (newer than this isthmusctl)");
		sample(f, name, app, json_object_get_uint64(v), NULL);
	}
	family(f, "isthmus_dropped_packets_total", "counter",
	       "Packets isthmus-dp dropped, by reason (every drop has one; the reasons are "
	       "described below and in isthmusctl stats)");
	json_object_object_foreach(c, k2, v2) {
		const char *d = counter_desc(k2);
		const char *l[] = { "reason", k2 + 5, NULL };

		if (strncmp(k2, "drop_", 5))
			continue;
		/* a comment line: the reason's own description */
		fprintf(f, "# reason=\"%s\": ", k2 + 5);
		help_text(f, d ? d : "(newer than this isthmusctl)");
		fputc('\n', f);
		sample(f, "isthmus_dropped_packets_total", app, json_object_get_uint64(v2), l);
	}
}

/* One family over the items of array @p a: member @p key of each, labelled
 * by @p label_keys (label name, member name, ..., NULL). */
struct item_metric {
	const char *name, *type, *help, *key;
};

static void prom_items(FILE *f, const char *app, struct json_object *a, const struct item_metric *m,
		       size_t nm, const char *const *label_keys)
{
	for (size_t k = 0; k < nm; k++) {
		if (len(a) == 0)
			return;
		family(f, m[k].name, m[k].type, m[k].help);
		for (size_t i = 0; i < len(a); i++) {
			struct json_object *it = json_object_array_get_idx(a, i);
			const char *l[9] = { NULL };
			size_t n = 0;

			for (const char *const *lk = label_keys; lk[0] && n < 6; lk += 2) {
				l[n++] = lk[0];
				l[n++] = str(it, lk[1]);
			}
			sample(f, m[k].name, app, u64(it, m[k].key), l);
		}
	}
}

static const struct item_metric port_metrics[] = {
	{ "isthmus_port_rx_packets_total", "counter", "Packets received on the port (its PMD's count)", "ipackets" },
	{ "isthmus_port_rx_bytes_total", "counter", "Bytes received on the port (Ethernet frames without FCS)", "ibytes" },
	{ "isthmus_port_tx_packets_total", "counter", "Packets sent on the port", "opackets" },
	{ "isthmus_port_tx_bytes_total", "counter", "Bytes sent on the port (Ethernet frames without FCS)", "obytes" },
	{ "isthmus_port_rx_missed_packets_total", "counter", "Packets lost before the dataplane read them: no room in the port's receive queues or, for af_packet, its kernel receive ring", "imissed" },
	{ "isthmus_port_rx_kernel_dropped_packets_total", "counter", "af_packet ports: packets the kernel dropped, its receive ring full (part of missed)", "rx_kernel_drops" },
	{ "isthmus_port_rx_nombuf_total", "counter", "Receive attempts the port's driver gave up for want of an mbuf", "rx_nombuf" },
	{ "isthmus_port_rx_errors_total", "counter", "Erroneous packets received on the port", "ierrors" },
	{ "isthmus_port_tx_errors_total", "counter", "Packets the port failed to send", "oerrors" },
};

static const struct item_metric segment_metrics[] = {
	{ "isthmus_segment_tunnel_out_packets_total", "counter", "Frames of the segment sealed toward the peer", "tunnel_out_packets" },
	{ "isthmus_segment_tunnel_out_bytes_total", "counter", "Bytes of those frames (untagged Ethernet)", "tunnel_out_bytes" },
	{ "isthmus_segment_tunnel_in_packets_total", "counter", "Frames of the segment from the peer sent to the local port", "tunnel_in_packets" },
	{ "isthmus_segment_tunnel_in_bytes_total", "counter", "Bytes of those frames (untagged Ethernet)", "tunnel_in_bytes" },
	{ "isthmus_segment_macs", "gauge", "MAC addresses in the segment's table, both sides", "macs" },
	{ "isthmus_segment_mac_limit", "gauge", "The segment's MAC limit (mac_limit, 0: none)", "mac_limit" },
	{ "isthmus_segment_mac_limit_hits_total", "counter", "MAC addresses not learned: the segment's limit reached", "limit_hits" },
	{ "isthmus_segment_mac_flaps_total", "counter", "MAC flaps reported in the segment", "mac_flaps" },
	{ "isthmus_segment_loops_total", "counter", "Loops reported in the segment", "loops" },
	{ "isthmus_segment_ip_conflicts_total", "counter", "IP conflicts reported in the segment", "ip_conflicts" },
};

static const struct item_metric sa_metrics[] = {
	{ "isthmus_sa_packets_total", "counter", "Packets the SA sealed (out) or opened (in)", "packets" },
	{ "isthmus_sa_bytes_total", "counter", "ESP payload bytes of those packets", "bytes" },
	{ "isthmus_sa_sequence_number", "gauge", "The SA's last sequence number sent (out) or highest accepted (in)", "seq" },
};

/* The segments' storm-control drops: one sample per segment and class. */
static void prom_storm(FILE *f, const char *app, struct json_object *segs)
{
	if (len(segs) == 0)
		return;
	family(f, "isthmus_segment_storm_dropped_packets_total", "counter",
	       "Frames flooded into the tunnel over the segment's storm-control rate, by class");
	for (size_t i = 0; i < len(segs); i++) {
		struct json_object *g = json_object_array_get_idx(segs, i);

		json_object_object_foreach(obj(g, "storm_drops"), k, v) {
			const char *l[] = { "segment", str(g, "name"), "vni", str(g, "vni"), "class", k,
					    NULL };

			sample(f, "isthmus_segment_storm_dropped_packets_total", app,
			       json_object_get_uint64(v), l);
		}
	}
}

/* The SAs' errors: one sample per SA and ESP status (crypto/esp.h). */
static void prom_sa_errors(FILE *f, const char *app, struct json_object *sas)
{
	if (len(sas) == 0)
		return;
	family(f, "isthmus_sa_errors_total", "counter",
	       "Packets the SA refused (sealing or opening), by ESP status");
	for (size_t i = 0; i < len(sas); i++) {
		struct json_object *s = json_object_array_get_idx(sas, i);

		json_object_object_foreach(obj(s, "errors"), k, v) {
			const char *l[] = { "dir", str(s, "dir"), "spi", str(s, "spi"), "error", k,
					    NULL };

			sample(f, "isthmus_sa_errors_total", app, json_object_get_uint64(v), l);
		}
	}
}

/* The tunnel is up for the dataplane when it holds an SA each way. */
static int tunnel_up(struct json_object *sas)
{
	int out = 0, in = 0;

	for (size_t i = 0; i < len(sas); i++) {
		const char *d = str(json_object_array_get_idx(sas, i), "dir");

		out |= !strcmp(d, "out");
		in |= !strcmp(d, "in");
	}
	return out && in;
}

/* SPIs as everywhere: "0x%08x" (the dataplane's string; a number from an
 * older one is formatted so). */
static void spi_labels(struct json_object *sas)
{
	for (size_t i = 0; i < len(sas); i++) {
		struct json_object *s = json_object_array_get_idx(sas, i);
		char hex[11];

		if (json_object_is_type(get(s, "spi"), json_type_int)) {
			ctl_spi_str((uint32_t)u64(s, "spi"), hex);
			json_object_object_add(s, "spi", json_object_new_string(hex));
		}
	}
}

/*
 * HA (docs/ha.md), for a member of a group: its role as a state set (the
 * dataplane's: whether it forwards), and isthmusd's failovers and split
 * brains when isthmusd answers.
 */
static void prom_ha(FILE *f, const char *app, struct json_object *ha)
{
	static const char *const roles[] = { "active", "standby", "fault" };
	const char *group = str(ha, "group");
	struct json_object *d, *c;

	if (!ha)
		return;
	family(f, "isthmus_ha_role", "gauge",
	       "1 for this HA member's role (active forwards; standby and fault forward nothing)");
	for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++) {
		const char *l[] = { "group", group, "role", roles[i], NULL };

		sample(f, "isthmus_ha_role", app, !strcmp(str(ha, "role"), roles[i]), l);
	}
	d = ha_status_try();
	c = d ? get(d, "counters") : NULL;
	if (c) {
		const char *l[] = { "group", group, NULL };

		family(f, "isthmus_ha_failovers_total", "counter",
		       "Times this member became the group's active member (isthmusd)");
		sample(f, "isthmus_ha_failovers_total", app, u64(c, "failovers"), l);
		family(f, "isthmus_ha_split_brain_total", "counter",
		       "Times this member stood down: its tunnel replaced by another member's (isthmusd)");
		sample(f, "isthmus_ha_split_brain_total", app, u64(c, "split_brain"), l);
	}
	json_object_put(d);
}

static void prometheus(FILE *f, struct json_object *o)
{
	const char *app = str(o, "appliance");
	struct json_object *sas = get(o, "sas");
	const char *ver[] = { "version", str(o, "version"), NULL };
	static const char *const port_labels[] = { "port", "name", NULL };
	static const char *const seg_labels[] = { "segment", "name", "vni", "vni", NULL };
	static const char *const sa_labels[] = { "dir", "dir", "spi", "spi", NULL };

	family(f, "isthmus_build_info", "gauge", "isthmus-dp's version, in the label (always 1)");
	sample(f, "isthmus_build_info", app, 1, *ver[1] ? ver : NULL);
	family(f, "isthmus_tunnel_up", "gauge",
	       "1 when the dataplane holds an SA each way (the tunnel carries frames), else 0");
	sample(f, "isthmus_tunnel_up", app, (uint64_t)tunnel_up(sas), NULL);
	family(f, "isthmus_workers", "gauge", "Dataplane workers");
	sample(f, "isthmus_workers", app, u64(o, "workers"), NULL);
	prom_ha(f, app, get(o, "ha"));
	family(f, "isthmus_fdb_entries", "gauge", "MAC table entries");
	sample(f, "isthmus_fdb_entries", app, u64(o, "fdb_entries"), NULL);
	family(f, "isthmus_fdb_aged_total", "counter", "MAC table entries aged out");
	sample(f, "isthmus_fdb_aged_total", app, u64(o, "fdb_aged"), NULL);
	prom_counters(f, app, obj(o, "counters"));
	prom_items(f, app, get(o, "ports"), port_metrics, sizeof(port_metrics) / sizeof(port_metrics[0]),
		   port_labels);
	prom_items(f, app, get(o, "segments"), segment_metrics,
		   sizeof(segment_metrics) / sizeof(segment_metrics[0]), seg_labels);
	prom_storm(f, app, get(o, "segments"));
	spi_labels(sas);
	prom_items(f, app, sas, sa_metrics, sizeof(sa_metrics) / sizeof(sa_metrics[0]), sa_labels);
	prom_sa_errors(f, app, sas);
}

/* Write the metrics to @p path atomically: FILE.tmp, then renamed over it. */
static int prometheus_file(struct json_object *o, const char *path)
{
	char tmp[4096];
	FILE *f;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
		fprintf(stderr, "isthmusctl: -o %s: name too long\n", path);
		return EXIT_REFUSED; /* the request failed here */
	}
	f = fopen(tmp, "w");
	if (!f) {
		fprintf(stderr, "isthmusctl: %s: %s\n", tmp, strerror(errno));
		return EXIT_REFUSED; /* the request failed here */
	}
	prometheus(f, o);
	if (fflush(f) != 0 || fsync(fileno(f)) != 0 || fclose(f) != 0 || rename(tmp, path) != 0) {
		fprintf(stderr, "isthmusctl: %s: %s\n", path, strerror(errno));
		unlink(tmp);
		return EXIT_REFUSED; /* the request failed here */
	}
	return 0;
}

/* ---- people ---- */

static void human(struct json_object *o)
{
	struct json_object *g, *ev;
	size_t n;

	printf("isthmus-dp %s, %lld worker(s)\n", str(o, "appliance"), (long long)num(o, "workers"));
	json_object_object_foreach(obj(o, "counters"), k, v)
		if (json_object_get_uint64(v))
			printf("  %-20s %14" PRIu64 "\n", k, json_object_get_uint64(v));
	/* missed: lost before the dataplane read them (docs/dataplane.md) */
	g = get(o, "ports");
	if (len(g))
		printf("  %-20s %14s %14s %14s\n", "port", "rx", "missed", "tx");
	for (size_t i = 0; i < len(g); i++) {
		struct json_object *p = json_object_array_get_idx(g, i);

		printf("  %-20s %14" PRIu64 " %14" PRIu64 " %14" PRIu64 "\n", str(p, "name"),
		       u64(p, "ipackets"), u64(p, "imissed"), u64(p, "opackets"));
	}
	/* L2 safety reports (docs/l2-safety.md), absent from older dataplanes */
	g = get(o, "l2guard");
	ev = g ? get(g, "events") : NULL;
	n = len(ev);
	if (n)
		printf("L2 safety reports, oldest first:\n");
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(ev, i);

		printf("  %5llds ago  %s\n", (long long)num(e, "age_s"), str(e, "text"));
	}
}

/* ---- live rates (-i) ---- */

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

/* Item of array @p a whose members @p k1 (and @p k2 when set) equal @p b's. */
static struct json_object *match(struct json_object *a, struct json_object *b, const char *k1,
				 const char *k2)
{
	for (size_t i = 0; i < len(a); i++) {
		struct json_object *x = json_object_array_get_idx(a, i);

		if (!strcmp(str(x, k1), str(b, k1)) && (!k2 || !strcmp(str(x, k2), str(b, k2))))
			return x;
	}
	return NULL;
}

/* Per second from @p a to @p b over @p dt: counters going down (a new SA in
 * the same slot, a restarted dataplane) count from 0. */
static double rate(uint64_t a, uint64_t b, double dt)
{
	return (double)(b >= a ? b - a : b) / dt;
}

/*
 * One kind of row: packets and bytes each way (or one way for an SA), the
 * members that hold them, and where rows are matched between two reports.
 */
struct rate_kind {
	const char *title, *array, *k1, *k2;       /* k2: NULL or a second key */
	const char *pk[2], *bk[2], *dir[2];         /* packets, bytes members; their columns */
	const char *lost, *lost_col;                /* NULL, or a lost-packets member; its column */
};

static const struct rate_kind kinds[] = {
	{ "port", "ports", "name", NULL, { "ipackets", "opackets" }, { "ibytes", "obytes" },
	  { "rx", "tx" }, "imissed", "rx_missed" },
	{ "segment", "segments", "name", NULL, { "tunnel_out_packets", "tunnel_in_packets" },
	  { "tunnel_out_bytes", "tunnel_in_bytes" }, { "to_peer", "from_peer" }, NULL, NULL },
	{ "sa", "sas", "spi", "dir", { "packets", NULL }, { "bytes", NULL }, { "", NULL }, NULL, NULL },
};

/* The rates between two reports: printed, or added to @p jout. */
static void rates(struct json_object *o0, struct json_object *o1, double dt, struct json_object *jout)
{
	if (!jout)
		printf("isthmus-dp %s: rates over %.2f s\n", str(o1, "appliance"), dt);
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		const struct rate_kind *rk = &kinds[k];
		struct json_object *a1 = get(o1, rk->array), *rows = json_object_new_array();

		if (!jout) {
			printf("  %-20s", rk->title);
			for (int d = 0; d < 2 && rk->pk[d]; d++)
				printf(" %10s pps %6s Gbit/s", rk->dir[d], rk->dir[d]);
			if (rk->lost)
				printf(" %10s pps", rk->lost_col);
			putchar('\n');
		}
		for (size_t i = 0; i < len(a1); i++) {
			struct json_object *b = json_object_array_get_idx(a1, i);
			struct json_object *a = match(get(o0, rk->array), b, rk->k1, rk->k2);
			struct json_object *row = json_object_new_object();
			char id[64];

			if (rk->k2)
				snprintf(id, sizeof(id), "%s %s", str(b, rk->k2), str(b, rk->k1));
			else
				snprintf(id, sizeof(id), "%s", str(b, rk->k1));
			json_object_object_add(row, "name", json_object_new_string(id));
			if (!jout)
				printf("    %-18s", id);
			for (int d = 0; d < 2 && rk->pk[d]; d++) {
				double pps = a ? rate(u64(a, rk->pk[d]), u64(b, rk->pk[d]), dt) : NAN;
				double gbps = a ? rate(u64(a, rk->bk[d]), u64(b, rk->bk[d]), dt) * 8 / 1e9
						: NAN;
				char key[48];

				snprintf(key, sizeof(key), "%s%spps", rk->dir[d], *rk->dir[d] ? "_" : "");
				json_object_object_add(row, key, a ? json_object_new_double(pps) : NULL);
				snprintf(key, sizeof(key), "%s%sgbps", rk->dir[d], *rk->dir[d] ? "_" : "");
				json_object_object_add(row, key, a ? json_object_new_double(gbps) : NULL);
				if (jout)
					continue;
				if (a)
					printf(" %14.0f %13.4f", pps, gbps);
				else
					printf(" %14s %13s", "new", "");
			}
			if (rk->lost) {
				/* lost before the dataplane read them (docs/dataplane.md) */
				double pps = a ? rate(u64(a, rk->lost), u64(b, rk->lost), dt) : NAN;
				char key[48];

				snprintf(key, sizeof(key), "%s_pps", rk->lost_col);
				json_object_object_add(row, key, a ? json_object_new_double(pps) : NULL);
				if (!jout && a)
					printf(" %14.0f", pps);
				else if (!jout)
					printf(" %14s", "new");
			}
			if (!jout)
				putchar('\n');
			json_object_array_add(rows, row);
		}
		if (jout)
			json_object_object_add(jout, rk->array, rows);
		else
			json_object_put(rows);
	}
}

static int live(double interval, long count, int json_out)
{
	struct json_object *o0 = stats_fetch(), *o1;
	double t0 = now_s(), t1;

	for (long round = 0; count == 0 || round < count; round++) {
		struct timespec ts = { .tv_sec = (time_t)interval,
				       .tv_nsec = (long)((interval - (double)(time_t)interval) * 1e9) };

		while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
			;
		o1 = stats_fetch();
		t1 = now_s();
		if (json_out) {
			struct json_object *j = json_object_new_object();

			json_object_object_add(j, "appliance", json_object_new_string(str(o1, "appliance")));
			json_object_object_add(j, "interval_s", json_object_new_double(t1 - t0));
			rates(o0, o1, t1 - t0, j);
			printf("%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
			json_object_put(j);
		} else {
			rates(o0, o1, t1 - t0, NULL);
			putchar('\n');
		}
		fflush(stdout);
		json_object_put(o0);
		o0 = o1;
		t0 = t1;
	}
	json_object_put(o0);
	return 0;
}

/* SECONDS: a number from 0.1 to 3600 (fractions allowed). */
static int parse_interval(const char *v, double *out)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(v, &end);
	if (errno || end == v || *end || !(d >= 0.1 && d <= 3600)) {
		fprintf(stderr, "isthmusctl: stats -i '%s': a number of seconds from 0.1 to 3600\n", v);
		return -1;
	}
	*out = d;
	return 0;
}

static int parse_count(const char *v, long *out)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || end == v || *end || n < 1) {
		fprintf(stderr, "isthmusctl: stats -c '%s': a number of rounds, 1 or more\n", v);
		return -1;
	}
	*out = n;
	return 0;
}

struct stats_opts {
	int prom;
	const char *output;
	double interval;
	long count;
};

/* getopt over the arguments after "stats" (argv[-1] plays argv[0]). */
static int parse_opts(int argc, char **argv, struct stats_opts *o)
{
	static const struct option opts[] = {
		{ "prometheus", no_argument, NULL, 'p' },
		{ "output", required_argument, NULL, 'o' },
		{ "interval", required_argument, NULL, 'i' },
		{ "count", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*o = (struct stats_opts){ 0 };
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc + 1, argv - 1, "+po:i:c:", opts, NULL)) != -1) {
		switch (c) {
		case 'p': o->prom = 1; break;
		case 'o': o->output = optarg; break;
		case 'i': if (parse_interval(optarg, &o->interval) < 0) return EXIT_USAGE; break;
		case 'c': if (parse_count(optarg, &o->count) < 0) return EXIT_USAGE; break;
		default:
			fprintf(stderr, "isthmusctl: stats: unknown option or missing value '%s' "
				"(see --help)\n", argv[optind - 2]);
			return EXIT_USAGE;
		}
	}
	if (optind < argc + 1 || (o->output && !o->prom) || (o->count && !o->interval) ||
	    (o->interval && o->prom)) {
		fprintf(stderr, "isthmusctl: stats [--prometheus [-o FILE]] [-i SECONDS [-c COUNT]]\n");
		return EXIT_USAGE;
	}
	return 0;
}

/* parse_opts(), leaving main()'s optind as it was (stats_args() and
 * cmd_stats() both parse). */
static int parse_args(int argc, char **argv, struct stats_opts *o)
{
	int saved = optind, rc = parse_opts(argc, argv, o);

	optind = saved;
	return rc;
}

int stats_args(int argc, char **argv)
{
	struct stats_opts o;

	return parse_args(argc, argv, &o);
}

int cmd_stats(int argc, char **argv, int json_out)
{
	struct stats_opts o;
	struct json_object *s;
	int rc = parse_args(argc, argv, &o);

	if (rc)
		return rc;
	if (o.interval)
		return live(o.interval, o.count, json_out);
	s = stats_fetch();
	if (o.prom && o.output)
		rc = prometheus_file(s, o.output);
	else if (o.prom)
		prometheus(stdout, s);
	else if (json_out)
		printf("%s\n", json_object_to_json_string_ext(s, JSON_C_TO_STRING_PRETTY |
								 JSON_C_TO_STRING_NOSLASHESCAPE));
	else
		human(s);
	json_object_put(s);
	return rc;
}
