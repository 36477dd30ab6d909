/* SPDX-License-Identifier: GPL-2.0-or-later */
/**
 * @file fdb.h
 * The MAC table (forwarding database): one rte_hash keyed by (segment, MAC),
 * lock-free for readers (RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF) and reclaimed
 * through rte_rcu_qsbr. Workers look up and learn; the main lcore ages.
 *
 * An entry says on which side the MAC lives (local port or remote peer) and
 * when it was last seen. A MAC moves on the first frame from the other side
 * (the RARP/GARP a VM sends after vMotion). Learning a new MAC takes the
 * table's writer lock; refreshing and moving an existing one are plain stores.
 */
#ifndef ISTHMUS_DP_FDB_H
#define ISTHMUS_DP_FDB_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <rte_byteorder.h>

#include <rte_ether.h>
#include <rte_hash.h>
#include <rte_spinlock.h>

#include "dp.h"
#include "hash_keys.h"
#include "segment.h"
#include "worker.h"

enum fdb_side { FDB_LOCAL = 0, FDB_REMOTE = 1 };

/** (segment, MAC) packed in 8 bytes: the hash key. */
typedef uint64_t fdb_key_t;

struct fdb_entry {
	fdb_key_t key;
	_Atomic uint8_t side;       /**< enum fdb_side */
	_Atomic uint32_t last_seen; /**< coarse seconds (worker now_s) */
	/* MAC flap detection and dampening (l2guard.c) */
	_Atomic uint16_t flap_moves;  /**< moves in the current window */
	_Atomic uint32_t flap_start;  /**< second the window began */
	_Atomic uint32_t flaps;       /**< flaps reported for this MAC */
	_Atomic uint32_t damp_until;  /**< dampened until this second, 0: not dampened */
};

struct fdb {
	struct rte_hash *h;
	struct rte_mempool *entries;
	struct dp *dp;
	rte_spinlock_t lock;        /**< serialises writers: new MACs and aging only */
};

/** Key of @p mac on segment @p seg: seg << 48 | the MAC as a 48-bit big-endian number. */
static inline fdb_key_t fdb_key(uint16_t seg, const struct rte_ether_addr *mac)
{
	uint32_t hi;
	uint16_t lo;

	/* Two loads straight into registers: a 6-byte memcpy into a zeroed
	 * uint64_t became two stores and an 8-byte reload, a failed store-to-load
	 * forward (~28% of outbound_input in perf, isthmus-bench dp). */
	memcpy(&hi, mac->addr_bytes, sizeof(hi));
	memcpy(&lo, mac->addr_bytes + 4, sizeof(lo));
	return (fdb_key_t)seg << 48 | (uint64_t)rte_be_to_cpu_32(hi) << 16 | rte_be_to_cpu_16(lo);
}

/** Create the table for @p size MACs; workers register on @p dp->qsbr. */
struct fdb *fdb_create(struct dp *dp, uint32_t size);
void fdb_free(struct fdb *f);

/**
 * Look up @p n keys (n <= RTE_HASH_LOOKUP_BULK_MAX): out[i] is the entry or
 * NULL. One probe per run of equal keys (hash_lookup_runs()). Lock-free; the
 * entries stay valid until the worker's next quiescent state report.
 */
static inline void fdb_lookup_bulk(struct fdb *f, const fdb_key_t *keys, uint32_t n,
				   struct fdb_entry **out)
{
	hash_lookup_runs(f->h, keys, sizeof(*keys), n, (void **)out);
}

/**
 * Refresh or move an entry seen on @p side at @p now.
 * @return 1 if the MAC moved sides, else 0
 */
static inline int fdb_touch(struct fdb_entry *e, enum fdb_side side, uint32_t now)
{
	int moved = 0;

	if (unlikely(atomic_load_explicit(&e->side, memory_order_relaxed) != side)) {
		atomic_store_explicit(&e->side, side, memory_order_relaxed);
		moved = 1;
	}
	/* Store only when the second changed: no cache-line ping-pong between workers. */
	if (atomic_load_explicit(&e->last_seen, memory_order_relaxed) != now)
		atomic_store_explicit(&e->last_seen, now, memory_order_relaxed);
	return moved;
}

/**
 * Learn a new MAC on segment @p seg.
 * @return 1 learned, 0 already present (learned by another worker meanwhile),
 *         -1 the segment's table is full (limit_hits counted), -2 no memory
 */
int fdb_learn(struct fdb *f, struct segment *seg, fdb_key_t key, enum fdb_side side, uint32_t now);

/**
 * A worker learns a MAC it found no entry for: fdb_learn() at the worker's
 * time, its outcome counted (fdb_learned, fdb_limit, fdb_full; 0, learned
 * by another worker or earlier in this burst, is no event). @return as
 * fdb_learn()
 */
static inline int fdb_learn_counted(struct worker *w, struct segment *seg, fdb_key_t key,
				    enum fdb_side side)
{
	int r = fdb_learn(w->dp->fdb, seg, key, side, w->now_s);

	if (r == 1)
		dp_count(&w->stats, DP_C_fdb_learned, 1);
	else if (r == -1)
		dp_count(&w->stats, DP_C_fdb_limit, 1);
	else if (r == -2)
		dp_count(&w->stats, DP_C_fdb_full, 1);
	return r;
}

/**
 * Remove entries not seen for longer than their segment's aging time.
 * Main lcore only. @return number removed
 */
uint32_t fdb_age(struct fdb *f, uint32_t now);

/**
 * Remove every entry of segment @p seg (unextended: segment_del(), after no
 * worker can hold its index any more). Main lcore only. @return number removed
 */
uint32_t fdb_flush_segment(struct fdb *f, uint16_t seg);

/** Number of entries (all segments). */
uint32_t fdb_count(const struct fdb *f);

/** One MAC of a segment, for listings. */
struct fdb_mac {
	struct rte_ether_addr mac;
	uint8_t side;               /**< enum fdb_side */
	uint32_t last_seen;
	uint32_t flaps;             /**< flaps reported (l2guard.c) */
	uint32_t damp_until;        /**< dampened until (0: not) */
};

/**
 * Copy up to @p max entries of segment @p seg into @p out, from the table's
 * iterator position @p *it (0: the start), which is left after the last entry
 * read: a listing in pages. @p *end is set when the table was read to its
 * end. Not a snapshot (fdb_json_step()). Any thread (takes the writer lock
 * per entry read). @return number copied
 */
unsigned fdb_list_from(struct fdb *f, uint16_t seg, uint32_t *it, bool *end,
		       struct fdb_mac *out, unsigned max);

/** Write the table as a JSON array to @p out. */
void fdb_dump_json(struct fdb *f, FILE *out);

/**
 * Write entries of the table as JSON array elements (no brackets) from
 * iterator position @p *it on, until about @p budget bytes are written
 * (@p *written adds what was), so that a long listing is made in bounded
 * steps across control-loop turns. Start with *it = 0 and *first = true.
 * Not a snapshot: while MACs are learned or aged out between two steps, an
 * entry may be missed or listed twice (learning may move entries within the
 * hash); a table that does not change meanwhile is listed whole, each once.
 * Main lcore (takes the writer lock per entry read, as aging does).
 * @return 1 when entries are left, 0 at the end of the table
 */
int fdb_json_step(struct fdb *f, uint32_t *it, bool *first, FILE *out, size_t budget,
		  size_t *written);

#endif
