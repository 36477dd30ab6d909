/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_hash_keys.c: dataplane/hash_keys.h against DPDK's own functions. The
 * rte_hash tables of the dataplane (SPI, VNI, MAC table) hash and compare
 * their 4- and 8-byte keys with these helpers; they must give exactly what
 * rte_hash_crc() and memcmp() give, for any key and any initial value, or a
 * table would still work but with a different hash than documented, and a
 * wrong compare would find the wrong SA or MAC. hash_lookup_runs() (one probe
 * per run of equal keys) must answer every key of a burst exactly as a
 * lookup of that key alone would, on a real rte_hash (EAL without hugepages).
 */
#include "check_main.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>

#include "hash_keys.h"

#define ROUNDS 200000

static uint64_t rnd64(void)
{
	return (uint64_t)random() << 42 ^ (uint64_t)random() << 21 ^ (uint64_t)random();
}

START_TEST(test_crc_equals_rte_hash_crc)
{
	/* unaligned keys too: the tables pass keys that live in packets */
	uint8_t buf[16];

	srandom(1);
	for (int i = 0; i < ROUNDS; i++) {
		uint64_t k = rnd64();
		uint32_t init = (uint32_t)random();
		unsigned off = (unsigned)i % 8;

		memcpy(buf + off, &k, sizeof(k));
		ck_assert_uint_eq(hash_key_crc64(buf + off, 8, init), rte_hash_crc(buf + off, 8, init));
		ck_assert_uint_eq(hash_key_crc32(buf + off, 4, init), rte_hash_crc(buf + off, 4, init));
	}
	/* and they are not constant: different keys, different hashes (mostly) */
	ck_assert_uint_ne(hash_key_crc64(&(uint64_t){ 1 }, 8, 0), hash_key_crc64(&(uint64_t){ 2 }, 8, 0));
	ck_assert_uint_ne(hash_key_crc32(&(uint32_t){ 1 }, 4, 0), hash_key_crc32(&(uint32_t){ 2 }, 4, 0));
}
END_TEST

START_TEST(test_cmp_is_memcmp_equality)
{
	srandom(2);
	for (int i = 0; i < ROUNDS; i++) {
		uint64_t a = rnd64(), b = a;
		uint32_t a4, b4;

		/* half equal, half differing in one random bit (the hardest case) */
		if (i & 1)
			b ^= 1ull << (random() % 64);
		a4 = (uint32_t)a;
		b4 = (uint32_t)b;
		ck_assert_int_eq(hash_key_cmp64(&a, &b, 8) == 0, memcmp(&a, &b, 8) == 0);
		ck_assert_int_eq(hash_key_cmp32(&a4, &b4, 4) == 0, memcmp(&a4, &b4, 4) == 0);
	}
}
END_TEST

/* Data stored with key k: never NULL, distinct per key. */
#define DATA_OF(k) ((void *)(uintptr_t)((k) * 16 + 8))
#define NKEYS 100       /* keys 0..NKEYS-1 are in the table */
#define KEY_SPACE 150   /* bursts draw from 0..KEY_SPACE-1: a third are misses */

static struct rte_hash *table(const char *name, uint32_t key_len)
{
	struct rte_hash_parameters hp = {
		.name = name,
		.entries = 256,
		.key_len = key_len,
		.hash_func = key_len == 8 ? hash_key_crc64 : hash_key_crc32,
		.socket_id = SOCKET_ID_ANY,
	};
	struct rte_hash *h = rte_hash_create(&hp);

	ck_assert_ptr_nonnull(h);
	rte_hash_set_cmp_func(h, key_len == 8 ? hash_key_cmp64 : hash_key_cmp32);
	return h;
}

/* One burst of @p n keys: each repeats the one before (a run) or is drawn anew. */
static void burst_keys(uint64_t *k64, uint32_t *k32, unsigned n, int repeat_pct)
{
	for (unsigned i = 0; i < n; i++) {
		uint64_t k = (i > 0 && (int)(random() % 100) < repeat_pct) ? k64[i - 1]
									  : (uint64_t)(random() % KEY_SPACE);

		k64[i] = k;
		k32[i] = (uint32_t)k;
	}
}

START_TEST(test_lookup_runs_answers_like_single_lookups)
{
	char prefix[64];
	struct rte_hash *h8, *h4;
	uint64_t k64[RTE_HASH_LOOKUP_BULK_MAX];
	uint32_t k32[RTE_HASH_LOOKUP_BULK_MAX];
	void *out[RTE_HASH_LOOKUP_BULK_MAX];
	unsigned checked = 0, hits = 0;

	snprintf(prefix, sizeof(prefix), "--file-prefix=isthmus-hk-%d", (int)getpid());
	char *argv[] = { "test_hash_keys", "--no-huge", "--no-pci", "-m", "64", prefix,
			 "--log-level=lib.eal:error" };
	ck_assert_int_ge(rte_eal_init(sizeof(argv) / sizeof(argv[0]), argv), 0);
	h8 = table("hk8", 8);
	h4 = table("hk4", 4);
	for (uint64_t k = 0; k < NKEYS; k++) {
		uint32_t k4 = (uint32_t)k;

		ck_assert_int_eq(rte_hash_add_key_data(h8, &k, DATA_OF(k)), 0);
		ck_assert_int_eq(rte_hash_add_key_data(h4, &k4, DATA_OF(k)), 0);
	}
	srandom(3);
	for (int round = 0; round < 20000; round++) {
		/* sizes 0..64, the edges often; runs from none to nearly all */
		unsigned n = round % 7 == 0 ? RTE_HASH_LOOKUP_BULK_MAX
					    : (unsigned)(random() % (RTE_HASH_LOOKUP_BULK_MAX + 1));
		int repeat_pct = (int)(round % 5) * 25;   /* 0, 25, 50, 75, 100 */

		burst_keys(k64, k32, n, repeat_pct);
		hash_lookup_runs(h8, k64, sizeof(k64[0]), n, out);
		for (unsigned i = 0; i < n; i++) {
			void *d = NULL;
			void *want = rte_hash_lookup_data(h8, &k64[i], &d) >= 0 ? d : NULL;

			ck_assert_ptr_eq(out[i], want);
			ck_assert_ptr_eq(out[i], k64[i] < NKEYS ? DATA_OF(k64[i]) : NULL);
			hits += out[i] != NULL;
			checked++;
		}
		hash_lookup_runs(h4, k32, sizeof(k32[0]), n, out);
		for (unsigned i = 0; i < n; i++)
			ck_assert_ptr_eq(out[i], k32[i] < NKEYS ? DATA_OF(k32[i]) : NULL);
	}
	/* the draw really mixed hits and misses */
	ck_assert_uint_gt(hits, checked / 2);
	ck_assert_uint_lt(hits, checked);
	/* a whole burst of one key, and a whole burst of different keys */
	for (unsigned i = 0; i < RTE_HASH_LOOKUP_BULK_MAX; i++)
		k64[i] = 42;
	hash_lookup_runs(h8, k64, sizeof(k64[0]), RTE_HASH_LOOKUP_BULK_MAX, out);
	for (unsigned i = 0; i < RTE_HASH_LOOKUP_BULK_MAX; i++)
		ck_assert_ptr_eq(out[i], DATA_OF(42));
	for (unsigned i = 0; i < RTE_HASH_LOOKUP_BULK_MAX; i++)
		k64[i] = i * 2;   /* 0..126: the upper ones missing */
	hash_lookup_runs(h8, k64, sizeof(k64[0]), RTE_HASH_LOOKUP_BULK_MAX, out);
	for (unsigned i = 0; i < RTE_HASH_LOOKUP_BULK_MAX; i++)
		ck_assert_ptr_eq(out[i], k64[i] < NKEYS ? DATA_OF(k64[i]) : NULL);
	rte_hash_free(h8);
	rte_hash_free(h4);
	rte_eal_cleanup();
}
END_TEST

Suite *test_suite(void)
{
	Suite *s = suite_create("hash_keys");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_crc_equals_rte_hash_crc);
	tcase_add_test(tc, test_cmp_is_memcmp_equality);
	tcase_add_test(tc, test_lookup_runs_answers_like_single_lookups);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}
