/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Helpers shared by the crypto unit tests (header-only, static). */
#ifndef ISTHMUS_TESTS_ESP_TESTUTIL_H
#define ISTHMUS_TESTS_ESP_TESTUTIL_H

#include <check.h>
#include <ctype.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "esp.h"

/* Decode hex with any whitespace in between (as vectors are printed in RFCs). */
static inline size_t tu_hex(const char *s, uint8_t *out, size_t max)
{
	size_t n = 0;
	int hi = -1;

	for (; *s; s++) {
		int v;

		if (isspace((unsigned char)*s))
			continue;
		if (*s >= '0' && *s <= '9')
			v = *s - '0';
		else if (*s >= 'a' && *s <= 'f')
			v = *s - 'a' + 10;
		else if (*s >= 'A' && *s <= 'F')
			v = *s - 'A' + 10;
		else
			ck_abort_msg("bad hex char '%c'", *s);
		if (hi < 0) {
			hi = v;
		} else {
			ck_assert_uint_lt(n, max);
			out[n++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	ck_assert_int_eq(hi, -1);
	return n;
}

static inline struct esp_sa *tu_sa(enum esp_backend b, enum esp_cipher c, enum esp_dir d,
				   uint32_t spi, const uint8_t *keymat, bool esn,
				   uint32_t window, uint64_t initial)
{
	char err[128] = "";
	struct esp_sa_params p = {
		.cipher = c, .backend = b, .dir = d, .spi = spi, .keymat = keymat,
		.keymat_len = ESP_KEYMAT_LEN, .esn = esn, .replay_window = window,
		.initial_seq = initial,
	};
	struct esp_sa *sa = esp_sa_create(&p, err, sizeof(err));

	ck_assert_msg(sa != NULL, "esp_sa_create: %s", err);
	return sa;
}

/* Seal one payload of @p len bytes (content @p pt) into @p buf; returns total length. */
static inline uint32_t tu_seal1(struct esp_sa *sa, uint8_t *buf, uint32_t room,
				const uint8_t *pt, uint32_t len, enum esp_status want)
{
	struct esp_pkt pkt = { .buf = buf, .len = len, .room = room, .next_header = 4 };

	if (len)
		memcpy(buf + ESP_PAYLOAD_OFF, pt, len);
	ck_assert_uint_eq(esp_seal_burst(sa, &pkt, 1), want == ESP_OK ? 1 : 0);
	ck_assert_msg(pkt.status == want, "seal status %s, want %s",
		      esp_status_name(pkt.status), esp_status_name(want));
	return pkt.len;
}

/* Open one packet in place; returns its status. */
static inline enum esp_status tu_open1(struct esp_sa *sa, uint8_t *buf, uint32_t len,
				       struct esp_pkt *out)
{
	struct esp_pkt pkt = { .buf = buf, .len = len };
	uint16_t ok = esp_open_burst(sa, &pkt, 1);

	ck_assert_uint_eq(ok, pkt.status == ESP_OK ? 1 : 0);
	if (out)
		*out = pkt;
	return (enum esp_status)pkt.status;
}

/*
 * The ESP round trip: a pair of SAs with the same keys (out seals, in opens),
 * a payload sealed on one and opened on the other, the result compared.
 */
struct tu_pair {
	struct esp_sa *out, *in;
};

/* Outbound and inbound SA for @p spi; both start at sequence number @p initial,
 * the inbound one with a replay window of @p window (0: the default). */
static inline struct tu_pair tu_pair(enum esp_backend b, enum esp_cipher c, uint32_t spi,
				     const uint8_t *keymat, bool esn, uint32_t window,
				     uint64_t initial)
{
	return (struct tu_pair){
		.out = tu_sa(b, c, ESP_DIR_OUTBOUND, spi, keymat, esn, 0, initial),
		.in = tu_sa(b, c, ESP_DIR_INBOUND, spi, keymat, esn, window, initial),
	};
}

static inline void tu_pair_destroy(struct tu_pair *p)
{
	esp_sa_destroy(p->out);
	esp_sa_destroy(p->in);
}

/* Open the sealed packet at @p buf (@p len bytes) on @p in: it must open to the
 * @p ptlen bytes at @p pt. Returns the opened packet (seq, next_header). */
static inline struct esp_pkt tu_open_eq(struct esp_sa *in, uint8_t *buf, uint32_t len,
					const uint8_t *pt, uint32_t ptlen)
{
	struct esp_pkt got;

	ck_assert_int_eq(tu_open1(in, buf, len, &got), ESP_OK);
	ck_assert_uint_eq(got.len, ptlen);
	ck_assert_mem_eq(buf + ESP_PAYLOAD_OFF, pt, ptlen);
	return got;
}

/* Backends to run the test on: both when ipsec-mb can run, else sodium only. */
static inline int tu_nbackends(void)
{
	return esp_backend_available(ESP_BACKEND_IPSECMB) ? 2 : 1;
}

static inline enum esp_backend tu_backend(int i)
{
	return i == 0 ? ESP_BACKEND_SODIUM : ESP_BACKEND_IPSECMB;
}

#endif
