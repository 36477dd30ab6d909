/* SPDX-License-Identifier: GPL-2.0-or-later */
/**
 * @file cfg_lint.h
 * A strict structural pass over the configuration file before rte_cfgfile
 * reads it (docs/config.md): rte_cfgfile keeps the first of two equal
 * sections or keys and silently truncates long ones, which would let a
 * leftover line override nothing while looking like it does.
 */
#ifndef ISTHMUS_CFG_LINT_H
#define ISTHMUS_CFG_LINT_H

#include <stddef.h>

/**
 * Every line of @p path must be blank, a comment (';' to the end of the line,
 * anywhere), a "[section]" header or "key = value" inside a section; no
 * section twice, no key twice in a section, nothing rte_cfgfile would
 * truncate. Nothing of a line's content is echoed (values may be keys).
 * @return 0, or -1 with "FILE:LINE: what is wrong" in @p err
 */
int cfg_lint(const char *path, char *err, size_t errlen);

#endif
