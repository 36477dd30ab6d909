/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sa.c: security associations as the dataplane holds them: each worker's own
 * outbound SA (per-resource SAs in the spirit of RFC 9611: one SA and one UDP
 * source port per worker, so the peer can spread them over its cores) and the
 * inbound SAs, found by SPI in an rte_hash (RFC 4303 section 2.1).
 *
 * SAs come and go at run time (isthmusd over the control socket, at every
 * rekey), while workers keep forwarding without locks: workers only read a
 * pointer (their own w->sa_out, or the SPI hash with lock-free readers), the
 * main lcore swaps it, and an SA is destroyed only after every worker has
 * passed a quiescent state (rte_rcu_qsbr) since it was unpublished.
 *
 * A rekey must lose nothing. charon installs the new outbound SA and then
 * deletes the old one; the new SA waits ("pending") until a worker's SA is
 * deleted and then takes its place in one pointer store. An outbound SA is
 * therefore never used by two workers at once (esp.h: one thread per SA), and
 * the old inbound SA stays until charon deletes it (delete_rekeyed_delay).
 * The [sa.static] keys of test configurations take the same path.
 *
 * Nonces: the AEAD nonce is salt || the SA's 64-bit sequence number
 * (RFC 4106 section 3.1, RFC 7634 section 2), so a key must never be sealed
 * with from a fresh counter twice. Nothing here ever does: an SA lives only in
 * this process, an SPI already held is refused rather than replaced, and a
 * control plane that restarts retires the SAs it left (sa_retire_all) instead
 * of installing its keys again; a dataplane that restarts gets new CHILD_SAs
 * negotiated (control/kernel_dp.c), never the old keys.
 */
#include <errno.h>
#include <time.h>

#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include "dp.h"
#include "exception.h"  /* NATT_PORT */
#include "hash_keys.h"
#include "sa.h"
#include "worker.h"
#include "log.h"

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ull + ts.tv_nsec / 1000000;
}

/* Wait until no worker can still hold a pointer unpublished before this call. */
static void grace_period(struct dp *dp)
{
	if (dp->qsbr)
		rte_rcu_qsbr_synchronize(dp->qsbr, RTE_QSBR_THRID_INVALID);
}

/* Outbound SA whose worker is @p w, or -1. */
static int out_of_worker(const struct dp *dp, unsigned w)
{
	for (int i = 0; i < dp->nb_sa_out; i++)
		if (dp->sa_out[i]->worker == (int)w)
			return i;
	return -1;
}

/*
 * Fewer outbound SAs than workers ([ike] child_sas, or a peer that initiated
 * fewer): each worker without one hands its frames to a worker with one
 * (outbound.c), the SA-less workers dealt round-robin over those with an SA.
 * An SA is still sealed with by one thread only (esp.h). -1: it has its own,
 * or nobody has one (drop_no_sa).
 */
static void assign_sealers(struct dp *dp)
{
	int with[DP_MAX_WORKERS];
	unsigned nwith = 0, k = 0;

	for (unsigned w = 0; w < dp->nb_workers; w++)
		if (out_of_worker(dp, w) >= 0)
			with[nwith++] = (int)w;
	for (unsigned w = 0; w < dp->nb_workers; w++) {
		int to = -1;

		if (out_of_worker(dp, w) < 0 && nwith)
			to = with[k++ % nwith];
		atomic_store_explicit(&dp->worker[w]->seal_by, to, memory_order_release);
	}
}

static void publish(struct dp *dp, struct worker *w, struct esp_sa *sa)
{
	atomic_store_explicit(&w->sa_out, sa, memory_order_release);
	assign_sealers(dp);
}

static struct esp_sa *sa_make(const struct dp *dp, const struct sa_spec *s, char *err,
			      size_t errlen)
{
	struct esp_sa_params p = {
		.cipher = s->cipher,
		.backend = dp->cfg->backend,
		.dir = s->dir,
		.spi = s->spi,
		.keymat = s->keymat,
		.keymat_len = ESP_KEYMAT_LEN,
		.esn = s->esn,
		.replay_window = s->replay_window,
		.initial_seq = s->dir == ESP_DIR_OUTBOUND ? s->initial_seq : 0,
	};
	char why[128] = "";
	struct esp_sa *sa = esp_sa_create(&p, why, sizeof(why));

	if (sa == NULL)
		snprintf(err, errlen, "SA 0x%08x (%s): %s", s->spi,
			 s->dir == ESP_DIR_OUTBOUND ? "out" : "in", why);
	return sa;
}

static int find_out(const struct dp *dp, uint32_t spi)
{
	for (int i = 0; i < dp->nb_sa_out; i++)
		if (dp->sa_out[i]->spi == spi)
			return i;
	return -1;
}

static int find_in(const struct dp *dp, uint32_t spi)
{
	for (int i = 0; i < dp->nb_sa_in; i++)
		if (dp->sa_in[i]->spi == spi)
			return i;
	return -1;
}

/* The outbound SA waiting for a worker that gets the next one, or -1: the
 * oldest, but a retired one only if no current SA waits (an isthmusd that
 * died in the middle of a rekey left it; its successor's SAs go first). */
static int oldest_pending(const struct dp *dp)
{
	int best = -1;

	for (int i = 0; i < dp->nb_sa_out; i++) {
		const struct sa_out *o = dp->sa_out[i], *b;

		if (o->worker >= 0)
			continue;
		b = best < 0 ? NULL : dp->sa_out[best];
		if (b == NULL || (!o->retire_ms && b->retire_ms) ||
		    (!o->retire_ms == !b->retire_ms && o->added_ms < b->added_ms))
			best = i;
	}
	return best;
}

static void give_worker(struct dp *dp, struct sa_out *o, unsigned w)
{
	o->worker = (int)w;
	/* the destination first: the release store of the SA publishes it too */
	atomic_store_explicit(&dp->worker[w]->sa_outer, sa_outer_pack(o->outer),
			      memory_order_relaxed);
	publish(dp, dp->worker[w], o->sa);
}

static struct sa_outer outer_of(const struct sa_spec *s)
{
	return (struct sa_outer){
		.dst_ip = s->peer_ip,
		.dst_port_be = rte_cpu_to_be_16(s->peer_port),
		.src_port_be = s->nat ? rte_cpu_to_be_16(s->local_port) : 0,
	};
}

/* A worker whose SA is retired (the oldest such), or -1. */
static int retired_worker(const struct dp *dp)
{
	int best = -1;

	for (int i = 0; i < dp->nb_sa_out; i++) {
		const struct sa_out *o = dp->sa_out[i];

		if (o->retire_ms && o->worker >= 0 &&
		    (best < 0 || o->added_ms < dp->sa_out[best]->added_ms))
			best = i;
	}
	return best;
}

static int add_out(struct dp *dp, const struct sa_spec *s, struct esp_sa *sa)
{
	struct sa_out *o;
	int r;

	if (find_out(dp, s->spi) >= 0)
		return -EEXIST;
	if (dp->nb_sa_out == DP_MAX_SA)
		return -ENOSPC;
	o = rte_zmalloc("isthmus_sa_out", sizeof(*o), RTE_CACHE_LINE_SIZE);
	if (o == NULL)
		return -ENOMEM;
	o->sa = sa;
	o->spi = s->spi;
	o->outer = outer_of(s);
	o->worker = -1;
	o->added_ms = now_ms();
	o->last_change_ms = UINT64_MAX;
	o->esn = s->esn;
	o->cipher = s->cipher;
	dp->sa_out[dp->nb_sa_out++] = o;
	if (s->worker >= 0 && (unsigned)s->worker < dp->nb_workers &&
	    out_of_worker(dp, (unsigned)s->worker) < 0) {
		give_worker(dp, o, (unsigned)s->worker);
		return 0;
	}
	for (unsigned w = 0; w < dp->nb_workers; w++)
		if (out_of_worker(dp, w) < 0) {
			give_worker(dp, o, w);
			return 0;
		}
	/* Every worker has one. A retired SA (its control plane is gone) makes
	 * way at once: deleting it hands its worker to the oldest pending SA. */
	r = retired_worker(dp);
	if (r >= 0) {
		dp_count(&dp->main_stats, DP_C_sa_retired_expired, 1);
		sa_del(dp, dp->sa_out[r]->spi, ESP_DIR_OUTBOUND);
	}
	return 0; /* else pending until a worker's SA is deleted (a rekey) */
}

static int add_in(struct dp *dp, const struct sa_spec *s, struct esp_sa *sa)
{
	const struct dp_config *c = dp->cfg;
	struct sa_in *in;
	int32_t pos;

	if (find_in(dp, s->spi) >= 0)
		return -EEXIST;
	if (dp->nb_sa_in == DP_MAX_SA)
		return -ENOSPC;
	in = rte_zmalloc("isthmus_sa_in", sizeof(*in), RTE_CACHE_LINE_SIZE);
	if (in == NULL)
		return -ENOMEM;
	in->sa = sa;
	in->spi = s->spi;
	atomic_init(&in->peer_ip, s->peer_ip);
	in->peer_vtep = c->peer_vtep;
	in->local_vtep = c->local_vtep;
	in->last_change_ms = UINT64_MAX;
	in->replay_window = s->replay_window;
	in->esn = s->esn;
	in->cipher = s->cipher;
	atomic_init(&in->owner, -1);
	pos = rte_hash_add_key_data(dp->spi_hash, &in->spi, in) == 0
		      ? rte_hash_lookup(dp->spi_hash, &in->spi) : -ENOSPC;
	if (pos < 0) {
		rte_free(in);
		return -ENOSPC;
	}
	in->hash_pos = pos;
	dp->sa_in[dp->nb_sa_in++] = in;
	return 0;
}

int sa_add(struct dp *dp, const struct sa_spec *s, char *err, size_t errlen)
{
	struct esp_sa *sa;
	int rc;

	if (s->spi == 0) {
		snprintf(err, errlen, "SPI 0 is reserved (RFC 4303 section 2.1)");
		return -EINVAL;
	}
	sa = sa_make(dp, s, err, errlen);
	if (sa == NULL)
		return -EINVAL;
	rc = s->dir == ESP_DIR_OUTBOUND ? add_out(dp, s, sa) : add_in(dp, s, sa);
	if (rc < 0) {
		esp_sa_destroy(sa);
		if (rc == -EEXIST)
			dp_count(&dp->main_stats, DP_C_sa_dup_refused, 1);
		snprintf(err, errlen, "SA 0x%08x (%s): %s", s->spi,
			 s->dir == ESP_DIR_OUTBOUND ? "out" : "in",
			 rc == -EEXIST ? "this SPI is installed already; refused (installing its key "
					 "again would restart its sequence numbers and reuse nonces)"
			 : rc == -ENOSPC ? "SA table full" : "out of memory");
	}
	return rc;
}

int sa_update(struct dp *dp, const struct sa_spec *s)
{
	if (s->dir == ESP_DIR_OUTBOUND) {
		int i = find_out(dp, s->spi);
		struct sa_out *o;

		if (i < 0)
			return -ENOENT;
		o = dp->sa_out[i];
		o->outer = outer_of(s);
		if (o->worker >= 0)
			atomic_store_explicit(&dp->worker[o->worker]->sa_outer,
					      sa_outer_pack(o->outer), memory_order_release);
	} else {
		int i = find_in(dp, s->spi);

		if (i < 0)
			return -ENOENT;
		atomic_store_explicit(&dp->sa_in[i]->peer_ip, s->peer_ip, memory_order_relaxed);
	}
	return 0;
}

int sa_del(struct dp *dp, uint32_t spi, enum esp_dir dir)
{
	if (dir == ESP_DIR_OUTBOUND) {
		int i = find_out(dp, spi), p;
		struct sa_out *o;

		if (i < 0)
			return -ENOENT;
		o = dp->sa_out[i];
		dp->sa_out[i] = dp->sa_out[--dp->nb_sa_out];
		if (o->worker >= 0) {
			/* the rekeyed SA's successor takes over this worker */
			p = oldest_pending(dp);
			if (p >= 0)
				give_worker(dp, dp->sa_out[p], (unsigned)o->worker);
			else
				publish(dp, dp->worker[o->worker], NULL);
		}
		grace_period(dp);
		esp_sa_destroy(o->sa);
		rte_free(o);
	} else {
		int i = find_in(dp, spi);
		struct sa_in *in;

		if (i < 0)
			return -ENOENT;
		in = dp->sa_in[i];
		dp->sa_in[i] = dp->sa_in[--dp->nb_sa_in];
		rte_hash_del_key(dp->spi_hash, &in->spi);
		grace_period(dp);
		/* lock-free hash: the slot is reusable only after the grace period */
		rte_hash_free_key_with_position(dp->spi_hash, in->hash_pos);
		esp_sa_destroy(in->sa);
		rte_free(in);
	}
	return 0;
}

struct esp_sa *sa_find(struct dp *dp, uint32_t spi, enum esp_dir dir)
{
	int i = dir == ESP_DIR_OUTBOUND ? find_out(dp, spi) : find_in(dp, spi);

	if (i < 0)
		return NULL;
	return dir == ESP_DIR_OUTBOUND ? dp->sa_out[i]->sa : dp->sa_in[i]->sa;
}

uint64_t sa_idle_ms(struct dp *dp, uint32_t spi, enum esp_dir dir, uint64_t now)
{
	int i = dir == ESP_DIR_OUTBOUND ? find_out(dp, spi) : find_in(dp, spi);
	uint64_t *last_pk, *last_ms;
	struct esp_sa_stats st;

	if (i < 0)
		return UINT64_MAX;
	if (dir == ESP_DIR_OUTBOUND) {
		last_pk = &dp->sa_out[i]->last_packets;
		last_ms = &dp->sa_out[i]->last_change_ms;
		esp_sa_get_stats(dp->sa_out[i]->sa, &st);
	} else {
		last_pk = &dp->sa_in[i]->last_packets;
		last_ms = &dp->sa_in[i]->last_change_ms;
		esp_sa_get_stats(dp->sa_in[i]->sa, &st);
	}
	/* idle time as seen by successive queries (charon asks regularly) */
	if (st.packets != *last_pk) {
		*last_pk = st.packets;
		*last_ms = now;
	}
	return *last_ms == UINT64_MAX ? UINT64_MAX : now - *last_ms;
}

unsigned sa_retire_all(struct dp *dp, uint64_t grace_ms)
{
	uint64_t until = now_ms() + grace_ms;
	unsigned n = 0;

	for (int i = 0; i < dp->nb_sa_out; i++)
		if (!dp->sa_out[i]->retire_ms) {
			dp->sa_out[i]->retire_ms = until;
			n++;
		}
	for (int i = 0; i < dp->nb_sa_in; i++)
		if (!dp->sa_in[i]->retire_ms) {
			dp->sa_in[i]->retire_ms = until;
			n++;
		}
	dp_count(&dp->main_stats, DP_C_sa_retired, n);
	return n;
}

void sa_service(struct dp *dp)
{
	uint64_t now = now_ms();
	bool out_retired = false;

	for (int i = 0; i < dp->nb_sa_out; i++) {
		struct sa_out *o = dp->sa_out[i];

		if (o->retire_ms && now >= o->retire_ms) {
			dp_log(LOG_WARNING, "retired outbound SA 0x%08x deleted: not replaced in time",
			       o->spi);
			dp_count(&dp->main_stats, DP_C_sa_retired_expired, 1);
			sa_del(dp, o->spi, ESP_DIR_OUTBOUND);
			i--; /* sa_del moved the last entry here */
			continue;
		}
		out_retired |= o->retire_ms != 0;
	}
	for (int i = 0; i < dp->nb_sa_in; i++) {
		struct sa_in *in = dp->sa_in[i];

		if (!in->retire_ms)
			continue;
		/* The peer has moved to new SAs once ours replaced the retired
		 * outbound ones; what it sent before is in flight a little longer. */
		if (!out_retired && in->retire_ms > now + SA_RETIRED_IN_LINGER_MS)
			in->retire_ms = now + SA_RETIRED_IN_LINGER_MS;
		if (now >= in->retire_ms) {
			dp_log(LOG_INFO, "retired inbound SA 0x%08x deleted", in->spi);
			dp_count(&dp->main_stats, DP_C_sa_retired_expired, 1);
			sa_del(dp, in->spi, ESP_DIR_INBOUND);
			i--;
		}
	}
}

int sas_init(struct dp *dp, char *err, size_t errlen)
{
	const struct dp_config *c = dp->cfg;
	struct rte_hash_parameters hp = {
		.name = "isthmus_spi",
		.entries = 2 * DP_MAX_SA,
		.key_len = sizeof(uint32_t),
		.hash_func = hash_key_crc32,
		.socket_id = (int)rte_socket_id(),
		.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF,
	};

	if (esp_crypto_init() != 0) {
		snprintf(err, errlen, "crypto library initialisation failed");
		return -1;
	}
	dp->spi_hash = rte_hash_create(&hp);
	if (dp->spi_hash == NULL) {
		snprintf(err, errlen, "SA table: out of memory");
		return -1;
	}
	rte_hash_set_cmp_func(dp->spi_hash, hash_key_cmp32);
	if (!c->sa_static)
		return 0; /* SAs come from isthmusd over the control socket */
	if (c->nb_sa_out == 0) {
		snprintf(err, errlen, "[sa.static] without an outbound SA (out.0)");
		return -1;
	}
	for (unsigned k = 0; k < c->nb_sa_out + c->nb_sa_in; k++) {
		bool out = k < c->nb_sa_out;
		const struct cfg_static_sa *cs = out ? &c->sa_out[k] : &c->sa_in[k - c->nb_sa_out];
		struct sa_spec s = {
			.dir = out ? ESP_DIR_OUTBOUND : ESP_DIR_INBOUND,
			.spi = cs->spi,
			.cipher = c->cipher,
			.esn = c->esn,
			.replay_window = c->replay_window,
			.keymat = cs->keymat,
			.worker = out ? (int)k : -1, /* out.N: worker N */
			.peer_ip = c->peer_ip,
			.peer_port = NATT_PORT,
		};

		if (sa_add(dp, &s, err, errlen) < 0)
			return -1;
	}
	return 0;
}

void sas_free(struct dp *dp)
{
	for (unsigned w = 0; w < dp->nb_workers; w++)
		if (dp->worker[w])
			dp->worker[w]->sa_out = NULL;
	while (dp->nb_sa_out) {
		struct sa_out *o = dp->sa_out[--dp->nb_sa_out];

		esp_sa_destroy(o->sa);
		rte_free(o);
	}
	while (dp->nb_sa_in) {
		struct sa_in *in = dp->sa_in[--dp->nb_sa_in];

		esp_sa_destroy(in->sa);
		rte_free(in);
	}
	rte_hash_free(dp->spi_hash);
	dp->spi_hash = NULL;
}
