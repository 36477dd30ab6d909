/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * portloss.c: count every frame a port lost before the dataplane read it.
 *
 * A PMD reports such losses as rte_eth_stats.imissed (a NIC's full RX
 * descriptor ring). DPDK 22.11's net_af_xdp counts only part of them (its
 * full RX rings come from afxdp.c), and net_af_packet none: its queues are
 * kernel AF_PACKET sockets with a PACKET_RX_RING, and when the worker does
 * not empty the ring fast enough the kernel drops the frame in
 * tpacket_rcv() and counts it only in the socket (packet(7),
 * PACKET_STATISTICS: tp_drops, the frames that found no free slot; 32 bits,
 * reset on each read). So one reader keeps the sums: this file, under a
 * lock, for every caller (the main lcore's 100 ms tick and its reports, the
 * telemetry thread).
 *
 * This must stay the only reader: a PMD that read PACKET_STATISTICS itself
 * (a later DPDK's imissed) would take part of the deltas, and each would then
 * count some drops; with such a DPDK, drop this file's read for its ports.
 *
 * State is per DPDK port id: port ids are process-wide, and the reports take
 * a const struct dp.
 */
#include <linux/if_packet.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>

#include <rte_ethdev.h>
#include <rte_spinlock.h>

#include "afpacket.h"
#include "afxdp.h"
#include "dp.h"
#include "log.h"
#include "portloss.h"

#define PORTLOSS_MAX_FDS 64   /**< sockets per port: one per queue pair */

struct port_loss {
	int fds[PORTLOSS_MAX_FDS];
	uint16_t nb_fds;
	uint64_t kernel_drops;     /**< sum of tp_drops since portloss_init */
};

static struct port_loss loss[RTE_MAX_ETHPORTS];
static rte_spinlock_t loss_lock = RTE_SPINLOCK_INITIALIZER;

void portloss_init(const struct dp *dp)
{
	rte_spinlock_lock(&loss_lock);
	for (uint16_t i = 0; i < dp->nb_ports; i++) {
		uint16_t id = dp->port[i].port_id;
		struct port_loss *l = &loss[id];
		unsigned ifindex = afpacket_ifindex(id);
		int n;

		memset(l, 0, sizeof(*l));
		if (ifindex == 0)
			continue;
		n = afpacket_sockets(ifindex, l->fds, 0, PORTLOSS_MAX_FDS);
		if (n < 0) {
			dp_log(LOG_WARNING, "port %s: no kernel socket found: its receive-ring drops are "
			       "not counted", dp->port[i].name);
			continue;
		}
		l->nb_fds = (uint16_t)n;
	}
	rte_spinlock_unlock(&loss_lock);
	/* the first read: what the kernel counted since the PMD opened the
	 * sockets (frames that arrived before the workers started are read
	 * later, drops among them were lost like any other) */
	portloss_update(dp);
}

/* Add what @p l's sockets counted since the last read. Under loss_lock. */
static void port_read(struct port_loss *l)
{
	for (uint16_t k = 0; k < l->nb_fds; k++) {
		struct tpacket_stats st;
		socklen_t len = sizeof(st);

		if (getsockopt(l->fds[k], SOL_PACKET, PACKET_STATISTICS, &st, &len) != 0)
			continue;
		l->kernel_drops += st.tp_drops;
	}
}

void portloss_update(const struct dp *dp)
{
	rte_spinlock_lock(&loss_lock);
	for (uint16_t i = 0; i < dp->nb_ports; i++)
		port_read(&loss[dp->port[i].port_id]);
	rte_spinlock_unlock(&loss_lock);
}

void portloss_get(const struct dp *dp, uint16_t p, struct port_counters *out)
{
	uint16_t id = dp->port[p].port_id;
	struct rte_eth_stats es = { 0 };
	uint64_t drops, afxdp_lost;

	/* Once traffic stops and the worker has emptied the ring, every frame
	 * the kernel offered the port's sockets is in ipackets or here. */
	rte_spinlock_lock(&loss_lock);
	port_read(&loss[id]);
	drops = loss[id].kernel_drops;
	rte_spinlock_unlock(&loss_lock);
	rte_eth_stats_get(id, &es);
	afxdp_lost = afxdp_rx_lost(&dp->port[p]);
	*out = (struct port_counters){
		.ipackets = es.ipackets, .ibytes = es.ibytes,
		.opackets = es.opackets, .obytes = es.obytes,
		/* net_af_xdp's full RX rings (cumulative XDP_STATISTICS, afxdp.c)
		 * are a kernel drop too, which its PMD leaves out of imissed */
		.imissed = es.imissed + drops + afxdp_lost,
		.kernel_drops = drops + afxdp_lost,
		.rx_nombuf = es.rx_nombuf, .ierrors = es.ierrors, .oerrors = es.oerrors,
	};
}

void portloss_fini(const struct dp *dp)
{
	rte_spinlock_lock(&loss_lock);
	for (uint16_t i = 0; i < dp->nb_ports; i++) {
		struct port_loss *l = &loss[dp->port[i].port_id];

		port_read(l);   /* the last frames' drops, for a report after the stop */
		l->nb_fds = 0;
	}
	rte_spinlock_unlock(&loss_lock);
}
