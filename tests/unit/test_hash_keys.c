/*
 * test_hash_keys.c: dataplane/hash_keys.h against DPDK's own functions. The
 * rte_hash tables of the dataplane (SPI, VNI, MAC table) hash and compare
 * their 4- and 8-byte keys with these helpers; they must give exactly what
 * rte_hash_crc() and memcmp() give, for any key and any initial value, or a
 * table would still work but with a different hash than documented, and a
 * wrong compare would find the wrong SA or MAC.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

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

int main(void)
{
	Suite *s = suite_create("hash_keys");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_crc_equals_rte_hash_crc);
	tcase_add_test(tc, test_cmp_is_memcmp_equality);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
