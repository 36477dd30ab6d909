/* SPDX-License-Identifier: GPL-2.0-or-later */
/**
 * @file mss.h
 * TCP MSS clamping of SYNs in both directions (mss.c, docs/conditioning.md).
 */
#ifndef ISTHMUS_DP_MSS_H
#define ISTHMUS_DP_MSS_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf.h>

struct segment;
struct worker;

/**
 * The default MSS clamp for an uplink MTU: the largest MSS whose TCP segment,
 * in an untagged frame, fits the underlay after encapsulation without
 * fragmentation (the arithmetic is in mss.c and docs/conditioning.md).
 * @param ipv6 IPv6 (60 bytes of IP and TCP headers) rather than IPv4 (40)
 */
uint16_t mss_default(uint16_t uplink_mtu, bool ipv6);
/**
 * Lower the MSS option of a TCP SYN or SYN-ACK in frame @p m (as it travels in
 * the tunnel: tags inside it cost 4 bytes each) to the segment's clamp and
 * update the TCP checksum. Anything else passes untouched. Counts
 * mss_clamped, mss_missing, mss_malformed.
 */
void mss_clamp(struct worker *w, const struct segment *s, struct rte_mbuf *m);

#endif
