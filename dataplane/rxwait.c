/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * rxwait.c: let an idle worker block in the kernel instead of waking every
 * few microseconds, when it can.
 *
 * None of the drivers Isthmus runs on in a VM without a passed-through NIC
 * (net_af_packet, net_af_xdp, net_pcap, net_ring, net_tap) offers RX
 * interrupts (rte_eth_dev_rx_intr_*). But a net_af_packet queue is a kernel
 * AF_PACKET socket with a PACKET_MMAP ring, and poll() on that socket reports
 * POLLIN as soon as the ring holds a frame; so does poll() on a net_af_xdp
 * queue's AF_XDP socket as soon as its RX ring does (xsk_poll()). So a worker
 * whose RX queues are all on such ports can wait in poll() on those sockets,
 * plus an eventfd through which others wake it (frames queued on a TX ring it
 * drains, stop). The sockets are found through public interfaces only: for
 * net_af_packet by afpacket.c (the same ones portloss.c reads the kernel's
 * drop counts from); for net_af_xdp, the AF_XDP socket that appeared while
 * the queue was set up (port.c, afxdp.c). Workers with any other kind of queue
 * keep sleeping in short steps (worker.c).
 */
#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <rte_ethdev.h>
#include <rte_rcu_qsbr.h>

#include "afpacket.h"
#include "dp.h"
#include "port.h"
#include "rxwait.h"
#include "worker.h"

int rxwait_init(struct dp *dp)
{
	for (unsigned wi = 0; wi < dp->nb_workers; wi++) {
		struct worker *w = dp->worker[wi];
		int n = 0;

		w->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (w->wake_fd < 0)
			return -1;
		w->nb_wait_fds = 0;
		for (uint16_t q = 0; q < w->nb_rxq; q++) {
			const struct dp_port *p = &dp->port[w->rxq[q].port];
			unsigned ifindex;
			bool seen = false;

			if (p->spec != NULL && p->spec->driver == CFG_DRV_AF_XDP) {
				/* the queue's own AF_XDP socket (port.c, afxdp.c) */
				int fd = w->rxq[q].queue < DP_PORT_MAX_FDQ ? p->rx_fd[w->rxq[q].queue] : -1;

				if (fd < 0 || n >= RXWAIT_MAX_FDS - 1) {
					n = -1;
					break;
				}
				w->wait_fds[n++] = fd;
				continue;
			}
			ifindex = afpacket_ifindex(p->port_id);
			if (ifindex == 0) {
				n = -1; /* a queue without a kernel socket: no blocking wait */
				break;
			}
			for (uint16_t k = 0; k < q; k++)
				seen |= w->rxq[k].port == w->rxq[q].port;
			if (seen)
				continue;
			n = afpacket_sockets(ifindex, w->wait_fds, n, RXWAIT_MAX_FDS - 1);
			if (n < 0)
				break;
		}
		if (n > 0 && w->nb_rxq > 0) {
			w->wait_fds[n++] = w->wake_fd;
			w->nb_wait_fds = (uint16_t)n;
		}
		if (dp->cfg->rx_mode == CFG_RX_ADAPTIVE)
			printf("  worker %u idles %s\n", wi, w->nb_wait_fds
			       ? "blocked in the kernel on its queues' sockets"
			       : "in short sleeps (a queue without a kernel socket)");
	}
	return 0;
}

void rxwait_kick(struct worker *w)
{
	uint64_t one = 1;

	/* the caller's enqueue must be visible before we look at the flag, as
	 * the worker sets the flag before it looks at the rings */
	atomic_thread_fence(memory_order_seq_cst);
	if (w->nb_wait_fds && atomic_load_explicit(&w->blocked, memory_order_seq_cst)) {
		if (write(w->wake_fd, &one, sizeof(one)) < 0) {
			/* counter full: it is awake anyway */
		}
	}
}

/* Is there anything for this worker that poll() would not report? */
static bool pending_tx(const struct worker *w)
{
	const struct dp *dp = w->dp;

	for (uint16_t p = 0; p < dp->nb_ports; p++)
		if (dp->port[p].tx_ring != NULL && dp->port[p].tx_owner == w->idx &&
		    !rte_ring_empty(dp->port[p].tx_ring))
			return true;
	return (w->handoff != NULL && !rte_ring_empty(w->handoff)) ||
	       (w->seal_ring != NULL && !rte_ring_empty(w->seal_ring));
}

void rxwait_block(struct worker *w, int timeout_ms)
{
	struct pollfd pfd[RXWAIT_MAX_FDS];
	struct dp *dp = w->dp;
	uint64_t v;

	for (uint16_t i = 0; i < w->nb_wait_fds; i++)
		pfd[i] = (struct pollfd){ .fd = w->wait_fds[i], .events = POLLIN };
	/* Offline while blocked: an RCU grace period need not wait for us. */
	rte_rcu_qsbr_thread_offline(dp->qsbr, w->idx);
	atomic_store_explicit(&w->blocked, 1, memory_order_seq_cst);
	/* re-check after announcing: a kick before the flag would be lost */
	if (!dp->stop && !pending_tx(w))
		poll(pfd, w->nb_wait_fds, timeout_ms);
	atomic_store_explicit(&w->blocked, 0, memory_order_release);
	if (read(w->wake_fd, &v, sizeof(v)) < 0) {
		/* EAGAIN: nobody kicked */
	}
	rte_rcu_qsbr_thread_online(dp->qsbr, w->idx);
}

void rxwait_fini(struct dp *dp)
{
	for (unsigned wi = 0; wi < dp->nb_workers; wi++) {
		struct worker *w = dp->worker[wi];

		if (w != NULL && w->wake_fd > 0)
			close(w->wake_fd);
	}
}
