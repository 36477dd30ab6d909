/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * isd_log.c: isthmusd's log lines with priorities (isd_log.h).
 *
 * charon hands each message to the loggers on its bus (bus/listeners/
 * logger.h); under journald ours takes the place of its stderr filelog and
 * writes the same line (thread, group, IKE_SA name), journald adding the
 * time, with the priority in front of every line of the message. Its alerts
 * (bus.h, alert_t) say when an SA could not be set up or was lost: those
 * become warnings, which charon's own lines about them are not.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <daemon.h>
#include <threading/thread.h>

#include "isd_log.h"

static int journal = -1;
static level_t max_level = 1;
static bool started;

bool isd_log_journal(void)
{
	if (journal < 0)
		journal = getenv("JOURNAL_STREAM") != NULL;
	return journal;
}

/* Write @p text, every line of it, at @p prio: one fputs per message (stdio
 * locks the stream for it: lines of two threads never mix). */
static void write_lines(int prio, const char *head, const char *text)
{
	char buf[8192];
	size_t n = 0;

	while (*text && n < sizeof(buf) - 64) {
		const char *nl = strchr(text, '\n');
		size_t len = nl ? (size_t)(nl - text) : strlen(text);
		int w = snprintf(buf + n, sizeof(buf) - n, "<%d>%s%.*s\n", prio, head, (int)len, text);

		if (w < 0 || (size_t)w >= sizeof(buf) - n)
			break;
		n += (size_t)w;
		text += len + (nl != NULL);
	}
	fputs(buf, stderr);
	fflush(stderr);
}

void isd_log(int prio, debug_t group, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (isd_log_journal()) {
		char head[32] = "";

		/* as charon's lines: thread and group (once charon runs) */
		if (started)
			snprintf(head, sizeof(head), "%.2d[%N] ", thread_current_id(), debug_names,
				 group);
		write_lines(prio, head, msg);
	} else if (started) {
		/* charon's filelog, as charon's own lines; debug messages at level 2 */
		if (prio >= LOG_DEBUG)
			DBG2(group, "%s", msg);
		else
			DBG1(group, "%s", msg);
	} else {
		fprintf(stderr, "%s\n", msg);
	}
}

/* charon's levels (utils/debug.h): 0 "very basic auditing logs" (IKE_SA
 * established, deleted), 1 "generic control flow with errors", 2 and up
 * more detail. */
static int level_prio(level_t level)
{
	return level <= 0 ? LOG_NOTICE : level == 1 ? LOG_INFO : LOG_DEBUG;
}

static void logger_log(logger_t *this, debug_t group, level_t level, int thread, ike_sa_t *ike_sa,
		       const char *message)
{
	char head[160];

	(void)this;
	if (ike_sa)
		snprintf(head, sizeof(head), "%.2d[%N] <%s|%u> ", thread, debug_names, group,
			 ike_sa->get_name(ike_sa), ike_sa->get_unique_id(ike_sa));
	else
		snprintf(head, sizeof(head), "%.2d[%N] ", thread, debug_names, group);
	write_lines(level_prio(level), head, message);
}

static level_t logger_level(logger_t *this, debug_t group)
{
	(void)this;
	(void)group;
	return max_level;
}

static logger_t logger = {
	.log = logger_log,
	.get_level = logger_level,
};

/* The alerts that mean an SA could not be set up, or was lost. */
static const struct {
	alert_t alert;
	const char *what;
} failures[] = {
	{ ALERT_LOCAL_AUTH_FAILED, "the peer refused our authentication" },
	{ ALERT_PEER_AUTH_FAILED, "the peer's authentication failed" },
	{ ALERT_AUTHORIZATION_FAILED, "the peer is not authorised for this connection" },
	{ ALERT_PEER_INIT_UNREACHABLE, "the peer did not answer IKE_SA_INIT" },
	{ ALERT_RETRANSMIT_SEND_TIMEOUT, "the peer stopped answering (retransmits timed out)" },
	{ ALERT_HALF_OPEN_TIMEOUT, "a half-open IKE_SA timed out" },
	{ ALERT_PROPOSAL_MISMATCH_IKE, "no IKE proposal agreed with the peer" },
	{ ALERT_PROPOSAL_MISMATCH_CHILD, "no CHILD_SA proposal agreed with the peer" },
	{ ALERT_TS_MISMATCH, "traffic selectors do not match the peer's" },
	{ ALERT_INSTALL_CHILD_SA_FAILED, "a CHILD_SA could not be installed in the dataplane" },
	{ ALERT_INSTALL_CHILD_POLICY_FAILED, "a CHILD_SA's policies could not be installed" },
	{ ALERT_IKE_SA_EXPIRED, "an IKE_SA expired without being re-established" },
	{ ALERT_KEEP_ON_CHILD_SA_FAILURE, "a CHILD_SA failed; its IKE_SA is kept" },
};

static bool alert(listener_t *this, ike_sa_t *ike_sa, alert_t a, va_list args)
{
	(void)this;
	(void)args;
	for (size_t i = 0; i < countof(failures); i++)
		if (failures[i].alert == a) {
			host_t *other = ike_sa ? ike_sa->get_other_host(ike_sa) : NULL;

			isd_log(LOG_WARNING, DBG_IKE, "isthmusd: SA failure: %s (IKE_SA %s[%u], peer %#H)",
				failures[i].what, ike_sa ? ike_sa->get_name(ike_sa) : "-",
				ike_sa ? ike_sa->get_unique_id(ike_sa) : 0, other);
			break;
		}
	return TRUE;
}

static listener_t listener = {
	.alert = alert,
};

void isd_log_start(int level)
{
	max_level = level;
	if (isd_log_journal())
		charon->bus->add_logger(charon->bus, &logger);
	charon->bus->add_listener(charon->bus, &listener);
	started = true;
}

void isd_log_stop(void)
{
	if (!started)
		return;
	charon->bus->remove_listener(charon->bus, &listener);
	if (isd_log_journal())
		charon->bus->remove_logger(charon->bus, &logger);
	started = false;
}
