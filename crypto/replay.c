/* SPDX-License-Identifier: GPL-2.0-or-later */
/**
 * @file replay.c
 * Anti-replay window and ESN inference. See replay.h.
 */
#include "replay.h"

bool replay_window_valid(uint32_t w)
{
	return w >= REPLAY_WINDOW_MIN && w <= ESP_REPLAY_WINDOW_MAX && (w & (w - 1)) == 0;
}

void replay_init(struct replay *r, uint32_t window, uint64_t top)
{
	/* Ring of 2 * W bits (at least two blocks): >= W + 64 as RFC 6479 needs. */
	uint32_t blocks = window >= 64 ? 2 * window / 64 : 2;
	unsigned bit = (unsigned)(top & 63);

	r->top = top;
	r->window = window;
	r->block_mask = blocks - 1;
	for (uint32_t i = 0; i < blocks; i++)
		r->bits[i] = ~UINT64_C(0);
	/*
	 * Invariant kept by replay_update(): bits for numbers above top are clear.
	 * Blocks after top's are cleared when the window slides into them; only the
	 * part of top's own block above top must be cleared now.
	 */
	r->bits[(top >> 6) & r->block_mask] = bit == 63 ? ~UINT64_C(0)
							: (UINT64_C(1) << (bit + 1)) - 1;
}

uint64_t replay_esn_infer(const struct replay *r, uint32_t seq_low)
{
	uint32_t tl = (uint32_t)r->top;
	uint64_t th = r->top >> 32;
	uint32_t w = r->window;

	if (tl >= w - 1) {
		/* Case A: the window lies within one 2^32 subspace. */
		if (seq_low >= tl - w + 1)
			return th << 32 | seq_low;
		/* Below the window: the sender has moved on to the next subspace. */
		if (th == UINT32_MAX)
			return 0; /* would be past 2^64 - 1 */
		return (th + 1) << 32 | seq_low;
	}
	/* Case B: the window spans two subspaces (tl - w + 1 wraps). */
	if (seq_low >= (uint32_t)(tl - w + 1)) {
		if (th == 0)
			return 0; /* the previous subspace does not exist */
		return (th - 1) << 32 | seq_low;
	}
	return th << 32 | seq_low;
}

enum esp_status replay_check(const struct replay *r, uint64_t seq)
{
	uint64_t pos;

	if (seq == 0)
		return ESP_ERR_TOO_OLD; /* RFC 4303 2.2: the first packet is 1 */
	if (seq > r->top)
		return ESP_OK;
	/* Exactly W behind is outside: the window is [top - W + 1, top]. */
	if (r->top - seq >= r->window)
		return ESP_ERR_TOO_OLD;
	pos = seq & ((uint64_t)(r->block_mask + 1) * 64 - 1);
	if (r->bits[pos >> 6] & (UINT64_C(1) << (pos & 63)))
		return ESP_ERR_REPLAYED;
	return ESP_OK;
}

void replay_update(struct replay *r, uint64_t seq)
{
	uint64_t pos;

	if (seq > r->top) {
		uint64_t tb = r->top >> 6, sb = seq >> 6;
		uint64_t n = sb - tb;

		/* Clear the blocks the window slides into (at most the whole ring). */
		if (n > (uint64_t)r->block_mask + 1)
			n = (uint64_t)r->block_mask + 1;
		for (uint64_t i = 1; i <= n; i++)
			r->bits[(tb + i) & r->block_mask] = 0;
		r->top = seq;
	}
	pos = seq & ((uint64_t)(r->block_mask + 1) * 64 - 1);
	r->bits[pos >> 6] |= UINT64_C(1) << (pos & 63);
}
