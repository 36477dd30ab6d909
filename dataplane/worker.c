/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * worker.c: one run-to-completion worker per lcore. Each polls the RX queues
 * it was dealt (ports_assign), runs every burst through the whole path
 * (outbound.c or inbound.c) and transmits before it polls again.
 *
 * RX modes ([appliance] rx_mode): `poll` spins, for dedicated cores and for
 * isthmus-bench. `adaptive` (the default) spins while traffic flows; once
 * its rounds have found nothing for [appliance] rx_spin_us, it naps
 * rx_nap_us at a time while the last packet is less than ADAPTIVE_LINGER_US
 * old, and then waits in the kernel on its queues' sockets when they all
 * have one (net_af_packet, rxwait.c), or else sleeps a little longer each
 * round, up to ADAPTIVE_MAX_SLEEP_US. An idle appliance then costs next to nothing instead
 * of a whole core (an interconnect appliance is a VM on a shared host).
 *
 * The spin is a time, not a number of rounds: a round's cost grows with the
 * ports a worker polls. It is 0 by default: on a VM with few vCPUs any spin
 * at all makes the worker chase frames one at a time (a frame every 7-20 us
 * at 64 bytes, one sendto() each) and takes the CPU from the hosts and the
 * kernel's share of the forwarding (af_packet copies, veth). Napping at
 * once instead takes what came in rx_nap_us in one burst: the lab's 64-byte
 * UDP went from 40-57 to a median of 85 kpps, one TCP stream within the
 * machine's noise (BENCHMARKS.md, "Spin and nap"). A spin still pays where
 * the worker has a core of its own.
 */
#include <stdatomic.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_pause.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "ha.h"
#include "dp.h"
#include "gateway.h"
#include "inbound.h"
#include "outbound.h"
#include "port.h"
#include "reass.h"
#include "rxwait.h"
#include "worker.h"

#define ADAPTIVE_MIN_SLEEP_US 5
#define ADAPTIVE_MAX_SLEEP_US 100   /**< bounds the wake-up latency */
#define ADAPTIVE_NICE (-10)         /**< scheduling priority of adaptive workers */

/* A whole round found no packet. */
static inline void worker_idle(struct worker *w)
{
	uint32_t steps, us;
	uint64_t now;

	if (w->dp->cfg->rx_mode == CFG_RX_POLL)
		return;
	now = rte_rdtsc();
	if (w->idle_rounds++ == 0) {
		w->idle_since = now;
		w->idle_sleeps = 0;
	}
	if (now - w->idle_since < w->spin_cycles) {
		rte_pause();
		return;
	}
	if (now - w->idle_since < w->linger_cycles) {
		/* traffic a moment ago: nap, and take what came meanwhile in one
		 * burst. A frame then costs no wake-up of its own (poll() would
		 * wake us for each, and the sender's CPU would send an IPI for
		 * it when we sleep on the other vCPU) */
		rte_delay_us_sleep(w->dp->cfg->rx_nap_us);
		return;
	}
	if (w->nb_wait_fds) {
		/* every queue is a kernel socket: wait in the kernel (rxwait.c) */
		rxwait_block(w, 100);
		return;
	}
	/* 5, 10, 20, 40, 80, then 100 us */
	steps = RTE_MIN(w->idle_sleeps++, 8u);
	us = RTE_MIN((uint32_t)ADAPTIVE_MIN_SLEEP_US << steps, (uint32_t)ADAPTIVE_MAX_SLEEP_US);
	rte_delay_us_sleep(us);
}

uint32_t worker_round(struct worker *w, struct rte_mbuf **pkts)
{
	struct dp *dp = w->dp;
	const uint16_t burst = w->burst;
	uint32_t moved = 0;

	for (uint16_t i = 0; i < w->nb_rxq; i++) {
		struct dp_port *p = &dp->port[w->rxq[i].port];
		uint16_t n = rte_eth_rx_burst(p->port_id, w->rxq[i].queue, pkts, burst);

		if (n == 0)
			continue;
		moved += n;
		if (p->role == PORT_LOCAL)
			outbound_input(w, p, pkts, n);
		else
			inbound_input(w, pkts, n);
	}
	for (uint16_t p = 0; p < dp->nb_ports; p++)
		if (dp->port[p].tx_ring != NULL && dp->port[p].tx_owner == w->idx)
			port_tx_drain_ring(w, p);
	/* packets of the SAs this worker opens that RSS gave to others (inbound.c) */
	if (unlikely(!rte_ring_empty(w->handoff))) {
		uint16_t n = (uint16_t)rte_ring_sc_dequeue_burst(w->handoff, (void **)pkts, burst, NULL);

		moved += n;
		inbound_handed(w, pkts, n);
	}
	/* frames of workers without an outbound SA, for this one to seal (outbound.c) */
	if (unlikely(!rte_ring_empty(w->seal_ring))) {
		uint16_t n = (uint16_t)rte_ring_sc_dequeue_burst(w->seal_ring, (void **)pkts, burst, NULL);

		moved += n;
		outbound_seal_handed(w, pkts, n);
	}
	reass_expire(w, rte_rdtsc());
	/* an HA member that is not active sends nothing to its local ports: a
	 * cutover's announcement waits until it is (docs/ha.md) */
	if (unlikely(w->idx == 0 && atomic_load_explicit(&dp->gw_announce, memory_order_acquire)) &&
	    ha_forwarding(dp))
		gateway_announce(w);
	/* No table entry read in this round is held past this point. */
	rte_rcu_qsbr_quiescent(dp->qsbr, w->idx);
	return moved;
}

int worker_main(void *arg)
{
	struct worker *w = arg;
	struct dp *dp = w->dp;
	struct rte_mbuf *pkts[DP_BURST_MAX];

	if (dp->cfg->rx_mode == CFG_RX_ADAPTIVE) {
		/* sleep for what we ask, not the kernel's default 50 us slack more */
		prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
		/* An adaptive worker gives its core away when idle; when a frame
		 * arrives it must get it back at once, ahead of whatever else the
		 * shared host runs there. Best effort (needs CAP_SYS_NICE). */
		if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), ADAPTIVE_NICE) != 0)
			w->stats.c[DP_C_worker_nice_failed]++;
	}
	rte_rcu_qsbr_thread_register(dp->qsbr, w->idx);
	rte_rcu_qsbr_thread_online(dp->qsbr, w->idx);
	while (!dp->stop) {
		if (worker_round(w, pkts) == 0)
			worker_idle(w);
		else
			w->idle_rounds = 0;
	}
	rte_rcu_qsbr_thread_offline(dp->qsbr, w->idx);
	rte_rcu_qsbr_thread_unregister(dp->qsbr, w->idx);
	return 0;
}
