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
 * drains, stop). The sockets are found through public interfaces only: every
 * AF_PACKET socket of this process bound to the port's interface
 * (/proc/self/fd, getsockname), the interface named by the port's "iface="
 * device argument; for net_af_xdp, the AF_XDP socket that appeared while the
 * queue was set up (port.c, afxdp.c). Workers with any other kind of queue
 * keep sleeping in short steps (worker.c).
 */
#include <dirent.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <rte_dev.h>
#include <rte_devargs.h>
#include <rte_ethdev.h>
#include <rte_rcu_qsbr.h>

#include "dp.h"
#include "port.h"
#include "rxwait.h"
#include "worker.h"

/* The kernel interface behind a net_af_packet port, or 0. */
static unsigned af_packet_ifindex(uint16_t port_id)
{
	struct rte_eth_dev_info info;
	const struct rte_devargs *da;
	const char *a;
	char ifname[IF_NAMESIZE] = "";
	size_t n;

	if (rte_eth_dev_info_get(port_id, &info) != 0 || info.driver_name == NULL ||
	    strcmp(info.driver_name, "net_af_packet") != 0 || info.device == NULL)
		return 0;
	da = rte_dev_devargs(info.device);
	if (da == NULL || da->args == NULL || (a = strstr(da->args, "iface=")) == NULL)
		return 0;
	a += 6;
	n = strcspn(a, ",");
	if (n == 0 || n >= sizeof(ifname))
		return 0;
	memcpy(ifname, a, n);
	return if_nametoindex(ifname);
}

/* Add to @p fds every AF_PACKET socket of this process bound to @p ifindex. */
static int collect_sockets(unsigned ifindex, int *fds, int nfds, int max)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int before = nfds;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL && nfds < max) {
		struct sockaddr_ll sll;
		socklen_t len = sizeof(sll);
		int fd = atoi(e->d_name), dom = 0;
		socklen_t dl = sizeof(dom);

		if (fd <= 2 || fd == dirfd(d))
			continue;
		if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &dl) != 0 || dom != AF_PACKET)
			continue;
		if (getsockname(fd, (struct sockaddr *)&sll, &len) != 0 ||
		    sll.sll_family != AF_PACKET || (unsigned)sll.sll_ifindex != ifindex)
			continue;
		fds[nfds++] = fd;
	}
	closedir(d);
	return nfds > before ? nfds : -1;
}

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
			ifindex = af_packet_ifindex(p->port_id);
			if (ifindex == 0) {
				n = -1; /* a queue without a kernel socket: no blocking wait */
				break;
			}
			for (uint16_t k = 0; k < q; k++)
				seen |= w->rxq[k].port == w->rxq[q].port;
			if (seen)
				continue;
			n = collect_sockets(ifindex, w->wait_fds, n, RXWAIT_MAX_FDS - 1);
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
