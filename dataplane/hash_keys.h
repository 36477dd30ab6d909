/* SPDX-License-Identifier: GPL-2.0-or-later */
/**
 * @file hash_keys.h
 * Key hashing and comparison for the dataplane's rte_hash tables with 4- and
 * 8-byte keys (SPI, VNI, MAC table). rte_hash has inline comparators only for
 * keys of 16 bytes and more and calls memcmp() for the rest; a plain integer
 * compare, set with rte_hash_set_cmp_func(), saves the library call on every
 * lookup (perf: memcmp was ~2.5 % of a 64-byte decap run). The hash functions
 * give exactly rte_hash_crc()'s value for their key length, one CRC32C step
 * instead of its generic loop over 8-, 4-, 2- and 1-byte pieces (perf:
 * rte_hash_crc was ~2 % of a 64-byte encap run, two lookups per frame).
 */
#ifndef ISTHMUS_HASH_KEYS_H
#define ISTHMUS_HASH_KEYS_H

#include <stdint.h>
#include <string.h>

#include <rte_hash.h>
#include <rte_hash_crc.h>

/** rte_hash_function for 4-byte keys: rte_hash_crc(key, 4, init). */
static inline uint32_t hash_key_crc32(const void *key, uint32_t len, uint32_t init)
{
	uint32_t x;

	(void)len;
	memcpy(&x, key, sizeof(x));
	return rte_hash_crc_4byte(x, init);
}

/** rte_hash_function for 8-byte keys: rte_hash_crc(key, 8, init). */
static inline uint32_t hash_key_crc64(const void *key, uint32_t len, uint32_t init)
{
	uint64_t x;

	(void)len;
	memcpy(&x, key, sizeof(x));
	return rte_hash_crc_8byte(x, init);
}

/** rte_hash_cmp_eq_t for 4-byte keys: 0 when equal, like memcmp. */
static inline int hash_key_cmp32(const void *a, const void *b, size_t len)
{
	uint32_t x, y;

	(void)len;
	memcpy(&x, a, sizeof(x));
	memcpy(&y, b, sizeof(y));
	return x != y;
}

/** rte_hash_cmp_eq_t for 8-byte keys: 0 when equal, like memcmp. */
static inline int hash_key_cmp64(const void *a, const void *b, size_t len)
{
	uint64_t x, y;

	(void)len;
	memcpy(&x, a, sizeof(x));
	memcpy(&y, b, sizeof(y));
	return x != y;
}

/**
 * rte_hash_lookup_bulk_data() with one probe per run of equal consecutive
 * keys: bursts are mostly a few flows (one SA from one peer worker; a TCP
 * transfer is one MAC pair), so the probes a burst needs are usually far
 * fewer than its packets, while a burst of all-different keys pays one
 * compare per key (isthmus-bench dp's 64 MAC pairs: no measurable change).
 *
 * @param keys  @p n keys of @p key_len bytes each, back to back
 * @param n     at most RTE_HASH_LOOKUP_BULK_MAX
 * @param out   out[i]: the data stored with keys[i], or NULL if not found
 */
static inline void hash_lookup_runs(const struct rte_hash *h, const void *keys, size_t key_len,
				    uint32_t n, void **out)
{
	const uint8_t *k = keys;
	const void *probe[RTE_HASH_LOOKUP_BULK_MAX];
	void *data[RTE_HASH_LOOKUP_BULK_MAX];
	uint8_t run[RTE_HASH_LOOKUP_BULK_MAX];
	uint64_t hits = 0;
	uint32_t u = 0;

	for (uint32_t i = 0; i < n; i++) {
		/* a constant key_len (4, 8) makes this memcmp one integer compare */
		if (i == 0 || memcmp(k + i * key_len, k + (i - 1) * key_len, key_len) != 0)
			probe[u++] = k + i * key_len;
		run[i] = (uint8_t)(u - 1);
	}
	if (u > 0)
		rte_hash_lookup_bulk_data(h, probe, u, &hits, data);
	for (uint32_t i = 0; i < n; i++)
		out[i] = (hits >> run[i]) & 1 ? data[run[i]] : NULL;
}

#endif
