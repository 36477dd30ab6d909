/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer harness for the agreed segment set's file, STATE_DIR/segments.state
 * (control/segstore.c): segstore_parse(), segstore_load() and
 * segstore_entry_parse(), the text isthmusd reads at start and takes from the
 * peer in a SYNC_REPLY.
 *
 * Input: byte 0 says how the rest is read (bit 0: through a file and
 * segstore_load(), which also sees NUL bytes and over-long files; otherwise
 * segstore_parse() on the text up to its first NUL); the rest is the text.
 *
 * Checked on every input (abort() on violation):
 *   - rejected: a non-empty error message, and the store given to the parser
 *     (holding a known set) is exactly what it was;
 *   - accepted: parse(format(parse(x))) == parse(x), entry by entry, and
 *     format() of both is the same text (the round trip), the digests agree;
 *     the entries are sorted by VNI, each in 1..2^24-1, each a line that
 *     segstore_entry_parse() takes back to the same entry;
 *   - every line given to segstore_entry_parse() on its own is accepted or
 *     refused with a message, and an accepted one round-trips through
 *     segstore_entry_format().
 */
#include <stdbool.h>
#include <stdint.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "segstore.h"

#define FMT_MAX (SEGSTORE_TEXT_MAX * 4)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static char path[64];

static void check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_segstore: invariant violated: %s\n", what);
		abort();
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	snprintf(path, sizeof(path), "/tmp/fuzz-segstore-%d.state", (int)getpid());
	/* a segment set is DP_MAX_SEGMENTS entries (8 MB) allocated at once, and
	 * mostly untouched: from fresh pages, not memset on the heap each time */
	mallopt(M_MMAP_THRESHOLD, 1 << 20);
	/* and not filled by glibc either (meson sets MALLOC_PERTURB_, which makes
	 * calloc() memset even fresh pages: 8 MB a call) */
	mallopt(M_PERTURB, 0);
	return 0;
}

static bool entry_eq(const struct seg_entry *a, const struct seg_entry *b)
{
	return a->vni == b->vni && a->kind == b->kind && a->gw_site == b->gw_site &&
	       !strcmp(a->name, b->name) && !strcmp(a->spec[0], b->spec[0]) &&
	       !strcmp(a->spec[1], b->spec[1]);
}

static bool store_eq(const struct segstore *a, const struct segstore *b)
{
	if (a->version != b->version || a->n != b->n)
		return false;
	for (unsigned i = 0; i < a->n; i++)
		if (!entry_eq(&a->e[i], &b->e[i]))
			return false;
	return true;
}

/* A known set, to see that a refused input leaves it alone. */
static void known_set_entries(struct segstore *st)
{
	struct seg_entry e = { .vni = 77, .kind = SEG_KIND_CUTOVER, .gw_site = 1 };

	snprintf(e.name, sizeof(e.name), "keep-me");
	st->version = 41;
	check(segstore_put(st, &e) == 0, "segstore_put");
}

static void known_set(struct segstore *st)
{
	check(segstore_init(st) == 0, "segstore_init");
	known_set_entries(st);
}

static void check_entry_line(const char *line)
{
	struct seg_entry e, e2;
	char err[256] = "", out[2 * SEGSTORE_SPEC_LEN + 200];

	if (segstore_entry_parse(line, &e, err, sizeof(err)) < 0) {
		check(err[0] != '\0', "entry refused without a message");
		return;
	}
	check(e.vni >= 1 && e.vni <= 0xffffff, "entry VNI out of range accepted");
	check(segstore_entry_format(&e, out, sizeof(out)) >= 0, "accepted entry does not format");
	check(segstore_entry_parse(out, &e2, err, sizeof(err)) == 0, "formatted entry refused");
	check(entry_eq(&e, &e2), "entry round trip differs");
}

static void check_accepted(const struct segstore *st)
{
	static char t1[FMT_MAX], t2[FMT_MAX];
	struct segstore again;
	uint8_t d1[32], d2[32];
	char err[256] = "";
	long n1, n2;

	for (unsigned i = 0; i < st->n; i++) {
		char line[2 * SEGSTORE_SPEC_LEN + 200];

		check(st->e[i].vni >= 1 && st->e[i].vni <= 0xffffff, "VNI out of range accepted");
		check(i == 0 || st->e[i - 1].vni < st->e[i].vni, "entries not sorted");
		check(segstore_entry_format(&st->e[i], line, sizeof(line)) >= 0, "entry does not format");
		check_entry_line(line);
	}
	n1 = segstore_format(st, t1, sizeof(t1));
	check(n1 >= 0 && (size_t)n1 == strlen(t1), "accepted store does not format");
	check(segstore_init(&again) == 0, "segstore_init");
	if (segstore_parse(&again, t1, err, sizeof(err)) < 0) {
		fprintf(stderr, "fuzz_segstore: %s\n", err);
		check(false, "format(parse(x)) refused");
	}
	check(store_eq(st, &again), "parse(format(parse(x))) != parse(x)");
	n2 = segstore_format(&again, t2, sizeof(t2));
	check(n2 == n1 && !memcmp(t1, t2, (size_t)n1), "format not stable");
	check(segstore_digest(st, d1) == 0 && segstore_digest(&again, d2) == 0 &&
	      !memcmp(d1, d2, 32), "digests differ");
	segstore_free(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct segstore st; /* 8 MB: allocated once, set to the known set each time */
	static uint8_t known_digest[32];
	uint8_t digest[32];
	char err[512] = "", *text;
	int rc;

	if (size < 1 || size > SEGSTORE_TEXT_MAX * 2)
		return 0;
	if (!path[0])
		LLVMFuzzerInitialize(NULL, NULL);
	text = malloc(size);
	check(text != NULL, "malloc");
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	if (!st.e) {
		known_set(&st);
		check(segstore_digest(&st, known_digest) == 0, "segstore_digest");
	} else {
		st.n = 0;
		known_set_entries(&st);
	}
	if (data[0] & 1) {
		FILE *f = fopen(path, "wb");

		check(f != NULL, "temporary file");
		fwrite(data + 1, 1, size - 1, f);
		fclose(f);
		rc = segstore_load(&st, path, err, sizeof(err));
		unlink(path);
	} else {
		rc = segstore_parse(&st, text, err, sizeof(err));
	}
	if (rc < 0) {
		check(err[0] != '\0', "refused without a message");
		check(segstore_digest(&st, digest) == 0 && !memcmp(digest, known_digest, 32) &&
		      st.version == 41 && st.n == 1, "a refused input changed the store");
	} else {
		check(rc == 0, "segstore_parse returned neither 0 nor -1");
		check_accepted(&st);
	}
	/* each line on its own, as a PREPARE's "put LINE" hands it over */
	for (char *p = text, *nl; *p; p = nl + 1) {
		nl = strchr(p, '\n');
		if (nl)
			*nl = '\0';
		check_entry_line(p);
		if (!nl)
			break;
	}
	free(text);
	return 0;
}
