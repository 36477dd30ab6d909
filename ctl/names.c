/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * names.c: see names.h. Plain C, in the control library so that isthmus-dp's
 * configuration parser, its control socket and isthmusctl all use this one
 * definition.
 */
#include "names.h"

#include <stdio.h>
#include <string.h>

static bool alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool name_char(char c)
{
	return alnum(c) || c == '.' || c == '_' || c == '-';
}

bool name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > NAME_MAX_LEN || !alnum(s[0]) || strstr(s, "..") != NULL)
		return false;
	for (size_t i = 1; i < n; i++)
		if (!name_char(s[i]))
			return false;
	return true;
}

int name_check(const char *what, const char *s, char *err, size_t errlen)
{
	char shown[NAME_MAX_LEN + 4];
	size_t n = strlen(s), i;

	if (name_ok(s))
		return 0;
	for (i = 0; i < n && i < NAME_MAX_LEN; i++)
		shown[i] = name_char(s[i]) ? s[i] : '?';
	snprintf(shown + i, sizeof(shown) - i, "%s", n > NAME_MAX_LEN ? "..." : "");
	if (n == 0)
		snprintf(err, errlen, "%s is empty", what);
	else if (n > NAME_MAX_LEN)
		snprintf(err, errlen, "%s '%s' is longer than %d characters", what, shown,
			 NAME_MAX_LEN);
	else
		snprintf(err, errlen, "%s '%s' is not a safe name: letters, digits, '.', '_' "
			 "and '-', starting with a letter or digit, no '..'", what, shown);
	return -1;
}
