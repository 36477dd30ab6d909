/* SPDX-License-Identifier: GPL-2.0-or-later */
/**
 * @file ctl_dp.h
 * The dataplane's control socket (ctl_dp.c): RUN_DIR/dp.sock served with
 * ctl/ctl_server.c on the main lcore.
 */
#ifndef ISTHMUS_DP_CTL_DP_H
#define ISTHMUS_DP_CTL_DP_H

#include <stddef.h>
#include <stdint.h>

struct dp;

/** Open the control socket RUN_DIR/dp.sock. */
int ctl_dp_open(struct dp *dp, char *err, size_t errlen);
/** Serve pending control requests (main lcore, never blocks). */
void ctl_dp_poll(struct dp *dp);
void ctl_dp_close(struct dp *dp);
/**
 * The most CPU time one ctl_dp_poll() took, in microseconds (thread CPU
 * time: what the main lcore spent, whoever else ran meanwhile): how long
 * answering, streamed replies included, kept the exception path waiting.
 */
uint64_t ctl_dp_poll_max_us(void);

#endif
