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
#include "log.h"
#include "mss.h"
#include "pmtu.h"
#include "port.h"
#include "ctl_proto.h"
#include "segment.h"
#include "storm.h"
#include "worker.h"

int segments_init(struct dp *dp, char *err, size_t errlen)
{
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
	return 0;
}

int segments_load(struct dp *dp, char *err, size_t errlen)
{
	const struct dp_config *c = dp->cfg;

	for (uint16_t i = 0; i < c->nb_seg; i++) {
		char why[256];

		if (segment_add(dp, &c->seg[i], why, sizeof(why)) < 0) {
			snprintf(err, errlen, "segment %s: %s", c->seg[i].name, why);
			return -1;
		}
	}
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

int segment_check(const struct dp *dp, const struct cfg_segment *cs, uint32_t ignore_vni,
		  char *err, size_t errlen)
{
	uint16_t p = cs->local, vlan = cs->vlan, cur;
	const struct segment *other;

	if (cs->vni == 0 || cs->vni > 0xffffff || vlan > 4094) {
		snprintf(err, errlen, "VNI must be 1..16777214 and VLAN 0..4094");
		return -EINVAL;
	}
	if (cs->vni == CTL_PERFTEST_VNI) {
		snprintf(err, errlen, "VNI %u is reserved for isthmusctl perftest", CTL_PERFTEST_VNI);
		return -EINVAL;
	}
	if (p >= dp->nb_ports || dp->port[p].role != PORT_LOCAL) {
		snprintf(err, errlen, "no local port %u", p);
		return -ENOENT;
	}
	/* on a trunk, untagged is its native VLAN (docs/config.md, [segment] vlan) */
	if (dp->port[p].mode == CFG_LOCAL_ACCESS && vlan != DP_VLAN_UNTAGGED) {
		snprintf(err, errlen, "port '%s' is an access port: no VLAN", dp->port[p].name);
		return -EINVAL;
	}
	other = segment_by_vni(dp, cs->vni);
	if (other != NULL && other->vni != ignore_vni) {
		snprintf(err, errlen, "VNI %u is already extended (segment '%s')", cs->vni,
			 other->name);
		return -EEXIST;
	}
	cur = atomic_load_explicit(&dp->port[p].vlan_seg[vlan], memory_order_relaxed);
	if (cur != DP_SEG_NONE && dp->seg[cur].vni != ignore_vni) {
		snprintf(err, errlen, "%s on '%s' is already extended (segment '%s', VNI %u)",
			 dp->port[p].mode == CFG_LOCAL_ACCESS ? "the access port" : "the VLAN",
			 dp->port[p].name, dp->seg[cur].name, dp->seg[cur].vni);
		return -EEXIST;
	}
	for (uint16_t k = 0; k < dp->nb_seg; k++)
		if (!atomic_load_explicit(&dp->seg[k].removed, memory_order_relaxed) &&
		    dp->seg[k].vni != ignore_vni && strcmp(dp->seg[k].name, cs->name) == 0) {
			snprintf(err, errlen, "a segment '%s' exists (VNI %u)", cs->name,
				 dp->seg[k].vni);
			return -EEXIST;
		}
	if (free_slot(dp) == DP_MAX_SEGMENTS) {
		snprintf(err, errlen, "no room for more segments (%d)", DP_MAX_SEGMENTS);
		return -ENOSPC;
	}
	return 0;
}

/* Every setting of @p cs into the unpublished slot @p s: what the modules
 * read (gateway.c, mss.c, storm.c, l2guard.c, pmtu.c). */
static int segment_configure(struct dp *dp, struct segment *s, const struct cfg_segment *cs,
			     char *err, size_t errlen)
{
	const struct dp_config *c = dp->cfg;

	s->cfg = *cs;
	snprintf(s->name, sizeof(s->name), "%s", cs->name);
	s->port = cs->local;         /* local ports are dp->port[0 .. nb_local-1] */
	s->vlan = cs->vlan;
	s->vni = cs->vni;
	s->vxlan_vni_be = rte_cpu_to_be_32(cs->vni << 8);
	s->mac_limit = cs->mac_limit;
	s->aging_s = cs->aging_s;
	s->gw_ip = cs->gateway;
	s->has_gw6 = cs->has_gateway6;
	memcpy(s->gw6, cs->gateway6, sizeof(s->gw6));
	atomic_store_explicit(&s->gw_local, cs->gateway_local, memory_order_relaxed);
	s->local_egress = cs->local_egress;
	s->router_mac = cs->router_mac;
	if (cs->mss_clamp) {
		s->mss4 = cs->mss ? cs->mss : mss_default(c->uplink_mtu, false);
		s->mss6 = cs->mss ? cs->mss - 20 : mss_default(c->uplink_mtu, true);
	}
	s->flap_moves = cs->flap_moves;
	s->flap_window_s = cs->flap_window;
	s->flap_dampen_s = cs->flap_dampen;
	if (storm_segment_setup(dp, s, err, errlen) < 0 || pmtu_segment_setup(dp, s, err, errlen) < 0)
		return -EINVAL;
	return 0;
}

int segment_add(struct dp *dp, const struct cfg_segment *cs, char *err, size_t errlen)
{
	struct segment *s;
	uint16_t p = cs->local, vlan = cs->vlan, i = free_slot(dp);
	uintptr_t idx = i;
	int rc = segment_check(dp, cs, 0, err, errlen);

	if (rc < 0)
		return rc;
	s = &dp->seg[i];
	/* No worker holds index i (segment_del); readers of the listings (the
	 * telemetry thread) skip the slot until it is whole: all but the flag. */
	memset(s, 0, offsetof(struct segment, removed));
	memset((char *)s + offsetof(struct segment, removed) + sizeof(s->removed), 0,
	       sizeof(*s) - offsetof(struct segment, removed) - sizeof(s->removed));
	if (i == dp->nb_seg)
		atomic_store_explicit(&s->removed, true, memory_order_relaxed);
	s->idx = i;
	/* a new segment in the slot: its traffic counters start at 0 */
	dp_seg_traffic_reset(dp, i);
	rc = segment_configure(dp, s, cs, err, errlen);
	if (rc < 0)
		return rc; /* the slot stays free (removed) */
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

int segment_apply(struct dp *dp, const struct cfg_segment *cs, char *err, size_t errlen)
{
	struct segment *old = segment_by_vni(dp, cs->vni);
	struct cfg_segment prev;
	int rc;

	if (old == NULL) {
		rc = segment_add(dp, cs, err, errlen);
		return rc < 0 ? rc : SEG_ADDED;
	}
	if (config_segment_equal(&old->cfg, cs))
		return SEG_UNCHANGED;
	rc = segment_check(dp, cs, cs->vni, err, errlen);
	if (rc < 0)
		return rc;
	/* Only this segment: unpublished, a grace period, published again with
	 * the new settings (storm buckets and rates included). */
	prev = old->cfg;
	segment_del(dp, cs->vni);
	rc = segment_add(dp, cs, err, errlen);
	if (rc < 0) {
		char again[256];

		if (segment_add(dp, &prev, again, sizeof(again)) < 0)
			dp_log(LOG_ERR, "segment %s: cannot restore its settings: %s", prev.name, again);
		return rc;
	}
	return SEG_REPLACED;
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
