/* SPDX-License-Identifier: GPL-2.0-or-later */
/**
 * @file ctl_json.h
 * JSON replies of the control sockets, written with json-c: every string
 * (segment names, identities, messages) escaped by the library, never by
 * hand. The few helpers here are what isthmus-dp, isthmusd and isthmusctl
 * share: putting an object into a reply or a streamed list, and the one
 * representation of an SPI. The ctl_json_* setters ignore a NULL object
 * (json-c out of memory), so a reply is short rather than a crash.
 */
#ifndef ISTHMUS_CTL_JSON_H
#define ISTHMUS_CTL_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <json-c/json.h>

struct ctl_out;
struct ctl_reply;

/** How the replies are serialized: compact, '/' not escaped (legal JSON either way). */
#define CTL_JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/**
 * Append @p j, serialized, to the reply body @p o and release it (also on
 * failure). NULL (json-c out of memory) is -ENOMEM.
 * @return 0, or a negative errno
 */
int ctl_out_json(struct ctl_out *o, struct json_object *j);

/**
 * Write @p j as the next element of a JSON list being streamed to @p f:
 * @p sep first unless *@p first (then clears it), and release @p j.
 * @return the bytes written (0 if @p j is NULL)
 */
size_t ctl_json_elem(FILE *f, bool *first, const char *sep, struct json_object *j);

/** Format an SPI the one way Isthmus prints it everywhere: "0x%08x" (11 bytes with NUL). */
void ctl_spi_str(uint32_t spi, char buf[static 11]);

/** An SPI as a JSON string, "0x%08x" (ctl_spi_str()). */
struct json_object *ctl_json_spi(uint32_t spi);

/** An IPv4 address in network byte order as a JSON string "a.b.c.d". */
struct json_object *ctl_json_ip4(uint32_t be);

/** Add @p key = string @p v (escaped by json-c) to object @p o. */
void ctl_json_str(struct json_object *o, const char *key, const char *v);

/** Add @p key = integer @p v to object @p o. */
void ctl_json_int(struct json_object *o, const char *key, int64_t v);

/** Add @p key = unsigned integer @p v to object @p o (above INT64_MAX too). */
void ctl_json_uint(struct json_object *o, const char *key, uint64_t v);

/** Add @p key = boolean @p v to object @p o. */
void ctl_json_bool(struct json_object *o, const char *key, bool v);

/**
 * Parse a reply's body as JSON (json-c; the body's length, not a NUL, bounds it).
 * @return the object (the caller puts it), or NULL if it is not JSON
 */
struct json_object *ctl_reply_json(const struct ctl_reply *r);

/**
 * The unsigned integer member @p key of the JSON object in reply @p r, or
 * @p dflt when the body is not such an object or the member is missing or not
 * a number.
 */
uint64_t ctl_reply_json_uint(const struct ctl_reply *r, const char *key, uint64_t dflt);

#endif
