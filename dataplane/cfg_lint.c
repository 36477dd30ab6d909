/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cfg_lint.c: see cfg_lint.h. The parsing proper stays rte_cfgfile's; this
 * only refuses what rte_cfgfile would accept in a way the operator did not
 * mean. The comment and trimming rules are rte_cfgfile's (DPDK 22.11
 * rte_cfgfile_load_with_params): ';' anywhere starts a comment, names and
 * values are trimmed of white space.
 */
#include "cfg_lint.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cfgfile.h>

/* rte_cfgfile reads lines into a buffer of this size (longer: an error of its
 * own, without the file name) */
#define LINE_MAX_LEN (CFG_NAME_LEN + CFG_VALUE_LEN + 2)

struct seen {
	char (*name)[CFG_NAME_LEN];
	int *line;
	size_t n, cap;
};

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* Line where @p name was seen, or 0 after recording it at @p line. */
static int seen_add(struct seen *s, const char *name, int line)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->name[i], name) == 0)
			return s->line[i];
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 64;
		void *a = realloc(s->name, cap * sizeof(*s->name)), *b;

		if (a == NULL)
			return -1;
		s->name = a;
		b = realloc(s->line, cap * sizeof(*s->line));
		if (b == NULL)
			return -1;
		s->line = b;
		s->cap = cap;
	}
	snprintf(s->name[s->n], CFG_NAME_LEN, "%s", name);
	s->line[s->n++] = line;
	return 0;
}

static void seen_free(struct seen *s)
{
	free(s->name);
	free(s->line);
}

int cfg_lint(const char *path, char *err, size_t errlen)
{
	struct seen sections = { 0 }, keys = { 0 };
	char buf[LINE_MAX_LEN + 2], iobuf[4096], section[CFG_NAME_LEN] = "";
	int lineno = 0, rc = -1, first;
	FILE *f = fopen(path, "r");

	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	setvbuf(f, iobuf, _IOFBF, sizeof(iobuf));
	while (fgets(buf, sizeof(buf), f) != NULL) {
		char *p = buf, *semi = strchr(buf, ';'), *eq;
		size_t len = strlen(buf);

		lineno++;
		if (len == sizeof(buf) - 1 && buf[len - 1] != '\n') {
			snprintf(err, errlen, "%s:%d: line longer than %d characters", path, lineno,
				 LINE_MAX_LEN);
			goto out;
		}
		if (semi != NULL)
			*semi = '\0';
		p = trim(p);
		if (*p == '\0')
			continue;
		if (*p == '[') {
			char *name;

			if (p[strlen(p) - 1] != ']') {
				snprintf(err, errlen, "%s:%d: section header without ']'", path, lineno);
				goto out;
			}
			p[strlen(p) - 1] = '\0';
			name = trim(p + 1);
			if (*name == '\0' || strlen(name) >= CFG_NAME_LEN) {
				snprintf(err, errlen, "%s:%d: section name empty or longer than %d "
					 "characters", path, lineno, CFG_NAME_LEN - 1);
				goto out;
			}
			first = seen_add(&sections, name, lineno);
			if (first < 0)
				goto oom;
			if (first > 0) {
				snprintf(err, errlen, "%s:%d: [%s] appears twice (first at line %d): "
					 "merge them", path, lineno, name, first);
				goto out;
			}
			snprintf(section, sizeof(section), "%s", name);
			keys.n = 0;
			continue;
		}
		eq = strchr(p, '=');
		if (eq == NULL) {
			/* not echoed: in [sa.static] it may be key material */
			snprintf(err, errlen, "%s:%d: neither a comment (;), a [section] header nor "
				 "'key = value'", path, lineno);
			goto out;
		}
		*eq = '\0';
		p = trim(p);
		if (*p == '\0' || strlen(p) >= CFG_NAME_LEN) {
			snprintf(err, errlen, "%s:%d: key name empty or longer than %d characters", path,
				 lineno, CFG_NAME_LEN - 1);
			goto out;
		}
		if (section[0] == '\0') {
			snprintf(err, errlen, "%s:%d: %s: key outside any [section]", path, lineno, p);
			goto out;
		}
		if (strlen(trim(eq + 1)) >= CFG_VALUE_LEN) {
			snprintf(err, errlen, "%s:%d: [%s] %s: value longer than %d characters", path,
				 lineno, section, p, CFG_VALUE_LEN - 1);
			goto out;
		}
		first = seen_add(&keys, p, lineno);
		if (first < 0)
			goto oom;
		if (first > 0) {
			snprintf(err, errlen, "%s:%d: [%s] %s: set twice (first at line %d)", path,
				 lineno, section, p, first);
			goto out;
		}
	}
	rc = 0;
	goto out;
oom:
	snprintf(err, errlen, "%s:%d: out of memory", path, lineno);
out:
	fclose(f);
	/* [sa.static] lines hold keys: no copy is left behind in freed memory */
	explicit_bzero(buf, sizeof(buf));
	explicit_bzero(iobuf, sizeof(iobuf));
	seen_free(&sections);
	seen_free(&keys);
	return rc;
}
