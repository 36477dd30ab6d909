/* SPDX-License-Identifier: GPL-2.0-or-later */
/**
 * @file backend_ipsecmb.c
 * intel-ipsec-mb backend (x86 fast path), using its direct (synchronous,
 * single-buffer) API, not the job API: per-packet latency is lower and the
 * manager is only a dispatch table once initialised, so one manager can be
 * shared read-only by all worker threads (the job API would need one manager
 * per thread).
 *
 * AES-256-GCM: IMB_AES256_GCM_PRE once per SA (expanded keys and GHASH key
 * powers in struct gcm_key_data), then IMB_AES256_GCM_ENC/DEC per packet.
 * ChaCha20-Poly1305: ipsec-mb 1.3 has a direct API (init / update / finalize),
 * used here; it takes the raw 32-byte key.
 */
#include <string.h>

#include "backend.h"

static IMB_MGR *mgr;
static bool mgr_usable;

int esp_ipsecmb_init(void)
{
	IMB_ARCH arch;

	/* Called once, under esp_crypto_init()'s pthread_once. */
	mgr = alloc_mb_mgr(0);
	if (mgr == NULL)
		return -1;
	init_mb_mgr_auto(mgr, &arch);
	if (imb_get_errno(mgr) != 0 || arch == IMB_ARCH_NONE) {
		free_mb_mgr(mgr);
		mgr = NULL;
		return -1;
	}
	/*
	 * ipsec-mb also runs without AES-NI (IMB_ARCH_NOAESNI, an emulation), but
	 * then it is no fast path: AUTO should pick libsodium's ChaCha or fail
	 * AES-GCM loudly instead. So "available" means AES-NI and PCLMULQDQ.
	 */
	mgr_usable = (mgr->features & (IMB_FEATURE_AESNI | IMB_FEATURE_PCLMULQDQ)) ==
		     (IMB_FEATURE_AESNI | IMB_FEATURE_PCLMULQDQ) && arch != IMB_ARCH_NOAESNI;
	return mgr_usable ? 0 : -1;
}

bool esp_ipsecmb_available(void)
{
	return mgr_usable;
}

/*
 * The received ICV against the computed one, in constant time: every byte is
 * looked at and no branch depends on where they differ (a timing oracle on
 * the tag is a forgery oracle). libsodium's crypto_verify_16 does the same
 * through a volatile byte loop and a PLT call; perf showed it at 4 % of a
 * 64-byte decap run (isthmus-bench dp), more than the rest of esp_open_burst's
 * per-packet checks. Two 64-bit XORs, ORed, then one test of the result.
 */
static inline bool tag_equal(const uint8_t a[ESP_ICV_LEN], const uint8_t b[ESP_ICV_LEN])
{
	uint64_t a0, a1, b0, b1, d;

	memcpy(&a0, a, 8);
	memcpy(&a1, a + 8, 8);
	memcpy(&b0, b, 8);
	memcpy(&b1, b + 8, 8);
	d = (a0 ^ b0) | (a1 ^ b1);
	/* keep the compiler from turning the OR into an early exit */
	__asm__("" : "+r"(d));
	return d == 0;
}

static int imb_gcm_key_init(union esp_key_state *ks, const uint8_t key[ESP_KEY_LEN])
{
	if (!mgr_usable)
		return -1;
	IMB_AES256_GCM_PRE(mgr, key, &ks->imb_gcm);
	return 0;
}

static void imb_gcm_seal(const union esp_key_state *ks, const struct esp_aead_op *op)
{
	/* Per-call context: GHASH state and counter block, no long-term key. */
	struct gcm_context_data ctx;

	IMB_AES256_GCM_ENC(mgr, &ks->imb_gcm, &ctx, op->data, op->data, op->len, op->nonce,
			   op->aad, op->aad_len, op->tag, ESP_ICV_LEN);
}

static int imb_gcm_open(const union esp_key_state *ks, const struct esp_aead_op *op)
{
	struct gcm_context_data ctx;
	uint8_t tag[ESP_ICV_LEN];

	/* GCM decrypts and authenticates in one pass, so the plaintext exists
	 * before we know whether it is authentic: wipe it if it is not, like
	 * libsodium does, so no caller can use unauthenticated data. */
	IMB_AES256_GCM_DEC(mgr, &ks->imb_gcm, &ctx, op->data, op->data, op->len, op->nonce,
			   op->aad, op->aad_len, tag, ESP_ICV_LEN);
	if (!tag_equal(tag, op->tag)) {
		sodium_memzero(op->data, op->len);
		return -1;
	}
	return 0;
}

static int imb_raw_key_init(union esp_key_state *ks, const uint8_t key[ESP_KEY_LEN])
{
	if (!mgr_usable)
		return -1;
	memcpy(ks->raw, key, ESP_KEY_LEN);
	return 0;
}

static void imb_chacha_seal(const union esp_key_state *ks, const struct esp_aead_op *op)
{
	struct chacha20_poly1305_context_data ctx;

	IMB_CHACHA20_POLY1305_INIT(mgr, ks->raw, &ctx, op->nonce, op->aad, op->aad_len);
	IMB_CHACHA20_POLY1305_ENC_UPDATE(mgr, ks->raw, &ctx, op->data, op->data, op->len);
	IMB_CHACHA20_POLY1305_ENC_FINALIZE(mgr, &ctx, op->tag, ESP_ICV_LEN);
	/* The context holds the one-time Poly1305 key and leftover keystream. */
	sodium_memzero(&ctx, sizeof(ctx));
}

static int imb_chacha_open(const union esp_key_state *ks, const struct esp_aead_op *op)
{
	struct chacha20_poly1305_context_data ctx;
	uint8_t tag[ESP_ICV_LEN];
	int rc = 0;

	IMB_CHACHA20_POLY1305_INIT(mgr, ks->raw, &ctx, op->nonce, op->aad, op->aad_len);
	IMB_CHACHA20_POLY1305_DEC_UPDATE(mgr, ks->raw, &ctx, op->data, op->data, op->len);
	IMB_CHACHA20_POLY1305_DEC_FINALIZE(mgr, &ctx, tag, ESP_ICV_LEN);
	sodium_memzero(&ctx, sizeof(ctx));
	if (!tag_equal(tag, op->tag)) {
		sodium_memzero(op->data, op->len);
		rc = -1;
	}
	return rc;
}

const struct esp_aead esp_aead_ipsecmb_gcm = {
	.backend = ESP_BACKEND_IPSECMB,
	.cipher = ESP_CIPHER_AES256GCM,
	.key_init = imb_gcm_key_init,
	.seal = imb_gcm_seal,
	.open = imb_gcm_open,
};

const struct esp_aead esp_aead_ipsecmb_chacha = {
	.backend = ESP_BACKEND_IPSECMB,
	.cipher = ESP_CIPHER_CHACHA20POLY1305,
	.key_init = imb_raw_key_init,
	.seal = imb_chacha_seal,
	.open = imb_chacha_open,
};
