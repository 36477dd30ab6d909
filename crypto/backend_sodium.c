/* SPDX-License-Identifier: GPL-2.0-or-later */
/**
 * @file backend_sodium.c
 * libsodium backend: the portable path, and the reference the ipsec-mb fast
 * path is tested against (tests/unit/test_esp_cross.c).
 */
#include <string.h>

#include "backend.h"

/*
 * AES-256-GCM (RFC 4106). libsodium 1.0.18 only implements it with AES-NI and
 * PCLMUL (crypto_aead_aes256gcm_is_available()); beforenm expands the key once
 * per SA so the per-packet call does no key schedule.
 */
static int sodium_gcm_key_init(union esp_key_state *ks, const uint8_t key[ESP_KEY_LEN])
{
	if (!crypto_aead_aes256gcm_is_available())
		return -1;
	return crypto_aead_aes256gcm_beforenm(&ks->sodium_gcm, key) == 0 ? 0 : -1;
}

static void sodium_gcm_seal(const union esp_key_state *ks, const struct esp_aead_op *op)
{
	/* In place (c == m) is supported by libsodium's AEAD functions. */
	crypto_aead_aes256gcm_encrypt_detached_afternm(op->data, op->tag, NULL, op->data,
						       op->len, op->aad, op->aad_len, NULL,
						       op->nonce, &ks->sodium_gcm);
}

static int sodium_gcm_open(const union esp_key_state *ks, const struct esp_aead_op *op)
{
	/* On a bad tag libsodium zeroes the output: no unauthenticated plaintext. */
	return crypto_aead_aes256gcm_decrypt_detached_afternm(op->data, NULL, op->data, op->len,
							      op->tag, op->aad, op->aad_len,
							      op->nonce, &ks->sodium_gcm) == 0 ? 0 : -1;
}

/* ChaCha20-Poly1305, IETF variant (RFC 8439), as ESP uses it (RFC 7634). */
static int raw_key_init(union esp_key_state *ks, const uint8_t key[ESP_KEY_LEN])
{
	memcpy(ks->raw, key, ESP_KEY_LEN);
	return 0;
}

static void sodium_chacha_seal(const union esp_key_state *ks, const struct esp_aead_op *op)
{
	crypto_aead_chacha20poly1305_ietf_encrypt_detached(op->data, op->tag, NULL, op->data,
							   op->len, op->aad, op->aad_len, NULL,
							   op->nonce, ks->raw);
}

static int sodium_chacha_open(const union esp_key_state *ks, const struct esp_aead_op *op)
{
	/* libsodium verifies the tag before decrypting: data untouched on failure. */
	return crypto_aead_chacha20poly1305_ietf_decrypt_detached(op->data, NULL, op->data,
								  op->len, op->tag, op->aad,
								  op->aad_len, op->nonce,
								  ks->raw) == 0 ? 0 : -1;
}

const struct esp_aead esp_aead_sodium_gcm = {
	.backend = ESP_BACKEND_SODIUM,
	.cipher = ESP_CIPHER_AES256GCM,
	.key_init = sodium_gcm_key_init,
	.seal = sodium_gcm_seal,
	.open = sodium_gcm_open,
};

const struct esp_aead esp_aead_sodium_chacha = {
	.backend = ESP_BACKEND_SODIUM,
	.cipher = ESP_CIPHER_CHACHA20POLY1305,
	.key_init = raw_key_init,
	.seal = sodium_chacha_seal,
	.open = sodium_chacha_open,
};
