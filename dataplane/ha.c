/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ha.c: the HA role of the dataplane and the MAC announcements after a
 * failover (ha.h, docs/ha.md).
 *
 * The announcement: after a failover the physical switches at each site still
 * send the far site's MACs toward the port of the member that failed (or of
 * the other site's old path), until those hosts happen to send again. A
 * hypervisor solves the same problem after a live migration by sending one
 * RARP frame per moved MAC (QEMU's announce-self, VMware's notify switches):
 * a broadcast, so every switch on the way learns the MAC on the new port.
 * Each member does this through the tunnel for the MACs learned on its local
 * ports; the far side floods the frames to its local ports like any
 * broadcast.
 */
#include "ha.h"

#include <errno.h>
#include <string.h>

#include <rte_mbuf.h>
#include <rte_ring.h>

#include "encap.h"
#include "fdb.h"
#include "log.h"
#include "rxwait.h"
#include "segment.h"
#include "worker.h"

static const char *const role_names[DP_HA_ROLES] = {
	[DP_HA_OFF] = "off", [DP_HA_ACTIVE] = "active", [DP_HA_STANDBY] = "standby",
	[DP_HA_FAULT] = "fault",
};

const char *ha_role_name(unsigned role)
{
	return role < DP_HA_ROLES ? role_names[role] : "?";
}

void ha_init(struct dp *dp)
{
	atomic_store_explicit(&dp->ha_role, dp->cfg->ha.enabled ? DP_HA_STANDBY : DP_HA_OFF,
			      memory_order_relaxed);
	atomic_store_explicit(&dp->src_ip, dp->cfg->uplink_ip, memory_order_relaxed);
	memset(&dp->ha_ann, 0, sizeof(dp->ha_ann));
}

int ha_set_role(struct dp *dp, unsigned role)
{
	unsigned old;

	if (!dp->cfg->ha.enabled || role == DP_HA_OFF || role >= DP_HA_ROLES)
		return -EINVAL;
	/* the source address first: the first frame forwarded as active leaves
	 * from the VIP, the SAs isthmusd installs next use it (ctl_dp.c) */
	atomic_store_explicit(&dp->src_ip, role == DP_HA_ACTIVE ? dp->cfg->ha.vip : dp->cfg->uplink_ip,
			      memory_order_relaxed);
	old = atomic_exchange_explicit(&dp->ha_role, (uint8_t)role, memory_order_relaxed);
	if (old != role) {
		dp_count(&dp->main_stats, DP_C_ha_role_changes, 1);
		dp_log(role == DP_HA_ACTIVE ? LOG_NOTICE : LOG_WARNING, "HA group %s: %s -> %s%s",
		       dp->cfg->ha.group, ha_role_name(old), ha_role_name(role),
		       role == DP_HA_ACTIVE ? ": forwarding" : ": local ports and tunnel closed");
	}
	if (role != DP_HA_ACTIVE)
		dp->ha_ann.on = false;
	return 0;
}

/* A worker sealing with an outbound SA of its own, or -1. */
static int sealing_worker(const struct dp *dp)
{
	for (uint16_t i = 0; i < dp->nb_sa_out; i++)
		if (dp->sa_out[i]->worker >= 0 && dp->sa_out[i]->retire_ms == 0)
			return dp->sa_out[i]->worker;
	return -1;
}

int ha_announce_start(struct dp *dp)
{
	if (!ha_forwarding(dp))
		return -EINVAL;
	if (sealing_worker(dp) < 0)
		return -EAGAIN;
	memset(&dp->ha_ann, 0, sizeof(dp->ha_ann));
	dp->ha_ann.on = true;
	dp_count(&dp->main_stats, DP_C_ha_announcements, 1);
	return 0;
}

/*
 * One RARP "request reverse" frame for @p mac (RFC 903; the form QEMU's
 * announce-self sends: sender and target hardware address the MAC, protocol
 * addresses 0), padded to 60 bytes, encapsulated for segment @p s as the
 * outbound path's step 3 leaves a frame (outbound.c): ready to seal.
 */
static struct rte_mbuf *rarp_frame(struct dp *dp, const struct segment *s,
				   const struct rte_ether_addr *mac)
{
	static const uint8_t body[8] = { 0, 1, 0x08, 0x00, 6, 4, 0, 3 };
	struct rte_mbuf *m = rte_pktmbuf_alloc(dp->pool);
	uint8_t *f, *hdr;
	struct rte_ether_hdr *eh;

	if (m == NULL)
		return NULL;
	f = (uint8_t *)rte_pktmbuf_append(m, RTE_ETHER_MIN_LEN - RTE_ETHER_CRC_LEN);
	if (f == NULL) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	memset(f, 0, RTE_ETHER_MIN_LEN - RTE_ETHER_CRC_LEN);
	eh = (struct rte_ether_hdr *)f;
	memset(&eh->dst_addr, 0xff, sizeof(eh->dst_addr));
	eh->src_addr = *mac;
	eh->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_RARP) /* RFC 903 */;
	memcpy(f + RTE_ETHER_HDR_LEN, body, sizeof(body));
	memcpy(f + RTE_ETHER_HDR_LEN + 8, mac, RTE_ETHER_ADDR_LEN);       /* sender HA */
	memcpy(f + RTE_ETHER_HDR_LEN + 8 + 10, mac, RTE_ETHER_ADDR_LEN);  /* target HA */
	hdr = (uint8_t *)rte_pktmbuf_prepend(m, TUN_HDR_LEN);
	if (hdr == NULL) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	encap_inner(hdr + OFF_INNER_IP, RTE_ETHER_MIN_LEN - RTE_ETHER_CRC_LEN, dp->cfg->local_vtep,
		    dp->cfg->peer_vtep, ipv4_sum_base(dp->cfg->local_vtep, dp->cfg->peer_vtep),
		    s->vxlan_vni_be);
	return m;
}

void ha_service(struct dp *dp)
{
	struct ha_announce *a = &dp->ha_ann;
	struct fdb_mac macs[HA_ANNOUNCE_PER_TURN];
	struct rte_mbuf *out[HA_ANNOUNCE_PER_TURN];
	unsigned n = 0, got;
	int w;
	bool end = false;

	if (!a->on)
		return;
	w = sealing_worker(dp);
	if (w < 0 || !ha_forwarding(dp)) {
		a->on = false; /* the tunnel went down meanwhile: the next one announces */
		return;
	}
	while (n == 0 && a->seg < atomic_load_explicit(&dp->nb_seg, memory_order_acquire)) {
		const struct segment *s = &dp->seg[a->seg];

		got = atomic_load_explicit(&s->removed, memory_order_relaxed)
			      ? (end = true, 0)
			      : fdb_list_from(dp->fdb, a->seg, &a->it, &end, macs, HA_ANNOUNCE_PER_TURN);
		for (unsigned i = 0; i < got; i++) {
			struct rte_mbuf *m;

			if (macs[i].side != FDB_LOCAL)
				continue;
			if (a->sent >= HA_ANNOUNCE_MAX) {
				dp_count(&dp->main_stats, DP_C_ha_announce_capped, 1);
				continue;
			}
			m = rarp_frame(dp, s, &macs[i].mac);
			if (m == NULL) {
				dp_count(&dp->main_stats, DP_C_ha_announce_failed, 1);
				continue;
			}
			out[n++] = m;
			a->sent++;
		}
		if (end) {
			a->seg++;
			a->it = 0;
		}
	}
	if (n) {
		struct worker *sw = dp->worker[w];
		unsigned k = rte_ring_mp_enqueue_burst(sw->seal_ring, (void **)out, n, NULL);

		dp_count(&dp->main_stats, DP_C_ha_rarp_sent, k);
		if (k < n) {
			dp_count(&dp->main_stats, DP_C_ha_announce_failed, n - k);
			rte_pktmbuf_free_bulk(out + k, n - k);
		}
		if (k)
			rxwait_kick(sw);
	}
	if (a->seg >= atomic_load_explicit(&dp->nb_seg, memory_order_acquire)) {
		a->on = false;
		dp_log(LOG_NOTICE, "HA: %u MAC(s) of the local ports announced through the tunnel "
		       "(RARP)", a->sent);
	}
}
