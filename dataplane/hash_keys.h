/**
 * @file hash_keys.h
 * Key comparison for the dataplane's rte_hash tables with 4- and 8-byte keys
 * (SPI, VNI, MAC table). rte_hash has inline comparators only for keys of 16
 * bytes and more and calls memcmp() for the rest; a plain integer compare,
 * set with rte_hash_set_cmp_func(), saves the library call on every lookup
 * (perf: memcmp was ~2.5 % of a 64-byte decap run).
 */
#ifndef ISTHMUS_HASH_KEYS_H
#define ISTHMUS_HASH_KEYS_H

#include <stdint.h>
#include <string.h>

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
