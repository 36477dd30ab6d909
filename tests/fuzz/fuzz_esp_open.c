/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer harness for the inbound ESP path (esp_open_burst).
 *
 * The input is a small program, so the fuzzer reaches past the ICV check:
 *
 *   byte 0   configuration: bit 0 cipher, bit 1 ESN, bit 2 backend (ipsec-mb
 *            when available), bits 3-4 replay window (64, 1024, 4096, 32)
 *   byte 1   starting sequence number (index into a table of edge values)
 *   then ops, each an opcode byte (low 2 bits):
 *     0 raw      u16 length (LE), then that many bytes: an arbitrary packet
 *     1 seal     u8 payload length, u8 skip: seal (skip & 7) + 1 packets on
 *                the peer's outbound SA, keep the last (genuine) one
 *     2 mutate   u8 slot, u16 offset, u8 xor: a kept packet, one byte changed
 *                (xor 0: an exact replay)
 *     3 flush    open the pending burst
 *
 * Checked after every burst (abort() on violation, which libFuzzer reports):
 * the return value matches the statuses; every status is a known reason; an
 * accepted packet is shorter than what came in; no sequence number is
 * accepted twice; nothing altered or made up is ever accepted; and a genuine
 * packet is only refused as replayed / too old (or, with ESN, as an ICV
 * failure when it lies a full window behind: RFC 4303 Appendix A).
 *
 * clang + libFuzzer:
 *   CC=clang meson setup build-fuzz -Dfuzz=enabled -Dstrongswan_src=...
 *   ninja -C build-fuzz tests/fuzz/fuzz_esp_open
 *   meson test -C build-fuzz --suite fuzz
 * With gcc the same function is linked into fuzz_driver.c, which replays the
 * seed corpus and deterministic mutations of it (suite fuzz as well).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "esp.h"

#define BURST 16
#define SLOTS 8
#define PKTMAX 2048
#define MAXACC 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint64_t starts[] = {
	0, 1, 1000, (UINT64_C(1) << 32) - 20, (UINT64_C(1) << 32) + 3,
	UINT32_MAX - 2, UINT64_MAX - 40, UINT64_C(0x156f3126dd0db99b),
};

struct kept {
	uint8_t b[PKTMAX];
	uint32_t len;
	uint64_t seq;
	bool valid;
};

struct pending {
	uint8_t b[PKTMAX];
	uint32_t len;
	uint64_t seq;   /* for genuine packets */
	int kind;       /* 0 made up, 1 genuine, 2 altered */
};

struct state {
	struct esp_sa *out, *in;
	bool esn;
	uint32_t window;
	struct kept kept[SLOTS];
	unsigned nkept;
	struct pending pend[BURST];
	unsigned npend;
	uint64_t acc[MAXACC];
	unsigned nacc;
};

static void check(bool ok)
{
	if (!ok)
		abort();
}

static bool accepted_before(const struct state *s, uint64_t seq)
{
	for (unsigned i = 0; i < s->nacc; i++)
		if (s->acc[i] == seq)
			return true;
	return false;
}

static void flush(struct state *s)
{
	struct esp_pkt p[BURST];
	unsigned nok = 0;
	uint16_t ret;

	if (s->npend == 0)
		return;
	for (unsigned i = 0; i < s->npend; i++)
		p[i] = (struct esp_pkt){ .buf = s->pend[i].b, .len = s->pend[i].len };
	ret = esp_open_burst(s->in, p, (uint16_t)s->npend);
	for (unsigned i = 0; i < s->npend; i++) {
		const struct pending *q = &s->pend[i];

		check(p[i].status < ESP_STATUS_MAX);
		if (p[i].status != ESP_OK) {
			if (q->kind == 1) {
				/* A genuine packet: only the window may refuse it. */
				check(p[i].status == ESP_ERR_REPLAYED ||
				      p[i].status == ESP_ERR_TOO_OLD ||
				      (s->esn && p[i].status == ESP_ERR_ICV));
			}
			continue;
		}
		nok++;
		check(q->kind == 1);           /* no forgery, no accepted alteration */
		check(p[i].seq == q->seq);
		check(p[i].len + ESP_PAYLOAD_OFF + 2 + ESP_ICV_LEN <= q->len);
		check(p[i].next_header == 4);
		check(!accepted_before(s, p[i].seq));
		if (s->nacc < MAXACC)
			s->acc[s->nacc++] = p[i].seq;
	}
	check(ret == nok);
	s->npend = 0;
}

static struct pending *push(struct state *s)
{
	if (s->npend == BURST)
		flush(s);
	return &s->pend[s->npend++];
}

static void seal(struct state *s, uint8_t plen, uint8_t skip)
{
	static uint8_t buf[PKTMAX];
	struct kept *k = &s->kept[s->nkept++ % SLOTS];

	for (unsigned i = 0; i <= (skip & 7u); i++) {
		struct esp_pkt p = { .buf = buf, .len = plen, .room = PKTMAX, .next_header = 4 };

		memset(buf + ESP_PAYLOAD_OFF, plen, plen);
		if (esp_seal_burst(s->out, &p, 1) != 1) {
			check(p.status == ESP_ERR_SA_EXPIRED);
			return;
		}
		memcpy(k->b, buf, p.len);
		k->len = p.len;
		k->seq = p.seq;
		k->valid = true;
	}
	{
		struct pending *q = push(s);

		memcpy(q->b, k->b, k->len);
		q->len = k->len;
		q->seq = k->seq;
		q->kind = 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t windows[] = { 64, 1024, 4096, 32 };
	static const uint8_t keymat[ESP_KEYMAT_LEN] = {
		0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b,
		0x6c, 0x6d, 0x6e, 0x6f, 0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77,
		0x78, 0x79, 0x7a, 0x7b, 0x7c, 0x7d, 0x7e, 0x7f, 0xca, 0xfe, 0xf0, 0x0d,
	};
	static struct state s;
	struct esp_sa_params sp;
	size_t i = 2;

	if (size < 2 || esp_crypto_init() != 0)
		return 0;
	memset(&s, 0, sizeof(s));
	s.esn = data[0] & 2;
	s.window = windows[(data[0] >> 3) & 3];
	sp = (struct esp_sa_params){
		.cipher = (data[0] & 1) ? ESP_CIPHER_CHACHA20POLY1305 : ESP_CIPHER_AES256GCM,
		.backend = (data[0] & 4) && esp_backend_available(ESP_BACKEND_IPSECMB)
				   ? ESP_BACKEND_IPSECMB : ESP_BACKEND_SODIUM,
		.spi = 0x10203040, .keymat = keymat, .keymat_len = ESP_KEYMAT_LEN,
		.esn = s.esn, .replay_window = s.window,
		.initial_seq = starts[data[1] % (sizeof(starts) / sizeof(starts[0]))],
	};
	if (!s.esn && sp.initial_seq > UINT32_MAX)
		sp.initial_seq &= UINT32_MAX;
	sp.dir = ESP_DIR_OUTBOUND;
	s.out = esp_sa_create(&sp, NULL, 0);
	sp.dir = ESP_DIR_INBOUND;
	s.in = esp_sa_create(&sp, NULL, 0);
	check(s.out != NULL && s.in != NULL);

	while (i < size) {
		uint8_t op = data[i++] & 3;

		if (op == 0) {
			struct pending *q;
			size_t len;

			if (i + 2 > size)
				break;
			len = (size_t)(data[i] | data[i + 1] << 8) % PKTMAX;
			i += 2;
			if (len > size - i)
				len = size - i;
			q = push(&s);
			memcpy(q->b, data + i, len);
			q->len = (uint32_t)len;
			q->kind = 0;
			i += len;
		} else if (op == 1) {
			if (i + 2 > size)
				break;
			seal(&s, data[i], data[i + 1]);
			i += 2;
		} else if (op == 2) {
			const struct kept *k;
			struct pending *q;
			uint32_t off;

			if (i + 4 > size)
				break;
			k = &s.kept[data[i] % SLOTS];
			off = (uint32_t)(data[i + 1] | data[i + 2] << 8);
			if (k->valid) {
				q = push(&s);
				memcpy(q->b, k->b, k->len);
				q->len = k->len;
				q->seq = k->seq;
				q->kind = data[i + 3] ? 2 : 1;
				q->b[off % k->len] ^= data[i + 3];
			}
			i += 4;
		} else {
			flush(&s);
		}
	}
	flush(&s);
	esp_sa_destroy(s.out);
	esp_sa_destroy(s.in);
	return 0;
}
