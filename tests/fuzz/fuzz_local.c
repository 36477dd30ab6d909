/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer harness for the local-port frame path: outbound_input()
 * (dataplane/outbound.c) and what it reaches: gateway.c (ARP and ND answers
 * for the segment's gateway, local egress), l2guard.c (loop signatures, MAC
 * flaps, IP conflicts), fdb.c learning, storm.c, mss.c (IPv4 and IPv6 SYNs),
 * pmtu.c (ICMP fragmentation needed, ICMPv6 packet too big), the seal ring of
 * a worker without an SA, sealing, outer fragmentation.
 *
 * A real dataplane is booted once (tests/lib/dp_rig.h: EAL without hugepages,
 * two workers driven from this thread, net_ring ports) with every feature on:
 *
 *   port 0 "lan"   access, segment acc (VNI 5101, index 0): gateway 192.0.2.1
 *                  and 2001:db8:1::1 at the peer, local egress (router
 *                  02:00:00:00:ee:01), mss 1200, storm control 20 pps each
 *                  class (burst 8), pmtu (rate 10), flap_moves 2 dampened
 *                  30 s, aging 10 s
 *   port 1 "trunk" VLAN 101: segment v101 (VNI 5102, index 1): gateway
 *                  198.51.100.1 and 2001:db8:2::1 at the peer, local egress
 *                  (router 02:00:00:00:ee:02), default MSS clamp, storm
 *                  control, pmtu, mac_limit 16, flap_moves 1 (report only);
 *                  untagged (and VID 0): segment native (VNI 5103, index 2):
 *                  gateway 203.0.113.1 on this site, pmtu
 *   uplink         MTU 1400 (frames over 1302 bytes need outer fragments: path
 *                  MTU answers, or fragments), the peer's MAC fixed
 *
 * One outbound SA, on worker 0: worker 1 hands its frames to worker 0's seal
 * ring. One inbound SA, owned by worker 0 (claimed at boot), so the harness
 * can play the peer (learning MACs as remote, loop signatures).
 *
 * The input is an op script, each op an opcode byte (low 3 bits):
 *   0 frame     u8 ctl, u16 len (LE), up to len bytes (zero-padded to len,
 *               len % 2049): a frame into the pending burst; ctl bit 0 port
 *               (lan, trunk), bit 1 worker, bit 2 in two chained mbufs
 *   1 repeat    u8 n: the previous frame again (n % 64) + 1 times
 *   2 flush     run the pending burst through outbound_input()
 *   3 time      u8 t: t * 100 ms pass for the storm and path-MTU buckets and
 *               MAC aging (fdb_age, as the main lcore does)
 *   4 peer      u8 ctl, u16 len, bytes: a frame the peer sends on segment
 *               ctl % 3, sealed with its SA, through inbound_input() (learns
 *               its source as remote, records its loop signature)
 *   5 loopback  u8 ctl: the last frame the peer op delivered to a local port
 *               comes back in on that port (a loop), worker ctl & 1
 *   6, 7        flush
 * A burst also runs when it is full (32), or when a frame is for another
 * port or worker. An input has at most 2048 frames (the rest are ignored).
 *
 * Checked on every burst (abort() on violation):
 *  - every frame is accounted exactly once: frames in (local_rx) = sealed
 *    (tunnel_out) + handed to the sealing worker (seal_handoff) + answered
 *    (gw_arp_answered) + dropped (the drop_* counters of frames; drop_pmtu
 *    for a frame answered with ICMP); the seal ring's frames are sealed or
 *    dropped; every sealed packet is on the uplink, whole or in fragments
 *    (tunnel_out = whole + frag_packets + fragmentation failures), and the
 *    uplink_tx / local_tx / frag_out counters match what the rings hold;
 *  - every packet on the uplink has the right outer headers, reassembles,
 *    opens with the peer's SA (esp_open_burst, the same keys) into inner IPv4
 *    VTEP -> VTEP / UDP 4789 / VXLAN with the segment's VNI / a frame of this
 *    burst, in order: byte-identical to the input (tag stripped on the
 *    trunk) except a valid MSS rewrite: only MSS option values changed, each
 *    lowered to exactly the segment's clamp (less 4 per tag inside), the TCP
 *    checksum still verifying as before (RFC 1624); and no well-formed SYN
 *    crosses with an MSS over the clamp;
 *  - nothing goes out of a local port but answers, out of the port and queue
 *    the request came in on, each matched to its own request frame (at most
 *    one answer per request): an ARP reply only for an ARP request for the
 *    gateway's address (exactly the reply RFC 826 gives, router MAC), a
 *    neighbor advertisement only for a valid solicitation (RFC 4861 7.1.1)
 *    for gateway6 (RFC 4861 7.2.4, checksum right), ICMP fragmentation needed (RFC 1191) only for an
 *    oversize IPv4 DF first fragment from a unicast source to a unicast
 *    destination, ICMPv6 packet too big (RFC 4443 3.2) only for an oversize
 *    IPv6 packet, each quoting that packet, from the gateway, checksums
 *    right, announcing the largest inner packet that fits; answer counters
 *    (gw_arp_answered, pmtu_icmp4, pmtu_icmp6) equal what was sent;
 *  - no 8 bytes of either SA's key material in anything sent (unless the
 *    input itself carries them);
 *  - after each input, the mbuf pool's in-use count is back at its baseline.
 * Between inputs the MAC table, loop and ARP tables, reports and buckets are
 * reset, so an input replays the same way (all but wall-clock effects inside
 * one input: a storm bucket refilling during a very slow run).
 *
 * With gcc this is linked into fuzz_driver.c (suite fuzz); with clang and
 * -Dfuzz=enabled it is a libFuzzer binary (tests/fuzz/README.md). Seeds:
 * fuzz_local_seeds.py.
 */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "dp_rig.h"
#include "encap.h"
#include "esp.h"
#include "fdb.h"
#include "inbound.h"
#include "l2guard.h"
#include "outbound.h"
#include "sa.h"
#include "segment.h"
#include "storm.h"
#include "worker.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NW DP_RIG_WORKERS
#define BURST 32
#define FRAME_MAX 2048
#define NSEG 3
#define UPLINK_MTU 1400
#define SPI_IN 0x00001001u  /* peer -> us: the inbound SA */
#define SPI_OUT 0x00002002u /* us -> peer: worker 0's outbound SA */
#define PKT_MAX 4096
#define MAX_FRAMES 2048           /* frames per input, at most */

/* The segments as configured below (seg index = order in the file). */
static const struct seg_conf {
	uint8_t gw4[4];
	uint8_t gw6[16];
	bool has_gw6, egress;
	uint8_t router[6];
	uint16_t mss;         /* 0: the default for the uplink MTU */
} SEGS[NSEG] = {
	{ { 192, 0, 2, 1 }, { 0x20, 0x01, 0x0d, 0xb8, 0, 1, [15] = 1 }, true, true,
	  { 2, 0, 0, 0, 0xee, 1 }, 1200 },
	{ { 198, 51, 100, 1 }, { 0x20, 0x01, 0x0d, 0xb8, 0, 2, [15] = 1 }, true, true,
	  { 2, 0, 0, 0, 0xee, 2 }, 0 },
	{ { 203, 0, 113, 1 }, { 0 }, false, false, { 0 }, 0 },
};

static const char CONF[] =
	"[appliance]\nname = fz\nrx_mode = poll\nburst = 32\nmbufs = 8192\nmac_table_size = 1024\n"
	"run_dir = /tmp\n"
	"[uplink]\nport = %s\naddress = 198.18.0.1\npeer = 198.18.0.2\n"
	"peer_mac = 02:00:5e:12:00:02\nmtu = 1400\nlocal_vtep = 198.19.0.1\npeer_vtep = 198.19.0.2\n"
	"[local lan]\nport = %s\nmode = access\nmtu = 1500\n"
	"[local trunk]\nport = %s\nmode = trunk\nmtu = 1500\n"
	"[segment acc]\nlocal = lan\nvni = 5101\ngateway = 192.0.2.1\ngateway6 = 2001:db8:1::1\n"
	"gateway_site = peer\nlocal_egress = yes\nrouter_mac = 02:00:00:00:ee:01\nmss = 1200\n"
	"storm_broadcast = 20\nstorm_multicast = 20\nstorm_unknown = 20\nstorm_burst = 8\n"
	"pmtu = yes\npmtu_rate = 10\nflap_moves = 2\nflap_window = 10\nflap_dampen = 30\naging = 10\n"
	"[segment v101]\nlocal = trunk\nvlan = 101\nvni = 5102\ngateway = 198.51.100.1\n"
	"gateway6 = 2001:db8:2::1\ngateway_site = peer\nlocal_egress = yes\n"
	"router_mac = 02:00:00:00:ee:02\nstorm_broadcast = 20\nstorm_multicast = 20\n"
	"storm_unknown = 20\nstorm_burst = 8\npmtu = yes\npmtu_rate = 10\nmac_limit = 16\n"
	"flap_moves = 1\n"
	"[segment native]\nlocal = trunk\nvni = 5103\ngateway = 203.0.113.1\npmtu = yes\n";

/* Key material with 36 distinct bytes each: (i * 37 + c) mod 256. */
static uint8_t key_out[ESP_KEYMAT_LEN], key_in[ESP_KEYMAT_LEN];
static int8_t key_pos[2][256];

static struct dp_config cfg;
static struct dp D;
static struct rte_ring *urx[NW], *utx[NW], *lrx[NW], *ltx[NW], *trx[NW], *ttx[NW];
static struct esp_sa *peer_seal, *peer_open;
static unsigned pool_baseline;
static uint16_t peer_ip_id;
static enum dp_counter frame_drops[DP_C_MAX];
static unsigned nframe_drops;
static uint16_t inner_mtu;       /* largest inner IP packet crossing whole */
static uint16_t mss4[NSEG], mss6[NSEG];

/* The input being run: outputs may quote it (key check) */
static const uint8_t *in_data;
static size_t in_size;

struct frame {
	uint8_t b[FRAME_MAX];
	uint16_t len;
	bool chained;
};

static struct {
	uint8_t port, worker;
	uint16_t n;
	struct frame f[BURST];
} pend;

static struct frame last;        /* the previous frame op's frame (repeat) */
static int last_port, last_worker;
static bool have_last;
static struct frame delivered;   /* the last frame the peer op put on a local port */
static int delivered_port = -1;
static uint64_t advanced_ms;     /* time ops of this input */
static unsigned nframes;         /* frames of this input so far */

#define fail(...) do { fprintf(stderr, "fuzz_local: " __VA_ARGS__); fputc('\n', stderr); \
		       abort(); } while (0)
#define check(c, ...) do { if (!(c)) fail(__VA_ARGS__); } while (0)

/* The harness's own byte loops need no coverage feedback (they made a
 * third of the run time, and taught the fuzzer nothing about the dataplane). */
#if defined(__clang__)
#define HARNESS_LOOP __attribute__((no_sanitize("coverage")))
#else
#define HARNESS_LOOP
#endif

/* ---- checksums (RFC 1071), independent of the dataplane's ---- */

HARNESS_LOOP static uint32_t sum16(uint32_t s, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* Whether a header/message including its checksum field sums to 0xffff. */
static bool sum_ok(uint32_t s)
{
	return fold(s) == 0xffff;
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Outer IPv4 length of a frame of @p flen bytes (docs/mtu.md), computed here. */
static uint32_t outer_len(uint32_t flen)
{
	return 20 + 8 + 8 + 8 + ((20 + 8 + 8 + flen + 2 + 3) / 4) * 4 + 16;
}

/* ---- the dataplane ---- */

static void snap(struct dp_stats *s)
{
	for (unsigned w = 0; w < NW; w++)
		s[w] = D.worker[w]->stats;
}

static uint64_t delta(const struct dp_stats *a, const struct dp_stats *b, unsigned w,
		      enum dp_counter c)
{
	return b[w].c[c] - a[w].c[c];
}

static uint64_t delta_all(const struct dp_stats *a, const struct dp_stats *b, enum dp_counter c)
{
	uint64_t n = 0;

	for (unsigned w = 0; w < NW; w++)
		n += delta(a, b, w, c);
	return n;
}

static uint64_t drops_of(const struct dp_stats *a, const struct dp_stats *b, unsigned w)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < nframe_drops; i++)
		n += delta(a, b, w, frame_drops[i]);
	return n;
}

/* A frame in an mbuf (two chained ones when asked: drop_multiseg). */
static struct rte_mbuf *mbuf_of(const struct frame *f)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(D.pool), *m2;
	uint16_t first = f->chained ? f->len / 2 : f->len;
	uint8_t *p;

	check(m != NULL, "mbuf pool empty");
	p = (uint8_t *)rte_pktmbuf_append(m, first);
	check(p != NULL || first == 0, "no room for %u bytes", first);
	if (first)
		memcpy(p, f->b, first);
	if (!f->chained)
		return m;
	m2 = rte_pktmbuf_alloc(D.pool);
	check(m2 != NULL, "mbuf pool empty");
	p = (uint8_t *)rte_pktmbuf_append(m2, f->len - first);
	if (f->len - first)
		memcpy(p, f->b + first, f->len - first);
	check(rte_pktmbuf_chain(m, m2) == 0, "cannot chain");
	return m;
}

/* No key bytes in an output, unless the input carried them itself. */
HARNESS_LOOP static void check_no_key(const uint8_t *p, size_t n, const char *what)
{
	for (int k = 0; k < 2; k++) {
		const uint8_t *key = k ? key_in : key_out;

		for (size_t i = 0; i + 8 <= n; i++) {
			int pos = key_pos[k][p[i]];

			if (pos < 0 || pos > ESP_KEYMAT_LEN - 8 || memcmp(p + i, key + pos, 8) != 0)
				continue;
			check(in_data != NULL && memmem(in_data, in_size, key + pos, 8) != NULL,
			      "%s: 8 bytes of key material at offset %zu", what, i);
		}
	}
}

/* Copy the bytes of a (single-segment) mbuf. */
static uint16_t bytes_of(struct rte_mbuf *m, uint8_t *out, size_t room)
{
	check(m->nb_segs == 1 && m->data_len == m->pkt_len, "output in chained mbufs");
	check(m->data_len <= room, "output of %u bytes", m->data_len);
	memcpy(out, rte_pktmbuf_mtod(m, void *), m->data_len);
	return m->data_len;
}

/* ---- what an input frame is ---- */

/* The segment of frame @p f on port @p port and its bytes as they travel in
 * VXLAN (tag stripped on the trunk), or -1 when it goes nowhere. */
static int frame_seg(int port, const struct frame *f, uint8_t *out, uint16_t *olen)
{
	const uint8_t *b = f->b;
	uint16_t len = f->len;

	if (f->chained || len < 14 || len > 1514 + (port == 1 ? 4 : 0))
		return -1;
	if (port == 0) {
		memcpy(out, b, len);
		*olen = len;
		return 0;
	}
	if (be16(b + 12) == 0x8100) {
		uint16_t vid;

		if (len < 18)
			return -1;
		vid = be16(b + 14) & 0xfff;
		memcpy(out, b, 12);
		memcpy(out + 12, b + 16, len - 16);
		*olen = len - 4;
		return vid == 101 ? 1 : vid == 0 ? 2 : -1;
	}
	memcpy(out, b, len);
	*olen = len;
	return 2;
}

/* ---- MSS rewrite check ---- */

struct tcp_at {
	uint32_t l3, l4, hlen, end;
	int tags;
	bool v6, routing;
	uint32_t mss_at[8];
	unsigned nmss;
};

/* Find a SYN's TCP header and MSS options in an untagged frame (RFC 9293
 * 3.1 options; up to 2 tags; IPv6 hop-by-hop, routing, destination options
 * and first fragments). @return false when it is no well-formed SYN. */
static bool parse_syn(const uint8_t *p, uint32_t len, struct tcp_at *t)
{
	uint32_t off = 14, i;
	uint16_t type;
	uint8_t nh;

	memset(t, 0, sizeof(*t));
	if (len < 14)
		return false;
	type = be16(p + 12);
	while (type == 0x8100 || type == 0x88a8) {
		if (t->tags == 2 || off + 4 > len)
			return false;
		type = be16(p + off + 2);
		off += 4;
		t->tags++;
	}
	t->l3 = off;
	if (type == 0x0800) {
		uint32_t ihl;

		if (off + 20 > len || p[off + 9] != 6 || (be16(p + off + 6) & 0x1fff) != 0 ||
		    (p[off] >> 4) != 4)
			return false;
		ihl = (p[off] & 0xfu) * 4;
		t->end = off + be16(p + off + 2);
		if (ihl < 20 || t->end > len || off + ihl > t->end)
			return false;
		t->l4 = off + ihl;
	} else if (type == 0x86dd) {
		int n;

		if (off + 40 > len || (p[off] >> 4) != 6)
			return false;
		t->end = off + 40 + be16(p + off + 4);
		if (t->end > len)
			return false;
		t->v6 = true;
		nh = p[off + 6];
		off += 40;
		for (n = 0; n < 8 && nh != 6; n++) {
			if (off + 8 > t->end)
				return false;
			if (nh == 0 || nh == 43 || nh == 60) {
				t->routing |= nh == 43;
				nh = p[off];
				off += (p[off + 1] + 1u) * 8;
			} else if (nh == 44) {
				if ((be16(p + off + 2) & 0xfff8) != 0)
					return false;
				nh = p[off];
				off += 8;
			} else {
				return false;
			}
		}
		if (nh != 6)
			return false;
		t->l4 = off;
	} else {
		return false;
	}
	if (t->l4 + 20 > t->end || !(p[t->l4 + 13] & 0x02))
		return false;
	t->hlen = (p[t->l4 + 12] >> 4) * 4u;
	if (t->hlen < 20 || t->l4 + t->hlen > t->end)
		return false;
	for (i = 20; i < t->hlen;) {
		uint8_t kind = p[t->l4 + i], olen;

		if (kind == 0)
			break;
		if (kind == 1) {
			i++;
			continue;
		}
		if (i + 1 >= t->hlen)
			return false;
		olen = p[t->l4 + i + 1];
		if (olen < 2 || i + olen > t->hlen)
			return false;
		if (kind == 2) {
			if (olen != 4 || t->nmss == 4)
				return false;
			t->mss_at[t->nmss++] = t->l4 + i + 2;
		}
		i += olen;
	}
	return t->nmss > 0;
}

/* Whether a frame as it travels is a well-formed SYN whose MSS the segment
 * must lower (mss.c walks what parse_syn() walks). */
static bool mss_due(int seg, const uint8_t *b, uint32_t len)
{
	struct tcp_at t;
	uint32_t limit;

	if (!parse_syn(b, len, &t))
		return false;
	limit = t.v6 ? mss6[seg] : mss4[seg];
	limit = limit > 4u * t.tags ? limit - 4u * t.tags : 1;
	for (unsigned k = 0; k < t.nmss; k++)
		if (be16(b + t.mss_at[k]) > limit)
			return true;
	return false;
}

/* Whether @p got (a sealed frame of segment @p seg) is @p exp (@p len bytes)
 * with a valid MSS rewrite: only MSS option values lowered, each to exactly
 * min(value, clamp), the TCP checksum updated so that it verifies exactly
 * when it did (RFC 1624). @p why: what is wrong otherwise. */
static bool mss_rewrite_ok(int seg, const uint8_t *exp, const uint8_t *got, uint32_t len,
			   const char **why)
{
	struct tcp_at t;
	uint32_t limit;
	uint16_t a, b;

	if (!parse_syn(exp, len, &t)) {
		*why = "it differs from its input, which is no SYN with an MSS option";
		return false;
	}
	limit = t.v6 ? mss6[seg] : mss4[seg];
	limit = limit > 4u * t.tags ? limit - 4u * t.tags : 1;
	for (uint32_t i = 0; i < len; i++) {
		bool mss_byte = false;

		if (exp[i] == got[i] || i == t.l4 + 16 || i == t.l4 + 17)
			continue;
		for (unsigned k = 0; k < t.nmss; k++)
			mss_byte |= i == t.mss_at[k] || i == t.mss_at[k] + 1;
		if (!mss_byte) {
			*why = "a byte changed outside the MSS options and the TCP checksum";
			return false;
		}
	}
	for (unsigned k = 0; k < t.nmss; k++) {
		uint16_t old = be16(exp + t.mss_at[k]), now = be16(got + t.mss_at[k]);

		if (now != (old < limit ? old : limit)) {
			*why = "an MSS value is not min(value, the segment's clamp)";
			return false;
		}
	}
	/* the sums over the TCP header (the only part that changed) are equal */
	a = fold(sum16(0, exp + t.l4, t.hlen));
	b = fold(sum16(0, got + t.l4, t.hlen));
	if (a != b && !(a == 0 && b == 0xffff) && !(a == 0xffff && b == 0)) {
		*why = "the TCP checksum was not updated for the new MSS";
		return false;
	}
	if (!t.routing) {
		/* and a SYN whose checksum was right is still right, from scratch */
		uint32_t tl = t.end - t.l4, ps = sum16(0, exp + t.l3 + (t.v6 ? 8 : 12), t.v6 ? 32 : 8) +
						 6 + (tl >> 16) + (tl & 0xffff);

		if (sum_ok(sum16(ps, exp + t.l4, tl)) && !sum_ok(sum16(ps, got + t.l4, tl))) {
			*why = "the rewritten SYN's TCP checksum is wrong";
			return false;
		}
	}
	return true;
}

/* ---- the uplink ---- */

static struct {
	uint8_t b[PKT_MAX];
	uint32_t len;
	uint16_t id;
	bool open;
} reass;

struct sealed {
	int seg;
	uint16_t len;
	uint8_t frame[FRAME_MAX];
};

/* Outer headers of an uplink packet; a whole ESP-in-UDP datagram goes into
 * @p s (returns 1), a fragment that does not complete one returns 0. */
static int uplink_packet(const uint8_t *p, uint16_t len, uint8_t *dgram, uint32_t *dlen)
{
	const struct rte_ether_addr *up_mac = &D.port[D.uplink].mac;
	uint16_t fo, tot;

	check(len >= 34, "uplink packet of %u bytes", len);
	check(memcmp(p, cfg.peer_mac.addr_bytes, 6) == 0 && memcmp(p + 6, up_mac->addr_bytes, 6) == 0,
	      "uplink packet: wrong Ethernet addresses");
	check(be16(p + 12) == 0x0800 && p[14] == 0x45 && p[22] == 64 && p[23] == 17,
	      "uplink packet: not IPv4/UDP, TTL 64, no options");
	check(sum_ok(sum16(0, p + 14, 20)), "uplink packet: IPv4 header checksum");
	check(memcmp(p + 26, &cfg.uplink_ip, 4) == 0 && memcmp(p + 30, &cfg.peer_ip, 4) == 0,
	      "uplink packet: wrong addresses");
	tot = be16(p + 16);
	check(tot == len - 14 && tot <= UPLINK_MTU, "uplink packet: IPv4 length %u in %u bytes", tot, len);
	fo = be16(p + 20);
	check(!(fo & 0x4000), "uplink packet with DF");
	if ((fo & 0x3fff) == 0) {
		check(!reass.open, "whole packet in the middle of another one's fragments");
		memcpy(dgram, p + 34, tot - 20u);
		*dlen = tot - 20u;
		return 1;
	}
	/* outer fragments (frag.c): in order, one datagram at a time */
	if ((fo & 0x1fff) == 0) {
		check(!reass.open, "first fragment before the last one's datagram was whole");
		reass.open = true;
		reass.id = be16(p + 18);
		reass.len = 0;
	}
	check(reass.open && reass.id == be16(p + 18) && (fo & 0x1fffu) * 8u == reass.len,
	      "outer fragments out of order");
	check(reass.len + tot - 20u <= sizeof(reass.b), "reassembled datagram too long");
	memcpy(reass.b + reass.len, p + 34, tot - 20u);
	reass.len += tot - 20u;
	if (fo & 0x2000)
		return 0;
	reass.open = false;
	memcpy(dgram, reass.b, reass.len);
	*dlen = reass.len;
	return 1;
}

/* A reassembled UDP datagram: ESP of worker 0's SA, opened by the peer. */
static void open_sealed(uint8_t *d, uint32_t len, struct sealed *out)
{
	struct esp_pkt ep;
	uint8_t *in;
	uint32_t vni;

	check(len >= 8 + ESP_PAYLOAD_OFF + ESP_ICV_LEN, "datagram of %u bytes", len);
	check(be16(d + 2) == 4500 && be16(d + 4) == len && be16(d + 6) == 0,
	      "UDP header of a sealed packet");
	check(be16(d) == rte_be_to_cpu_16(D.worker[0]->udp_src_be), "UDP source port not worker 0's");
	check(be32(d + 8) == SPI_OUT, "SPI %08x", be32(d + 8));
	ep = (struct esp_pkt){ .buf = d + 8, .len = len - 8 };
	check(esp_open_burst(peer_open, &ep, 1) == 1 && ep.status == ESP_OK,
	      "the peer cannot open a sealed packet: %s", esp_status_name(ep.status));
	check(ep.next_header == 4, "next header %u", ep.next_header);
	in = d + 8 + ESP_PAYLOAD_OFF;
	check(ep.len >= TUN_INNER_LEN + 14, "inner packet of %u bytes", ep.len);
	check(in[0] == 0x45 && be16(in + 2) == ep.len && in[9] == 17 && (be16(in + 6) & 0x3fff) == 0 &&
	      sum_ok(sum16(0, in, 20)), "inner IPv4 header");
	check(memcmp(in + 12, &cfg.local_vtep, 4) == 0 && memcmp(in + 16, &cfg.peer_vtep, 4) == 0,
	      "inner addresses are not the VTEPs");
	check(be16(in + 22) == 4789 && be16(in + 24) == ep.len - 20 && be16(in + 20) >= 49152,
	      "inner UDP header");
	check(in[28] == 0x08 && in[29] == 0 && in[30] == 0 && in[31] == 0 && in[35] == 0,
	      "VXLAN flags");
	vni = be32(in + 32) >> 8;
	check(vni >= 5101 && vni <= 5103, "VNI %u", vni);
	out->seg = (int)(vni - 5101);
	out->len = (uint16_t)(ep.len - TUN_INNER_LEN);
	memcpy(out->frame, in + TUN_INNER_LEN, out->len);
}

/* ---- local answers ---- */

struct req {
	int seg;                  /* -1: goes nowhere */
	uint16_t len;
	uint8_t b[FRAME_MAX];     /* as it travels (untagged) */
	bool answered, sealed;    /* answered locally; sent into the tunnel */
};

static bool src_unicast(const uint8_t *f)
{
	return !(f[6] & 1);
}

/* RFC 826: the reply to a request for the gateway, built here from the request. */
static bool arp_reply_for(int seg, const struct req *r, uint8_t *exp)
{
	const struct seg_conf *s = &SEGS[seg];
	const uint8_t *q = r->b;

	if (!s->egress || r->len < 42 || !src_unicast(q) || be16(q + 12) != 0x0806 ||
	    be16(q + 14) != 1 || be16(q + 16) != 0x0800 || q[18] != 6 || q[19] != 4 ||
	    be16(q + 20) != 1 || memcmp(q + 38, s->gw4, 4) != 0 || memcmp(q + 28, s->gw4, 4) == 0)
		return false;
	memcpy(exp, q, r->len);
	memcpy(exp, q + 22, 6);            /* to the requester's hardware address */
	memcpy(exp + 6, s->router, 6);
	exp[21] = 2;
	memcpy(exp + 22, s->router, 6);
	memcpy(exp + 28, s->gw4, 4);
	memcpy(exp + 32, q + 22, 6);
	memcpy(exp + 38, q + 28, 4);
	return true;
}

/* RFC 4861 7.1.1: a solicitation a node must take (else it is silently
 * discarded): IPv6, hop limit 255, code 0, its ICMP length from the IP
 * length (within the frame) 24 or more, checksum right, every option of a
 * non-zero length within the message. */
static bool ns_valid(const uint8_t *q, uint16_t len)
{
	uint32_t plen = be16(q + 18), sum;

	if (len < 78 || be16(q + 12) != 0x86dd || (q[14] >> 4) != 6 || q[20] != 58 || q[21] != 255 ||
	    plen < 24 || 54 + plen > len || q[54] != 135 || q[55] != 0)
		return false;
	sum = sum16(0, q + 22, 32) + plen + 58;
	if (!sum_ok(sum16(sum, q + 54, plen)))
		return false;
	for (uint32_t o = 24; o < plen; o += q[54 + o + 1] * 8u)
		if (plen - o < 2 || q[54 + o + 1] == 0 || q[54 + o + 1] * 8u > plen - o)
			return false;
	return true;
}

/* RFC 4861 7.2.4: the solicited advertisement for gateway6. */
static bool na_for(int seg, const struct req *r, uint8_t *exp)
{
	static const uint8_t zero[16];
	const struct seg_conf *s = &SEGS[seg];
	const uint8_t *q = r->b;
	uint32_t sum;

	if (!s->egress || !s->has_gw6 || !src_unicast(q) || !ns_valid(q, r->len) ||
	    memcmp(q + 62, s->gw6, 16) != 0 || memcmp(q + 22, zero, 16) == 0 ||
	    memcmp(q + 22, s->gw6, 16) == 0)
		return false;
	memset(exp, 0, 86);
	memcpy(exp, q + 6, 6);
	memcpy(exp + 6, s->router, 6);
	exp[12] = 0x86;
	exp[13] = 0xdd;
	exp[14] = 0x60;
	exp[19] = 32;
	exp[20] = 58;
	exp[21] = 255;
	memcpy(exp + 22, s->gw6, 16);
	memcpy(exp + 38, q + 22, 16);
	exp[54] = 136;
	exp[58] = 0xe0;                    /* router, solicited, override */
	memcpy(exp + 62, s->gw6, 16);
	exp[78] = 2;
	exp[79] = 1;
	memcpy(exp + 80, s->router, 6);
	sum = sum16(0, exp + 22, 32) + 32 + 58;
	sum = sum16(sum, exp + 54, 32);
	exp[56] = (uint8_t)(~fold(sum) >> 8);
	exp[57] = (uint8_t)~fold(sum);
	return true;
}

static bool oversize(const struct req *r)
{
	return outer_len(r->len) > UPLINK_MTU;
}

static bool has_router(int seg)
{
	static const uint8_t zero[6];

	return memcmp(SEGS[seg].router, zero, 6) != 0;
}

static bool same_router(int seg, const uint8_t *f)
{
	return has_router(seg) && memcmp(f + 6, SEGS[seg].router, 6) == 0;
}

/* RFC 1191 / RFC 1812 4.3.2.7: an IPv4 packet that may earn "fragmentation needed". */
static bool wants_icmp4(int seg, const struct req *r)
{
	const uint8_t *q = r->b, *ip = q + 14;
	uint32_t src, dst, ihl;

	if (r->len < 34 || be16(q + 12) != 0x0800 || !oversize(r) || same_router(seg, q) ||
	    (ip[0] >> 4) != 4 || (ihl = (ip[0] & 0xfu) * 4) < 20 || !(be16(ip + 6) & 0x4000) ||
	    (be16(ip + 6) & 0x1fff) != 0 || (q[0] & 1))
		return false;
	src = be32(ip + 12);
	dst = be32(ip + 16);
	if (src == 0 || src == UINT32_MAX || (src >> 28) >= 0xe || dst == UINT32_MAX ||
	    (dst >> 28) == 0xe)
		return false;
	if (ip[9] == 1 && (r->len < 14 + ihl + 1 || (q[14 + ihl] != 0 && q[14 + ihl] != 8)))
		return false;
	return true;
}

/* RFC 4443 2.4: an IPv6 packet that may earn "packet too big". */
static bool wants_icmp6(int seg, const struct req *r)
{
	static const uint8_t zero[16];
	const uint8_t *q = r->b;

	if (!SEGS[seg].has_gw6 || inner_mtu < 1280 || r->len < 54 || be16(q + 12) != 0x86dd ||
	    !oversize(r) || same_router(seg, q) || (q[14] >> 4) != 6 || q[22] == 0xff ||
	    memcmp(q + 22, zero, 16) == 0)
		return false;
	return q[20] != 58 || (r->len >= 55 && q[54] >= 128);
}

/* An ICMP error answer @p a (untagged) on segment @p seg: valid, and quoting a
 * request of the burst that earns one. */
static void check_icmp(int seg, const uint8_t *a, uint16_t alen, struct req *reqs, uint16_t n,
		       bool v6)
{
	const uint8_t *quote = a + (v6 ? 62 : 42);
	uint16_t qlen;

	if (!v6) {
		check(alen >= 42 && a[14] == 0x45 && be16(a + 16) == alen - 14 && a[22] == 64 &&
		      a[23] == 1 && sum_ok(sum16(0, a + 14, 20)), "ICMP answer: IPv4 header");
		check(memcmp(a + 26, SEGS[seg].gw4, 4) == 0, "ICMP answer not from the gateway");
		check(a[34] == 3 && a[35] == 4 && be16(a + 38) == 0 && be16(a + 40) == inner_mtu,
		      "ICMP answer: not fragmentation needed with MTU %u", inner_mtu);
		check(sum_ok(sum16(0, a + 34, alen - 34u)), "ICMP answer: checksum");
		check(alen <= 14 + 576, "ICMP answer longer than 576 bytes");
	} else {
		uint32_t sum;

		check(alen >= 62 && be32(a + 14) == 0x60000000u && be16(a + 18) == alen - 54 &&
		      a[20] == 58 && a[21] == 255, "ICMPv6 answer: IPv6 header");
		check(memcmp(a + 22, SEGS[seg].gw6, 16) == 0, "ICMPv6 answer not from gateway6");
		check(a[54] == 2 && a[55] == 0 && be32(a + 58) == inner_mtu,
		      "ICMPv6 answer: not packet too big with MTU %u", inner_mtu);
		sum = sum16(0, a + 22, 32) + (uint32_t)(alen - 54) + 58;
		check(sum_ok(sum16(sum, a + 54, alen - 54u)), "ICMPv6 answer: checksum");
		check(alen <= 14 + 1280, "ICMPv6 answer longer than 1280 bytes");
	}
	qlen = (uint16_t)(alen - (quote - a));
	for (uint16_t j = 0; j < n; j++) {
		struct req *r = &reqs[j];
		uint32_t want;

		if (r->answered || r->sealed || r->seg != seg || !(v6 ? wants_icmp6(seg, r) : wants_icmp4(seg, r)))
			continue;
		want = v6 ? 40u + be16(r->b + 18) : be16(r->b + 16);
		want = RTE_MIN(want, (uint32_t)r->len - 14);
		want = RTE_MIN(want, v6 ? 1280u - 48 : 576u - 28);
		if (want != qlen || memcmp(quote, r->b + 14, qlen) != 0 || memcmp(a, r->b + 6, 6) != 0 ||
		    memcmp(a + (v6 ? 38 : 30), r->b + (v6 ? 22 : 26), v6 ? 16 : 4) != 0)
			continue;
		/* from the MAC the packet was sent to, or else from the router's
		 * (the port's): never a multicast source */
		if (!(r->b[0] & 1))
			check(memcmp(a + 6, r->b, 6) == 0, "ICMP answer not from the MAC asked");
		else
			check(memcmp(a + 6, has_router(seg) ? SEGS[seg].router :
						 D.port[pend.port].mac.addr_bytes, 6) == 0,
			      "ICMP answer to a multicast frame not from the router's or the port's MAC");
		r->answered = true;
		return;
	}
	fail("ICMP%s answer on segment %d that no frame of the burst asked for", v6 ? "v6" : "", seg);
}

/* A frame out of a local port after a burst on @p port by worker @p w. */
static void check_answer(int port, int w, int out_port, int q, const uint8_t *p, uint16_t len,
			 struct req *reqs, uint16_t n, unsigned *arp_nd, unsigned *icmp4, unsigned *icmp6)
{
	static uint8_t a[FRAME_MAX], exp[FRAME_MAX];
	uint16_t alen = len;
	int seg;

	check(out_port == port && q == w,
	      "a frame out of port %d queue %d after a burst on port %d by worker %d", out_port, q,
	      port, w);
	check(len >= 14, "answer of %u bytes", len);
	if (port == 0) {
		seg = 0;
		memcpy(a, p, len);
	} else if (be16(p + 12) == 0x8100) {
		check(len >= 18 && be16(p + 14) == 101, "answer on the trunk tagged %u", be16(p + 14));
		seg = 1;
		memcpy(a, p, 12);
		memcpy(a + 12, p + 16, len - 16);
		alen = len - 4;
	} else {
		seg = 2;
		memcpy(a, p, len);
	}
	if (be16(a + 12) == 0x0806 || (be16(a + 12) == 0x86dd && alen >= 55 && a[20] == 58 &&
				       a[54] == 136)) {
		for (uint16_t j = 0; j < n; j++) {
			struct req *r = &reqs[j];
			bool ok;

			if (r->answered || r->sealed || r->seg != seg)
				continue;
			ok = be16(a + 12) == 0x0806 ? arp_reply_for(seg, r, exp) && alen == r->len
						    : na_for(seg, r, exp) && alen == 86;
			if (ok && memcmp(a, exp, alen) == 0) {
				r->answered = true;
				(*arp_nd)++;
				return;
			}
		}
		fail("%s on segment %d that no request of the burst asked for",
		     be16(a + 12) == 0x0806 ? "ARP reply" : "neighbor advertisement", seg);
	}
	if (be16(a + 12) == 0x0800) {
		check_icmp(seg, a, alen, reqs, n, false);
		(*icmp4)++;
		return;
	}
	check(be16(a + 12) == 0x86dd, "a frame of EtherType %04x out of a local port", be16(a + 12));
	check_icmp(seg, a, alen, reqs, n, true);
	(*icmp6)++;
}

/* ---- a burst ---- */

static void drain_seal_rings(unsigned *handed)
{
	struct rte_mbuf *pk[DP_BURST_MAX];

	for (unsigned w = 0; w < NW; w++) {
		unsigned k;

		while ((k = rte_ring_sc_dequeue_burst(D.worker[w]->seal_ring, (void **)pk, DP_BURST_MAX,
						      NULL)) > 0) {
			outbound_seal_handed(D.worker[w], pk, (uint16_t)k);
			*handed += k;
		}
	}
}

static void run_burst(void)
{
	static struct req reqs[BURST];
	static uint8_t buf[PKT_MAX], dgram[PKT_MAX];
	static struct sealed sd;
	struct rte_mbuf *pk[BURST], *out[256];
	struct dp_stats s0[NW], s1[NW], s2[NW];
	const unsigned w = pend.worker, other = !w;
	const uint16_t n = pend.n;
	unsigned handed = 0, whole = 0, frags = 0, up_pkts = 0, loc_pkts = 0;
	unsigned arp_nd = 0, icmp4 = 0, icmp6 = 0, cursor = 0, k;
	const char *why;
	uint64_t lhs, rhs;

	if (n == 0)
		return;
	pend.n = 0;
	for (uint16_t i = 0; i < n; i++) {
		reqs[i].seg = frame_seg(pend.port, &pend.f[i], reqs[i].b, &reqs[i].len);
		reqs[i].answered = reqs[i].sealed = false;
		pk[i] = mbuf_of(&pend.f[i]);
	}
	snap(s0);
	outbound_input(D.worker[w], &D.port[pend.port], pk, n);
	snap(s1);

	/* 1. this worker: every frame sealed, handed over, answered or dropped, once */
	check(delta(s0, s1, w, DP_C_local_rx) == n, "local_rx %" PRIu64 " for %u frames",
	      delta(s0, s1, w, DP_C_local_rx), n);
	lhs = n;
	rhs = delta(s0, s1, w, DP_C_tunnel_out) + delta(s0, s1, w, DP_C_seal_handoff) +
	      delta(s0, s1, w, DP_C_gw_arp_answered) + drops_of(s0, s1, w);
	check(lhs == rhs, "%" PRIu64 " frames in, %" PRIu64 " sealed, %" PRIu64 " handed, %" PRIu64
	      " answered, %" PRIu64 " dropped", lhs, delta(s0, s1, w, DP_C_tunnel_out),
	      delta(s0, s1, w, DP_C_seal_handoff), delta(s0, s1, w, DP_C_gw_arp_answered),
	      drops_of(s0, s1, w));
	for (int c = 0; c < DP_C_MAX; c++)
		check(delta(s0, s1, other, c) == 0, "worker %u's %s moved during worker %u's burst",
		      other, dp_counter_name(c), w);

	/* 2. the sealing worker seals what was handed to it */
	drain_seal_rings(&handed);
	snap(s2);
	check(handed == delta(s0, s1, w, DP_C_seal_handoff), "%u frames in the seal rings, %" PRIu64
	      " handed", handed, delta(s0, s1, w, DP_C_seal_handoff));
	if (handed)
		check(handed == delta(s1, s2, 0, DP_C_tunnel_out) + drops_of(s1, s2, 0),
		      "handed frames not all sealed or dropped");

	/* 3. the uplink: every sealed packet, whole or in fragments, opens to a frame of the burst */
	for (unsigned q = 0; q < NW; q++)
		while ((k = rte_ring_sc_dequeue_burst(utx[q], (void **)out, RTE_DIM(out), NULL)) > 0) {
			for (unsigned i = 0; i < k; i++) {
				uint16_t len = bytes_of(out[i], buf, sizeof(buf));
				uint32_t dlen;

				rte_pktmbuf_free(out[i]);
				up_pkts++;
				check(q == 0, "worker 1 has no SA, yet it sent on the uplink");
				check_no_key(buf, len, "uplink packet");
				if ((be16(buf + 20) & 0x3fff) != 0)
					frags++;
				if (uplink_packet(buf, len, dgram, &dlen) == 0)
					continue;
				if ((be16(buf + 20) & 0x1fff) == 0)
					whole++;
				open_sealed(dgram, dlen, &sd);
				/* the next frame of the burst it is, as it came or with its
				 * MSS lowered (identical frames are interchangeable) */
				why = NULL;
				for (; cursor < n; cursor++) {
					const struct req *r = &reqs[cursor];

					if (r->seg == sd.seg && r->len == sd.len &&
					    (memcmp(r->b, sd.frame, sd.len) == 0 ||
					     mss_rewrite_ok(sd.seg, r->b, sd.frame, sd.len, &why)))
						break;
				}
				check(cursor < n, "a sealed frame (segment %d, %u bytes) that is not one of "
				      "the burst's, in order%s%s", sd.seg, sd.len, why ? ": " : "",
				      why ? why : "");
				check(!mss_due(sd.seg, sd.frame, sd.len),
				      "a SYN with an MSS over the clamp crossed unclamped");
				reqs[cursor++].sealed = true;
			}
		}
	check(!reass.open, "outer fragments of a datagram missing");
	lhs = delta_all(s0, s2, DP_C_tunnel_out);
	rhs = (uint64_t)whole + delta_all(s0, s2, DP_C_frag_packets) +
	      delta_all(s0, s2, DP_C_drop_frag_nombuf) + delta_all(s0, s2, DP_C_drop_frag_error);
	check(lhs == rhs, "tunnel_out %" PRIu64 ", on the uplink %u whole, %" PRIu64
	      " fragmented, %" PRIu64 " fragmentation failures", lhs, whole,
	      delta_all(s0, s2, DP_C_frag_packets),
	      delta_all(s0, s2, DP_C_drop_frag_nombuf) + delta_all(s0, s2, DP_C_drop_frag_error));
	check(delta_all(s0, s2, DP_C_frag_out) == frags, "frag_out %" PRIu64 ", %u fragments sent",
	      delta_all(s0, s2, DP_C_frag_out), frags);
	check(delta_all(s0, s2, DP_C_uplink_tx) == up_pkts, "uplink_tx %" PRIu64 ", %u packets sent",
	      delta_all(s0, s2, DP_C_uplink_tx), up_pkts);
	check(delta_all(s0, s2, DP_C_drop_tx_full) == 0 && delta_all(s0, s2, DP_C_drop_tx_ring_full) == 0,
	      "a TX ring full (the harness drains them every burst)");

	/* 4. the local ports: answers only, each to its own request, where it came from */
	for (int port = 0; port < 2; port++)
		for (unsigned q = 0; q < NW; q++) {
			struct rte_ring *r = port ? ttx[q] : ltx[q];

			while ((k = rte_ring_sc_dequeue_burst(r, (void **)out, RTE_DIM(out), NULL)) > 0)
				for (unsigned i = 0; i < k; i++) {
					uint16_t len = bytes_of(out[i], buf, sizeof(buf));

					rte_pktmbuf_free(out[i]);
					loc_pkts++;
					check_no_key(buf, len, "local answer");
					check_answer(pend.port, (int)w, port, (int)q, buf, len, reqs, n,
						     &arp_nd, &icmp4, &icmp6);
				}
		}
	check(delta_all(s0, s2, DP_C_local_tx) == loc_pkts, "local_tx %" PRIu64 ", %u frames sent",
	      delta_all(s0, s2, DP_C_local_tx), loc_pkts);
	check(delta_all(s0, s2, DP_C_gw_arp_answered) == arp_nd, "gw_arp_answered %" PRIu64
	      ", %u ARP replies and advertisements sent", delta_all(s0, s2, DP_C_gw_arp_answered), arp_nd);
	check(delta_all(s0, s2, DP_C_pmtu_icmp4) == icmp4 && delta_all(s0, s2, DP_C_pmtu_icmp6) == icmp6,
	      "pmtu_icmp4/6 %" PRIu64 "/%" PRIu64 ", %u/%u sent", delta_all(s0, s2, DP_C_pmtu_icmp4),
	      delta_all(s0, s2, DP_C_pmtu_icmp6), icmp4, icmp6);
	check(delta_all(s0, s2, DP_C_drop_pmtu) == icmp4 + icmp6,
	      "drop_pmtu %" PRIu64 " for %u ICMP answers", delta_all(s0, s2, DP_C_drop_pmtu),
	      icmp4 + icmp6);
}

/* ---- the peer ---- */

static void drain_peer_outputs(void)
{
	struct rte_mbuf *out[256];
	unsigned k;

	for (int port = 0; port < 3; port++)
		for (unsigned q = 0; q < NW; q++) {
			struct rte_ring *r = port == 0 ? ltx[q] : port == 1 ? ttx[q] : utx[q];

			while ((k = rte_ring_sc_dequeue_burst(r, (void **)out, RTE_DIM(out), NULL)) > 0)
				for (unsigned i = 0; i < k; i++) {
					if (port < 2 && out[i]->nb_segs == 1 &&
					    out[i]->data_len <= FRAME_MAX) {
						delivered.len = bytes_of(out[i], delivered.b, FRAME_MAX);
						delivered.chained = false;
						delivered_port = port;
					}
					rte_pktmbuf_free(out[i]);
				}
		}
}

/* The peer sends @p f on segment @p seg: VXLAN in ESP with its SA, into worker 0. */
static void peer_frame(int seg, const uint8_t *f, uint16_t flen)
{
	struct rte_mbuf *m;
	struct esp_pkt ep;
	uint8_t *p;

	if (flen < 14 || flen > 1514)
		return;
	m = rte_pktmbuf_alloc(D.pool);
	check(m != NULL, "mbuf pool empty");
	p = (uint8_t *)rte_pktmbuf_append(m, TUN_HDR_LEN + flen);
	check(p != NULL, "no room for a peer frame");
	memcpy(p + TUN_HDR_LEN, f, flen);
	encap_inner(p + OFF_INNER_IP, flen, cfg.peer_vtep, cfg.local_vtep,
		    ipv4_sum_base(cfg.peer_vtep, cfg.local_vtep), rte_cpu_to_be_32((5101u + seg) << 8));
	ep = (struct esp_pkt){ .buf = p + OFF_ESP, .len = TUN_INNER_LEN + flen,
			       .room = ESP_PAYLOAD_OFF + TUN_INNER_LEN + flen + rte_pktmbuf_tailroom(m),
			       .next_header = IPPROTO_IPIP };
	check(esp_seal_burst(peer_seal, &ep, 1) == 1, "the peer cannot seal");
	rte_pktmbuf_append(m, ep.len - (TUN_INNER_LEN + flen));
	encap_outer(p, &D.port[D.uplink].mac, &cfg.peer_mac, cfg.peer_ip, cfg.uplink_ip,
		    ipv4_sum_base(cfg.peer_ip, cfg.uplink_ip), RTE_BE16(4500), RTE_BE16(4500),
		    peer_ip_id++, (uint16_t)ep.len);
	inbound_input(D.worker[0], &m, 1);
	drain_peer_outputs();
}

/* ---- between inputs ---- */

static void reset_buckets(void)
{
	for (unsigned w = 0; w < NW; w++)
		for (uint16_t s = 0; s < NSEG; s++) {
			struct segment *sg = &D.seg[s];
			struct storm_state *st = &D.worker[w]->storm[s];

			for (int k = 0; k < STORM_CLASSES; k++)
				if (sg->storm_on & (1u << k))
					rte_meter_srtcm_config(&st->m[k], &sg->storm_prof[k]);
			if (sg->pmtu)
				rte_meter_srtcm_config(&D.worker[w]->pmtu_meter[s], &sg->pmtu_prof);
		}
}

/* @p ms pass: the buckets fill as if their last update were that much earlier;
 * MACs age as the main lcore would age them then. */
static void advance(uint64_t ms)
{
	uint64_t cyc = ms * D.tsc_hz / 1000;

	advanced_ms += ms;
	for (unsigned w = 0; w < NW; w++)
		for (uint16_t s = 0; s < NSEG; s++) {
			struct segment *sg = &D.seg[s];
			struct storm_state *st = &D.worker[w]->storm[s];

			for (int k = 0; k < STORM_CLASSES; k++)
				if (sg->storm_on & (1u << k))
					st->m[k].time -= RTE_MIN(cyc, st->m[k].time);
			if (sg->pmtu)
				D.worker[w]->pmtu_meter[s].time -= RTE_MIN(cyc, D.worker[w]->pmtu_meter[s].time);
		}
	fdb_age(D.fdb, (uint32_t)(rte_rdtsc() / D.tsc_hz + advanced_ms / 1000));
}

static void reset_state(void)
{
	struct l2guard_event ev;

	for (uint16_t s = 0; s < NSEG; s++)
		fdb_flush_segment(D.fdb, s);
	while (rte_ring_sc_dequeue_elem(D.guard->events, &ev, sizeof(ev)) == 0)
		;
	for (uint16_t s = 0; s < NSEG; s++) {
		l2guard_forget_segment(&D, s);
		for (int k = 0; k < 3; k++)
			atomic_store(&D.seg[s].guard.report_s[k], 0);
	}
	reset_buckets();
	pend.n = 0;
	have_last = false;
	delivered_port = -1;
	advanced_ms = 0;
	nframes = 0;
	reass.open = false;
}

/* FUZZ_LOCAL_STATS=1: the counters at exit (what the inputs reached). */
static void print_stats(void)
{
	dp_stats_print(&D, stderr, 0);
}

/* At exit: everything freed (the SAs live in DPDK memory, which
 * LeakSanitizer does not scan: without this they look leaked). */
static void teardown(void)
{
	dp_halt(&D);
	dp_fini(&D);
	config_free(&cfg);
	esp_sa_destroy(peer_open);
	esp_sa_destroy(peer_seal);
	rte_eal_cleanup();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char up[RTE_ETH_NAME_MAX_LEN], lo[RTE_ETH_NAME_MAX_LEN], tr[RTE_ETH_NAME_MAX_LEN];
	static char text[4096];
	char err[256];
	struct sa_spec si, so;
	struct esp_sa_params pp;

	(void)argc;
	(void)argv;
	for (int i = 0; i < ESP_KEYMAT_LEN; i++) {
		key_out[i] = (uint8_t)(i * 37 + 0x5b);
		key_in[i] = (uint8_t)(i * 37 + 0x11);
	}
	memset(key_pos, -1, sizeof(key_pos));
	for (int i = 0; i < ESP_KEYMAT_LEN; i++) {
		key_pos[0][key_out[i]] = (int8_t)i;
		key_pos[1][key_in[i]] = (int8_t)i;
	}
	if (dp_rig_eal("fuzz", "local", err, sizeof(err)) < 0 ||
	    dp_rig_port("fl_up", urx, utx, up, err, sizeof(err)) < 0 ||
	    dp_rig_port("fl_lo", lrx, ltx, lo, err, sizeof(err)) < 0 ||
	    dp_rig_port("fl_tr", trx, ttx, tr, err, sizeof(err)) < 0)
		fail("%s", err);
	snprintf(text, sizeof(text), CONF, up, lo, tr);
	if (dp_rig_start(text, &cfg, &D, err, sizeof(err)) < 0)
		fail("dataplane: %s", err);
	check(D.nb_workers == NW && D.nb_seg == NSEG && D.port[0].mode == CFG_LOCAL_ACCESS &&
	      D.port[1].mode == CFG_LOCAL_TRUNK && D.uplink == 2, "unexpected dataplane layout");

	/* the SAs: ours toward the peer on worker 0 only, the peer's toward us */
	so = (struct sa_spec){ .dir = ESP_DIR_OUTBOUND, .spi = SPI_OUT, .cipher = ESP_CIPHER_AES256GCM,
			       .keymat = key_out, .worker = 0, .peer_ip = cfg.peer_ip,
			       .peer_port = 4500 };
	si = (struct sa_spec){ .dir = ESP_DIR_INBOUND, .spi = SPI_IN, .cipher = ESP_CIPHER_AES256GCM,
			       .replay_window = ESP_REPLAY_WINDOW_DEFAULT, .keymat = key_in,
			       .worker = -1, .peer_ip = cfg.peer_ip };
	if (sa_add(&D, &so, err, sizeof(err)) < 0 || sa_add(&D, &si, err, sizeof(err)) < 0)
		fail("sa_add: %s", err);
	check(D.worker[0]->sa_out != NULL && atomic_load(&D.worker[1]->seal_by) == 0,
	      "worker 0 should seal, for worker 1 too");

	pp = (struct esp_sa_params){ .cipher = ESP_CIPHER_AES256GCM, .backend = ESP_BACKEND_SODIUM,
				     .dir = ESP_DIR_INBOUND, .spi = SPI_OUT, .keymat = key_out,
				     .keymat_len = ESP_KEYMAT_LEN, .replay_window = ESP_REPLAY_WINDOW_MAX };
	peer_open = esp_sa_create(&pp, err, sizeof(err));
	pp = (struct esp_sa_params){ .cipher = ESP_CIPHER_AES256GCM, .backend = ESP_BACKEND_SODIUM,
				     .dir = ESP_DIR_OUTBOUND, .spi = SPI_IN, .keymat = key_in,
				     .keymat_len = ESP_KEYMAT_LEN };
	peer_seal = esp_sa_create(&pp, err, sizeof(err));
	check(peer_open != NULL && peer_seal != NULL, "peer SAs: %s", err);

	/* the largest inner IP packet and MSS values that cross whole, by trying */
	for (uint32_t ip = UPLINK_MTU; ip > 0 && !inner_mtu; ip--)
		if (outer_len(14 + ip) <= UPLINK_MTU)
			inner_mtu = (uint16_t)ip;
	for (int s = 0; s < NSEG; s++) {
		for (uint32_t m = UPLINK_MTU; m > 0 && SEGS[s].mss == 0 && !mss4[s]; m--)
			if (outer_len(14 + 40 + m) <= UPLINK_MTU)
				mss4[s] = (uint16_t)m;
		for (uint32_t m = UPLINK_MTU; m > 0 && SEGS[s].mss == 0 && !mss6[s]; m--)
			if (outer_len(14 + 60 + m) <= UPLINK_MTU)
				mss6[s] = (uint16_t)m;
		if (SEGS[s].mss) {
			mss4[s] = SEGS[s].mss;
			mss6[s] = (uint16_t)(SEGS[s].mss - 20);
		}
	}
	/* frames of the local path that are dropped: every drop_* counter but
	 * those of packets after sealing (outer fragments, TX) */
	for (int c = 0; c < DP_C_MAX; c++)
		if (strncmp(dp_counter_name(c), "drop_", 5) == 0 && c != DP_C_drop_frag_nombuf &&
		    c != DP_C_drop_frag_error && c != DP_C_drop_tx_full && c != DP_C_drop_tx_ring_full)
			frame_drops[nframe_drops++] = c;

	/* worker 0 owns the inbound SA from the start (the first genuine packet) */
	{
		static const uint8_t hello[60] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0,
						   0xcc, 1, 0x08, 0x00 };

		peer_frame(2, hello, sizeof(hello));
		check(D.nb_sa_in == 1 && sa_in_owner(D.sa_in[0]) == 0, "worker 0 does not own the inbound SA");
	}
	reset_state();
	pool_baseline = rte_mempool_in_use_count(D.pool);
	atexit(teardown);
	if (getenv("FUZZ_LOCAL_STATS") != NULL)
		atexit(print_stats);
	return 0;
}

static void push_frame(int port, int worker, const struct frame *f)
{
	/* bounded: an input of repeats would otherwise run for seconds */
	if (++nframes > MAX_FRAMES)
		return;
	if (pend.n && (pend.port != port || pend.worker != worker))
		run_burst();
	if (pend.n == BURST)
		run_burst();
	pend.port = (uint8_t)port;
	pend.worker = (uint8_t)worker;
	pend.f[pend.n++] = *f;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct frame f;
	size_t i = 0;

	in_data = data;
	in_size = size;
	while (i < size) {
		uint8_t op = data[i++] & 7;

		if (op == 0 || op == 4) {
			uint8_t ctl;
			size_t len, have;

			if (i + 3 > size)
				break;
			ctl = data[i];
			len = (size_t)(data[i + 1] | data[i + 2] << 8) % (FRAME_MAX + 1);
			i += 3;
			have = RTE_MIN(len, size - i);
			memset(f.b, 0, len);
			memcpy(f.b, data + i, have);
			i += have;
			f.len = (uint16_t)len;
			f.chained = op == 0 && (ctl & 4) && len >= 2;
			if (op == 4) {
				run_burst();
				peer_frame(ctl % 3, f.b, f.len);
				continue;
			}
			last = f;
			last_port = ctl & 1;
			last_worker = (ctl >> 1) & 1;
			have_last = true;
			push_frame(last_port, last_worker, &f);
		} else if (op == 1) {
			if (i >= size)
				break;
			for (int k = 0; have_last && k <= data[i] % 64; k++)
				push_frame(last_port, last_worker, &last);
			i++;
		} else if (op == 3) {
			if (i >= size)
				break;
			run_burst();
			advance((uint64_t)data[i++] * 100);
		} else if (op == 5) {
			if (i >= size)
				break;
			if (delivered_port >= 0)
				push_frame(delivered_port, data[i] & 1, &delivered);
			i++;
		} else {
			run_burst();
		}
	}
	run_burst();
	reset_state();
	check(rte_mempool_in_use_count(D.pool) == pool_baseline,
	      "mbuf leak: %u in use after the input, %u before", rte_mempool_in_use_count(D.pool),
	      pool_baseline);
	in_data = NULL;
	return 0;
}
