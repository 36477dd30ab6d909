/* SPDX-License-Identifier: GPL-2.0-or-later */
/**
 * @file identity.h
 * The appliance's own identity (an Ed25519 key pair made on first start) and
 * the peer appliance's pinned public key. Every IKE_SA between two paired
 * appliances authenticates with these keys: no shared secret in config files.
 */
#ifndef ISTHMUS_IDENTITY_H
#define ISTHMUS_IDENTITY_H

#include <credentials/keys/private_key.h>
#include <credentials/keys/public_key.h>

#define IDENTITY_KEY_FILE "identity.key"  /**< PKCS#8 PEM, mode 0600 */
#define IDENTITY_PUB_FILE "identity.pub"  /**< SubjectPublicKeyInfo PEM */
#define PEER_PUB_FILE "peer.pub"          /**< pinned peer key, written by pairing */
#define FINGERPRINT_LEN 32                /**< SHA-256 */

/**
 * Load the identity key from @p dir, or make a new Ed25519 key pair there
 * (directory 0700, private key 0600) when there is none.
 * @return the key, or NULL with a reason in @p err
 */
private_key_t *identity_load_or_create(const char *dir, char *err, size_t errlen);

/** SHA-256 of the public key's SubjectPublicKeyInfo DER encoding. */
bool identity_fingerprint(public_key_t *pub, uint8_t fpr[FINGERPRINT_LEN]);

/** The fingerprint in lowercase hex (65 bytes with NUL). */
bool identity_fingerprint_hex(public_key_t *pub, char hex[2 * FINGERPRINT_LEN + 1]);

/** Load a PEM/DER public key file; NULL if missing or invalid. */
public_key_t *identity_load_pubkey(const char *path);

/** Write a public key as PEM (mode 0644). */
bool identity_save_pubkey(public_key_t *pub, const char *path);

#endif
