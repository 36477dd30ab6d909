/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * isthmusctl perftest: the dataplane here and the peer's test the tunnel
 * between them (docs/perftest.md). This file starts the test (CTL_PERFTEST
 * on dp.sock), polls it until it ends, stops it on Ctrl-C, and prints the
 * results: a table, JSON (--json), a plot (--plot FILE.png, gnuplot).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl_json.h"
#include "isthmusctl.h"
#include "perftest_spec.h"

#define POLL_MS 200

struct pt_opts {
	struct ctl_perftest m;
	const char *plot;
};

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
	(void)sig;
	interrupted = 1;
}

static int usage_err(const char *fmt, const char *arg)
{
	fprintf(stderr, "isthmusctl: perftest: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n  perftest [--sizes LIST] [--duration TIME] [--rate MBIT] [--probes N] "
		"[--plot FILE]\n");
	return EXIT_USAGE;
}

/* A PNG's path: no quote or control character (it goes into gnuplot's script). */
static int plot_path_ok(const char *p)
{
	size_t n = strlen(p);

	if (n < 5 || strcmp(p + n - 4, ".png"))
		return 0;
	for (const char *c = p; *c; c++)
		if (*c == '"' || *c == '\'' || *c == '\\' || (unsigned char)*c < 0x20)
			return 0;
	return 1;
}

static int parse_opts(int argc, char **argv, struct pt_opts *o)
{
	static const uint16_t dflt[] = { 64, 512, 1400 };
	char err[160];

	memset(o, 0, sizeof(*o));
	o->m.h.type = CTL_PERFTEST;
	o->m.op = CTL_PERFTEST_START;
	o->m.duration_ms = PERFTEST_DEFAULT_DURATION_MS;
	o->m.probes = PERFTEST_DEFAULT_PROBES;
	memcpy(o->m.sizes, dflt, sizeof(dflt));
	o->m.nb_sizes = sizeof(dflt) / sizeof(dflt[0]);
	for (int i = 0; i < argc; i++) {
		const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		char *end;
		unsigned long n;

		if (v == NULL)
			return usage_err("'%s' needs a value", k);
		i++;
		if (!strcmp(k, "--sizes")) {
			int c = perftest_parse_sizes(v, o->m.sizes, err, sizeof(err));

			if (c < 0)
				return usage_err("--sizes: %s", err);
			o->m.nb_sizes = (uint16_t)c;
		} else if (!strcmp(k, "--duration")) {
			o->m.duration_ms = perftest_parse_duration(v);
			if (o->m.duration_ms == 0)
				return usage_err("--duration '%s': 100ms to 60s (3, 3s, 500ms, 1m)", v);
		} else if (!strcmp(k, "--rate") || !strcmp(k, "--probes")) {
			errno = 0;
			n = strtoul(v, &end, 10);
			if (*v < '0' || *v > '9' || *end || errno)
				return usage_err("'%s' is not a number", v);
			if (k[2] == 'r') {
				if (n == 0 || n > PERFTEST_RATE_CEILING)
					return usage_err("--rate '%s': 1 to 100000 Mbit/s", v);
				o->m.rate_mbps = (uint32_t)n;
			} else {
				if (n > CTL_PERFTEST_MAX_PROBES)
					return usage_err("--probes '%s': 0 to 1000", v);
				o->m.probes = (uint32_t)n;
			}
		} else if (!strcmp(k, "--plot")) {
			if (!plot_path_ok(v))
				return usage_err("--plot '%s': a FILE.png without quotes or control "
						 "characters", v);
			o->plot = v;
		} else {
			return usage_err("unknown option '%s'", k);
		}
	}
	if (perftest_check(&o->m, err, sizeof(err)) < 0)
		return usage_err("%s", err);
	return 0;
}

int perftest_args(int argc, char **argv)
{
	struct pt_opts o;

	return parse_opts(argc, argv, &o);
}

static double dbl(struct json_object *o, const char *key)
{
	struct json_object *v = get(o, key);

	return v ? json_object_get_double(v) : 0.0;
}

static void print_table(struct json_object *j)
{
	struct json_object *rtt = get(j, "rtt"), *st = get(j, "stages"), *pm = get(j, "pmtu");
	size_t n = st ? json_object_array_length(st) : 0;

	printf("perftest %08llx: %s", (unsigned long long)num(j, "test"), str(j, "state"));
	if (*str(j, "error"))
		printf(" (%s)", str(j, "error"));
	printf("\n  VNI %lld, %lld ms per direction and frame size, at most %lld Mbit/s here, "
	       "%lld at the peer\n", (long long)num(j, "vni"), (long long)num(j, "duration_ms"),
	       (long long)num(j, "rate_mbps"), (long long)num(j, "peer_max_rate_mbps"));
	if (rtt && num(rtt, "sent")) {
		printf("round trip: %lld probes, %lld answered, %lld lost",
		       (long long)num(rtt, "sent"), (long long)num(rtt, "received"),
		       (long long)num(rtt, "lost"));
		if (num(rtt, "received"))
			printf("; min %.3f ms, avg %.3f ms, max %.3f ms", dbl(rtt, "min_us") / 1000,
			       dbl(rtt, "avg_us") / 1000, dbl(rtt, "max_us") / 1000);
		printf("\n");
	}
	if (pm && num(pm, "frame")) {
		printf("path MTU (here -> peer, DF): frames up to %lld bytes arrive whole, outer IPv4 "
		       "%lld bytes", (long long)num(pm, "frame"), (long long)num(pm, "outer_ip"));
		if (num(pm, "outer_ip") + 4 <= num(pm, "uplink_mtu"))
			printf("; less than [uplink] mtu %lld here: larger packets are lost on the "
			       "path (docs/mtu.md)", (long long)num(pm, "uplink_mtu"));
		else if (num(pm, "frame") >= num(pm, "probed_up_to"))
			printf(" (the largest probed)");
		printf("\n");
	} else if (pm) {
		printf("path MTU: no probe came back\n");
	}
	if (n == 0)
		return;
	printf("%-10s %6s %10s %10s %9s %7s %10s %11s %9s\n", "direction", "frame", "sent",
	       "received", "lost", "loss%", "offered", "throughput", "kpps");
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(st, i);
		int64_t sent = num(e, "sent");

		printf("%-10s %6lld %10lld %10lld %9lld %7.2f %10.1f %11.1f %9.1f\n",
		       !strcmp(str(e, "direction"), "out") ? "out (->)" : "in (<-)",
		       (long long)num(e, "frame"), (long long)sent, (long long)num(e, "received"),
		       (long long)num(e, "lost"), sent ? 100.0 * num(e, "lost") / sent : 0.0,
		       dbl(e, "offered_mbps"), dbl(e, "throughput_mbps"), dbl(e, "kpps"));
	}
	printf("(offered and throughput in Mbit/s of frames; out: from here to the peer)\n");
}

/* gnuplot: throughput against frame size, each direction; the RTT in the title. */
static int plot(struct json_object *j, const char *file)
{
	struct json_object *st = get(j, "stages"), *rtt = get(j, "rtt");
	size_t n = st ? json_object_array_length(st) : 0;
	FILE *g = popen("gnuplot", "w");
	int rc;

	if (g == NULL) {
		fprintf(stderr, "isthmusctl: --plot: cannot run gnuplot: %s\n", strerror(errno));
		return -1;
	}
	fprintf(g, "set terminal pngcairo size 900,560\nset output \"%s\"\n", file);
	fprintf(g, "set title \"isthmusctl perftest: encrypted throughput\\nRTT avg %.3f ms "
		"(min %.3f, max %.3f); path MTU: frames up to %lld bytes whole\"\n",
		rtt ? dbl(rtt, "avg_us") / 1000 : 0.0, rtt ? dbl(rtt, "min_us") / 1000 : 0.0,
		rtt ? dbl(rtt, "max_us") / 1000 : 0.0, (long long)num(get(j, "pmtu"), "frame"));
	fprintf(g, "set xlabel \"frame size (bytes)\"\nset ylabel \"Mbit/s\"\nset grid\n"
		"set key top left\nset yrange [0:*]\n");
	for (int dir = 0; dir < 2; dir++) {
		fprintf(g, "$%s << EOD\n", dir ? "in" : "out");
		for (size_t i = 0; i < n; i++) {
			struct json_object *e = json_object_array_get_idx(st, i);

			if (!strcmp(str(e, "direction"), dir ? "in" : "out"))
				fprintf(g, "%lld %f\n", (long long)num(e, "frame"),
					dbl(e, "throughput_mbps"));
		}
		fprintf(g, "EOD\n");
	}
	fprintf(g, "plot $out with linespoints title \"here -> peer\", "
		"$in with linespoints title \"peer -> here\"\n");
	rc = pclose(g);
	if (rc != 0) {
		fprintf(stderr, "isthmusctl: --plot: gnuplot failed (status %d)\n", rc);
		return -1;
	}
	return 0;
}

static struct json_object *poll_once(uint32_t op)
{
	struct ctl_perftest m = { .h.type = CTL_PERFTEST, .op = op };

	return parse(call("dp.sock", &m, sizeof(m), 5000));
}

int cmd_perftest(int argc, char **argv, int json_out)
{
	struct pt_opts o;
	struct json_object *j;
	struct sigaction sa = { .sa_handler = on_sigint };
	char last_phase[16] = "";
	const char *state;
	long bound_ms, waited = 0;
	int rc;

	if (parse_opts(argc, argv, &o))
		return EXIT_USAGE;
	/* the dataplane ends the test by itself; this bounds a bug's wait */
	bound_ms = 30000 + (long)o.m.nb_sizes * (2L * o.m.duration_ms + 8000) + 20L * o.m.probes;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	j = parse(call("dp.sock", &o.m, sizeof(o.m), 5000));
	for (;;) {
		struct timespec ts = { 0, POLL_MS * 1000000L };
		const char *ph;

		state = str(j, "state");
		ph = str(j, "phase");
		if (strcmp(state, "running"))
			break;
		if (!json_out && strcmp(ph, last_phase)) {
			fprintf(stderr, "isthmusctl: perftest: %s\n",
				!strcmp(ph, "hello") ? "asking the peer" :
				!strcmp(ph, "rtt") ? "round-trip probes" :
				!strcmp(ph, "pmtu") ? "path MTU" :
				!strcmp(ph, "out") ? "throughput, here -> peer" :
				!strcmp(ph, "in") ? "throughput, peer -> here" : ph);
		}
		snprintf(last_phase, sizeof(last_phase), "%s", ph);
		nanosleep(&ts, NULL);
		waited += POLL_MS;
		json_object_put(j);
		if (interrupted || waited > bound_ms) {
			if (!json_out)
				fprintf(stderr, "isthmusctl: perftest: %s, stopping both sites\n",
					interrupted ? "interrupted" : "no end in sight");
			j = poll_once(CTL_PERFTEST_STOP);
			continue;
		}
		j = poll_once(CTL_PERFTEST_STATUS);
	}
	if (json_out)
		printf("%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY |
								 JSON_C_TO_STRING_NOSLASHESCAPE));
	else
		print_table(j);
	rc = !strcmp(state, "done") ? EXIT_DONE : EXIT_REFUSED;
	if (o.plot && plot(j, o.plot) < 0)
		rc = EXIT_REFUSED;
	json_object_put(j);
	return rc;
}
