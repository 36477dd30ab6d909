/* SPDX-License-Identifier: GPL-2.0-or-later */
/**
 * @file esp_sa.c
 * SA life cycle (create, destroy, parameter checks), library init, counters,
 * and the name/parse helpers of esp.h.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "esp_internal.h"

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_result = -1;

static void crypto_init_once(void)
{
	/* sodium_init() returns 1 when already initialised by someone else. */
	if (sodium_init() < 0)
		return;
	/* The ipsec-mb manager is optional: without it, AUTO falls back to sodium. */
	(void)esp_ipsecmb_init();
	init_result = 0;
}

int esp_crypto_init(void)
{
	pthread_once(&init_once, crypto_init_once);
	return init_result;
}

bool esp_backend_available(enum esp_backend b)
{
	if (esp_crypto_init() != 0)
		return false;
	switch (b) {
	case ESP_BACKEND_AUTO:
	case ESP_BACKEND_SODIUM:
		return true;
	case ESP_BACKEND_IPSECMB:
		return esp_ipsecmb_available();
	}
	return false;
}

const struct esp_aead *esp_aead_get(enum esp_backend b, enum esp_cipher c)
{
	static const struct esp_aead *const table[][2] = {
		[ESP_BACKEND_IPSECMB] = { &esp_aead_ipsecmb_gcm, &esp_aead_ipsecmb_chacha },
		[ESP_BACKEND_SODIUM] = { &esp_aead_sodium_gcm, &esp_aead_sodium_chacha },
	};

	if ((b != ESP_BACKEND_IPSECMB && b != ESP_BACKEND_SODIUM) ||
	    (c != ESP_CIPHER_AES256GCM && c != ESP_CIPHER_CHACHA20POLY1305))
		return NULL;
	return table[b][c];
}

static void seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Checks that need no allocation; the error text never includes key bytes. */
static int params_check(const struct esp_sa_params *p, char *err, size_t errlen)
{
	if (p == NULL) {
		seterr(err, errlen, "no parameters");
		return -1;
	}
	if (p->cipher != ESP_CIPHER_AES256GCM && p->cipher != ESP_CIPHER_CHACHA20POLY1305) {
		seterr(err, errlen, "unknown cipher %d", (int)p->cipher);
		return -1;
	}
	if (p->backend != ESP_BACKEND_AUTO && p->backend != ESP_BACKEND_IPSECMB &&
	    p->backend != ESP_BACKEND_SODIUM) {
		seterr(err, errlen, "unknown backend %d", (int)p->backend);
		return -1;
	}
	if (p->dir != ESP_DIR_OUTBOUND && p->dir != ESP_DIR_INBOUND) {
		seterr(err, errlen, "unknown direction %d", (int)p->dir);
		return -1;
	}
	if (p->keymat == NULL || p->keymat_len != ESP_KEYMAT_LEN) {
		seterr(err, errlen, "key material must be %d bytes (key + salt), got %zu",
		       ESP_KEYMAT_LEN, p->keymat == NULL ? (size_t)0 : p->keymat_len);
		return -1;
	}
	/* SPI 0 is reserved and MUST NOT go on the wire (RFC 4303 section 2.1). */
	if (p->spi == 0) {
		seterr(err, errlen, "SPI 0 is reserved (RFC 4303 section 2.1)");
		return -1;
	}
	if (p->replay_window != 0 && !replay_window_valid(p->replay_window)) {
		seterr(err, errlen, "replay window %u: must be a power of two in %d..%d",
		       p->replay_window, REPLAY_WINDOW_MIN, ESP_REPLAY_WINDOW_MAX);
		return -1;
	}
	if (!p->esn && p->initial_seq > UINT32_MAX) {
		seterr(err, errlen, "initial sequence number beyond 2^32 - 1 without ESN");
		return -1;
	}
	return 0;
}

struct esp_sa *esp_sa_create(const struct esp_sa_params *p, char *err, size_t errlen)
{
	enum esp_backend b;
	const struct esp_aead *aead;
	struct esp_sa *sa;
	long page;
	size_t len;

	if (params_check(p, err, errlen) != 0)
		return NULL;
	if (esp_crypto_init() != 0) {
		seterr(err, errlen, "libsodium failed to initialise");
		return NULL;
	}
	b = p->backend;
	if (b == ESP_BACKEND_AUTO)
		b = esp_ipsecmb_available() ? ESP_BACKEND_IPSECMB : ESP_BACKEND_SODIUM;
	if (!esp_backend_available(b)) {
		seterr(err, errlen, "backend %s is not available on this CPU", esp_backend_name(b));
		return NULL;
	}
	aead = esp_aead_get(b, p->cipher);

	/*
	 * Page-aligned and page-sized, so that locking it and later unlocking it
	 * never touches a page that holds another allocation (munlock is per page).
	 */
	page = sysconf(_SC_PAGESIZE);
	if (page <= 0)
		page = 4096;
	len = (sizeof(*sa) + (size_t)page - 1) & ~((size_t)page - 1);
	if (posix_memalign((void **)&sa, (size_t)page, len) != 0) {
		seterr(err, errlen, "out of memory");
		return NULL;
	}
	memset(sa, 0, len);
	sa->alloc_len = len;
	/* mlock may fail under RLIMIT_MEMLOCK: keys still work, just swappable. */
	sa->locked = sodium_mlock(sa, len) == 0;

	if (aead->key_init(&sa->ks, p->keymat) != 0) {
		esp_sa_destroy(sa);
		seterr(err, errlen, "%s %s cannot run on this CPU", esp_backend_name(b),
		       esp_cipher_name(p->cipher));
		return NULL;
	}
	memcpy(sa->salt, p->keymat + ESP_KEY_LEN, ESP_SALT_LEN);
	sa->spi = p->spi;
	esp_put32(sa->spi_be, p->spi);
	sa->aead = aead;
	sa->dir = p->dir;
	sa->cipher = p->cipher;
	sa->esn = p->esn;
	sa->seq = p->initial_seq;
	if (p->dir == ESP_DIR_INBOUND)
		replay_init(&sa->rp, p->replay_window ? p->replay_window : ESP_REPLAY_WINDOW_DEFAULT,
			    p->initial_seq);
	esp_stat_set(&sa->st.seq, p->initial_seq);
	return sa;
}

void esp_sa_destroy(struct esp_sa *sa)
{
	size_t len;

	if (sa == NULL)
		return;
	len = sa->alloc_len;
	/* Wipes the key schedule of whichever backend, the salt and the window. */
	if (sa->locked)
		sodium_munlock(sa, len); /* zeroes, then unlocks */
	else
		sodium_memzero(sa, len);
	free(sa);
}

void esp_sa_get_stats(const struct esp_sa *sa, struct esp_sa_stats *st)
{
	st->packets = atomic_load_explicit(&sa->st.packets, memory_order_relaxed);
	st->bytes = atomic_load_explicit(&sa->st.bytes, memory_order_relaxed);
	for (int i = 0; i < ESP_STATUS_MAX; i++)
		st->errors[i] = atomic_load_explicit(&sa->st.errors[i], memory_order_relaxed);
	st->seq = atomic_load_explicit(&sa->st.seq, memory_order_relaxed);
}

uint32_t esp_sa_spi(const struct esp_sa *sa)
{
	return sa->spi;
}

enum esp_backend esp_sa_backend(const struct esp_sa *sa)
{
	return sa->aead->backend;
}

const char *esp_status_name(enum esp_status s)
{
	static const char *const names[ESP_STATUS_MAX] = {
		[ESP_OK] = "ok",
		[ESP_ERR_LENGTH] = "length",
		[ESP_ERR_NO_ROOM] = "no-room",
		[ESP_ERR_SPI] = "spi",
		[ESP_ERR_REPLAYED] = "replayed",
		[ESP_ERR_TOO_OLD] = "too-old",
		[ESP_ERR_ICV] = "icv",
		[ESP_ERR_PADDING] = "padding",
		[ESP_ERR_SA_EXPIRED] = "sa-expired",
	};

	if ((unsigned)s >= ESP_STATUS_MAX)
		return "unknown";
	return names[s];
}

const char *esp_cipher_name(enum esp_cipher c)
{
	switch (c) {
	case ESP_CIPHER_AES256GCM:
		return "aes256gcm";
	case ESP_CIPHER_CHACHA20POLY1305:
		return "chacha20poly1305";
	}
	return "unknown";
}

const char *esp_backend_name(enum esp_backend b)
{
	switch (b) {
	case ESP_BACKEND_AUTO:
		return "auto";
	case ESP_BACKEND_IPSECMB:
		return "ipsec-mb";
	case ESP_BACKEND_SODIUM:
		return "sodium";
	}
	return "unknown";
}

int esp_cipher_parse(const char *s, enum esp_cipher *c)
{
	static const enum esp_cipher all[] = { ESP_CIPHER_AES256GCM, ESP_CIPHER_CHACHA20POLY1305 };

	if (s == NULL)
		return -1;
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		if (strcmp(s, esp_cipher_name(all[i])) == 0) {
			*c = all[i];
			return 0;
		}
	}
	return -1;
}

int esp_backend_parse(const char *s, enum esp_backend *b)
{
	static const enum esp_backend all[] = { ESP_BACKEND_AUTO, ESP_BACKEND_IPSECMB,
						ESP_BACKEND_SODIUM };

	if (s == NULL)
		return -1;
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		if (strcmp(s, esp_backend_name(all[i])) == 0) {
			*b = all[i];
			return 0;
		}
	}
	return -1;
}
