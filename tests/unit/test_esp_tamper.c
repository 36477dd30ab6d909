/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * crypto/: tampering. Every single-bit flip of SPI, sequence number, IV,
 * ciphertext (payload and trailer) and ICV is refused, each with its reason,
 * on both backends and both ciphers, ESN on and off; truncation and bad
 * trailers too; and none of those moves the replay window.
 */
#include "check_main.h"
#include "esp_testutil.h"
#include "esp_internal.h"

#define PAYLEN 37 /* leaves 1 byte of padding: trailer bytes are covered too */

START_TEST(bitflips)
{
	enum esp_backend be = tu_backend(_i / 4);
	enum esp_cipher c = (enum esp_cipher)(_i % 2);
	bool esn = (_i / 2) % 2;
	const uint64_t base = esn ? UINT64_C(5) << 32 : 0;
	uint8_t keymat[ESP_KEYMAT_LEN], pay[PAYLEN], pkt[128], t[128];
	struct tu_pair pair;
	struct esp_sa_stats st;
	uint64_t want[ESP_STATUS_MAX] = { 0 };
	uint32_t len;
	struct esp_pkt got;

	randombytes_buf(keymat, sizeof(keymat));
	randombytes_buf(pay, sizeof(pay));
	/* The receiver has seen up to base + 100; the packet is base + 101. */
	pair = tu_pair(be, c, 0x0badcafe, keymat, esn, 0, base + 100);
	len = tu_seal1(pair.out, pkt, sizeof(pkt), pay, PAYLEN, ESP_OK);
	ck_assert_uint_eq(len, ESP_PAYLOAD_OFF + PAYLEN + 1 + 2 + ESP_ICV_LEN);

	for (uint32_t bit = 0; bit < len * 8; bit++) {
		uint32_t byte = bit / 8;
		enum esp_status exp, st1;

		memcpy(t, pkt, len);
		t[byte] ^= (uint8_t)(1u << (bit % 8));
		if (byte < 4) {
			exp = ESP_ERR_SPI;
		} else if (byte < 8) {
			/* A lower number is already seen (the receiver's window holds
			 * everything up to base + 100); a higher one passes the cheap
			 * check and fails the ICV, since the AAD covers it. */
			exp = esp_get32(t + 4) < 101 ? ESP_ERR_REPLAYED : ESP_ERR_ICV;
		} else {
			exp = ESP_ERR_ICV; /* IV (nonce), ciphertext, ICV */
		}
		st1 = tu_open1(pair.in, t, len, NULL);
		ck_assert_msg(st1 == exp, "%s/%s esn=%d bit %u (byte %u): got %s, want %s",
			      esp_backend_name(be), esp_cipher_name(c), esn, bit, byte,
			      esp_status_name(st1), esp_status_name(exp));
		want[exp]++;
	}
	esp_sa_get_stats(pair.in, &st);
	ck_assert_uint_eq(st.packets, 0);
	for (int s = 1; s < ESP_STATUS_MAX; s++)
		ck_assert_uint_eq(st.errors[s], want[s]);
	ck_assert_uint_eq(want[ESP_ERR_SPI], 32);
	ck_assert_uint_ge(want[ESP_ERR_ICV], (len - 8) * 8);

	/* None of that moved the window: the genuine packet still opens. */
	got = tu_open_eq(pair.in, pkt, len, pay, PAYLEN);
	ck_assert_uint_eq(got.seq, base + 101);
	tu_pair_destroy(&pair);
}
END_TEST

/* Lengths: too short, not a multiple of 4, and shifted ICV. */
START_TEST(lengths)
{
	enum esp_backend be = tu_backend(_i);
	uint8_t keymat[ESP_KEYMAT_LEN] = { 1 }, pay[40] = { 2 }, pkt[128], t[128];
	struct tu_pair pair = tu_pair(be, ESP_CIPHER_AES256GCM, 0x1234, keymat, false, 0, 0);
	uint32_t len = tu_seal1(pair.out, pkt, sizeof(pkt), pay, 40, ESP_OK);

	for (uint32_t l = 0; l < len; l++) {
		enum esp_status exp;

		memcpy(t, pkt, len);
		if (l < ESP_PAYLOAD_OFF + 4 + ESP_ICV_LEN || (l - ESP_PAYLOAD_OFF) % 4)
			exp = ESP_ERR_LENGTH;
		else
			exp = ESP_ERR_ICV;
		ck_assert_int_eq(tu_open1(pair.in, t, l, NULL), exp);
	}
	/* A NULL buffer is a length error, not a crash. */
	{
		struct esp_pkt p = { .buf = NULL, .len = 64 };

		ck_assert_uint_eq(esp_open_burst(pair.in, &p, 1), 0);
		ck_assert_uint_eq(p.status, ESP_ERR_LENGTH);
	}
	ck_assert_int_eq(tu_open1(pair.in, pkt, len, NULL), ESP_OK);
	tu_pair_destroy(&pair);
}
END_TEST

/*
 * A packet whose ICV is good but whose trailer is wrong (the peer is buggy or
 * hostile, not the network): ESP_ERR_PADDING, and the window does not move.
 * Built with the backend AEAD directly so the ICV covers the bad trailer.
 */
static uint32_t forge(enum esp_backend be, const uint8_t *keymat, uint32_t spi, uint32_t seq,
		      const uint8_t *pt, uint32_t ptlen, uint8_t *pkt)
{
	const struct esp_aead *aead = esp_aead_get(be, ESP_CIPHER_AES256GCM);
	static union esp_key_state ks;
	uint8_t nonce[12], aad[8];
	struct esp_aead_op op;

	ck_assert_int_eq(aead->key_init(&ks, keymat), 0);
	esp_put32(pkt, spi);
	esp_put32(pkt + 4, seq);
	memset(pkt + 8, 0, 4);
	esp_put32(pkt + 12, seq);
	memcpy(nonce, keymat + ESP_KEY_LEN, 4);
	memcpy(nonce + 4, pkt + 8, 8);
	memcpy(aad, pkt, 8);
	memcpy(pkt + ESP_PAYLOAD_OFF, pt, ptlen);
	op = (struct esp_aead_op){ .data = pkt + ESP_PAYLOAD_OFF, .len = ptlen, .aad = aad,
				   .aad_len = 8, .nonce = nonce,
				   .tag = pkt + ESP_PAYLOAD_OFF + ptlen };
	aead->seal(&ks, &op);
	sodium_memzero(&ks, sizeof(ks));
	return ESP_PAYLOAD_OFF + ptlen + ESP_ICV_LEN;
}

START_TEST(bad_trailer)
{
	enum esp_backend be = tu_backend(_i);
	uint8_t keymat[ESP_KEYMAT_LEN], pkt[128];
	struct esp_sa *in;
	struct esp_pkt got;
	/* payload "abcd", then a trailer: */
	static const struct {
		uint8_t pt[12];
		uint32_t len;
		enum esp_status want;
		uint32_t paylen;
	} cases[] = {
		{ { 'a', 'b', 'c', 'd', 1, 2, 2, 4 }, 8, ESP_OK, 4 },       /* default padding */
		{ { 'a', 'b', 'c', 'd', 1, 3, 2, 4 }, 8, ESP_ERR_PADDING, 0 }, /* pad byte 3 != 2 */
		{ { 'a', 'b', 'c', 'd', 0, 2, 2, 4 }, 8, ESP_ERR_PADDING, 0 }, /* pad byte 0 != 1 */
		{ { 'a', 'b', 'c', 'd', 1, 2, 7, 4 }, 8, ESP_ERR_PADDING, 0 }, /* pad length > data */
		{ { 'a', 'b', 6, 4 }, 4, ESP_ERR_PADDING, 0 },                /* 6 > 2 bytes there */
		{ { 'a', 'b', 'c', 'd', 'e', 'f', 0, 4 }, 8, ESP_OK, 6 },   /* no padding */
		/* 6 pad bytes (more than the 3 we send, as a block-size padder would) */
		{ { 'a', 'b', 'c', 'd', 1, 2, 3, 4, 5, 6, 6, 4 }, 12, ESP_OK, 4 },
	};

	randombytes_buf(keymat, sizeof(keymat));
	in = tu_sa(be, ESP_CIPHER_AES256GCM, ESP_DIR_INBOUND, 0x999, keymat, false, 0, 0);
	for (unsigned k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		uint32_t seq = 10 + k;
		uint32_t len = forge(be, keymat, 0x999, seq, cases[k].pt, cases[k].len, pkt);
		enum esp_status st = tu_open1(in, pkt, len, &got);

		ck_assert_msg(st == cases[k].want, "case %u: got %s", k, esp_status_name(st));
		if (st == ESP_OK) {
			ck_assert_uint_eq(got.len, cases[k].paylen);
			ck_assert_uint_eq(got.next_header, 4);
		} else {
			/* The window did not move: the same number, correctly
			 * padded, still opens. */
			static const uint8_t good[8] = { 'a', 'b', 'c', 'd', 1, 2, 2, 4 };

			len = forge(be, keymat, 0x999, seq, good, 8, pkt);
			ck_assert_int_eq(tu_open1(in, pkt, len, &got), ESP_OK);
		}
	}
	esp_sa_destroy(in);
}
END_TEST

Suite *test_suite(void)
{
	Suite *s = suite_create("esp_tamper");
	TCase *tc = tcase_create("tamper");

	if (esp_crypto_init() != 0)
		return NULL;
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, bitflips, 0, 4 * tu_nbackends());
	tcase_add_loop_test(tc, lengths, 0, tu_nbackends());
	tcase_add_loop_test(tc, bad_trailer, 0, tu_nbackends());
	suite_add_tcase(s, tc);
	return s;
}
