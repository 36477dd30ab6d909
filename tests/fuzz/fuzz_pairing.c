/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer harness for the pairing messages on UDP 4501 (control/pairing.c,
 * docs/pairing.md): site A's handling of requests (pairing_handle_request()
 * and, for what it refuses, pairing_refusal(): what isthmusd's listener sends
 * back), site B's check of the answer (pairing_check_reply()), and
 * pairing_token_decode() of a pasted token.
 *
 * Site A holds one open offer whose secret the harness knows, so the input
 * can carry requests and replies authenticated with it, not only garbage:
 *
 *   byte 0   configuration: bits 0-1 A's key (an Ed25519 SPKI, 1 byte, the
 *            largest that fits, one byte too large), bit 2 a 60-s token (else 900 s)
 *   then ops, each an opcode byte (low 3 bits; bit 3 a modifier):
 *     0 raw request     u16 length (LE), bytes: an arbitrary datagram to A
 *     1 request         u8 B's key, u8 nonce, u8 flags (bit 0 another secret,
 *                       bit 1 another fingerprint, bit 2 a status, bit 3 another
 *                       label): built and MACed here, sent to A, kept in a slot;
 *                       bit 4: built by B's pairing_request() instead (its own
 *                       random nonce: the outcome does not depend on its value)
 *     2 replay          u8 slot; with bit 3: u16 offset (LE), u8 xor: a kept
 *                       request again, one byte changed
 *     3 time            u8 unit (0 s, else min), u16 amount (LE): A's clock advances
 *     4 raw reply       u16 length (LE), bytes: to B, waiting on its last request
 *     5 reply           u8 A's key, u8 status (0: a key, else a refusal),
 *                       u8 flags (bit 0 another secret, bit 1 another nonce, bit 2
 *                       another B key, bit 3 another label, bit 4 MAC zeroed):
 *                       built here, to B
 *     6 A's answer      what A answered last with a key, to B (the real exchange)
 *     7 token           u8 kind: 0 encode/decode the offer's token; 1 u8 length,
 *                       text: decode a pasted token; 2 u8 position, u8 xor, u8
 *                       cut: the offer's token altered, decoded
 *
 * Checked on every op (abort() on violation), against what the harness
 * computes from the input itself (its own parse and HMAC of the layout in
 * docs/pairing.md):
 *   - A's result is the expected one (malformed, expired, wrong secret, used,
 *     retransmission, paired) and the offer pins at most once: a replayed
 *     valid request gets the first answer again byte for byte, never a second
 *     pairing;
 *   - A's answer: a key only to a request authenticated with the secret,
 *     bound to it (nonce, MAC over B's key and A's key); every other answer a
 *     refusal (status, no key, zero MAC, the request's nonce), and none to a
 *     message too malformed to carry a nonce; at most one per request;
 *   - B accepts a reply exactly when it is A's well-formed key reply to its
 *     request, authenticated with the token's secret, with the key the token's
 *     fingerprint names; a refusal is reported, never accepted;
 *   - a decoded token re-encodes to the same token; a refused one has a
 *     message; no output (answers, error messages) contains the secret.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <sodium.h>

#include "pairing.h"

#define HDR 10
#define SLOTS 8
#define NKEYS 5

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t SECRET[PAIRING_SECRET_LEN] = {
	0x53, 0x65, 0x63, 0x72, 0x65, 0x74, 0x21, 0xa5, 0x5a, 0xc3, 0x3c, 0x0f, 0xf0, 0x99, 0x66, 0x11,
};
static const uint8_t OTHER_SECRET[PAIRING_SECRET_LEN] = { 1 };

struct key {
	uint8_t b[PAIRING_SPKI_MAX + 1];
	size_t len;
};

static struct key keys[NKEYS]; /* 0: Ed25519 SPKI, 1: 1 byte, 2: the largest, 3: too large, 4: empty */

struct req {
	uint8_t b[PAIRING_MSG_MAX + 64];
	size_t len;
	bool valid;
};

struct state {
	struct pairing_offer o;
	uint64_t now;
	struct key *a;          /* A's key */
	unsigned pinned;        /* PAIRING_OK results */
	uint8_t used_req[PAIRING_MSG_MAX + 64];
	size_t used_len;
	struct req slot[SLOTS];
	unsigned nslot;
	/* B, waiting on its last request */
	uint8_t b_nonce[PAIRING_NONCE_LEN];
	const struct key *b_key;
	/* A's last answer with a key, and the request it answered */
	uint8_t answer[PAIRING_MSG_MAX];
	size_t answer_len;
	uint8_t ans_nonce[PAIRING_NONCE_LEN];
	const struct key *ans_b;
};

static void check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_pairing: invariant violated: %s\n", what);
		abort();
	}
}

static void no_secret(const void *p, size_t len, const char *where)
{
	if (len >= PAIRING_SECRET_LEN && memmem(p, len, SECRET, PAIRING_SECRET_LEN)) {
		fprintf(stderr, "fuzz_pairing: the token's secret in %s\n", where);
		abort();
	}
}

static void init_keys(void)
{
	static const uint8_t ed25519_spki[12] = { 0x30, 0x2a, 0x30, 0x05, 0x06, 0x03,
						  0x2b, 0x65, 0x70, 0x03, 0x21, 0x00 };
	static const size_t lens[NKEYS] = { 44, 1, PAIRING_SPKI_MAX, PAIRING_SPKI_MAX + 1, 0 };

	for (int k = 0; k < NKEYS; k++) {
		keys[k].len = lens[k];
		for (size_t i = 0; i < lens[k]; i++)
			keys[k].b[i] = (uint8_t)(0x40 + 7 * k + i);
	}
	memcpy(keys[0].b, ed25519_spki, sizeof(ed25519_spki));
}

/* HMAC-SHA-256(secret, label | a | b | nonce): docs/pairing.md, computed here. */
static void hmac(const uint8_t *secret, const char *label, const uint8_t *a, size_t alen,
		 const uint8_t *b, size_t blen, const uint8_t *nonce, uint8_t out[32])
{
	crypto_auth_hmacsha256_state st;

	crypto_auth_hmacsha256_init(&st, secret, PAIRING_SECRET_LEN);
	crypto_auth_hmacsha256_update(&st, (const uint8_t *)label, strlen(label));
	crypto_auth_hmacsha256_update(&st, a, alen);
	crypto_auth_hmacsha256_update(&st, b, blen);
	crypto_auth_hmacsha256_update(&st, nonce, PAIRING_NONCE_LEN);
	crypto_auth_hmacsha256_final(&st, out);
}

/* The layout: magic, status(4), key length(2), key, nonce, MAC. */
static size_t lay_out(uint8_t *out, const char *magic, uint32_t status, const struct key *k,
		      const uint8_t *nonce)
{
	size_t klen = k ? k->len : 0;

	memcpy(out, magic, 4);
	status = htonl(status);
	memcpy(out + 4, &status, 4);
	out[8] = (uint8_t)(klen >> 8);
	out[9] = (uint8_t)klen;
	if (klen)
		memcpy(out + HDR, k->b, klen);
	memcpy(out + HDR + klen, nonce, PAIRING_NONCE_LEN);
	return HDR + klen + PAIRING_NONCE_LEN + PAIRING_MAC_LEN;
}

struct view {
	uint32_t status;
	const uint8_t *key, *nonce, *mac;
	size_t key_len;
};

/* The harness's own reading of a message: well-formed or not. */
static bool view(const char *magic, const uint8_t *m, size_t len, struct view *v)
{
	uint32_t st;
	size_t n;

	if (len < HDR + PAIRING_NONCE_LEN + PAIRING_MAC_LEN || memcmp(m, magic, 4))
		return false;
	memcpy(&st, m + 4, 4);
	n = (size_t)m[8] << 8 | m[9];
	/* a request carries B's key (status 0); a reply A's key or, as a
	 * refusal, a status and no key (docs/pairing.md) */
	if (n > PAIRING_SPKI_MAX || (n == 0) == (st == 0) || (!strcmp(magic, "ISP1") && st != 0) ||
	    len != HDR + n + PAIRING_NONCE_LEN + PAIRING_MAC_LEN)
		return false;
	*v = (struct view){ ntohl(st), m + HDR, m + HDR + n, m + HDR + n + PAIRING_NONCE_LEN, n };
	return true;
}

/* Site A takes a datagram; what isthmusd's listener answers is checked. */
static void to_a(struct state *s, const uint8_t *msg, size_t len)
{
	uint8_t peer[PAIRING_SPKI_MAX + 1], want[32], out[PAIRING_MSG_MAX];
	enum pairing_result r, expect;
	size_t peer_len = 0, out_len = 0;
	struct view v;
	bool wf = view("ISP1", msg, len, &v), auth = false;

	/* what A must say, from the input alone */
	if (!wf)
		expect = PAIRING_BAD_MESSAGE;
	else if (s->now > s->o.t.expires)
		expect = PAIRING_EXPIRED;
	else {
		hmac(SECRET, "isthmus-pair-req", s->o.t.fpr, PAIRING_FPR_LEN, v.key, v.key_len, v.nonce,
		     want);
		auth = !memcmp(want, v.mac, 32);
		if (!auth)
			expect = PAIRING_BAD_SECRET;
		else if (s->pinned)
			expect = len == s->used_len && !memcmp(msg, s->used_req, len) ? PAIRING_RETRANSMIT
										 : PAIRING_USED;
		else if (s->a->len > PAIRING_SPKI_MAX)
			expect = PAIRING_BAD_MESSAGE;
		else
			expect = PAIRING_OK;
	}
	r = pairing_handle_request(&s->o, s->a->b, s->a->len, msg, len, s->now, peer, &peer_len);
	if (r != expect) {
		fprintf(stderr, "fuzz_pairing: result %d, expected %d\n", r, expect);
		check(false, "A's result");
	}
	/* the answer, as pairing_svc.c's listener sends it: one at most */
	if (r == PAIRING_OK || r == PAIRING_RETRANSMIT) {
		check(auth, "a key answer to an unauthenticated request");
		check(s->o.reply_len > 0 && s->o.reply_len <= sizeof(out), "reply length");
		memcpy(out, s->o.reply, s->o.reply_len);
		out_len = s->o.reply_len;
	} else {
		out_len = pairing_refusal(r, msg, len, out, sizeof(out));
	}
	no_secret(out, out_len, "A's answer");
	if (r == PAIRING_OK) {
		struct view a;

		check(++s->pinned == 1, "the offer pinned twice");
		check(peer_len == v.key_len && !memcmp(peer, v.key, peer_len), "pinned another key");
		check(view("ISP2", out, out_len, &a) && a.status == 0, "the reply is malformed");
		check(a.key_len == s->a->len && !memcmp(a.key, s->a->b, a.key_len), "reply carries another key");
		check(!memcmp(a.nonce, v.nonce, PAIRING_NONCE_LEN), "reply not bound to the request");
		hmac(SECRET, "isthmus-pair-rep", v.key, v.key_len, s->a->b, s->a->len, v.nonce, want);
		check(!memcmp(a.mac, want, 32), "reply MAC");
		memcpy(s->used_req, msg, len);
		s->used_len = len;
		memcpy(s->answer, out, out_len);
		s->answer_len = out_len;
		memcpy(s->ans_nonce, v.nonce, PAIRING_NONCE_LEN);
		s->ans_b = NULL;
		for (int k = 0; k < NKEYS; k++)
			if (keys[k].len == v.key_len && !memcmp(keys[k].b, v.key, v.key_len))
				s->ans_b = &keys[k];
	} else if (r == PAIRING_RETRANSMIT) {
		check(out_len == s->answer_len && !memcmp(out, s->answer, out_len),
		      "a retransmission answered differently");
	} else {
		struct view a;

		if (!wf) {
			check(out_len == 0, "an answer to a message without a nonce");
			return;
		}
		check(view("ISP2", out, out_len, &a), "a malformed refusal");
		check(a.status == (uint32_t)r && a.key_len == 0, "a refusal with a key");
		check(!memcmp(a.nonce, v.nonce, PAIRING_NONCE_LEN), "a refusal not echoing the nonce");
		for (int i = 0; i < 32; i++)
			check(a.mac[i] == 0, "a refusal with a MAC");
	}
}

/* Site B checks an answer to its last request. */
static void to_b(struct state *s, const uint8_t *msg, size_t len, const uint8_t *nonce,
		 const struct key *bk)
{
	uint8_t peer[PAIRING_SPKI_MAX + 1], want[32], fpr[32];
	char err[256] = "";
	size_t peer_len = 0;
	struct view v;
	bool expect = false;
	int rc;

	if (view("ISP2", msg, len, &v) && v.status == 0 &&
	    !memcmp(v.nonce, nonce, PAIRING_NONCE_LEN)) {
		hmac(SECRET, "isthmus-pair-rep", bk->b, bk->len, v.key, v.key_len, nonce, want);
		crypto_hash_sha256(fpr, v.key, v.key_len);
		expect = !memcmp(want, v.mac, 32) && !memcmp(fpr, s->o.t.fpr, 32);
	}
	rc = pairing_check_reply(&s->o.t, bk->b, bk->len, nonce, msg, len, peer, &peer_len, err,
				 sizeof(err));
	check(rc == 0 || rc == -1, "pairing_check_reply returned neither 0 nor -1");
	if ((rc == 0) != expect) {
		fprintf(stderr, "fuzz_pairing: B %s: %s\n", rc ? "refused" : "accepted", err);
		check(false, "B's verdict");
	}
	if (rc == 0)
		check(peer_len == v.key_len && !memcmp(peer, v.key, peer_len), "B pinned another key");
	else
		check(err[0] != '\0', "B refused without a reason");
	no_secret(err, strlen(err), "B's message");
}

static void token_check(struct state *s, const char *text)
{
	struct pairing_token t, t2;
	char err[256] = "", enc[PAIRING_TOKEN_MAX];

	memset(&t, 0, sizeof(t));
	if (pairing_token_decode(text, &t, err, sizeof(err)) < 0) {
		check(err[0] != '\0', "token refused without a reason");
		no_secret(err, strlen(err), "a token message");
		/* the messages are fixed wording: none contains 16 characters without a space */
		if (strlen(text) >= 9 + 16 && !strchr(text + 9, ' '))
			check(!strstr(err, text + 9), "the token echoed in a message");
		return;
	}
	check(pairing_token_encode(&t, enc, sizeof(enc)) == 0, "a decoded token does not encode");
	check(pairing_token_decode(enc, &t2, err, sizeof(err)) == 0, "a re-encoded token refused");
	check(t.ip == t2.ip && t.port == t2.port && t.expires == t2.expires &&
	      !memcmp(t.fpr, t2.fpr, 32) && !memcmp(t.secret, t2.secret, PAIRING_SECRET_LEN),
	      "token round trip");
	(void)s;
}

static void token_op(struct state *s, const uint8_t *d, size_t n, size_t *i)
{
	char enc[PAIRING_TOKEN_MAX], text[260];
	uint8_t kind;

	if (*i >= n)
		return;
	kind = d[(*i)++] % 3;
	check(pairing_token_encode(&s->o.t, enc, sizeof(enc)) == 0, "the offer's token does not encode");
	if (kind == 0) {
		struct pairing_token t;
		char err[256];

		check(pairing_token_decode(enc, &t, err, sizeof(err)) == 0, "the offer's token refused");
		check(!memcmp(&t.secret, SECRET, PAIRING_SECRET_LEN) && t.expires == s->o.t.expires &&
		      !memcmp(t.fpr, s->o.t.fpr, 32) && t.ip == s->o.t.ip && t.port == s->o.t.port,
		      "the offer's token decodes to another");
	} else if (kind == 1) {
		size_t len;

		if (*i >= n)
			return;
		len = d[(*i)++];
		if (len > n - *i)
			len = n - *i;
		memcpy(text, d + *i, len);
		text[len] = '\0';
		*i += len;
		token_check(s, text);
	} else {
		size_t len = strlen(enc);

		if (*i + 3 > n)
			return;
		enc[d[*i] % len] ^= d[*i + 1];
		if (d[*i + 2])
			enc[d[*i + 2] % len] = '\0';
		*i += 3;
		token_check(s, enc);
	}
}

static void request_op(struct state *s, const uint8_t *d)
{
	const struct key *bk = &keys[d[0] % NKEYS];
	struct req *q = &s->slot[s->nslot++ % SLOTS];
	uint8_t nonce[PAIRING_NONCE_LEN], fpr[32];
	uint8_t flags = d[2];

	memset(nonce, d[1], sizeof(nonce));
	nonce[0] ^= 0xa5;
	if (bk->len > PAIRING_SPKI_MAX)
		bk = &keys[2];
	if (flags & 16) {
		/* site B's own pairing_request(): its random nonce, kept for the reply */
		q->valid = false; /* the slot's last request is overwritten either way */
		q->len = pairing_request(&s->o.t, bk->b, bk->len, nonce, q->b, sizeof(q->b));
		check((q->len == 0) == (bk->len == 0), "pairing_request refused a key that fits");
		if (q->len == 0)
			return;
		no_secret(q->b, q->len, "B's request");
		q->valid = true;
		memcpy(s->b_nonce, nonce, sizeof(nonce));
		s->b_key = bk;
		to_a(s, q->b, q->len);
		return;
	}
	memcpy(fpr, s->o.t.fpr, 32);
	if (flags & 2)
		fpr[0] ^= 1;
	q->len = lay_out(q->b, "ISP1", (flags & 4) ? 3 : 0, bk, nonce);
	hmac((flags & 1) ? OTHER_SECRET : SECRET, (flags & 8) ? "isthmus-pair-rep" : "isthmus-pair-req",
	     fpr, 32, bk->b, bk->len, nonce, q->b + q->len - 32);
	q->valid = true;
	memcpy(s->b_nonce, nonce, sizeof(nonce));
	s->b_key = bk;
	to_a(s, q->b, q->len);
}

static void reply_op(struct state *s, const uint8_t *d)
{
	const struct key *ak = &keys[d[0] % NKEYS];
	uint8_t status = d[1], flags = d[2], msg[PAIRING_MSG_MAX + 64], nonce[PAIRING_NONCE_LEN];
	const struct key *bk = (flags & 4) ? &keys[1] : s->b_key;
	size_t len;

	if (ak->len > PAIRING_SPKI_MAX)
		ak = &keys[2];
	memcpy(nonce, s->b_nonce, sizeof(nonce));
	if (flags & 2)
		nonce[3] ^= 0x10;
	len = lay_out(msg, "ISP2", status, status ? NULL : ak, nonce);
	if (status == 0 && ak->len == 0)
		len = lay_out(msg, "ISP2", 0, NULL, nonce);
	hmac((flags & 1) ? OTHER_SECRET : SECRET, (flags & 8) ? "isthmus-pair-req" : "isthmus-pair-rep",
	     bk->b, bk->len, status ? NULL : ak->b, status ? 0 : ak->len, nonce, msg + len - 32);
	if ((flags & 16) || status)
		memset(msg + len - 32, 0, 32);
	to_b(s, msg, len, s->b_nonce, s->b_key);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct state s;
	uint8_t fpr[32];
	size_t i = 1;

	if (size < 1 || sodium_init() < 0)
		return 0;
	if (keys[0].len == 0)
		init_keys();
	memset(&s, 0, sizeof(s));
	s.a = &keys[data[0] & 3];
	s.now = 1700000000;
	crypto_hash_sha256(fpr, s.a->b, s.a->len);
	pairing_offer_init(&s.o, htonl(0xc6120001), PAIRING_PORT_DEFAULT, fpr, s.now,
			   (data[0] & 4) ? 60 : PAIRING_TTL_DEFAULT);
	/* the harness's secret, so the input can authenticate */
	memcpy(s.o.t.secret, SECRET, PAIRING_SECRET_LEN);
	s.b_key = &keys[0];

	while (i < size) {
		uint8_t opb = data[i++], op = opb & 7;

		if (op == 0 || op == 4) {
			static uint8_t buf[65536];
			size_t len;

			if (i + 2 > size)
				break;
			len = (size_t)(data[i] | data[i + 1] << 8);
			i += 2;
			if (len > size - i)
				len = size - i;
			memcpy(buf, data + i, len);
			i += len;
			if (op == 0)
				to_a(&s, buf, len);
			else
				to_b(&s, buf, len, s.b_nonce, s.b_key);
		} else if (op == 1 || op == 5) {
			if (i + 3 > size)
				break;
			if (op == 1)
				request_op(&s, data + i);
			else
				reply_op(&s, data + i);
			i += 3;
		} else if (op == 2) {
			struct req *q;
			uint8_t buf[PAIRING_MSG_MAX + 64];

			if (i + 1 > size)
				break;
			q = &s.slot[data[i++] % SLOTS];
			if (!q->valid)
				continue;
			memcpy(buf, q->b, q->len);
			if (opb & 8) {
				if (i + 3 > size)
					break;
				buf[(size_t)(data[i] | data[i + 1] << 8) % q->len] ^= data[i + 2];
				i += 3;
			}
			to_a(&s, buf, q->len);
		} else if (op == 3) {
			if (i + 3 > size)
				break;
			s.now += (uint64_t)(data[i + 1] | data[i + 2] << 8) * (data[i] ? 60 : 1);
			i += 3;
		} else if (op == 6) {
			if (s.answer_len && s.ans_b)
				to_b(&s, s.answer, s.answer_len, s.ans_nonce, s.ans_b);
		} else {
			token_op(&s, data, size, &i);
		}
	}
	pairing_offer_wipe(&s.o);
	return 0;
}
