/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * crypto/: the two backends are interchangeable. For random keys, SPIs and
 * starting sequence numbers (ESN on and off), every payload size 0..300 and a
 * spread up to 9000: ipsec-mb and libsodium seal to byte-identical packets,
 * and each opens what the other sealed. libsodium is the reference.
 */
#include "check_main.h"
#include "esp_testutil.h"

#define MAXPAY 9000
#define ROOM (MAXPAY + ESP_MAX_OVERHEAD)

static uint32_t sizes[400];
static int nsizes;

static void make_sizes(void)
{
	nsizes = 0;
	for (uint32_t s = 0; s <= 300; s++)
		sizes[nsizes++] = s;
	/* A spread with odd steps (all residues mod 4 and 16), and the edges the
	 * dataplane cares about (MTU-sized frames, jumbo). */
	for (uint32_t s = 301; s < MAXPAY; s += 97)
		sizes[nsizes++] = s;
	sizes[nsizes++] = 1399;
	sizes[nsizes++] = 1400;
	sizes[nsizes++] = 1401;
	sizes[nsizes++] = 4095;
	sizes[nsizes++] = 4096;
	sizes[nsizes++] = 8999;
	sizes[nsizes++] = MAXPAY;
}

START_TEST(equivalence)
{
	enum esp_cipher c = (enum esp_cipher)(_i % 2);
	bool esn = (_i / 2) % 2;
	uint8_t keymat[ESP_KEYMAT_LEN];
	uint32_t spi;
	uint64_t initial;
	struct tu_pair so, mb; /* libsodium, ipsec-mb */
	static uint8_t pay[MAXPAY], a[ROOM], b[ROOM];
	struct esp_sa_stats st;

	if (tu_nbackends() < 2)
		return; /* nothing to compare against on this CPU */
	randombytes_buf(keymat, sizeof(keymat));
	do
		spi = randombytes_random();
	while (spi == 0);
	/* Leave room for the packets below before the no-wrap limit. */
	initial = esn ? ((uint64_t)randombytes_random() << 32 | randombytes_random()) % (UINT64_MAX - 1000)
		      : randombytes_uniform(UINT32_MAX - 1000);
	so = tu_pair(ESP_BACKEND_SODIUM, c, spi, keymat, esn, 4096, initial);
	mb = tu_pair(ESP_BACKEND_IPSECMB, c, spi, keymat, esn, 4096, initial);
	ck_assert_int_eq(esp_sa_backend(so.out), ESP_BACKEND_SODIUM);
	ck_assert_int_eq(esp_sa_backend(mb.out), ESP_BACKEND_IPSECMB);

	for (int k = 0; k < nsizes; k++) {
		uint32_t len = sizes[k], la, lb;

		randombytes_buf(pay, len);
		la = tu_seal1(so.out, a, ROOM, pay, len, ESP_OK);
		lb = tu_seal1(mb.out, b, ROOM, pay, len, ESP_OK);
		ck_assert_uint_eq(la, lb);
		ck_assert_msg(memcmp(a, b, la) == 0, "%s esn=%d len %u: sealed packets differ",
			      esp_cipher_name(c), esn, len);
		/* Cross-open: ipsec-mb opens libsodium's packet and vice versa. */
		ck_assert_uint_eq(tu_open_eq(mb.in, a, la, pay, len).seq, initial + 1 + (uint64_t)k);
		tu_open_eq(so.in, b, lb, pay, len);
	}
	esp_sa_get_stats(mb.in, &st);
	ck_assert_uint_eq(st.packets, (uint64_t)nsizes);
	ck_assert_uint_eq(st.seq, initial + (uint64_t)nsizes);
	tu_pair_destroy(&so);
	tu_pair_destroy(&mb);
}
END_TEST

Suite *test_suite(void)
{
	Suite *s = suite_create("esp_cross");
	TCase *tc = tcase_create("cross");

	if (esp_crypto_init() != 0)
		return NULL;
	make_sizes();
	tcase_set_timeout(tc, 60);
	/* cipher x ESN, each twice with fresh random keys, SPIs and counters */
	tcase_add_loop_test(tc, equivalence, 0, 8);
	suite_add_tcase(s, tc);
	return s;
}
