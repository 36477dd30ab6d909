/* SPDX-License-Identifier: GPL-2.0-or-later */
/**
 * @file isd_log.h
 * isthmusd's messages and charon's, with priorities journald sees
 * (isd_log.c; docs/deploy.md, "Logs").
 *
 * Under journald (JOURNAL_STREAM set) every line on standard error starts
 * with its syslog priority as sd-daemon(3) prefixes it ("<4>"): isthmusd's
 * own messages at the priority they are logged with, charon's by their
 * strongSwan level (0: notice, 1: info, 2 and up: debug), and SA failures
 * (charon's alerts: authentication failed, no proposal chosen, peer
 * unreachable, CHILD_SA not installed ...) as warnings of their own.
 * Elsewhere (a terminal, the lab) charon's filelog prints them, time first.
 */
#ifndef ISTHMUS_ISD_LOG_H
#define ISTHMUS_ISD_LOG_H

#include <syslog.h>

#include <utils/debug.h>

/**
 * Log a message (isthmusd's start with "isthmusd: ") at syslog priority @p prio (LOG_ERR, LOG_WARNING,
 * LOG_NOTICE, LOG_INFO, LOG_DEBUG) in charon's log group @p group. Any thread;
 * before charon is up too (then on standard error).
 */
void isd_log(int prio, debug_t group, const char *fmt, ...);

/** Whether isthmusd runs under journald (JOURNAL_STREAM set). */
bool isd_log_journal(void);

/**
 * After libcharon_init(): under journald, charon's log lines with
 * priorities (instead of its filelog on standard error) at @p level at most;
 * everywhere, SA failures as warnings. Before charon->load_loggers().
 */
void isd_log_start(int level);

/** Before libcharon_deinit(). */
void isd_log_stop(void);

#endif
