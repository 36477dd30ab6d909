/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_inbound.c: the real inbound path (dataplane/inbound.c, exception_dp.c) in
 * one process, two workers, net_ring ports; every call made from this one
 * thread, so the order of events between "workers" is exact.
 *
 *  sa_owner   a forged packet (right SPI, the peer's outer address, bad ICV)
 *             leaves the inbound SA unowned; the worker of the first genuine
 *             packet owns it; later packets on the other worker are handed
 *             to it; another worker's trial claim that does not settle is
 *             waited out and the packet handed over
 *  exc_police a flood of spoofed UDP 500 and ARP is cut to [uplink]
 *             exception_burst by the policer (drop_exception_policed), while
 *             every IKE packet from the configured peer, sent in the middle
 *             of the flood, reaches the main lcore through the priority ring
 *  exc_unpoliced  exception_rate = 0: nothing policed, and a flood that fills
 *             the shared ring (drop_exception_full) still does not cost the
 *             peer's IKE a packet
 *  seal_handoff  outbound, 2 workers and 1 outbound SA: the worker without
 *             one hands its frames to the one with it (outbound.c), which
 *             seals them with its SA and UDP port (the peer opens them); its
 *             ring full is counted; with no SA at all, drop_no_sa
 */
#include "check_main.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_ring.h>

#include "config.h"
#include "dp.h"
#include "encap.h"
#include "esp.h"
#include "exception_dp.h"
#include "ha.h"
#include "inbound.h"
#include "outbound.h"
#include "sa.h"
#include "worker.h"

#include "dp_testutil.h"

#define SPI_IN 0x00001001u

static const uint8_t KEY[ESP_KEYMAT_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
					     17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30,
					     31, 32, 0xa0, 0xa1, 0xa2, 0xa3 };

static struct esp_sa *peer;   /* the peer's sealing SA */
static uint16_t ip_id;

/* The dataplane of dp_testutil.h with the inbound SA the peer seals for. */
static void dp_setup(const char *tag, const char *uplink_extra)
{
	char err[256];
	struct sa_spec si = { .dir = ESP_DIR_INBOUND, .spi = SPI_IN, .cipher = ESP_CIPHER_AES256GCM,
			      .replay_window = ESP_REPLAY_WINDOW_DEFAULT, .keymat = KEY, .worker = -1 };
	struct esp_sa_params pp = { .cipher = ESP_CIPHER_AES256GCM, .backend = ESP_BACKEND_SODIUM,
				    .dir = ESP_DIR_OUTBOUND, .spi = SPI_IN, .keymat = KEY,
				    .keymat_len = ESP_KEYMAT_LEN };

	dp_boot("in", tag, uplink_extra);
	si.peer_ip = cfg.peer_ip; /* the outer source its packets must come from */
	if (sa_add(&D, &si, err, sizeof(err)) < 0)
		ck_abort_msg("sa_add: %s", err);
	peer = esp_sa_create(&pp, err, sizeof(err));
	ck_assert_ptr_nonnull(peer);
}

static void dp_teardown(void)
{
	esp_sa_destroy(peer);
	dp_shutdown();
}

/* What the peer sends: a 64-byte frame in VXLAN in ESP (sealed with the
 * peer's SA: its next sequence number); @p forge flips a bit of the ICV. */
static struct rte_mbuf *esp_packet(bool forge)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
	const uint16_t flen = 64;
	uint8_t *p;
	struct rte_ether_hdr *e;
	struct esp_pkt ep;

	ck_assert_ptr_nonnull(m);
	p = (uint8_t *)rte_pktmbuf_append(m, TUN_HDR_LEN + flen);
	memset(p, 0, TUN_HDR_LEN + flen);
	e = (struct rte_ether_hdr *)(p + TUN_HDR_LEN);
	e->dst_addr = (struct rte_ether_addr){ { 2, 0, 0, 0xa0, 0, 1 } };
	e->src_addr = (struct rte_ether_addr){ { 2, 0, 0, 0xb0, 0, 1 } };
	e->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	encap_inner(p + OFF_INNER_IP, flen, cfg.peer_vtep, cfg.local_vtep,
		    ipv4_sum_base(cfg.peer_vtep, cfg.local_vtep), D.seg[0].vxlan_vni_be);
	ep = (struct esp_pkt){ .buf = p + OFF_ESP, .len = TUN_INNER_LEN + flen,
			       .room = ESP_PAYLOAD_OFF + TUN_INNER_LEN + flen + rte_pktmbuf_tailroom(m),
			       .next_header = IPPROTO_IPIP };
	ck_assert_uint_eq(esp_seal_burst(peer, &ep, 1), 1);
	rte_pktmbuf_append(m, ep.len - (TUN_INNER_LEN + flen));
	if (forge)
		p[OFF_ESP + ep.len - 1] ^= 0x01;
	encap_outer(p, &D.port[D.uplink].mac, &cfg.peer_mac, cfg.peer_ip, cfg.uplink_ip,
		    ipv4_sum_base(cfg.peer_ip, cfg.uplink_ip), RTE_BE16(4500), RTE_BE16(4500), ip_id++,
		    ep.len);
	return m;
}

static void feed(unsigned w, struct rte_mbuf *m)
{
	inbound_input(D.worker[w], &m, 1);
}

/* Worker @p w takes what others handed to it, as worker_round does. */
static void take_handed(unsigned w)
{
	struct rte_mbuf *pk[DP_BURST_MAX];
	unsigned n = rte_ring_sc_dequeue_burst(D.worker[w]->handoff, (void **)pk, DP_BURST_MAX, NULL);

	if (n)
		inbound_handed(D.worker[w], pk, (uint16_t)n);
}

static int owner_of(struct sa_in *sa)
{
	return atomic_load(&sa->owner);
}

static struct sa_in *sa_in(void)
{
	ck_assert_uint_eq(D.nb_sa_in, 1);
	return D.sa_in[0];
}

START_TEST(test_sa_owner)
{
	struct sa_in *sa;

	dp_setup("own", "");
	sa = sa_in();
	ck_assert_int_eq(owner_of(sa), SA_OWNER_NONE);

	/* 1. a forgery on worker 0: opened on trial, ICV bad, released */
	feed(0, esp_packet(true));
	ck_assert_uint_eq(cnt(0, DP_C_drop_icv), 1);
	ck_assert_int_eq(owner_of(sa), SA_OWNER_NONE);
	ck_assert_uint_eq(cnt(0, DP_C_sa_claim_released), 1);

	/* 2. the genuine packet on worker 1: authenticated, worker 1 owns it */
	feed(1, esp_packet(false));
	ck_assert_uint_eq(cnt(1, DP_C_tunnel_in), 1);
	ck_assert_int_eq(owner_of(sa), 1);
	ck_assert_int_eq(sa_in_owner(sa), 1);

	/* 3. more forgeries on worker 0 change nothing: handed to worker 1, dropped there */
	feed(0, esp_packet(true));
	ck_assert_uint_eq(cnt(0, DP_C_handoff), 1);
	take_handed(1);
	ck_assert_uint_eq(cnt(1, DP_C_drop_icv), 1);
	ck_assert_int_eq(owner_of(sa), 1);

	/* 4. a genuine packet on worker 0 is opened by worker 1 */
	feed(0, esp_packet(false));
	ck_assert_uint_eq(cnt(0, DP_C_handoff), 2);
	take_handed(1);
	ck_assert_uint_eq(cnt(1, DP_C_tunnel_in), 2);
	ck_assert_uint_eq(cnt(0, DP_C_tunnel_in), 0);

	/* 5. a trial claim of worker 1 that never settles (as if it were
	 * descheduled mid-burst): worker 0 waits it out, then hands over */
	atomic_store(&sa->owner, SA_OWNER_TRYING | 1);
	ck_assert_int_eq(sa_in_owner(sa), SA_OWNER_NONE);
	feed(0, esp_packet(false));
	ck_assert_uint_eq(cnt(0, DP_C_sa_claim_waited_out), 1);
	ck_assert_uint_eq(cnt(0, DP_C_handoff), 3);
	atomic_store(&sa->owner, SA_OWNER_NONE);
	take_handed(1);
	ck_assert_uint_eq(cnt(1, DP_C_tunnel_in), 3);
	ck_assert_int_eq(owner_of(sa), 1);
	dp_teardown();
}
END_TEST

/* A UDP datagram (or, @p arp, an ARP request) toward the uplink address. */
static struct rte_mbuf *exc_packet(rte_be32_t src, uint16_t dport, bool arp)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
	uint8_t *p = (uint8_t *)rte_pktmbuf_append(m, 14 + 20 + 8 + 32);
	struct rte_ether_hdr *e = (struct rte_ether_hdr *)p;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(e + 1);
	struct rte_udp_hdr *u = (struct rte_udp_hdr *)(ip + 1);

	memset(p, 0, 14 + 20 + 8 + 32);
	e->dst_addr = D.port[D.uplink].mac;
	e->src_addr = (struct rte_ether_addr){ { 2, 0, 0, 0xee, 0, 1 } };
	if (arp) {
		/* only the EtherType matters to the classifier */
		e->ether_type = RTE_BE16(RTE_ETHER_TYPE_ARP);
		return m;
	}
	e->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16(20 + 8 + 32);
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_UDP;
	ip->src_addr = src;
	ip->dst_addr = cfg.uplink_ip;
	u->src_port = RTE_BE16(500);
	u->dst_port = rte_cpu_to_be_16(dport);
	u->dgram_len = rte_cpu_to_be_16(8 + 32);
	return m;
}

/* @p flood spoofed packets (UDP 500 from 203.0.113.x, every fourth an ARP)
 * and @p ike IKE packets from the peer in the middle, on worker 0 in bursts
 * of 32, with no exception_service() in between (a main lcore that is
 * late). @return the IKE packets that reached the main lcore. */
static uint64_t flood(unsigned nflood, unsigned nike)
{
	struct rte_mbuf *pk[32];
	unsigned sent = 0, ike = 0;

	while (sent < nflood || ike < nike) {
		uint16_t n = 0;

		while (n < 32 && (sent < nflood || ike < nike)) {
			if (ike < nike && sent >= nflood / 2) {
				/* UDP 500, and UDP 4500 behind the non-ESP marker
				 * (the payload is zeros) */
				pk[n++] = exc_packet(cfg.peer_ip, (ike & 1) ? 4500 : 500, false);
				ike++;
			} else {
				pk[n++] = exc_packet(rte_cpu_to_be_32(0xcb007100 | (sent & 0xff)), 500,
						     sent % 4 == 3);
				sent++;
			}
		}
		inbound_input(D.worker[0], pk, n);
	}
	return cnt(0, DP_C_exception_ike);
}

START_TEST(test_exc_police)
{
	uint64_t before, t0, ms;

	/* 2 workers poll the uplink: each gets 100 pps, a bucket of 50 */
	dp_setup("pol", "exception_rate = 200\nexception_burst = 100\n");
	ck_assert(D.exc_policed);
	t0 = rte_rdtsc();
	ck_assert_uint_eq(flood(2000, 40), 40);
	ms = (rte_rdtsc() - t0) * 1000 / rte_get_tsc_hz();
	ck_assert_uint_eq(cnt(0, DP_C_drop_exception_ike_full), 0);
	/* the bucket (50) and what 100 pps adds while this runs (a few ms) */
	ck_assert_uint_le(cnt(0, DP_C_exception) - 40, 50 + ms / 10 + 1);
	ck_assert_uint_ge(cnt(0, DP_C_exception) - 40, 50);
	ck_assert_uint_eq(cnt(0, DP_C_drop_exception_policed) + cnt(0, DP_C_exception) - 40, 2000);
	ck_assert_uint_eq(cnt(0, DP_C_drop_exception_full), 0);
	/* the main lcore: the peer's IKE and what passed, nothing lost (no TAP: released) */
	before = cnt(0, DP_C_exception);
	exception_service(&D);
	ck_assert_uint_eq(D.main_stats.c[DP_C_exception_no_tap], before);
	ck_assert(rte_ring_empty(D.exc_ring) && rte_ring_empty(D.exc_ike_ring));
	/* the names reach the reports */
	ck_assert_str_eq(dp_counter_name(DP_C_drop_exception_policed), "drop_exception_policed");
	dp_teardown();
}
END_TEST

START_TEST(test_exc_unpoliced)
{
	dp_setup("unpol", "exception_rate = 0\n");
	ck_assert(!D.exc_policed);
	/* 3000 spoofed packets: the shared ring (1024) overflows; the peer's
	 * 40 IKE packets, sent after 1500 of them, all get through */
	ck_assert_uint_eq(flood(3000, 40), 40);
	ck_assert_uint_eq(cnt(0, DP_C_drop_exception_policed), 0);
	ck_assert_uint_eq(cnt(0, DP_C_drop_exception_full), 3000 - (rte_ring_get_capacity(D.exc_ring)));
	ck_assert_uint_eq(cnt(0, DP_C_drop_exception_ike_full), 0);
	exception_service(&D);
	dp_teardown();
}
END_TEST

#define SPI_OUT 0x00002002u

/* A 64-byte frame from a local host to an unknown one (into the tunnel). */
static struct rte_mbuf *local_frame(uint8_t tag)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
	uint8_t *p;
	struct rte_ether_hdr *e;

	ck_assert_ptr_nonnull(m);
	p = (uint8_t *)rte_pktmbuf_append(m, 64);
	if (p == NULL)
		ck_abort_msg("no room for a frame");
	memset(p, tag, 64);
	e = (struct rte_ether_hdr *)p;
	e->dst_addr = (struct rte_ether_addr){ { 2, 0, 0, 0xb0, 0, 1 } };
	e->src_addr = (struct rte_ether_addr){ { 2, 0, 0, 0xa0, 0, 1 } };
	e->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	return m;
}

/* @p n local frames into worker @p w's outbound path, in bursts of 32. */
static void send_local(unsigned w, unsigned n)
{
	struct rte_mbuf *pk[32];

	for (unsigned done = 0; done < n;) {
		uint16_t k = 0;

		while (k < 32 && done < n)
			pk[k++] = local_frame((uint8_t)done++);
		outbound_input(D.worker[w], &D.port[0], pk, k);
	}
}

/* Worker @p w seals what others handed to it, as worker_round does. */
static unsigned take_to_seal(unsigned w)
{
	struct rte_mbuf *pk[DP_BURST_MAX];
	unsigned n, total = 0;

	while ((n = rte_ring_sc_dequeue_burst(D.worker[w]->seal_ring, (void **)pk, DP_BURST_MAX,
					      NULL)) > 0) {
		outbound_seal_handed(D.worker[w], pk, (uint16_t)n);
		total += n;
	}
	return total;
}

START_TEST(test_seal_handoff)
{
	static const uint8_t KEY2[ESP_KEYMAT_LEN] = { 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9,
						      8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8,
						      7, 7, 7, 7 };
	struct sa_spec so = { .dir = ESP_DIR_OUTBOUND, .spi = SPI_OUT, .cipher = ESP_CIPHER_AES256GCM,
			      .keymat = KEY2, .worker = 1, .peer_port = 4500 };
	struct esp_sa_params pp = { .cipher = ESP_CIPHER_AES256GCM, .backend = ESP_BACKEND_SODIUM,
				    .dir = ESP_DIR_INBOUND, .spi = SPI_OUT, .keymat = KEY2,
				    .keymat_len = ESP_KEYMAT_LEN };
	struct rte_mbuf *out[64];
	struct esp_sa *opener;
	char err[256];
	unsigned n, cap;

	dp_setup("seal", "");
	/* 1. no outbound SA anywhere: nothing to hand to */
	ck_assert_int_eq(atomic_load(&D.worker[0]->seal_by), -1);
	send_local(0, 5);
	ck_assert_uint_eq(cnt(0, DP_C_drop_no_sa), 5);

	/* 2. one SA, on worker 1: worker 0 hands to worker 1 */
	so.peer_ip = cfg.peer_ip;
	if (sa_add(&D, &so, err, sizeof(err)) < 0)
		ck_abort_msg("sa_add: %s", err);
	ck_assert_int_eq(atomic_load(&D.worker[0]->seal_by), 1);
	ck_assert_int_eq(atomic_load(&D.worker[1]->seal_by), -1);
	send_local(0, 40);
	ck_assert_uint_eq(cnt(0, DP_C_seal_handoff), 40);
	ck_assert_uint_eq(cnt(0, DP_C_tunnel_out), 0);
	ck_assert_uint_eq(take_to_seal(1), 40);
	ck_assert_uint_eq(cnt(1, DP_C_tunnel_out), 40);
	ck_assert_uint_eq(cnt(0, DP_C_drop_no_sa) + cnt(1, DP_C_drop_no_sa), 5);
	/* on the wire: worker 1's queue, its UDP port, the SA's SPI, and the peer opens them */
	ck_assert_uint_eq(rte_ring_count(utx[0]), 0);
	n = rte_ring_sc_dequeue_burst(utx[1], (void **)out, RTE_DIM(out), NULL);
	ck_assert_uint_eq(n, 40);
	opener = esp_sa_create(&pp, err, sizeof(err));
	ck_assert_ptr_nonnull(opener);
	for (unsigned i = 0; i < n; i++) {
		uint8_t *p = rte_pktmbuf_mtod(out[i], uint8_t *);
		const struct rte_udp_hdr *u = (const struct rte_udp_hdr *)(p + OFF_OUTER_UDP);
		struct esp_pkt ep = { .buf = p + OFF_ESP, .len = out[i]->data_len - OFF_ESP };
		const uint8_t *frame;

		ck_assert_uint_eq(u->src_port, D.worker[1]->udp_src_be);
		ck_assert_uint_eq(rte_be_to_cpu_32(*(const rte_be32_t *)(p + OFF_ESP)), SPI_OUT);
		ck_assert_uint_eq(esp_open_burst(opener, &ep, 1), 1);
		ck_assert_uint_eq(ep.status, ESP_OK);
		ck_assert_uint_eq(ep.seq, i + 1); /* in the order worker 0 sent them */
		frame = p + OFF_FRAME;
		ck_assert_uint_eq(ep.len, TUN_INNER_LEN + 64);
		ck_assert_uint_eq(frame[20], (uint8_t)i); /* local_frame's tag: the i-th frame sent */
		rte_pktmbuf_free(out[i]);
	}
	esp_sa_destroy(opener);

	/* 3. the sealing worker does not drain: its ring full is counted */
	cap = rte_ring_get_capacity(D.worker[1]->seal_ring);
	send_local(0, cap + 100);
	ck_assert_uint_eq(cnt(0, DP_C_seal_handoff), 40 + cap);
	ck_assert_uint_eq(cnt(0, DP_C_drop_seal_handoff_full), 100);
	ck_assert_uint_eq(take_to_seal(1), cap);
	while (rte_ring_sc_dequeue_burst(utx[1], (void **)out, RTE_DIM(out), NULL) > 0)
		rte_pktmbuf_free_bulk(out, RTE_DIM(out));

	/* 4. the SA goes: nobody seals, worker 0 drops again */
	ck_assert_int_eq(sa_del(&D, SPI_OUT, ESP_DIR_OUTBOUND), 0);
	ck_assert_int_eq(atomic_load(&D.worker[0]->seal_by), -1);
	send_local(0, 3);
	ck_assert_uint_eq(cnt(0, DP_C_drop_no_sa), 5 + 3);
	dp_teardown();
}
END_TEST

/* Frames waiting in the TX rings of a port's queues (@p r: utx or ltx). */
static unsigned tx_waiting(struct rte_ring **r)
{
	unsigned n = 0;

	for (unsigned q = 0; q < NW; q++)
		n += rte_ring_count(r[q]);
	return n;
}

/*
 * docs/ha.md: a member of an HA group that is not active forwards nothing:
 * frames from its local ports are dropped (drop_ha_standby) before learning,
 * ESP from the peer too, even under a valid SA, and nothing reaches a local
 * port; it starts that way. Active, the same packets pass, and ESP leaves
 * from the VIP.
 */
START_TEST(test_ha_standby)
{
	const rte_be32_t vip = RTE_BE32(0xc6120009u); /* 198.18.0.9 */

	dp_setup("ha", "");
	/* a group member's configuration: the paths read no more of it than this
	 * (the TAP keepalived needs is not part of them) */
	cfg.ha.enabled = true;
	cfg.ha.vip = vip;
	cfg.ha.vip_len = 24;
	snprintf(cfg.ha.group, sizeof(cfg.ha.group), "ut");
	ha_init(&D);
	ck_assert(!ha_forwarding(&D));
	ck_assert_uint_eq(ha_src_ip(&D), cfg.uplink_ip);

	send_local(0, 40);
	ck_assert_uint_eq(cnt(0, DP_C_local_rx), 40);
	ck_assert_uint_eq(cnt(0, DP_C_drop_ha_standby), 40);
	ck_assert_uint_eq(cnt(0, DP_C_fdb_learned), 0);
	ck_assert_uint_eq(cnt(0, DP_C_drop_no_sa), 0);
	ck_assert_uint_eq(tx_waiting(utx), 0);
	feed(0, esp_packet(false));
	ck_assert_uint_eq(cnt(0, DP_C_drop_ha_standby), 41);
	ck_assert_uint_eq(cnt(0, DP_C_tunnel_in), 0);
	ck_assert_uint_eq(tx_waiting(ltx), 0);

	/* active: the same ESP opens and reaches the local port */
	ck_assert_int_eq(ha_set_role(&D, DP_HA_ACTIVE), 0);
	ck_assert(ha_forwarding(&D));
	ck_assert_uint_eq(ha_src_ip(&D), vip);
	feed(0, esp_packet(false));
	ck_assert_uint_eq(cnt(0, DP_C_tunnel_in), 1);
	ck_assert_uint_eq(tx_waiting(ltx), 1);
	ck_assert_uint_eq(cnt(0, DP_C_drop_ha_standby), 41);
	/* local frames are learned and go on (no outbound SA here: drop_no_sa) */
	send_local(0, 5);
	ck_assert_uint_eq(cnt(0, DP_C_drop_ha_standby), 41);
	ck_assert_uint_eq(cnt(0, DP_C_drop_no_sa), 5);

	/* fault: closed again; a role that is none is refused */
	ck_assert_int_eq(ha_set_role(&D, DP_HA_FAULT), 0);
	ck_assert_uint_eq(ha_src_ip(&D), cfg.uplink_ip);
	feed(0, esp_packet(false));
	ck_assert_uint_eq(cnt(0, DP_C_drop_ha_standby), 42);
	ck_assert_uint_eq(cnt(0, DP_C_tunnel_in), 1);
	ck_assert_int_eq(ha_set_role(&D, DP_HA_OFF), -EINVAL);
	ck_assert_int_eq(ha_set_role(&D, 9), -EINVAL);
	ck_assert_uint_eq(D.main_stats.c[DP_C_ha_role_changes], 2);
	/* without [ha] there is no role to set */
	cfg.ha.enabled = false;
	ck_assert_int_eq(ha_set_role(&D, DP_HA_ACTIVE), -EINVAL);
	dp_teardown();
}
END_TEST

/*
 * docs/ha.md: after a new IKE_SA the dataplane announces each MAC of its local
 * ports through the tunnel: one RARP frame per MAC (not the remote ones),
 * sealed by the worker with the outbound SA, broadcast, the MAC as source.
 */
START_TEST(test_ha_announce)
{
	static const uint8_t KEY2[ESP_KEYMAT_LEN] = { 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5,
						      6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6,
						      4, 4, 4, 4 };
	struct sa_spec so = { .dir = ESP_DIR_OUTBOUND, .spi = SPI_OUT, .cipher = ESP_CIPHER_AES256GCM,
			      .keymat = KEY2, .worker = 1, .peer_port = 4500 };
	struct esp_sa_params pp = { .cipher = ESP_CIPHER_AES256GCM, .backend = ESP_BACKEND_SODIUM,
				    .dir = ESP_DIR_INBOUND, .spi = SPI_OUT, .keymat = KEY2,
				    .keymat_len = ESP_KEYMAT_LEN };
	const struct rte_ether_addr local_mac = { { 2, 0, 0, 0xa0, 0, 1 } };
	struct rte_mbuf *out[64];
	struct esp_sa *opener;
	struct esp_pkt ep;
	const uint8_t *f;
	char err[256];
	unsigned n, turns = 0;

	dp_setup("ann", "");
	ck_assert_int_eq(ha_announce_start(&D), -EAGAIN); /* no outbound SA yet */
	so.peer_ip = cfg.peer_ip;
	if (sa_add(&D, &so, err, sizeof(err)) < 0)
		ck_abort_msg("sa_add: %s", err);
	opener = esp_sa_create(&pp, err, sizeof(err));
	ck_assert_ptr_nonnull(opener);
	send_local(0, 3);                /* one local MAC */
	feed(0, esp_packet(false));      /* one remote MAC */
	ck_assert_uint_eq(take_to_seal(1), 3);
	for (unsigned q = 0; q < NW; q++) {
		while ((n = rte_ring_sc_dequeue_burst(utx[q], (void **)out, RTE_DIM(out), NULL)) > 0)
			rte_pktmbuf_free_bulk(out, n);
		while ((n = rte_ring_sc_dequeue_burst(ltx[q], (void **)out, RTE_DIM(out), NULL)) > 0)
			rte_pktmbuf_free_bulk(out, n);
	}

	ck_assert_int_eq(ha_announce_start(&D), 0);
	while (D.ha_ann.on && turns++ < 100)
		ha_service(&D);
	ck_assert(!D.ha_ann.on);
	ck_assert_uint_eq(D.main_stats.c[DP_C_ha_rarp_sent], 1);
	ck_assert_uint_eq(D.main_stats.c[DP_C_ha_announcements], 1);
	ck_assert_uint_eq(take_to_seal(1), 1);
	n = rte_ring_sc_dequeue_burst(utx[1], (void **)out, RTE_DIM(out), NULL);
	ck_assert_uint_eq(n, 1);
	/* the peer opens it: VXLAN of segment web around a RARP frame */
	ep = (struct esp_pkt){ .buf = rte_pktmbuf_mtod_offset(out[0], uint8_t *, OFF_ESP),
			       .len = out[0]->data_len - OFF_ESP };
	ck_assert_uint_eq(esp_open_burst(opener, &ep, 1), 1);
	ck_assert_int_eq(ep.status, ESP_OK);
	ck_assert_uint_eq(ep.len, TUN_INNER_LEN + 60);
	f = ep.buf + ESP_PAYLOAD_OFF + TUN_INNER_LEN;
	ck_assert_uint_eq(rte_be_to_cpu_32(*(const uint32_t *)(f - 4)) >> 8, 5101);
	ck_assert(rte_is_broadcast_ether_addr((const struct rte_ether_addr *)f));
	ck_assert(rte_is_same_ether_addr((const struct rte_ether_addr *)(f + 6), &local_mac));
	ck_assert_uint_eq(f[12] << 8 | f[13], RTE_ETHER_TYPE_RARP);
	ck_assert_uint_eq(f[14 + 7], 3); /* RFC 903: request reverse */
	ck_assert_mem_eq(f + 14 + 8, &local_mac, 6);
	ck_assert_mem_eq(f + 14 + 18, &local_mac, 6);
	rte_pktmbuf_free(out[0]);
	esp_sa_destroy(opener);
	dp_teardown();
}
END_TEST

Suite *test_suite(void)
{
	Suite *s = suite_create("inbound");
	TCase *tc = tcase_create("inbound");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_sa_owner);
	tcase_add_test(tc, test_exc_police);
	tcase_add_test(tc, test_exc_unpoliced);
	tcase_add_test(tc, test_seal_handoff);
	tcase_add_test(tc, test_ha_standby);
	tcase_add_test(tc, test_ha_announce);
	suite_add_tcase(s, tc);
	return s;
}
