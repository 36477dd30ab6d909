/* SPDX-License-Identifier: GPL-2.0-or-later */
/**
 * @file charon_guard.h
 * Start-up check that the libcharon/libstrongswan really loaded are the ones
 * isthmusd was compiled against (their headers define the struct layouts we use).
 */
#ifndef ISTHMUS_CHARON_GUARD_H
#define ISTHMUS_CHARON_GUARD_H

#include <stddef.h>

/**
 * Compare the GNU build IDs of the loaded libcharon.so.0 and libstrongswan.so.0
 * with those recorded at build time.
 *
 * @param err     buffer for a human-readable reason on failure
 * @param errlen  size of @p err
 * @return 0 if both libraries match, -1 otherwise (reason in @p err)
 */
int charon_guard_check(char *err, size_t errlen);

/**
 * As charon_guard_check(), against explicit build IDs (hex strings).
 */
int charon_guard_check_ids(const char *charon_id, const char *strongswan_id,
			   char *err, size_t errlen);

#endif
