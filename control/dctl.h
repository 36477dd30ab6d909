/* SPDX-License-Identifier: GPL-2.0-or-later */
/**
 * @file dctl.h
 * isthmusd's control socket (RUN_DIR/isthmusd.sock) for isthmusctl.
 */
#ifndef ISTHMUS_DCTL_H
#define ISTHMUS_DCTL_H

#include <stddef.h>

#include "ike_settings.h"
#include "pairing_svc.h"
#include "segsync.h"

struct dctl;

/** Open the socket and serve it from a thread of its own. */
struct dctl *dctl_start(const struct ike_settings *s, struct pairing_svc *pairing,
			struct segsync *segsync, const char *fingerprint, char *err, size_t errlen);

/** Stop serving, close and free. */
void dctl_stop(struct dctl *d);

#endif
