/*
 * worker.c: one run-to-completion worker per lcore. Each polls the RX queues
 * it was dealt (ports_assign), runs every burst through the whole path
 * (outbound.c or inbound.c) and transmits before it polls again.
 *
 * The loop is written so an adaptive RX mode (issue 10) slots in at the
 * idle point: it knows whether the last round moved any packet.
 */
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_rcu_qsbr.h>

#include "dp.h"

/* What a worker does when a whole round found no packet. Poll mode: nothing. */
static inline void worker_idle(struct worker *w)
{
	(void)w;
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
	/* No table entry read in this round is held past this point. */
	rte_rcu_qsbr_quiescent(dp->qsbr, w->idx);
	return moved;
}

int worker_main(void *arg)
{
	struct worker *w = arg;
	struct dp *dp = w->dp;
	struct rte_mbuf *pkts[DP_BURST_MAX];

	rte_rcu_qsbr_thread_register(dp->qsbr, w->idx);
	rte_rcu_qsbr_thread_online(dp->qsbr, w->idx);
	while (!dp->stop)
		if (worker_round(w, pkts) == 0)
			worker_idle(w);
	rte_rcu_qsbr_thread_offline(dp->qsbr, w->idx);
	rte_rcu_qsbr_thread_unregister(dp->qsbr, w->idx);
	return 0;
}
