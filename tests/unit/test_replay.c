/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * crypto/: anti-replay window (RFC 4303 section 3.4.3, RFC 6479 layout) and
 * ESN inference (RFC 4303 Appendix A), first on replay.c directly, then
 * through esp_open_burst() with real packets.
 */
#include "check_main.h"
#include "esp_testutil.h"
#include "replay.h"

static const uint32_t windows[] = { 32, 64, 1024, 4096 };
#define NWIN (int)(sizeof(windows) / sizeof(windows[0]))

/* Window edges: W - 1 behind the top is inside, W behind is out. */
START_TEST(edges)
{
	uint32_t w = windows[_i];
	static struct replay r;
	uint64_t top = 10 * (uint64_t)w + 17;

	replay_init(&r, w, 0);
	replay_update(&r, top);
	ck_assert_int_eq(replay_check(&r, top), ESP_ERR_REPLAYED);
	ck_assert_int_eq(replay_check(&r, top + 1), ESP_OK);
	ck_assert_int_eq(replay_check(&r, top - (w - 1)), ESP_OK);
	ck_assert_int_eq(replay_check(&r, top - w), ESP_ERR_TOO_OLD);
	ck_assert_int_eq(replay_check(&r, top - w - 1), ESP_ERR_TOO_OLD);
	ck_assert_int_eq(replay_check(&r, 0), ESP_ERR_TOO_OLD);
	/* Accept the oldest slot, then it is a replay; top is unchanged. */
	replay_update(&r, top - (w - 1));
	ck_assert_int_eq(replay_check(&r, top - (w - 1)), ESP_ERR_REPLAYED);
	ck_assert_uint_eq(r.top, top);
	/* One step forward and that slot falls out of the window. */
	replay_update(&r, top + 1);
	ck_assert_int_eq(replay_check(&r, top - (w - 1)), ESP_ERR_TOO_OLD);
	ck_assert_int_eq(replay_check(&r, top - (w - 2)), ESP_OK);
}
END_TEST

/* Initial state: a fresh SA accepts 1 and rejects 0; a restarted one
 * (initial top T) treats everything up to T as seen. */
START_TEST(initial)
{
	static struct replay r;

	replay_init(&r, 64, 0);
	ck_assert_int_eq(replay_check(&r, 0), ESP_ERR_TOO_OLD);
	for (uint64_t s = 1; s < 200; s++)
		ck_assert_int_eq(replay_check(&r, s), ESP_OK);
	replay_init(&r, 64, 1000);
	ck_assert_int_eq(replay_check(&r, 1000), ESP_ERR_REPLAYED);
	ck_assert_int_eq(replay_check(&r, 990), ESP_ERR_REPLAYED);
	ck_assert_int_eq(replay_check(&r, 936), ESP_ERR_TOO_OLD);
	for (uint64_t s = 1001; s < 1200; s++)
		ck_assert_int_eq(replay_check(&r, s), ESP_OK);
	replay_update(&r, 1100);
	for (uint64_t s = 1037; s < 1100; s++)
		ck_assert_int_eq(replay_check(&r, s), ESP_OK);
	/* top = 63 exactly: the whole first block is seen. */
	replay_init(&r, 64, 63);
	ck_assert_int_eq(replay_check(&r, 63), ESP_ERR_REPLAYED);
	ck_assert_int_eq(replay_check(&r, 64), ESP_OK);
}
END_TEST

/* Compare with a plain model (a "seen" array and the RFC 4303 rule) over
 * random arrival orders: duplicates, reordering, jumps, stale packets. */
START_TEST(model)
{
	enum { SPACE = 1 << 23, STEPS = 20000 };
	uint32_t w = windows[_i];
	static struct replay r;
	static bool seen[SPACE];
	uint64_t top = 0, accepted = 0;

	memset(seen, 0, sizeof(seen));
	replay_init(&r, w, 0);
	srandom(1234 + w);
	for (int i = 0; i < STEPS; i++) {
		long x = random();
		uint64_t s;
		enum esp_status want, got;

		switch (x % 32) {
		case 0: case 1: case 2: case 3: /* in the past, maybe too old */
			s = top > 2 * (uint64_t)w ? top - (uint64_t)(x >> 6) % (2 * w) : 1;
			break;
		case 4: /* a jump ahead, sometimes past the whole ring */
			s = top + 1 + (uint64_t)(x >> 6) % (3 * w);
			break;
		case 5: case 6: /* a duplicate of the top */
			s = top ? top : 1;
			break;
		default: /* near the top, both sides */
			s = top + 8 > 16 ? top + 8 - (uint64_t)(x >> 6) % 16 : 1 + (uint64_t)(x >> 6) % 16;
			break;
		}
		if (s >= SPACE)
			break;
		if (s == 0 || (s <= top && top - s >= w))
			want = ESP_ERR_TOO_OLD;
		else if (seen[s])
			want = ESP_ERR_REPLAYED;
		else
			want = ESP_OK;
		got = replay_check(&r, s);
		ck_assert_msg(got == want, "w=%u step %d seq %llu top %llu: got %s want %s", w, i,
			      (unsigned long long)s, (unsigned long long)top, esp_status_name(got),
			      esp_status_name(want));
		if (got == ESP_OK) {
			replay_update(&r, s);
			seen[s] = true;
			if (s > top)
				top = s;
			accepted++;
		}
		ck_assert_uint_eq(r.top, top);
	}
	ck_assert_uint_gt(accepted, 1000);
}
END_TEST

/* RFC 4303 Appendix A, both cases, with W = 64. */
START_TEST(esn_infer)
{
	static struct replay r;
	const uint64_t hi = UINT64_C(7) << 32;

	/* Case A: Tl >= W - 1, window inside one subspace. */
	replay_init(&r, 64, hi | 1000);
	ck_assert_uint_eq(replay_esn_infer(&r, 1000), hi | 1000);
	ck_assert_uint_eq(replay_esn_infer(&r, 937), hi | 937);       /* Tl - W + 1 */
	ck_assert_uint_eq(replay_esn_infer(&r, 5000), hi | 5000);     /* ahead */
	ck_assert_uint_eq(replay_esn_infer(&r, 936), hi + (UINT64_C(1) << 32) + 936); /* wrapped */
	ck_assert_uint_eq(replay_esn_infer(&r, 0), hi + (UINT64_C(1) << 32));
	/* Case B: Tl < W - 1, the window reaches into the previous subspace. */
	replay_init(&r, 64, hi | 10);
	ck_assert_uint_eq(replay_esn_infer(&r, 10), hi | 10);
	ck_assert_uint_eq(replay_esn_infer(&r, 0), hi);
	ck_assert_uint_eq(replay_esn_infer(&r, 3000), hi | 3000);
	ck_assert_uint_eq(replay_esn_infer(&r, UINT32_MAX), (hi - (UINT64_C(1) << 32)) | UINT32_MAX);
	/* Tl - W + 1 = 10 - 63 mod 2^32 */
	ck_assert_uint_eq(replay_esn_infer(&r, UINT32_MAX - 52),
			  (hi - (UINT64_C(1) << 32)) | (UINT32_MAX - 52));
	ck_assert_uint_eq(replay_esn_infer(&r, UINT32_MAX - 53), hi | (UINT32_MAX - 53));
	/* Edges of the 64-bit space: nothing below 1, nothing above 2^64 - 1. */
	replay_init(&r, 64, 5);
	ck_assert_uint_eq(replay_esn_infer(&r, UINT32_MAX), 0);
	replay_init(&r, 64, UINT64_MAX - 5);
	ck_assert_uint_eq(replay_esn_infer(&r, 3), 0);
	ck_assert_uint_eq(replay_esn_infer(&r, UINT32_MAX), UINT64_MAX);
}
END_TEST

/* ---- through the ESP path ---- */

static uint8_t keymat[ESP_KEYMAT_LEN];

struct pktbuf {
	uint8_t b[96];
	uint32_t len;
};

/* Seal n packets (payload 20 bytes) on a fresh outbound SA starting after @p first. */
static void seal_n(enum esp_backend be, bool esn, uint64_t first, struct pktbuf *pb, int n)
{
	struct esp_sa *out = tu_sa(be, ESP_CIPHER_AES256GCM, ESP_DIR_OUTBOUND, 0x77770001,
				   keymat, esn, 0, first);

	for (int i = 0; i < n; i++)
		pb[i].len = tu_seal1(out, pb[i].b, sizeof(pb[i].b), (const uint8_t *)"0123456789abcdefghij",
				     20, ESP_OK);
	esp_sa_destroy(out);
}

static enum esp_status open_copy(struct esp_sa *in, const struct pktbuf *pb, uint64_t *seq)
{
	uint8_t tmp[96];
	struct esp_pkt got;
	enum esp_status st;

	memcpy(tmp, pb->b, pb->len);
	st = tu_open1(in, tmp, pb->len, &got);
	if (st == ESP_OK && seq)
		*seq = got.seq;
	return st;
}

/* Duplicates, out-of-order inside the window, and too old, with counters. */
START_TEST(esp_window)
{
	enum esp_backend be = tu_backend(_i);
	static struct pktbuf pb[200];
	struct esp_sa *in = tu_sa(be, ESP_CIPHER_AES256GCM, ESP_DIR_INBOUND, 0x77770001, keymat,
				  false, 64, 0);
	struct esp_sa_stats st;
	uint64_t seq;

	seal_n(be, false, 0, pb, 200); /* pb[i] carries seq i + 1 */
	ck_assert_int_eq(open_copy(in, &pb[99], &seq), ESP_OK);    /* 100 */
	ck_assert_uint_eq(seq, 100);
	ck_assert_int_eq(open_copy(in, &pb[99], NULL), ESP_ERR_REPLAYED);
	ck_assert_int_eq(open_copy(in, &pb[36], &seq), ESP_OK);    /* 37 = 100 - 63 */
	ck_assert_uint_eq(seq, 37);
	ck_assert_int_eq(open_copy(in, &pb[35], NULL), ESP_ERR_TOO_OLD); /* 36 = 100 - 64 */
	ck_assert_int_eq(open_copy(in, &pb[36], NULL), ESP_ERR_REPLAYED);
	ck_assert_int_eq(open_copy(in, &pb[98], NULL), ESP_OK);    /* 99, out of order */
	ck_assert_int_eq(open_copy(in, &pb[100], NULL), ESP_OK);   /* 101 */
	ck_assert_int_eq(open_copy(in, &pb[36], NULL), ESP_ERR_TOO_OLD); /* now 64 behind */
	esp_sa_get_stats(in, &st);
	ck_assert_uint_eq(st.packets, 4);
	ck_assert_uint_eq(st.errors[ESP_ERR_REPLAYED], 2);
	ck_assert_uint_eq(st.errors[ESP_ERR_TOO_OLD], 2);
	ck_assert_uint_eq(st.seq, 101);
	esp_sa_destroy(in);
}
END_TEST

/* A packet with a bad ICV must not move the window (RFC 4303 3.4.3), even
 * when it claims a sequence number far ahead; nor mark its number seen. */
START_TEST(bad_icv_keeps_window)
{
	enum esp_backend be = tu_backend(_i);
	static struct pktbuf pb[3000];
	struct esp_sa *in = tu_sa(be, ESP_CIPHER_AES256GCM, ESP_DIR_INBOUND, 0x77770001, keymat,
				  false, 1024, 0);
	struct pktbuf forged;
	struct esp_sa_stats st;

	seal_n(be, false, 0, pb, 3000);
	ck_assert_int_eq(open_copy(in, &pb[9], NULL), ESP_OK); /* top = 10 */
	forged = pb[2999];                                     /* 3000, ICV broken */
	forged.b[forged.len - 5] ^= 1;
	ck_assert_int_eq(open_copy(in, &forged, NULL), ESP_ERR_ICV);
	/* Had the window moved to 3000, 11 would now be too old. */
	ck_assert_int_eq(open_copy(in, &pb[10], NULL), ESP_OK);
	/* And 3000 itself (genuine) is still fresh. */
	ck_assert_int_eq(open_copy(in, &pb[2999], NULL), ESP_OK);
	esp_sa_get_stats(in, &st);
	ck_assert_uint_eq(st.errors[ESP_ERR_ICV], 1);
	ck_assert_uint_eq(st.seq, 3000);
	esp_sa_destroy(in);
}
END_TEST

/* One burst delivered shuffled, with duplicates inside the burst itself:
 * every packet opens once, the second copy is a replay. */
START_TEST(reordered_burst)
{
	enum { N = 80 };
	enum esp_backend be = tu_backend(_i);
	static struct pktbuf pb[N];
	static uint8_t bufs[N + 8][96];
	struct esp_pkt p[N + 8];
	int order[N + 8];
	struct esp_sa *in = tu_sa(be, ESP_CIPHER_AES256GCM, ESP_DIR_INBOUND, 0x77770001, keymat,
				  true, 1024, 0);
	uint16_t ok;
	int replays = 0;

	seal_n(be, true, 0, pb, N);
	for (int i = 0; i < N; i++)
		order[i] = i;
	srandom(99);
	for (int i = N - 1; i > 0; i--) {
		int j = (int)(random() % (i + 1)), t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
	for (int i = 0; i < 8; i++) /* duplicates, some in the same internal chunk */
		order[N + i] = order[i * 9];
	for (int i = 0; i < N + 8; i++) {
		memcpy(bufs[i], pb[order[i]].b, pb[order[i]].len);
		p[i] = (struct esp_pkt){ .buf = bufs[i], .len = pb[order[i]].len };
	}
	ok = esp_open_burst(in, p, N + 8);
	ck_assert_uint_eq(ok, N);
	for (int i = 0; i < N + 8; i++) {
		if (i < N) {
			ck_assert_uint_eq(p[i].status, ESP_OK);
			ck_assert_uint_eq(p[i].seq, (uint64_t)order[i] + 1);
			ck_assert_uint_eq(p[i].len, 20);
		} else {
			ck_assert_uint_eq(p[i].status, ESP_ERR_REPLAYED);
			replays++;
		}
	}
	ck_assert_int_eq(replays, 8);
	/* The same burst again: all replays. */
	for (int i = 0; i < N; i++) {
		memcpy(bufs[i], pb[order[i]].b, pb[order[i]].len);
		p[i] = (struct esp_pkt){ .buf = bufs[i], .len = pb[order[i]].len };
	}
	ck_assert_uint_eq(esp_open_burst(in, p, N), 0);
	for (int i = 0; i < N; i++)
		ck_assert_uint_eq(p[i].status, ESP_ERR_REPLAYED);
	esp_sa_destroy(in);
}
END_TEST

/* ESN across 2^32: the sender goes from 2^32 - 40 to 2^32 + 40; the
 * receiver, started just below, infers the high half for packets on both
 * sides of the wrap, in and out of order, for windows 64, 1024 and 4096. */
START_TEST(esn_wrap)
{
	enum { N = 80 };
	enum esp_backend be = tu_backend(_i / 3);
	uint32_t w = (uint32_t[]){ 64, 1024, 4096 }[_i % 3];
	const uint64_t first = (UINT64_C(1) << 32) - 41; /* last used; next is 2^32 - 40 */
	static struct pktbuf pb[N];
	struct esp_sa *in = tu_sa(be, ESP_CIPHER_AES256GCM, ESP_DIR_INBOUND, 0x77770001, keymat,
				  true, w, first - 5);
	uint64_t seq;

	seal_n(be, true, first, pb, N); /* pb[i]: first + 1 + i */
	/* The low half on the wire wraps to 0 at pb[40]. */
	ck_assert_uint_eq(pb[40].b[4] | pb[40].b[5] | pb[40].b[6] | pb[40].b[7], 0);
	/* Jump past the wrap first, then fill in from below it (case B). */
	ck_assert_int_eq(open_copy(in, &pb[45], &seq), ESP_OK);
	ck_assert_uint_eq(seq, first + 46);
	for (int i = 0; i < 45; i++) {
		ck_assert_int_eq(open_copy(in, &pb[i], &seq), ESP_OK);
		ck_assert_uint_eq(seq, first + 1 + i);
	}
	for (int i = N - 1; i > 45; i--) {
		ck_assert_int_eq(open_copy(in, &pb[i], &seq), ESP_OK);
		ck_assert_uint_eq(seq, first + 1 + i);
	}
	/*
	 * Again: replays inside the window. Those W or more behind the top are
	 * read, per RFC 4303 Appendix A, as belonging to the *next* 2^32
	 * subspace (an ESN receiver cannot tell "very old" from "far ahead"),
	 * so they fail the ICV check, which is what makes that inference safe.
	 */
	for (int i = 0; i < N; i++)
		ck_assert_int_eq(open_copy(in, &pb[i], NULL),
				 N - 1 - i >= (int)w ? ESP_ERR_ICV : ESP_ERR_REPLAYED);
	esp_sa_destroy(in);
}
END_TEST

/* A non-ESN SA must not accept the wrap: numbers only go up to 2^32 - 1,
 * and a receiver at 2^32 - 1 refuses low numbers as too old. */
START_TEST(no_esn_no_wrap)
{
	static struct pktbuf pb[4];
	struct esp_sa *in = tu_sa(ESP_BACKEND_SODIUM, ESP_CIPHER_AES256GCM, ESP_DIR_INBOUND,
				  0x77770001, keymat, false, 64, 0);

	seal_n(ESP_BACKEND_SODIUM, false, UINT32_MAX - 1, pb, 1); /* UINT32_MAX */
	seal_n(ESP_BACKEND_SODIUM, false, 0, pb + 1, 1);          /* 1 */
	ck_assert_int_eq(open_copy(in, &pb[0], NULL), ESP_OK);
	ck_assert_int_eq(open_copy(in, &pb[1], NULL), ESP_ERR_TOO_OLD);
	esp_sa_destroy(in);
}
END_TEST

Suite *test_suite(void)
{
	Suite *s = suite_create("replay");
	TCase *tw = tcase_create("window");
	TCase *te = tcase_create("esp");

	if (esp_crypto_init() != 0)
		return NULL;
	for (int i = 0; i < ESP_KEYMAT_LEN; i++)
		keymat[i] = (uint8_t)(0xa0 ^ i);
	tcase_add_loop_test(tw, edges, 0, NWIN);
	tcase_add_test(tw, initial);
	tcase_add_loop_test(tw, model, 0, NWIN);
	tcase_add_test(tw, esn_infer);
	tcase_add_loop_test(te, esp_window, 0, tu_nbackends());
	tcase_add_loop_test(te, bad_icv_keeps_window, 0, tu_nbackends());
	tcase_add_loop_test(te, reordered_burst, 0, tu_nbackends());
	tcase_add_loop_test(te, esn_wrap, 0, 3 * tu_nbackends());
	tcase_add_test(te, no_esn_no_wrap);
	suite_add_tcase(s, tw);
	suite_add_tcase(s, te);
	return s;
}
