/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer harness for the dataplane's uplink frame path: inbound_input()
 * and inbound_handed() (inbound.c) on real mbufs of a real dataplane booted
 * once (tests/lib/dp_rig.h: two workers driven from this thread), with
 * everything they reach: classification (exception.h), outer reassembly
 * (reass.c), the SA steering and trial claims, esp_open_burst, the policy
 * checks, MAC learning, L2 safety, the local-egress gateway filter, MSS
 * clamping, the tag restored on the trunk, and the exception path
 * (exception_dp.c: policer, the peer's IKE ring, ARP snooping on the main
 * lcore).
 *
 * The input is an op script (fuzz_uplink.h), so the fuzzer reaches past the
 * ICV: raw frames; genuine packets of the peer, sealed here with its SA
 * around fuzzer-chosen inner frames and optionally split into outer
 * fragments in a fuzzer-chosen order; replays and one-byte mutations of
 * them; UDP/ICMP to the uplink address (IKE, the non-ESP marker, pairing,
 * keepalives); time for reassembly; hand-off rings taken; the main lcore's
 * service.
 *
 * The dataplane: an access port "lan" (segment web, VNI 5101, 8 MACs at
 * most), a trunk (segment tv on VLAN 100, VNI 5102, local egress for
 * gateway 192.0.2.1 / 2001:db8::1; segment native, untagged, VNI 5103, no
 * MSS clamp), the uplink without peer_mac (the next hop is snooped from ARP
 * or learned from an authenticated packet), no TAP, a small exception
 * policer and reassembly table.
 *
 * Checked after every burst and service (abort() on violation):
 *  - packets in = delivered (tunnel_in) + exception path (exception and its
 *    drops) + handed to the other worker + counted drops, where a fragment
 *    is held (reassembly), dropped by reass.c, or merged into a datagram
 *    that then counts as one packet: the fragments held are measured from
 *    the mempool (in use - what the rings hold), so an mbuf neither freed nor
 *    counted shows up; merged fragments are at least two per datagram
 *  - the worker that did not run has no counter changed; uplink_rx counts
 *    inbound_input()'s packets only; delivered = local_tx + drop_tx_full;
 *    hand-offs and exception counts are what the rings gained; the death
 *    row is empty; no SA is left claimed on trial
 *  - every frame on a local port is the inner frame of a genuine packet
 *    sealed in this input, on its segment's port with its tag (MSS clamping
 *    may change 4 bytes), each genuine packet delivered at most once
 *  - at the end of an input, every genuine frame with no reason to be kept
 *    from its port (VXLAN to the access or the native segment, a unicast
 *    source, sent whole or all its fragments once) arrived, or a counted
 *    mishap explains it (a fragment dropped or left, replayed, too old, ICV)
 *  - nothing leaves the uplink (no TAP: nothing the input could justify)
 *  - the exception rings hold only traffic for the appliance: ARP, ICMP,
 *    UDP 500, 4500 behind the marker or a keepalive, 4501, 4502, to the
 *    uplink address, the priority ring only the peer's IKE
 *  - no 8-byte window of the key material in any frame sent anywhere
 *    (unless the input itself carries it)
 *  - after each input everything is drained: the reassembly tables hold
 *    exactly the fragments counted as held, and the mempool is back to its
 *    baseline (no mbuf leak)
 * Between inputs the inbound SA is deleted and added again (fresh window and
 * owner), the MAC table, L2 safety tables, next hop, peer address and
 * policers are reset, so an input replays the same way.
 *
 * With gcc the same function is linked into fuzz_driver.c (suite fuzz).
 */
/* rte_ip_frag_table_del_expired_entries is experimental in DPDK 22.11 (memmem:
 * _GNU_SOURCE, which the build defines) */
#define ALLOW_EXPERIMENTAL_API

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_ip.h>
#include <rte_mempool.h>
#include <rte_meter.h>
#include <rte_ring.h>

#include "dp_rig.h"
#include "encap.h"
#include "esp.h"
#include "exception_dp.h"
#include "fdb.h"
#include "inbound.h"
#include "l2guard.h"
#include "reass.h"
#include "sa.h"
#include "segment.h"
#include "worker.h"

#include "fuzz_uplink.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);
static bool has_key(const uint8_t *b, size_t len);

#define NW DP_RIG_WORKERS
#define SPI_IN 0x00004001u
#define BURST 32
#define MAX_PKTS 768          /* packets per input: bounds the time of one */
#define GEN_MAX 128           /* genuine packets per input */
#define PLAIN_MAX 1600
#define KEPT 8
#define PEN 16                /* fragments held back for the fuzzer to order */
#define PKT_MAX 2048
#define LAN 0                 /* dp->port[] indices, in the file's order */
#define TRUNK 1

static const uint8_t KEYMAT[ESP_KEYMAT_LEN] = {
	0x3c, 0x91, 0xe7, 0x0a, 0x5d, 0xb2, 0x48, 0xf6, 0x13, 0xae, 0x7f, 0x26, 0xc4, 0x89, 0x5b, 0xd0,
	0x62, 0x1e, 0xf3, 0x97, 0x2a, 0x6c, 0xb8, 0x04, 0xdd, 0x71, 0x39, 0xea, 0x85, 0x4f, 0x10, 0xc7,
	0x9b, 0x56, 0xe2, 0x3d,
};
static const uint32_t VNIS[3] = { 5101, 5102, 5103 };
static const uint64_t SEQS[4] = { 0, 1000, 0xfffffff0u, UINT64_C(0x100000005) };
static const uint32_t WINDOWS[4] = { 0, 32, 1024, 64 };
static const struct rte_ether_addr PEER_MAC = { { 0x02, 0x00, 0x5e, 0x12, 0x00, 0x02 } };
static const struct rte_ether_addr STRANGER_MAC = { { 0x02, 0x00, 0x5e, 0x66, 0x00, 0x09 } };

static struct dp_config cfg;
static struct dp D;
static struct rte_ring *urx[NW], *utx[NW], *lrx[NW], *ltx[NW], *trx[NW], *ttx[NW];
static unsigned baseline;        /* mbufs in use between inputs */
static rte_be32_t nat_ip, stranger_ip;

/* One genuine packet: the payload sealed (inner IPv4 / UDP / VXLAN / frame). */
struct genuine {
	uint8_t plain[PLAIN_MAX];
	uint16_t len;
	bool delivered;
	bool must;      /* nothing but a counted mishap may keep it from its port */
};

/* Everything one input changes. */
static struct {
	struct esp_sa *peer;
	struct esp_sa *in;                /* the dataplane's (also for LeakSanitizer: it
					     looks for pointers in our memory, not DPDK's) */
	rte_be32_t peer_ip;               /* the SA's peer: cfg.peer_ip or nat_ip */
	uint16_t ip_id;
	struct genuine gen[GEN_MAX];
	unsigned ngen;
	struct { uint8_t b[PKT_MAX]; uint16_t len; } kept[KEPT];
	unsigned nkept;
	struct { uint8_t b[PKT_MAX]; uint16_t len; } pen[PEN];  /* fragments held back */
	unsigned npen;
	struct rte_mbuf *pend[BURST];
	unsigned npend, pend_w, npkts;
	long held;                        /* fragments in the reassembly tables */
	bool delivered;                   /* frames reached the local ports (MACs learned) */
	bool esn_ahead;                   /* ESN, the peer 2^32 ahead: nothing opens */
	struct dp_stats start[NW];        /* the workers' counters when the input began */
	bool key_in_input;
} S;

static void check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_uplink: invariant violated: %s\n", what);
		abort();
	}
}

static void print_counters(void)
{
	dp_stats_print(&D, stderr, 0);
}

/* ---- boot ---------------------------------------------------------------- */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char up[RTE_ETH_NAME_MAX_LEN], lo[RTE_ETH_NAME_MAX_LEN], tr[RTE_ETH_NAME_MAX_LEN];
	char text[2048], err[256];

	(void)argc;
	(void)argv;
	if (dp_rig_eal("fuzz", "uplink", err, sizeof(err)) < 0 ||
	    dp_rig_port("fu_up", urx, utx, up, err, sizeof(err)) < 0 ||
	    dp_rig_port("fu_lo", lrx, ltx, lo, err, sizeof(err)) < 0 ||
	    dp_rig_port("fu_tr", trx, ttx, tr, err, sizeof(err)) < 0) {
		fprintf(stderr, "fuzz_uplink: %s\n", err);
		exit(1);
	}
	snprintf(text, sizeof(text),
		 "[appliance]\nname = fu\nrx_mode = poll\nburst = 32\nmbufs = 8192\n"
		 "mac_table_size = 1024\nrun_dir = /tmp\n"
		 "[uplink]\nport = %s\naddress = 198.18.0.1\npeer = 198.18.0.2\nmtu = 1700\n"
		 "local_vtep = 198.19.0.1\npeer_vtep = 198.19.0.2\n"
		 "exception_rate = 20\nexception_burst = 10\nreass_flows = 16\n"
		 "reass_timeout_ms = 1000\n"
		 "[local lan]\nport = %s\nmode = access\nmtu = 1500\n"
		 "[local trunk]\nport = %s\nmode = trunk\nmtu = 1500\n"
		 "[segment web]\nlocal = lan\nvni = 5101\nmac_limit = 8\n"
		 "[segment tv]\nlocal = trunk\nvlan = 100\nvni = 5102\ngateway = 192.0.2.1\n"
		 "gateway6 = 2001:db8::1\ngateway_site = peer\nlocal_egress = yes\n"
		 "router_mac = 02:00:00:00:00:fe\n"
		 "[segment native]\nlocal = trunk\nvlan = untagged\nvni = 5103\nmss_clamp = no\n"
		 "flap_dampen = 5\n",
		 up, lo, tr);
	if (dp_rig_start(text, &cfg, &D, err, sizeof(err)) < 0) {
		fprintf(stderr, "fuzz_uplink: dataplane: %s\n", err);
		exit(1);
	}
	if (D.nb_workers != NW || D.uplink != 2 || D.port[LAN].tx_ring != NULL ||
	    D.port[TRUNK].tx_ring != NULL || segment_by_vni(&D, 5101)->port != LAN ||
	    segment_by_vni(&D, 5102)->port != TRUNK || esp_crypto_init() != 0) {
		fprintf(stderr, "fuzz_uplink: the dataplane is not the one this harness expects\n");
		exit(1);
	}
	/* the detector detects: any window of 8, nothing shorter */
	if (!has_key(KEYMAT + 28, 8) || !has_key(KEYMAT + 3, 12) || has_key(KEYMAT, 7)) {
		fprintf(stderr, "fuzz_uplink: the key detector is broken\n");
		exit(1);
	}
	nat_ip = rte_cpu_to_be_32(0xcb007107);      /* 203.0.113.7 */
	stranger_ip = rte_cpu_to_be_32(0xcb007163); /* 203.0.113.99 */
	baseline = rte_mempool_in_use_count(D.pool);
	/* FUZZ_UPLINK_COUNTERS=1: the dataplane's counters at exit (what the
	 * corpus reached) */
	if (getenv("FUZZ_UPLINK_COUNTERS") != NULL)
		atexit(print_counters);
	return 0;
}

/* ---- what leaves ------------------------------------------------------------- */

/* A one-way-ish mix of 8 bytes: the key windows are compared through it, so
 * libFuzzer's comparison tracing never sees a window of the key itself (it
 * would put it in its dictionary, and inputs carrying the key are exempt). */
static uint64_t mix8(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	v ^= v >> 33;
	v *= UINT64_C(0xff51afd7ed558ccd);
	v ^= v >> 33;
	v *= UINT64_C(0xc4ceb9fe1a85ec53);
	return v ^ (v >> 33);
}

/* Whether @p b holds an 8-byte window of the key material. Its bytes are
 * distinct, so a byte says where in the key a window would start. */
static bool has_key(const uint8_t *b, size_t len)
{
	static int8_t at[256];
	static uint64_t win[sizeof(KEYMAT)];
	static bool init;

	if (!init) {
		memset(at, -1, sizeof(at));
		for (size_t k = 0; k + 8 <= sizeof(KEYMAT); k++) {
			at[KEYMAT[k]] = (int8_t)k;
			win[k] = mix8(KEYMAT + k);
		}
		init = true;
	}
	for (size_t i = 0; i + 8 <= len; i++)
		if (at[b[i]] >= 0 && mix8(b + i) == win[at[b[i]]])
			return true;
	return false;
}

static void check_no_key(const struct rte_mbuf *m)
{
	if (!S.key_in_input)
		check(!has_key(rte_pktmbuf_mtod(m, const uint8_t *), m->data_len),
		      "key material in a frame sent");
}

/* Bytes of @p f (@p flen) equal @p e (@p elen), or differ in at most the 4
 * bytes an MSS clamp rewrites (option value and TCP checksum). */
static bool same_frame(const uint8_t *f, const uint8_t *e, uint32_t len, bool clamp)
{
	unsigned diff = 0;

	if (memcmp(f, e, RTE_MIN(len, 14u)) != 0)
		return false;
	for (uint32_t i = 14; i < len; i++)
		if (f[i] != e[i] && ++diff > (clamp ? 4u : 0u))
			return false;
	return true;
}

/* Whether the frame @p f sent on port @p port is genuine packet @p g's. */
static bool frame_of(const struct genuine *g, uint16_t port, const uint8_t *f, uint32_t flen)
{
	const uint8_t *e = g->plain + TUN_INNER_LEN;
	uint32_t elen, vni;
	const struct segment *s;
	bool clamp;

	if (g->delivered || g->len < TUN_INNER_LEN + RTE_ETHER_HDR_LEN)
		return false;
	elen = g->len - TUN_INNER_LEN;
	vni = (uint32_t)g->plain[32] << 16 | (uint32_t)g->plain[33] << 8 | g->plain[34];
	s = segment_by_vni(&D, vni);
	if (s == NULL || s->port != port)
		return false;
	clamp = s->mss4 != 0;
	if (D.port[port].mode == CFG_LOCAL_TRUNK && s->vlan != DP_VLAN_UNTAGGED) {
		uint8_t t[PLAIN_MAX];

		/* the segment's tag restored after the MAC addresses */
		if (flen != elen + 4 || f[12] != 0x81 || f[13] != 0x00 ||
		    ((f[14] << 8 | f[15]) & 0xfff) != s->vlan)
			return false;
		memcpy(t, f, 12);
		memcpy(t + 12, f + 16, elen - 12);
		return same_frame(t, e, elen, clamp);
	}
	return flen == elen && same_frame(f, e, elen, clamp);
}

/* Every frame on the local ports: a genuine packet's, each at most once.
 * @return frames found */
static unsigned drain_local(void)
{
	struct rte_ring *const *rings[2] = { ltx, ttx };
	unsigned total = 0;

	for (uint16_t port = 0; port < 2; port++)
		for (unsigned w = 0; w < NW; w++) {
			struct rte_mbuf *m;

			while (rte_ring_sc_dequeue(rings[port][w], (void **)&m) == 0) {
				const uint8_t *f = rte_pktmbuf_mtod(m, const uint8_t *);
				bool found = false;

				check(m->nb_segs == 1, "a chained mbuf sent on a local port");
				check_no_key(m);
				/* those that must arrive first: two packets may carry
				 * the same frame, and only one of them have to */
				for (int must = 1; must >= 0 && !found; must--)
					for (unsigned i = 0; i < S.ngen && !found; i++)
						if (S.gen[i].must == must &&
						    frame_of(&S.gen[i], port, f, m->data_len)) {
							S.gen[i].delivered = true;
							found = true;
						}
				check(found, "a frame on a local port that no genuine packet carried "
					     "(or one delivered twice)");
				rte_pktmbuf_free(m);
				total++;
			}
		}
	return total;
}

/* Nothing leaves the uplink: no TAP, no ARP request (next_request never). */
static void check_uplink_quiet(void)
{
	for (unsigned w = 0; w < NW; w++)
		check(rte_ring_count(utx[w]) == 0, "a packet sent on the uplink");
	check(rte_ring_count(D.port[D.uplink].tx_ring) == 0, "a packet queued for the uplink");
}

/* mbufs the dataplane's rings hold (hand-off, exception, TX). */
static unsigned in_rings(void)
{
	unsigned n = rte_ring_count(D.exc_ring) + rte_ring_count(D.exc_ike_ring) +
		     rte_ring_count(D.port[D.uplink].tx_ring);

	for (unsigned w = 0; w < NW; w++)
		n += rte_ring_count(D.worker[w]->handoff) + rte_ring_count(utx[w]) +
		     rte_ring_count(ltx[w]) + rte_ring_count(ttx[w]);
	return n;
}

/* Fragments the reassembly tables hold: what is in use and in no ring. */
static long held_now(void)
{
	return (long)rte_mempool_in_use_count(D.pool) - (long)baseline - (long)in_rings() -
	       (long)S.npend;
}

/* ---- a burst and its account --------------------------------------------------- */

/* Counters of one packet's end on the fast path (not a fragment's). */
static const enum dp_counter PACKET_ENDS[] = {
	DP_C_tunnel_in, DP_C_exception, DP_C_drop_exception_policed, DP_C_drop_exception_full,
	DP_C_drop_exception_ike_full, DP_C_handoff,
	DP_C_drop_multiseg, DP_C_drop_uplink_short, DP_C_drop_ethertype, DP_C_drop_ip_bad,
	DP_C_drop_not_for_us, DP_C_drop_proto, DP_C_drop_udp_short, DP_C_drop_esp_short,
	DP_C_drop_unknown_spi, DP_C_drop_outer_src, DP_C_drop_sa_owner, DP_C_drop_replayed,
	DP_C_drop_too_old, DP_C_drop_icv, DP_C_drop_padding, DP_C_drop_esp_other,
	DP_C_drop_next_header, DP_C_drop_inner_short, DP_C_drop_inner_bad, DP_C_drop_inner_addr,
	DP_C_drop_inner_proto, DP_C_drop_vxlan_flags, DP_C_drop_unknown_vni, DP_C_drop_src_mcast,
	DP_C_drop_mac_dampened, DP_C_drop_remote_gateway, DP_C_drop_no_headroom,
	DP_C_drop_reass_oversize,
};
/* Counters of a fragment's end in reass.c (other than being merged). */
static const enum dp_counter FRAG_ENDS[] = {
	DP_C_drop_reass_foreign, DP_C_drop_ip_frag, DP_C_drop_reass_full, DP_C_drop_reass_bad,
	DP_C_drop_reass_timeout,
};

#define D_(k) ((int64_t)(after.c[k] - before.c[k]))

static int64_t sum_of(const struct dp_stats *a, const struct dp_stats *b, const enum dp_counter *c,
		      size_t n)
{
	int64_t s = 0;

	for (size_t i = 0; i < n; i++)
		s += (int64_t)(a->c[c[i]] - b->c[c[i]]);
	return s;
}

static void check_sa_settled(void)
{
	for (uint16_t i = 0; i < D.nb_sa_in; i++) {
		int o = atomic_load(&D.sa_in[i]->owner);

		check(o == SA_OWNER_NONE || (o >= 0 && o < NW), "an inbound SA left claimed on trial");
		if (o != SA_OWNER_NONE) {
			struct esp_sa_stats st;

			esp_sa_get_stats(D.sa_in[i]->sa, &st);
			check(st.packets > 0, "an inbound SA owned before any packet authenticated");
		}
	}
}

/* @p n packets into worker @p w (@p handed: from its hand-off ring), and the account. */
static void burst(unsigned w, struct rte_mbuf **pkts, uint16_t n, bool handed)
{
	struct worker *wk = D.worker[w], *other = D.worker[w ^ 1];
	struct dp_stats before = wk->stats, other_before = other->stats, after;
	unsigned ho_before = rte_ring_count(other->handoff);
	unsigned exc_before = rte_ring_count(D.exc_ring), ike_before = rte_ring_count(D.exc_ike_ring);
	int64_t frags, merged, dheld;
	long held;
	unsigned sent;

	if (handed)
		inbound_handed(wk, pkts, n);
	else
		inbound_input(wk, pkts, n);
	after = wk->stats;
	check(memcmp(&other_before, &other->stats, sizeof(other_before)) == 0,
	      "the other worker's counters changed");
	check(wk->reass_dr.cnt == 0, "fragments left on the death row after a burst");
	check(D_(DP_C_uplink_rx) == (handed ? 0 : n), "uplink_rx is not the packets received");
	check(D_(DP_C_handoff) == (int64_t)rte_ring_count(other->handoff) - ho_before,
	      "handoff is not what the other worker's ring gained");
	check(D_(DP_C_exception) == (int64_t)(rte_ring_count(D.exc_ring) - exc_before +
					       rte_ring_count(D.exc_ike_ring) - ike_before),
	      "exception is not what the exception rings gained");
	check(D_(DP_C_exception_ike) == (int64_t)(rte_ring_count(D.exc_ike_ring) - ike_before),
	      "exception_ike is not what the priority ring gained");
	check(D_(DP_C_uplink_tx) == 0, "the inbound path sent on the uplink");
	check_uplink_quiet();
	sent = drain_local();
	S.delivered |= D_(DP_C_tunnel_in) > 0 || D_(DP_C_fdb_learned) > 0 || D_(DP_C_fdb_limit) > 0;
	check(D_(DP_C_local_tx) == (int64_t)sent, "local_tx is not the frames on the local ports");
	check(D_(DP_C_tunnel_in) == D_(DP_C_local_tx) + D_(DP_C_drop_tx_full) +
					   D_(DP_C_drop_tx_ring_full),
	      "tunnel_in is not local_tx + the TX drops");
	/* fragments: held, dropped by reass.c, or merged (two or more per datagram) */
	held = held_now();
	check(held >= 0, "fewer mbufs in use than the rings hold");
	dheld = held - S.held;
	frags = D_(DP_C_reass_frags);
	merged = frags - sum_of(&after, &before, FRAG_ENDS, RTE_DIM(FRAG_ENDS)) - dheld;
	check(merged >= 2 * D_(DP_C_reass_done) && (D_(DP_C_reass_done) > 0 || merged == 0),
	      "the fragments do not add up: received != held + dropped + merged into datagrams");
	/* packets: every one (a datagram counts as one) ends exactly once */
	check((int64_t)n - frags + D_(DP_C_reass_done) ==
		      sum_of(&after, &before, PACKET_ENDS, RTE_DIM(PACKET_ENDS)),
	      "the packets do not add up: in != delivered + exception + handed + dropped");
	S.held = held;
	check_sa_settled();
}

static void flush(void)
{
	unsigned n = S.npend;

	if (n == 0)
		return;
	S.npend = 0;
	burst(S.pend_w, S.pend, (uint16_t)n, false);
}

static void push(unsigned w, struct rte_mbuf *m)
{
	if (S.npend && S.pend_w != w)
		flush();
	S.pend_w = w;
	S.pend[S.npend++] = m;
	S.npkts++;
	if (S.npend == BURST)
		flush();
}

/* An mbuf holding @p len bytes of @p b, or NULL (too long for one). */
static struct rte_mbuf *mbuf_of(const uint8_t *b, uint32_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(D.pool);
	uint8_t *p;

	check(m != NULL, "mempool empty");
	p = len ? (uint8_t *)rte_pktmbuf_append(m, (uint16_t)RTE_MIN(len, (uint32_t)UINT16_MAX)) : NULL;
	if (len > UINT16_MAX || (len && p == NULL)) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	if (len)
		memcpy(p, b, len);
	return m;
}

static void push_bytes(unsigned w, const uint8_t *b, uint32_t len)
{
	struct rte_mbuf *m;

	/* the other worker's burst goes first: no mbuf of ours outside the account */
	if (S.npend && S.pend_w != w)
		flush();
	m = mbuf_of(b, len);

	if (m != NULL)
		push(w, m);
}

/*
 * An Ethernet + IPv4 packet @p pk (@p len bytes, 20-byte header) in outer
 * fragments of @p piece bytes of IP payload (a multiple of 8), at most
 * @p maxp of them; @p flags FU_S_REV / FU_S_LOSE / FU_S_DUP. Whole when it
 * fits one piece.
 */
static void push_fragments(unsigned w, const uint8_t *pk, uint32_t len, uint32_t piece,
			   unsigned maxp, uint8_t flags, bool pen)
{
	const uint32_t hl = RTE_ETHER_HDR_LEN + 20, plen = len - hl;
	uint32_t off[8], sz[8];
	unsigned np = 0, order[9], no = 0;

	if (len <= hl || plen <= piece || len > PKT_MAX) {
		push_bytes(w, pk, len);
		return;
	}
	for (uint32_t o = 0; o < plen && np < maxp; np++) {
		off[np] = o;
		sz[np] = np + 1 == maxp || plen - o <= piece ? plen - o : piece;
		o += sz[np];
	}
	for (unsigned i = 0; i < np; i++)
		order[no++] = flags & FU_S_REV ? np - 1 - i : i;
	if ((flags & FU_S_LOSE) && no > 1)
		no--;
	if (flags & FU_S_DUP) {
		/* the first one sent, again right after it: an overlap (RFC 5722) */
		memmove(order + 2, order + 1, (no - 1) * sizeof(order[0]));
		order[1] = order[0];
		no++;
	}
	for (unsigned k = 0; k < no; k++) {
		static uint8_t f[PKT_MAX];
		unsigned i = order[k];
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(f + RTE_ETHER_HDR_LEN);
		const struct rte_ipv4_hdr *oip = (const struct rte_ipv4_hdr *)(pk + RTE_ETHER_HDR_LEN);
		uint16_t fo = (uint16_t)(off[i] / 8) | (i + 1 < np ? RTE_IPV4_HDR_MF_FLAG : 0) |
			      (rte_be_to_cpu_16(oip->fragment_offset) & RTE_IPV4_HDR_DF_FLAG);

		memcpy(f, pk, hl);
		memcpy(f + hl, pk + hl + off[i], sz[i]);
		ip->total_length = rte_cpu_to_be_16((uint16_t)(20 + sz[i]));
		ip->fragment_offset = rte_cpu_to_be_16(fo);
		ip->hdr_checksum = 0;
		ip->hdr_checksum = rte_ipv4_cksum(ip);
		if (!pen) {
			push_bytes(w, f, hl + sz[i]);
		} else if (S.npen < PEN) {
			memcpy(S.pen[S.npen].b, f, hl + sz[i]);
			S.pen[S.npen++].len = (uint16_t)(hl + sz[i]);
		}
	}
}

/* ---- ops ------------------------------------------------------------------------- */

/* Seal @p plain (@p plen bytes, next header @p nh) with the peer's SA into a
 * whole outer packet in @p out. @return its length, 0 if it could not be. */
static uint32_t seal(const uint8_t *plain, uint32_t plen, uint8_t nh, uint8_t *out)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(D.pool);
	struct esp_pkt ep;
	uint32_t len = 0;
	uint8_t *p;

	check(m != NULL, "mempool empty");
	p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(OFF_INNER_IP + plen));
	if (p == NULL)
		goto out;
	memcpy(p + OFF_INNER_IP, plain, plen);
	ep = (struct esp_pkt){ .buf = p + OFF_ESP, .len = plen,
			       .room = ESP_PAYLOAD_OFF + plen + rte_pktmbuf_tailroom(m),
			       .next_header = nh };
	if (esp_seal_burst(S.peer, &ep, 1) != 1) {
		check(ep.status == ESP_ERR_SA_EXPIRED || ep.status == ESP_ERR_NO_ROOM,
		      "sealing failed for another reason than an exhausted SA or no room");
		goto out;
	}
	encap_outer(p, &D.port[D.uplink].mac, &PEER_MAC, S.peer_ip, cfg.uplink_ip,
		    ipv4_sum_base(S.peer_ip, cfg.uplink_ip), RTE_BE16(4500), RTE_BE16(4500),
		    S.ip_id++, (uint16_t)ep.len);
	len = OFF_ESP + ep.len;
	if (len <= PKT_MAX)
		memcpy(out, p, len);
	else
		len = 0;
out:
	rte_pktmbuf_free(m);
	return len;
}

static void op_seal(unsigned w, unsigned extra, uint8_t flags, uint8_t sel, uint8_t cut,
		    const uint8_t *b, uint32_t blen)
{
	static uint8_t plain[PLAIN_MAX], pk[PKT_MAX];
	uint32_t plen;
	uint8_t nh = IPPROTO_IPIP;
	struct genuine *g;

	if (S.ngen == GEN_MAX)
		return;
	memset(plain, 0, sizeof(plain));
	if ((flags & FU_S_MODE) <= 1) {
		uint32_t vni = (flags & FU_S_MODE) == 0 ? VNIS[sel % 3] : 5100u + sel;

		blen = RTE_MIN(blen, (uint32_t)PLAIN_MAX - TUN_INNER_LEN);
		memcpy(plain + TUN_INNER_LEN, b, blen);
		encap_inner(plain, (uint16_t)blen, cfg.peer_vtep, cfg.local_vtep,
			    ipv4_sum_base(cfg.peer_vtep, cfg.local_vtep),
			    rte_cpu_to_be_32(vni << 8));
		plen = TUN_INNER_LEN + blen;
	} else {
		blen = RTE_MIN(blen, (uint32_t)PLAIN_MAX);
		memcpy(plain, b, blen);
		plen = blen;
		if ((flags & FU_S_MODE) == 3)
			nh = sel;
	}
	/* the sequence numbers the peer used for packets lost on the way */
	for (unsigned i = 0; i < (extra & 7); i++)
		if (seal(plain, plen, nh, pk) == 0)
			return;
	{
		uint32_t len = seal(plain, plen, nh, pk);

		if (len == 0)
			return;
		g = &S.gen[S.ngen++];
		memcpy(g->plain, plain, plen);
		g->len = (uint16_t)plen;
		g->delivered = false;
		/* a frame the dataplane has no reason to keep from its port: VXLAN
		 * to the access or the native segment (no gateway filter), a unicast
		 * source, sent whole or in all its fragments once each */
		g->must = !S.esn_ahead && (flags & FU_S_MODE) == 0 && sel % 3 != 1 &&
			  blen >= RTE_ETHER_HDR_LEN && !(plain[TUN_INNER_LEN + 6] & 1) &&
			  !(extra & FU_N_PEN) &&
			  (!(flags & FU_S_FRAG) || !(flags & (FU_S_LOSE | FU_S_DUP)));
		memcpy(S.kept[S.nkept % KEPT].b, pk, len);
		S.kept[S.nkept++ % KEPT].len = (uint16_t)len;
		if (flags & FU_S_FRAG)
			push_fragments(w, pk, len, 8u * (cut + 1u), ((flags >> 3) & 3) + 2, flags,
				       extra & FU_N_PEN);
		else
			push_bytes(w, pk, len);
	}
}

static void op_replay(unsigned w, uint8_t slot, uint16_t off, uint8_t x)
{
	static uint8_t pk[PKT_MAX];
	unsigned i;

	if (S.nkept == 0)
		return;
	i = slot % RTE_MIN(S.nkept, (unsigned)KEPT);
	memcpy(pk, S.kept[i].b, S.kept[i].len);
	pk[off % S.kept[i].len] ^= x;
	push_bytes(w, pk, S.kept[i].len);
}

static void op_udp(unsigned w, uint8_t flags, const uint8_t *b, uint32_t blen)
{
	static const uint16_t ports[] = { 500, 4500, 4501, 4502, 4500, 4500, 53, 0 };
	static uint8_t pk[PKT_MAX];
	const rte_be32_t srcs[4] = { cfg.peer_ip, nat_ip, stranger_ip, cfg.uplink_ip };
	unsigned kind = flags & FU_U_KIND, src = (flags >> 3) & 3;
	struct rte_ether_hdr *eh = (struct rte_ether_hdr *)pk;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eh + 1);
	uint8_t *l4 = (uint8_t *)(ip + 1), *pay = l4 + (kind == FU_K_ICMP ? 0 : 8);
	uint32_t plen;

	blen = RTE_MIN(blen, (uint32_t)1600);
	if (kind == FU_K_IKE4500) {
		memset(pay, 0, 4);
		memcpy(pay + 4, b, blen);
		plen = blen + 4;
	} else if (kind == FU_K_KEEPALIVE) {
		pay[0] = 0xff;
		plen = 1;
	} else {
		memcpy(pay, b, blen);
		plen = blen;
	}
	memset(pk, 0, RTE_ETHER_HDR_LEN + 20 + 8);
	eh->dst_addr = D.port[D.uplink].mac;
	eh->src_addr = src == 2 ? STRANGER_MAC : PEER_MAC;
	eh->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->time_to_live = 64;
	ip->packet_id = rte_cpu_to_be_16(S.ip_id++);
	ip->src_addr = srcs[src];
	ip->dst_addr = cfg.uplink_ip;
	if (kind == FU_K_ICMP) {
		ip->next_proto_id = IPPROTO_ICMP;
	} else {
		struct rte_udp_hdr *u = (struct rte_udp_hdr *)l4;

		ip->next_proto_id = IPPROTO_UDP;
		u->src_port = rte_cpu_to_be_16(ports[kind]);
		u->dst_port = rte_cpu_to_be_16(ports[kind]);
		u->dgram_len = rte_cpu_to_be_16((uint16_t)(8 + plen));
		plen += 8;
	}
	ip->total_length = rte_cpu_to_be_16((uint16_t)(20 + plen));
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	if (flags & FU_U_FRAG)
		push_fragments(w, pk, RTE_ETHER_HDR_LEN + 20 + plen,
			       8u * (1 + plen / 16), 2, flags & FU_U_REV ? FU_S_REV : 0,
			       flags & FU_U_PEN);
	else
		push_bytes(w, pk, RTE_ETHER_HDR_LEN + 20 + plen);
}

/* The reassembly clock of worker @p w @p eighths / 8 of the timeout on. */
static void op_time(unsigned w, unsigned eighths)
{
	struct worker *wk = D.worker[w];
	struct dp_stats before, after;
	long held;

	flush();
	before = wk->stats;
	wk->reass_next_expiry = 0;
	reass_expire(wk, rte_rdtsc() + D.tsc_hz * cfg.reass_timeout_ms / 1000 * eighths / 8);
	after = wk->stats;
	held = held_now();
	check(D_(DP_C_drop_reass_timeout) == S.held - held,
	      "fragments freed by the sweep are not the ones counted as timed out");
	check(D_(DP_C_drop_reass_timeout) == sum_of(&after, &before, FRAG_ENDS, RTE_DIM(FRAG_ENDS)),
	      "the sweep counted another drop than a timeout");
	S.held = held;
}

/* Worker @p w takes one burst of what others handed to it. */
static void op_take(unsigned w)
{
	struct rte_mbuf *pk[BURST];
	unsigned n;

	flush();
	n = rte_ring_sc_dequeue_burst(D.worker[w]->handoff, (void **)pk, BURST, NULL);
	if (n)
		burst(w, pk, (uint16_t)n, true);
}

/* What the exception path may carry: traffic for the appliance itself. */
static void check_exception_pkt(const struct rte_mbuf *m, bool prio)
{
	const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);
	const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)(p + RTE_ETHER_HDR_LEN);
	uint32_t ihl, len = m->data_len;
	uint16_t dport;
	const uint8_t *pay;
	bool peer;

	check(m->nb_segs == 1 && len >= RTE_ETHER_HDR_LEN, "a short or chained exception packet");
	check_no_key(m);
	if (p[12] == 0x08 && p[13] == 0x06) {
		check(!prio, "ARP in the priority ring");
		return;
	}
	check(p[12] == 0x08 && p[13] == 0x00 && len >= RTE_ETHER_HDR_LEN + 20,
	      "neither ARP nor IPv4 on the exception path");
	ihl = (ip->version_ihl & 0xf) * 4u;
	check(ip->dst_addr == cfg.uplink_ip && !rte_ipv4_frag_pkt_is_fragmented(ip) &&
		      RTE_ETHER_HDR_LEN + (uint32_t)rte_be_to_cpu_16(ip->total_length) <= len,
	      "an exception packet not for the uplink address, or a fragment");
	if (ip->next_proto_id == IPPROTO_ICMP) {
		check(!prio, "ICMP in the priority ring");
		return;
	}
	check(ip->next_proto_id == IPPROTO_UDP && rte_be_to_cpu_16(ip->total_length) >= ihl + 8,
	      "neither ICMP nor UDP on the exception path");
	dport = (uint16_t)(p[RTE_ETHER_HDR_LEN + ihl + 2] << 8 | p[RTE_ETHER_HDR_LEN + ihl + 3]);
	pay = p + RTE_ETHER_HDR_LEN + ihl + 8;
	peer = ip->src_addr == cfg.peer_ip || ip->src_addr == atomic_load(&D.peer_now);
	if (dport == 500) {
		check(prio == peer, "IKE on 500 in the wrong class");
	} else if (dport == 4500) {
		uint32_t plen = rte_be_to_cpu_16(ip->total_length) - ihl - 8;

		if (plen == 1 && pay[0] == 0xff) {
			check(!prio, "a NAT keepalive in the priority ring");
		} else {
			check(plen >= 4 && memcmp(pay, "\0\0\0\0", 4) == 0,
			      "ESP (no non-ESP marker) on the exception path");
			check(prio == peer, "IKE on 4500 in the wrong class");
		}
	} else {
		check(!prio && (dport == 4501 || dport == 4502),
		      "UDP to another port than 500, 4500, 4501, 4502 on the exception path");
	}
}

/* Check what each ring holds, keeping it in order. @return packets */
static unsigned peek_ring(struct rte_ring *r, bool prio)
{
	struct rte_mbuf *pk[1024];
	unsigned n = rte_ring_sc_dequeue_burst(r, (void **)pk, RTE_DIM(pk), NULL);

	for (unsigned i = 0; i < n; i++)
		check_exception_pkt(pk[i], prio);
	check(rte_ring_sp_enqueue_burst(r, (void **)pk, n, NULL) == n, "exception ring refilled");
	return n;
}

/* The main lcore's turn: the exception path (to no TAP) and L2 safety. */
static void op_service(void)
{
	uint64_t before = D.main_stats.c[DP_C_exception_no_tap];
	unsigned n;

	flush();
	n = peek_ring(D.exc_ike_ring, true) + peek_ring(D.exc_ring, false);
	exception_service(&D);
	l2guard_service(&D);
	check(rte_ring_count(D.exc_ring) == 0 && rte_ring_count(D.exc_ike_ring) == 0,
	      "exception rings not emptied");
	check(D.main_stats.c[DP_C_exception_no_tap] - before == n,
	      "exception_no_tap is not what the rings held");
	check_uplink_quiet();
	check(held_now() == S.held, "the main lcore changed the mbufs held");
}

/* ---- one input ------------------------------------------------------------------ */

/* Back to the state after boot, with the inbound SA of configuration @p c. */
static void reset(uint8_t c)
{
	struct sa_spec si = {
		.dir = ESP_DIR_INBOUND, .spi = SPI_IN,
		.cipher = (c & FU_C_CHACHA) ? ESP_CIPHER_CHACHA20POLY1305 : ESP_CIPHER_AES256GCM,
		.esn = c & FU_C_ESN, .replay_window = WINDOWS[(c >> 5) & 3], .keymat = KEYMAT,
		.worker = -1,
	};
	struct esp_sa_params pp = {
		.cipher = si.cipher, .backend = ESP_BACKEND_SODIUM, .dir = ESP_DIR_OUTBOUND,
		.spi = SPI_IN, .keymat = KEYMAT, .keymat_len = ESP_KEYMAT_LEN, .esn = si.esn,
		.initial_seq = SEQS[(c >> 2) & 3],
	};
	char err[256];

	if (!pp.esn && pp.initial_seq > UINT32_MAX)
		pp.initial_seq = 0x7fffffff;
	S.peer_ip = (c & FU_C_NAT) ? nat_ip : cfg.peer_ip;
	si.peer_ip = S.peer_ip;
	(void)sa_del(&D, SPI_IN, ESP_DIR_INBOUND);
	check(sa_add(&D, &si, err, sizeof(err)) == 0, "sa_add refused the inbound SA");
	S.in = sa_find(&D, SPI_IN, ESP_DIR_INBOUND);
	esp_sa_destroy(S.peer);
	S.peer = esp_sa_create(&pp, err, sizeof(err));
	check(S.peer != NULL, "the peer's SA");
	atomic_store(&D.peer_now, S.peer_ip);
	/* resolved from ARP or the first authenticated packet; never asked for here */
	nexthop_init(&D.nh, cfg.gateway_ip, cfg.uplink_ip, &D.port[D.uplink].mac);
	D.nh.next_request = UINT64_MAX;
	for (unsigned w = 0; w < NW; w++) {
		rte_meter_srtcm_config(&D.worker[w]->exc_meter, &D.exc_prof);
		D.worker[w]->reass_next_expiry = UINT64_MAX;
	}
	for (uint16_t i = 0; i < atomic_load(&D.nb_seg) && S.delivered; i++) {
		/* (only after frames were delivered: the tables are walked whole) */
		fdb_flush_segment(D.fdb, i);
		l2guard_forget_segment(&D, i);
		for (unsigned k = 0; k < RTE_DIM(D.seg[i].guard.report_s); k++)
			atomic_store(&D.seg[i].guard.report_s[k], 0);
	}
	S.ip_id = 0;
	S.ngen = S.nkept = S.npend = S.npkts = S.npen = 0;
	S.held = 0;
	S.delivered = false;
	S.esn_ahead = pp.esn && pp.initial_seq > UINT32_MAX;
	for (unsigned w = 0; w < NW; w++)
		S.start[w] = D.worker[w]->stats;
}

/*
 * At the end of an input: every genuine packet that had to reach its port
 * did, or a counted mishap can explain it: a fragment dropped or left
 * incomplete (the fuzzer's own fragments may collide with its datagram),
 * its sequence number seen or left behind first (a replay or a later packet
 * overtook it), its ICV broken (a colliding fragment). Counted per packet
 * or fragment, so generous, but a packet dropped under no excuse at all is
 * found.
 */
static void check_genuine_delivered(long left_in_tables)
{
	static const enum dp_counter excuses[] = {
		DP_C_drop_reass_full, DP_C_drop_reass_bad, DP_C_drop_reass_timeout,
		DP_C_drop_too_old, DP_C_drop_replayed, DP_C_drop_icv,
	};
	int64_t excused = left_in_tables, missing = 0;

	for (unsigned w = 0; w < NW; w++)
		excused += sum_of(&D.worker[w]->stats, &S.start[w], excuses, RTE_DIM(excuses));
	for (unsigned i = 0; i < S.ngen; i++)
		missing += S.gen[i].must && !S.gen[i].delivered;
	check(missing <= excused, "a genuine packet did not reach its port, and no drop explains it");
}

/* Everything out of the dataplane again: no mbuf may stay behind. */
static void drain(void)
{
	long freed = 0;

	flush();
	for (int round = 0; round < 4; round++)
		for (unsigned w = 0; w < NW; w++)
			while (!rte_ring_empty(D.worker[w]->handoff))
				op_take(w);
	for (unsigned w = 0; w < NW; w++)
		check(rte_ring_empty(D.worker[w]->handoff), "packets handed back and forth");
	op_service();
	for (unsigned w = 0; w < NW; w++) {
		struct worker *wk = D.worker[w];

		for (;;) {
			reass_flush(wk);
			rte_ip_frag_table_del_expired_entries(wk->reass_tbl, &wk->reass_dr, UINT64_MAX);
			if (wk->reass_dr.cnt == 0)
				break;
			for (uint32_t k = 0; k < wk->reass_dr.cnt; k++)
				freed += wk->reass_dr.row[k]->nb_segs;
		}
	}
	check(freed == S.held, "the reassembly tables held other fragments than counted");
	check_genuine_delivered(freed);
	check(in_rings() == 0, "a ring not drained");
	check(rte_mempool_in_use_count(D.pool) == baseline, "mbufs leaked");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t i = 1;

	if (size < 1)
		return 0;
	reset(data[0]);
	S.key_in_input = has_key(data, size);
	while (i < size && S.npkts < MAX_PKTS) {
		uint8_t op = data[i++];
		unsigned w = (op >> 3) & 1, nib = op >> 4;

		switch ((enum fu_op)(op & 7)) {
		case FU_RAW: {
			uint32_t len;

			if (i + 2 > size)
				goto done;
			len = (uint32_t)(data[i] | data[i + 1] << 8) % PKT_MAX;
			i += 2;
			len = (uint32_t)RTE_MIN((size_t)len, size - i);
			push_bytes(w, data + i, len);
			i += len;
			break;
		}
		case FU_SEAL: {
			uint8_t flags, sel, cut = 0;
			uint32_t len;

			if (i + 4 > size)
				goto done;
			flags = data[i];
			sel = data[i + 1];
			len = (uint32_t)(data[i + 2] | data[i + 3] << 8) % PKT_MAX;
			i += 4;
			if (flags & FU_S_FRAG) {
				if (i + 1 > size)
					goto done;
				cut = data[i++];
			}
			len = (uint32_t)RTE_MIN((size_t)len, size - i);
			op_seal(w, nib, flags, sel, cut, data + i, len);
			i += len;
			break;
		}
		case FU_REPLAY:
			if (i + 4 > size)
				goto done;
			op_replay(w, data[i], (uint16_t)(data[i + 1] | data[i + 2] << 8), data[i + 3]);
			i += 4;
			break;
		case FU_TIME:
			op_time(w, nib);
			break;
		case FU_TAKE:
			op_take(w);
			break;
		case FU_FLUSH:
			if (nib == 0) {
				flush();
			} else if (S.npen) {
				unsigned k = (nib - 1) % S.npen;

				push_bytes(w, S.pen[k].b, S.pen[k].len);
				S.pen[k] = S.pen[--S.npen];
			}
			break;
		case FU_SERVICE:
			op_service();
			break;
		case FU_UDP: {
			uint8_t flags;
			uint32_t len;

			if (i + 3 > size)
				goto done;
			flags = data[i];
			len = (uint32_t)(data[i + 1] | data[i + 2] << 8) % PKT_MAX;
			i += 3;
			len = (uint32_t)RTE_MIN((size_t)len, size - i);
			op_udp(w, flags, data + i, len);
			i += len;
			break;
		}
		}
	}
done:
	drain();
	return 0;
}
