/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * main.c: isthmus-dp, the Isthmus dataplane. Starts EAL, reads the
 * appliance configuration, brings up ports, segments, the MAC table and the
 * SAs, launches one worker per worker lcore, and then, on the main lcore,
 * ages the MAC table, prints counters, and waits for SIGINT/SIGTERM (or for
 * the input to run dry, for tests).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_errno.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>

#include "ha.h"
#include "config.h"
#include "ctl_dp.h"
#include "dp.h"
#include "exception_dp.h"
#include "fdb.h"
#include "isthmus_version.h"
#include "l2guard.h"
#include "log.h"
#include "notify.h"
#include "perftest.h"
#include "port.h"
#include "portloss.h"
#include "sa.h"
#include "telemetry.h"
#include "worker.h"

static struct dp the_dp;

static void usage(FILE *f)
{
	fprintf(f,
"Usage: isthmus-dp [EAL options] -- -c FILE [options]\n"
"   or: isthmus-dp --check-config FILE [--show appliance.name|uplink.tap|ports.af_xdp]\n"
"\n"
"Isthmus dataplane: stretches L2 segments between two appliances over\n"
"ESP-in-UDP (RFC 3948) carrying VXLAN (RFC 7348). One worker per worker lcore\n"
"(EAL -l: the first lcore is the main lcore, which does not forward).\n"
"SIGINT or SIGTERM stop the workers, flush the ports and print the final counters.\n"
"\n"
"Options:\n"
"  -c, --config FILE        appliance configuration (docs/config.md)\n"
"      --stats-interval S   print counters every S seconds (default 0: on exit only)\n"
"      --stats-json FILE    write counters, SA counters and the MAC table as JSON on exit\n"
"      --exit-when-idle MS  exit once no packet arrived for MS milliseconds (tests)\n"
"      --max-seconds S      exit after S seconds\n"
"  -h, --help               this text\n"
"      --version            print the version and exit\n"
"\n"
"  --check-config FILE      check FILE as isthmus-dp would load it and exit,\n"
"                           starting nothing (no EAL, no ports): silent and\n"
"                           status 0 if it is valid, the error and status 1 if\n"
"                           not. With --show KEY, print that setting (one line;\n"
"                           ports.af_xdp: IFACE QUEUES START_QUEUE per af_xdp port)\n"
"\n"
"Exit status:\n"
"  0  stopped cleanly (SIGINT, SIGTERM), or a valid --check-config\n"
"  1  an invalid configuration, a start-up failure or a run-time error\n"
"  2  a usage error, reported before EAL starts\n"
"\n"
"Examples:\n"
"  isthmus-dp -l 0,1 --no-huge -m 256 --no-pci --file-prefix=dp-a \\\n"
"    --vdev=net_pcap0,rx_pcap=local.pcap,tx_pcap=local-out.pcap \\\n"
"    --vdev=net_pcap1,rx_pcap=uplink.pcap,tx_pcap=uplink-out.pcap \\\n"
"    -- -c configs/lab-a.ini --exit-when-idle 500\n");
}

struct opts {
	const char *config;
	const char *stats_json;
	unsigned stats_interval;
	unsigned idle_ms;
	unsigned max_seconds;
};

static int parse_uint_opt(const char *name, const char *v, unsigned max, unsigned *out)
{
	char *end;
	unsigned long x;

	errno = 0;
	x = strtoul(v, &end, 10);
	if (errno || end == v || *end || x > max) {
		fprintf(stderr, "isthmus-dp: --%s: '%s' is not a number in 0..%u\n", name, v, max);
		return -1;
	}
	*out = x;
	return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "stats-interval", required_argument, NULL, 'i' },
		{ "stats-json", required_argument, NULL, 'j' },
		{ "exit-when-idle", required_argument, NULL, 'w' },
		{ "max-seconds", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:h", lo, NULL)) != -1) {
		switch (c) {
		case 'c': o->config = optarg; break;
		case 'j': o->stats_json = optarg; break;
		case 'i': if (parse_uint_opt("stats-interval", optarg, 86400, &o->stats_interval)) return -1; break;
		case 'w': if (parse_uint_opt("exit-when-idle", optarg, 3600000, &o->idle_ms)) return -1; break;
		case 'm': if (parse_uint_opt("max-seconds", optarg, 1u << 30, &o->max_seconds)) return -1; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "isthmus-dp: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	if (o->config == NULL) {
		fprintf(stderr, "isthmus-dp: no configuration file (-c FILE); see --help\n");
		return -1;
	}
	return 0;
}

static void on_signal(int sig)
{
	(void)sig;
	the_dp.stop = true;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ull + ts.tv_nsec / 1000000;
}

static void print_setup(const struct dp *dp)
{
	const struct dp_config *c = dp->cfg;

	printf("isthmus-dp %s: %u worker(s), %u segment(s), burst %u\n", c->name, dp->nb_workers,
	       dp->nb_seg, c->burst);
	for (uint16_t i = 0; i < dp->nb_ports; i++) {
		const struct dp_port *p = &dp->port[i];
		char mac[RTE_ETHER_ADDR_FMT_SIZE];

		rte_ether_format_addr(mac, sizeof(mac), &p->mac);
		printf("  port %-10s dpdk %u %s %s, %u rx / %u tx queues%s\n", p->name, p->port_id, mac,
		       p->role == PORT_UPLINK ? "uplink" : p->mode == CFG_LOCAL_TRUNK ? "trunk" : "access",
		       p->nb_rxq, p->nb_txq,
		       p->tx_ring == NULL ? ""
		       : p->nb_txq < dp->nb_workers ? ", TX ring for workers without a queue"
						    : ", TX ring for the main lcore");
	}
	for (unsigned w = 0; w < dp->nb_workers; w++) {
		const struct worker *wk = dp->worker[w];

		printf("  worker %u lcore %u: spi out 0x%08x, udp src %u, polls", w, wk->lcore,
		       wk->sa_out ? esp_sa_spi(wk->sa_out) : 0, rte_be_to_cpu_16(wk->udp_src_be));
		for (uint16_t q = 0; q < wk->nb_rxq; q++)
			printf(" %s/%u", dp->port[wk->rxq[q].port].name, wk->rxq[q].queue);
		printf("%s\n", wk->nb_rxq ? "" : " nothing");
	}
	fflush(stdout);
}

/* Often enough that an entry outlives its aging time by at most a quarter;
 * segments come and go at run time, so asked again after every pass. */
static uint32_t aging_interval(const struct dp *dp)
{
	uint32_t min_aging = UINT32_MAX;

	for (uint16_t i = 0; i < dp->nb_seg; i++)
		if (!dp->seg[i].removed)
			min_aging = RTE_MIN(min_aging, dp->seg[i].aging_s);
	return min_aging > 4 ? 1000u : min_aging * 250u;
}

/* Main lcore: age, report, and decide when to stop. */
static void control_loop(struct dp *dp, const struct opts *o)
{
	uint64_t start = now_ms(), last_stats = start, last_age = start, last_move = start;
	uint64_t last_tel = 0;
	uint64_t last_rx = UINT64_MAX;
	uint32_t age_every = aging_interval(dp);

	while (!dp->stop) {
		uint64_t t;
		struct dp_stats s;

		rte_delay_us_sleep(2000);
		exception_service(dp);
		l2guard_service(dp);
		ctl_dp_poll(dp);
		sa_service(dp);
		ha_service(dp);
		perftest_service(dp);
		t = now_ms();
		if (t - last_tel >= 100) {
			/* the kernel's drop counters are 32 bits and reset on read */
			portloss_update(dp);
			telemetry_snapshot(dp);
			last_tel = t;
		}
		if (t - last_age >= age_every) {
			dp->fdb_aged += fdb_age(dp->fdb, (uint32_t)(rte_rdtsc() / dp->tsc_hz));
			last_age = t;
			age_every = aging_interval(dp);
		}
		if (o->stats_interval && t - last_stats >= o->stats_interval * 1000ull) {
			dp_stats_print(dp, stdout, 0);
			last_stats = t;
		}
		if (o->max_seconds && t - start >= o->max_seconds * 1000ull)
			break;
		if (o->idle_ms) {
			dp_stats_sum(dp, &s);
			if (s.c[DP_C_local_rx] + s.c[DP_C_uplink_rx] != last_rx) {
				last_rx = s.c[DP_C_local_rx] + s.c[DP_C_uplink_rx];
				last_move = t;
			} else if (t - last_move >= o->idle_ms) {
				break;
			}
		}
	}
	dp->stop = true;
}

/*
 * isthmus-dp --check-config FILE [--show KEY]: the file as config_load()
 * takes it, nothing started (like sshd -t). @return the exit status
 */
static int check_config(int argc, char **argv)
{
	struct dp_config cfg;
	const char *file = argv[2], *show = NULL;
	char err[512];

	if (argc == 5 && !strcmp(argv[3], "--show") &&
	    (!strcmp(argv[4], "appliance.name") || !strcmp(argv[4], "uplink.tap") ||
	     !strcmp(argv[4], "ports.af_xdp")))
		show = argv[4];
	else if (argc != 3) {
		fprintf(stderr, "isthmus-dp: --check-config FILE [--show appliance.name|uplink.tap|"
			"ports.af_xdp]\n");
		return 2;
	}
	if (config_load(file, &cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "isthmus-dp: %s\n", err);
		return 1;
	}
	if (show && !strcmp(show, "ports.af_xdp")) {
		/* "IFACE QUEUES START_QUEUE" per driver = af_xdp port (isthmus-host-prep) */
		for (uint16_t i = 0; i <= cfg.nb_local; i++) {
			const struct cfg_portspec *p = i < cfg.nb_local ? &cfg.local[i].port : &cfg.uplink;

			if (p->driver == CFG_DRV_AF_XDP)
				printf("%s %u %u\n", p->iface, p->queues, p->start_queue);
		}
	} else if (show)
		printf("%s\n", !strcmp(show, "appliance.name") ? cfg.name : cfg.tap);
	config_free(&cfg);
	return 0;
}

/*
 * The options after "--", checked before EAL starts: a usage error costs no
 * hugepages, lock files or log lines of EAL. @return 0 or the exit status
 */
static int early_usage(int argc, char **argv)
{
	struct opts o = { 0 };
	int i = 1;

	while (i < argc && strcmp(argv[i], "--"))
		i++;
	if (i >= argc) {
		fprintf(stderr, "isthmus-dp: no '--' and no -c FILE after it; see --help\n");
		return 2;
	}
	argv[i] = argv[0]; /* getopt's argv[0] for the application's options */
	if (parse_opts(argc - i, argv + i, &o) < 0) {
		argv[i] = "--";
		return 2;
	}
	argv[i] = "--";
	return 0;
}

int main(int argc, char **argv)
{
	struct dp *dp = &the_dp;
	struct dp_config cfg;
	struct opts o = { 0 };
	char err[512];
	int n, rc = 1;

	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--version")) {
			printf("isthmus-dp %s\n", ISTHMUS_VERSION);
			return 0;
		}
	if (argc >= 2 && !strcmp(argv[1], "--check-config"))
		return check_config(argc, argv);
	rc = early_usage(argc, argv);
	if (rc)
		return rc;
	rc = 1;
	/* From the start: a SIGTERM during start-up stops us cleanly too. */
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	/* EAL's lines too: one stream, with priorities under journald (log.h) */
	if (dp_log_init() < 0)
		fprintf(stderr, "isthmus-dp: no log stream: DPDK's own used\n");
	n = rte_eal_init(argc, argv);
	if (n < 0) {
		dp_log(LOG_ERR, "EAL initialisation failed: %s (see --help)", rte_strerror(rte_errno));
		return 1;
	}
	argv[n] = argv[0];
	if (parse_opts(argc - n, argv + n, &o) < 0)
		goto out_eal;
	if (config_load(o.config, &cfg, err, sizeof(err)) < 0) {
		dp_log(LOG_ERR, "%s", err);
		goto out_eal;
	}
	if (dp_init(dp, &cfg, err, sizeof(err)) < 0) {
		dp_log(LOG_ERR, "%s", err);
		goto out;
	}
	if (ctl_dp_open(dp, err, sizeof(err)) < 0) {
		dp_log(LOG_ERR, "%s", err);
		goto out;
	}
	print_setup(dp);

	dp_launch(dp);
	/* the exception TAP (dp_init) and dp.sock exist: isthmusd@ may start */
	snprintf(err, sizeof(err), "forwarding: %u ports, %u workers", dp->nb_ports, dp->nb_workers);
	notify_ready(err);
	control_loop(dp, &o);
	notify_state("STOPPING=1");
	dp_halt(dp);

	dp_stats_print(dp, stdout, 0);
	rc = 0;
	if (o.stats_json && dp_stats_write_json(dp, o.stats_json) < 0) {
		dp_log(LOG_ERR, "%s: %s", o.stats_json, strerror(errno));
		rc = 1;
	}
out:
	ctl_dp_close(dp);
	dp_fini(dp);
	config_free(&cfg);
out_eal:
	rte_eal_cleanup();
	return rc;
}
