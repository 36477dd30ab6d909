/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pairing.c: see pairing.h and docs/pairing.md.
 *
 * Messages (all integers big-endian):
 *   request  "ISP1" | 0 0 0 0 | spki_len(2) | B's SPKI | nonce(16) | mac1(32)
 *   reply    "ISP2" | status(4) | spki_len(2) | A's SPKI | nonce(16) | mac2(32)
 *   mac1 = HMAC-SHA-256(secret, "isthmus-pair-req" | A's fingerprint | B's SPKI | nonce)
 *   mac2 = HMAC-SHA-256(secret, "isthmus-pair-rep" | B's SPKI | A's SPKI | nonce)
 * mac1 proves B holds the token (the secret never travels); binding A's
 * fingerprint stops a token for one appliance being replayed to another. mac2
 * binds A's answer to B's request, and B also checks A's key against the
 * fingerprint, so a man in the middle without the token can do nothing.
 */
#include "pairing.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <sodium.h>

#define MAGIC_REQ "ISP1"
#define MAGIC_REP "ISP2"
#define HDR_LEN (4 + 4 + 2)
#define TOKEN_BIN_LEN (1 + 4 + 2 + PAIRING_FPR_LEN + PAIRING_SECRET_LEN + 8)
#define TOKEN_VERSION 1

const char *pairing_result_str(enum pairing_result r)
{
	switch (r) {
	case PAIRING_OK: return "paired";
	case PAIRING_RETRANSMIT: return "retransmitted request";
	case PAIRING_BAD_MESSAGE: return "malformed pairing message";
	case PAIRING_BAD_SECRET: return "wrong pairing token (secret does not match)";
	case PAIRING_USED: return "pairing token already used";
	case PAIRING_EXPIRED: return "pairing token expired";
	}
	return "?";
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

void pairing_offer_init(struct pairing_offer *o, uint32_t ip, uint16_t port,
			const uint8_t fpr[PAIRING_FPR_LEN], uint64_t now, unsigned ttl)
{
	memset(o, 0, sizeof(*o));
	o->t.ip = ip;
	o->t.port = port;
	memcpy(o->t.fpr, fpr, PAIRING_FPR_LEN);
	randombytes_buf(o->t.secret, sizeof(o->t.secret));
	o->t.expires = now + ttl;
}

void pairing_offer_wipe(struct pairing_offer *o)
{
	sodium_memzero(o, sizeof(*o));
}

int pairing_token_encode(const struct pairing_token *t, char *out, size_t len)
{
	uint8_t bin[TOKEN_BIN_LEN], *p = bin;
	size_t pre = strlen(PAIRING_TOKEN_PREFIX);

	if (len < pre + sodium_base64_ENCODED_LEN(TOKEN_BIN_LEN,
						  sodium_base64_VARIANT_URLSAFE_NO_PADDING))
		return -1;
	*p++ = TOKEN_VERSION;
	memcpy(p, &t->ip, 4);
	p += 4;
	*p++ = (uint8_t)(t->port >> 8);
	*p++ = (uint8_t)t->port;
	memcpy(p, t->fpr, PAIRING_FPR_LEN);
	p += PAIRING_FPR_LEN;
	memcpy(p, t->secret, PAIRING_SECRET_LEN);
	p += PAIRING_SECRET_LEN;
	put64(p, t->expires);
	memcpy(out, PAIRING_TOKEN_PREFIX, pre);
	sodium_bin2base64(out + pre, len - pre, bin, sizeof(bin),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(bin, sizeof(bin));
	return 0;
}

int pairing_token_decode(const char *s, struct pairing_token *t, char *err, size_t errlen)
{
	uint8_t bin[TOKEN_BIN_LEN + 1], *p = bin;
	size_t pre = strlen(PAIRING_TOKEN_PREFIX), n = 0;

	if (strncmp(s, PAIRING_TOKEN_PREFIX, pre) != 0) {
		snprintf(err, errlen, "not an Isthmus pairing token (it starts with '%s')",
			 PAIRING_TOKEN_PREFIX);
		return -1;
	}
	if (sodium_base642bin(bin, sizeof(bin), s + pre, strlen(s + pre), NULL, &n, NULL,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    n != TOKEN_BIN_LEN) {
		snprintf(err, errlen, "pairing token is damaged (copy it again, whole)");
		return -1;
	}
	if (*p++ != TOKEN_VERSION) {
		snprintf(err, errlen, "pairing token from another Isthmus version");
		return -1;
	}
	memcpy(&t->ip, p, 4);
	p += 4;
	t->port = (uint16_t)(p[0] << 8 | p[1]);
	p += 2;
	memcpy(t->fpr, p, PAIRING_FPR_LEN);
	p += PAIRING_FPR_LEN;
	memcpy(t->secret, p, PAIRING_SECRET_LEN);
	p += PAIRING_SECRET_LEN;
	t->expires = get64(p);
	sodium_memzero(bin, sizeof(bin));
	return 0;
}

static void mac(const uint8_t secret[PAIRING_SECRET_LEN], const char *label,
		const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
		const uint8_t nonce[PAIRING_NONCE_LEN], uint8_t out[PAIRING_MAC_LEN])
{
	crypto_auth_hmacsha256_state st;

	crypto_auth_hmacsha256_init(&st, secret, PAIRING_SECRET_LEN);
	crypto_auth_hmacsha256_update(&st, (const uint8_t *)label, strlen(label));
	crypto_auth_hmacsha256_update(&st, a, alen);
	crypto_auth_hmacsha256_update(&st, b, blen);
	crypto_auth_hmacsha256_update(&st, nonce, PAIRING_NONCE_LEN);
	crypto_auth_hmacsha256_final(&st, out);
	sodium_memzero(&st, sizeof(st));
}

/* Lay out a message; @return its length. */
static size_t build(const char *magic, uint32_t status, const uint8_t *spki, size_t spki_len,
		    const uint8_t nonce[PAIRING_NONCE_LEN], uint8_t *out)
{
	uint32_t st = htonl(status);
	uint8_t *p = out;

	memcpy(p, magic, 4);
	memcpy(p + 4, &st, 4);
	p[8] = (uint8_t)(spki_len >> 8);
	p[9] = (uint8_t)spki_len;
	p += HDR_LEN;
	if (spki_len)
		memcpy(p, spki, spki_len);
	p += spki_len;
	memcpy(p, nonce, PAIRING_NONCE_LEN);
	return (size_t)(p - out) + PAIRING_NONCE_LEN + PAIRING_MAC_LEN;
}

/* Split a message; @return 0 if well-formed. A message carries either a key
 * (status 0) or, for a refusal, a status and no key; a request always carries
 * B's key (without this check an authenticated request with a status and no
 * key was taken as a request from an empty key, and used the offer). */
static int parse(const char *magic, const uint8_t *msg, size_t len, const uint8_t **spki,
		 size_t *spki_len, const uint8_t **nonce, const uint8_t **m)
{
	size_t n;
	uint32_t status;

	if (len < HDR_LEN + PAIRING_NONCE_LEN + PAIRING_MAC_LEN || memcmp(msg, magic, 4) != 0)
		return -1;
	memcpy(&status, msg + 4, 4);
	n = (size_t)(msg[8] << 8 | msg[9]);
	if ((n == 0) == (status == 0) || n > PAIRING_SPKI_MAX ||
	    (!strcmp(magic, MAGIC_REQ) && status != 0) ||
	    len != HDR_LEN + n + PAIRING_NONCE_LEN + PAIRING_MAC_LEN)
		return -1;
	*spki = msg + HDR_LEN;
	*spki_len = n;
	*nonce = *spki + n;
	*m = *nonce + PAIRING_NONCE_LEN;
	return 0;
}

size_t pairing_request(const struct pairing_token *t, const uint8_t *spki, size_t spki_len,
		       uint8_t nonce[PAIRING_NONCE_LEN], uint8_t *out, size_t outlen)
{
	size_t n;

	if (spki_len == 0 || spki_len > PAIRING_SPKI_MAX ||
	    outlen < HDR_LEN + spki_len + PAIRING_NONCE_LEN + PAIRING_MAC_LEN)
		return 0;
	randombytes_buf(nonce, PAIRING_NONCE_LEN);
	n = build(MAGIC_REQ, 0, spki, spki_len, nonce, out);
	mac(t->secret, "isthmus-pair-req", t->fpr, PAIRING_FPR_LEN, spki, spki_len, nonce,
	    out + n - PAIRING_MAC_LEN);
	return n;
}

enum pairing_result pairing_handle_request(struct pairing_offer *o, const uint8_t *spki,
					   size_t spki_len, const uint8_t *msg, size_t len,
					   uint64_t now, uint8_t *peer_spki, size_t *peer_len)
{
	const uint8_t *b_spki, *nonce, *m;
	uint8_t want[PAIRING_MAC_LEN], h[32];
	size_t b_len, n;

	if (parse(MAGIC_REQ, msg, len, &b_spki, &b_len, &nonce, &m) < 0)
		return PAIRING_BAD_MESSAGE;
	if (now > o->t.expires)
		return PAIRING_EXPIRED;
	mac(o->t.secret, "isthmus-pair-req", o->t.fpr, PAIRING_FPR_LEN, b_spki, b_len, nonce, want);
	if (sodium_memcmp(want, m, PAIRING_MAC_LEN) != 0)
		return PAIRING_BAD_SECRET;
	crypto_hash_sha256(h, msg, len);
	if (o->used)
		return sodium_memcmp(h, o->req_hash, sizeof(h)) == 0 ? PAIRING_RETRANSMIT
								      : PAIRING_USED;
	if (spki_len > PAIRING_SPKI_MAX)
		return PAIRING_BAD_MESSAGE;
	n = build(MAGIC_REP, 0, spki, spki_len, nonce, o->reply);
	mac(o->t.secret, "isthmus-pair-rep", b_spki, b_len, spki, spki_len, nonce,
	    o->reply + n - PAIRING_MAC_LEN);
	o->reply_len = n;
	o->used = true;
	memcpy(o->req_hash, h, sizeof(h));
	memcpy(peer_spki, b_spki, b_len);
	*peer_len = b_len;
	return PAIRING_OK;
}

size_t pairing_refusal(enum pairing_result r, const uint8_t *req, size_t req_len, uint8_t *out,
			size_t outlen)
{
	const uint8_t *spki, *nonce, *m;
	size_t spki_len, n;

	if (outlen < HDR_LEN + PAIRING_NONCE_LEN + PAIRING_MAC_LEN ||
	    parse(MAGIC_REQ, req, req_len, &spki, &spki_len, &nonce, &m) < 0)
		return 0;
	n = build(MAGIC_REP, (uint32_t)r, NULL, 0, nonce, out);
	memset(out + n - PAIRING_MAC_LEN, 0, PAIRING_MAC_LEN);
	return n;
}

int pairing_check_reply(const struct pairing_token *t, const uint8_t *spki, size_t spki_len,
			const uint8_t nonce[PAIRING_NONCE_LEN], const uint8_t *msg, size_t len,
			uint8_t *peer_spki, size_t *peer_len, char *err, size_t errlen)
{
	const uint8_t *a_spki, *rnonce, *m;
	uint8_t want[PAIRING_MAC_LEN], fpr[PAIRING_FPR_LEN];
	size_t a_len;

	if (parse(MAGIC_REP, msg, len, &a_spki, &a_len, &rnonce, &m) < 0) {
		snprintf(err, errlen, "malformed pairing reply");
		return -1;
	}
	if (sodium_memcmp(rnonce, nonce, PAIRING_NONCE_LEN) != 0) {
		snprintf(err, errlen, "pairing reply to another request");
		return -1;
	}
	if (a_len == 0) {
		/* a refusal: unauthenticated (B's token may be wrong), so only reported */
		uint32_t st;

		memcpy(&st, msg + 4, 4);
		snprintf(err, errlen, "the peer refused: %s",
			 pairing_result_str((enum pairing_result)ntohl(st)));
		return -1;
	}
	mac(t->secret, "isthmus-pair-rep", spki, spki_len, a_spki, a_len, nonce, want);
	if (sodium_memcmp(want, m, PAIRING_MAC_LEN) != 0) {
		snprintf(err, errlen, "pairing reply not authenticated by the token's secret");
		return -1;
	}
	crypto_hash_sha256(fpr, a_spki, a_len);
	if (sodium_memcmp(fpr, t->fpr, PAIRING_FPR_LEN) != 0) {
		snprintf(err, errlen, "the peer's key does not match the fingerprint in the token: "
			 "refusing to pair");
		return -1;
	}
	memcpy(peer_spki, a_spki, a_len);
	*peer_len = a_len;
	return 0;
}

/* Whether @p msg answers the request with @p nonce in a way only A (or
 * someone on the path, who could as well drop the answer) can: a refusal
 * echoing the nonce, or a reply authenticated with the token's secret. */
static bool final_answer(const struct pairing_token *t, const uint8_t *spki, size_t spki_len,
			 const uint8_t nonce[PAIRING_NONCE_LEN], const uint8_t *msg, size_t len)
{
	const uint8_t *a_spki, *rnonce, *m;
	uint8_t want[PAIRING_MAC_LEN];
	size_t a_len;

	if (parse(MAGIC_REP, msg, len, &a_spki, &a_len, &rnonce, &m) < 0 ||
	    sodium_memcmp(rnonce, nonce, PAIRING_NONCE_LEN) != 0)
		return false;
	if (a_len == 0)
		return true;
	mac(t->secret, "isthmus-pair-rep", spki, spki_len, a_spki, a_len, nonce, want);
	return sodium_memcmp(want, m, PAIRING_MAC_LEN) == 0;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int pairing_run(int fd, const struct pairing_token *t, const uint8_t *spki, size_t spki_len,
		int tries, int wait_ms, uint8_t *peer_spki, size_t *peer_len, unsigned *stray,
		char *err, size_t errlen)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_addr.s_addr = t->ip,
				  .sin_port = htons(t->port) };
	uint8_t req[PAIRING_MSG_MAX], rep[PAIRING_MSG_MAX + 1], nonce[PAIRING_NONCE_LEN];
	size_t req_len = pairing_request(t, spki, spki_len, nonce, req, sizeof(req));
	char why[256], addr[INET_ADDRSTRLEN];

	*stray = 0;
	if (req_len == 0) {
		snprintf(err, errlen, "our key does not fit a pairing message");
		return -1;
	}
	/* the same request each time: site A recognises a retransmission */
	for (int i = 0; i < tries; i++) {
		int64_t deadline = mono_ms() + wait_ms, left;

		sendto(fd, req, req_len, 0, (struct sockaddr *)&to, sizeof(to));
		while ((left = deadline - mono_ms()) > 0) {
			struct pollfd pfd = { .fd = fd, .events = POLLIN };
			struct sockaddr_in from;
			socklen_t fromlen = sizeof(from);
			ssize_t n;
			int r = poll(&pfd, 1, (int)left);

			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				break;
			n = recvfrom(fd, rep, sizeof(rep), 0, (struct sockaddr *)&from, &fromlen);
			if (n <= 0)
				continue;
			if (fromlen < sizeof(from) || from.sin_family != AF_INET ||
			    from.sin_addr.s_addr != t->ip || from.sin_port != to.sin_port) {
				(*stray)++;
				continue;
			}
			if (pairing_check_reply(t, spki, spki_len, nonce, rep, (size_t)n, peer_spki,
						peer_len, why, sizeof(why)) == 0)
				return 0;
			if (final_answer(t, spki, spki_len, nonce, rep, (size_t)n)) {
				snprintf(err, errlen, "%s", why);
				return -1;
			}
			(*stray)++;
		}
	}
	inet_ntop(AF_INET, &t->ip, addr, sizeof(addr));
	snprintf(err, errlen, "no answer from %s:%u (is isthmusd running there, and the token "
		 "open?)", addr, t->port);
	return -1;
}
