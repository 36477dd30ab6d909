/* SPDX-License-Identifier: GPL-2.0-or-later */
/**
 * @file names.h
 * The one check for names an operator or a client gives Isthmus: appliance,
 * segment and port names. They end up in paths (/run/isthmus/NAME), JSON
 * replies, Prometheus labels and log lines, none of which escapes them, so
 * only a plain character set is accepted: [A-Za-z0-9][A-Za-z0-9._-]*, at most
 * NAME_MAX_LEN characters, no "..".
 */
#ifndef ISTHMUS_NAMES_H
#define ISTHMUS_NAMES_H

#include <stdbool.h>
#include <stddef.h>

#define NAME_MAX_LEN 31 /**< DP_NAME_LEN and CTL_NAME_LEN less the NUL */

/** Whether @p s is a safe name. */
bool name_ok(const char *s);

/**
 * Check @p s; on failure write "WHAT 'S': why" to @p err (S shown with any
 * unsafe byte as '?', so the message itself stays safe to print).
 * @return 0 or -1
 */
int name_check(const char *what, const char *s, char *err, size_t errlen);

#endif
