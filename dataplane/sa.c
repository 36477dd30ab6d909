/*
 * sa.c: security associations as the dataplane holds them: each worker's own
 * outbound SA (per-resource SAs in the spirit of RFC 9611: one SA and one UDP
 * source port per worker, so the peer can spread them over its cores) and the
 * inbound SAs, found by SPI in an rte_hash (RFC 4303 section 2.1).
 *
 * For now SAs come from the config's [sa.static] section (test only); the
 * control socket adds the IKE-negotiated ones next.
 */
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include "dp.h"

static struct esp_sa *sa_make(const struct dp_config *c, const struct cfg_static_sa *s,
			      enum esp_dir dir, char *err, size_t errlen)
{
	struct esp_sa_params p = {
		.cipher = c->cipher,
		.backend = c->backend,
		.dir = dir,
		.spi = s->spi,
		.keymat = s->keymat,
		.keymat_len = ESP_KEYMAT_LEN,
		.esn = c->esn,
		.replay_window = c->replay_window,
	};
	char why[128] = "";
	struct esp_sa *sa = esp_sa_create(&p, why, sizeof(why));

	if (sa == NULL)
		snprintf(err, errlen, "SA 0x%08x (%s): %s", s->spi,
			 dir == ESP_DIR_OUTBOUND ? "out" : "in", why);
	return sa;
}

int sas_init(struct dp *dp, char *err, size_t errlen)
{
	const struct dp_config *c = dp->cfg;
	struct rte_hash_parameters hp = {
		.name = "isthmus_spi",
		.entries = 1024,
		.key_len = sizeof(uint32_t),
		.hash_func = rte_hash_crc,
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
	if (!c->sa_static) {
		snprintf(err, errlen, "no SAs: add a [sa.static] section (test only) "
			 "until the control socket exists");
		return -1;
	}
	if (c->nb_sa_out < dp->nb_workers) {
		snprintf(err, errlen, "%u workers but only %u outbound SAs: each worker needs its own "
			 "([sa.static] out.0 .. out.%u)", dp->nb_workers, c->nb_sa_out,
			 dp->nb_workers - 1);
		return -1;
	}
	for (unsigned w = 0; w < dp->nb_workers; w++) {
		dp->sa_out[w] = sa_make(c, &c->sa_out[w], ESP_DIR_OUTBOUND, err, errlen);
		if (dp->sa_out[w] == NULL)
			return -1;
	}
	dp->sa_in = rte_zmalloc("isthmus_sa_in", sizeof(*dp->sa_in) * c->nb_sa_in, RTE_CACHE_LINE_SIZE);
	if (dp->sa_in == NULL) {
		snprintf(err, errlen, "SA table: out of memory");
		return -1;
	}
	for (uint16_t i = 0; i < c->nb_sa_in; i++) {
		struct sa_in *s = &dp->sa_in[i];

		s->sa = sa_make(c, &c->sa_in[i], ESP_DIR_INBOUND, err, errlen);
		if (s->sa == NULL)
			return -1;
		s->spi = c->sa_in[i].spi;
		s->peer_ip = c->peer_ip;
		s->peer_vtep = c->peer_vtep;
		s->local_vtep = c->local_vtep;
		atomic_init(&s->owner, -1);
		dp->nb_sa_in++;
		if (rte_hash_add_key_data(dp->spi_hash, &s->spi, s) != 0) {
			snprintf(err, errlen, "SA table: cannot add SPI 0x%08x", s->spi);
			return -1;
		}
	}
	return 0;
}

void sas_free(struct dp *dp)
{
	for (unsigned w = 0; w < DP_MAX_WORKERS; w++) {
		esp_sa_destroy(dp->sa_out[w]);
		dp->sa_out[w] = NULL;
	}
	for (uint16_t i = 0; i < dp->nb_sa_in; i++)
		esp_sa_destroy(dp->sa_in[i].sa);
	dp->nb_sa_in = 0;
	rte_free(dp->sa_in);
	dp->sa_in = NULL;
	rte_hash_free(dp->spi_hash);
	dp->spi_hash = NULL;
}
