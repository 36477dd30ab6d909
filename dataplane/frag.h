/* SPDX-License-Identifier: GPL-2.0-or-later */
/**
 * @file frag.h
 * Outer IPv4 fragmentation after sealing (frag.c).
 */
#ifndef ISTHMUS_DP_FRAG_H
#define ISTHMUS_DP_FRAG_H

#include <rte_mbuf.h>

struct worker;

/**
 * Outer fragmentation (RFC 4459 section 4.2: after encryption): split the
 * sealed outer IPv4 packet @p m (outer Ethernet first, DF clear) into
 * fragments of at most [uplink] mtu bytes and queue them on the uplink.
 * Takes ownership of @p m; every failure is counted.
 */
void frag_output(struct worker *w, struct rte_mbuf *m);

#endif
