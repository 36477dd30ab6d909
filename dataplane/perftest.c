/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * perftest.c: isthmusctl perftest (docs/perftest.md). The two dataplanes
 * measure the tunnel between them with frames of their own: round-trip time
 * and loss of probes, then, for each frame size, the encrypted throughput and
 * the loss in each direction.
 *
 * The frames are VXLAN on the reserved VNI CTL_PERFTEST_VNI (config.c and
 * segment.c refuse it as a segment's), an Ethernet frame of EtherType 0x88b5
 * (IEEE 802 local experimental) holding struct pt_hdr. They are built on the
 * main lcore (or, for a reflected probe, by the worker that opened it) with
 * the headers outbound.c's step 3 writes, and handed to a worker that has an
 * outbound SA through its seal ring: that worker seals them with its own SA
 * like the frames of an SA-less worker (outbound_seal_handed), so their
 * sequence numbers, and nonces, come from the SA's one counter. Inbound,
 * policy_segment() (inbound.c) recognises the VNI after ESP opened and
 * checked the packet, and hands the frame here instead of to a port: the peer
 * is authenticated by its SA, so an in-tunnel control frame comes from the
 * peer's dataplane and nobody else.
 *
 * Consent: the initiator's dataplane starts only with [appliance] perftest =
 * allow; the peer's takes part (answers HELLO, sinks, reflects, generates)
 * only with the same in its own configuration, and answers NAK otherwise.
 * Frames of a test that is not armed here are dropped and counted
 * (drop_perftest_unarmed).
 *
 * Schedule (the initiator's main lcore, perftest_service every ~2 ms):
 * HELLO -> probes (RTT) -> for each size: SINK, generate, REPORT_REQ (out),
 * then GEN, wait, REPORT_REQ (in) -> done. Each request is repeated every
 * 100 ms until answered (the tunnel may lose frames); the answers are
 * idempotent, so while the frames of a stage flow the initiator repeats
 * SINK or GEN every second to keep the peer armed. The peer disarms itself 5 s after its last control frame, and
 * the initiator stops when its client stops polling for 5 s, so neither
 * generates on after isthmusctl is gone.
 *
 * Rate: the generator sends at most the requested rate, capped by each
 * site's [appliance] perftest_max_rate, at most PT_TICK_MAX frames a turn,
 * and leaves PT_RING_RESERVE slots of the sealing worker's ring free for the
 * frames of SA-less workers (production traffic).
 */
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ether.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_random.h>
#include <rte_ring.h>

#include "ctl_json.h"
#include "dp.h"
#include "drop.h"
#include "encap.h"
#include "log.h"
#include "perftest.h"
#include "perftest_spec.h"
#include "rxwait.h"
#include "worker.h"

#define PT_ETHERTYPE 0x88b5   /* IEEE Std 802: local experimental EtherType 1 */
#define PT_MAGIC 0x49535054u  /* "ISPT" */
#define PT_RING 256           /* control frames and probe replies, workers -> main lcore */
#define PT_RETRY_MS 100       /* a request is repeated until answered */
#define PT_ANSWER_MS 2000     /* ... this long */
#define PT_IDLE_MS 5000       /* the peer disarms without a control frame for this long */
#define PT_KEEP_MS 1000       /* while generating: a control frame at least this often */
#define PT_POLL_MS 5000       /* the initiator stops when its client stopped polling */
#define PT_SETTLE_MS 300      /* after generating: frames still in flight */
#define PT_PROBE_GAP_MS 10
#define PT_TICK_MAX 512       /* frames generated per main-lcore turn, at most */
#define PT_RING_RESERVE 256   /* seal-ring slots left to production frames */
#define PT_MAX_STAGES (2 * CTL_PERFTEST_SIZES)
#define PT_PMTU_WAIT_MS 100   /* a path-MTU probe's answer; */
#define PT_PMTU_TRIES 2       /* ... this many probes of a size before it is too big */
#define PT_PMTU_FRAME_MAX 9000

uint64_t perftest_df_flag;

enum pt_type {
	PT_PROBE = 1,     /* the peer reflects it as PT_PROBE_REPLY (worker) */
	PT_PROBE_REPLY,
	PT_DATA,          /* counted by the receiver, for its armed stage */
	PT_HELLO,         /* control frames from here on: main lcore */
	PT_HELLO_ACK,     /* arg0: the peer's perftest_max_rate */
	PT_NAK,           /* arg0: enum pt_nak */
	PT_SINK,          /* count DATA of this stage */
	PT_SINK_ACK,
	PT_GEN,           /* arg0 frame size, arg1 Mbit/s, arg2 ms: generate toward me */
	PT_GEN_ACK,
	PT_REPORT_REQ,
	PT_REPORT,        /* arg0 frames, arg1 bytes received; arg2 sent, arg3 done, arg4 ns, arg5 bytes sent */
	PT_STOP,
	PT_PMTU,          /* DF set, this size: the peer answers with PT_PMTU_REPLY (worker) */
	PT_PMTU_REPLY,    /* arg0: the size of the probe that arrived */
};

enum pt_nak { PT_NAK_DENIED = 1, PT_NAK_BUSY = 2 };

/* After the Ethernet header; integers in network order. */
struct pt_hdr {
	uint32_t magic;
	uint8_t type;
	uint8_t reserved;
	uint16_t stage;
	uint32_t test;
	uint32_t seq;
	uint64_t tsc;     /* PT_PROBE: the sender's TSC, echoed */
	uint64_t arg[6];  /* control frames and probes only */
} __attribute__((packed));

#define PT_HDR_MIN offsetof(struct pt_hdr, arg)              /* DATA frames */
#define PT_CTRL_LEN (RTE_ETHER_HDR_LEN + sizeof(struct pt_hdr)) /* the rest */

enum pt_role { PT_IDLE, PT_INITIATOR, PT_RESPONDER };
enum pt_state { ST_IDLE, ST_RUNNING, ST_DONE, ST_FAILED, ST_STOPPED };
enum pt_phase { PH_HELLO, PH_RTT, PH_PMTU, PH_OUT_ARM, PH_OUT_RUN, PH_OUT_REPORT, PH_IN_ARM, PH_IN_RUN,
		PH_DONE };

static const char *const state_name[] = { "idle", "running", "done", "failed", "stopped" };
static const char *const phase_name[] = { "hello", "rtt", "pmtu", "out", "out", "out", "in", "in",
					  "done" };

/* What one worker received of the armed stage (one writer: that worker). */
struct pt_slot {
	_Atomic uint64_t tag;    /* (test << 16) | stage these counts are of */
	_Atomic uint64_t frames, bytes;
} __rte_cache_aligned;

struct pt_gen {
	bool on;
	uint16_t stage, flen;
	double frames_per_tsc;
	uint64_t start, end, last; /* TSC */
	uint64_t sent;
};

struct pt_result {
	uint16_t flen;
	bool in;                 /* peer -> here */
	uint64_t sent, received, rx_bytes, tx_ns;
};

struct perftest {
	/* shared with the workers */
	_Atomic uint32_t armed;  /* the test whose frames the workers take, 0: none */
	_Atomic uint64_t rx_tag; /* (test << 16) | stage whose DATA frames are counted */
	struct rte_ring *ring;   /* workers -> main lcore */
	struct pt_slot slot[DP_MAX_WORKERS];
	/* main lcore only */
	enum pt_role role;
	enum pt_state state;
	enum pt_phase phase;
	uint32_t test;
	struct ctl_perftest req;
	uint32_t rate_mbps, peer_max_rate;
	unsigned size_i;
	uint64_t phase_ms, sent_ms, heard_ms, polled_ms;
	char error[200];
	uint32_t probes_sent, probes_rcvd;
	/* path MTU: frame sizes known to arrive (lo) and not to (hi) with DF set */
	uint16_t pmtu_lo, pmtu_hi, pmtu_mid, pmtu_max;
	uint8_t pmtu_tries;
	uint64_t rtt_min, rtt_max, rtt_sum; /* TSC cycles */
	struct pt_gen gen;
	uint16_t gen_done_stage;
	struct pt_result res[PT_MAX_STAGES];
	unsigned nb_res;
	uint32_t inner_sum;
};

static const struct rte_ether_addr pt_mac = { { 0x02, 0x49, 0x53, 0x50, 0x54, 0x00 } };

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ull + ts.tv_nsec / 1000000;
}

static inline uint64_t tag_of(uint32_t test, uint16_t stage)
{
	return ((uint64_t)test << 16) | stage;
}

int perftest_init(struct dp *dp, char *err, size_t errlen)
{
	struct perftest *pt = rte_zmalloc("isthmus_perftest", sizeof(*pt), RTE_CACHE_LINE_SIZE);

	if (pt == NULL) {
		snprintf(err, errlen, "perftest: out of memory");
		return -1;
	}
	pt->ring = rte_ring_create("isthmus_perftest", PT_RING, rte_socket_id(), RING_F_SC_DEQ);
	if (pt->ring == NULL) {
		rte_free(pt);
		snprintf(err, errlen, "perftest: ring: %s", rte_strerror(rte_errno));
		return -1;
	}
	pt->inner_sum = ipv4_sum_base(dp->cfg->local_vtep, dp->cfg->peer_vtep);
	/* the largest frame an mbuf holds with the tunnel's headers and ESP trailer */
	pt->pmtu_max = (uint16_t)RTE_MIN(rte_pktmbuf_data_room_size(dp->pool) -
					 RTE_PKTMBUF_HEADROOM - 32, PT_PMTU_FRAME_MAX);
	if (perftest_df_flag == 0) {
		static const struct rte_mbuf_dynflag df = { .name = "isthmus_perftest_df" };
		int bit = rte_mbuf_dynflag_register(&df);

		if (bit < 0) {
			snprintf(err, errlen, "perftest: mbuf flag: %s", rte_strerror(rte_errno));
			rte_ring_free(pt->ring);
			rte_free(pt);
			return -1;
		}
		perftest_df_flag = 1ull << bit;
	}
	dp->pt = pt;
	return 0;
}

void perftest_fini(struct dp *dp)
{
	struct perftest *pt = dp->pt;
	void *m;

	if (pt == NULL)
		return;
	while (rte_ring_sc_dequeue(pt->ring, &m) == 0)
		rte_pktmbuf_free(m);
	rte_ring_free(pt->ring);
	rte_free(pt);
	dp->pt = NULL;
}

/* A worker with an outbound SA, to seal for the main lcore; NULL: no tunnel. */
static struct worker *pt_sealer(struct dp *dp)
{
	for (unsigned i = 0; i < dp->nb_workers; i++)
		if (atomic_load_explicit(&dp->worker[i]->sa_out, memory_order_acquire) != NULL)
			return dp->worker[i];
	return NULL;
}

/* Inner IPv4 / UDP / VXLAN of the reserved VNI in front of the frame at
 * @p m's data, as outbound.c's step 3 writes them. @return 0 or -1 (no room) */
static int pt_encap(struct rte_mbuf *m, uint32_t sum, const struct dp_config *c)
{
	uint16_t flen = m->data_len;
	uint8_t *hdr = (uint8_t *)rte_pktmbuf_prepend(m, TUN_HDR_LEN);

	if (hdr == NULL)
		return -1;
	encap_inner(hdr + OFF_INNER_IP, flen, c->local_vtep, c->peer_vtep, sum,
		    rte_cpu_to_be_32(CTL_PERFTEST_VNI << 8));
	return 0;
}

/* A frame of @p flen bytes holding @p h (first @p hlen bytes), encapsulated. */
static struct rte_mbuf *pt_frame(struct dp *dp, uint16_t flen, const struct pt_hdr *h, size_t hlen)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(dp->pool);
	struct rte_ether_hdr *eth;

	if (m == NULL)
		return NULL;
	eth = (struct rte_ether_hdr *)rte_pktmbuf_append(m, flen);
	if (eth == NULL || rte_pktmbuf_headroom(m) < TUN_HDR_LEN) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	/* zeroed: a recycled mbuf holds someone's traffic */
	memset(eth, 0, flen);
	rte_ether_addr_copy(&pt_mac, &eth->dst_addr);
	rte_ether_addr_copy(&pt_mac, &eth->src_addr);
	eth->ether_type = RTE_BE16(PT_ETHERTYPE);
	memcpy(eth + 1, h, hlen);
	pt_encap(m, dp->pt->inner_sum, dp->cfg);
	return m;
}

/* Hand @p n frames to @p s's seal ring. @return how many it took */
static unsigned pt_hand(struct dp *dp, struct worker *s, struct rte_mbuf **m, unsigned n)
{
	unsigned k = rte_ring_mp_enqueue_burst(s->seal_ring, (void **)m, n, NULL);

	dp_count(&dp->main_stats, DP_C_perftest_tx, k);
	if (k < n)
		rte_pktmbuf_free_bulk(m + k, n - k);
	if (k)
		rxwait_kick(s);
	return k;
}

int perftest_set_df(struct rte_mbuf *m, uint32_t up_frame)
{
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, OFF_OUTER_IP);

	if (m->data_len > up_frame)
		return -1; /* it would leave in fragments here: too big, as on the path */
	ip->fragment_offset = RTE_BE16(RTE_IPV4_HDR_DF_FLAG);
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	return 0;
}

/* One control frame (or probe) toward the peer. */
static void pt_send(struct dp *dp, uint8_t type, uint32_t test, uint16_t stage, uint32_t seq,
		    uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5)
{
	struct worker *s = pt_sealer(dp);
	struct pt_hdr h = {
		.magic = rte_cpu_to_be_32(PT_MAGIC), .type = type,
		.stage = rte_cpu_to_be_16(stage), .test = rte_cpu_to_be_32(test),
		.seq = rte_cpu_to_be_32(seq), .tsc = rte_cpu_to_be_64(rte_rdtsc()),
		.arg = { rte_cpu_to_be_64(a0), rte_cpu_to_be_64(a1), rte_cpu_to_be_64(a2),
			 rte_cpu_to_be_64(a3), rte_cpu_to_be_64(a4), rte_cpu_to_be_64(a5) },
	};
	struct rte_mbuf *m;

	if (s == NULL)
		return; /* no tunnel: the request is repeated, then times out */
	m = pt_frame(dp, PT_CTRL_LEN < 64 ? 64 : PT_CTRL_LEN, &h, sizeof(h));
	if (m != NULL)
		pt_hand(dp, s, &m, 1);
}

#define pt_send0(dp, type, test, stage) pt_send(dp, type, test, stage, 0, 0, 0, 0, 0, 0, 0)

/* ---- workers ---- */

/* A probe back to the peer, in place, through this worker's sealer. */
static void pt_reflect(struct worker *w, struct rte_mbuf *m, struct pt_hdr *h, struct drop_bin *dead)
{
	struct dp *dp = w->dp;
	int to = worker_sa_out(w) != NULL ? (int)w->idx
					  : atomic_load_explicit(&w->seal_by, memory_order_acquire);
	struct worker *s;

	h->type = h->type == PT_PMTU ? PT_PMTU_REPLY : PT_PROBE_REPLY;
	if (to < 0) {
		drop_packet(w, dead, m, DROP(no_sa));
		return;
	}
	if (pt_encap(m, w->inner_sum, dp->cfg) < 0) {
		drop_packet(w, dead, m, DROP(no_headroom));
		return;
	}
	s = dp->worker[to];
	if (rte_ring_mp_enqueue(s->seal_ring, m) != 0) {
		drop_packet(w, dead, m, DROP(seal_handoff_full));
		return;
	}
	if (s != w)
		rxwait_kick(s);
}

void perftest_input(struct worker *w, struct rte_mbuf *m, struct drop_bin *dead)
{
	struct perftest *pt = w->dp->pt;
	const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	struct pt_hdr *h = (struct pt_hdr *)(eth + 1);
	uint32_t armed, test;
	struct pt_slot *sl;
	uint64_t tag;

	if (unlikely(pt == NULL || m->data_len < RTE_ETHER_HDR_LEN + PT_HDR_MIN ||
		     eth->ether_type != RTE_BE16(PT_ETHERTYPE) ||
		     h->magic != RTE_BE32(PT_MAGIC))) {
		drop_packet(w, dead, m, DROP(perftest_bad));
		return;
	}
	dp_count(&w->stats, DP_C_perftest_rx, 1);
	if ((h->type >= PT_HELLO && h->type != PT_PMTU) || h->type == PT_PROBE_REPLY) {
		/* control: the main lcore decides, armed or not (a HELLO arms) */
		if (unlikely(m->data_len < PT_CTRL_LEN)) {
			drop_packet(w, dead, m, DROP(perftest_bad));
			return;
		}
		if (h->type == PT_PROBE_REPLY) /* the round trip, measured here, not 2 ms later */
			h->arg[0] = rte_cpu_to_be_64(rte_rdtsc() - rte_be_to_cpu_64(h->tsc));
		if (rte_ring_mp_enqueue(pt->ring, m) != 0)
			drop_packet(w, dead, m, DROP(perftest_ring_full));
		return;
	}
	armed = atomic_load_explicit(&pt->armed, memory_order_acquire);
	test = rte_be_to_cpu_32(h->test);
	if (armed == 0) {
		drop_packet(w, dead, m, DROP(perftest_unarmed));
		return;
	}
	if (test != armed) {
		drop_packet(w, dead, m, DROP(perftest_bad));
		return;
	}
	if (h->type == PT_PROBE || h->type == PT_PMTU) {
		if (m->data_len < PT_CTRL_LEN) {
			drop_packet(w, dead, m, DROP(perftest_bad));
			return;
		}
		if (h->type == PT_PMTU) {
			/* it arrived whole: say how big it was, in a small answer */
			h->arg[0] = rte_cpu_to_be_64(m->data_len);
			rte_pktmbuf_trim(m, m->data_len - PT_CTRL_LEN);
		}
		pt_reflect(w, m, h, dead);
		return;
	}
	tag = tag_of(test, rte_be_to_cpu_16(h->stage));
	if (h->type != PT_DATA || tag != atomic_load_explicit(&pt->rx_tag, memory_order_acquire)) {
		drop_packet(w, dead, m, DROP(perftest_bad));
		return;
	}
	sl = &pt->slot[w->idx];
	if (atomic_load_explicit(&sl->tag, memory_order_relaxed) != tag) {
		/* a new stage: this worker's counts start again (one writer) */
		atomic_store_explicit(&sl->frames, 0, memory_order_relaxed);
		atomic_store_explicit(&sl->bytes, 0, memory_order_relaxed);
		atomic_store_explicit(&sl->tag, tag, memory_order_release);
	}
	atomic_store_explicit(&sl->frames, atomic_load_explicit(&sl->frames, memory_order_relaxed) + 1,
			      memory_order_relaxed);
	atomic_store_explicit(&sl->bytes, atomic_load_explicit(&sl->bytes, memory_order_relaxed) +
				  m->data_len, memory_order_relaxed);
	/* sunk: freed with the burst's drops, but counted as received, not dropped */
	dead->m[dead->n++] = m;
}

/* ---- main lcore ---- */

/* DATA frames received of @p tag, over all workers. */
static void pt_rx_sum(struct perftest *pt, uint64_t tag, unsigned workers, uint64_t *frames,
		      uint64_t *bytes)
{
	*frames = *bytes = 0;
	for (unsigned i = 0; i < workers; i++) {
		struct pt_slot *sl = &pt->slot[i];

		if (atomic_load_explicit(&sl->tag, memory_order_acquire) != tag)
			continue;
		*frames += atomic_load_explicit(&sl->frames, memory_order_relaxed);
		*bytes += atomic_load_explicit(&sl->bytes, memory_order_relaxed);
	}
}

static void gen_start(struct dp *dp, uint16_t stage, uint16_t flen, uint32_t mbps, uint32_t ms)
{
	struct pt_gen *g = &dp->pt->gen;
	uint64_t now = rte_rdtsc();

	*g = (struct pt_gen){
		.on = true, .stage = stage, .flen = flen, .start = now, .last = now,
		.end = now + (uint64_t)ms * dp->tsc_hz / 1000,
		.frames_per_tsc = (double)mbps * 1e6 / (8.0 * flen) / (double)dp->tsc_hz,
	};
}

/* Generate what the rate owes since the start, within this turn's limits. */
static void gen_run(struct dp *dp)
{
	struct perftest *pt = dp->pt;
	struct pt_gen *g = &pt->gen;
	struct rte_mbuf *m[PT_TICK_MAX];
	uint64_t now = rte_rdtsc(), owed;
	struct worker *s;
	unsigned n, room;

	if (!g->on)
		return;
	if (now >= g->end) {
		g->on = false;
		g->last = RTE_MIN(g->last, g->end);
		pt->gen_done_stage = g->stage;
		return;
	}
	s = pt_sealer(dp);
	if (s == NULL)
		return;
	owed = (uint64_t)((double)(now - g->start) * g->frames_per_tsc);
	if (owed <= g->sent)
		return;
	room = rte_ring_free_count(s->seal_ring);
	n = (unsigned)RTE_MIN(owed - g->sent, (uint64_t)PT_TICK_MAX);
	if (room <= PT_RING_RESERVE)
		return;
	n = RTE_MIN(n, room - PT_RING_RESERVE);
	for (unsigned i = 0; i < n; i++) {
		struct pt_hdr h = {
			.magic = rte_cpu_to_be_32(PT_MAGIC), .type = PT_DATA,
			.stage = rte_cpu_to_be_16(g->stage), .test = rte_cpu_to_be_32(pt->test),
			.seq = rte_cpu_to_be_32((uint32_t)(g->sent + i)),
		};

		m[i] = pt_frame(dp, g->flen, &h, PT_HDR_MIN);
		if (m[i] == NULL) { /* the pool is short: what production needs comes first */
			n = i;
			break;
		}
	}
	g->sent += pt_hand(dp, s, m, n);
	g->last = now;
}

static void gen_stop(struct perftest *pt)
{
	if (pt->gen.on)
		pt->gen_done_stage = pt->gen.stage;
	pt->gen.on = false;
}

static void phase(struct perftest *pt, enum pt_phase p, uint64_t now)
{
	pt->phase = p;
	pt->phase_ms = now;
	pt->sent_ms = 0;
}

/* Time to send (or repeat) this phase's request. */
static bool due(struct perftest *pt, uint64_t now)
{
	if (pt->sent_ms && now - pt->sent_ms < PT_RETRY_MS)
		return false;
	pt->sent_ms = now;
	return true;
}

/* Time to remind the peer, while frames flow, that the test goes on. */
static bool keep(struct perftest *pt, uint64_t now)
{
	if (now - pt->sent_ms < PT_KEEP_MS)
		return false;
	pt->sent_ms = now;
	return true;
}

static void disarm(struct perftest *pt)
{
	gen_stop(pt);
	atomic_store_explicit(&pt->armed, 0, memory_order_release);
	atomic_store_explicit(&pt->rx_tag, 0, memory_order_release);
	pt->role = PT_IDLE;
}

/* The initiator's end: @p st, with @p why for people (failed, stopped). */
static void finish(struct dp *dp, enum pt_state st, const char *why)
{
	struct perftest *pt = dp->pt;

	if (st != ST_DONE || pt->gen.on)
		pt_send0(dp, PT_STOP, pt->test, 0);
	pt_send0(dp, PT_STOP, pt->test, 0);
	disarm(pt);
	pt->state = st;
	pt->phase = PH_DONE;
	if (why)
		snprintf(pt->error, sizeof(pt->error), "%s", why);
	dp_log(st == ST_FAILED ? LOG_WARNING : LOG_INFO, "perftest %08x %s%s%s", pt->test,
	       state_name[st], why ? ": " : "", why ? why : "");
}

static uint16_t stage_out(const struct perftest *pt)
{
	return (uint16_t)(1 + 2 * pt->size_i);
}

static void result(struct perftest *pt, bool in, uint64_t sent, uint64_t received,
		   uint64_t rx_bytes, uint64_t tx_ns)
{
	if (pt->nb_res == PT_MAX_STAGES)
		return;
	pt->res[pt->nb_res++] = (struct pt_result){
		.flen = pt->req.sizes[pt->size_i], .in = in, .sent = sent,
		.received = received, .rx_bytes = rx_bytes, .tx_ns = tx_ns,
	};
}

static uint64_t gen_ns(const struct dp *dp, const struct pt_gen *g)
{
	return (g->last - g->start) * 1000000000ull / dp->tsc_hz;
}

/* One path-MTU probe of pt->pmtu_mid bytes, DF set on its outer IPv4. */
static void pmtu_send(struct dp *dp, uint64_t now)
{
	struct perftest *pt = dp->pt;
	struct worker *s = pt_sealer(dp);
	struct pt_hdr h = {
		.magic = rte_cpu_to_be_32(PT_MAGIC), .type = PT_PMTU,
		.test = rte_cpu_to_be_32(pt->test), .seq = rte_cpu_to_be_32(pt->pmtu_mid),
	};
	struct rte_mbuf *m;

	pt->sent_ms = now;
	if (s == NULL)
		return;
	m = pt_frame(dp, pt->pmtu_mid, &h, sizeof(h));
	if (m == NULL)
		return;
	m->ol_flags |= perftest_df_flag;
	pt_hand(dp, s, &m, 1);
}

/*
 * Binary search (RFC 4821 section 7.2's probing, in-band: our own probes,
 * answered by the peer) between the largest frame known to arrive with DF
 * set and the smallest known not to; then the throughput stages.
 */
static void pmtu_next(struct dp *dp, uint64_t now)
{
	struct perftest *pt = dp->pt;

	if (pt->pmtu_hi - pt->pmtu_lo <= 1) {
		if (pt->pmtu_lo)
			dp_log(LOG_INFO, "perftest %08x: path MTU: frames of %u bytes arrive whole "
			       "(outer IPv4 %u bytes)", pt->test, pt->pmtu_lo,
			       encap_outer_ip_len(pt->pmtu_lo));
		phase(pt, PH_OUT_ARM, now);
		return;
	}
	/* the first probe: the smallest frame a test sends, then halves */
	pt->pmtu_mid = pt->pmtu_lo ? (uint16_t)((pt->pmtu_lo + pt->pmtu_hi) / 2)
				   : (uint16_t)PT_CTRL_LEN;
	if (pt->pmtu_lo == 0 && pt->pmtu_mid >= pt->pmtu_hi) {
		phase(pt, PH_OUT_ARM, now);
		return;
	}
	pt->pmtu_tries = 0;
	pmtu_send(dp, now);
}

/* A control frame (or probe reply) from the peer's dataplane. */
static void pt_control(struct dp *dp, const struct pt_hdr *h, uint64_t now)
{
	struct perftest *pt = dp->pt;
	uint32_t test = rte_be_to_cpu_32(h->test);
	uint16_t stage = rte_be_to_cpu_16(h->stage);
	uint64_t a[6];
	bool mine = pt->role != PT_IDLE && test == pt->test;

	for (int i = 0; i < 6; i++)
		a[i] = rte_be_to_cpu_64(h->arg[i]);
	if (h->type == PT_HELLO) {
		if (!dp->cfg->perftest) {
			pt_send(dp, PT_NAK, test, 0, 0, PT_NAK_DENIED, 0, 0, 0, 0, 0);
			dp_count(&dp->main_stats, DP_C_drop_perftest_unarmed, 1);
			return;
		}
		if (pt->role == PT_INITIATOR || (pt->role == PT_RESPONDER && !mine &&
						 now - pt->heard_ms < PT_IDLE_MS)) {
			pt_send(dp, PT_NAK, test, 0, 0, PT_NAK_BUSY, 0, 0, 0, 0, 0);
			return;
		}
		if (!mine) {
			disarm(pt);
			memset(&pt->gen, 0, sizeof(pt->gen));
			pt->role = PT_RESPONDER;
			pt->test = test;
			pt->gen_done_stage = 0;
			atomic_store_explicit(&pt->armed, test, memory_order_release);
			dp_log(LOG_INFO, "perftest %08x: the peer tests the tunnel (armed)", test);
		}
		pt->heard_ms = now;
		pt_send(dp, PT_HELLO_ACK, test, 0, 0, dp->cfg->perftest_max_rate, 0, 0, 0, 0, 0);
		return;
	}
	if (!mine) {
		dp_count(&dp->main_stats, pt->role == PT_IDLE ? DP_C_drop_perftest_unarmed
							       : DP_C_drop_perftest_bad, 1);
		return;
	}
	pt->heard_ms = now;
	if (pt->role == PT_RESPONDER) {
		switch (h->type) {
		case PT_SINK:
			atomic_store_explicit(&pt->rx_tag, tag_of(test, stage), memory_order_release);
			pt_send0(dp, PT_SINK_ACK, test, stage);
			return;
		case PT_GEN:
			if (pt->gen.stage != stage && pt->gen_done_stage != stage) {
				uint32_t mbps = (uint32_t)RTE_MIN(a[1], (uint64_t)dp->cfg->perftest_max_rate);

				if (a[0] < CTL_PERFTEST_MIN_FRAME || a[0] > CTL_PERFTEST_MAX_FRAME ||
				    a[2] < 100 || a[2] > CTL_PERFTEST_MAX_DURATION_MS || mbps == 0) {
					dp_count(&dp->main_stats, DP_C_drop_perftest_bad, 1);
					return;
				}
				gen_start(dp, stage, (uint16_t)a[0], mbps, (uint32_t)a[2]);
			}
			pt_send0(dp, PT_GEN_ACK, test, stage);
			return;
		case PT_REPORT_REQ: {
			uint64_t f, b;
			const struct pt_gen *g = &pt->gen;
			bool gen_this = g->stage == stage;

			pt_rx_sum(pt, tag_of(test, stage), dp->nb_workers, &f, &b);
			pt_send(dp, PT_REPORT, test, stage, 0, f, b, gen_this ? g->sent : 0,
				gen_this && !g->on, gen_this ? gen_ns(dp, g) : 0,
				gen_this ? g->sent * g->flen : 0);
			return;
		}
		case PT_STOP:
			dp_log(LOG_INFO, "perftest %08x: stopped by the peer (disarmed)", test);
			disarm(pt);
			return;
		default:
			dp_count(&dp->main_stats, DP_C_drop_perftest_bad, 1);
			return;
		}
	}
	/* the initiator */
	switch (h->type) {
	case PT_HELLO_ACK:
		if (pt->phase == PH_HELLO) {
			pt->peer_max_rate = (uint32_t)a[0];
			phase(pt, PH_RTT, now);
		}
		return;
	case PT_NAK:
		if (pt->phase == PH_HELLO)
			finish(dp, ST_FAILED, a[0] == PT_NAK_BUSY
				      ? "refused by the peer: it is running a perftest of its own"
				      : "refused by the peer: perftest is not allowed there "
					"([appliance] perftest = allow in its configuration)");
		return;
	case PT_PROBE_REPLY:
		if (rte_be_to_cpu_32(h->seq) < pt->probes_sent) {
			pt->probes_rcvd++;
			pt->rtt_sum += a[0];
			pt->rtt_min = pt->probes_rcvd == 1 ? a[0] : RTE_MIN(pt->rtt_min, a[0]);
			pt->rtt_max = RTE_MAX(pt->rtt_max, a[0]);
		}
		return;
	case PT_PMTU_REPLY:
		if (pt->phase == PH_PMTU && a[0] == pt->pmtu_mid) {
			pt->pmtu_lo = pt->pmtu_mid;
			pmtu_next(dp, now);
		}
		return;
	case PT_SINK_ACK:
		if (pt->phase == PH_OUT_ARM && stage == stage_out(pt)) {
			gen_start(dp, stage, pt->req.sizes[pt->size_i], pt->rate_mbps,
				  pt->req.duration_ms);
			phase(pt, PH_OUT_RUN, now);
		}
		return;
	case PT_GEN_ACK:
		if (pt->phase == PH_IN_ARM && stage == stage_out(pt) + 1)
			phase(pt, PH_IN_RUN, now);
		return;
	case PT_REPORT:
		if (pt->phase == PH_OUT_REPORT && stage == stage_out(pt)) {
			result(pt, false, pt->gen.sent, a[0], a[1], gen_ns(dp, &pt->gen));
			atomic_store_explicit(&pt->rx_tag, tag_of(pt->test, stage + 1),
					      memory_order_release);
			phase(pt, PH_IN_ARM, now);
		} else if (pt->phase == PH_IN_RUN && stage == stage_out(pt) + 1 && a[3]) {
			uint64_t f, b;

			pt_rx_sum(pt, tag_of(pt->test, stage), dp->nb_workers, &f, &b);
			result(pt, true, a[2], f, b, a[4]);
			if (++pt->size_i == pt->req.nb_sizes)
				finish(dp, ST_DONE, NULL);
			else
				phase(pt, PH_OUT_ARM, now);
		}
		return;
	default:
		dp_count(&dp->main_stats, DP_C_drop_perftest_bad, 1);
		return;
	}
}

/* The initiator's schedule, one step a turn. */
static void pt_schedule(struct dp *dp, uint64_t now)
{
	struct perftest *pt = dp->pt;
	uint64_t in_phase = now - pt->phase_ms;
	uint16_t st = stage_out(pt);
	uint16_t flen = pt->req.sizes[pt->size_i];

	if (now - pt->polled_ms > PT_POLL_MS) {
		finish(dp, ST_STOPPED, "the client stopped asking for results");
		return;
	}
	switch (pt->phase) {
	case PH_HELLO:
		if (in_phase > PT_ANSWER_MS)
			finish(dp, ST_FAILED, "no answer from the peer's dataplane (the tunnel is "
			       "down, or the peer runs a version without perftest)");
		else if (due(pt, now))
			pt_send0(dp, PT_HELLO, pt->test, 0);
		return;
	case PH_RTT:
		if (pt->probes_sent < pt->req.probes) {
			if (!pt->sent_ms || now - pt->sent_ms >= PT_PROBE_GAP_MS) {
				pt->sent_ms = now;
				pt_send(dp, PT_PROBE, pt->test, 0, pt->probes_sent++, 0, 0, 0, 0, 0, 0);
			}
		} else if (pt->probes_rcvd == pt->probes_sent || now - pt->sent_ms > PT_SETTLE_MS * 2) {
			phase(pt, PH_PMTU, now);
			pt->pmtu_lo = 0;
			pt->pmtu_hi = pt->pmtu_max + 1;
			pt->pmtu_mid = 0;
			pmtu_next(dp, now);
		}
		return;
	case PH_PMTU:
		if (now - pt->sent_ms < PT_PMTU_WAIT_MS)
			return;
		if (++pt->pmtu_tries < PT_PMTU_TRIES) {
			pmtu_send(dp, now);
			return;
		}
		pt->pmtu_hi = pt->pmtu_mid; /* no answer: too big somewhere on the way */
		pmtu_next(dp, now);
		return;
	case PH_OUT_ARM:
	case PH_IN_ARM:
		if (in_phase > PT_ANSWER_MS)
			finish(dp, ST_FAILED, "the peer stopped answering");
		else if (due(pt, now)) {
			if (pt->phase == PH_OUT_ARM)
				pt_send0(dp, PT_SINK, pt->test, st);
			else
				pt_send(dp, PT_GEN, pt->test, st + 1, 0, flen, pt->rate_mbps,
					pt->req.duration_ms, 0, 0, 0);
		}
		return;
	case PH_OUT_RUN:
		if (!pt->gen.on)
			phase(pt, PH_OUT_REPORT, now);
		else if (keep(pt, now)) /* the peer stays armed: SINK again */
			pt_send0(dp, PT_SINK, pt->test, st);
		return;
	case PH_OUT_REPORT:
		if (in_phase > PT_SETTLE_MS + PT_ANSWER_MS)
			finish(dp, ST_FAILED, "the peer stopped answering");
		else if (in_phase >= PT_SETTLE_MS && due(pt, now))
			pt_send0(dp, PT_REPORT_REQ, pt->test, st);
		return;
	case PH_IN_RUN:
		if (in_phase > pt->req.duration_ms + PT_SETTLE_MS + PT_ANSWER_MS)
			finish(dp, ST_FAILED, "the peer stopped answering");
		else if (in_phase >= pt->req.duration_ms + PT_SETTLE_MS && due(pt, now))
			pt_send0(dp, PT_REPORT_REQ, pt->test, st + 1);
		else if (keep(pt, now)) /* GEN again: the same stage goes on */
			pt_send(dp, PT_GEN, pt->test, st + 1, 0, flen, pt->rate_mbps,
				pt->req.duration_ms, 0, 0, 0);
		return;
	case PH_DONE:
		return;
	}
}

void perftest_service(struct dp *dp)
{
	struct perftest *pt = dp->pt;
	struct rte_mbuf *m[32];
	uint64_t now = now_ms();
	unsigned n;

	if (pt == NULL)
		return;
	while ((n = rte_ring_sc_dequeue_burst(pt->ring, (void **)m, RTE_DIM(m), NULL)) > 0) {
		for (unsigned i = 0; i < n; i++)
			pt_control(dp, (const struct pt_hdr *)(rte_pktmbuf_mtod(m[i], uint8_t *) +
							       RTE_ETHER_HDR_LEN), now);
		rte_pktmbuf_free_bulk(m, n);
	}
	if (pt->role == PT_INITIATOR)
		pt_schedule(dp, now);
	else if (pt->role == PT_RESPONDER && !pt->gen.on && now - pt->heard_ms > PT_IDLE_MS) {
		dp_log(LOG_INFO, "perftest %08x: nothing from the peer for %u s (disarmed)", pt->test,
		       PT_IDLE_MS / 1000);
		disarm(pt);
	}
	gen_run(dp);
}

/* ---- the control socket ---- */

static double mbps(uint64_t bytes, uint64_t ns)
{
	return ns ? (double)bytes * 8.0 * 1000.0 / (double)ns : 0.0;
}

static int status_json(struct dp *dp, struct ctl_out *o)
{
	struct perftest *pt = dp->pt;
	struct json_object *j = json_object_new_object(), *rtt, *st;
	double us = (double)dp->tsc_hz / 1e6;

	ctl_json_str(j, "state", state_name[pt->state]);
	ctl_json_str(j, "phase", phase_name[pt->phase]);
	if (pt->state == ST_IDLE)
		return ctl_out_json(o, j);
	ctl_json_uint(j, "test", pt->test);
	if (pt->error[0])
		ctl_json_str(j, "error", pt->error);
	ctl_json_uint(j, "rate_mbps", pt->rate_mbps);
	ctl_json_uint(j, "peer_max_rate_mbps", pt->peer_max_rate);
	ctl_json_uint(j, "duration_ms", pt->req.duration_ms);
	ctl_json_uint(j, "vni", CTL_PERFTEST_VNI);
	rtt = json_object_new_object();
	ctl_json_uint(rtt, "sent", pt->probes_sent);
	ctl_json_uint(rtt, "received", pt->probes_rcvd);
	ctl_json_uint(rtt, "lost", pt->probes_sent - RTE_MIN(pt->probes_rcvd, pt->probes_sent));
	if (pt->probes_rcvd) {
		json_object_object_add(rtt, "min_us", json_object_new_double(pt->rtt_min / us));
		json_object_object_add(rtt, "avg_us", json_object_new_double(
						   pt->rtt_sum / us / pt->probes_rcvd));
		json_object_object_add(rtt, "max_us", json_object_new_double(pt->rtt_max / us));
	}
	json_object_object_add(j, "rtt", rtt);
	if (pt->phase > PH_PMTU || pt->state != ST_RUNNING) {
		struct json_object *pm = json_object_new_object();

		/* the largest frame carried whole with DF set, 0: none arrived */
		ctl_json_uint(pm, "frame", pt->pmtu_lo);
		ctl_json_uint(pm, "outer_ip", pt->pmtu_lo ? encap_outer_ip_len(pt->pmtu_lo) : 0);
		ctl_json_uint(pm, "probed_up_to", pt->pmtu_max);
		ctl_json_uint(pm, "uplink_mtu", dp->cfg->uplink_mtu);
		json_object_object_add(j, "pmtu", pm);
	}
	st = json_object_new_array();
	for (unsigned i = 0; i < pt->nb_res; i++) {
		const struct pt_result *r = &pt->res[i];
		struct json_object *e = json_object_new_object();

		ctl_json_str(e, "direction", r->in ? "in" : "out");
		ctl_json_uint(e, "frame", r->flen);
		ctl_json_uint(e, "sent", r->sent);
		ctl_json_uint(e, "received", r->received);
		ctl_json_uint(e, "lost", r->sent > r->received ? r->sent - r->received : 0);
		ctl_json_uint(e, "duration_us", r->tx_ns / 1000);
		json_object_object_add(e, "offered_mbps",
				       json_object_new_double(mbps(r->sent * r->flen, r->tx_ns)));
		json_object_object_add(e, "throughput_mbps",
				       json_object_new_double(mbps(r->rx_bytes, r->tx_ns)));
		json_object_object_add(e, "kpps", json_object_new_double(
						  r->tx_ns ? r->received * 1e6 / (double)r->tx_ns : 0));
		json_object_array_add(st, e);
	}
	json_object_object_add(j, "stages", st);
	return ctl_out_json(o, j);
}

static int start(struct dp *dp, const struct ctl_perftest *m, struct ctl_out *o)
{
	struct perftest *pt = dp->pt;
	char err[160];
	uint64_t now = now_ms();

	if (!dp->cfg->perftest) {
		ctl_out_printf(o, "perftest is not allowed on this appliance ([appliance] perftest "
			       "= allow in %s)", dp->cfg->path);
		return -EPERM;
	}
	if (perftest_check(m, err, sizeof(err)) < 0) {
		ctl_out_printf(o, "%s", err);
		return -EINVAL;
	}
	if (pt->role == PT_INITIATOR) {
		ctl_out_printf(o, "a perftest is running (test %08x)", pt->test);
		return -EBUSY;
	}
	if (pt->role == PT_RESPONDER && now - pt->heard_ms < PT_IDLE_MS) {
		ctl_out_printf(o, "the peer is running a perftest with this appliance");
		return -EBUSY;
	}
	if (pt_sealer(dp) == NULL) {
		ctl_out_printf(o, "no tunnel: the dataplane holds no outbound SA");
		return -ENOTCONN;
	}
	disarm(pt);
	memset(&pt->res, 0, sizeof(pt->res));
	pt->nb_res = pt->size_i = 0;
	pt->probes_sent = pt->probes_rcvd = 0;
	pt->rtt_min = pt->rtt_max = pt->rtt_sum = 0;
	pt->pmtu_lo = pt->pmtu_hi = pt->pmtu_mid = 0;
	pt->error[0] = '\0';
	pt->req = *m;
	pt->peer_max_rate = 0;
	pt->rate_mbps = m->rate_mbps ? RTE_MIN(m->rate_mbps, dp->cfg->perftest_max_rate)
				     : dp->cfg->perftest_max_rate;
	pt->test = (uint32_t)rte_rand() | 1;
	pt->role = PT_INITIATOR;
	pt->state = ST_RUNNING;
	pt->polled_ms = now;
	pt->gen_done_stage = 0;
	phase(pt, PH_HELLO, now);
	atomic_store_explicit(&pt->armed, pt->test, memory_order_release);
	dp_log(LOG_INFO, "perftest %08x started: %u sizes, %u ms each way, %u Mbit/s", pt->test,
	       m->nb_sizes, m->duration_ms, pt->rate_mbps);
	return status_json(dp, o);
}

int perftest_ctl(struct dp *dp, const struct ctl_perftest *m, struct ctl_out *o)
{
	struct perftest *pt = dp->pt;

	switch (m->op) {
	case CTL_PERFTEST_START:
		return start(dp, m, o);
	case CTL_PERFTEST_STATUS:
		pt->polled_ms = now_ms();
		return status_json(dp, o);
	case CTL_PERFTEST_STOP:
		if (pt->role == PT_INITIATOR)
			finish(dp, ST_STOPPED, "stopped by the operator");
		return status_json(dp, o);
	default:
		ctl_out_printf(o, "perftest: unknown operation %u", m->op);
		return -EINVAL;
	}
}
