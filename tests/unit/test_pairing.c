/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_pairing.c: the one-time pairing exchange (control/pairing.c) between two
 * appliances, with real libsodium crypto: a good token pairs both ways and
 * only once; wrong, reused and expired tokens, keys that do not match the
 * token's fingerprint, and tampered or malformed messages are all refused.
 * And site B's side over real UDP sockets on loopback (pairing_run): stray
 * datagrams on its pairing port do not abort the pairing.
 */
#include "check_main.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sodium.h>

#include "pairing.h"

static uint8_t a_spki[44], b_spki[44];
static struct pairing_offer offer;
static const uint64_t NOW = 1800000000ull;

static void setup(void)
{
	uint8_t fpr[PAIRING_FPR_LEN];

	ck_assert_int_ge(sodium_init(), 0);
	randombytes_buf(a_spki, sizeof(a_spki));
	randombytes_buf(b_spki, sizeof(b_spki));
	crypto_hash_sha256(fpr, a_spki, sizeof(a_spki));
	pairing_offer_init(&offer, htonl(0xc6120001), PAIRING_PORT_DEFAULT, fpr, NOW, 600);
}

static void teardown(void)
{
	pairing_offer_wipe(&offer);
}

/* Site B's view of the token site A printed. */
static struct pairing_token token_via_text(void)
{
	char text[PAIRING_TOKEN_MAX], err[128];
	struct pairing_token t;

	ck_assert_int_eq(pairing_token_encode(&offer.t, text, sizeof(text)), 0);
	ck_assert_int_eq(pairing_token_decode(text, &t, err, sizeof(err)), 0);
	return t;
}

START_TEST(test_token_roundtrip_and_garbage)
{
	char text[PAIRING_TOKEN_MAX], err[128];
	struct pairing_token t = token_via_text();

	/* field by field: the struct's padding bytes are not part of a token */
	ck_assert_uint_eq(t.ip, offer.t.ip);
	ck_assert_uint_eq(t.port, offer.t.port);
	ck_assert_mem_eq(t.fpr, offer.t.fpr, sizeof(t.fpr));
	ck_assert_mem_eq(t.secret, offer.t.secret, sizeof(t.secret));
	ck_assert_uint_eq(t.expires, offer.t.expires);
	ck_assert_int_eq(pairing_token_encode(&offer.t, text, sizeof(text)), 0);
	ck_assert_int_eq(strncmp(text, PAIRING_TOKEN_PREFIX, strlen(PAIRING_TOKEN_PREFIX)), 0);
	ck_assert_int_eq(pairing_token_encode(&offer.t, text, 20), -1);

	ck_assert_int_eq(pairing_token_decode("hello", &t, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "not an Isthmus pairing token"));
	text[strlen(text) - 5] = '\0'; /* truncated by a careless copy */
	ck_assert_int_eq(pairing_token_decode(text, &t, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "damaged"));
	ck_assert_int_eq(pairing_token_decode("isthmus1-!!!!", &t, err, sizeof(err)), -1);
}
END_TEST

START_TEST(test_good_token_pairs_both_ways_once)
{
	struct pairing_token t = token_via_text();
	uint8_t req[PAIRING_MSG_MAX], req2[PAIRING_MSG_MAX], nonce[PAIRING_NONCE_LEN],
		nonce2[PAIRING_NONCE_LEN], got[PAIRING_SPKI_MAX], reply1[PAIRING_MSG_MAX];
	size_t n, n2, got_len = 0, reply1_len;
	char err[128];

	n = pairing_request(&t, b_spki, sizeof(b_spki), nonce, req, sizeof(req));
	ck_assert_uint_gt(n, 0);
	ck_assert_int_eq(pairing_handle_request(&offer, a_spki, sizeof(a_spki), req, n, NOW + 1,
						got, &got_len), PAIRING_OK);
	ck_assert_uint_eq(got_len, sizeof(b_spki));
	ck_assert_mem_eq(got, b_spki, sizeof(b_spki));
	ck_assert(offer.used);

	memset(got, 0, sizeof(got));
	ck_assert_int_eq(pairing_check_reply(&t, b_spki, sizeof(b_spki), nonce, offer.reply,
					     offer.reply_len, got, &got_len, err, sizeof(err)), 0);
	ck_assert_uint_eq(got_len, sizeof(a_spki));
	ck_assert_mem_eq(got, a_spki, sizeof(a_spki));

	/* the reply was lost: the same request again gets the same reply */
	memcpy(reply1, offer.reply, offer.reply_len);
	reply1_len = offer.reply_len;
	ck_assert_int_eq(pairing_handle_request(&offer, a_spki, sizeof(a_spki), req, n, NOW + 2,
						got, &got_len), PAIRING_RETRANSMIT);
	ck_assert_uint_eq(offer.reply_len, reply1_len);
	ck_assert_mem_eq(offer.reply, reply1, reply1_len);

	/* another request with the same token (a second appliance, or an attacker
	 * who saw the token): refused */
	n2 = pairing_request(&t, a_spki, sizeof(a_spki), nonce2, req2, sizeof(req2));
	ck_assert_int_eq(pairing_handle_request(&offer, a_spki, sizeof(a_spki), req2, n2, NOW + 3,
						got, &got_len), PAIRING_USED);
}
END_TEST

START_TEST(test_wrong_token_refused_with_reason)
{
	struct pairing_token t = token_via_text();
	uint8_t req[PAIRING_MSG_MAX], nonce[PAIRING_NONCE_LEN], got[PAIRING_SPKI_MAX],
		refusal[PAIRING_MSG_MAX];
	size_t n, rn, got_len = 0;
	char err[128] = "";

	t.secret[3] ^= 0x40; /* a token from another pairing attempt */
	n = pairing_request(&t, b_spki, sizeof(b_spki), nonce, req, sizeof(req));
	ck_assert_int_eq(pairing_handle_request(&offer, a_spki, sizeof(a_spki), req, n, NOW,
						got, &got_len), PAIRING_BAD_SECRET);
	ck_assert(!offer.used);
	rn = pairing_refusal(PAIRING_BAD_SECRET, req, n, refusal, sizeof(refusal));
	ck_assert_uint_gt(rn, 0);
	ck_assert_int_eq(pairing_check_reply(&t, b_spki, sizeof(b_spki), nonce, refusal, rn, got,
					     &got_len, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "refused") && strstr(err, "wrong pairing token"), "%s", err);
}
END_TEST

START_TEST(test_expired_token)
{
	struct pairing_token t = token_via_text();
	uint8_t req[PAIRING_MSG_MAX], nonce[PAIRING_NONCE_LEN], got[PAIRING_SPKI_MAX];
	size_t n, got_len = 0;

	n = pairing_request(&t, b_spki, sizeof(b_spki), nonce, req, sizeof(req));
	ck_assert_int_eq(pairing_handle_request(&offer, a_spki, sizeof(a_spki), req, n, NOW + 601,
						got, &got_len), PAIRING_EXPIRED);
	ck_assert(!offer.used);
}
END_TEST

START_TEST(test_key_not_matching_fingerprint)
{
	struct pairing_token t = token_via_text();
	uint8_t req[PAIRING_MSG_MAX], nonce[PAIRING_NONCE_LEN], got[PAIRING_SPKI_MAX];
	uint8_t other[44];
	size_t n, got_len = 0;
	char err[128] = "";

	/* site A answers with a key other than the one its token names (an
	 * impostor that somehow learned the secret) */
	randombytes_buf(other, sizeof(other));
	n = pairing_request(&t, b_spki, sizeof(b_spki), nonce, req, sizeof(req));
	ck_assert_int_eq(pairing_handle_request(&offer, other, sizeof(other), req, n, NOW, got,
						&got_len), PAIRING_OK);
	ck_assert_int_eq(pairing_check_reply(&t, b_spki, sizeof(b_spki), nonce, offer.reply,
					     offer.reply_len, got, &got_len, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "does not match the fingerprint") != NULL, "%s", err);
}
END_TEST

START_TEST(test_tampering_and_malformed)
{
	struct pairing_token t = token_via_text();
	uint8_t req[PAIRING_MSG_MAX], nonce[PAIRING_NONCE_LEN], got[PAIRING_SPKI_MAX],
		bad[PAIRING_MSG_MAX];
	size_t n, got_len = 0;
	char err[128];

	n = pairing_request(&t, b_spki, sizeof(b_spki), nonce, req, sizeof(req));
	/* every single-bit flip of the request is refused, and never pairs */
	for (size_t bit = 0; bit < n * 8; bit++) {
		enum pairing_result r;

		memcpy(bad, req, n);
		bad[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		r = pairing_handle_request(&offer, a_spki, sizeof(a_spki), bad, n, NOW, got, &got_len);
		ck_assert_msg(r == PAIRING_BAD_MESSAGE || r == PAIRING_BAD_SECRET,
			      "bit %zu: %s", bit, pairing_result_str(r));
	}
	ck_assert(!offer.used);
	/* truncated, extended, empty */
	ck_assert_int_eq(pairing_handle_request(&offer, a_spki, sizeof(a_spki), req, n - 1, NOW,
						got, &got_len), PAIRING_BAD_MESSAGE);
	ck_assert_int_eq(pairing_handle_request(&offer, a_spki, sizeof(a_spki), req, 3, NOW,
						got, &got_len), PAIRING_BAD_MESSAGE);
	memcpy(bad, req, n);
	bad[n] = 0;
	ck_assert_int_eq(pairing_handle_request(&offer, a_spki, sizeof(a_spki), bad, n + 1, NOW,
						got, &got_len), PAIRING_BAD_MESSAGE);

	/* a good exchange, then every bit flip of the reply is refused at B */
	ck_assert_int_eq(pairing_handle_request(&offer, a_spki, sizeof(a_spki), req, n, NOW, got,
						&got_len), PAIRING_OK);
	for (size_t bit = 0; bit < offer.reply_len * 8; bit++) {
		memcpy(bad, offer.reply, offer.reply_len);
		bad[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		ck_assert_msg(pairing_check_reply(&t, b_spki, sizeof(b_spki), nonce, bad,
						  offer.reply_len, got, &got_len, err,
						  sizeof(err)) == -1, "reply bit %zu accepted", bit);
	}
}
END_TEST


/* UDP socket on 127.0.0.1, any port; its port (host order) in @p port */
static int udp_loopback(uint16_t *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

/* A stand-in site A on loopback: before answering B's request it sends B's
 * pairing port what anyone could (and what an on-path party could forge). */
struct fake_a {
	int fd, noise_fd;      /* A's pairing socket; another sender */
	bool wrong_token;      /* answer with the refusal B's tampered token earns */
	unsigned noise;        /* datagrams sent before the answer */
};

static void *fake_a_thread(void *arg)
{
	struct fake_a *a = arg;
	uint8_t req[PAIRING_MSG_MAX + 1], got[PAIRING_SPKI_MAX], buf[PAIRING_MSG_MAX],
		other_req[PAIRING_MSG_MAX], nonce[PAIRING_NONCE_LEN];
	struct sockaddr_in b;
	socklen_t blen = sizeof(b);
	size_t got_len, n2, rn;
	ssize_t n = recvfrom(a->fd, req, sizeof(req), 0, (struct sockaddr *)&b, &blen);
	enum pairing_result r;
	struct pairing_token t = offer.t;

	ck_assert_int_gt(n, 0);
	/* 1. garbage from another port, 2. garbage from A's own address and port */
	sendto(a->noise_fd, "hello", 5, 0, (struct sockaddr *)&b, blen);
	sendto(a->fd, "ISP2garbage", 11, 0, (struct sockaddr *)&b, blen);
	/* 3. a well-formed refusal of another request (another nonce) */
	n2 = pairing_request(&t, a_spki, sizeof(a_spki), nonce, other_req, sizeof(other_req));
	rn = pairing_refusal(PAIRING_BAD_SECRET, other_req, n2, buf, sizeof(buf));
	sendto(a->fd, buf, rn, 0, (struct sockaddr *)&b, blen);
	a->noise = 3;
	r = pairing_handle_request(&offer, a_spki, sizeof(a_spki), req, (size_t)n,
				   (uint64_t)time(NULL), got, &got_len);
	if (a->wrong_token) {
		ck_assert_int_eq(r, PAIRING_BAD_SECRET);
		rn = pairing_refusal(r, req, (size_t)n, buf, sizeof(buf));
		sendto(a->fd, buf, rn, 0, (struct sockaddr *)&b, blen);
		return NULL;
	}
	ck_assert_int_eq(r, PAIRING_OK);
	/* 4. the right answer with its MAC broken (forged on the path) */
	memcpy(buf, offer.reply, offer.reply_len);
	buf[offer.reply_len - 1] ^= 1;
	sendto(a->fd, buf, offer.reply_len, 0, (struct sockaddr *)&b, blen);
	a->noise = 4;
	usleep(50 * 1000);
	/* then the real answer */
	sendto(a->fd, offer.reply, offer.reply_len, 0, (struct sockaddr *)&b, blen);
	return NULL;
}

static int run_b(bool wrong_token, unsigned *noise, unsigned *stray, char *err, size_t errlen,
		 uint8_t *got, size_t *got_len)
{
	uint16_t a_port, b_port, x_port;
	struct fake_a a = { .fd = udp_loopback(&a_port), .noise_fd = udp_loopback(&x_port),
			    .wrong_token = wrong_token };
	int b_fd = udp_loopback(&b_port), rc;
	uint8_t fpr[PAIRING_FPR_LEN];
	struct pairing_token t;
	pthread_t th;

	crypto_hash_sha256(fpr, a_spki, sizeof(a_spki));
	pairing_offer_init(&offer, htonl(INADDR_LOOPBACK), a_port, fpr, (uint64_t)time(NULL), 600);
	t = token_via_text();
	if (wrong_token)
		t.secret[0] ^= 1;
	ck_assert_int_eq(pthread_create(&th, NULL, fake_a_thread, &a), 0);
	rc = pairing_run(b_fd, &t, b_spki, sizeof(b_spki), 4, 300, got, got_len, stray, err, errlen);
	pthread_join(th, NULL);
	*noise = a.noise;
	close(a.fd);
	close(a.noise_fd);
	close(b_fd);
	return rc;
}

START_TEST(test_stray_datagrams_do_not_abort)
{
	uint8_t got[PAIRING_SPKI_MAX];
	size_t got_len = 0;
	unsigned noise, stray;
	char err[256] = "";

	ck_assert_msg(run_b(false, &noise, &stray, err, sizeof(err), got, &got_len) == 0,
		      "pairing aborted: %s", err);
	ck_assert_uint_eq(got_len, sizeof(a_spki));
	ck_assert_mem_eq(got, a_spki, sizeof(a_spki));
	ck_assert_uint_eq(stray, noise);
}
END_TEST

/* ... while A's own refusal still ends it at once, with A's reason */
START_TEST(test_refusal_still_ends_it)
{
	uint8_t got[PAIRING_SPKI_MAX];
	size_t got_len = 0;
	unsigned noise, stray;
	char err[256] = "";
	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(run_b(true, &noise, &stray, err, sizeof(err), got, &got_len), -1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ck_assert_msg(strstr(err, "the peer refused: wrong pairing token"), "%s", err);
	ck_assert_uint_eq(stray, noise);
	ck_assert_int_lt(t1.tv_sec - t0.tv_sec, 2); /* not after all 4 tries of 300 ms */
}
END_TEST

Suite *test_suite(void)
{
	Suite *s = suite_create("pairing");
	TCase *tc = tcase_create("exchange");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_token_roundtrip_and_garbage);
	tcase_add_test(tc, test_good_token_pairs_both_ways_once);
	tcase_add_test(tc, test_wrong_token_refused_with_reason);
	tcase_add_test(tc, test_expired_token);
	tcase_add_test(tc, test_key_not_matching_fingerprint);
	tcase_add_test(tc, test_tampering_and_malformed);
	tcase_add_test(tc, test_stray_datagrams_do_not_abort);
	tcase_add_test(tc, test_refusal_still_ends_it);
	suite_add_tcase(s, tc);
	return s;
}
