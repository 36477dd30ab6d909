/* SPDX-License-Identifier: GPL-2.0-or-later */
/**
 * @file rxwait.h
 * Adaptive RX (rxwait.c): an idle worker blocks on its kernel sockets and its
 * eventfd instead of spinning; others kick it awake.
 */
#ifndef ISTHMUS_DP_RXWAIT_H
#define ISTHMUS_DP_RXWAIT_H

struct dp;
struct worker;

#define RXWAIT_MAX_FDS 32           /**< kernel sockets an idle worker can wait on */

/** Find each worker's kernel sockets (net_af_packet queues) and make its eventfd. */
int rxwait_init(struct dp *dp);
/** Idle worker: block until a frame arrives, a kick, or @p timeout_ms. */
void rxwait_block(struct worker *w, int timeout_ms);
/** Wake @p w if it is blocked (frames queued for it, or stop). Any thread. */
void rxwait_kick(struct worker *w);
void rxwait_fini(struct dp *dp);

#endif
