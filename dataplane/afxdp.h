/* SPDX-License-Identifier: GPL-2.0-or-later */
/**
 * @file afxdp.h
 * driver = af_xdp ports (net_af_xdp): checks before the PMD runs, the reason
 * when it fails, and the AF_XDP sockets it creates (afxdp.c).
 */
#ifndef ISTHMUS_DP_AFXDP_H
#define ISTHMUS_DP_AFXDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

/**
 * mbufs net_af_xdp (DPDK 22.11, ETH_AF_XDP_DFLT_NUM_DESCS) puts in each
 * queue's fill ring when the queue is set up and keeps there: the kernel
 * writes received frames into them. ports_init() adds them to the pool.
 */
#define AFXDP_FILL_MBUFS 2048

/**
 * RX descriptors of an af_xdp queue: the AF_XDP socket's RX ring. With
 * the 1024 of other ports, the ring filled while a worker waited for its
 * CPU on a 2-vCPU VM and one TCP stream through the lab lost 2 % of its
 * segments (2.0-2.3 Gbit/s); with 4096, 0.03 % (2.75 Gbit/s; BENCHMARKS.md,
 * "AF_XDP beside af_packet"). The ring is 16 bytes a descriptor.
 */
#define AFXDP_RX_DESC 4096

/**
 * Refuse what net_af_xdp would accept but not serve: an interface missing
 * from this namespace, more queues than workers, queues the interface does
 * not have, or an interface whose RSS spreads frames over queues the port
 * does not read.
 * @return 0, or -1 with @p err set
 */
int afxdp_precheck(const struct cfg_portspec *ps, const char *port, unsigned nb_workers,
		   char *err, size_t errlen);

/**
 * After net_af_xdp failed (@p what: "probe", "rx queue 0"...): write the most
 * likely cause to @p err (no AF_XDP, bpf() refused, MTU too large for XDP,
 * locked memory), found by asking the kernel again.
 */
void afxdp_explain(const struct cfg_portspec *ps, const char *port, const char *what, char *err,
		   size_t errlen);

/** The AF_XDP sockets of this process. @return how many went to @p fds, or -1 */
int afxdp_sockets(int *fds, int max);

/** The one descriptor in @p after and not in @p before, or -1 (none, or several). */
int afxdp_new_socket(const int *before, int nb, const int *after, int na);

struct dp_port;

/**
 * Frames the kernel dropped on a driver = af_xdp port because a socket's RX
 * ring was full (XDP_STATISTICS rx_ring_full, summed over the port's
 * queues); 0 for other ports. net_af_xdp's imissed counts only
 * rx_dropped (no fill-ring buffer, frame too long), not these.
 */
uint64_t afxdp_rx_lost(const struct dp_port *p);

#endif
