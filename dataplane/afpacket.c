/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * afpacket.c: the kernel sockets behind a net_af_packet port. DPDK 22.11
 * does not hand them out, so they are found through public interfaces only:
 * the interface named by the port's "iface=" device argument, and every
 * AF_PACKET socket of this process bound to it (/proc/self/fd,
 * getsockname). The PMD opens one socket per queue pair (a PACKET_FANOUT
 * group when there are several), all bound to that interface.
 */
#include <dirent.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <rte_dev.h>
#include <rte_devargs.h>
#include <rte_ethdev.h>

#include "afpacket.h"

unsigned afpacket_ifindex(uint16_t port_id)
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

int afpacket_sockets(unsigned ifindex, int *fds, int nfds, int max)
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
