/* SPDX-License-Identifier: GPL-2.0-or-later */
/**
 * @file pmtu.h
 * Path-MTU help (pmtu.c): ICMP / ICMPv6 answers to oversize frames on segments
 * with pmtu = yes.
 */
#ifndef ISTHMUS_DP_PMTU_H
#define ISTHMUS_DP_PMTU_H

#include <stdbool.h>
#include <stddef.h>

#include <rte_mbuf.h>

struct dp;
struct segment;
struct worker;

/** Allocate each worker's ICMP rate meters, one per segment slot. */
int pmtu_init(struct dp *dp, char *err, size_t errlen);
/** Set up segment @p s's path-MTU help from s->cfg, before the slot is
 * published (segment.c). */
int pmtu_segment_setup(struct dp *dp, struct segment *s, char *err, size_t errlen);
void pmtu_fini(struct dp *dp);
/**
 * Path-MTU help for a frame (802.1Q tag already removed) whose tunnel packet
 * would exceed the uplink MTU, on a segment with pmtu = yes: if it is IPv4
 * with DF set, or IPv6, send ICMP fragmentation needed / ICMPv6 packet too
 * big back out of the local port, from the segment's gateway address, within
 * pmtu_rate. @return true if the frame was consumed (answered; counted
 * drop_pmtu), false if it is to be fragmented as usual.
 */
bool pmtu_answer(struct worker *w, struct segment *s, struct rte_mbuf *m);

#endif
