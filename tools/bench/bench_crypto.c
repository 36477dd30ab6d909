/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * isthmus-bench crypto: per-core throughput of each backend x cipher x payload
 * size, two figures side by side:
 *   aead  the backend's AEAD call alone on the payload (8-byte AAD), no ESP
 *   esp   esp_seal_burst() in bursts of 32: header, IV, padding, AEAD, ICV
 * Gbit/s counts payload bytes; cycles/byte uses the TSC, calibrated against
 * CLOCK_MONOTONIC_RAW. Each figure is the median of --trials trials.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "bench.h"
#include "esp.h"

#define BURST 32

static const uint32_t default_sizes[] = { 64, 256, 512, 1024, 1400, 4096, 9000 };

struct figure {
	double gbps, cpb, mpps;
};

struct trial_ctx {
	const struct esp_aead *aead;
	union esp_key_state *ks;
	enum esp_backend backend;
	enum esp_cipher cipher;
	uint32_t size;
	uint8_t *bufs[BURST];
	const uint8_t *keymat;
};

/* One trial of the AEAD alone for about @p ns nanoseconds. */
static struct figure trial_aead(struct trial_ctx *c, uint64_t ns)
{
	static const uint8_t aad[8] = { 0, 0, 0x12, 0x34, 0, 0, 0, 1 };
	static const uint8_t nonce[12] = { 1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 1 };
	struct esp_aead_op op[BURST];
	uint64_t t0, c0, t1, c1, n = 0;
	struct figure f;

	for (int i = 0; i < BURST; i++)
		op[i] = (struct esp_aead_op){ .data = c->bufs[i], .len = c->size, .aad = aad,
					      .aad_len = 8, .nonce = nonce,
					      .tag = c->bufs[i] + c->size };
	t0 = bench_now_ns();
	c0 = bench_cycles();
	do {
		for (int i = 0; i < BURST; i++)
			c->aead->seal(c->ks, &op[i]);
		n += BURST;
		t1 = bench_now_ns();
	} while (t1 - t0 < ns);
	c1 = bench_cycles();
	f.gbps = (double)n * c->size * 8 / (double)(t1 - t0);
	f.cpb = (double)(c1 - c0) / ((double)n * c->size);
	f.mpps = (double)n * 1e3 / (double)(t1 - t0);
	return f;
}

/* One trial of ESP sealing (fresh SA each trial: no sequence exhaustion). */
static struct figure trial_esp(struct trial_ctx *c, uint64_t ns)
{
	struct esp_sa_params p = {
		.cipher = c->cipher, .backend = c->backend, .dir = ESP_DIR_OUTBOUND,
		.spi = 0x1234, .keymat = c->keymat, .keymat_len = ESP_KEYMAT_LEN,
	};
	struct esp_sa *sa = esp_sa_create(&p, NULL, 0);
	struct esp_pkt pk[BURST];
	uint64_t t0, c0, t1, c1, n = 0;
	struct figure f = { 0, 0, 0 };

	if (sa == NULL)
		return f;
	t0 = bench_now_ns();
	c0 = bench_cycles();
	do {
		for (int i = 0; i < BURST; i++)
			pk[i] = (struct esp_pkt){ .buf = c->bufs[i], .len = c->size,
						  .room = c->size + ESP_MAX_OVERHEAD,
						  .next_header = 4 };
		if (esp_seal_burst(sa, pk, BURST) != BURST) {
			fprintf(stderr, "isthmus-bench: seal failed: %s\n",
				esp_status_name(pk[0].status));
			exit(1);
		}
		n += BURST;
		t1 = bench_now_ns();
	} while (t1 - t0 < ns);
	c1 = bench_cycles();
	esp_sa_destroy(sa);
	f.gbps = (double)n * c->size * 8 / (double)(t1 - t0);
	f.cpb = (double)(c1 - c0) / ((double)n * c->size);
	f.mpps = (double)n * 1e3 / (double)(t1 - t0);
	return f;
}

static struct figure median_of(struct figure (*fn)(struct trial_ctx *, uint64_t),
			       struct trial_ctx *c, int trials, uint64_t ns)
{
	double g[101], cp[101], m[101];
	struct figure f;

	(void)fn(c, ns / 5 + 1000000); /* warm caches, branch predictors, clocks */
	for (int t = 0; t < trials; t++) {
		f = fn(c, ns);
		g[t] = f.gbps;
		cp[t] = f.cpb;
		m[t] = f.mpps;
	}
	f.gbps = bench_median(g, trials);
	f.cpb = bench_median(cp, trials);
	f.mpps = bench_median(m, trials);
	return f;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: isthmus-bench crypto [--seconds S] [--trials N] [--json]\n"
		"                            [--backend auto|ipsec-mb|sodium] [--cipher aes256gcm|chacha20poly1305]\n"
		"                            [--sizes 64,256,...]\n"
		"\n"
		"Per backend x cipher x payload size: Gbit/s and cycles/byte of the AEAD call\n"
		"alone and of ESP sealing (esp_seal_burst, bursts of %d), median of N trials.\n"
		"Default sizes: 64 256 512 1024 1400 4096 9000. One core, one thread.\n",
		BURST);
}

int bench_crypto_main(int argc, char **argv, const struct bench_opts *go)
{
	static const struct option lopts[] = {
		{ "seconds", required_argument, NULL, 's' },
		{ "trials", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ "backend", required_argument, NULL, 'b' },
		{ "cipher", required_argument, NULL, 'c' },
		{ "sizes", required_argument, NULL, 'z' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct bench_opts o = *go;
	enum esp_backend backends[2] = { ESP_BACKEND_IPSECMB, ESP_BACKEND_SODIUM };
	enum esp_cipher ciphers[2] = { ESP_CIPHER_AES256GCM, ESP_CIPHER_CHACHA20POLY1305 };
	int nb = 2, nc = 2, ns = 7, cells, opt, first = 1;
	uint32_t sizes[32];
	uint8_t keymat[ESP_KEYMAT_LEN];
	static union esp_key_state ks;
	uint64_t trial_ns;
	double hz;

	memcpy(sizes, default_sizes, sizeof(default_sizes));
	optind = 0; /* glibc: full re-initialisation for the subcommand's options */
	while ((opt = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		switch (opt) {
		case 's':
			o.seconds = atof(optarg);
			break;
		case 't':
			o.trials = atoi(optarg);
			break;
		case 'j':
			o.json = true;
			break;
		case 'b':
			if (esp_backend_parse(optarg, &backends[0]) != 0) {
				fprintf(stderr, "isthmus-bench crypto: unknown backend '%s'\n", optarg);
				return 2;
			}
			if (backends[0] == ESP_BACKEND_AUTO)
				backends[0] = esp_backend_available(ESP_BACKEND_IPSECMB)
						      ? ESP_BACKEND_IPSECMB : ESP_BACKEND_SODIUM;
			nb = 1;
			break;
		case 'c':
			if (esp_cipher_parse(optarg, &ciphers[0]) != 0) {
				fprintf(stderr, "isthmus-bench crypto: unknown cipher '%s'\n", optarg);
				return 2;
			}
			nc = 1;
			break;
		case 'z': {
			char *s = optarg, *end;

			ns = 0;
			while (*s && ns < 32) {
				unsigned long v = strtoul(s, &end, 10);

				if (end == s || v == 0 || v > 65000) {
					fprintf(stderr, "isthmus-bench crypto: bad --sizes\n");
					return 2;
				}
				sizes[ns++] = (uint32_t)v;
				s = *end == ',' ? end + 1 : end;
			}
			break;
		}
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (o.seconds <= 0 || o.trials < 1 || o.trials > 101 || ns == 0) {
		usage(stderr);
		return 2;
	}
	if (esp_crypto_init() != 0) {
		fprintf(stderr, "isthmus-bench crypto: crypto library failed to initialise\n");
		return 1;
	}
	randombytes_buf(keymat, sizeof(keymat));
	hz = bench_tsc_hz();
	cells = nb * nc * ns;
	/* The budget is shared by every figure: 2 per cell, trials + warm-up each. */
	trial_ns = (uint64_t)(o.seconds * 1e9 / (cells * 2.0 * (o.trials + 0.2)));
	if (trial_ns < 10000000u)
		trial_ns = 10000000u;

	if (o.json)
		printf("{\"benchmark\":\"crypto\",\"tsc_ghz\":%.3f,\"trials\":%d,\"trial_ms\":%.1f,"
		       "\"burst\":%d,\"results\":[", hz / 1e9, o.trials, trial_ns / 1e6, BURST);
	else
		printf("isthmus-bench crypto: TSC %.3f GHz, median of %d trials of %.0f ms, "
		       "ESP bursts of %d, one core\n\n"
		       "%-9s %-17s %6s | %8s %7s | %8s %7s %7s\n",
		       hz / 1e9, o.trials, trial_ns / 1e6, BURST, "backend", "cipher", "bytes",
		       "aead", "c/B", "esp", "c/B", "Mpps");
	if (!o.json)
		printf("%-9s %-17s %6s | %8s %7s | %8s %7s %7s\n", "", "", "", "Gbit/s", "", "Gbit/s",
		       "", "");
	for (int b = 0; b < nb; b++) {
		const char *skip = NULL;

		if (!esp_backend_available(backends[b]))
			skip = "not available on this CPU";
		for (int c = 0; c < nc; c++) {
			const struct esp_aead *aead = esp_aead_get(backends[b], ciphers[c]);

			if (skip == NULL && aead->key_init(&ks, keymat) != 0)
				skip = "cipher not available on this CPU";
			for (int s = 0; s < ns && skip == NULL; s++) {
				struct trial_ctx ctx = {
					.aead = aead, .ks = &ks, .backend = backends[b],
					.cipher = ciphers[c], .size = sizes[s], .keymat = keymat,
				};
				struct figure fa, fe;

				for (int i = 0; i < BURST; i++) {
					ctx.bufs[i] = aligned_alloc(64, (sizes[s] + ESP_MAX_OVERHEAD + 63) & ~63u);
					memset(ctx.bufs[i], i, sizes[s] + ESP_MAX_OVERHEAD);
				}
				fa = median_of(trial_aead, &ctx, o.trials, trial_ns);
				fe = median_of(trial_esp, &ctx, o.trials, trial_ns);
				for (int i = 0; i < BURST; i++)
					free(ctx.bufs[i]);
				if (o.json)
					printf("%s{\"backend\":\"%s\",\"cipher\":\"%s\",\"bytes\":%u,"
					       "\"aead_gbps\":%.3f,\"aead_cpb\":%.3f,"
					       "\"esp_gbps\":%.3f,\"esp_cpb\":%.3f,\"esp_mpps\":%.3f}",
					       first ? "" : ",", esp_backend_name(backends[b]),
					       esp_cipher_name(ciphers[c]), sizes[s], fa.gbps, fa.cpb,
					       fe.gbps, fe.cpb, fe.mpps);
				else
					printf("%-9s %-17s %6u | %8.2f %7.2f | %8.2f %7.2f %7.3f\n",
					       esp_backend_name(backends[b]), esp_cipher_name(ciphers[c]),
					       sizes[s], fa.gbps, fa.cpb, fe.gbps, fe.cpb, fe.mpps);
				fflush(stdout);
				first = 0;
			}
			sodium_memzero(&ks, sizeof(ks));
		}
		if (skip && !o.json)
			printf("%-9s (skipped: %s)\n", esp_backend_name(backends[b]), skip);
	}
	if (o.json)
		printf("]}\n");
	sodium_memzero(keymat, sizeof(keymat));
	return 0;
}
