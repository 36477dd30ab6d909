/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_sa.c: the dataplane's SA table (dataplane/sa.c) on a real struct dp,
 * with real SAs (crypto/esp.h) and a real lock-free SPI hash (EAL without
 * hugepages). An ESP key must never seal from a fresh counter twice: the AEAD
 * nonce is salt || sequence number, so a reinstalled key reuses nonces and
 * gives away the keystream and the authentication key. And a reinstalled
 * inbound SA forgets its replay window. These tests prove, with packets
 * sealed and opened through the SAs the table holds, that:
 *  - an SA_ADD for an SPI already held in that direction is refused
 *    (-EEXIST, counted sa_dup_refused) and the installed SA goes on as before:
 *    same object, same key, sequence numbers continuing, replay window kept;
 *    the same SPI in the other direction is a different SA and is accepted;
 *  - a rekey hands a worker its new outbound SA only when the old one is
 *    deleted, and never gives one SA to two workers;
 *  - after sa_retire_all (isthmusd restarted) a new outbound SA takes over a
 *    retired worker at once, also when a retired SA was still waiting for a
 *    worker; retired inbound SAs keep opening packets until
 *    SA_RETIRED_IN_LINGER_MS after the last retired outbound SA went, and a
 *    retired SA nobody replaces is deleted after its grace time;
 *  - an outbound SA without ESN started near 2^32 (initial_seq) seals up to
 *    0xffffffff and then refuses every packet, never wrapping to small numbers.
 */
#include "check_main.h"
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_hash.h>
#include <rte_malloc.h>

#include "dp.h"
#include "sa.h"
#include "worker.h"

#define PAYLOAD 64
#define BUFSZ 256

static struct dp_config cfg;
static struct dp dp;

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ull + ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) != 0)
		;
}

/* Each test runs in its own process (Check forks): EAL is brought up there. */
static void eal_up(void)
{
	char prefix[64];

	snprintf(prefix, sizeof(prefix), "--file-prefix=isthmus-sa-%d", (int)getpid());
	char *argv[] = { "test_sa", "--no-huge", "--no-pci", "-m", "64", "-l", "0",
			 prefix, "--no-telemetry", "--log-level=lib.eal:error" };
	ck_assert_int_ge(rte_eal_init(sizeof(argv) / sizeof(argv[0]), argv), 0);
}

/* A dataplane with @p nw workers and an empty SA table (no [sa.static]). */
static void dp_up(unsigned nw)
{
	char err[256] = "";

	memset(&cfg, 0, sizeof(cfg));
	cfg.sa_static = false;
	cfg.backend = ESP_BACKEND_AUTO;
	memset(&dp, 0, sizeof(dp));
	dp.cfg = &cfg;
	dp.qsbr = NULL;
	dp.nb_workers = nw;
	for (unsigned i = 0; i < nw; i++) {
		dp.worker[i] = rte_zmalloc("test_worker", sizeof(struct worker), RTE_CACHE_LINE_SIZE);
		ck_assert_ptr_nonnull(dp.worker[i]);
		dp.worker[i]->dp = &dp;
		dp.worker[i]->idx = i;
	}
	ck_assert_msg(sas_init(&dp, err, sizeof(err)) == 0, "sas_init: %s", err);
}

static void dp_down(void)
{
	sas_free(&dp);
	for (unsigned i = 0; i < dp.nb_workers; i++)
		rte_free(dp.worker[i]);
	rte_eal_cleanup();
}

/* Key material distinct per @p tag. */
static const uint8_t *key(unsigned tag)
{
	static uint8_t k[8][ESP_KEYMAT_LEN];

	ck_assert_uint_lt(tag, 8);
	for (unsigned i = 0; i < ESP_KEYMAT_LEN; i++)
		k[tag][i] = (uint8_t)(tag * 71 + i * 13 + 5);
	return k[tag];
}

static int add(enum esp_dir dir, uint32_t spi, unsigned keytag, uint64_t initial_seq, bool esn)
{
	char err[256] = "";
	struct sa_spec s = {
		.dir = dir, .spi = spi, .cipher = ESP_CIPHER_AES256GCM, .esn = esn,
		.replay_window = 64, .keymat = key(keytag), .worker = -1,
		.initial_seq = initial_seq,
	};
	int rc = sa_add(&dp, &s, err, sizeof(err));

	if (rc == -EEXIST)
		ck_assert_msg(strstr(err, "refused") != NULL, "reason: %s", err);
	return rc;
}

static int add_out(uint32_t spi, unsigned keytag)
{
	return add(ESP_DIR_OUTBOUND, spi, keytag, 0, false);
}

static int add_in(uint32_t spi, unsigned keytag)
{
	return add(ESP_DIR_INBOUND, spi, keytag, 0, false);
}

/* An SA outside the table (the peer's side of an SA, or our side to check). */
static struct esp_sa *raw_sa(enum esp_dir dir, uint32_t spi, unsigned keytag, bool esn)
{
	char err[128] = "";
	struct esp_sa_params p = {
		.cipher = ESP_CIPHER_AES256GCM, .backend = ESP_BACKEND_AUTO, .dir = dir,
		.spi = spi, .keymat = key(keytag), .keymat_len = ESP_KEYMAT_LEN, .esn = esn,
		.replay_window = 64,
	};
	struct esp_sa *sa = esp_sa_create(&p, err, sizeof(err));

	ck_assert_msg(sa != NULL, "esp_sa_create: %s", err);
	return sa;
}

/* Seal one packet into @p buf; returns its status, the length and sequence number. */
static enum esp_status seal(struct esp_sa *sa, uint8_t *buf, uint32_t *len, uint64_t *seq)
{
	struct esp_pkt p = { .buf = buf, .len = PAYLOAD, .room = BUFSZ, .next_header = 4 };

	memset(buf + ESP_PAYLOAD_OFF, 0xab, PAYLOAD);
	esp_seal_burst(sa, &p, 1);
	if (len)
		*len = p.len;
	if (seq)
		*seq = p.seq;
	return (enum esp_status)p.status;
}

/* Open a copy of a packet (the original stays for replays). */
static enum esp_status open_copy(struct esp_sa *sa, const uint8_t *pkt, uint32_t len)
{
	uint8_t b[BUFSZ];
	struct esp_pkt p = { .buf = b, .len = len };

	memcpy(b, pkt, len);
	esp_open_burst(sa, &p, 1);
	return (enum esp_status)p.status;
}

static uint32_t wire_spi(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static uint32_t wire_seq(const uint8_t *b)
{
	return (uint32_t)b[4] << 24 | (uint32_t)b[5] << 16 | (uint32_t)b[6] << 8 | b[7];
}

static uint64_t counter(enum dp_counter c)
{
	return dp.main_stats.c[c];
}

/* The inbound SA of @p spi as a worker finds it: through the lock-free hash. */
static struct sa_in *hashed_in(uint32_t spi)
{
	void *d = NULL;

	return rte_hash_lookup_data(dp.spi_hash, &spi, &d) >= 0 ? d : NULL;
}

static struct sa_in *listed_in(uint32_t spi)
{
	for (int i = 0; i < dp.nb_sa_in; i++)
		if (dp.sa_in[i]->spi == spi)
			return dp.sa_in[i];
	return NULL;
}

/*
 * Outbound: the duplicate is refused, the installed SA keeps its object, its
 * key and its counter. The refused add carries another key: had it replaced
 * the SA, the peer could no longer open what we seal; had it reinstalled the
 * same key, the sequence numbers would start at 1 again (nonce reuse).
 */
START_TEST(test_dup_out_refused_seq_continues)
{
	const uint32_t spi = 0xc0de0001;
	struct esp_sa *peer, *sa;
	uint8_t buf[BUFSZ];
	uint32_t len;
	uint64_t seq;

	dp_up(1);
	ck_assert_int_eq(add_out(spi, 1), 0);
	sa = sa_find(&dp, spi, ESP_DIR_OUTBOUND);
	ck_assert_ptr_nonnull(sa);
	ck_assert_ptr_eq(dp.worker[0]->sa_out, sa);
	peer = raw_sa(ESP_DIR_INBOUND, spi, 1, false);
	for (uint64_t want = 1; want <= 3; want++) {
		ck_assert_int_eq(seal(dp.worker[0]->sa_out, buf, &len, &seq), ESP_OK);
		ck_assert_uint_eq(seq, want);
		ck_assert_int_eq(open_copy(peer, buf, len), ESP_OK);
	}
	ck_assert_uint_eq(counter(DP_C_sa_dup_refused), 0);

	ck_assert_int_eq(add_out(spi, 2), -EEXIST);  /* another key */
	ck_assert_int_eq(add_out(spi, 1), -EEXIST);  /* the same key again */
	ck_assert_uint_eq(counter(DP_C_sa_dup_refused), 2);
	ck_assert_uint_eq(dp.nb_sa_out, 1);
	ck_assert_ptr_eq(sa_find(&dp, spi, ESP_DIR_OUTBOUND), sa);
	ck_assert_ptr_eq(dp.worker[0]->sa_out, sa);
	for (uint64_t want = 4; want <= 6; want++) {
		ck_assert_int_eq(seal(dp.worker[0]->sa_out, buf, &len, &seq), ESP_OK);
		ck_assert_uint_eq(seq, want);
		ck_assert_uint_eq(wire_seq(buf), want);
		ck_assert_int_eq(open_copy(peer, buf, len), ESP_OK); /* still key 1 */
	}
	esp_sa_destroy(peer);
	dp_down();
}
END_TEST

/*
 * Inbound: a refused re-add leaves the replay window as it was, so a packet
 * already opened is still a replay. A reinstalled SA would accept it again.
 */
START_TEST(test_dup_in_refused_window_kept)
{
	const uint32_t spi = 0xc0de0002;
	struct esp_sa *peer, *in;
	uint8_t p1[BUFSZ], p2[BUFSZ];
	uint32_t l1, l2;

	dp_up(1);
	ck_assert_int_eq(add_in(spi, 3), 0);
	in = sa_find(&dp, spi, ESP_DIR_INBOUND);
	ck_assert_ptr_nonnull(in);
	ck_assert_ptr_eq(hashed_in(spi)->sa, in);
	peer = raw_sa(ESP_DIR_OUTBOUND, spi, 3, false);
	ck_assert_int_eq(seal(peer, p1, &l1, NULL), ESP_OK);
	ck_assert_int_eq(seal(peer, p2, &l2, NULL), ESP_OK);
	ck_assert_int_eq(open_copy(in, p1, l1), ESP_OK);
	ck_assert_int_eq(open_copy(in, p1, l1), ESP_ERR_REPLAYED);

	ck_assert_int_eq(add_in(spi, 3), -EEXIST);
	ck_assert_int_eq(add_in(spi, 4), -EEXIST);
	ck_assert_uint_eq(counter(DP_C_sa_dup_refused), 2);
	ck_assert_uint_eq(dp.nb_sa_in, 1);
	ck_assert_ptr_eq(sa_find(&dp, spi, ESP_DIR_INBOUND), in);
	ck_assert_ptr_eq(hashed_in(spi)->sa, in);
	ck_assert_int_eq(open_copy(hashed_in(spi)->sa, p1, l1), ESP_ERR_REPLAYED);
	ck_assert_int_eq(open_copy(hashed_in(spi)->sa, p2, l2), ESP_OK);  /* same key 3 */
	ck_assert_int_eq(open_copy(hashed_in(spi)->sa, p2, l2), ESP_ERR_REPLAYED);
	esp_sa_destroy(peer);
	dp_down();
}
END_TEST

/* The same SPI in the other direction is another SA (RFC 4301: an SA is
 * unidirectional): both are accepted and both work, nothing is counted. */
START_TEST(test_same_spi_other_direction)
{
	const uint32_t spi = 0xc0de0003;
	struct esp_sa *out, *in, *peer_in, *peer_out;
	uint8_t buf[BUFSZ];
	uint32_t len;

	dp_up(1);
	ck_assert_int_eq(add_out(spi, 1), 0);
	ck_assert_int_eq(add_in(spi, 2), 0);
	ck_assert_uint_eq(counter(DP_C_sa_dup_refused), 0);
	out = sa_find(&dp, spi, ESP_DIR_OUTBOUND);
	in = sa_find(&dp, spi, ESP_DIR_INBOUND);
	ck_assert_ptr_nonnull(out);
	ck_assert_ptr_nonnull(in);
	ck_assert_ptr_ne(out, in);
	ck_assert_ptr_eq(dp.worker[0]->sa_out, out);
	peer_in = raw_sa(ESP_DIR_INBOUND, spi, 1, false);
	peer_out = raw_sa(ESP_DIR_OUTBOUND, spi, 2, false);
	ck_assert_int_eq(seal(out, buf, &len, NULL), ESP_OK);
	ck_assert_int_eq(open_copy(peer_in, buf, len), ESP_OK);
	ck_assert_int_eq(seal(peer_out, buf, &len, NULL), ESP_OK);
	ck_assert_int_eq(open_copy(hashed_in(spi)->sa, buf, len), ESP_OK);
	/* and each direction still refuses its own duplicate */
	ck_assert_int_eq(add_out(spi, 1), -EEXIST);
	ck_assert_int_eq(add_in(spi, 2), -EEXIST);
	ck_assert_uint_eq(counter(DP_C_sa_dup_refused), 2);
	esp_sa_destroy(peer_in);
	esp_sa_destroy(peer_out);
	dp_down();
}
END_TEST

/*
 * Rekey (charon adds the new outbound SA, then deletes the old one): the new
 * SA waits; the worker seals with the old one until it is deleted, then with
 * the new one. With two workers, each deletion gives its worker a different
 * new SA: no SA is ever used by two workers (esp.h: one thread per SA).
 */
START_TEST(test_rekey_pending_until_delete)
{
	const uint32_t x = 0xa0000001, y = 0xa0000002;
	struct esp_sa *sx, *sy;
	uint8_t buf[BUFSZ];

	dp_up(1);
	ck_assert_int_eq(add_out(x, 1), 0);
	sx = sa_find(&dp, x, ESP_DIR_OUTBOUND);
	ck_assert_ptr_eq(dp.worker[0]->sa_out, sx);
	ck_assert_int_eq(add_out(y, 2), 0);
	sy = sa_find(&dp, y, ESP_DIR_OUTBOUND);
	ck_assert_ptr_nonnull(sy);
	ck_assert_ptr_ne(sx, sy);
	ck_assert_ptr_eq(dp.worker[0]->sa_out, sx);   /* Y pending */
	ck_assert_int_eq(seal(dp.worker[0]->sa_out, buf, NULL, NULL), ESP_OK);
	ck_assert_uint_eq(wire_spi(buf), x);

	ck_assert_int_eq(sa_del(&dp, x, ESP_DIR_OUTBOUND), 0);
	ck_assert_ptr_null(sa_find(&dp, x, ESP_DIR_OUTBOUND));
	ck_assert_ptr_eq(dp.worker[0]->sa_out, sy);
	ck_assert_int_eq(seal(dp.worker[0]->sa_out, buf, NULL, NULL), ESP_OK);
	ck_assert_uint_eq(wire_spi(buf), y);
	ck_assert_uint_eq(wire_seq(buf), 1);
	ck_assert_int_eq(sa_del(&dp, x, ESP_DIR_OUTBOUND), -ENOENT);

	ck_assert_int_eq(sa_del(&dp, y, ESP_DIR_OUTBOUND), 0);
	ck_assert_ptr_null(dp.worker[0]->sa_out);     /* nothing pending: none */
	dp_down();
}
END_TEST

START_TEST(test_rekey_two_workers)
{
	struct esp_sa *w0, *w1, *y0, *y1;

	dp_up(2);
	ck_assert_int_eq(add_out(0xb0000001, 1), 0);
	ck_assert_int_eq(add_out(0xb0000002, 2), 0);
	w0 = dp.worker[0]->sa_out;
	w1 = dp.worker[1]->sa_out;
	ck_assert_ptr_nonnull(w0);
	ck_assert_ptr_nonnull(w1);
	ck_assert_ptr_ne(w0, w1);
	ck_assert_int_eq(add_out(0xb0000003, 3), 0);
	ck_assert_int_eq(add_out(0xb0000004, 4), 0);
	y0 = sa_find(&dp, 0xb0000003, ESP_DIR_OUTBOUND);
	y1 = sa_find(&dp, 0xb0000004, ESP_DIR_OUTBOUND);
	ck_assert_ptr_eq(dp.worker[0]->sa_out, w0);
	ck_assert_ptr_eq(dp.worker[1]->sa_out, w1);

	/* delete worker 1's SA: worker 1 gets a new one, worker 0 keeps its own */
	ck_assert_int_eq(sa_del(&dp, esp_sa_spi(w1), ESP_DIR_OUTBOUND), 0);
	ck_assert_ptr_eq(dp.worker[0]->sa_out, w0);
	ck_assert(dp.worker[1]->sa_out == y0 || dp.worker[1]->sa_out == y1);
	ck_assert_int_eq(sa_del(&dp, esp_sa_spi(w0), ESP_DIR_OUTBOUND), 0);
	ck_assert(dp.worker[0]->sa_out == y0 || dp.worker[0]->sa_out == y1);
	ck_assert_ptr_ne(dp.worker[0]->sa_out, dp.worker[1]->sa_out);
	ck_assert_uint_eq(dp.nb_sa_out, 2);
	dp_down();
}
END_TEST

/*
 * isthmusd restarted: sa_retire_all. The new isthmusd's first outbound SA
 * takes over the retired worker at once (the retired SA is deleted, counted);
 * the retired inbound SA keeps opening the peer's packets meanwhile, and
 * goes SA_RETIRED_IN_LINGER_MS after the last retired outbound SA has gone,
 * not while one is left (two workers: the first replacement is not enough).
 */
START_TEST(test_retire_takeover_and_linger)
{
	const uint32_t x0 = 0xd0000001, x1 = 0xd0000002, xi = 0xd0000003;
	const uint32_t y0 = 0xd0000011, y1 = 0xd0000012;
	struct esp_sa *peer;
	struct sa_in *in;
	uint8_t pk[4][BUFSZ];
	uint32_t len[4];
	uint64_t t0, t, until, deadline;

	dp_up(2);
	ck_assert_int_eq(add_out(x0, 1), 0);
	ck_assert_int_eq(add_out(x1, 2), 0);
	ck_assert_int_eq(add_in(xi, 3), 0);
	peer = raw_sa(ESP_DIR_OUTBOUND, xi, 3, false);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(seal(peer, pk[i], &len[i], NULL), ESP_OK);

	t0 = mono_ms();
	ck_assert_uint_eq(sa_retire_all(&dp, 60000), 3);
	ck_assert_uint_eq(counter(DP_C_sa_retired), 3);
	ck_assert_uint_eq(sa_retire_all(&dp, 60000), 0);  /* retired once only */
	sa_service(&dp);
	ck_assert_uint_eq(dp.nb_sa_out, 2);
	ck_assert_ptr_nonnull(listed_in(xi));

	/* first new outbound SA: in service at once, one retired SA gone */
	ck_assert_int_eq(add_out(y0, 4), 0);
	ck_assert_uint_eq(counter(DP_C_sa_retired_expired), 1);
	ck_assert_uint_eq(dp.nb_sa_out, 2);
	ck_assert(sa_find(&dp, x0, ESP_DIR_OUTBOUND) == NULL ||
		  sa_find(&dp, x1, ESP_DIR_OUTBOUND) == NULL);
	ck_assert(dp.worker[0]->sa_out == sa_find(&dp, y0, ESP_DIR_OUTBOUND) ||
		  dp.worker[1]->sa_out == sa_find(&dp, y0, ESP_DIR_OUTBOUND));
	/* one retired outbound SA left: the inbound one keeps its full grace */
	sa_service(&dp);
	in = listed_in(xi);
	ck_assert_ptr_nonnull(in);
	ck_assert_uint_ge(in->retire_ms, t0 + 60000);
	ck_assert_int_eq(open_copy(hashed_in(xi)->sa, pk[0], len[0]), ESP_OK);

	/* second: no retired outbound SA left, both workers on new SAs */
	ck_assert_int_eq(add_out(y1, 5), 0);
	ck_assert_uint_eq(counter(DP_C_sa_retired_expired), 2);
	ck_assert_ptr_null(sa_find(&dp, x0, ESP_DIR_OUTBOUND));
	ck_assert_ptr_null(sa_find(&dp, x1, ESP_DIR_OUTBOUND));
	ck_assert_ptr_nonnull(dp.worker[0]->sa_out);
	ck_assert_ptr_nonnull(dp.worker[1]->sa_out);
	ck_assert_ptr_ne(dp.worker[0]->sa_out, dp.worker[1]->sa_out);
	ck_assert(dp.worker[0]->sa_out == sa_find(&dp, y0, ESP_DIR_OUTBOUND) ||
		  dp.worker[0]->sa_out == sa_find(&dp, y1, ESP_DIR_OUTBOUND));
	ck_assert(dp.worker[1]->sa_out == sa_find(&dp, y0, ESP_DIR_OUTBOUND) ||
		  dp.worker[1]->sa_out == sa_find(&dp, y1, ESP_DIR_OUTBOUND));

	/* the linger starts now: the peer's packets in flight still open */
	t = mono_ms();
	sa_service(&dp);
	until = mono_ms() + SA_RETIRED_IN_LINGER_MS;
	in = listed_in(xi);
	ck_assert_ptr_nonnull(in);
	ck_assert_uint_ge(in->retire_ms, t + SA_RETIRED_IN_LINGER_MS);
	ck_assert_uint_le(in->retire_ms, until);
	deadline = in->retire_ms;
	ck_assert_uint_eq(counter(DP_C_sa_retired_expired), 2);
	ck_assert_int_eq(open_copy(hashed_in(xi)->sa, pk[1], len[1]), ESP_OK);

	sleep_ms(SA_RETIRED_IN_LINGER_MS / 2);
	t = mono_ms();
	sa_service(&dp);
	if (t < deadline) { /* practically always: the sleep did not overshoot by 1.5 s */
		ck_assert_ptr_nonnull(hashed_in(xi));
		ck_assert_int_eq(open_copy(hashed_in(xi)->sa, pk[2], len[2]), ESP_OK);
	}
	sleep_ms(SA_RETIRED_IN_LINGER_MS / 2 + 200);
	sa_service(&dp);
	ck_assert_ptr_null(listed_in(xi));
	ck_assert_ptr_null(hashed_in(xi));
	ck_assert_ptr_null(sa_find(&dp, xi, ESP_DIR_INBOUND));
	ck_assert_uint_eq(counter(DP_C_sa_retired_expired), 3);
	/* the new outbound SAs are not touched by any of this */
	ck_assert_uint_eq(dp.nb_sa_out, 2);
	ck_assert_ptr_nonnull(sa_find(&dp, y0, ESP_DIR_OUTBOUND));
	ck_assert_ptr_nonnull(sa_find(&dp, y1, ESP_DIR_OUTBOUND));
	esp_sa_destroy(peer);
	dp_down();
}
END_TEST

/*
 * isthmusd died in the middle of a rekey: its new outbound SA X2 was still
 * waiting for the worker of X1 when everything was retired. The new
 * isthmusd's SA Y must take the worker at once; the retired X2 must not get
 * it in Y's stead (Y would wait for X2's grace time while the worker seals
 * with a key the peer may have dropped).
 */
START_TEST(test_retire_pending_retired_does_not_take_worker)
{
	const uint32_t x1 = 0xe0000001, x2 = 0xe0000002, y = 0xe0000003;
	uint8_t buf[BUFSZ];

	dp_up(1);
	ck_assert_int_eq(add_out(x1, 1), 0);
	ck_assert_int_eq(add_out(x2, 2), 0);
	ck_assert_ptr_eq(dp.worker[0]->sa_out, sa_find(&dp, x1, ESP_DIR_OUTBOUND));
	ck_assert_uint_eq(sa_retire_all(&dp, 60000), 2);
	sleep_ms(2); /* Y is younger than X2 by the table's millisecond clock */
	ck_assert_int_eq(add_out(y, 3), 0);
	ck_assert_ptr_nonnull(sa_find(&dp, y, ESP_DIR_OUTBOUND));
	ck_assert_ptr_eq(dp.worker[0]->sa_out, sa_find(&dp, y, ESP_DIR_OUTBOUND));
	ck_assert_int_eq(seal(dp.worker[0]->sa_out, buf, NULL, NULL), ESP_OK);
	ck_assert_uint_eq(wire_spi(buf), y);
	dp_down();
}
END_TEST

/* A retired SA nobody replaces goes after its grace time, not before. */
START_TEST(test_retire_grace_expires)
{
	const uint32_t x = 0xf0000001, xi = 0xf0000002;

	dp_up(1);
	ck_assert_int_eq(add_out(x, 1), 0);
	ck_assert_int_eq(add_in(xi, 2), 0);
	ck_assert_uint_eq(sa_retire_all(&dp, 100), 2);
	sa_service(&dp);
	ck_assert_ptr_nonnull(sa_find(&dp, x, ESP_DIR_OUTBOUND));
	ck_assert_ptr_nonnull(sa_find(&dp, xi, ESP_DIR_INBOUND));
	ck_assert_ptr_eq(dp.worker[0]->sa_out, sa_find(&dp, x, ESP_DIR_OUTBOUND));
	ck_assert_uint_eq(counter(DP_C_sa_retired_expired), 0);
	sleep_ms(150);
	sa_service(&dp);
	ck_assert_ptr_null(sa_find(&dp, x, ESP_DIR_OUTBOUND));
	ck_assert_ptr_null(sa_find(&dp, xi, ESP_DIR_INBOUND));
	ck_assert_ptr_null(hashed_in(xi));
	ck_assert_ptr_null(dp.worker[0]->sa_out);
	ck_assert_uint_eq(dp.nb_sa_out, 0);
	ck_assert_uint_eq(dp.nb_sa_in, 0);
	ck_assert_uint_eq(counter(DP_C_sa_retired_expired), 2);
	/* the SPIs are free again in the table (new keys would come with them) */
	ck_assert_int_eq(add_in(xi, 3), 0);
	ck_assert_ptr_nonnull(hashed_in(xi));
	dp_down();
}
END_TEST

/*
 * Without ESN the sequence number is 32 bits and must not wrap (RFC 4303
 * section 3.3.3): from initial_seq 0xfffffffe one packet goes out with
 * 0xffffffff, then every packet is refused (ESP_ERR_SA_EXPIRED), none with a
 * small (wrapped) number, i.e. a nonce already used. With ESN the same start
 * goes on to 2^32 (low word 0 on the wire, high word in the IV).
 */
START_TEST(test_initial_seq_no_wrap)
{
	const uint32_t spi = 0x5e000001, spi_esn = 0x5e000002;
	struct esp_sa *sa, *peer;
	struct esp_pkt p[8];
	uint8_t bufs[8][BUFSZ];
	struct esp_sa_stats st;
	uint8_t buf[BUFSZ];
	uint32_t len;
	uint64_t seq;

	dp_up(2);
	ck_assert_int_eq(add(ESP_DIR_OUTBOUND, spi, 1, 0xfffffffeull, false), 0);
	sa = sa_find(&dp, spi, ESP_DIR_OUTBOUND);
	ck_assert_ptr_nonnull(sa);
	peer = raw_sa(ESP_DIR_INBOUND, spi, 1, false);
	ck_assert_int_eq(seal(sa, buf, &len, &seq), ESP_OK);
	ck_assert_uint_eq(seq, 0xffffffffull);
	ck_assert_uint_eq(wire_seq(buf), 0xffffffffu);
	ck_assert_int_eq(open_copy(peer, buf, len), ESP_OK);

	for (int round = 0; round < 3; round++) {
		memset(bufs, 0, sizeof(bufs));
		for (int i = 0; i < 8; i++)
			p[i] = (struct esp_pkt){ .buf = bufs[i], .len = PAYLOAD, .room = BUFSZ,
						 .next_header = 4 };
		ck_assert_uint_eq(esp_seal_burst(sa, p, 8), 0);
		for (int i = 0; i < 8; i++) {
			ck_assert_int_eq(p[i].status, ESP_ERR_SA_EXPIRED);
			ck_assert_uint_eq(wire_spi(bufs[i]), 0);   /* nothing written */
			ck_assert_uint_eq(wire_seq(bufs[i]), 0);
		}
	}
	esp_sa_get_stats(sa, &st);
	ck_assert_uint_eq(st.seq, 0xffffffffull);
	ck_assert_uint_eq(st.packets, 1);
	ck_assert_uint_eq(st.errors[ESP_ERR_SA_EXPIRED], 24);

	/* past 2^32 - 1 without ESN is no valid start at all */
	ck_assert_int_eq(add(ESP_DIR_OUTBOUND, 0x5e000003, 2, 0x100000000ull, false), -EINVAL);

	/* ESN: the 64-bit counter goes on */
	ck_assert_int_eq(add(ESP_DIR_OUTBOUND, spi_esn, 3, 0xfffffffeull, true), 0);
	sa = sa_find(&dp, spi_esn, ESP_DIR_OUTBOUND);
	ck_assert_int_eq(seal(sa, buf, NULL, &seq), ESP_OK);
	ck_assert_uint_eq(seq, 0xffffffffull);
	ck_assert_int_eq(seal(sa, buf, NULL, &seq), ESP_OK);
	ck_assert_uint_eq(seq, 0x100000000ull);
	ck_assert_uint_eq(wire_seq(buf), 0);
	esp_sa_destroy(peer);
	dp_down();
}
END_TEST

/* An SA toward @p ip:@p port (host order), behind a NAT if @p nat. */
static int add_to(enum esp_dir dir, uint32_t spi, unsigned keytag, uint32_t ip, uint16_t port,
		  bool nat)
{
	char err[256] = "";
	struct sa_spec s = {
		.dir = dir, .spi = spi, .cipher = ESP_CIPHER_AES256GCM, .esn = true,
		.replay_window = 64, .keymat = key(keytag), .worker = -1,
		.peer_ip = ip, .peer_port = port, .local_port = 4500, .nat = nat,
	};

	return sa_add(&dp, &s, err, sizeof(err));
}

static int update_to(enum esp_dir dir, uint32_t spi, uint32_t ip, uint16_t port, bool nat)
{
	struct sa_spec s = { .dir = dir, .spi = spi, .peer_ip = ip, .peer_port = port,
			     .local_port = 4500, .nat = nat };

	return sa_update(&dp, &s);
}

static struct sa_outer worker_outer(unsigned w)
{
	return sa_outer_unpack(atomic_load(&dp.worker[w]->sa_outer));
}

#define NAT1 0x020112c6u   /* 198.18.1.2, network order (little-endian host) */
#define NAT2 0x030112c6u   /* 198.18.1.3 */

/* A NAT mapping changes (kernel-ipsec update_sa): the worker sealing with the
 * SA sees the new destination and port; the inbound SA the new source; an SA
 * waiting for a worker brings its own outer addresses when it gets one. */
START_TEST(test_update_outer)
{
	struct sa_outer o;

	dp_up(1);
	ck_assert_int_eq(add_to(ESP_DIR_OUTBOUND, 0x1000, 0, NAT1, 30000, true), 0);
	ck_assert_int_eq(add_to(ESP_DIR_INBOUND, 0x2000, 1, NAT1, 30000, true), 0);
	o = worker_outer(0);
	ck_assert_uint_eq(o.dst_ip, NAT1);
	ck_assert_uint_eq(rte_be_to_cpu_16(o.dst_port_be), 30000);
	ck_assert_uint_eq(rte_be_to_cpu_16(o.src_port_be), 4500); /* the SA's port: NAT there */

	ck_assert_int_eq(update_to(ESP_DIR_OUTBOUND, 0x1000, NAT2, 31000, true), 0);
	ck_assert_int_eq(update_to(ESP_DIR_INBOUND, 0x2000, NAT2, 31000, true), 0);
	o = worker_outer(0);
	ck_assert_uint_eq(o.dst_ip, NAT2);
	ck_assert_uint_eq(rte_be_to_cpu_16(o.dst_port_be), 31000);
	ck_assert_uint_eq(atomic_load(&dp.sa_in[0]->peer_ip), NAT2);
	ck_assert_int_eq(update_to(ESP_DIR_OUTBOUND, 0x9999, NAT2, 31000, true), -ENOENT);
	ck_assert_int_eq(update_to(ESP_DIR_INBOUND, 0x1000, NAT2, 31000, true), -ENOENT);

	/* without a NAT in front of the peer: the worker's own source port (0) */
	ck_assert_int_eq(add_to(ESP_DIR_OUTBOUND, 0x1001, 2, NAT1, 4500, false), 0); /* pending */
	ck_assert_int_eq(sa_del(&dp, 0x1000, ESP_DIR_OUTBOUND), 0);
	o = worker_outer(0);
	ck_assert_uint_eq(o.dst_ip, NAT1);
	ck_assert_uint_eq(rte_be_to_cpu_16(o.dst_port_be), 4500);
	ck_assert_uint_eq(o.src_port_be, 0);
	dp_down();
}
END_TEST

struct reader {
	struct worker *w;
	_Atomic bool stop;
	_Atomic uint64_t reads;
	uint64_t torn;
	uint64_t a, b;      /* the two values the writer alternates */
};

static void *read_outer(void *arg)
{
	struct reader *r = arg;

	while (!atomic_load_explicit(&r->stop, memory_order_relaxed)) {
		uint64_t v = atomic_load_explicit(&r->w->sa_outer, memory_order_acquire);

		r->torn += v != r->a && v != r->b;
		atomic_fetch_add_explicit(&r->reads, 1, memory_order_relaxed);
	}
	return NULL;
}

/* A worker reading its SA's destination while the main lcore moves it back
 * and forth never sees one address with the other's port. */
START_TEST(test_update_outer_consistent)
{
	struct reader r = { 0 };
	pthread_attr_t attr;
	cpu_set_t all;
	pthread_t t;
	uint64_t deadline = mono_ms() + 5000;
	unsigned i = 0;

	dp_up(1);
	ck_assert_int_eq(add_to(ESP_DIR_OUTBOUND, 0x1000, 0, NAT1, 30000, true), 0);
	r.w = dp.worker[0];
	r.a = atomic_load(&r.w->sa_outer);
	ck_assert_int_eq(update_to(ESP_DIR_OUTBOUND, 0x1000, NAT2, 31000, true), 0);
	r.b = atomic_load(&r.w->sa_outer);
	/* EAL pinned this thread to one CPU: the reader may run on any, so the
	 * two overlap on a machine with more than one */
	CPU_ZERO(&all);
	for (long c = 0; c < sysconf(_SC_NPROCESSORS_ONLN) && c < CPU_SETSIZE; c++)
		CPU_SET(c, &all);
	pthread_attr_init(&attr);
	pthread_attr_setaffinity_np(&attr, sizeof(all), &all);
	ck_assert_int_eq(pthread_create(&t, &attr, read_outer, &r), 0);
	pthread_attr_destroy(&attr);
	/* move it back and forth until the reader has looked a million times */
	while (atomic_load(&r.reads) < 1000000 && mono_ms() < deadline) {
		update_to(ESP_DIR_OUTBOUND, 0x1000, i & 1 ? NAT2 : NAT1, i & 1 ? 31000 : 30000, true);
		i++;
	}
	atomic_store(&r.stop, true);
	pthread_join(t, NULL);
	ck_assert_uint_ge(atomic_load(&r.reads), 1000000);
	ck_assert_uint_gt(i, 1000);
	ck_assert_uint_eq(r.torn, 0);
	dp_down();
}
END_TEST

Suite *test_suite(void)
{
	Suite *s = suite_create("sa");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, eal_up, NULL);
	tcase_add_test(tc, test_dup_out_refused_seq_continues);
	tcase_add_test(tc, test_dup_in_refused_window_kept);
	tcase_add_test(tc, test_same_spi_other_direction);
	tcase_add_test(tc, test_rekey_pending_until_delete);
	tcase_add_test(tc, test_rekey_two_workers);
	tcase_add_test(tc, test_retire_takeover_and_linger);
	tcase_add_test(tc, test_retire_pending_retired_does_not_take_worker);
	tcase_add_test(tc, test_retire_grace_expires);
	tcase_add_test(tc, test_initial_seq_no_wrap);
	tcase_add_test(tc, test_update_outer);
	tcase_add_test(tc, test_update_outer_consistent);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return s;
}
