/*
 * segment.c: the extended segments and their two lookups: VLAN -> segment on
 * a local port (a 4096-entry array per port, dp_port.vlan_seg) and VNI ->
 * segment from the tunnel (rte_hash, lock-free readers).
 */
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include "dp.h"

int segments_init(struct dp *dp, char *err, size_t errlen)
{
	const struct dp_config *c = dp->cfg;
	struct rte_hash_parameters hp = {
		.name = "isthmus_vni",
		.entries = RTE_MAX(c->nb_seg * 2u, 64u),
		.key_len = sizeof(uint32_t),
		.hash_func = rte_hash_crc,
		.socket_id = (int)rte_socket_id(),
		.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF,
	};

	dp->seg = rte_zmalloc("isthmus_segments", sizeof(*dp->seg) * c->nb_seg, RTE_CACHE_LINE_SIZE);
	dp->vni_hash = rte_hash_create(&hp);
	if (dp->seg == NULL || dp->vni_hash == NULL) {
		snprintf(err, errlen, "segments: out of memory");
		return -1;
	}
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
