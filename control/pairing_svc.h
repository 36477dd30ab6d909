/* SPDX-License-Identifier: GPL-2.0-or-later */
/**
 * @file pairing_svc.h
 * isthmusd's pairing service: issues tokens and answers pairing requests
 * (site A), runs the pairing from a token (site B), pins the peer's key.
 */
#ifndef ISTHMUS_PAIRING_SVC_H
#define ISTHMUS_PAIRING_SVC_H

#include <stddef.h>

#include <credentials/keys/private_key.h>

#include "ike_settings.h"
#include "peer_config.h"

struct pairing_svc;

/** Called (from any thread) after a peer key was pinned. */
typedef void (*pairing_svc_paired_fn)(void);

/** @param own our identity key (not adopted) */
struct pairing_svc *pairing_svc_create(const struct ike_settings *s, private_key_t *own,
				       struct peer_config *pc, pairing_svc_paired_fn paired);

/** Site A: open a one-time offer for @p ttl seconds (0: default) and print its token. */
int pairing_svc_token(struct pairing_svc *p, unsigned ttl, char *token, size_t len, char *err,
		      size_t errlen);

/** Site B: pair using @p token. @return 0, or -1; @p msg says what happened either way */
int pairing_svc_pair(struct pairing_svc *p, const char *token, char *msg, size_t len);

/** Forget the peer's key. */
int pairing_svc_unpair(struct pairing_svc *p, char *msg, size_t len);

void pairing_svc_destroy(struct pairing_svc *p);

#endif
