/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * log.c: the one log stream of isthmus-dp (log.h). rte_log hands each
 * message to a stdio cookie stream (fopencookie(3)); its write function puts
 * the message's priority in front of every line under journald: rte_log's
 * levels are syslog's plus one (RTE_LOG_ERR 4 is LOG_ERR 3), and
 * rte_log_cur_msg_loglevel() is the level of the message being written.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_log.h>

#include "log.h"

RTE_LOG_REGISTER(dp_logtype, isthmus, INFO);

static bool journal;     /* under journald: sd-daemon(3) priority prefixes */
static bool line_start = true;
static FILE *log_stream;

/* Errors and worse to standard error (a terminal shows them even when the
 * rest is redirected), the rest to standard output; the same stream under
 * journald. */
static ssize_t log_write(void *cookie, const char *buf, size_t size)
{
	int lvl = rte_log_cur_msg_loglevel();
	int prio = lvl >= (int)RTE_LOG_EMERG && lvl <= (int)RTE_LOG_DEBUG ? lvl - 1 : LOG_INFO;
	FILE *out = prio <= LOG_ERR ? stderr : stdout;

	(void)cookie;
	for (size_t i = 0; i < size;) {
		const char *nl = memchr(buf + i, '\n', size - i);
		size_t n = nl ? (size_t)(nl - (buf + i)) + 1 : size - i;

		if (line_start && journal)
			fprintf(out, "<%d>", prio);
		fwrite(buf + i, 1, n, out);
		line_start = nl != NULL;
		i += n;
	}
	fflush(out);
	return (ssize_t)size;
}

int dp_log_init(void)
{
	static char buf[4096];
	cookie_io_functions_t io = { .write = log_write };

	journal = getenv("JOURNAL_STREAM") != NULL;
	log_stream = fopencookie(NULL, "w", io);
	if (log_stream == NULL)
		return -1;
	/* one write per message: rte_vlog flushes after each */
	setvbuf(log_stream, buf, _IOFBF, sizeof(buf));
	return rte_openlog_stream(log_stream);
}

void dp_log(int prio, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* rte_log levels are syslog's plus one */
	rte_log((uint32_t)prio + 1, (uint32_t)dp_logtype, "isthmus-dp: %s\n", msg);
}
