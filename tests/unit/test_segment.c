/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_segment.c: segment slots reused after unextend (dataplane/segment.c) on
 * a real dataplane in the test process (dp_testutil.h: two workers, net_ring
 * ports, every call from this one thread).
 *
 *  slot_reuse  10 000 times: extend a segment on the trunk, send tagged
 *              frames through the real outbound path (learned, sealed,
 *              on the uplink), check its counters, unextend it. More than
 *              DP_MAX_SEGMENTS extensions since start, all in reused slots;
 *              a reused slot starts with no MAC, no counter, no report of the
 *              segment before it; the old VLAN is no segment any more and
 *              its MACs are gone at once; the MAC table does not fill with
 *              the old segments' entries (1024 entries, 40 000 MACs learned);
 *              the segment extended in the configuration file forwards.
 */
#include "check_main.h"
#include <stdio.h>
#include <string.h>

#include <rte_ring.h>

#include "dp.h"
#include "fdb.h"
#include "l2guard.h"
#include "outbound.h"
#include "sa.h"
#include "segment.h"
#include "storm.h"
#include "worker.h"

#include "dp_testutil.h"

#define ROUNDS 10000
#define MACS 4 /* per round */

static const uint8_t KEY[ESP_KEYMAT_LEN] = { 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
					     5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5,
					     3, 3, 3, 3 };

/* A 64-byte frame from local host (@p round, @p i), tagged @p vlan (0: untagged). */
static struct rte_mbuf *frame(uint32_t round, uint8_t i, uint16_t vlan)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
	uint8_t *p;

	ck_assert_ptr_nonnull(m);
	p = (uint8_t *)rte_pktmbuf_append(m, 64);
	if (p == NULL)
		ck_abort_msg("no room for a frame");
	memset(p, 0, 64);
	/* to an unknown host: into the tunnel */
	memcpy(p, (uint8_t[]){ 2, 0, 0, 0xb0, 0, 1 }, 6);
	memcpy(p + 6, (uint8_t[]){ 2, 0xa0, (uint8_t)(round >> 16), (uint8_t)(round >> 8),
				   (uint8_t)round, i }, 6);
	if (vlan) {
		p[12] = 0x81;
		p[13] = 0x00;
		p[14] = (uint8_t)(vlan >> 8);
		p[15] = (uint8_t)vlan;
		p[16] = 0x08;
	} else {
		p[12] = 0x08;
	}
	return m;
}

/* @p n frames of round @p round into worker 0 from local port @p port. */
static void send_frames(uint16_t port, uint32_t round, uint8_t n, uint16_t vlan)
{
	struct rte_mbuf *pk[MACS];

	for (uint8_t i = 0; i < n; i++)
		pk[i] = frame(round, i, vlan);
	outbound_input(D.worker[0], &D.port[port], pk, n);
}

/* Frames the uplink got since the last call (freed). */
static unsigned uplink_sent(void)
{
	struct rte_mbuf *pk[64];
	unsigned n, total = 0;

	while ((n = rte_ring_sc_dequeue_burst(utx[0], (void **)pk, RTE_DIM(pk), NULL)) > 0) {
		rte_pktmbuf_free_bulk(pk, n);
		total += n;
	}
	return total;
}

/* The MACs of segment slot @p seg (at most 8) into @p list: @return how many. */
static unsigned macs_of(uint16_t seg, struct fdb_mac *list)
{
	uint32_t it = 0;
	bool end;
	unsigned n = fdb_list_from(D.fdb, seg, &it, &end, list, 8);

	ck_assert(end);
	return n;
}

/* Extend as the control socket does: the settings as text, through the
 * configuration file's parser, then segment_add(). */
static int seg_add(struct dp *d, const char *name, const char *port, uint16_t vlan,
		   uint32_t vni, char *err, size_t errlen)
{
	struct cfg_segment cs;
	char spec[128];

	snprintf(spec, sizeof(spec), "vni=%u local=%s vlan=%u", vni, port, vlan);
	if (config_segment_spec(d->cfg, name, spec, &cs, err, errlen) < 0)
		return -1;
	return segment_add(d, &cs, err, errlen);
}

START_TEST(test_slot_reuse)
{
	struct sa_spec so = { .dir = ESP_DIR_OUTBOUND, .spi = 0x3003, .cipher = ESP_CIPHER_AES256GCM,
			      .keymat = KEY, .worker = 0, .peer_port = 4500 };
	struct fdb_mac list[8];
	uint16_t trunk = 1, max_nb = 0;
	uint64_t drops_before;
	char err[256];

	dp_boot("seg", "reuse", "");
	ck_assert_str_eq(D.port[trunk].name, "trunk");
	so.peer_ip = cfg.peer_ip;
	if (sa_add(&D, &so, err, sizeof(err)) < 0)
		ck_abort_msg("sa_add: %s", err);
	drops_before = cnt(0, DP_C_drop_unknown_vlan);
	for (uint32_t r = 0; r < ROUNDS; r++) {
		uint32_t vni = 100000 + r;
		uint16_t vlan = (uint16_t)(2 + r % 4000);
		char name[32];
		struct segment *s;
		uint16_t idx;

		snprintf(name, sizeof(name), "r%u", r);
		if (seg_add(&D, name, "trunk", vlan, vni, err, sizeof(err)) < 0)
			ck_abort_msg("round %u: extend: %s", r, err);
		s = segment_by_vni(&D, vni);
		ck_assert_ptr_nonnull(s);
		/* a reused slot starts from zero: nothing of the segment before */
		ck_assert_uint_eq(atomic_load(&s->mac_count), 0);
		ck_assert_uint_eq(atomic_load(&s->limit_hits), 0);
		ck_assert_uint_eq(atomic_load(&s->guard.mac_flaps) + atomic_load(&s->guard.loops) +
				  atomic_load(&s->guard.ip_conflicts), 0);
		for (int k = 0; k < STORM_CLASSES; k++)
			ck_assert_uint_eq(storm_drops(&D, s->idx, k), 0);
		ck_assert_uint_eq(macs_of(s->idx, list), 0);
		/* traffic: learned on this segment, sealed onto the uplink */
		send_frames(trunk, r, MACS, vlan);
		ck_assert_uint_eq(uplink_sent(), MACS);
		ck_assert_uint_eq(atomic_load(&s->mac_count), MACS);
		ck_assert_uint_eq(macs_of(s->idx, list), MACS);
		ck_assert_uint_eq(list[0].mac.addr_bytes[4], (uint8_t)r);
		max_nb = RTE_MAX(max_nb, atomic_load(&D.nb_seg));
		idx = s->idx;
		ck_assert_int_eq(segment_del(&D, vni), 0);
		/* unextended: its VLAN is no segment, its MACs are gone */
		ck_assert_ptr_null(segment_by_vni(&D, vni));
		send_frames(trunk, r, 1, vlan);
		ck_assert_uint_eq(cnt(0, DP_C_drop_unknown_vlan), drops_before + r + 1);
		ck_assert_uint_eq(macs_of(idx, list), 0);
		if (r == 0) {
			/* the configured segment forwards between the extensions */
			send_frames(0, 0xffffff, 1, 0);
			ck_assert_uint_eq(uplink_sent(), 1);
		}
	}
	/* one slot for "web", one reused 10 000 times */
	ck_assert_uint_eq(max_nb, 2);
	ck_assert_uint_eq(cnt(0, DP_C_fdb_full), 0);
	ck_assert_uint_eq(cnt(0, DP_C_fdb_learned), 1 + (uint64_t)ROUNDS * MACS);
	/* after all that, an extension works as the first did */
	ck_assert_int_eq(seg_add(&D, "last", "trunk", 42, 4242, err, sizeof(err)), 0);
	send_frames(trunk, ROUNDS, MACS, 42);
	ck_assert_uint_eq(uplink_sent(), MACS);
	ck_assert_uint_eq(atomic_load(&segment_by_vni(&D, 4242)->mac_count), MACS);
	ck_assert_uint_eq(cnt(0, DP_C_tunnel_out), (uint64_t)ROUNDS * MACS + 1 + MACS);
	dp_shutdown();
}
END_TEST

/* Two extensions at once: the lowest free slot is taken, never a live one. */
START_TEST(test_lowest_free_slot)
{
	char err[256];
	uint16_t a, b, c;

	dp_boot("seg", "lowest", "");
	ck_assert_int_eq(seg_add(&D, "a", "trunk", 10, 10, err, sizeof(err)), 0);
	ck_assert_int_eq(seg_add(&D, "b", "trunk", 11, 11, err, sizeof(err)), 0);
	a = segment_by_vni(&D, 10)->idx;
	b = segment_by_vni(&D, 11)->idx;
	ck_assert_uint_eq(a, 1);
	ck_assert_uint_eq(b, 2);
	ck_assert_int_eq(segment_del(&D, 10), 0);
	/* a name and a VNI that were unextended can be extended again */
	ck_assert_int_eq(seg_add(&D, "a", "trunk", 12, 10, err, sizeof(err)), 0);
	ck_assert_uint_eq(segment_by_vni(&D, 10)->idx, a);
	ck_assert_int_eq(seg_add(&D, "c", "trunk", 13, 13, err, sizeof(err)), 0);
	c = segment_by_vni(&D, 13)->idx;
	ck_assert_uint_eq(c, 3);
	ck_assert_str_eq(D.seg[b].name, "b");
	ck_assert_uint_eq(atomic_load(&D.nb_seg), 4);
	dp_shutdown();
}
END_TEST

Suite *test_suite(void)
{
	Suite *s = suite_create("segment");
	TCase *tc = tcase_create("segment");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_lowest_free_slot);
	tcase_add_test(tc, test_slot_reuse);
	suite_add_tcase(s, tc);
	return s;
}
