/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fdb.c: MAC table creation, learning and aging. The per-packet part
 * (lookup, refresh, move) is inline in fdb.h.
 */
#include <errno.h>
#include <inttypes.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_hash_crc.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mempool.h>
#include <rte_rcu_qsbr.h>
#include <rte_spinlock.h>

#include "ctl_json.h"
#include "dp.h"
#include "fdb.h"
#include "hash_keys.h"
#include "segment.h"

/* Called by rte_hash once no reader can hold the entry any more. */
static void fdb_entry_free(void *p, void *key_data)
{
	struct fdb *f = p;

	rte_mempool_put(f->entries, key_data);
}

struct fdb *fdb_create(struct dp *dp, uint32_t size)
{
	struct rte_hash_parameters hp = {
		.name = "isthmus_fdb",
		.entries = size,
		.key_len = sizeof(fdb_key_t),
		.hash_func = hash_key_crc64,
		.socket_id = (int)rte_socket_id(),
		.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF |
			      RTE_HASH_EXTRA_FLAGS_EXT_TABLE,
	};
	struct fdb *f = rte_zmalloc("isthmus_fdb", sizeof(*f), 0);

	if (f == NULL)
		return NULL;
	f->dp = dp;
	rte_spinlock_init(&f->lock);
	f->h = rte_hash_create(&hp);
	f->entries = rte_mempool_create("isthmus_fdb_entries", size + 64 * RTE_MAX_LCORE / 8,
					sizeof(struct fdb_entry), 32, 0, NULL, NULL, NULL, NULL,
					(int)rte_socket_id(), 0);
	if (f->h == NULL || f->entries == NULL)
		goto fail;
	rte_hash_set_cmp_func(f->h, hash_key_cmp64);
	struct rte_hash_rcu_config rc = {
		.v = dp->qsbr,
		.mode = RTE_HASH_QSBR_MODE_DQ,
		.key_data_ptr = f,
		.free_key_data_func = fdb_entry_free,
	};
	if (rte_hash_rcu_qsbr_add(f->h, &rc) != 0)
		goto fail;
	return f;
fail:
	fdb_free(f);
	return NULL;
}

void fdb_free(struct fdb *f)
{
	if (f == NULL)
		return;
	rte_hash_free(f->h);
	rte_mempool_free(f->entries);
	rte_free(f);
}

int fdb_learn(struct fdb *f, struct segment *seg, fdb_key_t key, enum fdb_side side, uint32_t now)
{
	struct fdb_entry *e;
	int r;

	/* Reserve a place under the segment's limit first: exact under concurrency. */
	if (atomic_fetch_add_explicit(&seg->mac_count, 1, memory_order_relaxed) >= seg->mac_limit) {
		atomic_fetch_sub_explicit(&seg->mac_count, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&seg->limit_hits, 1, memory_order_relaxed);
		return -1;
	}
	if (rte_mempool_get(f->entries, (void **)&e) != 0)
		goto nomem;
	e->key = key;
	atomic_store_explicit(&e->side, side, memory_order_relaxed);
	atomic_store_explicit(&e->last_seen, now, memory_order_relaxed);
	atomic_store_explicit(&e->flap_moves, 0, memory_order_relaxed);
	atomic_store_explicit(&e->flap_start, now, memory_order_relaxed);
	atomic_store_explicit(&e->flaps, 0, memory_order_relaxed);
	atomic_store_explicit(&e->damp_until, 0, memory_order_relaxed);
	/*
	 * Writers (learning workers, the aging main lcore) are serialised by
	 * f->lock, so the hash runs in its single-writer lock-free mode. This is
	 * taken once per *new* MAC, never for a MAC already in the table.
	 */
	rte_spinlock_lock(&f->lock);
	if (rte_hash_lookup(f->h, &key) >= 0) {
		/* Another worker learned it since our lookup. */
		rte_spinlock_unlock(&f->lock);
		rte_mempool_put(f->entries, e);
		atomic_fetch_sub_explicit(&seg->mac_count, 1, memory_order_relaxed);
		return 0;
	}
	/* The entry is complete before the hash publishes it (release store). */
	r = rte_hash_add_key_data(f->h, &key, e);
	rte_spinlock_unlock(&f->lock);
	if (r == 0)
		return 1;
	rte_mempool_put(f->entries, e);
nomem:
	atomic_fetch_sub_explicit(&seg->mac_count, 1, memory_order_relaxed);
	return -2;
}

/*
 * A dampened entry outlives its aging time until the dampening ends: it is
 * what keeps the flapping MAC on its side, and with aging < flap_dampen it
 * would otherwise be forgotten early and the MAC free to flap again. Signed:
 * the seconds counter may wrap.
 */
static inline bool fdb_dampened(struct fdb_entry *e, uint32_t now)
{
	uint32_t until = atomic_load_explicit(&e->damp_until, memory_order_relaxed);

	return until != 0 && (int32_t)(until - now) > 0;
}

/* Whether the entry of key @p k goes: aged (@p seg DP_SEG_NONE) or of segment @p seg. */
static bool goes(const struct fdb *f, fdb_key_t k, struct fdb_entry *e, uint16_t seg, uint32_t now)
{
	const struct segment *s = &f->dp->seg[k >> 48];

	if (seg != DP_SEG_NONE)
		return (uint16_t)(k >> 48) == seg;
	return now - atomic_load_explicit(&e->last_seen, memory_order_relaxed) > s->aging_s &&
	       !fdb_dampened(e, now);
}

/* Remove what goes() says, in batches; the memory waits for RCU (fdb_entry_free). */
static uint32_t remove_where(struct fdb *f, uint16_t seg, uint32_t now)
{
	const void *key;
	void *data;
	uint32_t it = 0, removed = 0;
	fdb_key_t old[256];
	uint32_t nold = 0;

	do {
		nold = 0;
		for (;;) {
			int32_t r;
			fdb_key_t k;

			if (nold == RTE_DIM(old))
				break;
			/* The iterator reads the key store: not while a worker learns. */
			rte_spinlock_lock(&f->lock);
			r = rte_hash_iterate(f->h, &key, &data, &it);
			if (r >= 0)
				k = *(const fdb_key_t *)key;
			rte_spinlock_unlock(&f->lock);
			if (r < 0)
				break;
			if (goes(f, k, data, seg, now))
				old[nold++] = k;
		}
		for (uint32_t i = 0; i < nold; i++) {
			struct segment *s = &f->dp->seg[old[i] >> 48];

			int32_t r;

			rte_spinlock_lock(&f->lock);
			r = rte_hash_del_key(f->h, &old[i]);
			rte_spinlock_unlock(&f->lock);
			if (r >= 0) {
				atomic_fetch_sub_explicit(&s->mac_count, 1, memory_order_relaxed);
				removed++;
			}
		}
	} while (nold == RTE_DIM(old));
	return removed;
}

uint32_t fdb_age(struct fdb *f, uint32_t now)
{
	return remove_where(f, DP_SEG_NONE, now);
}

uint32_t fdb_flush_segment(struct fdb *f, uint16_t seg)
{
	return remove_where(f, seg, 0);
}

unsigned fdb_list_from(struct fdb *f, uint16_t seg, uint32_t *it, bool *end,
		       struct fdb_mac *out, unsigned max)
{
	const void *key;
	void *data;
	unsigned n = 0;

	*end = false;
	while (n < max) {
		const struct fdb_entry *e;
		fdb_key_t k = 0;
		int32_t r;

		rte_spinlock_lock(&f->lock);
		r = rte_hash_iterate(f->h, &key, &data, it);
		if (r >= 0) {
			k = *(const fdb_key_t *)key;
			e = data;
			if ((k >> 48) == seg) {
				for (int i = 0; i < RTE_ETHER_ADDR_LEN; i++)
					out[n].mac.addr_bytes[i] = k >> (8 * (5 - i));
				out[n].side = atomic_load_explicit(&e->side, memory_order_relaxed);
				out[n].last_seen = atomic_load_explicit(&e->last_seen, memory_order_relaxed);
				out[n].flaps = atomic_load_explicit(&e->flaps, memory_order_relaxed);
				out[n].damp_until = atomic_load_explicit(&e->damp_until, memory_order_relaxed);
				n++;
			}
		}
		rte_spinlock_unlock(&f->lock);
		if (r < 0) {
			*end = true;
			break;
		}
	}
	return n;
}

uint32_t fdb_count(const struct fdb *f)
{
	int32_t n = rte_hash_count(f->h);

	return n < 0 ? 0 : (uint32_t)n;
}

int fdb_json_step(struct fdb *f, uint32_t *it, bool *first, FILE *out, size_t budget,
		  size_t *written)
{
	uint32_t now = (uint32_t)(rte_rdtsc() / f->dp->tsc_hz);
	size_t used = 0;

	while (used < budget) {
		const struct fdb_entry *e;
		const struct segment *s;
		const void *key;
		void *data;
		fdb_key_t k = 0;
		uint32_t until;
		int32_t r, left;
		struct json_object *j;
		char mac[18];

		/* The iterator reads the key store: not while a worker learns. */
		rte_spinlock_lock(&f->lock);
		r = rte_hash_iterate(f->h, &key, &data, it);
		if (r >= 0)
			k = *(const fdb_key_t *)key;
		rte_spinlock_unlock(&f->lock);
		if (r < 0) {
			*written += used;
			return 0;
		}
		/* the entry itself is freed only after a grace period of the
		 * workers, and the main lcore (here) is the only one that ages */
		e = data;
		s = &f->dp->seg[k >> 48];
		until = atomic_load(&e->damp_until);
		left = until ? (int32_t)(until - now) : 0;
		j = json_object_new_object();
		snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x",
			 (unsigned)(k >> 40) & 0xff, (unsigned)(k >> 32) & 0xff,
			 (unsigned)(k >> 24) & 0xff, (unsigned)(k >> 16) & 0xff,
			 (unsigned)(k >> 8) & 0xff, (unsigned)k & 0xff);
		ctl_json_str(j, "segment", s->name);
		ctl_json_int(j, "vni", s->vni);
		ctl_json_str(j, "mac", mac);
		ctl_json_str(j, "side", atomic_load(&e->side) == FDB_LOCAL ? "local" : "remote");
		ctl_json_int(j, "last_seen", atomic_load(&e->last_seen));
		ctl_json_int(j, "flaps", atomic_load(&e->flaps));
		ctl_json_bool(j, "dampened", left > 0);
		ctl_json_int(j, "dampened_s", left > 0 ? left : 0);
		used += ctl_json_elem(out, first, ",\n    ", j);
	}
	*written += used;
	return 1;
}

void fdb_dump_json(struct fdb *f, FILE *out)
{
	uint32_t it = 0;
	bool first = true;
	size_t n = 0;

	fputc('[', out);
	while (fdb_json_step(f, &it, &first, out, SIZE_MAX, &n))
		;
	fputs("]", out);
}
