/* SPDX-License-Identifier: GPL-2.0-or-later */
/**
 * @file log.h
 * isthmus-dp's messages, and DPDK's (EAL, PMDs), on one stream with one
 * priority convention (log.c):
 *
 *  - Every message goes through rte_log: ours under the log type "isthmus"
 *    (so `--log-level=isthmus:debug` shows debug messages, and
 *    `--log-level=isthmus:warning` quietens the routine ones), DPDK's under
 *    its own types.
 *  - dp_log_init() makes isthmus-dp's log stream standard output (standard
 *    error for errors and worse), one flushed line per message. Under
 *    journald (JOURNAL_STREAM set) each line starts with its syslog priority
 *    as sd-daemon(3) prefixes it ("<4>"), so `journalctl -p warning` shows
 *    MAC flaps, loops, IP conflicts and refused SAs, and nothing chattier.
 *    DPDK's own console stream is not used: it would send every EAL line to
 *    syslog as well, and journald would show it twice.
 *
 * Lines printed with printf (the start-up summary, the periodic counters)
 * carry no prefix: journald takes them as info (SyslogLevel= default).
 */
#ifndef ISTHMUS_DP_LOG_H
#define ISTHMUS_DP_LOG_H

#include <syslog.h>

/** The "isthmus" rte_log type (log.c). */
extern int dp_logtype;

/**
 * Use isthmus-dp's log stream (above) for all rte_log output. Before
 * rte_eal_init(), so EAL's own lines go there too. @return 0 or -1
 */
int dp_log_init(void);

/**
 * Log one message, "isthmus-dp: " first, at syslog priority @p prio (LOG_ERR,
 * LOG_WARNING, LOG_NOTICE, LOG_INFO, LOG_DEBUG). Any thread.
 */
void dp_log(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
