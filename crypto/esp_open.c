/* SPDX-License-Identifier: GPL-2.0-or-later */
/**
 * @file esp_open.c
 * Inbound: length, SPI, anti-replay, ICV + decryption, trailer, window update,
 * in the order RFC 4303 section 3.4 gives (cheap rejects before any crypto).
 */
#include <string.h>

#include "esp_internal.h"

/* Shortest valid packet: header, IV, 4 bytes of ciphertext (pad to 4 with pad
 * length and next header), ICV. */
#define ESP_MIN_LEN (ESP_PAYLOAD_OFF + 4 + ESP_ICV_LEN)

struct open_scratch {
	uint8_t aad[ESP_AAD_MAX];
	uint8_t nonce[ESP_NONCE_LEN];
	uint64_t seq;
	uint16_t idx; /* index into the burst */
};

/* Steps 1-3: everything that can reject a packet without touching the key. */
static enum esp_status open_prepare(struct esp_sa *sa, struct esp_pkt *pkt,
				    struct esp_aead_op *op, struct open_scratch *sc)
{
	uint32_t ctlen;
	uint32_t seq_low;
	uint64_t seq;
	enum esp_status st;

	/* RFC 4303 2.4: the ciphertext ends on a 4-byte boundary. */
	if (pkt->buf == NULL || pkt->len < ESP_MIN_LEN || (pkt->len - ESP_PAYLOAD_OFF) % 4 != 0)
		return ESP_ERR_LENGTH;
	if (memcmp(pkt->buf, sa->spi_be, 4) != 0)
		return ESP_ERR_SPI;
	seq_low = esp_get32(pkt->buf + 4);
	/* With ESN only the low half travels; infer the high half (RFC 4303 App. A). */
	seq = sa->esn ? replay_esn_infer(&sa->rp, seq_low) : seq_low;
	st = replay_check(&sa->rp, seq);
	if (st != ESP_OK)
		return st;

	ctlen = pkt->len - ESP_PAYLOAD_OFF - ESP_ICV_LEN;
	memcpy(sc->nonce, sa->salt, ESP_SALT_LEN);
	memcpy(sc->nonce + ESP_SALT_LEN, pkt->buf + ESP_HDR_LEN, ESP_IV_LEN);
	/* The AAD is rebuilt from the received SPI/seq (equal to ours, checked). */
	op->aad_len = esp_build_aad(sc->aad, sa->spi_be, sa->esn, seq);
	op->aad = sc->aad;
	op->nonce = sc->nonce;
	op->data = pkt->buf + ESP_PAYLOAD_OFF;
	op->len = ctlen;
	op->tag = op->data + ctlen;
	sc->seq = seq;
	return ESP_OK;
}

/*
 * RFC 4303 2.4: pad length <= what is there, and with the default padding
 * scheme the receiver SHOULD check the bytes are 1, 2, 3, ... Any pad length
 * up to 255 is accepted (peers may pad to a block size or for TFC).
 */
static enum esp_status open_trailer(struct esp_pkt *pkt, uint32_t ctlen, uint32_t *plen)
{
	const uint8_t *pt = pkt->buf + ESP_PAYLOAD_OFF;
	uint32_t pad = pt[ctlen - 2];

	if (pad > ctlen - 2)
		return ESP_ERR_PADDING;
	for (uint32_t i = 0; i < pad; i++) {
		if (pt[ctlen - 2 - pad + i] != (uint8_t)(i + 1))
			return ESP_ERR_PADDING;
	}
	pkt->next_header = pt[ctlen - 1];
	*plen = ctlen - 2 - pad;
	return ESP_OK;
}

uint16_t esp_open_burst(struct esp_sa *sa, struct esp_pkt *pkts, uint16_t n)
{
	struct esp_aead_op ops[ESP_CHUNK];
	struct open_scratch sc[ESP_CHUNK];
	int res[ESP_CHUNK];
	uint64_t bytes = 0;
	uint16_t ok = 0;

	if (sa->dir != ESP_DIR_INBOUND) {
		for (uint16_t i = 0; i < n; i++)
			pkts[i].status = ESP_ERR_SPI; /* not an inbound SA: no SA for it */
		esp_stat_add(&sa->st.errors[ESP_ERR_SPI], n);
		return 0;
	}
	for (uint16_t base = 0; base < n; base += ESP_CHUNK) {
		unsigned m = n - base < ESP_CHUNK ? (unsigned)(n - base) : ESP_CHUNK, k = 0;

		for (unsigned i = 0; i < m; i++) {
			struct esp_pkt *pkt = &pkts[base + i];
			enum esp_status st = open_prepare(sa, pkt, &ops[k], &sc[k]);

			pkt->status = (uint8_t)st;
			if (st != ESP_OK) {
				esp_stat_add(&sa->st.errors[st], 1);
				continue;
			}
			sc[k].idx = (uint16_t)(base + i);
			k++;
		}
		for (unsigned i = 0; i < k; i++)
			res[i] = sa->aead->open(&sa->ks, &ops[i]);
		/* In burst order, so a duplicate inside one burst meets the window
		 * as its first copy left it. */
		for (unsigned i = 0; i < k; i++) {
			struct esp_pkt *pkt = &pkts[sc[i].idx];
			enum esp_status st;
			uint32_t plen = 0;

			if (res[i] != 0)
				st = ESP_ERR_ICV;
			else if ((st = replay_check(&sa->rp, sc[i].seq)) == ESP_OK)
				st = open_trailer(pkt, ops[i].len, &plen);
			pkt->status = (uint8_t)st;
			if (st != ESP_OK) {
				esp_stat_add(&sa->st.errors[st], 1);
				continue;
			}
			/* RFC 4303 3.4.3: the window moves only for authentic packets. */
			replay_update(&sa->rp, sc[i].seq);
			pkt->len = plen;
			pkt->seq = sc[i].seq;
			bytes += plen;
			ok++;
		}
	}
	esp_stat_add(&sa->st.packets, ok);
	esp_stat_add(&sa->st.bytes, bytes);
	esp_stat_set(&sa->st.seq, sa->rp.top);
	return ok;
}
