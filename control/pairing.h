/* SPDX-License-Identifier: GPL-2.0-or-later */
/**
 * @file pairing.h
 * One-time pairing of two appliances (docs/pairing.md): site A prints a token
 * (its underlay address, its key fingerprint, a one-time secret, an expiry);
 * the operator enters it at site B; B sends its public key, authenticated with
 * the secret; A pins it and answers with its own key, authenticated the same
 * way; B checks that key against the fingerprint in the token and pins it.
 * From then on every IKE_SA authenticates with the pinned keys.
 *
 * Pure C on libsodium (HMAC-SHA-256, SHA-256, base64url): unit-testable
 * without charon. The keys travel as SubjectPublicKeyInfo DER, the form the
 * fingerprint (SHA-256) is taken over.
 */
#ifndef ISTHMUS_PAIRING_H
#define ISTHMUS_PAIRING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PAIRING_PORT_DEFAULT 4501
#define PAIRING_TTL_DEFAULT 900      /**< seconds a token stays valid */
#define PAIRING_TTL_MAX 86400        /**< longest validity asked for (isthmusctl --ttl 24h) */
#define PAIRING_SECRET_LEN 16
#define PAIRING_FPR_LEN 32
#define PAIRING_NONCE_LEN 16
#define PAIRING_MAC_LEN 32
#define PAIRING_SPKI_MAX 512         /**< Ed25519 SPKI is 44 bytes; RSA would be more */
#define PAIRING_TOKEN_PREFIX "isthmus1-"
#define PAIRING_TOKEN_MAX 128        /**< encoded token, with NUL */
#define PAIRING_MSG_MAX (8 + 2 + PAIRING_SPKI_MAX + PAIRING_NONCE_LEN + PAIRING_MAC_LEN)

/** What a token carries. */
struct pairing_token {
	uint32_t ip;                        /**< site A underlay address, network order */
	uint16_t port;                      /**< site A pairing port, host order */
	uint8_t fpr[PAIRING_FPR_LEN];       /**< SHA-256 of A's SPKI */
	uint8_t secret[PAIRING_SECRET_LEN]; /**< one-time secret */
	uint64_t expires;                   /**< unix time */
};

/** Site A's open offer: the token and what became of it. */
struct pairing_offer {
	struct pairing_token t;
	bool used;
	uint8_t req_hash[32];               /**< the request that used it (retransmissions) */
	uint8_t reply[PAIRING_MSG_MAX];
	size_t reply_len;
};

/** Result of handling a request at site A. */
enum pairing_result {
	PAIRING_OK = 0,         /**< new peer key: pin it */
	PAIRING_RETRANSMIT,     /**< the same request again: resend the reply, nothing to pin */
	PAIRING_BAD_MESSAGE,    /**< malformed */
	PAIRING_BAD_SECRET,     /**< authenticated with another secret: wrong token */
	PAIRING_USED,           /**< token already used by another request */
	PAIRING_EXPIRED,        /**< token expired */
};

/** Human-readable result. */
const char *pairing_result_str(enum pairing_result r);

/** Make a fresh offer (random secret) valid for @p ttl seconds from @p now. */
void pairing_offer_init(struct pairing_offer *o, uint32_t ip, uint16_t port,
			const uint8_t fpr[PAIRING_FPR_LEN], uint64_t now, unsigned ttl);

/** Wipe an offer (the secret). */
void pairing_offer_wipe(struct pairing_offer *o);

/** Encode a token as "isthmus1-" + base64url. @return 0, or -1 if @p len is too small */
int pairing_token_encode(const struct pairing_token *t, char *out, size_t len);

/** Decode a token. @return 0, or -1 with a reason in @p err */
int pairing_token_decode(const char *s, struct pairing_token *t, char *err, size_t errlen);

/**
 * Site B: build the request for token @p t, carrying our key @p spki.
 * @param nonce out: a fresh nonce, needed to check the reply
 * @return message length, or 0 if @p outlen is too small / the key too large
 */
size_t pairing_request(const struct pairing_token *t, const uint8_t *spki, size_t spki_len,
		       uint8_t nonce[PAIRING_NONCE_LEN], uint8_t *out, size_t outlen);

/**
 * Site A: check a request against the offer; on PAIRING_OK the peer's key is
 * in @p peer_spki and the reply (our key @p spki, authenticated) in
 * o->reply; on PAIRING_RETRANSMIT o->reply is to be sent again.
 */
enum pairing_result pairing_handle_request(struct pairing_offer *o, const uint8_t *spki,
					   size_t spki_len, const uint8_t *msg, size_t len,
					   uint64_t now, uint8_t *peer_spki, size_t *peer_len);

/**
 * Site A: the refusal to send for a request that was not accepted (it echoes
 * the request's nonce so B can report the reason).
 * @return its length, or 0 if the request is too malformed to answer
 */
size_t pairing_refusal(enum pairing_result r, const uint8_t *req, size_t req_len, uint8_t *out,
		       size_t outlen);

/**
 * Site B: check A's reply: authenticated with the token's secret, bound to
 * our request, and carrying the key whose fingerprint the token names.
 * @return 0 with A's key in @p peer_spki, or -1 with a reason in @p err
 */
int pairing_check_reply(const struct pairing_token *t, const uint8_t *spki, size_t spki_len,
			const uint8_t nonce[PAIRING_NONCE_LEN], const uint8_t *msg, size_t len,
			uint8_t *peer_spki, size_t *peer_len, char *err, size_t errlen);

/**
 * Site B: the whole exchange for token @p t over UDP socket @p fd (bound to
 * our pairing port): send the request, wait up to @p wait_ms for A's answer,
 * send the same request again, @p tries times in all. Only an answer from
 * the token's address that carries our request's nonce ends it: A's key
 * (authenticated, matching the fingerprint), a refusal, or an authenticated
 * reply with another key. Any other datagram on the port (garbage, a stray
 * or forged reply) is counted in @p stray and ignored, so that it cannot
 * abort a pairing in progress.
 * @return 0 with A's key in @p peer_spki, or -1 with a reason in @p err
 */
int pairing_run(int fd, const struct pairing_token *t, const uint8_t *spki, size_t spki_len,
		int tries, int wait_ms, uint8_t *peer_spki, size_t *peer_len, unsigned *stray,
		char *err, size_t errlen);

#endif
