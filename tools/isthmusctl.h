/* SPDX-License-Identifier: GPL-2.0-or-later */
/**
 * @file isthmusctl.h
 * What the commands of isthmusctl in files of their own share with
 * isthmusctl.c: one request to a control socket and reading its JSON reply.
 */
#ifndef ISTHMUSCTL_H
#define ISTHMUSCTL_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "ctl_client.h"

/**
 * One request to @p sock (dp.sock or isthmusd.sock) of the appliance; exits
 * with a clear message on failure. The reply stays valid until the next call.
 */
const struct ctl_reply *call(const char *sock, void *req, size_t len, int timeout_ms);
/** The reply's body as JSON; exits on an unreadable reply. Put it when done. */
struct json_object *parse(const struct ctl_reply *r);
/** Member @p key of @p o, or NULL. */
struct json_object *get(struct json_object *o, const char *key);
/** String member @p key of @p o, or "". */
const char *str(struct json_object *o, const char *key);
/** Integer member @p key of @p o, or 0. */
int64_t num(struct json_object *o, const char *key);

/**
 * isthmusctl stats [--prometheus [-o FILE]] [-i SECONDS [-c COUNT]]
 * (isthmusctl_stats.c). @p argv[0] is "stats". @return the exit status
 */
int cmd_stats(int argc, char **argv, int json_out);

#endif
