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

/*
 * Exit status (isthmusctl(1), EXIT STATUS): 0 done; 1 the daemon refused or
 * failed the request; 2 a usage error, found before anything is contacted;
 * 3 the appliance could not be reached (not running, no answer, unreadable
 * reply).
 */
enum { EXIT_DONE = 0, EXIT_REFUSED = 1, EXIT_USAGE = 2, EXIT_UNREACHABLE = 3 };

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
 * Check the arguments of isthmusctl stats [--prometheus [-o FILE]]
 * [-i SECONDS [-c COUNT]] (isthmusctl_stats.c): @p argv, @p argc of them,
 * follow the command's name in main()'s argv. @return 0 or EXIT_USAGE
 */
/** RUN_DIR of the appliance isthmusctl talks to. */
const char *appliance_run_dir(void);
/** isthmusd's HA status (CTL_D_HA), or NULL if it does not answer (no exit). */
struct json_object *ha_status_try(void);

/** Check the arguments of isthmusctl ha ... (isthmusctl_ha.c). @return 0 or EXIT_USAGE */
int ha_args(int argc, char **argv);
/** isthmusctl ha keepalived-config | status | switchover | notify STATE */
int cmd_ha(int argc, char **argv, const char *run_dir, int json_out);
/** The HA lines of isthmusctl status, from isthmusd's status @p status. */
void ha_status_lines(struct json_object *status);

int stats_args(int argc, char **argv);
/** isthmusctl stats, arguments as stats_args(). @return the exit status */
int cmd_stats(int argc, char **argv, int json_out);

/**
 * Check the arguments of isthmusctl perftest [--sizes LIST] [--duration TIME]
 * [--rate MBIT] [--probes N] [--plot FILE.png] (isthmusctl_perftest.c).
 * @return 0 or EXIT_USAGE
 */
int perftest_args(int argc, char **argv);
/** isthmusctl perftest, arguments as perftest_args(). @return the exit status */
int cmd_perftest(int argc, char **argv, int json_out);

#endif
