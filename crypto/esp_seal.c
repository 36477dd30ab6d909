/* SPDX-License-Identifier: GPL-2.0-or-later */
/**
 * @file esp_seal.c
 * Outbound: ESP header, IV, trailer, AEAD, ICV (RFC 4303 section 3.3).
 */
#include <string.h>

#include "esp_internal.h"

/* Per-packet scratch that must outlive the prepare step until the AEAD ran. */
struct seal_scratch {
	uint8_t aad[ESP_AAD_MAX];
	uint8_t nonce[ESP_NONCE_LEN];
};

/*
 * RFC 4303 2.4: payload || padding || pad length || next header must end on a
 * 4-byte boundary (the AEADs here have block size 1). Default padding content
 * is 1, 2, 3, ... (2.4, "Padding").
 */
static inline uint32_t pad_len(uint32_t payload_len)
{
	return (4 - ((payload_len + 2) & 3)) & 3;
}

/** Highest sequence number the SA may send: no wrap (RFC 4303 3.3.3). */
static inline uint64_t seq_limit(const struct esp_sa *sa)
{
	return sa->esn ? UINT64_MAX : UINT32_MAX;
}

/*
 * Frame one packet and fill its AEAD op. Returns ESP_OK or the reason; no
 * sequence number is consumed by a packet that is rejected here.
 */
static enum esp_status seal_prepare(struct esp_sa *sa, struct esp_pkt *pkt,
				    struct esp_aead_op *op, struct seal_scratch *sc)
{
	uint32_t plen = pkt->len, pad = pad_len(plen), ctlen;
	uint64_t total = (uint64_t)ESP_PAYLOAD_OFF + plen + pad + 2 + ESP_ICV_LEN;
	uint8_t *trailer;
	uint64_t seq;

	if (sa->seq >= seq_limit(sa))
		return ESP_ERR_SA_EXPIRED;
	if (pkt->buf == NULL || total > pkt->room || total > UINT32_MAX)
		return ESP_ERR_NO_ROOM;

	seq = ++sa->seq;
	ctlen = plen + pad + 2;
	memcpy(pkt->buf, sa->spi_be, 4);
	esp_put32(pkt->buf + 4, (uint32_t)seq);
	/* IV = the 64-bit sequence number: unique per key for the SA's life
	 * (RFC 4106 section 3.1, RFC 7634 section 2), and costs no RNG call. */
	esp_put32(pkt->buf + 8, (uint32_t)(seq >> 32));
	esp_put32(pkt->buf + 12, (uint32_t)seq);

	trailer = pkt->buf + ESP_PAYLOAD_OFF + plen;
	for (uint32_t i = 0; i < pad; i++)
		trailer[i] = (uint8_t)(i + 1);
	trailer[pad] = (uint8_t)pad;
	trailer[pad + 1] = pkt->next_header;

	memcpy(sc->nonce, sa->salt, ESP_SALT_LEN);
	memcpy(sc->nonce + ESP_SALT_LEN, pkt->buf + 8, ESP_IV_LEN);
	op->aad_len = esp_build_aad(sc->aad, sa->spi_be, sa->esn, seq);
	op->aad = sc->aad;
	op->nonce = sc->nonce;
	op->data = pkt->buf + ESP_PAYLOAD_OFF;
	op->len = ctlen;
	op->tag = op->data + ctlen;

	pkt->seq = seq;
	pkt->len = (uint32_t)total;
	return ESP_OK;
}

uint16_t esp_seal_burst(struct esp_sa *sa, struct esp_pkt *pkts, uint16_t n)
{
	struct esp_aead_op ops[ESP_CHUNK];
	struct seal_scratch sc[ESP_CHUNK];
	uint64_t bytes = 0;
	uint16_t ok = 0;

	if (sa->dir != ESP_DIR_OUTBOUND) {
		/* Misuse: treat as a framing error rather than touching the window. */
		for (uint16_t i = 0; i < n; i++)
			pkts[i].status = ESP_ERR_LENGTH;
		esp_stat_add(&sa->st.errors[ESP_ERR_LENGTH], n);
		return 0;
	}
	for (uint16_t base = 0; base < n; base += ESP_CHUNK) {
		unsigned m = n - base < ESP_CHUNK ? (unsigned)(n - base) : ESP_CHUNK, k = 0;

		for (unsigned i = 0; i < m; i++) {
			struct esp_pkt *pkt = &pkts[base + i];
			uint32_t plen = pkt->len;
			enum esp_status st = seal_prepare(sa, pkt, &ops[k], &sc[k]);

			pkt->status = (uint8_t)st;
			if (st != ESP_OK) {
				esp_stat_add(&sa->st.errors[st], 1);
				continue;
			}
			bytes += plen;
			k++;
		}
		for (unsigned i = 0; i < k; i++)
			sa->aead->seal(&sa->ks, &ops[i]);
		ok += (uint16_t)k;
	}
	esp_stat_add(&sa->st.packets, ok);
	esp_stat_add(&sa->st.bytes, bytes);
	esp_stat_set(&sa->st.seq, sa->seq);
	return ok;
}
