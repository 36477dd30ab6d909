/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * crypto/: published ESP test vectors, reproduced by both backends.
 *
 * For each vector: (1) the backend AEAD, given the published nonce and AAD,
 * must produce the published ciphertext and ICV byte for byte; (2) the whole
 * published ESP packet must open through esp_open_burst() (SPI, ESN inference,
 * replay, ICV, trailer) to the published plaintext; (3) the same packet with
 * one ICV bit flipped must be refused. The ESP seal path cannot replay these
 * packets byte for byte because it always uses IV = sequence number (the
 * vectors use arbitrary IVs); step (1) covers sealing.
 */
#include "check_main.h"
#include "esp_testutil.h"
#include "esp_internal.h"

struct vector {
	const char *name;
	enum esp_cipher cipher;
	const char *key;   /* 32-byte key */
	const char *salt;  /* 4-byte salt (first 4 bytes of the nonce) */
	uint32_t spi;
	bool esn;
	uint64_t seq;      /* full (extended) sequence number */
	const char *iv;    /* 8 bytes, as on the wire */
	const char *aad;   /* as published, to check our AAD construction */
	const char *pt;    /* plaintext incl. ESP trailer (padding, pad length, next header) */
	const char *ct;    /* ciphertext followed by the 16-byte ICV */
};

static const struct vector vectors[] = {
	/*
	 * RFC 7634 Appendix B, "ESP Example": ChaCha20-Poly1305 in ESP, an
	 * IPv4 ICMP echo request in tunnel mode (next header 4).
	 */
	{
		.name = "rfc7634-appB",
		.cipher = ESP_CIPHER_CHACHA20POLY1305,
		.key = "80 81 82 83 84 85 86 87 88 89 8a 8b 8c 8d 8e 8f"
		       "90 91 92 93 94 95 96 97 98 99 9a 9b 9c 9d 9e 9f",
		.salt = "a0 a1 a2 a3",
		.spi = 0x01020304, .esn = false, .seq = 5,
		.iv = "10 11 12 13 14 15 16 17",
		.aad = "01 02 03 04 00 00 00 05",
		.pt = "45 00 00 54 a6 f2 00 00 40 01 e7 78 c6 33 64 05"
		      "c0 00 02 05 08 00 5b 7a 3a 08 00 00 55 3b ec 10"
		      "00 07 36 27 08 09 0a 0b 0c 0d 0e 0f 10 11 12 13"
		      "14 15 16 17 18 19 1a 1b 1c 1d 1e 1f 20 21 22 23"
		      "24 25 26 27 28 29 2a 2b 2c 2d 2e 2f 30 31 32 33"
		      "34 35 36 37 01 02 02 04",
		.ct = "24 03 94 28 b9 7f 41 7e 3c 13 75 3a 4f 05 08 7b"
		      "67 c3 52 e6 a7 fa b1 b9 82 d4 66 ef 40 7a e5 c6"
		      "14 ee 80 99 d5 28 44 eb 61 aa 95 df ab 4c 02 f7"
		      "2a a7 1e 7c 4c 4f 64 c9 be fe 2f ac c6 38 e8 f3"
		      "cb ec 16 3f ac 46 9b 50 27 73 f6 fb 94 e6 64 da"
		      "91 65 b8 28 29 f6 41 e0"
		      "76 aa a8 26 6b 7f b0 f7 b1 1b 36 99 07 e1 ad 43",
	},
	/*
	 * draft-mcgrew-gcm-test-01 section 4 (AES-GCM in ESP, RFC 4106), the
	 * test cases with a 256-bit key. Test case 3: 32-bit sequence number.
	 */
	{
		.name = "mcgrew-gcm-test-01 case 3",
		.cipher = ESP_CIPHER_AES256GCM,
		.key = "abbccdde f0011223 34455667 78899aab abbccdde f0011223 34455667 78899aab",
		.salt = "11223344",
		.spi = 0x4a2cbfe3, .esn = false, .seq = 2,
		.iv = "01020304 05060708",
		.aad = "4a2cbfe3 00000002",
		.pt = "45000030 69a64000 80062690 c0a80102 9389155e 0a9e008b 2dc57ee0 00000000"
		      "70024000 20bf0000 020405b4 01010402 01020201",
		.ct = "ff425c9b 724599df 7a3bcd51 0194e00d 6a78107f 1b0b1cbf 06efae9d 65a5d763"
		      "748a6379 85771d34 7f054565 9f14e99d ef842d8e"
		      "b335f4ee cfdbf831 824b4c49 15956c96",
	},
	/* draft-mcgrew-gcm-test-01, 256-bit key with extended sequence numbers
	 * (12-byte AAD: SPI, high and low halves), a TCP segment. */
	{
		.name = "mcgrew-gcm-test-01 case 256/esn/tcp",
		.cipher = ESP_CIPHER_AES256GCM,
		.key = "abbccdde f0011223 34455667 78899aab abbccdde f0011223 34455667 78899aab",
		.salt = "73616c74",
		.spi = 0x17405e67, .esn = true, .seq = UINT64_C(0x156f3126dd0db99b),
		.iv = "616e6401 69766563",
		.aad = "17405e67 156f3126 dd0db99b",
		.pt = "45080028 732c0000 4006e9f9 0a010612 0a01038f 06b88023 dd6bafbe cb712602"
		      "50101f64 6d540001",
		.ct = "f2d69ecd bd5a0d5b 8d5ef38b ad4da58d 1f278fde 98ef6754 9d524a30 18d9a57f"
		      "f4d3a31c e673119e 451626c2 415771e3 b7eebca6 14c89b35",
	},
	/* draft-mcgrew-gcm-test-01, same SA, a non-IP payload with default padding. */
	{
		.name = "mcgrew-gcm-test-01 case 256/esn/text",
		.cipher = ESP_CIPHER_AES256GCM,
		.key = "abbccdde f0011223 34455667 78899aab abbccdde f0011223 34455667 78899aab",
		.salt = "73616c74",
		.spi = 0x17405e67, .esn = true, .seq = UINT64_C(0x156f3126dd0db99b),
		.iv = "616e6401 69766563",
		.aad = "17405e67 156f3126 dd0db99b",
		.pt = "63697363 6f017275 6c657301 74686501 6e657477 65016465 66696e65 01746865"
		      "74656368 6e6f6c6f 67696573 01746861 7477696c 6c016465 66696e65 746f6d6f"
		      "72726f77 01020201",
		.ct = "d4b7ed86 a1777f2e a13d6973 d324c69e 7b43f826 fb568312 26508beb d2dceb18"
		      "d0a6df10 e5487df0 74113e14 c641024e 3e6773d9 1a62ee42 9b043a10 e3efe6b0"
		      "12a49363 412364f8 c0cac587 f249e56b 11e24f30 e44ccc76",
	},
	/* draft-mcgrew-gcm-test-01, 256-bit key, ESN sequence number 2^64 - 1
	 * (the last one an SA may ever use), an ICMP echo request. */
	{
		.name = "mcgrew-gcm-test-01 case 256/esn/max",
		.cipher = ESP_CIPHER_AES256GCM,
		.key = "6c656761 6c697a65 6d617269 6a75616e 61616e64 646f6974 6265666f 72656961",
		.salt = "7475726e",
		.spi = 0x796b6963, .esn = true, .seq = UINT64_MAX,
		.iv = "33302169 6765746d",
		.aad = "796b6963 ffffffff ffffffff",
		.pt = "45000030 da3a0000 8001df3b c0a80005 c0a80001 0800c6cd 02000700 61626364"
		      "65666768 696a6b6c 6d6e6f70 71727374 01020201",
		.ct = "f97ab2aa 356d8edc e17644ac 8c78e25d d24dedbb 29ebf1b6 4a274b39 b49c3a86"
		      "4cd3d78c a4ae68a3 2b42458f b57dbe82 1dcc63b9 d0937ba2 945f6693 68661a32"
		      "9fb4c053",
	},
};

#define NVEC (int)(sizeof(vectors) / sizeof(vectors[0]))

struct decoded {
	uint8_t keymat[ESP_KEYMAT_LEN];
	uint8_t nonce[12], aad[12], pt[128], ct[160];
	size_t aad_len, pt_len, ct_len;
};

static void decode(const struct vector *v, struct decoded *d)
{
	ck_assert_uint_eq(tu_hex(v->key, d->keymat, ESP_KEY_LEN), ESP_KEY_LEN);
	ck_assert_uint_eq(tu_hex(v->salt, d->keymat + ESP_KEY_LEN, 4), 4);
	memcpy(d->nonce, d->keymat + ESP_KEY_LEN, 4);
	ck_assert_uint_eq(tu_hex(v->iv, d->nonce + 4, 8), 8);
	d->aad_len = tu_hex(v->aad, d->aad, sizeof(d->aad));
	d->pt_len = tu_hex(v->pt, d->pt, sizeof(d->pt));
	d->ct_len = tu_hex(v->ct, d->ct, sizeof(d->ct));
	ck_assert_uint_eq(d->ct_len, d->pt_len + ESP_ICV_LEN);
	ck_assert_uint_eq(d->aad_len, v->esn ? 12 : 8);
}

/* (1) The AEAD alone reproduces the published ciphertext and ICV. */
START_TEST(aead_seal)
{
	const struct vector *v = &vectors[_i % NVEC];
	enum esp_backend b = tu_backend(_i / NVEC);
	const struct esp_aead *aead = esp_aead_get(b, v->cipher);
	static union esp_key_state ks;
	struct decoded d;
	uint8_t buf[160], tag[ESP_ICV_LEN];
	struct esp_aead_op op;

	decode(v, &d);
	ck_assert_ptr_nonnull(aead);
	ck_assert_int_eq(aead->key_init(&ks, d.keymat), 0);
	memcpy(buf, d.pt, d.pt_len);
	op = (struct esp_aead_op){ .data = buf, .len = (uint32_t)d.pt_len, .aad = d.aad,
				   .aad_len = (uint32_t)d.aad_len, .nonce = d.nonce, .tag = tag };
	aead->seal(&ks, &op);
	ck_assert_msg(memcmp(buf, d.ct, d.pt_len) == 0, "%s/%s: ciphertext differs", v->name,
		      esp_backend_name(b));
	ck_assert_msg(memcmp(tag, d.ct + d.pt_len, ESP_ICV_LEN) == 0, "%s/%s: ICV differs",
		      v->name, esp_backend_name(b));
	/* And the AEAD opens it back. */
	ck_assert_int_eq(aead->open(&ks, &op), 0);
	ck_assert_mem_eq(buf, d.pt, d.pt_len);
	sodium_memzero(&ks, sizeof(ks));
}
END_TEST

/* (2) and (3): the full ESP packet through esp_open_burst(). */
START_TEST(esp_open)
{
	const struct vector *v = &vectors[_i % NVEC];
	enum esp_backend b = tu_backend(_i / NVEC);
	struct decoded d;
	uint8_t pkt[256], copy[256];
	uint32_t len, pad;
	struct esp_pkt got;
	struct esp_sa *sa;
	uint8_t aad[ESP_AAD_MAX];

	decode(v, &d);
	/* Our AAD construction matches the published AAD (RFC 4106 section 5). */
	{
		uint8_t spi_be[4] = { v->spi >> 24, v->spi >> 16, v->spi >> 8, v->spi };
		uint32_t n = esp_build_aad(aad, spi_be, v->esn, v->seq);

		ck_assert_uint_eq(n, d.aad_len);
		ck_assert_mem_eq(aad, d.aad, n);
	}
	/* ESP packet: SPI, low 32 bits of the sequence number, IV, ciphertext, ICV. */
	memcpy(pkt, d.aad, 4);
	memcpy(pkt + 4, d.aad + d.aad_len - 4, 4);
	memcpy(pkt + 8, d.nonce + 4, 8);
	memcpy(pkt + ESP_PAYLOAD_OFF, d.ct, d.ct_len);
	len = (uint32_t)(ESP_PAYLOAD_OFF + d.ct_len);
	memcpy(copy, pkt, len);

	/* The inbound SA has seen everything up to seq - 1, so ESN inference
	 * (RFC 4303 Appendix A) must recover the published high half. */
	sa = tu_sa(b, v->cipher, ESP_DIR_INBOUND, v->spi, d.keymat, v->esn, 0, v->seq - 1);
	pad = d.pt[d.pt_len - 2];
	got = tu_open_eq(sa, pkt, len, d.pt, (uint32_t)(d.pt_len - 2 - pad));
	ck_assert_uint_eq(got.seq, v->seq);
	ck_assert_uint_eq(got.next_header, d.pt[d.pt_len - 1]);
	/* The same packet again is a replay. */
	memcpy(pkt, copy, len);
	ck_assert_int_eq(tu_open1(sa, pkt, len, NULL), ESP_ERR_REPLAYED);
	esp_sa_destroy(sa);

	/* One flipped ICV bit, on a fresh SA: refused as an ICV failure. */
	sa = tu_sa(b, v->cipher, ESP_DIR_INBOUND, v->spi, d.keymat, v->esn, 0, v->seq - 1);
	memcpy(pkt, copy, len);
	pkt[len - 1] ^= 0x80;
	ck_assert_int_eq(tu_open1(sa, pkt, len, NULL), ESP_ERR_ICV);
	esp_sa_destroy(sa);
}
END_TEST

Suite *test_suite(void)
{
	Suite *s = suite_create("esp_vectors");
	TCase *tc = tcase_create("vectors");

	if (esp_crypto_init() != 0)
		return NULL;
	tcase_add_loop_test(tc, aead_seal, 0, NVEC * tu_nbackends());
	tcase_add_loop_test(tc, esp_open, 0, NVEC * tu_nbackends());
	suite_add_tcase(s, tc);
	return s;
}
