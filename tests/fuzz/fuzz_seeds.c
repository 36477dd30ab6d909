/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Writes the seed corpus for fuzz_esp_open into a directory: one file per
 * configuration (cipher, ESN, backend, window, start) with a script of seal,
 * replay, mutate, raw and flush ops (format: see fuzz_esp_open.c).
 * Usage: fuzz_seeds DIR
 */
#include <stdint.h>
#include <stdio.h>

static int put(const char *dir, int idx, const uint8_t *b, size_t n)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/seed-%03d", dir, idx);
	f = fopen(path, "wb");
	if (f == NULL) {
		perror(path);
		return -1;
	}
	fwrite(b, 1, n, f);
	return fclose(f);
}

int main(int argc, char **argv)
{
	int idx = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	for (unsigned cfg = 0; cfg < 32; cfg++) {
		for (unsigned start = 0; start < 8; start += 3) {
			uint8_t b[256];
			size_t n = 0;

			b[n++] = (uint8_t)cfg;
			b[n++] = (uint8_t)start;
			/* three genuine packets, a replay of the first, a flush */
			b[n++] = 1; b[n++] = 40; b[n++] = 0;
			b[n++] = 1; b[n++] = 0; b[n++] = 3;
			b[n++] = 1; b[n++] = 200; b[n++] = 1;
			b[n++] = 2; b[n++] = 0; b[n++] = 0; b[n++] = 0; b[n++] = 0;
			b[n++] = 3;
			/* an altered copy (ICV byte), an altered SPI, a reordered older one */
			b[n++] = 2; b[n++] = 2; b[n++] = 250; b[n++] = 0; b[n++] = 0x40;
			b[n++] = 2; b[n++] = 1; b[n++] = 1; b[n++] = 0; b[n++] = 0x01;
			b[n++] = 1; b[n++] = 7; b[n++] = 7;
			b[n++] = 2; b[n++] = 2; b[n++] = 0; b[n++] = 0; b[n++] = 0;
			/* a made-up packet with our SPI and a plausible length */
			b[n++] = 0; b[n++] = 52; b[n++] = 0;
			b[n++] = 0x10; b[n++] = 0x20; b[n++] = 0x30; b[n++] = 0x40;
			b[n++] = 0; b[n++] = 0; b[n++] = 0; b[n++] = 9;
			for (int k = 0; k < 44; k++)
				b[n++] = (uint8_t)k;
			b[n++] = 3;
			if (put(argv[1], idx++, b, n) != 0)
				return 1;
		}
	}
	return 0;
}
