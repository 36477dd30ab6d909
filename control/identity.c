/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * identity.c: see identity.h. Keys are made, encoded and parsed by
 * strongSwan's own plugins (curve25519 for Ed25519, pkcs8/pem/pubkey for the
 * encodings), so what isthmusd writes is what swanctl and pki read.
 */
#include "identity.h"

#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>

#include <library.h>

static bool path_join(char *out, size_t len, const char *dir, const char *file)
{
	return (size_t)snprintf(out, len, "%s/%s", dir, file) < len;
}

static private_key_t *load_private(const char *path)
{
	chunk_t *blob = chunk_map((char *)path, FALSE);
	private_key_t *key;

	if (!blob)
		return NULL;
	key = lib->creds->create(lib->creds, CRED_PRIVATE_KEY, KEY_ANY, BUILD_BLOB, *blob,
				 BUILD_END);
	chunk_unmap_clear(blob);
	return key;
}

private_key_t *identity_load_or_create(const char *dir, char *err, size_t errlen)
{
	char path[512], pubpath[512];
	private_key_t *key;
	public_key_t *pub;
	chunk_t enc = chunk_empty;
	struct stat st;

	if (!path_join(path, sizeof(path), dir, IDENTITY_KEY_FILE) ||
	    !path_join(pubpath, sizeof(pubpath), dir, IDENTITY_PUB_FILE)) {
		snprintf(err, errlen, "state directory path too long: %s", dir);
		return NULL;
	}
	if (stat(path, &st) == 0) {
		if (st.st_mode & 077) {
			snprintf(err, errlen, "%s is readable by others (mode %03o): refusing to use it; "
				 "chmod 600 it", path, st.st_mode & 0777);
			return NULL;
		}
		key = load_private(path);
		if (!key)
			snprintf(err, errlen, "%s: not a valid private key", path);
		return key;
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
		return NULL;
	}
	key = lib->creds->create(lib->creds, CRED_PRIVATE_KEY, KEY_ED25519, BUILD_KEY_SIZE, 256,
				 BUILD_END);
	if (!key) {
		snprintf(err, errlen, "cannot generate an Ed25519 key (curve25519 plugin loaded?)");
		return NULL;
	}
	if (!key->get_encoding(key, PRIVKEY_PEM, &enc) || !chunk_write(enc, path, 077, FALSE)) {
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
		chunk_clear(&enc);
		key->destroy(key);
		return NULL;
	}
	chunk_clear(&enc);
	pub = key->get_public_key(key);
	if (!pub || !identity_save_pubkey(pub, pubpath)) {
		snprintf(err, errlen, "cannot write %s", pubpath);
		DESTROY_IF(pub);
		key->destroy(key);
		return NULL;
	}
	pub->destroy(pub);
	return key;
}

bool identity_fingerprint(public_key_t *pub, uint8_t fpr[FINGERPRINT_LEN])
{
	hasher_t *h = lib->crypto->create_hasher(lib->crypto, HASH_SHA256);
	chunk_t der = chunk_empty;
	bool ok;

	if (!h)
		return FALSE;
	ok = pub->get_encoding(pub, PUBKEY_SPKI_ASN1_DER, &der) &&
	     h->get_hash(h, der, fpr);
	chunk_free(&der);
	h->destroy(h);
	return ok;
}

bool identity_fingerprint_hex(public_key_t *pub, char hex[2 * FINGERPRINT_LEN + 1])
{
	uint8_t fpr[FINGERPRINT_LEN];

	if (!identity_fingerprint(pub, fpr))
		return FALSE;
	for (int i = 0; i < FINGERPRINT_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", fpr[i]);
	return TRUE;
}

public_key_t *identity_load_pubkey(const char *path)
{
	chunk_t *blob = chunk_map((char *)path, FALSE);
	public_key_t *pub;

	if (!blob)
		return NULL;
	pub = lib->creds->create(lib->creds, CRED_PUBLIC_KEY, KEY_ANY, BUILD_BLOB, *blob,
				 BUILD_END);
	chunk_unmap(blob);
	return pub;
}

bool identity_save_pubkey(public_key_t *pub, const char *path)
{
	chunk_t enc = chunk_empty;
	bool ok;

	ok = pub->get_encoding(pub, PUBKEY_PEM, &enc) && chunk_write(enc, (char *)path, 022, TRUE);
	chunk_free(&enc);
	return ok;
}
