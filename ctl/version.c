/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * version.c: the software version in the segment agreements' SYNC
 * (version.h; docs/control-protocol.md, "Versions").
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "version.h"

#define PREFIX "version="

int version_body(const char *version, char *buf, size_t len)
{
	int n = snprintf(buf, len, PREFIX "%s", version);

	return n < 0 || (size_t)n >= len ? -1 : n;
}

/* The characters of a Debian version (Policy 5.6.12) and of tools/version's. */
static int version_char(unsigned char c)
{
	return isalnum(c) || strchr(".+-~_:", c) != NULL;
}

int version_from_body(const char *body, size_t len, char out[VERSION_MAX])
{
	size_t p = sizeof(PREFIX) - 1, n;

	snprintf(out, VERSION_MAX, "%s", VERSION_UNKNOWN);
	if (!body || len <= p || memcmp(body, PREFIX, p))
		return -1;
	n = len - p;
	if (n >= VERSION_MAX)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!body[p + i] || !version_char((unsigned char)body[p + i]))
			return -1;
	memcpy(out, body + p, n);
	out[n] = '\0';
	return 0;
}
