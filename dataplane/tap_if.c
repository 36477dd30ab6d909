/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tap_if.c: configure the exception TAP in the kernel. The kernel then owns the
 * uplink address for everything that is not ESP: it answers ARP and ping, and
 * isthmusd's IKE socket (UDP 500/4500) binds to it.
 */
#include "tap_if.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static int set_addr(int fd, const char *ifname, unsigned long req, uint32_t a, const char *what,
		    char *err, size_t errlen)
{
	struct ifreq ifr;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = a;
	if (ioctl(fd, req, &ifr) < 0) {
		snprintf(err, errlen, "%s: setting the %s: %s", ifname, what, strerror(errno));
		return -1;
	}
	return 0;
}

static void disable_ipv6(const char *ifname)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", ifname);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return; /* no IPv6 in this kernel: nothing to silence */
	if (write(fd, "1", 1) != 1) {
		/* best effort: IPv6 noise on the uplink is harmless */
	}
	close(fd);
}

int tap_if_configure(const char *ifname, uint32_t addr_be, unsigned prefixlen, unsigned mtu,
		     char *err, size_t errlen)
{
	struct ifreq ifr;
	uint32_t mask = prefixlen ? htonl(~0u << (32 - prefixlen)) : 0;
	int fd, rc = -1;

	if (prefixlen > 32) {
		snprintf(err, errlen, "%s: prefix length %u out of range", ifname, prefixlen);
		return -1;
	}
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	disable_ipv6(ifname);
	if (set_addr(fd, ifname, SIOCSIFADDR, addr_be, "address", err, errlen) < 0 ||
	    set_addr(fd, ifname, SIOCSIFNETMASK, mask, "netmask", err, errlen) < 0)
		goto out;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_mtu = (int)mtu;
	if (ioctl(fd, SIOCSIFMTU, &ifr) < 0) {
		snprintf(err, errlen, "%s: setting MTU %u: %s", ifname, mtu, strerror(errno));
		goto out;
	}
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) {
		snprintf(err, errlen, "%s: reading flags: %s", ifname, strerror(errno));
		goto out;
	}
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0) {
		snprintf(err, errlen, "%s: bringing up: %s", ifname, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	close(fd);
	return rc;
}

/* SIOCADDRT / SIOCDELRT: the one route the exception path needs, without a
 * netlink library. */
static int route_ioctl(const char *ifname, unsigned long req, uint32_t dst_be, unsigned prefixlen,
		       uint32_t gw_be, char *err, size_t errlen)
{
	struct rtentry rt;
	struct sockaddr_in *dst = (struct sockaddr_in *)&rt.rt_dst;
	struct sockaddr_in *gw = (struct sockaddr_in *)&rt.rt_gateway;
	struct sockaddr_in *mask = (struct sockaddr_in *)&rt.rt_genmask;
	char dev[IF_NAMESIZE];
	char a[INET_ADDRSTRLEN], g[INET_ADDRSTRLEN];
	int fd, rc = 0;

	if (prefixlen > 32) {
		snprintf(err, errlen, "%s: route prefix length %u out of range", ifname, prefixlen);
		return -1;
	}
	memset(&rt, 0, sizeof(rt));
	snprintf(dev, sizeof(dev), "%s", ifname);
	dst->sin_family = gw->sin_family = mask->sin_family = AF_INET;
	dst->sin_addr.s_addr = dst_be;
	gw->sin_addr.s_addr = gw_be;
	mask->sin_addr.s_addr = prefixlen ? htonl(~0u << (32 - prefixlen)) : 0;
	rt.rt_flags = RTF_UP | RTF_GATEWAY | (prefixlen == 32 ? RTF_HOST : 0);
	rt.rt_dev = dev;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	if (ioctl(fd, req, &rt) < 0) {
		inet_ntop(AF_INET, &dst_be, a, sizeof(a));
		inet_ntop(AF_INET, &gw_be, g, sizeof(g));
		snprintf(err, errlen, "%s route %s/%u via %s dev %s: %s%s",
			 req == SIOCADDRT ? "adding" : "removing", a, prefixlen, g, ifname,
			 strerror(errno),
			 errno == ENETUNREACH ? " (the gateway must be inside the uplink address's "
						"subnet, [uplink] tap_prefix)" : "");
		rc = -1;
	}
	close(fd);
	return rc;
}

int tap_if_route_add(const char *ifname, uint32_t dst_be, unsigned prefixlen, uint32_t gw_be,
		     char *err, size_t errlen)
{
	return route_ioctl(ifname, SIOCADDRT, dst_be, prefixlen, gw_be, err, errlen);
}

int tap_if_route_del(const char *ifname, uint32_t dst_be, unsigned prefixlen, uint32_t gw_be,
		     char *err, size_t errlen)
{
	return route_ioctl(ifname, SIOCDELRT, dst_be, prefixlen, gw_be, err, errlen);
}
