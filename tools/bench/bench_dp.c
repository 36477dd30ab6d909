/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * isthmus-bench dp: the real dataplane (dataplane/, the same static library
 * isthmus-dp is built from) in one process, with no NIC in the way.
 *
 * Set-up: two net_ring ports (rte_eth_from_rings), "local" and "uplink",
 * one RX and one TX ring per worker; a configuration written like any
 * appliance's (one access port, one segment, peer_mac fixed) and loaded with
 * config_load(); dp_init(); SAs added at run time with sa_add() as isthmusd
 * does, one outbound and one inbound SA per worker.
 *
 * Each measuring lcore stands for the NIC and the worker at once. A pass:
 *   prepare   (untimed: the NIC's part) K frames in a worker-private set of
 *             mbufs: encap: an Ethernet frame; decap: the same frame as the
 *             peer would send it, encapsulated with encap.h's writers and
 *             sealed with the peer's outbound SA (its next sequence numbers,
 *             so anti-replay sees a fresh, increasing stream)
 *   run       (timed) in bursts: enqueue on the RX ring of the input port,
 *             worker_round() (exactly the loop body of worker_main: rx_burst,
 *             outbound_input or inbound_input, TX, RCU quiescent state), and
 *             dequeue what the real path put on the output port's TX ring.
 * Only packets found on the output TX ring count; their inner frame bytes
 * make Gbit/s. Rates are per worker from its timed TSC cycles, summed over
 * workers; every figure is the median of --trials trials.
 *
 * --rounds K repeats the whole pass over the cells K times and reports each
 * figure as the median of the rounds (each round's ratio listed too): on a
 * shared host a noisy stretch then spoils one round rather than one cell.
 *
 * Raw AEAD: the same backend's AEAD call (struct esp_aead, in place, 8-byte
 * AAD) on buffers of the frame size (IMIX: the same mix), on the CPUs of the
 * trial's N workers at once (one thread each, its own buffers), right after
 * each dataplane trial; ratio = median of the per-trial ratios, N workers
 * against N cores of AEAD.
 *
 * Seal only: esp_seal_burst() alone (an SA of the same cipher, backend and
 * ESN as the bridge's, one per worker CPU) on the payload the bridge seals
 * for the frame (inner IPv4, UDP, VXLAN and the frame: TUN_INNER_LEN + size),
 * in bursts of the worker's burst size, on the same CPUs right after the
 * AEAD trial. So beside each cell: what ESP itself costs per packet (header,
 * nonce, padding, trailer, ICV and the AEAD), the bridge's rate as a share of
 * it, and the bridge's own nanoseconds per packet per worker (its ns/pkt
 * minus seal's: parsing, the MAC table, VXLAN and outer headers, the rings).
 * Decap cells are set against sealing too: opening runs the same AEAD over
 * the same bytes, plus a replay-window check of a few ns.
 */
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_eth_ring.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "backend.h"
#include "bench.h"
#include "config.h"
#include "dp.h"
#include "encap.h"
#include "esp.h"
#include "inbound.h"
#include "outbound.h"
#include "port.h"
#include "sa.h"
#include "worker.h"

#define SET_MAX 4096            /* frames per worker set */
#define RING_SIZE 1024
#define NMAC 64                 /* hosts per side, at most (--hosts) */
#define MAX_SIZES 16
#define MAX_ROUNDS 21           /* --rounds */
#define IMIX_LABEL 0            /* sizes[] value standing for IMIX */

/* Simple IMIX 7:4:1 (64, 576, 1500-byte frames), interleaved. */
static const uint16_t imix_pattern[] = { 64, 576, 64, 64, 576, 64, 1500, 64, 576, 64, 576, 64 };
#define IMIX_LEN (sizeof(imix_pattern) / sizeof(imix_pattern[0]))
static const uint32_t default_sizes[] = { 64, 128, 256, 512, 1024, 1400, 1514, IMIX_LABEL };

enum dir { DIR_ENCAP = 0, DIR_DECAP = 1 };
static const char *const dir_name[] = { "encap", "decap" };

/* One measuring lcore: a worker of the dataplane plus its traffic. */
struct bw {
	struct dp *dp;
	struct worker *w;
	unsigned k;                      /* worker index */
	struct rte_ring *lrx, *ltx, *urx, *utx;
	struct rte_mbuf *set[SET_MAX];
	unsigned nset;
	struct esp_sa *peer;             /* decap: the peer's sealing SA */
	uint32_t spi_out, spi_in;
	uint16_t ip_id;
	/* the trial */
	enum dir dir;
	const uint16_t *pat;             /* frame sizes, repeated */
	unsigned npat;
	uint64_t trial_cycles;
	/* results */
	uint64_t fed, pkts, bytes, cycles, cpu_ns;
	atomic_int done;
	int error;
};

struct run {
	struct dp dp;
	struct dp_config cfg;
	struct bw *bw[DP_MAX_WORKERS];
	unsigned nw;
	enum esp_backend backend;
	struct rte_ether_addr lmac[NMAC], rmac[NMAC], peer_mac;
	unsigned nmac;                   /* hosts per side in use (--hosts) */
	double hz;
};

static struct run R;

/* CPU time this thread was given, in ns: the machine is shared, and a worker
 * preempted by another process should not be billed for it. */
static uint64_t thread_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- traffic ---------------------------------------------------------- */

static void frame_hdr(uint8_t *f, const struct rte_ether_addr *dst, const struct rte_ether_addr *src)
{
	struct rte_ether_hdr *e = (struct rte_ether_hdr *)f;

	rte_ether_addr_copy(dst, &e->dst_addr);
	rte_ether_addr_copy(src, &e->src_addr);
	e->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
}

static void mbuf_reset(struct rte_mbuf *m, uint16_t data_off)
{
	m->data_off = data_off;
	m->nb_segs = 1;
	m->next = NULL;
	m->ol_flags = 0;
	m->packet_type = 0;
	m->data_len = 0;
	m->pkt_len = 0;
}

/* Encap input: plain frames from local hosts to remote hosts. */
static void prepare_encap(struct bw *b)
{
	for (unsigned i = 0; i < b->nset; i++) {
		struct rte_mbuf *m = b->set[i];
		uint16_t len = b->pat[i % b->npat];

		mbuf_reset(m, RTE_PKTMBUF_HEADROOM);
		m->data_len = m->pkt_len = len;
		m->hash.usr = len;
		frame_hdr(rte_pktmbuf_mtod(m, uint8_t *), &R.rmac[i % R.nmac], &R.lmac[i % R.nmac]);
	}
}

/* Decap input: what the peer's worker k sends, built with the same writers. */
static int prepare_decap(struct bw *b)
{
	const struct dp_config *c = &R.cfg;
	const struct dp_port *up = &R.dp.port[R.dp.uplink];
	uint32_t in_sum = ipv4_sum_base(c->peer_vtep, c->local_vtep);
	uint32_t out_sum = ipv4_sum_base(c->peer_ip, c->uplink_ip);
	uint32_t vni_be = R.dp.seg[0].vxlan_vni_be;
	struct esp_pkt ep[DP_BURST_MAX];

	for (unsigned i0 = 0; i0 < b->nset; i0 += DP_BURST_MAX) {
		unsigned n = RTE_MIN((unsigned)DP_BURST_MAX, b->nset - i0);

		for (unsigned j = 0; j < n; j++) {
			unsigned i = i0 + j;
			struct rte_mbuf *m = b->set[i];
			uint16_t len = b->pat[i % b->npat];
			uint8_t *hdr;

			mbuf_reset(m, RTE_PKTMBUF_HEADROOM);
			m->hash.usr = len;
			hdr = rte_pktmbuf_mtod(m, uint8_t *);
			frame_hdr(hdr + TUN_HDR_LEN, &R.lmac[i % R.nmac], &R.rmac[i % R.nmac]);
			encap_inner(hdr + OFF_INNER_IP, len, c->peer_vtep, c->local_vtep, in_sum, vni_be);
			ep[j] = (struct esp_pkt){
				.buf = hdr + OFF_ESP,
				.len = TUN_INNER_LEN + len,
				.room = rte_pktmbuf_tailroom(m) - OFF_ESP,
				.next_header = IPPROTO_IPIP,
			};
		}
		if (esp_seal_burst(b->peer, ep, n) != n) {
			fprintf(stderr, "isthmus-bench dp: peer seal failed: %s\n",
				esp_status_name(ep[0].status));
			return -1;
		}
		for (unsigned j = 0; j < n; j++) {
			struct rte_mbuf *m = b->set[i0 + j];

			m->data_len = m->pkt_len = OFF_ESP + ep[j].len;
			encap_outer(rte_pktmbuf_mtod(m, uint8_t *), &up->mac, &R.peer_mac, c->peer_ip,
				    c->uplink_ip, out_sum, rte_cpu_to_be_16(NATT_PORT + 1 + b->k),
				    RTE_BE16(NATT_PORT), b->ip_id++,
				    ep[j].len);
		}
	}
	return 0;
}

/* Collect what the real path transmitted on the output port. */
static inline void collect(struct bw *b, struct rte_ring *r)
{
	struct rte_mbuf *out[DP_BURST_MAX];
	unsigned n;

	while ((n = rte_ring_sc_dequeue_burst(r, (void **)out, DP_BURST_MAX, NULL)) > 0) {
		b->pkts += n;
		for (unsigned i = 0; i < n; i++)
			b->bytes += out[i]->hash.usr;
	}
}

static int bench_lcore(void *arg)
{
	struct bw *b = arg;
	struct rte_mbuf *scratch[DP_BURST_MAX];
	struct rte_ring *in = b->dir == DIR_ENCAP ? b->lrx : b->urx;
	struct rte_ring *out = b->dir == DIR_ENCAP ? b->utx : b->ltx;
	const unsigned burst = b->w->burst;

	b->fed = b->pkts = b->bytes = b->cycles = b->cpu_ns = 0;
	b->error = 0;
	rte_rcu_qsbr_thread_online(R.dp.qsbr, b->k);
	while (b->cycles < b->trial_cycles) {
		uint64_t t0, c0;

		if (b->dir == DIR_ENCAP)
			prepare_encap(b);
		else if (prepare_decap(b) < 0) {
			b->error = 1;
			break;
		}
		c0 = thread_ns();
		t0 = rte_rdtsc();
		for (unsigned i = 0; i < b->nset; i += burst) {
			unsigned n = RTE_MIN(burst, b->nset - i);

			rte_ring_sp_enqueue_burst(in, (void **)&b->set[i], n, NULL);
			worker_round(b->w, scratch);
			collect(b, out);
		}
		collect(b, out);
		b->cycles += rte_rdtsc() - t0;
		b->cpu_ns += thread_ns() - c0;
		b->fed += b->nset;
		if (b->pkts != b->fed) {
			/* Dropped frames went back to the pool: never reuse them. */
			b->error = 2;
			break;
		}
	}
	rte_rcu_qsbr_thread_offline(R.dp.qsbr, b->k);
	atomic_store(&b->done, 1);
	return 0;
}

/* ---- SAs ---------------------------------------------------------------- */

static int sas_set(enum esp_cipher cipher, int gen)
{
	char err[256];

	for (unsigned k = 0; k < R.nw; k++) {
		struct bw *b = R.bw[k];
		uint8_t km_out[ESP_KEYMAT_LEN], km_in[ESP_KEYMAT_LEN];
		struct sa_spec so, si;
		struct esp_sa_params pp;

		if (b->spi_out) {
			sa_del(&R.dp, b->spi_out, ESP_DIR_OUTBOUND);
			sa_del(&R.dp, b->spi_in, ESP_DIR_INBOUND);
			esp_sa_destroy(b->peer);
			b->peer = NULL;
		}
		randombytes_buf(km_out, sizeof(km_out));
		randombytes_buf(km_in, sizeof(km_in));
		b->spi_out = 0x10000000u + (uint32_t)gen * 0x100 + k;
		b->spi_in = 0x20000000u + (uint32_t)gen * 0x100 + k;
		so = (struct sa_spec){ .dir = ESP_DIR_OUTBOUND, .spi = b->spi_out, .cipher = cipher,
				       .esn = true, .replay_window = ESP_REPLAY_WINDOW_DEFAULT,
				       .keymat = km_out, .worker = (int)k,
				       .peer_ip = R.cfg.peer_ip, .peer_port = NATT_PORT };
		si = so;
		si.dir = ESP_DIR_INBOUND;
		si.spi = b->spi_in;
		si.keymat = km_in;
		si.worker = -1;
		if (sa_add(&R.dp, &so, err, sizeof(err)) < 0 || sa_add(&R.dp, &si, err, sizeof(err)) < 0) {
			fprintf(stderr, "isthmus-bench dp: %s\n", err);
			return -1;
		}
		if (R.dp.worker[k]->sa_out == NULL) {
			fprintf(stderr, "isthmus-bench dp: worker %u got no outbound SA\n", k);
			return -1;
		}
		pp = (struct esp_sa_params){ .cipher = cipher, .backend = R.backend,
					     .dir = ESP_DIR_OUTBOUND, .spi = b->spi_in,
					     .keymat = km_in, .keymat_len = ESP_KEYMAT_LEN,
					     .esn = true };
		b->peer = esp_sa_create(&pp, err, sizeof(err));
		sodium_memzero(km_out, sizeof(km_out));
		sodium_memzero(km_in, sizeof(km_in));
		if (b->peer == NULL) {
			fprintf(stderr, "isthmus-bench dp: peer SA: %s\n", err);
			return -1;
		}
	}
	return 0;
}

/* ---- set-up --------------------------------------------------------------- */

static int ring_port(const char *name, struct rte_ring **rx, struct rte_ring **tx, char *devname,
		     size_t len)
{
	int id = rte_eth_from_rings(name, rx, R.nw, tx, R.nw, rte_socket_id());

	if (id < 0 || rte_eth_dev_get_name_by_port((uint16_t)id, devname) != 0) {
		fprintf(stderr, "isthmus-bench dp: rte_eth_from_rings(%s) failed\n", name);
		return -1;
	}
	(void)len;
	return 0;
}

static int setup(unsigned set_size)
{
	struct rte_ring *lrx[DP_MAX_WORKERS], *ltx[DP_MAX_WORKERS], *urx[DP_MAX_WORKERS],
		*utx[DP_MAX_WORKERS];
	char lname[RTE_ETH_NAME_MAX_LEN], uname[RTE_ETH_NAME_MAX_LEN], path[] = "/tmp/isthmus-bench-XXXXXX";
	char err[256];
	FILE *f;
	int fd;

	R.nw = rte_lcore_count() - 1;
	if (R.nw == 0 || R.nw > DP_MAX_WORKERS) {
		fprintf(stderr, "isthmus-bench dp: need 1..%d worker lcores\n", DP_MAX_WORKERS);
		return -1;
	}
	for (unsigned k = 0; k < R.nw; k++) {
		char n[RTE_RING_NAMESIZE];
		const unsigned fl = RING_F_SP_ENQ | RING_F_SC_DEQ;

		snprintf(n, sizeof(n), "bench_lrx%u", k);
		lrx[k] = rte_ring_create(n, RING_SIZE, rte_socket_id(), fl);
		snprintf(n, sizeof(n), "bench_ltx%u", k);
		ltx[k] = rte_ring_create(n, RING_SIZE, rte_socket_id(), fl);
		snprintf(n, sizeof(n), "bench_urx%u", k);
		urx[k] = rte_ring_create(n, RING_SIZE, rte_socket_id(), fl);
		snprintf(n, sizeof(n), "bench_utx%u", k);
		utx[k] = rte_ring_create(n, RING_SIZE, rte_socket_id(), fl);
		if (!lrx[k] || !ltx[k] || !urx[k] || !utx[k]) {
			fprintf(stderr, "isthmus-bench dp: rings: out of memory\n");
			return -1;
		}
	}
	if (ring_port("bench_local", lrx, ltx, lname, sizeof(lname)) < 0 ||
	    ring_port("bench_uplink", urx, utx, uname, sizeof(uname)) < 0)
		return -1;

	fd = mkstemp(path);
	if (fd < 0 || (f = fdopen(fd, "w")) == NULL) {
		perror("isthmus-bench dp: temporary configuration");
		return -1;
	}
	fprintf(f,
		"; isthmus-bench dp: generated\n"
		"[appliance]\nname = bench\nrx_mode = poll\nburst = 32\nmbufs = %u\nmac_table_size = 4096\n"
		"[uplink]\nport = %s\naddress = 198.18.0.1\npeer = 198.18.0.2\n"
		"peer_mac = 02:00:5e:12:00:02\nmtu = 1700\nlocal_vtep = 198.19.0.1\n"
		"peer_vtep = 198.19.0.2\n"
		"[local lan]\nport = %s\nmode = access\nmtu = 1500\n"
		"[segment web]\nlocal = lan\nvni = 5101\nmac_limit = 1024\n",
		R.nw * set_size + 4096, uname, lname);
	fclose(f);
	if (config_load(path, &R.cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "isthmus-bench dp: config: %s\n", err);
		unlink(path);
		return -1;
	}
	unlink(path);
	R.cfg.backend = R.backend;
	if (dp_init(&R.dp, &R.cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "isthmus-bench dp: dp_init: %s\n", err);
		return -1;
	}
	R.peer_mac = R.cfg.peer_mac;
	for (unsigned i = 0; i < NMAC; i++) {
		R.lmac[i] = (struct rte_ether_addr){ { 0x02, 0, 0, 0xa0, 0, (uint8_t)i } };
		R.rmac[i] = (struct rte_ether_addr){ { 0x02, 0, 0, 0xb0, 0, (uint8_t)i } };
	}
	for (unsigned k = 0; k < R.nw; k++) {
		struct bw *b = calloc(1, sizeof(*b));

		if (b == NULL)
			return -1;
		b->dp = &R.dp;
		b->w = R.dp.worker[k];
		b->k = k;
		b->lrx = lrx[k];
		b->ltx = ltx[k];
		b->urx = urx[k];
		b->utx = utx[k];
		b->nset = set_size;
		if (rte_pktmbuf_alloc_bulk(R.dp.pool, b->set, set_size) != 0) {
			fprintf(stderr, "isthmus-bench dp: mbufs: pool too small\n");
			return -1;
		}
		/* Worker k must poll queue k of both ports (ports_assign deals them so). */
		if (b->w->nb_rxq != 2 || b->w->rxq[0].queue != k || b->w->rxq[1].queue != k) {
			fprintf(stderr, "isthmus-bench dp: unexpected queue plan for worker %u\n", k);
			return -1;
		}
		rte_rcu_qsbr_thread_register(R.dp.qsbr, k);
		R.bw[k] = b;
	}
	return 0;
}

/* ---- measuring ------------------------------------------------------------ */

struct fig {
	double mpps, gbps, cpp, delivered;   /* cpp: TSC cycles per packet per worker */
	double cpu;                          /* CPU time the workers got / wall time */
};

/* One trial with workers 0..nw-1 (each on its own lcore). */
static struct fig trial(enum dir d, const uint16_t *pat, unsigned npat, unsigned nw, uint64_t ns)
{
	struct fig f = { 0, 0, 0, 0, 0 };
	uint64_t fed = 0, pkts = 0;
	double cpp = 0, cpu = 0;

	for (unsigned k = 0; k < nw; k++) {
		struct bw *b = R.bw[k];

		b->dir = d;
		b->pat = pat;
		b->npat = npat;
		b->trial_cycles = (uint64_t)(ns * R.hz / 1e9);
		atomic_store(&b->done, 0);
		if (rte_eal_remote_launch(bench_lcore, b, b->w->lcore) != 0) {
			fprintf(stderr, "isthmus-bench dp: lcore %u busy\n", b->w->lcore);
			exit(1);
		}
	}
	/* Sleep, do not spin: with as many workers as cores, this lcore shares one. */
	for (unsigned k = 0; k < nw; k++) {
		while (!atomic_load(&R.bw[k]->done))
			usleep(500);
		rte_eal_wait_lcore(R.bw[k]->w->lcore);
	}
	for (unsigned k = 0; k < nw; k++) {
		struct bw *b = R.bw[k];
		double s = b->cpu_ns / 1e9;       /* per CPU-second of the worker */

		if (b->error) {
			fprintf(stderr, "isthmus-bench dp: worker %u: %s\n", k,
				b->error == 1 ? "peer sealing failed"
					      : "the path dropped frames; its counters:");
			for (int i = 0; i < DP_C_MAX; i++)
				if (b->w->stats.c[i])
					fprintf(stderr, "  %s %llu\n", dp_counter_name(i),
						(unsigned long long)b->w->stats.c[i]);
			exit(1);
		}
		f.mpps += b->pkts / s / 1e6;
		f.gbps += b->bytes * 8.0 / s / 1e9;
		cpp += b->pkts ? s * R.hz / b->pkts : 0;
		cpu += b->cpu_ns / (b->cycles / R.hz * 1e9);
		fed += b->fed;
		pkts += b->pkts;
	}
	f.cpp = cpp / nw;
	f.cpu = cpu / nw;
	f.delivered = fed ? (double)pkts / fed : 0;
	return f;
}

/* One raw AEAD job per worker lcore of the trial, run right after each dataplane trial. */
struct aead_job {
	const struct esp_aead *a;
	union esp_key_state *ks;
	uint8_t **bufs;
	const uint16_t *pat;
	unsigned npat;
	uint64_t ns;
	double gbps;
};
static double aead_on_workers(struct aead_job *j, unsigned nw);

/* One esp_seal_burst job per worker lcore of the trial, run right after the AEAD trial. */
struct seal_job {
	struct esp_sa *sa;               /* outbound, same cipher/backend/ESN as the bridge's */
	uint8_t *bufs[DP_BURST_MAX];
	const uint16_t *pat;
	unsigned npat;
	unsigned burst;
	uint64_t ns;
	double mpps;                     /* per CPU-second of the thread */
};
static double seal_on_workers(struct seal_job *j, unsigned nw);

/*
 * Median of @p trials dataplane trials, each followed by a raw AEAD trial of
 * the same pattern on the same @p nw worker CPUs at once (one job each, its
 * own buffers): the ratio is the median of the per-trial ratios, so both
 * sides of it saw the same moment of a shared machine, and with N workers it
 * compares them with what N cores of AEAD do together here (two vCPUs of a VM
 * need not scale 2x even for the bare cipher).
 */
/* What sealing alone gives beside a cell: medians of the per-trial figures. */
struct seal_fig {
	double mpps;                     /* esp_seal_burst alone, summed over the N CPUs */
	double ratio;                    /* the bridge's Mpps / seal's */
	double ovh_ns;                   /* the bridge's ns/pkt per worker minus seal's */
};

static struct fig median_trials(enum dir d, const uint16_t *pat, unsigned npat, unsigned nw,
				int trials, uint64_t ns, struct aead_job *aj, struct seal_job *sj,
				double *aead, double *ratio, struct seal_fig *seal)
{
	double m[101], g[101], c[101], dl[101], u[101], ag[101], rt[101], sm[101], sr[101], so[101];
	struct fig f;

	for (unsigned k = 0; k < nw; k++) {
		aj[k].pat = sj[k].pat = pat;
		aj[k].npat = sj[k].npat = npat;
		aj[k].ns = sj[k].ns = ns / 5 + 1000000;
	}
	(void)trial(d, pat, npat, nw, ns / 5 + 1000000);
	(void)aead_on_workers(aj, nw);
	(void)seal_on_workers(sj, nw);
	for (unsigned k = 0; k < nw; k++)
		aj[k].ns = sj[k].ns = ns;
	for (int t = 0; t < trials; t++) {
		f = trial(d, pat, npat, nw, ns);
		m[t] = f.mpps;
		g[t] = f.gbps;
		c[t] = f.cpp;
		dl[t] = f.delivered;
		u[t] = f.cpu;
		ag[t] = aead_on_workers(aj, nw);
		rt[t] = ag[t] > 0 ? g[t] / ag[t] : 0;
		sm[t] = seal_on_workers(sj, nw);
		sr[t] = sm[t] > 0 ? m[t] / sm[t] : 0;
		/* per worker: N workers at N x Mpps each spend N/Mpps us per packet */
		so[t] = m[t] > 0 && sm[t] > 0 ? nw * 1e3 / m[t] - nw * 1e3 / sm[t] : 0;
	}
	f.cpu = bench_median(u, trials);
	f.mpps = bench_median(m, trials);
	f.gbps = bench_median(g, trials);
	f.cpp = bench_median(c, trials);
	f.delivered = bench_median(dl, trials);
	*aead = bench_median(ag, trials);
	*ratio = bench_median(rt, trials);
	seal->mpps = bench_median(sm, trials);
	seal->ratio = bench_median(sr, trials);
	seal->ovh_ns = bench_median(so, trials);
	return f;
}

/* Raw AEAD of the same backend on frame-size buffers, on the calling lcore (a worker CPU). */
static double aead_trial(const struct esp_aead *a, union esp_key_state *ks, uint8_t **bufs,
			 const uint16_t *pat, unsigned npat, uint64_t ns)
{
	static const uint8_t aad[8] = { 0, 0, 0x12, 0x34, 0, 0, 0, 1 };
	static const uint8_t nonce[12] = { 1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 1 };
	struct esp_aead_op op[DP_BURST_MAX];
	uint64_t t0 = bench_now_ns(), t1, c0 = thread_ns(), bytes = 0, burst_bytes = 0;

	for (unsigned i = 0; i < 32; i++) {
		op[i] = (struct esp_aead_op){ .data = bufs[i], .len = pat[i % npat], .aad = aad,
					      .aad_len = 8, .nonce = nonce,
					      .tag = bufs[i] + pat[i % npat] };
		burst_bytes += pat[i % npat];
	}
	do {
		for (unsigned i = 0; i < 32; i++)
			a->seal(ks, &op[i]);
		bytes += burst_bytes;
		t1 = bench_now_ns();
	} while (t1 - t0 < ns);
	return bytes * 8.0 / (double)(thread_ns() - c0);
}


static int aead_lcore(void *arg)
{
	struct aead_job *j = arg;

	j->gbps = aead_trial(j->a, j->ks, j->bufs, j->pat, j->npat, j->ns);
	return 0;
}

/*
 * @p fn on workers 0..nw-1's lcores at once, job k (@p size bytes each, from
 * @p jobs) on worker k's; back when all are done. Waits asleep: this thread
 * may share a CPU with a worker, and rte_eal_wait_lcore() spins.
 */
static void run_on_workers(lcore_function_t *fn, void *jobs, size_t size, unsigned nw)
{
	for (unsigned k = 0; k < nw; k++)
		if (rte_eal_remote_launch(fn, (char *)jobs + k * size, R.bw[k]->w->lcore) != 0)
			exit(1);
	for (unsigned k = 0; k < nw; k++) {
		unsigned lc = R.bw[k]->w->lcore;

		while (rte_eal_get_lcore_state(lc) != WAIT)
			usleep(200);
		rte_eal_wait_lcore(lc);
	}
}

/* Raw AEAD on workers 0..nw-1's lcores at once; their Gbit/s summed. */
static double aead_on_workers(struct aead_job *j, unsigned nw)
{
	double sum = 0;

	run_on_workers(aead_lcore, j, sizeof(*j), nw);
	for (unsigned k = 0; k < nw; k++)
		sum += j[k].gbps;
	return sum;
}

/*
 * esp_seal_burst() alone on the calling lcore (a worker CPU): the tunnel
 * payload of each frame size (TUN_INNER_LEN + frame, as outbound.c hands it
 * to ESP), re-sealed in place burst after burst (the bytes need not make
 * sense to be encrypted). @return Mpps per CPU-second of this thread
 */
static double seal_trial(struct seal_job *j)
{
	struct esp_pkt ep[DP_BURST_MAX];
	uint64_t t0 = bench_now_ns(), c0 = thread_ns(), pkts = 0;
	unsigned next = 0;

	do {
		for (unsigned i = 0; i < j->burst; i++)
			ep[i] = (struct esp_pkt){ .buf = j->bufs[i],
						  .len = TUN_INNER_LEN + j->pat[next++ % j->npat],
						  .room = 2048, .next_header = IPPROTO_IPIP };
		pkts += esp_seal_burst(j->sa, ep, (uint16_t)j->burst);
	} while (bench_now_ns() - t0 < j->ns);
	return pkts / ((double)(thread_ns() - c0) / 1e9) / 1e6;
}

static int seal_lcore(void *arg)
{
	struct seal_job *j = arg;

	j->mpps = seal_trial(j);
	return 0;
}

/* esp_seal_burst alone on workers 0..nw-1's lcores at once; their Mpps summed. */
static double seal_on_workers(struct seal_job *j, unsigned nw)
{
	double sum = 0;

	run_on_workers(seal_lcore, j, sizeof(*j), nw);
	for (unsigned k = 0; k < nw; k++)
		sum += j[k].mpps;
	return sum;
}

/* ---- output ----------------------------------------------------------------- */

struct row {
	enum dir dir;
	enum esp_cipher cipher;
	uint32_t size;                  /* IMIX_LABEL for IMIX */
	unsigned workers;
	struct fig f;
	double aead, ratio;
	struct seal_fig seal;           /* esp_seal_burst alone, same payload, same moment */
	double round_ratio[MAX_ROUNDS]; /* --rounds: each round's ratio, in order */
	unsigned nrounds;
};

/* Row @p i of every round (rows[k * cells + i]) into @p m, each figure their median. */
static void row_median(struct row *m, const struct row *rows, unsigned cells, unsigned rounds,
		       unsigned i)
{
	double v[10][MAX_ROUNDS];

	*m = rows[i];
	for (unsigned k = 0; k < rounds; k++) {
		const struct row *r = &rows[k * cells + i];

		v[0][k] = r->f.mpps;
		v[1][k] = r->f.gbps;
		v[2][k] = r->f.cpp;
		v[3][k] = r->f.delivered;
		v[4][k] = r->f.cpu;
		v[5][k] = r->aead;
		v[6][k] = r->ratio;
		v[7][k] = r->seal.mpps;
		v[8][k] = r->seal.ratio;
		v[9][k] = r->seal.ovh_ns;
		m->round_ratio[k] = r->ratio;
	}
	m->nrounds = rounds;
	m->f.mpps = bench_median(v[0], (int)rounds);
	m->f.gbps = bench_median(v[1], (int)rounds);
	m->f.cpp = bench_median(v[2], (int)rounds);
	/* a frame lost in any round shows */
	m->f.delivered = v[3][0];
	for (unsigned k = 1; k < rounds; k++)
		m->f.delivered = RTE_MIN(m->f.delivered, v[3][k]);
	m->f.cpu = bench_median(v[4], (int)rounds);
	m->aead = bench_median(v[5], (int)rounds);
	m->ratio = bench_median(v[6], (int)rounds);
	m->seal.mpps = bench_median(v[7], (int)rounds);
	m->seal.ratio = bench_median(v[8], (int)rounds);
	m->seal.ovh_ns = bench_median(v[9], (int)rounds);
}

static unsigned imix_mean(void)
{
	unsigned s = 0;

	for (unsigned i = 0; i < IMIX_LEN; i++)
		s += imix_pattern[i];
	return (s + IMIX_LEN / 2) / IMIX_LEN;
}

static void print_row(const struct row *r, bool json, bool first)
{
	char label[16];

	if (r->size == IMIX_LABEL)
		snprintf(label, sizeof(label), "imix");
	else
		snprintf(label, sizeof(label), "%u", r->size);
	if (json)
		printf("%s\n{\"direction\":\"%s\",\"cipher\":\"%s\",\"backend\":\"%s\","
		       "\"frame_size\":%u,\"label\":\"%s\",\"workers\":%u,\"mpps\":%.3f,"
		       "\"gbps\":%.3f,\"aead_gbps\":%.3f,\"ratio\":%.3f,\"cycles_per_pkt\":%.0f,"
		       "\"delivered\":%.4f,\"cpu_share\":%.3f,\"seal_mpps\":%.3f,"
		       "\"seal_ratio\":%.3f,\"bridge_ns_per_pkt\":%.1f",
		       first ? "" : ",", dir_name[r->dir], esp_cipher_name(r->cipher),
		       esp_backend_name(R.backend), r->size == IMIX_LABEL ? imix_mean() : r->size,
		       label, r->workers, r->f.mpps, r->f.gbps, r->aead,
		       r->ratio, r->f.cpp, r->f.delivered, r->f.cpu, r->seal.mpps, r->seal.ratio,
		       r->seal.ovh_ns);
	else
		printf("%-6s %-17s %2u %6s | %7.3f %8.2f | %8.2f %6.3f | %7.3f %6.3f %7.1f | %7.0f %5.2f",
		       dir_name[r->dir], esp_cipher_name(r->cipher), r->workers, label, r->f.mpps,
		       r->f.gbps, r->aead, r->ratio, r->seal.mpps, r->seal.ratio, r->seal.ovh_ns,
		       r->f.cpp, r->f.cpu);
	/* --rounds: every round's ratio, so the spread behind the median shows */
	if (r->nrounds > 1) {
		printf(json ? ",\"ratio_rounds\":[" : " |");
		for (unsigned k = 0; k < r->nrounds; k++)
			printf("%s%.3f", json && k ? "," : " ", r->round_ratio[k]);
		printf(json ? "]" : "");
	}
	if (json)
		printf("}");
	else
		printf("%s\n", r->f.delivered < 0.9999 ? " LOSS" : "");
	fflush(stdout);
}

static int plot(const char *png, const struct row *rows, unsigned nrows, const enum esp_cipher *ciphers,
		int nc, unsigned nw)
{
	char dat[] = "/tmp/isthmus-bench-plot-XXXXXX";
	int fd = mkstemp(dat);
	FILE *f, *g;

	if (fd < 0 || (f = fdopen(fd, "w")) == NULL)
		return -1;
	/* One gnuplot data block per (cipher, series): size gbps. */
	for (int c = 0; c < nc; c++) {
		for (int s = 0; s < 5; s++) {
			fprintf(f, "# cipher %d series %d\n", c, s);
			for (unsigned i = 0; i < nrows; i++) {
				const struct row *r = &rows[i];

				if (r->cipher != ciphers[c] || r->size == IMIX_LABEL)
					continue;
				if (s == 4 && r->dir == DIR_ENCAP && r->workers == 1)
					fprintf(f, "%u %.3f\n", r->size, r->aead);
				else if (s < 4 && r->dir == (enum dir)(s & 1) &&
					 r->workers == ((s & 2) ? nw : 1))
					fprintf(f, "%u %.3f\n", r->size, r->f.gbps);
			}
			fprintf(f, "\n\n");
		}
	}
	fclose(f);
	g = popen("gnuplot", "w");
	if (g == NULL) {
		unlink(dat);
		return -1;
	}
	fprintf(g, "set terminal pngcairo size 1200,%d font ',10'\nset output '%s'\n", 420 * nc, png);
	fprintf(g, "set multiplot layout %d,1 title 'isthmus-bench dp (%s, one process, no NIC): "
		   "inner frame Gbit/s, median'\n", nc, esp_backend_name(R.backend));
	fprintf(g, "set xlabel 'frame bytes'\nset ylabel 'Gbit/s'\nset logscale x 2\n"
		   "set xtics (64,128,256,512,1024,1400,1514)\nset grid\nset key left top\n");
	for (int c = 0; c < nc; c++) {
		int b = c * 5;

		fprintf(g, "set title '%s'\n", esp_cipher_name(ciphers[c]));
		fprintf(g, "plot '%s' index %d w lp t 'encap+encrypt, 1 worker', "
			   "'' index %d w lp t 'decrypt+decap, 1 worker'", dat, b, b + 1);
		if (nw > 1)
			fprintf(g, ", '' index %d w lp t 'encap+encrypt, %u workers', "
				   "'' index %d w lp t 'decrypt+decap, %u workers'", b + 2, nw, b + 3, nw);
		fprintf(g, ", '' index %d w lp dt 2 t 'raw AEAD, 1 core'\n", b + 4);
	}
	fprintf(g, "unset multiplot\n");
	int rc = pclose(g);

	unlink(dat);
	return rc == 0 ? 0 : -1;
}

/* ---- command line ------------------------------------------------------------- */

/* What one pass measures: the cells of the command line. */
struct plan {
	enum esp_cipher ciphers[2];
	int nc;
	enum dir dirs[2];
	int ndir;
	unsigned wcounts[2];             /* 1 worker, and all of them */
	int nwc;
	uint32_t sizes[MAX_SIZES];       /* IMIX_LABEL for IMIX */
	int ns;
	int trials;
	uint64_t trial_ns;
	bool json;
};

static struct plan P;

/* Worker @p k's seal-only job: its own outbound SA (a fresh key) and buffers. */
static int seal_job_init(struct seal_job *j, enum esp_cipher cipher, unsigned k)
{
	uint8_t km[ESP_KEYMAT_LEN];
	char err[256];
	struct esp_sa_params pp = { .cipher = cipher, .backend = R.backend, .dir = ESP_DIR_OUTBOUND,
				    .spi = 0x30000000u + k, .keymat = km,
				    .keymat_len = ESP_KEYMAT_LEN, .esn = true };

	*j = (struct seal_job){ .burst = R.dp.worker[k]->burst };
	randombytes_buf(km, sizeof(km));
	j->sa = esp_sa_create(&pp, err, sizeof(err));
	sodium_memzero(km, sizeof(km));
	if (j->sa == NULL) {
		fprintf(stderr, "isthmus-bench dp: seal-only SA: %s\n", err);
		return -1;
	}
	for (unsigned i = 0; i < j->burst; i++) {
		j->bufs[i] = aligned_alloc(64, 2048);
		if (j->bufs[i] == NULL)
			return -1;
		memset(j->bufs[i], (int)i, 2048);
	}
	return 0;
}

static void seal_job_fini(struct seal_job *j)
{
	for (unsigned i = 0; i < j->burst; i++)
		free(j->bufs[i]);
	esp_sa_destroy(j->sa);
}

/*
 * Every cell of cipher @p c (directions x worker counts x sizes) into @p out,
 * with fresh SAs of generation @p gen. @p first: print each row as it is
 * measured (NULL: do not). @return the number of rows, or -1
 */
static int measure_cipher(int c, int gen, struct row *out, int *first)
{
	static union esp_key_state ks;
	uint8_t km[ESP_KEYMAT_LEN];
	struct aead_job aj[DP_MAX_WORKERS];
	struct seal_job sj[DP_MAX_WORKERS];
	int n = 0;

	if (sas_set(P.ciphers[c], gen) < 0)
		return -1;
	randombytes_buf(km, sizeof(km));
	aj[0].a = esp_aead_get(R.backend, P.ciphers[c]);
	if (aj[0].a == NULL || aj[0].a->key_init(&ks, km) != 0) {
		fprintf(stderr, "isthmus-bench dp: %s: no AEAD\n", esp_cipher_name(P.ciphers[c]));
		return -1;
	}
	/* one job per worker CPU, each sealing its own buffers (the key state is only read) */
	for (unsigned k = 0; k < R.nw; k++) {
		aj[k] = (struct aead_job){ .a = aj[0].a, .ks = &ks, .bufs = calloc(32, sizeof(uint8_t *)) };
		if (aj[k].bufs == NULL)
			return -1;
		for (int i = 0; i < 32; i++) {
			aj[k].bufs[i] = aligned_alloc(64, 2048);
			if (aj[k].bufs[i] == NULL)
				return -1;
			memset(aj[k].bufs[i], i, 2048);
		}
		if (seal_job_init(&sj[k], P.ciphers[c], k) < 0)
			return -1;
	}
	for (int d = 0; d < P.ndir; d++)
		for (int wi = 0; wi < P.nwc; wi++)
			for (int s = 0; s < P.ns; s++) {
				uint16_t one = (uint16_t)P.sizes[s];
				const uint16_t *pat = P.sizes[s] == IMIX_LABEL ? imix_pattern : &one;
				unsigned npat = P.sizes[s] == IMIX_LABEL ? IMIX_LEN : 1;
				struct row *r = &out[n++];

				r->dir = P.dirs[d];
				r->cipher = P.ciphers[c];
				r->size = P.sizes[s];
				r->workers = P.wcounts[wi];
				r->f = median_trials(P.dirs[d], pat, npat, P.wcounts[wi], P.trials, P.trial_ns,
						     aj, sj, &r->aead, &r->ratio, &r->seal);
				if (first != NULL) {
					print_row(r, P.json, *first);
					*first = 0;
				}
			}
	for (unsigned k = 0; k < R.nw; k++) {
		for (int i = 0; i < 32; i++)
			free(aj[k].bufs[i]);
		free(aj[k].bufs);
		seal_job_fini(&sj[k]);
	}
	sodium_memzero(&ks, sizeof(ks));
	sodium_memzero(km, sizeof(km));
	return n;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: isthmus-bench dp [--seconds S] [--trials N] [--json] [--plot FILE.png]\n"
		"                        [--workers N] [--backend auto|ipsec-mb|sodium]\n"
		"                        [--cipher aes256gcm|chacha20poly1305] [--sizes 64,...,imix]\n"
		"                        [--direction encap|decap] [--set N] [--hosts N]\n"
		"                        [--rounds K] [--eal 'EAL ARGS']\n"
		"\n"
		"The real dataplane (outbound_input/inbound_input through worker_round, net_ring\n"
		"ports, SAs added with sa_add) in one process: encap+encrypt (local RX -> uplink TX)\n"
		"and decrypt+decap (uplink RX -> local TX), 1 and N workers, in Mpps and Gbit/s of\n"
		"inner frames, beside the raw AEAD of the same cipher and backend (ratio = dp/aead)\n"
		"and beside esp_seal_burst alone on the same tunnel payload (seal Mpps, b/seal =\n"
		"dp Mpps / seal Mpps, ovh ns = the bridge's own ns per packet per worker).\n"
		"Default sizes: 64 128 256 512 1024 1400 1514 imix (7:4:1 of 64/576/1500).\n"
		"Workers default to the CPUs this process may use (main lcore shares CPU 0 and\n"
		"sleeps while measuring). --set: frames per worker per pass (default 1024).\n"
		"--hosts: MAC addresses per side, frame i going from host i %% N to host i %% N\n"
		"(default 64, at most 64): 64 makes every frame of a burst a different MAC pair,\n"
		"the worst case for the MAC table; 1 is a single flow, like one TCP transfer.\n"
		"--rounds K (1..21, default 1): measure every cell K times, one whole pass over\n"
		"the cells after another, and report each figure as the median over the rounds\n"
		"(each round's ratio listed too): on a shared host a noisy minute then spoils\n"
		"one round, not a cell. --seconds covers all rounds.\n");
}

static int parse_sizes(char *s, uint32_t *sizes, int *ns)
{
	char *tok, *save = NULL;

	*ns = 0;
	for (tok = strtok_r(s, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (*ns == MAX_SIZES)
			return -1;
		if (strcmp(tok, "imix") == 0) {
			sizes[(*ns)++] = IMIX_LABEL;
			continue;
		}
		unsigned long v = strtoul(tok, NULL, 10);

		if (v < 60 || v > 1514)
			return -1;
		sizes[(*ns)++] = (uint32_t)v;
	}
	return *ns ? 0 : -1;
}

int bench_dp_main(int argc, char **argv, const struct bench_opts *go)
{
	static const struct option lopts[] = {
		{ "seconds", required_argument, NULL, 's' },
		{ "trials", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ "plot", required_argument, NULL, 'p' },
		{ "workers", required_argument, NULL, 'w' },
		{ "backend", required_argument, NULL, 'b' },
		{ "cipher", required_argument, NULL, 'c' },
		{ "sizes", required_argument, NULL, 'z' },
		{ "direction", required_argument, NULL, 'd' },
		{ "set", required_argument, NULL, 'S' },
		{ "hosts", required_argument, NULL, 'H' },
		{ "rounds", required_argument, NULL, 'R' },
		{ "eal", required_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct bench_opts o = *go;
	enum esp_backend backend = ESP_BACKEND_AUTO;
	int opt, first = 1;
	unsigned want_workers = 0, set_size = 1024;
	int rounds = 1;
	const char *png = NULL, *eal_extra = NULL;
	struct row *rows;
	unsigned nrows = 0;

	P = (struct plan){ .ciphers = { ESP_CIPHER_AES256GCM, ESP_CIPHER_CHACHA20POLY1305 }, .nc = 2,
			   .dirs = { DIR_ENCAP, DIR_DECAP }, .ndir = 2, .ns = 8 };
	memcpy(P.sizes, default_sizes, sizeof(default_sizes));
	R.nmac = NMAC;
	optind = 0;
	while ((opt = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		switch (opt) {
		case 's': o.seconds = atof(optarg); break;
		case 't': o.trials = atoi(optarg); break;
		case 'j': o.json = true; break;
		case 'p': png = optarg; break;
		case 'w': want_workers = (unsigned)atoi(optarg); break;
		case 'S': set_size = (unsigned)atoi(optarg); break;
		case 'H': R.nmac = (unsigned)atoi(optarg); break;
		case 'R': rounds = atoi(optarg); break;
		case 'e': eal_extra = optarg; break;
		case 'b':
			if (esp_backend_parse(optarg, &backend) != 0) {
				fprintf(stderr, "isthmus-bench dp: unknown backend '%s'\n", optarg);
				return 2;
			}
			break;
		case 'c':
			if (esp_cipher_parse(optarg, &P.ciphers[0]) != 0) {
				fprintf(stderr, "isthmus-bench dp: unknown cipher '%s'\n", optarg);
				return 2;
			}
			P.nc = 1;
			break;
		case 'd':
			if (strcmp(optarg, "encap") == 0)
				P.dirs[0] = DIR_ENCAP;
			else if (strcmp(optarg, "decap") == 0)
				P.dirs[0] = DIR_DECAP;
			else {
				fprintf(stderr, "isthmus-bench dp: --direction encap or decap\n");
				return 2;
			}
			P.ndir = 1;
			break;
		case 'z':
			if (parse_sizes(optarg, P.sizes, &P.ns) < 0) {
				fprintf(stderr, "isthmus-bench dp: bad --sizes (60..1514 or imix)\n");
				return 2;
			}
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (o.seconds <= 0 || o.trials < 1 || o.trials > 101 || set_size < 64 || set_size > SET_MAX ||
	    R.nmac < 1 || R.nmac > NMAC || rounds < 1 || rounds > MAX_ROUNDS) {
		usage(stderr);
		return 2;
	}
	if (esp_crypto_init() != 0) {
		fprintf(stderr, "isthmus-bench dp: crypto library failed to initialise\n");
		return 1;
	}
	if (backend == ESP_BACKEND_AUTO)
		backend = esp_backend_available(ESP_BACKEND_IPSECMB) ? ESP_BACKEND_IPSECMB
								      : ESP_BACKEND_SODIUM;
	if (!esp_backend_available(backend)) {
		fprintf(stderr, "isthmus-bench dp: backend %s not available\n", esp_backend_name(backend));
		return 1;
	}
	R.backend = backend;

	/* EAL: main lcore 0 on the first CPU, worker i on CPU i mod ncpu. */
	{
		cpu_set_t cs;
		int cpus[CPU_SETSIZE], ncpu = 0, eargc = 0;
		char lc[512], prefix[64], *eargv[64], *extra = NULL;
		size_t off;

		sched_getaffinity(0, sizeof(cs), &cs);
		for (int i = 0; i < CPU_SETSIZE; i++)
			if (CPU_ISSET(i, &cs))
				cpus[ncpu++] = i;
		if (want_workers == 0)
			want_workers = (unsigned)ncpu;
		if (want_workers > DP_MAX_WORKERS)
			want_workers = DP_MAX_WORKERS;
		off = (size_t)snprintf(lc, sizeof(lc), "0@%d", cpus[0]);
		for (unsigned k = 1; k <= want_workers && off < sizeof(lc) - 16; k++)
			off += (size_t)snprintf(lc + off, sizeof(lc) - off, ",%u@%d", k,
						cpus[k % (unsigned)ncpu]);
		snprintf(prefix, sizeof(prefix), "--file-prefix=isthmus-bench-%d", (int)getpid());
		eargv[eargc++] = argv[0];
		eargv[eargc++] = "--lcores";
		eargv[eargc++] = lc;
		/* --no-huge (in --eal) and --in-memory exclude each other. */
		if (eal_extra == NULL || strstr(eal_extra, "--no-huge") == NULL)
			eargv[eargc++] = "--in-memory";
		eargv[eargc++] = "--no-pci";
		eargv[eargc++] = prefix;
		eargv[eargc++] = "--log-level=warning";
		if (eal_extra) {
			char *save = NULL;

			extra = strdup(eal_extra);
			for (char *t = strtok_r(extra, " ", &save); t && eargc < 62;
			     t = strtok_r(NULL, " ", &save))
				eargv[eargc++] = t;
		}
		eargv[eargc] = NULL;
		if (rte_eal_init(eargc, eargv) < 0) {
			fprintf(stderr, "isthmus-bench dp: EAL init failed (hugepages? try "
					"--eal '--no-huge -m 512')\n");
			return 1;
		}
		if (!o.json)
			printf("isthmus-bench dp: %u worker lcore(s) on %d CPU(s): --lcores %s\n",
			       want_workers, ncpu, lc);
		if (want_workers >= (unsigned)ncpu && !o.json)
			printf("  note: the main lcore shares CPU %d with a worker (it sleeps while "
			       "measuring); other processes on this machine compete too\n", cpus[0]);
	}
	R.hz = (double)rte_get_tsc_hz();
	if (setup(set_size) < 0)
		return 1;

	P.wcounts[0] = 1;
	P.wcounts[1] = R.nw;
	P.nwc = R.nw > 1 ? 2 : 1;
	P.trials = o.trials;
	P.json = o.json;
	int cells = P.nc * P.ndir * P.nwc * P.ns;

	P.trial_ns = (uint64_t)(o.seconds * 1e9 / (rounds * cells * 2 * (o.trials + 0.2)));
	if (P.trial_ns < 10000000u)
		P.trial_ns = 10000000u;
	/* round k's cells at rows[k * cells ...]; with --rounds, their medians after them */
	rows = calloc((size_t)cells * (rounds + 1), sizeof(*rows));
	if (rows == NULL)
		return 1;
	if (o.json)
		printf("{\"benchmark\":\"dp\",\"backend\":\"%s\",\"tsc_ghz\":%.3f,\"trials\":%d,"
		       "\"trial_ms\":%.1f,\"rounds\":%d,\"burst\":%u,\"set\":%u,\"hosts\":%u,"
		       "\"max_workers\":%u,\"results\":[",
		       esp_backend_name(backend), R.hz / 1e9, o.trials, P.trial_ns / 1e6, rounds,
		       R.dp.worker[0]->burst, set_size, R.nmac, R.nw);
	else
		printf("TSC %.3f GHz, backend %s, median of %d trials of %.0f ms%s, bursts of %u, "
		       "%u frames per pass, %u MAC pairs\nGbit/s: inner Ethernet frames (no CRC, preamble or gap); "
		       "aead: raw AEAD of the frame size on the same N worker CPUs at once;\nratio = "
		       "Gbit/s / aead (N workers vs N cores of AEAD); seal: esp_seal_burst alone on the same\n"
		       "tunnel payload, same SA type, same N CPUs (Mpps); b/seal: Mpps / seal Mpps; ovh ns: the\n"
		       "bridge's own ns/pkt per worker (its ns/pkt - seal's); cyc/pkt: TSC cycles per packet per worker\n"
		       "Rates are per CPU-second each worker thread was given (CLOCK_THREAD_CPUTIME_ID,\n"
		       "summed over workers); cpu: that CPU time / wall time (1.00: a core of its own)\n\n"
		       "%-6s %-17s %2s %6s | %7s %8s | %8s %6s | %7s %6s %7s | %7s %5s\n",
		       R.hz / 1e9, esp_backend_name(backend), o.trials, P.trial_ns / 1e6,
		       rounds > 1 ? ", then the median of the rounds (ratio of each round after |)" : "",
		       R.dp.worker[0]->burst, set_size, R.nmac, "dir", "cipher", "wk", "frame", "Mpps",
		       "Gbit/s", "aead", "ratio", "seal", "b/seal", "ovh ns", "cyc/pkt", "cpu");

	for (int rd = 0; rd < rounds; rd++) {
		nrows = 0;
		if (rounds > 1)
			fprintf(stderr, "isthmus-bench dp: round %d of %d\n", rd + 1, rounds);
		for (int c = 0; c < P.nc; c++) {
			/* one round streams its rows as they come; more are printed at the end */
			int n = measure_cipher(c, rd * P.nc + c, &rows[(size_t)rd * cells + nrows],
					       rounds == 1 ? &first : NULL);

			if (n < 0)
				return 1;
			nrows += (unsigned)n;
		}
	}
	if (rounds > 1) {
		/* each figure the median of its rounds; rows now the medians */
		for (unsigned i = 0; i < nrows; i++) {
			struct row *m = &rows[(size_t)rounds * cells + i];

			row_median(m, rows, (unsigned)cells, (unsigned)rounds, i);
			print_row(m, o.json, first);
			first = 0;
		}
		memmove(rows, &rows[(size_t)rounds * cells], (size_t)nrows * sizeof(*rows));
	}
	if (o.json)
		printf("\n]}\n");
	if (png && plot(png, rows, nrows, P.ciphers, P.nc, R.nw) < 0)
		fprintf(stderr, "isthmus-bench dp: gnuplot failed for %s\n", png);
	else if (png && !o.json)
		printf("\nplot: %s\n", png);
	free(rows);
	return 0;
}
