/* SPDX-License-Identifier: GPL-2.0-or-later */
/**
 * @file backend.h
 * Internal AEAD backend interface of the crypto library (not installed, not
 * part of esp.h). One table per (backend, cipher) pair: the ESP layer builds
 * nonce, AAD and the in-place buffer, the backend only runs the AEAD. Keeping
 * the ESP framing out of the backends is what lets the cross-backend tests
 * compare them byte for byte, and lets the benchmark time the cipher alone.
 */
#ifndef ISTHMUS_CRYPTO_BACKEND_H
#define ISTHMUS_CRYPTO_BACKEND_H

#include <stdint.h>
#include <sodium.h>
#include <intel-ipsec-mb.h>

#include "esp.h"

#define ESP_NONCE_LEN 12 /**< salt (4) || IV (8), RFC 4106 section 4, RFC 7634 section 2 */
#define ESP_AAD_MAX 12   /**< SPI || seq high || seq low with ESN (RFC 4106 section 5) */

/**
 * Long-term key state of one SA, whatever the backend. Kept in one union so
 * that esp_sa_destroy() wipes every backend's key schedule with one
 * sodium_memzero() without knowing which backend filled it.
 */
union esp_key_state {
	crypto_aead_aes256gcm_state sodium_gcm; /**< libsodium beforenm state */
	struct gcm_key_data imb_gcm;            /**< ipsec-mb expanded keys + GHASH powers */
	uint8_t raw[ESP_KEY_LEN];               /**< ChaCha20 (both backends use the key as is) */
} __attribute__((aligned(64)));

/** One AEAD operation, in place. */
struct esp_aead_op {
	uint8_t *data;       /**< plaintext in / ciphertext out, or the reverse */
	uint32_t len;        /**< bytes at data */
	const uint8_t *aad;  /**< additional authenticated data */
	uint32_t aad_len;    /**< 8, or 12 with ESN */
	const uint8_t *nonce;/**< ESP_NONCE_LEN bytes */
	uint8_t *tag;        /**< ESP_ICV_LEN bytes: written by seal, checked by open */
};

/** An AEAD implementation (one backend, one cipher). */
struct esp_aead {
	enum esp_backend backend;
	enum esp_cipher cipher;
	/** Expand @p key into @p ks. Returns 0, or -1 if this CPU cannot run it. */
	int (*key_init)(union esp_key_state *ks, const uint8_t key[ESP_KEY_LEN]);
	/** Encrypt op->data in place and write the tag. */
	void (*seal)(const union esp_key_state *ks, const struct esp_aead_op *op);
	/**
	 * Verify the tag and decrypt in place. Returns 0 on a good tag, -1
	 * otherwise; on -1 the content of op->data is unspecified but never
	 * unauthenticated plaintext (it is left as is, or zeroed).
	 */
	int (*open)(const union esp_key_state *ks, const struct esp_aead_op *op);
};

/** The AEAD for a concrete backend (not AUTO) and cipher, or NULL. */
const struct esp_aead *esp_aead_get(enum esp_backend b, enum esp_cipher c);

/* Per-backend entry points, used by esp_aead_get() and esp_crypto_init(). */
extern const struct esp_aead esp_aead_sodium_gcm, esp_aead_sodium_chacha;
extern const struct esp_aead esp_aead_ipsecmb_gcm, esp_aead_ipsecmb_chacha;
/** Allocate and initialise the ipsec-mb manager; 0 if usable on this CPU. */
int esp_ipsecmb_init(void);
/** Whether esp_ipsecmb_init() found a CPU the fast path is meant for. */
bool esp_ipsecmb_available(void);

#endif
