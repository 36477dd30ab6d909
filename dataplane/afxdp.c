/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * afxdp.c: what isthmus-dp checks around a driver = af_xdp port (net_af_xdp,
 * docs/config.md, docs/deploy.md), so that a host that cannot run it gets a
 * sentence naming the cause instead of the PMD's log lines, and the AF_XDP
 * sockets the PMD creates, so that an idle worker can wait on them (rxwait.c).
 *
 * net_af_xdp (DPDK 22.11) binds one AF_XDP socket per queue to queues
 * start_queue.. of the interface and attaches an XDP program that redirects
 * those queues' frames to the sockets. Frames the NIC's RSS puts on any
 * other queue never reach a socket: the program passes them to the kernel.
 * Hence the check of the interface's channels (ETHTOOL_GCHANNELS).
 *
 * The PMD keeps its sockets private (no API in 22.11) and this kernel may
 * lack xsk_diag (CONFIG_XDP_SOCKETS_DIAG), so the sockets are found through
 * /proc/self/fd: the AF_XDP socket that appears while a queue is set up is
 * that queue's.
 */
#include <dirent.h>
#include <errno.h>
#include <linux/capability.h>
#include <linux/ethtool.h>
#include <linux/if_xdp.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#ifdef HAVE_LIBBPF
#include <bpf/libbpf.h>
#endif

#include "afxdp.h"
#include "port.h"

#ifndef AF_XDP
#define AF_XDP 44
#endif
#ifndef SOL_XDP
#define SOL_XDP 283
#endif

/* The interface's RX channels: combined + RX-only. @return the count, or 0 if unknown */
static unsigned rx_channels(const char *iface)
{
	struct ethtool_channels ch = { .cmd = ETHTOOL_GCHANNELS };
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	unsigned n = 0;

	if (fd < 0)
		return 0;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", iface);
	ifr.ifr_data = (void *)&ch;
	if (ioctl(fd, SIOCETHTOOL, &ifr) == 0)
		n = ch.combined_count + ch.rx_count;
	close(fd);
	return n;
}

/* Is capability @p cap in this process's effective set (/proc/self/status)? */
static bool has_cap(unsigned cap)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[128];
	unsigned long long eff = ~0ULL;   /* unknown: do not blame capabilities */

	if (f == NULL)
		return true;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "CapEff: %llx", &eff) == 1)
			break;
	fclose(f);
	return (eff >> cap) & 1;
}

/* The interface's MTU, or 0. */
static unsigned if_mtu(const char *iface)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	unsigned mtu = 0;

	if (fd < 0)
		return 0;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", iface);
	if (ioctl(fd, SIOCGIFMTU, &ifr) == 0)
		mtu = (unsigned)ifr.ifr_mtu;
	close(fd);
	return mtu;
}

int afxdp_precheck(const struct cfg_portspec *ps, const char *port, unsigned nb_workers,
		   char *err, size_t errlen)
{
	unsigned ch, last = ps->start_queue + ps->queues;

	if (if_nametoindex(ps->iface) == 0) {
		snprintf(err, errlen, "port %s: no interface '%s' in this network namespace (ip link)",
			 port, ps->iface);
		return -1;
	}
	if (ps->queues > nb_workers) {
		/* a queue without a worker has no socket: the XDP program would
		 * pass its frames to the kernel, unseen */
		snprintf(err, errlen, "port %s: queues = %u but %u worker(s): every queue needs a "
			 "worker (give EAL more lcores, or fewer queues and ethtool -L %s combined %u)",
			 port, ps->queues, nb_workers, ps->iface, nb_workers);
		return -1;
	}
	ch = rx_channels(ps->iface);
	if (ch > 0 && last > ch) {
		snprintf(err, errlen, "port %s: queues %u..%u of '%s', which has %u RX queue(s) "
			 "(ethtool -l %s)", port, ps->start_queue, last - 1, ps->iface, ch, ps->iface);
		return -1;
	}
	if (ch > last && ps->start_queue == 0) {
		snprintf(err, errlen, "port %s: '%s' spreads received frames over %u queues but the "
			 "port reads %u: frames on the others would go to the kernel, not isthmus-dp. "
			 "Set ethtool -L %s combined %u (rx %u on a veth; isthmus-host-prep af-xdp does), "
			 "or queues = %u",
			 port, ps->iface, ch, ps->queues, ps->iface, ps->queues, ps->queues, ch);
		return -1;
	}
	return 0;
}

void afxdp_explain(const struct cfg_portspec *ps, const char *port, const char *what, char *err,
		   size_t errlen)
{
	unsigned mtu = if_mtu(ps->iface);
	struct rlimit rl;
	int fd;

	fd = socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		int e = errno;

		snprintf(err, errlen, "port %s: %s: the kernel refuses AF_XDP sockets (%s): %s", port,
			 what, strerror(e), e == EPERM || e == EACCES
			 ? "isthmus-dp needs CAP_NET_RAW (and AF_XDP in the unit's RestrictAddressFamilies)"
			 : "a kernel without CONFIG_XDP_SOCKETS; use driver = af_packet");
		return;
	}
	close(fd);
	if (!has_cap(CAP_NET_ADMIN) || !has_cap(CAP_SYS_ADMIN)) {
		/* libxdp (1.3) attaches the program (CAP_NET_ADMIN) and first looks
		 * up the interface's current one by id (BPF_PROG_GET_FD_BY_ID:
		 * CAP_SYS_ADMIN, which also grants CAP_BPF's bpf()) */
		snprintf(err, errlen, "port %s: %s: isthmus-dp lacks %s: net_af_xdp's XDP program "
			 "needs CAP_NET_ADMIN and CAP_SYS_ADMIN, and bpf in the unit's "
			 "SystemCallFilter (isthmus-host-prep af-xdp writes the drop-in; docs/deploy.md)",
			 port, what, !has_cap(CAP_SYS_ADMIN) ? "CAP_SYS_ADMIN" : "CAP_NET_ADMIN");
		return;
	}
#ifdef HAVE_LIBBPF
	if (libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_XDP, NULL) <= 0) {
		snprintf(err, errlen, "port %s: %s: the kernel loads no XDP program (bpf() refused: "
			 "a seccomp filter, or a kernel without XDP); use driver = af_packet", port, what);
		return;
	}
#endif
	if (mtu > 3506) {
		/* veth_xdp_set(), virtnet_xdp_set(): one page per frame */
		snprintf(err, errlen, "port %s: %s: '%s' has MTU %u: native XDP takes frames of one "
			 "page, at most 3506 on veth (and its peer) and virtio_net (ip link set %s "
			 "mtu 1500)", port, what, ps->iface, mtu, ps->iface);
		return;
	}
	if (getrlimit(RLIMIT_MEMLOCK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    geteuid() != 0) {
		snprintf(err, errlen, "port %s: %s: the AF_XDP UMEM is locked memory and "
			 "RLIMIT_MEMLOCK is %llu KB: LimitMEMLOCK=infinity or CAP_IPC_LOCK "
			 "(docs/deploy.md); the EAL log above has the PMD's reason", port, what,
			 (unsigned long long)rl.rlim_cur / 1024);
		return;
	}
	snprintf(err, errlen, "port %s: %s on '%s' (net_af_xdp): the EAL log above has the PMD's "
		 "reason (another XDP program on the interface? ip link show %s; "
		 "isthmus-host-prep check NAME)", port, what, ps->iface, ps->iface);
}

int afxdp_sockets(int *fds, int max)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL && n < max) {
		int fd = atoi(e->d_name), dom = 0;
		socklen_t dl = sizeof(dom);

		if (fd <= 2 || fd == dirfd(d))
			continue;
		if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &dl) == 0 && dom == AF_XDP)
			fds[n++] = fd;
	}
	closedir(d);
	return n;
}

int afxdp_new_socket(const int *before, int nb, const int *after, int na)
{
	int found = -1;

	for (int i = 0; i < na; i++) {
		bool old = false;

		for (int j = 0; j < nb && !old; j++)
			old = after[i] == before[j];
		if (old)
			continue;
		if (found >= 0)
			return -1; /* two new sockets: which is the queue's? do not guess */
		found = after[i];
	}
	return found;
}

uint64_t afxdp_rx_lost(const struct dp_port *p)
{
	uint64_t n = 0;

	if (p->spec == NULL || p->spec->driver != CFG_DRV_AF_XDP)
		return 0;
	for (uint16_t q = 0; q < p->nb_rxq && q < DP_PORT_MAX_FDQ; q++) {
		struct xdp_statistics st;
		socklen_t len = sizeof(st);

		memset(&st, 0, sizeof(st));
		if (p->rx_fd[q] >= 0 &&
		    getsockopt(p->rx_fd[q], SOL_XDP, XDP_STATISTICS, &st, &len) == 0 &&
		    len >= offsetof(struct xdp_statistics, rx_ring_full) + sizeof(st.rx_ring_full))
			n += st.rx_ring_full;
	}
	return n;
}
