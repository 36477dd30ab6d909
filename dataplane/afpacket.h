/* SPDX-License-Identifier: GPL-2.0-or-later */
/**
 * @file afpacket.h
 * The kernel sockets behind a net_af_packet port (afpacket.c), found through
 * public interfaces only: the adaptive RX wait (rxwait.c) polls them, the
 * missed-frame count (portloss.c) reads their PACKET_STATISTICS.
 */
#ifndef ISTHMUS_DP_AFPACKET_H
#define ISTHMUS_DP_AFPACKET_H

#include <stdint.h>

/** The kernel interface behind DPDK port @p port_id if it is a net_af_packet port, else 0. */
unsigned afpacket_ifindex(uint16_t port_id);

/**
 * Append to @p fds (from index @p nfds, at most @p max in all) every
 * AF_PACKET socket of this process bound to interface @p ifindex.
 * @return the new number of entries, or -1 when none was found (or
 * /proc/self/fd cannot be read)
 */
int afpacket_sockets(unsigned ifindex, int *fds, int nfds, int max);

#endif
