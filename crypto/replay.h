/* SPDX-License-Identifier: GPL-2.0-or-later */
/**
 * @file replay.h
 * Inbound anti-replay window (RFC 4303 section 3.4.3) kept as an RFC 6479
 * style ring of 64-bit blocks, and ESN high-bit inference (RFC 4303 Appendix A).
 * Internal to the crypto library.
 */
#ifndef ISTHMUS_CRYPTO_REPLAY_H
#define ISTHMUS_CRYPTO_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

#include "esp.h"

/*
 * RFC 6479: a ring of (window / 64 + 1) or more blocks lets the window slide by
 * clearing whole blocks instead of shifting a bitmap. We round the ring up to a
 * power of two (2 * window bits) so the block index is a mask, not a division.
 */
#define REPLAY_BLOCKS_MAX (2 * ESP_REPLAY_WINDOW_MAX / 64)
#define REPLAY_WINDOW_MIN 32 /* RFC 4303 3.4.3: 32 MUST be supported, 64 recommended */

struct replay {
	uint64_t top;         /**< highest sequence number accepted (T in RFC 4303 App. A) */
	uint32_t window;      /**< W, a power of two */
	uint32_t block_mask;  /**< ring blocks - 1 */
	uint64_t bits[REPLAY_BLOCKS_MAX];
};

/** Whether @p w is an acceptable window size (power of two, 32..ESP_REPLAY_WINDOW_MAX). */
bool replay_window_valid(uint32_t w);

/**
 * Start a window whose highest seen number is @p top. Everything at or below
 * @p top is treated as already seen: after a restart we cannot know which of
 * those arrived, and refusing them is the safe side.
 */
void replay_init(struct replay *r, uint32_t window, uint64_t top);

/**
 * Infer the 64-bit sequence number from its low 32 bits (RFC 4303 Appendix A).
 * Returns 0 (never a valid sequence number) when the inference lands outside
 * the 64-bit space (below 1, or beyond 2^64 - 1).
 */
uint64_t replay_esn_infer(const struct replay *r, uint32_t seq_low);

/** ESP_OK, ESP_ERR_REPLAYED or ESP_ERR_TOO_OLD. Does not change the window. */
enum esp_status replay_check(const struct replay *r, uint64_t seq);

/** Mark @p seq seen, sliding the window if needed. Call only after a good ICV. */
void replay_update(struct replay *r, uint64_t seq);

#endif
