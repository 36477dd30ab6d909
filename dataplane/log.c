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

/*
 * DPDK's messages that are warnings or errors for DPDK but not for Isthmus,
 * at start-up: info, so that `journalctl -p warning` shows what needs an
 * operator. A message beginning with @c start (and holding @c has, if set).
 */
static const struct {
	const char *start, *has;
} routine[] = {
	/* the legacy telemetry socket, which nothing here uses */
	{ "TELEMETRY: No legacy callbacks", NULL },
	/* net_tap (the exception path's TAP) on a kernel without sch_multiq:
	 * only its rte_flow rules need the qdisc, and Isthmus sets none */
	{ "tap_nl_dump_ext_ack(): Specified qdisc kind is unknown", NULL },
	{ "qdisc_create_multiq(): Could not add multiq qdisc", NULL },
	{ "eth_dev_tap_create(): ", "multiq qdisc" },
	{ "eth_dev_tap_create(): ", "Disabling rte flow support" },
};

/* The syslog priority of a message beginning with @p buf (@p size bytes) that
 * rte_log gives level @p lvl. */
static int msg_prio(int lvl, const char *buf, size_t size)
{
	if (lvl < (int)RTE_LOG_EMERG || lvl > (int)RTE_LOG_DEBUG)
		return LOG_INFO;
	for (size_t i = 0; i < sizeof(routine) / sizeof(routine[0]); i++) {
		size_t n = strlen(routine[i].start);

		if (size >= n && !memcmp(buf, routine[i].start, n) &&
		    (!routine[i].has || memmem(buf, size, routine[i].has, strlen(routine[i].has))))
			return LOG_INFO;
	}
	return lvl - 1;
}

static bool line_start = true;
static FILE *log_stream;

/* Errors and worse to standard error (a terminal shows them even when the
 * rest is redirected), the rest to standard output; the same stream under
 * journald. */
static ssize_t log_write(void *cookie, const char *buf, size_t size)
{
	int prio = msg_prio(rte_log_cur_msg_loglevel(), buf, size);
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
