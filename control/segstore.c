/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * segstore.c: the agreed segment set (segstore.h), its text form, its file
 * (written atomically: temporary file, fsync, rename, fsync of the directory,
 * so a crash or a power cut leaves the old set or the new one), and how it
 * combines with the configuration file into what a site extends.
 */
#include "segstore.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "names.h"

#define HEADER "isthmus-segments 1"

static const char *const kind_name[] = {
	[SEG_KIND_EXTEND] = "extend", [SEG_KIND_UNEXTEND] = "unextend",
	[SEG_KIND_CUTOVER] = "cutover",
};

int segstore_init(struct segstore *st)
{
	memset(st, 0, sizeof(*st));
	st->e = calloc(DP_MAX_SEGMENTS, sizeof(*st->e));
	return st->e ? 0 : -1;
}

void segstore_free(struct segstore *st)
{
	free(st->e);
	st->e = NULL;
	st->n = 0;
}

int segstore_copy(struct segstore *dst, const struct segstore *src)
{
	if (segstore_init(dst) < 0)
		return -1;
	dst->version = src->version;
	dst->n = src->n;
	memcpy(dst->e, src->e, src->n * sizeof(*src->e));
	return 0;
}

/* Index of the first entry with a VNI >= @p vni. */
static unsigned lower_bound(const struct segstore *st, uint32_t vni)
{
	unsigned lo = 0, hi = st->n;

	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;

		if (st->e[mid].vni < vni)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct seg_entry *segstore_find(const struct segstore *st, uint32_t vni)
{
	unsigned i = lower_bound(st, vni);

	return i < st->n && st->e[i].vni == vni ? &st->e[i] : NULL;
}

int segstore_put(struct segstore *st, const struct seg_entry *e)
{
	unsigned i = lower_bound(st, e->vni);

	if (i < st->n && st->e[i].vni == e->vni) {
		st->e[i] = *e;
		return 0;
	}
	if (st->n == DP_MAX_SEGMENTS)
		return -1;
	memmove(&st->e[i + 1], &st->e[i], (st->n - i) * sizeof(*st->e));
	st->e[i] = *e;
	st->n++;
	return 0;
}

int segstore_del(struct segstore *st, uint32_t vni)
{
	unsigned i = lower_bound(st, vni);

	if (i == st->n || st->e[i].vni != vni)
		return -1;
	memmove(&st->e[i], &st->e[i + 1], (st->n - i - 1) * sizeof(*st->e));
	st->n--;
	return 0;
}

int segstore_entry_format(const struct seg_entry *e, char *out, size_t len)
{
	char gw[2] = "-";
	int n;

	if (e->gw_site == 0 || e->gw_site == 1)
		gw[0] = (char)('0' + e->gw_site);
	if (e->kind == SEG_KIND_EXTEND)
		n = snprintf(out, len, "%s %" PRIu32 " %s %s\t%s\t%s", kind_name[e->kind], e->vni,
			     e->name, gw, e->spec[0], e->spec[1]);
	else
		n = snprintf(out, len, "%s %" PRIu32 " %s %s", kind_name[e->kind], e->vni, e->name,
			     gw);
	return n < 0 || (size_t)n >= len ? -1 : n;
}

/* A settings text: printable, no tab or newline (the line's separators). */
static int spec_ok(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return -1;
	return 0;
}

int segstore_entry_parse(const char *line, struct seg_entry *e, char *err, size_t errlen)
{
	char kind[16], name[64], gw[4], msg[200];
	const char *tab = strchr(line, '\t');
	unsigned long long vni;
	int used = 0;
	size_t head = tab ? (size_t)(tab - line) : strlen(line);
	char buf[160];

	memset(e, 0, sizeof(*e));
	if (head >= sizeof(buf)) {
		snprintf(err, errlen, "entry too long");
		return -1;
	}
	memcpy(buf, line, head);
	buf[head] = '\0';
	if (sscanf(buf, "%15s %llu %63s %3s%n", kind, &vni, name, gw, &used) != 4 ||
	    buf[used] != '\0') {
		snprintf(err, errlen, "not 'KIND VNI NAME GW'");
		return -1;
	}
	for (e->kind = 0; e->kind < 3 && strcmp(kind, kind_name[e->kind]); e->kind++)
		;
	if (e->kind == 3) {
		snprintf(err, errlen, "'%s' is not extend, unextend or cutover", kind);
		return -1;
	}
	if (vni == 0 || vni > 0xffffff) {
		snprintf(err, errlen, "VNI %llu out of range", vni);
		return -1;
	}
	e->vni = (uint32_t)vni;
	if (name_check("segment name", name, msg, sizeof(msg)) < 0) {
		snprintf(err, errlen, "%s", msg);
		return -1;
	}
	snprintf(e->name, sizeof(e->name), "%.*s", (int)sizeof(e->name) - 1, name);
	if (!strcmp(gw, "-"))
		e->gw_site = SEG_GW_AS_CONFIGURED;
	else if (!strcmp(gw, "0") || !strcmp(gw, "1"))
		e->gw_site = gw[0] - '0';
	else {
		snprintf(err, errlen, "gateway site '%s' is not -, 0 or 1", gw);
		return -1;
	}
	if (e->kind != SEG_KIND_EXTEND) {
		if (tab) {
			snprintf(err, errlen, "settings on a %s entry", kind);
			return -1;
		}
		return 0;
	}
	for (int s = 0; s < 2; s++) {
		const char *end;
		size_t n;

		if (!tab) {
			snprintf(err, errlen, "extend needs the settings of both sites");
			return -1;
		}
		end = strchr(tab + 1, '\t');
		n = end ? (size_t)(end - tab - 1) : strlen(tab + 1);
		if ((s == 0) != (end != NULL) || n == 0 || n >= SEGSTORE_SPEC_LEN) {
			snprintf(err, errlen, "extend needs the settings of both sites, each 1..%d characters",
				 SEGSTORE_SPEC_LEN - 1);
			return -1;
		}
		memcpy(e->spec[s], tab + 1, n);
		e->spec[s][n] = '\0';
		if (spec_ok(e->spec[s]) < 0) {
			snprintf(err, errlen, "settings with control characters");
			return -1;
		}
		tab = end;
	}
	return 0;
}

long segstore_format(const struct segstore *st, char *out, size_t len)
{
	size_t n;
	int w = snprintf(out, len, HEADER "\nversion %" PRIu64 "\n", st->version);

	if (w < 0 || (size_t)w >= len)
		return -1;
	n = (size_t)w;
	for (unsigned i = 0; i < st->n; i++) {
		w = segstore_entry_format(&st->e[i], out + n, len - n);
		if (w < 0 || n + (size_t)w + 1 >= len)
			return -1;
		n += (size_t)w;
		out[n++] = '\n';
		out[n] = '\0';
	}
	return (long)n;
}

int segstore_parse(struct segstore *st, const char *text, char *err, size_t errlen)
{
	struct segstore tmp;
	const char *p = text;
	unsigned lineno = 0;
	char line[SEGSTORE_TEXT_MAX < 4200 ? SEGSTORE_TEXT_MAX : 4200], why[200];
	int rc = -1;

	if (segstore_init(&tmp) < 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		struct seg_entry e;

		lineno++;
		if (n >= sizeof(line)) {
			snprintf(err, errlen, "line %u: too long", lineno);
			goto out;
		}
		memcpy(line, p, n);
		line[n] = '\0';
		p += n + (nl != NULL);
		if (lineno == 1) {
			if (strcmp(line, HEADER)) {
				snprintf(err, errlen, "line 1: not '" HEADER "'");
				goto out;
			}
			continue;
		}
		if (lineno == 2) {
			char *end;

			if (strncmp(line, "version ", 8) || !line[8] || line[8] == '-') {
				snprintf(err, errlen, "line 2: not 'version N'");
				goto out;
			}
			errno = 0;
			tmp.version = strtoull(line + 8, &end, 10);
			if (errno || *end) {
				snprintf(err, errlen, "line 2: not 'version N'");
				goto out;
			}
			continue;
		}
		if (segstore_entry_parse(line, &e, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "line %u: %s", lineno, why);
			goto out;
		}
		if (tmp.n && tmp.e[tmp.n - 1].vni >= e.vni) {
			snprintf(err, errlen, "line %u: VNI %u out of order or twice", lineno, e.vni);
			goto out;
		}
		if (segstore_put(&tmp, &e) < 0) {
			snprintf(err, errlen, "line %u: more than %d entries", lineno, DP_MAX_SEGMENTS);
			goto out;
		}
	}
	if (lineno < 2) {
		snprintf(err, errlen, "truncated: no version line");
		goto out;
	}
	segstore_free(st);
	*st = tmp;
	return 0;
out:
	segstore_free(&tmp);
	return rc;
}

int segstore_digest(const struct segstore *st, uint8_t out[32])
{
	char *buf = malloc(SEGSTORE_TEXT_MAX + 1);
	long n;

	if (!buf)
		return -1;
	n = segstore_format(st, buf, SEGSTORE_TEXT_MAX + 1);
	if (n >= 0)
		crypto_hash_sha256(out, (const unsigned char *)buf, (unsigned long long)n);
	free(buf);
	return n < 0 ? -1 : 0;
}

int segstore_save(const struct segstore *st, const char *path, char *err, size_t errlen)
{
	char tmp[512], dir[512], *buf = malloc(SEGSTORE_TEXT_MAX + 1);
	long n;
	int fd = -1, dfd;
	ssize_t w = 0;

	if (!buf) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	n = segstore_format(st, buf, SEGSTORE_TEXT_MAX + 1);
	if (n < 0) {
		snprintf(err, errlen, "the agreed segment set exceeds %d bytes", SEGSTORE_TEXT_MAX);
		goto fail;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		goto fail_errno;
	for (long off = 0; off < n; off += w) {
		w = write(fd, buf + off, (size_t)(n - off));
		if (w < 0)
			goto fail_errno;
	}
	if (fsync(fd) < 0 || close(fd) < 0) {
		fd = -1;
		goto fail_errno;
	}
	fd = -1;
	if (rename(tmp, path) < 0)
		goto fail_errno;
	/* the rename itself is durable once the directory is */
	snprintf(dir, sizeof(dir), "%s", path);
	dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	free(buf);
	return 0;
fail_errno:
	snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
	if (fd >= 0)
		close(fd);
	unlink(tmp);
fail:
	free(buf);
	return -1;
}

int segstore_load(struct segstore *st, const char *path, char *err, size_t errlen)
{
	char *buf = malloc(SEGSTORE_TEXT_MAX + 2), why[256];
	FILE *f;
	size_t n;
	int rc;

	if (!buf) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	f = fopen(path, "r");
	if (!f) {
		free(buf);
		if (errno == ENOENT) { /* nothing agreed yet */
			st->version = 0;
			st->n = 0;
			return 0;
		}
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	n = fread(buf, 1, SEGSTORE_TEXT_MAX + 1, f);
	fclose(f);
	buf[n] = '\0';
	if (n > SEGSTORE_TEXT_MAX || memchr(buf, '\0', n)) {
		snprintf(err, errlen, "%s: too large or not text", path);
		free(buf);
		return -1;
	}
	rc = segstore_parse(st, buf, why, sizeof(why));
	if (rc < 0)
		snprintf(err, errlen, "%s: %s", path, why);
	free(buf);
	return rc;
}

int seg_set_init(struct seg_set *set)
{
	set->n = 0;
	set->s = calloc(DP_MAX_SEGMENTS, sizeof(*set->s));
	return set->s ? 0 : -1;
}

void seg_set_free(struct seg_set *set)
{
	free(set->s);
	set->s = NULL;
	set->n = 0;
}

const struct seg_eff *seg_set_find(const struct seg_set *set, uint32_t vni)
{
	for (unsigned i = 0; i < set->n; i++)
		if (set->s[i].vni == vni)
			return &set->s[i];
	return NULL;
}

const struct seg_eff *seg_set_find_name(const struct seg_set *set, const char *name)
{
	for (unsigned i = 0; i < set->n; i++)
		if (!strcmp(set->s[i].name, name))
			return &set->s[i];
	return NULL;
}

static int set_add(struct seg_set *out, uint32_t vni, const char *name, const char *spec,
		   bool cut_here)
{
	struct seg_eff *s;

	if (out->n == DP_MAX_SEGMENTS)
		return -1;
	s = &out->s[out->n++];
	s->vni = vni;
	snprintf(s->name, sizeof(s->name), "%s", name);
	snprintf(s->spec, sizeof(s->spec), "%s", spec);
	s->cut_here = cut_here;
	return 0;
}

int seg_set_build(struct seg_set *out, const struct dp_config *cfg, const char (*specs)[SEGSTORE_SPEC_LEN],
		  const struct segstore *st, int me)
{
	out->n = 0;
	for (uint16_t i = 0; i < cfg->nb_seg; i++) {
		const struct seg_entry *e = segstore_find(st, cfg->seg[i].vni);

		if (e && e->kind != SEG_KIND_CUTOVER)
			continue; /* unextended, or extended by the store as it agreed */
		if (set_add(out, cfg->seg[i].vni, cfg->seg[i].name, specs[i],
			    e && e->gw_site == me) < 0)
			return -1;
	}
	for (unsigned i = 0; i < st->n; i++) {
		const struct seg_entry *e = &st->e[i];

		if (e->kind == SEG_KIND_EXTEND &&
		    set_add(out, e->vni, e->name, e->spec[me], e->gw_site == me) < 0)
			return -1;
	}
	return 0;
}

int segstore_conflict(const struct segstore *st, const struct dp_config *cfg, char *err,
		      size_t errlen)
{
	for (unsigned i = 0; i < st->n; i++) {
		const struct seg_entry *e = &st->e[i];

		if (e->kind != SEG_KIND_EXTEND)
			continue;
		for (uint16_t k = 0; k < cfg->nb_seg; k++) {
			const struct cfg_segment *c = &cfg->seg[k];

			if (c->vni == e->vni || !strcmp(c->name, e->name)) {
				snprintf(err, errlen, "[segment %s] (VNI %u) clashes with segment %s "
					 "(VNI %u), extended at run time: unextend it first, or leave "
					 "it out of the file", c->name, c->vni, e->name, e->vni);
				return -1;
			}
		}
	}
	return 0;
}

unsigned seg_set_diff(const struct seg_set *from, const struct seg_set *to, struct seg_action *out)
{
	unsigned n = 0;

	for (unsigned i = 0; i < from->n; i++)
		if (!seg_set_find(to, from->s[i].vni))
			out[n++] = (struct seg_action){ .kind = SEG_ACT_DEL, .seg = &from->s[i] };
	for (unsigned i = 0; i < to->n; i++) {
		const struct seg_eff *old = seg_set_find(from, to->s[i].vni);

		if (!old || strcmp(old->name, to->s[i].name) || strcmp(old->spec, to->s[i].spec))
			out[n++] = (struct seg_action){ .kind = SEG_ACT_APPLY, .seg = &to->s[i],
							.added = !old };
	}
	for (unsigned i = 0; i < to->n; i++) {
		const struct seg_eff *old = seg_set_find(from, to->s[i].vni);

		if (to->s[i].cut_here && (!old || !old->cut_here))
			out[n++] = (struct seg_action){ .kind = SEG_ACT_CUTOVER, .seg = &to->s[i] };
	}
	return n;
}

/* Value of @p key in a settings text, copied into @p out; "" if absent. */
static const char *spec_value(const char *spec, const char *key, char *out, size_t len)
{
	size_t kl = strlen(key);

	out[0] = '\0';
	for (const char *p = spec; *p;) {
		size_t tl = strcspn(p, " ");

		if (tl > kl && !strncmp(p, key, kl) && p[kl] == '=') {
			snprintf(out, len, "%.*s", (int)(tl - kl - 1), p + kl + 1);
			break;
		}
		p += tl;
		p += strspn(p, " ");
	}
	return out;
}

/* Append to @p out the keys of @p a whose value in @p b differs. */
static void diff_keys(const char *a, const char *b, bool only_missing, char *out, size_t len)
{
	for (const char *p = a; *p;) {
		size_t tl = strcspn(p, " "), kl = strcspn(p, "=");
		char key[64], va[256], vb[256];

		if (kl < tl && kl < sizeof(key)) {
			snprintf(key, sizeof(key), "%.*s", (int)kl, p);
			spec_value(a, key, va, sizeof(va));
			spec_value(b, key, vb, sizeof(vb));
			if (strcmp(va, vb) && (!only_missing || !vb[0])) {
				size_t n = strlen(out);

				snprintf(out + n, len - n, "%s%s %s -> %s", n ? ", " : "", key,
					 only_missing ? "(default)" : va[0] ? va : "(default)",
					 only_missing ? va : vb[0] ? vb : "(default)");
			}
		}
		p += tl;
		p += strspn(p, " ");
	}
}

char *seg_spec_diff(const char *a, const char *b, char *out, size_t len)
{
	out[0] = '\0';
	diff_keys(a, b, false, out, len);  /* changed or removed */
	diff_keys(b, a, true, out, len);   /* set only in b */
	return out;
}
