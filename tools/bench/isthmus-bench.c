/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * isthmus-bench: throughput benchmarks. One subcommand per part measured;
 * "crypto" is the per-core limit (AEAD alone and ESP sealing) the dataplane
 * benchmark is later compared against.
 *
 *   isthmus-bench [--seconds S] [--trials N] [--json] SUBCOMMAND [ARGS]
 *   isthmus-bench crypto --help
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "isthmus_version.h"

static const struct {
	const char *name;
	int (*run)(int argc, char **argv, const struct bench_opts *o);
	const char *help;
} subcommands[] = {
	{ "crypto", bench_crypto_main,
	  "AES-256-GCM and ChaCha20-Poly1305 per backend: raw AEAD and ESP seal" },
	{ "dp", bench_dp_main,
	  "the real dataplane in one process: encap+encrypt, decrypt+decap vs raw AEAD" },
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: isthmus-bench [OPTIONS] SUBCOMMAND [SUBCOMMAND OPTIONS]\n"
		"\n"
		"options:\n"
		"  --seconds S   target duration of the whole run (default 40)\n"
		"  --trials N    trials per figure; the median is printed (default 5)\n"
		"  --json        print JSON instead of a table\n"
		"  -h, --help    this help\n"
		"  --version     print the version and exit\n"
		"\nsubcommands:\n");
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		fprintf(f, "  %-10s %s\n", subcommands[i].name, subcommands[i].help);
	fprintf(f, "\nThe machine may be shared: run twice and expect a few %% of noise.\n");
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "seconds", required_argument, NULL, 's' },
		{ "trials", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct bench_opts o = { .seconds = 40, .trials = 5, .json = false };
	int c;

	/* '+': stop at the subcommand; its own options follow it. */
	while ((c = getopt_long(argc, argv, "+h", lopts, NULL)) != -1) {
		switch (c) {
		case 's':
			o.seconds = atof(optarg);
			if (o.seconds <= 0) {
				fprintf(stderr, "isthmus-bench: --seconds must be > 0\n");
				return 2;
			}
			break;
		case 't':
			o.trials = atoi(optarg);
			if (o.trials < 1 || o.trials > 101) {
				fprintf(stderr, "isthmus-bench: --trials must be 1..101\n");
				return 2;
			}
			break;
		case 'j':
			o.json = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("isthmus-bench %s\n", ISTHMUS_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++) {
		if (strcmp(argv[optind], subcommands[i].name) == 0) {
			optind++;
			return subcommands[i].run(argc - optind + 1, argv + optind - 1, &o);
		}
	}
	fprintf(stderr, "isthmus-bench: unknown subcommand '%s' (try --help)\n", argv[optind]);
	return 2;
}
