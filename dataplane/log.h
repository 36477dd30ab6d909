/* SPDX-License-Identifier: GPL-2.0-or-later */
/**
 * @file log.h
 * isthmus-dp's messages: one line each on standard output, "isthmus-dp: "
 * first, flushed at once (systemd and the lab read the stream live). Under
 * journald (JOURNAL_STREAM set) each line starts with its syslog priority as
 * sd-daemon(3) prefixes it ("<4>"), so `journalctl -p warning` sees MAC flaps,
 * loops and refused SAs, and nothing chattier.
 */
#ifndef ISTHMUS_DP_LOG_H
#define ISTHMUS_DP_LOG_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <syslog.h>

/**
 * Print one message at syslog priority @p prio (LOG_ERR, LOG_WARNING,
 * LOG_NOTICE, LOG_INFO). Main lcore only (workers report through rings).
 */
static inline void __attribute__((format(printf, 2, 3))) dp_log(int prio, const char *fmt, ...)
{
	static int journal = -1;
	va_list ap;

	if (journal < 0)
		journal = getenv("JOURNAL_STREAM") != NULL;
	if (journal)
		printf("<%d>", prio);
	fputs("isthmus-dp: ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

#endif
