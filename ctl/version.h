/* SPDX-License-Identifier: GPL-2.0-or-later */
/**
 * @file version.h
 * The software version as the two sites exchange it: the segment agreements'
 * SYNC carries "version=VERSION" in its body (docs/control-protocol.md), which
 * peers older than that leave empty. What arrives is checked here, so a
 * version shown by `isthmusctl status` is a plain token, never the peer's
 * arbitrary bytes; anything else is "unknown", not an error.
 */
#ifndef ISTHMUS_CTL_VERSION_H
#define ISTHMUS_CTL_VERSION_H

#include <stddef.h>

/** Longest version string taken from a peer (tools/version's are ~30). */
#define VERSION_MAX 64

/** What a peer that sent no version is shown as. */
#define VERSION_UNKNOWN "unknown"

/**
 * Write the SYNC body announcing @p version ("version=VERSION").
 * @return its length, or -1 if it does not fit @p len
 */
int version_body(const char *version, char *buf, size_t len);

/**
 * The version in a SYNC body (@p len bytes, not NUL-terminated), copied to
 * @p out (VERSION_MAX bytes). An empty body (an older peer), another format,
 * a version longer than VERSION_MAX - 1 or with characters other than
 * letters, digits and ".+-~_:" give VERSION_UNKNOWN.
 * @return 0 if a version was found, -1 if @p out is VERSION_UNKNOWN
 */
int version_from_body(const char *body, size_t len, char out[VERSION_MAX]);

#endif
