/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * l2guard.c: MAC flap detection and dampening, loop detection, IP conflicts
 * (l2guard.h, docs/l2-safety.md).
 *
 * Tables (DPDK rte_hash):
 *  - loop: signature of a broadcast/multicast frame sent to a local port ->
 *    the millisecond it was sent. Lock-free readers (outbound, every
 *    multicast frame), writers serialised by loop_lock (inbound, multicast
 *    frames only) like the MAC table's; entries freed after an RCU grace
 *    period (dp->qsbr). The main lcore removes entries older than L2G_LOOP_MS.
 *  - arp: (segment, IPv4) -> the MAC that last claimed it in ARP, its side,
 *    when. Only ARP frames touch it, under arp_lock (ARP is rare next to the
 *    traffic; a flood of it is storm control's business).
 *
 * Reports go through an rte_ring to the main lcore: workers never write to
 * stdout (a syscall, and a blocking one when the log is slow).
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include <rte_arp.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_jhash.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "ctl_json.h"
#include "dp.h"
#include "fdb.h"
#include "l2guard.h"
#include "segment.h"
#include "worker.h"
#include "log.h"

/*
 * Keys are 8-byte aligned and a multiple of 8 long: rte_hash_crc reads them
 * in 64-bit words.
 */

/** Signature of a frame: its segment, length and two hashes of its first bytes. */
struct loop_key {
	uint16_t seg;
	uint16_t len;
	uint32_t h1, h2;
	uint32_t zero;
} __rte_aligned(8);

/** ARP table key. */
struct arp_key {
	uint16_t seg;
	uint16_t zero;
	rte_be32_t ip;
} __rte_aligned(8);

static const char *const side_name[] = { "local", "remote" };

int l2guard_init(struct dp *dp, char *err, size_t errlen)
{
	struct l2guard *g = rte_zmalloc("isthmus_l2guard", sizeof(*g), RTE_CACHE_LINE_SIZE);
	struct rte_hash_parameters lp = {
		.name = "isthmus_loop",
		.entries = L2G_LOOP_ENTRIES,
		.key_len = sizeof(struct loop_key),
		.hash_func = rte_hash_crc,
		.socket_id = (int)rte_socket_id(),
		.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF,
	};
	struct rte_hash_parameters ap = {
		.name = "isthmus_arp",
		.key_len = sizeof(struct arp_key),
		.hash_func = rte_hash_crc,
		.socket_id = (int)rte_socket_id(),
	};
	struct rte_hash_rcu_config rc = { .v = dp->qsbr, .mode = RTE_HASH_QSBR_MODE_DQ };

	if (g == NULL)
		goto nomem;
	dp->guard = g;
	g->dp = dp;
	rte_spinlock_init(&g->loop_lock);
	rte_spinlock_init(&g->arp_lock);
	g->tsc_per_ms = RTE_MAX(dp->tsc_hz / 1000, (uint64_t)1);
	/* One ARP sender per MAC the segments may hold: bounded like the MAC table. */
	g->arp_size = RTE_MAX(dp->cfg->fdb_size, 64u);
	ap.entries = g->arp_size;
	g->events = rte_ring_create_elem("isthmus_l2guard", sizeof(struct l2guard_event),
					 L2G_EVENT_RING, (int)rte_socket_id(), RING_F_SC_DEQ);
	g->loop = rte_hash_create(&lp);
	g->arp = rte_hash_create(&ap);
	if (g->events == NULL || g->loop == NULL || g->arp == NULL)
		goto nomem;
	/* one entry per position rte_hash_add_key() can return */
	g->arp_ent = rte_zmalloc("isthmus_arp_ent",
				 sizeof(*g->arp_ent) * ((size_t)rte_hash_max_key_id(g->arp) + 1), 0);
	if (g->arp_ent == NULL)
		goto nomem;
	if (rte_hash_rcu_qsbr_add(g->loop, &rc) != 0)
		goto nomem;
	return 0;
nomem:
	snprintf(err, errlen, "L2 safety tables: %s", rte_strerror(rte_errno));
	return -1;
}

void l2guard_fini(struct dp *dp)
{
	struct l2guard *g = dp->guard;

	if (g == NULL)
		return;
	rte_ring_free(g->events);
	rte_hash_free(g->loop);
	rte_hash_free(g->arp);
	rte_free(g->arp_ent);
	rte_free(g);
	dp->guard = NULL;
}

static inline void mac_of_key(fdb_key_t k, struct rte_ether_addr *mac)
{
	for (int i = 0; i < RTE_ETHER_ADDR_LEN; i++)
		mac->addr_bytes[i] = k >> (8 * (5 - i));
}

/* Hand a report to the main lcore: one per segment and kind a second, the
 * counters carry the rest. */
static void report(struct worker *w, struct segment *s, struct l2guard_event *ev)
{
	/* read first: during a storm the line is written once a second, not per frame */
	if (atomic_load_explicit(&s->guard.report_s[ev->kind], memory_order_relaxed) == w->now_s ||
	    atomic_exchange_explicit(&s->guard.report_s[ev->kind], w->now_s,
				     memory_order_relaxed) == w->now_s)
		return;
	ev->seg = s->idx;
	ev->when_s = w->now_s;
	if (rte_ring_mp_enqueue_elem(w->dp->guard->events, ev, sizeof(*ev)) != 0)
		dp_count(&w->stats, DP_C_l2guard_report_lost, 1);
}

bool l2guard_moved(struct worker *w, struct segment *s, struct fdb_entry *e, enum fdb_side to)
{
	uint32_t now = w->now_s;
	uint32_t start = atomic_load_explicit(&e->flap_start, memory_order_relaxed);
	uint32_t moves = atomic_load_explicit(&e->flap_moves, memory_order_relaxed);

	/* Two workers may move the same MAC at once (one per direction): the
	 * count may then miss a move. It is a report, not an account. */
	if ((int32_t)(now - start) >= (int32_t)s->flap_window_s || (int32_t)(now - start) < 0) {
		start = now;
		moves = 0;
		atomic_store_explicit(&e->flap_start, start, memory_order_relaxed);
	}
	moves++;
	atomic_store_explicit(&e->flap_moves, (uint16_t)RTE_MIN(moves, 0xffffu), memory_order_relaxed);
	if (likely(moves <= s->flap_moves))
		return false;
	if (moves == s->flap_moves + 1u) {
		/* the first move too many in this window: one flap */
		struct l2guard_event ev = {
			.kind = L2G_FLAP,
			.side = to,
			.moves = moves,
			.dampen_s = s->flap_dampen_s,
		};

		mac_of_key(e->key, &ev.mac);
		atomic_fetch_add_explicit(&e->flaps, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&s->guard.mac_flaps, 1, memory_order_relaxed);
		dp_count(&w->stats, DP_C_mac_flaps, 1);
		report(w, s, &ev);
	}
	if (s->flap_dampen_s == 0)
		return false;
	/*
	 * Dampen: undo this move, so the MAC stays where it was and traffic to
	 * it keeps one destination, and drop what it sends from the side it
	 * flapped to until the time is up. The window starts afresh then.
	 */
	atomic_store_explicit(&e->side, to == FDB_LOCAL ? FDB_REMOTE : FDB_LOCAL,
			      memory_order_relaxed);
	atomic_store_explicit(&e->flap_moves, 0, memory_order_relaxed);
	atomic_store_explicit(&e->flap_start, now + s->flap_dampen_s, memory_order_relaxed);
	atomic_store_explicit(&e->damp_until, now + s->flap_dampen_s, memory_order_relaxed);
	return true;
}

static inline void loop_sig(const struct segment *s, struct rte_mbuf *m, struct loop_key *k)
{
	/* A short frame comes back padded to the Ethernet minimum once it has
	 * crossed a real link (IEEE 802.3: 60 bytes before the FCS): sign every
	 * frame as if zero-padded to 60, both when sent and when seen. */
	uint32_t flen = RTE_MAX((uint32_t)m->data_len, (uint32_t)RTE_ETHER_MIN_LEN - RTE_ETHER_CRC_LEN);
	uint32_t h1 = s->idx, h2 = flen, len = RTE_MIN(flen, (uint32_t)L2G_LOOP_HASH_LEN);
	/* rte_jhash reads 32-bit words, and on x86 it does so at any alignment;
	 * the frame sits 2 bytes off (behind the tunnel headers, or a stripped
	 * tag): hash an aligned copy, so the sanitizer builds stay clean. */
	uint32_t buf[L2G_LOOP_HASH_LEN / 4] = { 0 };

	memcpy(buf, rte_pktmbuf_mtod(m, const void *), RTE_MIN((uint32_t)m->data_len, len));
	rte_jhash_2hashes(buf, len, &h1, &h2);
	*k = (struct loop_key){ .seg = s->idx, .len = flen, .h1 = h1, .h2 = h2 };
}

void l2guard_record_sent(struct worker *w, struct segment *s, struct rte_mbuf *m)
{
	struct l2guard *g = w->dp->guard;
	uintptr_t ms = (uintptr_t)(rte_rdtsc() / g->tsc_per_ms);
	struct loop_key k;
	void *data;
	int r;

	loop_sig(s, m, &k);
	/* The same frame again this millisecond (a burst of repeats): nothing to do. */
	if (rte_hash_lookup_data(g->loop, &k, &data) >= 0 && (uintptr_t)data == ms)
		return;
	rte_spinlock_lock(&g->loop_lock);
	r = rte_hash_add_key_data(g->loop, &k, (void *)ms);
	rte_spinlock_unlock(&g->loop_lock);
	if (unlikely(r < 0))
		dp_count(&w->stats, DP_C_l2guard_loop_full, 1);
}

/*
 * Whether the source of @p m has shown itself at this site since its frame
 * was sent to the local port. That frame came from the tunnel, and the
 * inbound path learned its source as remote before recording it; so a source
 * now local was learned here afterwards (the RARP or GARP of a vMotion, any
 * frame of the host at its new site), or is the source of an earlier frame of
 * this burst, which is learned only after every loop check of the burst. A
 * frame coming back around a loop finds its source still remote: the loop
 * check drops it before it is learned.
 */
static bool source_here(struct worker *w, struct segment *s, struct rte_mbuf *m,
			struct rte_mbuf *const *earlier, const uint16_t *earlier_seg, uint16_t nearlier)
{
	const struct rte_ether_addr *src = &rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->src_addr;
	fdb_key_t key = fdb_key(s->idx, src);
	struct fdb_entry *e;

	fdb_lookup_bulk(w->dp->fdb, &key, 1, &e);
	if (e != NULL && atomic_load_explicit(&e->side, memory_order_relaxed) == FDB_LOCAL)
		return true;
	for (uint16_t i = 0; i < nearlier; i++)
		if (earlier_seg[i] == s->idx &&
		    rte_is_same_ether_addr(src, &rte_pktmbuf_mtod(earlier[i], struct rte_ether_hdr *)->src_addr))
			return true;
	return false;
}

bool l2guard_check_looped(struct worker *w, struct segment *s, struct rte_mbuf *m,
			  struct rte_mbuf *const *earlier, const uint16_t *earlier_seg, uint16_t nearlier)
{
	struct l2guard *g = w->dp->guard;
	struct loop_key k;
	void *data;
	struct l2guard_event ev = { .kind = L2G_LOOP };

	loop_sig(s, m, &k);
	if (rte_hash_lookup_data(g->loop, &k, &data) < 0 ||
	    rte_rdtsc() / g->tsc_per_ms - (uintptr_t)data > L2G_LOOP_MS)
		return false;
	/* The same bytes, but from a host that is here now: it repeated itself
	 * after moving to this site (an MLD report retransmitted across a
	 * vMotion); a new frame, forwarded and learned like any other. */
	if (source_here(w, s, m, earlier, earlier_seg, nearlier)) {
		dp_count(&w->stats, DP_C_l2guard_host_repeat, 1);
		return false;
	}
	atomic_fetch_add_explicit(&s->guard.loops, 1, memory_order_relaxed);
	ev.mac = rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->src_addr;
	report(w, s, &ev);
	return true;
}

void l2guard_arp_input(struct worker *w, struct segment *s, struct rte_mbuf *m, enum fdb_side side)
{
	struct l2guard *g = w->dp->guard;
	const struct rte_arp_hdr *a = rte_pktmbuf_mtod_offset(m, const struct rte_arp_hdr *,
							      RTE_ETHER_HDR_LEN);
	struct arp_key k = { .seg = s->idx };
	struct l2guard_arp *e;
	struct l2guard_event ev = { .kind = L2G_IP_CONFLICT, .side = side };
	bool conflict = false;
	int32_t pos;

	if (m->data_len < RTE_ETHER_HDR_LEN + sizeof(*a) ||
	    a->arp_hardware != RTE_BE16(RTE_ARP_HRD_ETHER) ||
	    a->arp_protocol != RTE_BE16(RTE_ETHER_TYPE_IPV4) ||
	    a->arp_hlen != RTE_ETHER_ADDR_LEN || a->arp_plen != 4 ||
	    /* an RFC 5227 probe claims nothing (sender 0.0.0.0) */
	    a->arp_data.arp_sip == 0 || !rte_is_unicast_ether_addr(&a->arp_data.arp_sha))
		return;
	k.ip = a->arp_data.arp_sip;
	rte_spinlock_lock(&g->arp_lock);
	pos = rte_hash_lookup(g->arp, &k);
	if (pos >= 0) {
		e = &g->arp_ent[pos];
		if (!rte_is_same_ether_addr(&e->mac, &a->arp_data.arp_sha) && e->side != side &&
		    (int32_t)(w->now_s - e->seen) <= (int32_t)s->aging_s) {
			conflict = true;
			ev.mac2 = e->mac;
		}
	} else {
		pos = rte_hash_add_key(g->arp, &k);
		if (pos < 0) {
			rte_spinlock_unlock(&g->arp_lock);
			dp_count(&w->stats, DP_C_l2guard_arp_full, 1);
			return;
		}
		e = &g->arp_ent[pos];
	}
	/* The latest claim stands: a host that took the address over for good
	 * is reported once, not for as long as the old entry would live. */
	e->mac = a->arp_data.arp_sha;
	e->side = side;
	e->seen = w->now_s;
	rte_spinlock_unlock(&g->arp_lock);
	if (!conflict)
		return;
	atomic_fetch_add_explicit(&s->guard.ip_conflicts, 1, memory_order_relaxed);
	dp_count(&w->stats, DP_C_ip_conflicts, 1);
	ev.mac = a->arp_data.arp_sha;
	ev.ip = k.ip;
	report(w, s, &ev);
}

/* ---- main lcore ---- */

/* Lower case, as the MAC table's JSON (rte_ether_format_addr writes upper case). */
static void mac_str(const struct rte_ether_addr *m, char *buf)
{
	const uint8_t *b = m->addr_bytes;

	sprintf(buf, "%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5]);
}

static void format_event(const struct dp *dp, const struct l2guard_event *ev, char *buf, size_t len)
{
	char m1[RTE_ETHER_ADDR_FMT_SIZE], m2[RTE_ETHER_ADDR_FMT_SIZE];
	const uint8_t *ip = (const uint8_t *)&ev->ip;
	const char *seg = dp->seg[ev->seg].name;

	mac_str(&ev->mac, m1);
	mac_str(&ev->mac2, m2);
	switch (ev->kind) {
	case L2G_FLAP:
		if (ev->dampen_s)
			snprintf(buf, len, "segment %s: MAC %s flapping between the local and the "
				 "remote side (%u moves in %u s); kept %s, its frames from the %s "
				 "side dropped for %u s", seg, m1, ev->moves,
				 dp->seg[ev->seg].flap_window_s, side_name[!ev->side],
				 side_name[ev->side], ev->dampen_s);
		else
			snprintf(buf, len, "segment %s: MAC %s flapping between the local and the "
				 "remote side (%u moves in %u s), now %s: a loop, or the MAC on "
				 "both sites", seg, m1, ev->moves, dp->seg[ev->seg].flap_window_s,
				 side_name[ev->side]);
		break;
	case L2G_LOOP:
		snprintf(buf, len, "segment %s: loop on the local port: a frame from %s that this "
			 "appliance sent there came back in; looped frames are dropped", seg, m1);
		break;
	default:
		snprintf(buf, len, "segment %s: IP conflict: %u.%u.%u.%u claimed by %s (%s) and %s "
			 "(%s)", seg, ip[0], ip[1], ip[2], ip[3], m1, side_name[ev->side], m2,
			 side_name[!ev->side]);
		break;
	}
}

static const char *const kind_name[] = { "mac_flap", "loop", "ip_conflict" };

/* Forget frames sent longer ago than a loop takes to bring them back, or
 * (@p seg not DP_SEG_NONE) every frame of segment @p seg. */
static void loop_age(struct l2guard *g, uint64_t now_ms, uint16_t seg)
{
	const void *key;
	void *data;
	uint32_t it = 0;
	struct loop_key old[256];
	unsigned n;

	do {
		n = 0;
		rte_spinlock_lock(&g->loop_lock);
		while (n < RTE_DIM(old) && rte_hash_iterate(g->loop, &key, &data, &it) >= 0)
			/* signed: a worker may have recorded it after now_ms was read */
			if (seg != DP_SEG_NONE ? ((const struct loop_key *)key)->seg == seg
					       : (intptr_t)(now_ms - (uintptr_t)data) > L2G_LOOP_MS)
				old[n++] = *(const struct loop_key *)key;
		for (unsigned i = 0; i < n; i++)
			rte_hash_del_key(g->loop, &old[i]);
		rte_spinlock_unlock(&g->loop_lock);
	} while (n == RTE_DIM(old));
}

/* Forget ARP senders not heard for their segment's MAC aging time, or (@p seg
 * not DP_SEG_NONE) every sender of segment @p seg. */
static void arp_age(struct l2guard *g, uint32_t now, uint16_t seg)
{
	const void *key;
	void *data;
	uint32_t it = 0;
	struct arp_key old[256];
	unsigned n;

	do {
		n = 0;
		rte_spinlock_lock(&g->arp_lock);
		for (;;) {
			int32_t pos;

			if (n == RTE_DIM(old))
				break;
			pos = rte_hash_iterate(g->arp, &key, &data, &it);
			if (pos < 0)
				break;
			const struct arp_key *k = key;

			if (seg != DP_SEG_NONE ? k->seg == seg
					       : (int32_t)(now - g->arp_ent[pos].seen) >
							 (int32_t)g->dp->seg[k->seg].aging_s)
				old[n++] = *k;
		}
		for (unsigned i = 0; i < n; i++)
			rte_hash_del_key(g->arp, &old[i]);
		rte_spinlock_unlock(&g->arp_lock);
	} while (n == RTE_DIM(old));
}

void l2guard_service(struct dp *dp)
{
	struct l2guard *g = dp->guard;
	struct l2guard_event ev;
	uint64_t tsc = rte_rdtsc(), sec = tsc / dp->tsc_hz, ms = tsc / g->tsc_per_ms;

	while (rte_ring_sc_dequeue_elem(g->events, &ev, sizeof(ev)) == 0) {
		char line[256];

		g->hist[g->hist_next] = ev;
		g->hist_next = (g->hist_next + 1) % L2G_HISTORY;
		g->nhist = RTE_MIN(g->nhist + 1, (unsigned)L2G_HISTORY);
		if (sec != g->log_second) {
			if (g->log_lines > L2G_LOG_PER_S)
				dp_log(LOG_WARNING, "l2guard: %u more report(s) not logged (see "
				       "isthmusctl stats)", g->log_lines - L2G_LOG_PER_S);
			g->log_second = sec;
			g->log_lines = 0;
		}
		if (g->log_lines++ >= L2G_LOG_PER_S) {
			g->log_suppressed++;
			continue;
		}
		format_event(dp, &ev, line, sizeof(line));
		dp_log(LOG_WARNING, "%s", line);
	}
	if (ms - g->last_age_ms >= 100) {
		loop_age(g, ms, DP_SEG_NONE);
		/* ARP senders live as long as MACs: a second's precision is plenty */
		if (ms / 1000 != g->last_age_ms / 1000)
			arp_age(g, (uint32_t)sec, DP_SEG_NONE);
		g->last_age_ms = ms;
	}
}

void l2guard_forget_segment(struct dp *dp, uint16_t seg)
{
	struct l2guard *g = dp->guard;
	struct l2guard_event keep[L2G_HISTORY];
	unsigned n = 0;

	/* reports still queued are written while the segment has its name */
	l2guard_service(dp);
	loop_age(g, 0, seg);
	arp_age(g, 0, seg);
	/* and the report history forgets it: the slot may get another name */
	for (unsigned i = 0; i < g->nhist; i++) {
		const struct l2guard_event *ev =
			&g->hist[(g->hist_next + L2G_HISTORY - g->nhist + i) % L2G_HISTORY];

		if (ev->seg != seg)
			keep[n++] = *ev;
	}
	memcpy(g->hist, keep, n * sizeof(keep[0]));
	g->nhist = n;
	g->hist_next = n % L2G_HISTORY;
}

struct json_object *l2guard_json_object(const struct dp *dp)
{
	const struct l2guard *g = dp->guard;
	uint32_t now = (uint32_t)(rte_rdtsc() / dp->tsc_hz);
	struct json_object *j = json_object_new_object(), *evs = json_object_new_array();

	ctl_json_uint(j, "log_suppressed", g->log_suppressed);
	for (unsigned i = 0; evs && i < g->nhist; i++) {
		/* oldest first */
		const struct l2guard_event *ev =
			&g->hist[(g->hist_next + L2G_HISTORY - g->nhist + i) % L2G_HISTORY];
		char line[256], m1[RTE_ETHER_ADDR_FMT_SIZE], m2[RTE_ETHER_ADDR_FMT_SIZE];
		struct json_object *e = json_object_new_object();

		format_event(dp, ev, line, sizeof(line));
		mac_str(&ev->mac, m1);
		mac_str(&ev->mac2, m2);
		ctl_json_str(e, "kind", kind_name[ev->kind]);
		ctl_json_str(e, "segment", dp->seg[ev->seg].name);
		ctl_json_int(e, "vni", dp->seg[ev->seg].vni);
		ctl_json_str(e, "mac", m1);
		ctl_json_str(e, "side", side_name[ev->side & 1]);
		ctl_json_int(e, "age_s", now - ev->when_s);
		if (ev->kind == L2G_FLAP) {
			ctl_json_int(e, "moves", ev->moves);
			ctl_json_int(e, "dampen_s", ev->dampen_s);
		}
		if (ev->kind == L2G_IP_CONFLICT) {
			json_object_object_add(e, "ip", ctl_json_ip4(ev->ip));
			ctl_json_str(e, "other_mac", m2);
		}
		ctl_json_str(e, "text", line);
		if (e)
			json_object_array_add(evs, e);
	}
	if (j)
		json_object_object_add(j, "events", evs);
	else
		json_object_put(evs);
	return j;
}

void l2guard_json(const struct dp *dp, FILE *f)
{
	bool first = true;

	if (!ctl_json_elem(f, &first, "", l2guard_json_object(dp)))
		fputs("{}", f); /* json-c out of memory: still an object */
}
