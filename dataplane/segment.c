/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * segment.c: the extended segments and their two lookups: VLAN -> segment on
 * a local port (a 4096-entry array per port, dp_port.vlan_seg) and VNI ->
 * segment from the tunnel (rte_hash, lock-free readers).
 *
 * Segments can be extended and unextended at run time (control socket): a new
 * one takes the lowest free slot and is published by its two lookups; an
 * unextended one is unpublished, and after an RCU grace period no worker
 * holds its index (workers get it only from those lookups, per burst). Then
 * everything that names the slot by index goes: its MAC entries (fdb.c), its
 * loop signatures, ARP senders and reports (l2guard.c), the workers' storm
 * and path-MTU buckets and their drop counters; only then is the slot free.
 * A segment that reuses it so starts from zero, and no frame, MAC or report
 * of the old one is ever counted or delivered on it. Without reuse, the
 * 4097th extension since start would fail (DP_MAX_SEGMENTS).
 */
#include <errno.h>
#include <stddef.h>
#include <stdatomic.h>
#include <string.h>

#include <rte_rcu_qsbr.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include "dp.h"
#include "fdb.h"
#include "hash_keys.h"
#include "l2guard.h"
#include "mss.h"
#include "port.h"
#include "segment.h"
#include "storm.h"
#include "worker.h"

int segments_init(struct dp *dp, char *err, size_t errlen)
{
	const struct dp_config *c = dp->cfg;
	struct rte_hash_parameters hp = {
		.name = "isthmus_vni",
		.entries = DP_MAX_SEGMENTS * 2u,
		.key_len = sizeof(uint32_t),
		.hash_func = hash_key_crc32,
		.socket_id = (int)rte_socket_id(),
		.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF,
	};

	/* room for segments extended at run time (segment_add) */
	dp->seg = rte_zmalloc("isthmus_segments", sizeof(*dp->seg) * DP_MAX_SEGMENTS,
			      RTE_CACHE_LINE_SIZE);
	dp->vni_hash = rte_hash_create(&hp);
	if (dp->seg == NULL || dp->vni_hash == NULL) {
		snprintf(err, errlen, "segments: out of memory");
		return -1;
	}
	rte_hash_set_cmp_func(dp->vni_hash, hash_key_cmp32);
	for (uint16_t p = 0; p < dp->nb_ports; p++)
		for (int v = 0; v < 4096; v++)
			dp->port[p].vlan_seg[v] = DP_SEG_NONE;
	for (uint16_t i = 0; i < c->nb_seg; i++) {
		const struct cfg_segment *cs = &c->seg[i];
		struct segment *s = &dp->seg[i];
		uintptr_t idx = i;

		snprintf(s->name, sizeof(s->name), "%s", cs->name);
		s->idx = i;
		s->port = cs->local;         /* local ports are dp->port[0 .. nb_local-1] */
		s->vlan = cs->vlan;
		s->vni = cs->vni;
		s->vxlan_vni_be = rte_cpu_to_be_32(cs->vni << 8);
		s->mac_limit = cs->mac_limit;
		s->aging_s = cs->aging_s;
		s->gw_ip = cs->gateway;
		s->has_gw6 = cs->has_gateway6;
		memcpy(s->gw6, cs->gateway6, sizeof(s->gw6));
		s->gw_local = cs->gateway_local;
		s->local_egress = cs->local_egress;
		s->router_mac = cs->router_mac;
		if (cs->mss_clamp) {
			s->mss4 = cs->mss ? cs->mss : mss_default(c->uplink_mtu, false);
			s->mss6 = cs->mss ? cs->mss - 20 : mss_default(c->uplink_mtu, true);
		}
		s->flap_moves = cs->flap_moves;
		s->flap_window_s = cs->flap_window;
		s->flap_dampen_s = cs->flap_dampen;
		dp->port[s->port].vlan_seg[s->vlan] = i;
		if (rte_hash_add_key_data(dp->vni_hash, &s->vni, (void *)idx) != 0) {
			snprintf(err, errlen, "segments: cannot add VNI %u", s->vni);
			return -1;
		}
	}
	dp->nb_seg = c->nb_seg;
	return 0;
}

struct segment *segment_by_vni(const struct dp *dp, uint32_t vni)
{
	void *data;

	if (rte_hash_lookup_data(dp->vni_hash, &vni, &data) < 0)
		return NULL;
	return &dp->seg[(uintptr_t)data];
}

/* The lowest free slot (unextended earlier, segment_del), else the next new one. */
static uint16_t free_slot(const struct dp *dp)
{
	uint16_t n = atomic_load_explicit(&dp->nb_seg, memory_order_relaxed);

	for (uint16_t k = 0; k < n; k++)
		if (atomic_load_explicit(&dp->seg[k].removed, memory_order_relaxed))
			return k;
	return n;
}

int segment_add(struct dp *dp, const char *name, const char *port, uint16_t vlan, uint32_t vni,
		char *err, size_t errlen)
{
	struct segment *s;
	uint16_t p, i = free_slot(dp);
	uintptr_t idx = i;

	if (vni == 0 || vni > 0xffffff || vlan > 4094) {
		snprintf(err, errlen, "VNI must be 1..16777215 and VLAN 0..4094");
		return -EINVAL;
	}
	for (p = 0; p < dp->nb_ports; p++)
		if (dp->port[p].role == PORT_LOCAL && strcmp(dp->port[p].name, port) == 0)
			break;
	if (p == dp->nb_ports) {
		snprintf(err, errlen, "no local port '%s'", port);
		return -ENOENT;
	}
	if (dp->port[p].mode == CFG_LOCAL_ACCESS ? vlan != DP_VLAN_UNTAGGED : vlan == 0) {
		snprintf(err, errlen, "port '%s' is %s: %s", port,
			 dp->port[p].mode == CFG_LOCAL_ACCESS ? "an access port" : "a trunk",
			 dp->port[p].mode == CFG_LOCAL_ACCESS ? "no VLAN" : "give the VLAN");
		return -EINVAL;
	}
	if (segment_by_vni(dp, vni) != NULL || dp->port[p].vlan_seg[vlan] != DP_SEG_NONE) {
		snprintf(err, errlen, "VNI %u or VLAN %u on '%s' is already extended", vni, vlan, port);
		return -EEXIST;
	}
	for (uint16_t k = 0; k < dp->nb_seg; k++)
		if (!dp->seg[k].removed && strcmp(dp->seg[k].name, name) == 0) {
			snprintf(err, errlen, "a segment '%s' exists", name);
			return -EEXIST;
		}
	if (i == DP_MAX_SEGMENTS) {
		snprintf(err, errlen, "no room for more segments (%d)", DP_MAX_SEGMENTS);
		return -ENOSPC;
	}
	s = &dp->seg[i];
	/* No worker holds index i (segment_del); readers of the listings (the
	 * telemetry thread) skip the slot until it is whole: all but the flag. */
	memset(s, 0, offsetof(struct segment, removed));
	memset((char *)s + offsetof(struct segment, removed) + sizeof(s->removed), 0,
	       sizeof(*s) - offsetof(struct segment, removed) - sizeof(s->removed));
	if (i == dp->nb_seg)
		atomic_store_explicit(&s->removed, true, memory_order_relaxed);
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->idx = i;
	s->port = p;
	s->vlan = vlan;
	s->vni = vni;
	s->vxlan_vni_be = rte_cpu_to_be_32(vni << 8);
	s->mac_limit = 4096;
	s->aging_s = 300;
	/* the configuration file's defaults: MSS clamping on, no storm control */
	s->mss4 = mss_default(dp->cfg->uplink_mtu, false);
	s->mss6 = mss_default(dp->cfg->uplink_mtu, true);
	s->flap_moves = 5;       /* the [segment] defaults (docs/config.md) */
	s->flap_window_s = 10;
	s->flap_dampen_s = 0;
	if (rte_hash_add_key_data(dp->vni_hash, &s->vni, (void *)idx) != 0) {
		snprintf(err, errlen, "VNI table full");
		return -ENOSPC; /* the slot stays free (removed) */
	}
	/* the slot is complete before either lookup can lead to it */
	atomic_store_explicit(&s->removed, false, memory_order_release);
	if (i == dp->nb_seg)
		atomic_store_explicit(&dp->nb_seg, (uint16_t)(i + 1), memory_order_release);
	atomic_store_explicit(&dp->port[p].vlan_seg[vlan], i, memory_order_release);
	return 0;
}

/* The workers' own state of slot @p i (no worker holds the index any more). */
static void workers_forget(struct dp *dp, uint16_t i)
{
	for (unsigned w = 0; w < dp->nb_workers; w++) {
		struct worker *wk = dp->worker[w];

		if (wk->storm != NULL)
			memset(&wk->storm[i], 0, sizeof(wk->storm[i]));
		if (wk->pmtu_meter != NULL)
			memset(&wk->pmtu_meter[i], 0, sizeof(wk->pmtu_meter[i]));
	}
}

int segment_del(struct dp *dp, uint32_t vni)
{
	struct segment *s = segment_by_vni(dp, vni);
	int32_t pos;

	if (s == NULL)
		return -ENOENT;
	atomic_store_explicit(&dp->port[s->port].vlan_seg[s->vlan], (uint16_t)DP_SEG_NONE,
			      memory_order_release);
	pos = rte_hash_del_key(dp->vni_hash, &s->vni);
	/* out of the listings now; free for segment_add only once this returns */
	atomic_store_explicit(&s->removed, true, memory_order_release);
	if (dp->qsbr)
		rte_rcu_qsbr_synchronize(dp->qsbr, RTE_QSBR_THRID_INVALID);
	/* No worker holds the index now: nothing new of the segment can appear. */
	if (pos >= 0)
		rte_hash_free_key_with_position(dp->vni_hash, pos);
	if (dp->fdb != NULL)
		fdb_flush_segment(dp->fdb, s->idx);
	if (dp->guard != NULL)
		l2guard_forget_segment(dp, s->idx);
	workers_forget(dp, s->idx);
	return 0;
}
