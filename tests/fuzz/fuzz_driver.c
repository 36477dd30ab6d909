/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Plain driver for the fuzz harnesses when the build has no libFuzzer (gcc):
 * calls the harness's LLVMFuzzerInitialize if it has one, replays every file
 * of the seed corpus, then a bounded number of deterministic mutations of
 * them (byte flips, insertions, truncations, splices), so suite "fuzz"
 * exercises the same harnesses and the same invariants under gcc (and under
 * ASan+UBSan in build-asan). Usage: fuzz_NAME SEED_DIR [ITERATIONS]
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Optional, as in libFuzzer: one-time set-up (an EAL, a dataplane). */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

#define MAXSEEDS 4096
#define MAXLEN 65536

static uint8_t *seeds[MAXSEEDS];
static size_t seedlen[MAXSEEDS];

static uint64_t rng = 0x9e3779b97f4a7c15u;

static uint32_t next(void)
{
	/* xorshift64*: deterministic, so a failure is reproducible. */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (uint32_t)((rng * 0x2545f4914f6cdd1dULL) >> 32);
}

int main(int argc, char **argv)
{
	static uint8_t buf[MAXLEN];
	long iters = argc > 2 ? atol(argv[2]) : 20000;
	struct dirent **ents;
	int n = 0, ne;

	if (argc < 2) {
		fprintf(stderr, "usage: %s SEED_DIR [ITERATIONS]\n", argv[0]);
		return 2;
	}
	if (LLVMFuzzerInitialize != NULL)
		LLVMFuzzerInitialize(&argc, &argv);
	/* In name order, so a run is the same on every file system. */
	ne = scandir(argv[1], &ents, NULL, alphasort);
	if (ne < 0) {
		perror(argv[1]);
		return 2;
	}
	for (int i = 0; i < ne; i++) {
		char path[4096];
		size_t len;
		FILE *f;

		snprintf(path, sizeof(path), "%s/%s", argv[1], ents[i]->d_name);
		f = ents[i]->d_name[0] == '.' || n >= MAXSEEDS ? NULL : fopen(path, "rb");
		free(ents[i]);
		if (f == NULL)
			continue;
		len = fread(buf, 1, MAXLEN, f);
		fclose(f);
		seeds[n] = malloc(len ? len : 1);
		if (seeds[n] == NULL)
			return 2;
		memcpy(seeds[n], buf, len);
		seedlen[n] = len;
		LLVMFuzzerTestOneInput(seeds[n], seedlen[n]);
		n++;
	}
	free(ents);
	if (n == 0) {
		fprintf(stderr, "no seeds in %s\n", argv[1]);
		return 2;
	}
	for (long it = 0; it < iters; it++) {
		int k = (int)(next() % (uint32_t)n);
		size_t len = seedlen[k];
		int muts = 1 + (int)(next() % 8);

		memcpy(buf, seeds[k], len);
		for (int m = 0; m < muts; m++) {
			uint32_t r = next();

			switch (r % 5) {
			case 0: /* flip a bit */
				if (len)
					buf[next() % len] ^= (uint8_t)(1u << (r >> 8) % 8);
				break;
			case 1: /* random byte */
				if (len)
					buf[next() % len] = (uint8_t)next();
				break;
			case 2: /* truncate */
				if (len)
					len = next() % len;
				break;
			case 3: /* insert a byte */
				if (len < MAXLEN) {
					size_t at = len ? next() % len : 0;

					memmove(buf + at + 1, buf + at, len - at);
					buf[at] = (uint8_t)next();
					len++;
				}
				break;
			default: { /* splice the tail of another seed */
				int o = (int)(next() % (uint32_t)n);
				size_t at = len ? next() % len : 0, from = seedlen[o] ? next() % seedlen[o] : 0;
				size_t cnt = seedlen[o] - from;

				if (at + cnt > MAXLEN)
					cnt = MAXLEN - at;
				memcpy(buf + at, seeds[o] + from, cnt);
				len = at + cnt;
				break;
			}
			}
		}
		LLVMFuzzerTestOneInput(buf, len);
	}
	printf("fuzz_driver: %d seeds, %ld mutated inputs, no invariant violated\n", n, iters);
	for (int i = 0; i < n; i++)
		free(seeds[i]);
	return 0;
}
