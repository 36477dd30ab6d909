/* SPDX-License-Identifier: GPL-2.0-or-later */
/**
 * @file gateway.h
 * The first-hop router (gateway.c): local egress, the remote gateway's ARP/ND
 * kept out, cutover and its announcements.
 */
#ifndef ISTHMUS_DP_GATEWAY_H
#define ISTHMUS_DP_GATEWAY_H

#include <stdbool.h>

#include <rte_mbuf.h>

struct dp;
struct segment;
struct worker;

/**
 * Local egress: answer an ARP request (IPv6 neighbor solicitation) for the
 * segment's gateway with the local router's MAC, and keep the local router's own ARP / ND
 * for the gateway address from the tunnel. @return true if the frame was consumed
 */
bool gateway_outbound(struct worker *w, struct segment *s, struct rte_mbuf *m);
/** Whether a frame from the tunnel is the remote gateway's ARP or ND, to be stopped. */
bool gateway_inbound_blocked(const struct segment *s, struct rte_mbuf *m);
/** Main lcore: the gateway moves to this site; announce it. @return 0 or -1 */
int gateway_cutover(struct dp *dp, struct segment *s);
/** Worker 0: send the announcements cutover asked for. */
void gateway_announce(struct worker *w);

#endif
