/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * exception.c: the kernel TAP of the exception path (see exception.h).
 * Runs on the main lcore, off the fast path: a handful of ARP, ICMP and IKE
 * packets per second, a few thousand at most (exception_dp.c polices the rest).
 */
#include "exception.h"

#include <stdio.h>
#include <string.h>

#include <rte_bus_vdev.h>
#include <rte_ethdev.h>

#include "tap_if.h"

#define EXC_TAP_DESC 256 /**< descriptors of the TAP's RX and TX queue */

int exc_open(struct exc_path *x, const char *ifname, const struct rte_ether_addr *mac,
	     rte_be32_t addr, unsigned prefixlen, unsigned mtu, struct rte_mempool *mp,
	     char *err, size_t errlen)
{
	struct rte_eth_conf conf;
	char vdev[64], args[64];
	struct rte_ether_addr m = *mac;
	int rc;

	memset(x, 0, sizeof(*x));
	snprintf(x->ifname, sizeof(x->ifname), "%s", ifname);
	snprintf(vdev, sizeof(vdev), "net_tap_%s", ifname);
	snprintf(args, sizeof(args), "iface=%s", ifname);
	rc = rte_vdev_init(vdev, args);
	if (rc < 0) {
		snprintf(err, errlen, "exception TAP %s: cannot create (%s); is /dev/net/tun there?",
			 ifname, rte_strerror(-rc));
		return -1;
	}
	if (rte_eth_dev_get_port_by_name(vdev, &x->port) != 0) {
		snprintf(err, errlen, "exception TAP %s: no port after creation", ifname);
		return -1;
	}
	memset(&conf, 0, sizeof(conf));
	if ((rc = rte_eth_dev_configure(x->port, 1, 1, &conf)) < 0 ||
	    (rc = rte_eth_rx_queue_setup(x->port, 0, EXC_TAP_DESC,
					 rte_eth_dev_socket_id(x->port), NULL, mp)) < 0 ||
	    (rc = rte_eth_tx_queue_setup(x->port, 0, EXC_TAP_DESC,
					 rte_eth_dev_socket_id(x->port), NULL)) < 0 ||
	    (rc = rte_eth_dev_default_mac_addr_set(x->port, &m)) < 0 ||
	    (rc = rte_eth_dev_start(x->port)) < 0) {
		snprintf(err, errlen, "exception TAP %s: port setup: %s", ifname, rte_strerror(-rc));
		return -1;
	}
	return tap_if_configure(ifname, addr, prefixlen, mtu, err, errlen);
}

uint16_t exc_to_kernel(struct exc_path *x, struct rte_mbuf **pkts, uint16_t n)
{
	uint16_t sent = n ? rte_eth_tx_burst(x->port, 0, pkts, n) : 0;

	x->st.to_kernel += sent;
	if (unlikely(sent < n)) {
		x->st.to_kernel_drops += n - sent;
		rte_pktmbuf_free_bulk(pkts + sent, n - sent);
	}
	return sent;
}

uint16_t exc_from_kernel(struct exc_path *x, struct rte_mbuf **pkts, uint16_t max)
{
	uint16_t n = rte_eth_rx_burst(x->port, 0, pkts, max);

	x->st.from_kernel += n;
	return n;
}

void exc_close(struct exc_path *x)
{
	char vdev[64];

	rte_eth_dev_stop(x->port);
	rte_eth_dev_close(x->port);
	snprintf(vdev, sizeof(vdev), "net_tap_%s", x->ifname);
	rte_vdev_uninit(vdev);
}
