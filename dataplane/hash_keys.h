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

#endif
