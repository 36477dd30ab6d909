/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * crypto/: SA life cycle, parameter checks, names, round trips, counters and
 * outbound sequence-number exhaustion (RFC 4303 section 3.3.3).
 */
#include "check_main.h"
#include "esp_testutil.h"

static uint8_t keymat[ESP_KEYMAT_LEN];

static void setup(void)
{
	ck_assert_int_eq(esp_crypto_init(), 0);
	for (int i = 0; i < ESP_KEYMAT_LEN; i++)
		keymat[i] = (uint8_t)(0x40 + i);
}

START_TEST(init_idempotent)
{
	ck_assert_int_eq(esp_crypto_init(), 0);
	ck_assert_int_eq(esp_crypto_init(), 0);
	ck_assert(esp_backend_available(ESP_BACKEND_SODIUM));
	ck_assert(esp_backend_available(ESP_BACKEND_AUTO));
#if defined(__x86_64__)
	/* The fast path must not silently vanish on a CPU that has AES-NI. */
	__builtin_cpu_init();
	if (__builtin_cpu_supports("aes") && __builtin_cpu_supports("pclmul"))
		ck_assert(esp_backend_available(ESP_BACKEND_IPSECMB));
#endif
}
END_TEST

START_TEST(names_and_parse)
{
	enum esp_cipher c;
	enum esp_backend b;

	ck_assert_str_eq(esp_cipher_name(ESP_CIPHER_AES256GCM), "aes256gcm");
	ck_assert_str_eq(esp_cipher_name(ESP_CIPHER_CHACHA20POLY1305), "chacha20poly1305");
	ck_assert_str_eq(esp_backend_name(ESP_BACKEND_IPSECMB), "ipsec-mb");
	ck_assert_str_eq(esp_backend_name(ESP_BACKEND_SODIUM), "sodium");
	ck_assert_str_eq(esp_backend_name(ESP_BACKEND_AUTO), "auto");
	ck_assert_str_eq(esp_status_name(ESP_ERR_TOO_OLD), "too-old");
	ck_assert_str_eq(esp_status_name(ESP_STATUS_MAX), "unknown");
	for (int s = 0; s < ESP_STATUS_MAX; s++)
		ck_assert_str_ne(esp_status_name((enum esp_status)s), "unknown");

	ck_assert_int_eq(esp_cipher_parse("chacha20poly1305", &c), 0);
	ck_assert_int_eq(c, ESP_CIPHER_CHACHA20POLY1305);
	ck_assert_int_eq(esp_cipher_parse("aes256gcm", &c), 0);
	ck_assert_int_eq(c, ESP_CIPHER_AES256GCM);
	ck_assert_int_eq(esp_cipher_parse("aes128gcm", &c), -1);
	ck_assert_int_eq(esp_cipher_parse(NULL, &c), -1);
	ck_assert_int_eq(esp_backend_parse("sodium", &b), 0);
	ck_assert_int_eq(b, ESP_BACKEND_SODIUM);
	ck_assert_int_eq(esp_backend_parse("ipsec-mb", &b), 0);
	ck_assert_int_eq(b, ESP_BACKEND_IPSECMB);
	ck_assert_int_eq(esp_backend_parse("auto", &b), 0);
	ck_assert_int_eq(b, ESP_BACKEND_AUTO);
	ck_assert_int_eq(esp_backend_parse("openssl", &b), -1);
}
END_TEST

START_TEST(bad_params)
{
	char err[128];
	struct esp_sa_params ok = {
		.cipher = ESP_CIPHER_AES256GCM, .backend = ESP_BACKEND_AUTO,
		.dir = ESP_DIR_INBOUND, .spi = 0x1000, .keymat = keymat,
		.keymat_len = ESP_KEYMAT_LEN,
	};
	struct esp_sa_params p;
	struct esp_sa *sa;

	ck_assert_ptr_null(esp_sa_create(NULL, err, sizeof(err)));
	p = ok; p.keymat_len = 32;
	ck_assert_ptr_null(esp_sa_create(&p, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "36"));
	p = ok; p.keymat = NULL;
	ck_assert_ptr_null(esp_sa_create(&p, err, sizeof(err)));
	p = ok; p.cipher = (enum esp_cipher)7;
	ck_assert_ptr_null(esp_sa_create(&p, err, sizeof(err)));
	p = ok; p.backend = (enum esp_backend)9;
	ck_assert_ptr_null(esp_sa_create(&p, err, sizeof(err)));
	p = ok; p.dir = (enum esp_dir)2;
	ck_assert_ptr_null(esp_sa_create(&p, err, sizeof(err)));
	p = ok; p.spi = 0;
	ck_assert_ptr_null(esp_sa_create(&p, err, sizeof(err)));
	p = ok; p.replay_window = 1000; /* not a power of two */
	ck_assert_ptr_null(esp_sa_create(&p, err, sizeof(err)));
	p = ok; p.replay_window = 8192; /* above the max */
	ck_assert_ptr_null(esp_sa_create(&p, err, sizeof(err)));
	p = ok; p.replay_window = 16;   /* below RFC 4303's 32 */
	ck_assert_ptr_null(esp_sa_create(&p, err, sizeof(err)));
	p = ok; p.initial_seq = UINT64_C(1) << 32; /* needs ESN */
	ck_assert_ptr_null(esp_sa_create(&p, NULL, 0)); /* err is optional */
	p = ok; p.initial_seq = UINT64_C(1) << 32; p.esn = true;
	sa = esp_sa_create(&p, err, sizeof(err));
	ck_assert_ptr_nonnull(sa);
	ck_assert_uint_eq(esp_sa_spi(sa), 0x1000);
	ck_assert_int_ne(esp_sa_backend(sa), ESP_BACKEND_AUTO);
	esp_sa_destroy(sa);
	esp_sa_destroy(NULL);
}
END_TEST

/* The error text must never carry key bytes, whatever went wrong. */
START_TEST(err_has_no_key)
{
	char err[256];
	struct esp_sa_params p = {
		.cipher = ESP_CIPHER_AES256GCM, .backend = ESP_BACKEND_SODIUM,
		.dir = ESP_DIR_OUTBOUND, .spi = 0, .keymat = keymat, .keymat_len = 35,
	};
	char hex[2 * ESP_KEYMAT_LEN + 1];

	ck_assert_ptr_null(esp_sa_create(&p, err, sizeof(err)));
	sodium_bin2hex(hex, sizeof(hex), keymat, 4);
	ck_assert_ptr_null(strstr(err, hex));
	ck_assert_ptr_null(memmem(err, strlen(err), keymat, 4));
}
END_TEST

/* Round trip for each backend x cipher x ESN, payload 0..64, with framing checks. */
START_TEST(roundtrip)
{
	enum esp_backend b = tu_backend(_i / 4);
	enum esp_cipher c = (enum esp_cipher)(_i % 2);
	bool esn = (_i / 2) % 2;
	struct tu_pair pair = tu_pair(b, c, 0xabcd0001, keymat, esn, 0, 0);
	uint8_t buf[256], pt[64];
	struct esp_sa_stats st;
	uint64_t bytes = 0;

	for (uint32_t len = 0; len <= 64; len++) {
		uint32_t total, pad = (4 - ((len + 2) % 4)) % 4;
		struct esp_pkt got;

		for (uint32_t j = 0; j < len; j++)
			pt[j] = (uint8_t)(j * 7 + len);
		total = tu_seal1(pair.out, buf, sizeof(buf), pt, len, ESP_OK);
		ck_assert_uint_eq(total, ESP_PAYLOAD_OFF + len + pad + 2 + ESP_ICV_LEN);
		ck_assert_uint_eq((total - ESP_PAYLOAD_OFF - ESP_ICV_LEN) % 4, 0);
		/* Header: SPI, low sequence number, IV = 64-bit sequence number. */
		ck_assert_uint_eq(buf[0], 0xab);
		ck_assert_uint_eq(buf[3], 0x01);
		ck_assert_uint_eq(buf[7], (uint8_t)(len + 1));
		for (int j = 8; j < 15; j++)
			ck_assert_uint_eq(buf[j], 0);
		ck_assert_uint_eq(buf[15], (uint8_t)(len + 1));
		bytes += len;

		got = tu_open_eq(pair.in, buf, total, pt, len);
		ck_assert_uint_eq(got.next_header, 4);
		ck_assert_uint_eq(got.seq, len + 1);
	}
	esp_sa_get_stats(pair.out, &st);
	ck_assert_uint_eq(st.packets, 65);
	ck_assert_uint_eq(st.bytes, bytes);
	ck_assert_uint_eq(st.seq, 65);
	esp_sa_get_stats(pair.in, &st);
	ck_assert_uint_eq(st.packets, 65);
	ck_assert_uint_eq(st.bytes, bytes);
	ck_assert_uint_eq(st.seq, 65);
	for (int s = 1; s < ESP_STATUS_MAX; s++)
		ck_assert_uint_eq(st.errors[s], 0);
	tu_pair_destroy(&pair);
}
END_TEST

/* next_header is taken from the packet, not assumed. */
START_TEST(next_header_from_packet)
{
	struct tu_pair pair = tu_pair(ESP_BACKEND_SODIUM, ESP_CIPHER_AES256GCM, 0x3000, keymat,
				      false, 0, 0);
	uint8_t buf[128] = { 0 };
	struct esp_pkt pkt = { .buf = buf, .len = 10, .room = sizeof(buf), .next_header = 41 };

	ck_assert_uint_eq(esp_seal_burst(pair.out, &pkt, 1), 1);
	pkt.next_header = 0;
	ck_assert_uint_eq(esp_open_burst(pair.in, &pkt, 1), 1);
	ck_assert_uint_eq(pkt.next_header, 41);
	ck_assert_uint_eq(pkt.len, 10);
	tu_pair_destroy(&pair);
}
END_TEST

START_TEST(no_room)
{
	struct esp_sa *out = tu_sa(ESP_BACKEND_SODIUM, ESP_CIPHER_AES256GCM, ESP_DIR_OUTBOUND,
				   0x3000, keymat, false, 0, 0);
	uint8_t buf[128] = { 0 };
	/* 20-byte payload needs 16 + 20 + 2 (pad) + 2 + 16 = 56 bytes. */
	struct esp_pkt p[2] = {
		{ .buf = buf, .len = 20, .room = 55, .next_header = 4 },
		{ .buf = buf, .len = 20, .room = 56, .next_header = 4 },
	};
	struct esp_sa_stats st;

	ck_assert_uint_eq(esp_seal_burst(out, p, 2), 1);
	ck_assert_uint_eq(p[0].status, ESP_ERR_NO_ROOM);
	ck_assert_uint_eq(p[1].status, ESP_OK);
	ck_assert_uint_eq(p[1].len, 56);
	/* The refused packet consumed no sequence number. */
	ck_assert_uint_eq(p[1].seq, 1);
	esp_sa_get_stats(out, &st);
	ck_assert_uint_eq(st.errors[ESP_ERR_NO_ROOM], 1);
	ck_assert_uint_eq(st.packets, 1);
	esp_sa_destroy(out);
}
END_TEST

/* RFC 4303 3.3.3: without ESN the counter must not cycle past 2^32 - 1. */
START_TEST(expiry_32)
{
	enum esp_backend b = tu_backend(_i);
	struct esp_sa *out = tu_sa(b, ESP_CIPHER_AES256GCM, ESP_DIR_OUTBOUND, 0x4000, keymat,
				   false, 0, UINT32_MAX - 2);
	struct esp_sa *in = tu_sa(b, ESP_CIPHER_AES256GCM, ESP_DIR_INBOUND, 0x4000, keymat,
				  false, 64, UINT32_MAX - 10);
	uint8_t bufs[5][64];
	struct esp_pkt p[5];
	struct esp_sa_stats st;

	for (int i = 0; i < 5; i++)
		p[i] = (struct esp_pkt){ .buf = bufs[i], .len = 4, .room = 64, .next_header = 4 };
	ck_assert_uint_eq(esp_seal_burst(out, p, 5), 2);
	ck_assert_uint_eq(p[0].status, ESP_OK);
	ck_assert_uint_eq(p[0].seq, UINT32_MAX - 1);
	ck_assert_uint_eq(p[1].status, ESP_OK);
	ck_assert_uint_eq(p[1].seq, UINT32_MAX);
	for (int i = 2; i < 5; i++)
		ck_assert_uint_eq(p[i].status, ESP_ERR_SA_EXPIRED);
	/* Still stopped on the next burst: no wrap to 0. */
	p[2].len = 4;
	ck_assert_uint_eq(esp_seal_burst(out, &p[2], 1), 0);
	ck_assert_uint_eq(p[2].status, ESP_ERR_SA_EXPIRED);
	esp_sa_get_stats(out, &st);
	ck_assert_uint_eq(st.errors[ESP_ERR_SA_EXPIRED], 4);
	ck_assert_uint_eq(st.packets, 2);
	ck_assert_uint_eq(st.seq, UINT32_MAX);
	/* The last two packets are genuine and open on the peer. */
	ck_assert_uint_eq(esp_open_burst(in, p, 2), 2);
	esp_sa_destroy(out);
	esp_sa_destroy(in);
}
END_TEST

/* With ESN the limit is 2^64 - 1; crossing 2^32 is just the next number. */
START_TEST(expiry_64)
{
	struct esp_sa *out = tu_sa(ESP_BACKEND_SODIUM, ESP_CIPHER_CHACHA20POLY1305,
				   ESP_DIR_OUTBOUND, 0x4000, keymat, true, 0, UINT32_MAX);
	uint8_t buf[64];
	struct esp_pkt p = { .buf = buf, .len = 4, .room = 64, .next_header = 4 };

	ck_assert_uint_eq(esp_seal_burst(out, &p, 1), 1);
	ck_assert_uint_eq(p.seq, UINT64_C(1) << 32);
	ck_assert_uint_eq(buf[4] | buf[5] | buf[6] | buf[7], 0); /* low half on the wire */
	ck_assert_uint_eq(buf[11], 1);                          /* IV carries the high half */
	esp_sa_destroy(out);

	out = tu_sa(ESP_BACKEND_SODIUM, ESP_CIPHER_CHACHA20POLY1305, ESP_DIR_OUTBOUND, 0x4000,
		    keymat, true, 0, UINT64_MAX - 1);
	p = (struct esp_pkt){ .buf = buf, .len = 4, .room = 64, .next_header = 4 };
	ck_assert_uint_eq(esp_seal_burst(out, &p, 1), 1);
	ck_assert_uint_eq(p.seq, UINT64_MAX);
	p = (struct esp_pkt){ .buf = buf, .len = 4, .room = 64, .next_header = 4 };
	ck_assert_uint_eq(esp_seal_burst(out, &p, 1), 0);
	ck_assert_uint_eq(p.status, ESP_ERR_SA_EXPIRED);
	esp_sa_destroy(out);
}
END_TEST

/* Sealing on an inbound SA or opening on an outbound one is refused. */
START_TEST(wrong_direction)
{
	struct tu_pair pair = tu_pair(ESP_BACKEND_SODIUM, ESP_CIPHER_AES256GCM, 0x5000, keymat,
				      false, 0, 0);
	uint8_t buf[64] = { 0 };
	struct esp_pkt p = { .buf = buf, .len = 4, .room = 64, .next_header = 4 };

	ck_assert_uint_eq(esp_seal_burst(pair.in, &p, 1), 0);
	ck_assert_uint_ne(p.status, ESP_OK);
	p.len = 40;
	ck_assert_uint_eq(esp_open_burst(pair.out, &p, 1), 0);
	ck_assert_uint_ne(p.status, ESP_OK);
	tu_pair_destroy(&pair);
}
END_TEST

/* Bursts longer than the internal chunk (32) keep order and count right. */
START_TEST(long_burst)
{
	enum { N = 100 };
	struct tu_pair pair = tu_pair(ESP_BACKEND_AUTO, ESP_CIPHER_AES256GCM, 0x6000, keymat,
				      true, 128, 0);
	static uint8_t bufs[N][128];
	struct esp_pkt p[N];

	for (int i = 0; i < N; i++) {
		memset(bufs[i] + ESP_PAYLOAD_OFF, i, 60);
		p[i] = (struct esp_pkt){ .buf = bufs[i], .len = 60, .room = 128, .next_header = 4 };
	}
	ck_assert_uint_eq(esp_seal_burst(pair.out, p, N), N);
	for (int i = 0; i < N; i++)
		ck_assert_uint_eq(p[i].seq, (uint64_t)i + 1);
	ck_assert_uint_eq(esp_open_burst(pair.in, p, N), N);
	for (int i = 0; i < N; i++) {
		ck_assert_uint_eq(p[i].len, 60);
		ck_assert_uint_eq(bufs[i][ESP_PAYLOAD_OFF + 59], i);
	}
	tu_pair_destroy(&pair);
}
END_TEST

Suite *test_suite(void)
{
	Suite *s = suite_create("esp_basic");
	TCase *tc = tcase_create("basic");

	if (esp_crypto_init() != 0)
		return NULL;
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, init_idempotent);
	tcase_add_test(tc, names_and_parse);
	tcase_add_test(tc, bad_params);
	tcase_add_test(tc, err_has_no_key);
	tcase_add_loop_test(tc, roundtrip, 0, 4 * tu_nbackends());
	tcase_add_test(tc, next_header_from_packet);
	tcase_add_test(tc, no_room);
	tcase_add_loop_test(tc, expiry_32, 0, tu_nbackends());
	tcase_add_test(tc, expiry_64);
	tcase_add_test(tc, wrong_direction);
	tcase_add_test(tc, long_burst);
	suite_add_tcase(s, tc);
	return s;
}
