/* SPDX-License-Identifier: GPL-2.0-or-later */
/**
 * @file esp_internal.h
 * The SA object shared by esp_sa.c, esp_seal.c and esp_open.c.
 */
#ifndef ISTHMUS_CRYPTO_ESP_INTERNAL_H
#define ISTHMUS_CRYPTO_ESP_INTERNAL_H

#include <stdatomic.h>
#include <string.h>

#include "backend.h"
#include "esp.h"
#include "replay.h"

/** Packets handled per backend call; bounds the on-stack op arrays. */
#define ESP_CHUNK 32

/** esp_sa_stats as the owning thread writes it and others read it. */
struct esp_sa_counters {
	_Atomic uint64_t packets;
	_Atomic uint64_t bytes;
	_Atomic uint64_t errors[ESP_STATUS_MAX];
	_Atomic uint64_t seq;
};

struct esp_sa {
	/* Key schedule first: 64-byte aligned, and the page-aligned allocation
	 * holding it is mlocked (esp_sa_create) so it does not reach swap. */
	union esp_key_state ks;
	uint8_t salt[ESP_SALT_LEN];
	uint8_t spi_be[4];           /**< SPI as on the wire */
	uint32_t spi;
	const struct esp_aead *aead;
	enum esp_dir dir;
	enum esp_cipher cipher;
	bool esn;
	bool locked;                 /**< sodium_mlock succeeded */
	size_t alloc_len;
	uint64_t seq;                /**< outbound: last sequence number used */
	struct esp_sa_counters st;   /**< written by the owning thread only */
	struct replay rp;            /**< inbound */
};

/* Counters are read by other threads (esp_sa_get_stats): relaxed atomics,
 * which on x86-64 are plain 64-bit moves, keep those reads tear-free. One
 * writer, so a load and a store, not a read-modify-write. */
static inline void esp_stat_add(_Atomic uint64_t *c, uint64_t v)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + v,
			      memory_order_relaxed);
}

static inline void esp_stat_set(_Atomic uint64_t *c, uint64_t v)
{
	atomic_store_explicit(c, v, memory_order_relaxed);
}

static inline void esp_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline uint32_t esp_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/**
 * AAD per RFC 4106 section 5 / RFC 7634 section 2.1: SPI || seq low, or with
 * ESN SPI || seq high || seq low (the high half is never on the wire).
 * Returns the AAD length.
 */
static inline uint32_t esp_build_aad(uint8_t aad[ESP_AAD_MAX], const uint8_t spi_be[4],
				     bool esn, uint64_t seq)
{
	memcpy(aad, spi_be, 4);
	if (esn) {
		esp_put32(aad + 4, (uint32_t)(seq >> 32));
		esp_put32(aad + 8, (uint32_t)seq);
		return 12;
	}
	esp_put32(aad + 4, (uint32_t)seq);
	return 8;
}

#endif
