/* SPDX-License-Identifier: GPL-2.0-or-later */
/**
 * @file ctl_fuzz.h
 * What the two control-socket harnesses (fuzz_ctl_dp.c: isthmus-dp's socket,
 * fuzz_ctl_d.c: isthmusd's) share, header-only: a client on the real unix
 * SOCK_SEQPACKET socket, the reply collector that checks the framing of every
 * message the server sends (docs/control-protocol.md: one reply, or one
 * complete streamed reply, per request, with its seq), the expected error of a
 * badly framed message computed from the bytes sent, the JSON check (json-c),
 * and the search for key material in everything the server said or logged.
 * Every violation is reported on stderr and abort()s.
 */
#ifndef ISTHMUS_TESTS_CTL_FUZZ_H
#define ISTHMUS_TESTS_CTL_FUZZ_H

#include <errno.h>
#include <ftw.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <json-c/json.h>

#include "ctl_proto.h"

/* ---- failures ----------------------------------------------------------- */

/* The daemon's log of the current input (stdout captured), shown on failure. */
static FILE *fz_saved_stdout;
static char *fz_log;
static size_t fz_log_len;

static inline void fz_log_begin(void)
{
	fflush(stdout);
	fz_saved_stdout = stdout;
	stdout = open_memstream(&fz_log, &fz_log_len);
	if (stdout == NULL) {
		stdout = fz_saved_stdout;
		fz_saved_stdout = NULL;
	}
}

/** Stop capturing; the log stays in fz_log (fz_log_len bytes) until fz_log_free(). */
static void fz_log_end(void)
{
	if (fz_saved_stdout == NULL)
		return;
	fclose(stdout);
	stdout = fz_saved_stdout;
	fz_saved_stdout = NULL;
}

static inline void fz_log_free(void)
{
	free(fz_log);
	fz_log = NULL;
	fz_log_len = 0;
}

/* The input being run: kept by fz_fail() for the gcc driver, which has no artifacts. */
static const uint8_t *fz_input;
static size_t fz_input_len;

static void __attribute__((noreturn, format(printf, 1, 2))) fz_fail(const char *fmt, ...)
{
	va_list ap;

	fz_log_end();
	if (fz_input) {
		char path[64];
		FILE *f;

		snprintf(path, sizeof(path), "/tmp/fuzz-ctl-failed-%d", (int)getpid());
		f = fopen(path, "wb");
		if (f) {
			fwrite(fz_input, 1, fz_input_len, f);
			fclose(f);
			fprintf(stderr, "ctl fuzz: the input is in %s\n", path);
		}
	}
	if (fz_log && fz_log_len)
		fprintf(stderr, "---- log of this input ----\n%.*s---- end of log ----\n",
			(int)(fz_log_len > 8192 ? 8192 : fz_log_len), fz_log);
	fputs("ctl fuzz: invariant violated: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

#define FZ_CHECK(cond, ...) do { if (!(cond)) fz_fail(__VA_ARGS__); } while (0)

/* ---- client ------------------------------------------------------------- */

/** Connect to the server at @p path: a fd, or -1. */
static int fz_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0), sz = 4 * CTL_MAX_MSG;

	if (fd < 0 || strlen(path) >= sizeof(sa.sun_path)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	/* room for an oversized message in one datagram */
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/** How the server must answer a message, from the bytes sent (ctl_server.c's order). */
struct fz_expect {
	bool closes;      /* empty datagram: the connection is closed, no reply */
	bool framing;     /* refused before any handler: status is exactly @c status */
	bool handled;     /* reaches the handler (counted as a request) */
	int32_t status;   /* the framing error */
	uint16_t type;    /* the reply's type without CTL_REPLY */
	uint32_t seq;
};

static struct fz_expect fz_classify(const uint8_t *m, size_t n)
{
	struct fz_expect e = { 0 };
	struct ctl_hdr h;
	long want;

	if (n == 0) {
		e.closes = true;
		return e;
	}
	e.framing = true;
	if (n > CTL_MAX_MSG) {
		e.status = -EMSGSIZE;
		return e;
	}
	if (n < sizeof(h)) {
		e.status = -EBADMSG;
		return e;
	}
	memcpy(&h, m, sizeof(h));
	if (h.magic != CTL_MAGIC) {
		e.status = -EBADMSG;
		return e;
	}
	/* a type with the reply or part bit is answered as type 0 (ctl_server.c) */
	e.type = h.type & (CTL_REPLY | CTL_PART) ? 0 : h.type;
	e.seq = h.seq;
	if (h.version != CTL_VERSION) {
		e.status = -EPROTONOSUPPORT;
		return e;
	}
	want = ctl_request_size(h.type);
	if (want < 0) {
		e.status = -EOPNOTSUPP;
		return e;
	}
	if (h.len != n || (long)n != want) {
		e.status = -EBADMSG;
		return e;
	}
	e.framing = false;
	e.handled = true;
	return e;
}

/** One reply as the client reassembled it. */
struct fz_reply {
	bool closed;       /* the server closed the connection instead */
	int32_t status;
	uint16_t type;     /* without CTL_REPLY / CTL_PART */
	uint32_t seq;
	unsigned parts;    /* 0: a one-message reply */
	uint8_t *body;     /* NUL-terminated; free()d by fz_reply_free */
	size_t len;
};

static void fz_reply_free(struct fz_reply *r)
{
	free(r->body);
	memset(r, 0, sizeof(*r));
}

static void fz_body_add(struct fz_reply *r, const uint8_t *p, size_t n)
{
	uint8_t *nb = realloc(r->body, r->len + n + 1);

	FZ_CHECK(nb != NULL, "out of memory");
	memcpy(nb + r->len, p, n);
	r->len += n;
	nb[r->len] = '\0';
	r->body = nb;
}

/** Wait for the server: returns when the client may have something to read. */
typedef void (*fz_pump_fn)(int fd);

/**
 * Read one whole reply on @p fd (one message, or the parts of a streamed
 * one), checking every message's framing on the way. @p pump runs the server
 * (isthmus-dp: one poll in this thread; isthmusd: its own thread, so a wait);
 * after @p rounds pumps without the reply complete, the server hangs.
 */
static void fz_collect(int fd, fz_pump_fn pump, unsigned rounds, struct fz_reply *r)
{
	static uint8_t m[CTL_MAX_MSG + 64] __attribute__((aligned(8)));
	uint16_t ptype = 0;
	uint64_t off = 0;

	memset(r, 0, sizeof(*r));
	for (unsigned k = 0; k < rounds; k++) {
		const struct ctl_reply *rep = (const struct ctl_reply *)m;
		ssize_t n = recv(fd, m, sizeof(m), MSG_DONTWAIT | MSG_TRUNC);

		if (n < 0) {
			FZ_CHECK(errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR,
				 "recv: %s", strerror(errno));
			pump(fd);
			continue;
		}
		if (n == 0) {
			FZ_CHECK(r->parts == 0, "connection closed in the middle of a streamed reply "
				 "(%u parts)", r->parts);
			r->closed = true;
			return;
		}
		FZ_CHECK(n <= CTL_MAX_MSG, "a reply of %zd bytes, more than CTL_MAX_MSG", n);
		FZ_CHECK((size_t)n >= sizeof(*rep), "a reply of %zd bytes: shorter than its header", n);
		FZ_CHECK(rep->h.magic == CTL_MAGIC && rep->h.version == CTL_VERSION,
			 "reply with bad magic or version");
		FZ_CHECK(rep->h.len == (uint32_t)n, "reply header says %u bytes, datagram has %zd",
			 rep->h.len, n);
		FZ_CHECK(rep->h.type & CTL_REPLY, "a message of type 0x%x that is not a reply",
			 rep->h.type);
		FZ_CHECK(rep->status <= 0 && rep->status > -4096, "reply status %d", rep->status);
		if (rep->h.type & CTL_PART) {
			const struct ctl_part *p = (const struct ctl_part *)m;
			uint16_t t = rep->h.type & ~(CTL_REPLY | CTL_PART);

			FZ_CHECK((size_t)n >= sizeof(*p), "a part shorter than its header");
			FZ_CHECK(p->r.body_len == (size_t)n - sizeof(*p), "part body_len %u in %zd bytes",
				 p->r.body_len, n);
			FZ_CHECK(r->parts == 0 || (t == ptype && rep->h.seq == r->seq),
				 "a part of another reply (type %u seq %u) in the middle of type %u seq %u",
				 t, rep->h.seq, ptype, r->seq);
			FZ_CHECK(p->index == r->parts, "part index %u, expected %u", p->index, r->parts);
			FZ_CHECK(p->offset == off, "part offset %llu, expected %llu",
				 (unsigned long long)p->offset, (unsigned long long)off);
			ptype = t;
			r->type = t;
			r->seq = rep->h.seq;
			r->parts++;
			if (p->r.status < 0) {
				/* an error part ends the reply: what came before is void */
				free(r->body);
				r->body = NULL;
				r->len = 0;
				r->status = p->r.status;
				fz_body_add(r, (const uint8_t *)(p + 1), p->r.body_len);
				return;
			}
			FZ_CHECK(p->r.status == 0, "part status %d", p->r.status);
			fz_body_add(r, (const uint8_t *)(p + 1), p->r.body_len);
			off += p->r.body_len;
			FZ_CHECK(off <= CTL_STREAM_MAX, "streamed reply beyond CTL_STREAM_MAX");
			if (!(p->flags & CTL_PART_MORE))
				return;
			k = 0; /* a stream makes progress: the bound is per message */
			continue;
		}
		FZ_CHECK(r->parts == 0, "a one-message reply in the middle of a streamed one");
		FZ_CHECK(rep->body_len == (size_t)n - sizeof(*rep), "reply body_len %u in %zd bytes",
			 rep->body_len, n);
		r->type = rep->h.type & ~CTL_REPLY;
		r->seq = rep->h.seq;
		r->status = rep->status;
		fz_body_add(r, (const uint8_t *)(rep + 1), rep->body_len);
		if (r->body == NULL)
			fz_body_add(r, (const uint8_t *)"", 0);
		return;
	}
	fz_fail("no (complete) reply after %u rounds: the server hangs (%u parts so far)", rounds,
		r->parts);
}

/**
 * Check @p r against what the bytes sent called for (@p e): a framing error
 * with its exact status and, once the header could be trusted, the request's
 * type and seq; or the handler's answer to the request's type and seq.
 */
static void fz_check_reply(const struct fz_expect *e, const struct fz_reply *r)
{
	if (e->closes) {
		FZ_CHECK(r->closed, "an empty datagram was answered instead of closing");
		return;
	}
	FZ_CHECK(!r->closed, "connection closed after a non-empty message");
	FZ_CHECK(r->seq == e->seq, "reply seq %u (type %u, status %d: %.200s), request seq %u", r->seq,
		 r->type, r->status, r->body ? (const char *)r->body : "", e->seq);
	FZ_CHECK(r->type == e->type, "reply type %u for request type %u", r->type, e->type);
	if (e->framing) {
		FZ_CHECK(r->status == e->status, "framing error %d expected, got %d", e->status,
			 r->status);
		FZ_CHECK(r->parts == 0, "a framing error streamed");
	}
	if (r->status < 0)
		FZ_CHECK(r->len > 0, "an error reply (%d) without a message", r->status);
}

/** Nothing more to read on @p fd after @p pumps runs of the server: no second answer. */
static void fz_check_silent(int fd, fz_pump_fn pump, unsigned pumps)
{
	uint8_t b[64];

	for (unsigned k = 0; k < pumps; k++)
		pump(fd);
	ssize_t n = recv(fd, b, sizeof(b), MSG_DONTWAIT | MSG_PEEK);

	FZ_CHECK(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK),
		 "%s after the reply was complete", n == 0 ? "connection closed" : "a second answer");
}

/* ---- content ------------------------------------------------------------ */

/** Parse @p r's body as one JSON document (nothing but whitespace after it). */
static json_object *fz_json(const struct fz_reply *r, const char *what)
{
	json_tokener *tok = json_tokener_new();
	json_object *o;
	size_t end;

	FZ_CHECK(tok != NULL, "json_tokener_new");
	FZ_CHECK(r->len < INT32_MAX, "%s: JSON too long", what);
	o = json_tokener_parse_ex(tok, (const char *)r->body, (int)r->len);
	FZ_CHECK(o != NULL && json_tokener_get_error(tok) == json_tokener_success,
		 "%s: reply is not JSON (%s): %.300s", what,
		 json_tokener_error_desc(json_tokener_get_error(tok)), (const char *)r->body);
	end = json_tokener_get_parse_end(tok);
	for (; end < r->len; end++)
		FZ_CHECK(r->body[end] == ' ' || r->body[end] == '\n' || r->body[end] == '\t',
			 "%s: bytes after the JSON document", what);
	json_tokener_free(tok);
	return o;
}

/** The member @p key of @p o with type @p t, or abort. */
static json_object *fz_member(json_object *o, const char *key, json_type t, const char *what)
{
	json_object *v = NULL;

	FZ_CHECK(json_object_object_get_ex(o, key, &v) && json_object_is_type(v, t),
		 "%s: no \"%s\" of the right type", what, key);
	return v;
}

/* Key material handed to the server: never in a reply (but D_SA_KEYS') or the log. */
#define FZ_KEYS_MAX 1024
#define FZ_KEY_LEN 64
#define FZ_KEY_WIN 16
static uint8_t fz_keys[FZ_KEYS_MAX][FZ_KEY_LEN];
static size_t fz_key_len[FZ_KEYS_MAX];
static unsigned fz_nkeys;

/** Record a key (@p n bytes, at least FZ_KEY_WIN, at most FZ_KEY_LEN). */
static void fz_key_add(const uint8_t *k, size_t n)
{
	if (fz_nkeys < FZ_KEYS_MAX && n >= FZ_KEY_WIN && n <= FZ_KEY_LEN) {
		memcpy(fz_keys[fz_nkeys], k, n);
		fz_key_len[fz_nkeys++] = n;
	}
}

static void fz_hex(const uint8_t *b, size_t n, bool upper, char *out)
{
	static const char lo[] = "0123456789abcdef", up[] = "0123456789ABCDEF";
	const char *d = upper ? up : lo;

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = d[b[i] >> 4];
		out[2 * i + 1] = d[b[i] & 15];
	}
	out[2 * n] = '\0';
}

/** Abort if any 16-byte window of a recorded key (raw, or as hex) is in @p b. */
static void fz_no_keys(const void *b, size_t n, const char *where)
{
	for (unsigned k = 0; k < fz_nkeys; k++)
		for (size_t at = 0; at + FZ_KEY_WIN <= fz_key_len[k]; at += 8) {
			char hex[2 * FZ_KEY_WIN + 1];

			FZ_CHECK(memmem(b, n, fz_keys[k] + at, FZ_KEY_WIN) == NULL,
				 "key material (key %u, bytes %zu..) in %s", k, at, where);
			for (int u = 0; u < 2; u++) {
				fz_hex(fz_keys[k] + at, FZ_KEY_WIN, u, hex);
				FZ_CHECK(memmem(b, n, hex, 2 * FZ_KEY_WIN) == NULL,
					 "key material as hex (key %u) in %s", k, where);
			}
		}
}

/* ---- files ------------------------------------------------------------- */

static int fz_rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/** Remove the directory tree @p dir (the harness's sockets, keys and state). */
static inline void fz_rmtree(const char *dir)
{
	nftw(dir, fz_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- input -------------------------------------------------------------- */

/** The fuzzer's bytes, read front to back; reads past the end give zeros. */
struct fz_in {
	const uint8_t *p;
	size_t n, i;
};

static bool fz_more(const struct fz_in *in)
{
	return in->i < in->n;
}

static uint8_t fz_u8(struct fz_in *in)
{
	return in->i < in->n ? in->p[in->i++] : 0;
}

static uint16_t fz_u16(struct fz_in *in)
{
	uint16_t v = fz_u8(in);

	return (uint16_t)(v | fz_u8(in) << 8);
}

/** Copy up to @p max bytes (as many as the input gives for a u16 count) into @p dst. */
static size_t fz_bytes(struct fz_in *in, uint8_t *dst, size_t max)
{
	size_t want = fz_u16(in), left = in->n - in->i;

	if (want > max)
		want = max;
	if (want > left)
		want = left;
	memcpy(dst, in->p + in->i, want);
	in->i += want;
	return want;
}

/* ---- clients -------------------------------------------------------------- */

#define FZ_CLIENTS 3

/* A few clients of the server at fz_sock_path (set by the harness), connected on first use. */
static const char *fz_sock_path;
static int fz_cli[FZ_CLIENTS] = { -1, -1, -1 };

/** Client @p k (modulo FZ_CLIENTS), connected now if it is not. */
static inline int fz_client(uint8_t k)
{
	int i = k % FZ_CLIENTS;

	if (fz_cli[i] < 0) {
		fz_cli[i] = fz_connect(fz_sock_path);
		FZ_CHECK(fz_cli[i] >= 0, "cannot connect to %s", fz_sock_path);
	}
	return fz_cli[i];
}

/** Close client socket @p fd (the server sees the client leave). */
static inline void fz_drop(int fd)
{
	for (int i = 0; i < FZ_CLIENTS; i++)
		if (fz_cli[i] == fd) {
			close(fd);
			fz_cli[i] = -1;
		}
}

/** Client @p k leaves, if it is connected. */
static inline void fz_leave(uint8_t k)
{
	if (fz_cli[k % FZ_CLIENTS] >= 0)
		fz_drop(fz_cli[k % FZ_CLIENTS]);
}

/** Every client leaves (between inputs). */
static inline void fz_drop_all(void)
{
	for (int i = 0; i < FZ_CLIENTS; i++)
		if (fz_cli[i] >= 0)
			fz_drop(fz_cli[i]);
}

/* ---- requests ------------------------------------------------------------ */

/**
 * Finish request @p m of @p n bytes with header @p h, framed well or, as
 * @p corrupt says (its low 3 bits the way, the rest how much), badly: magic,
 * version, length field, body cut or grown, type. @return the bytes to send.
 */
static inline size_t fz_frame(uint8_t *m, size_t n, struct ctl_hdr *hp, uint8_t corrupt)
{
	struct ctl_hdr h = *hp;
	uint16_t type = h.type;
	unsigned by = (unsigned)(corrupt >> 3) + 1;

	switch (corrupt & 7) {
	case 1:
		h.magic ^= by;
		break;
	case 2:
		h.version = (uint16_t)(CTL_VERSION + by);
		break;
	case 4:
		n = by < n ? n - by : 0;
		break;
	case 5:
		n += by;
		break;
	case 6:
		h.type = (uint16_t)(type + by * 0x101);
		break;
	default:
		break;
	}
	h.len = (uint32_t)n;
	if ((corrupt & 7) == 3)
		h.len += by;
	memcpy(m, &h, n < sizeof(h) ? n : sizeof(h));
	*hp = h;
	return n;
}

/** A well-framed request of @p type one message too large (by @p extra + 1 bytes) into @p m. */
static inline size_t fz_oversized(uint8_t *m, uint8_t extra, uint16_t type, uint32_t seq)
{
	size_t n = CTL_MAX_MSG + 1 + extra;
	struct ctl_hdr h = { .magic = CTL_MAGIC, .version = CTL_VERSION, .type = type,
			     .len = (uint32_t)n, .seq = seq };

	memset(m, 0x5a, n);
	memcpy(m, &h, sizeof(h));
	return n;
}

#endif
