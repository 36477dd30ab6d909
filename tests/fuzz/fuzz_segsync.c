/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer harness for the segment agreements' signed datagrams on UDP 4502
 * (control/segsync_wire.c ss_decode() and what segsync.c /
 * segsync_mutation.c do with a decoded message, through ss_datagram(): the
 * service thread's handling of one datagram), with Ed25519 keys on
 * libstrongswan's credential factory as isthmusd loads them.
 *
 * In-process: a struct segsync as segsync_create() makes it, without its
 * thread (the harness calls ss_datagram() and ss_tick() itself, so the order
 * of events is the input's), its UDP socket on 127.0.0.1 and the "peer" two
 * sockets of the harness that receive what the service sends; the
 * configuration file and STATE_DIR (peer.pub, segments.state) in a directory
 * of its own. No dataplane runs: the service's dp_link finds none, so an
 * extend (which this site's dataplane must check first) is refused here
 * ("cannot check the segment here"), and an agreed change is kept with the
 * dataplane's part failing, as isthmusd does while isthmus-dp is down.
 * Leading a change (ss_lead_change(), which waits for the peer's answers on a
 * condition variable) is not driven; VOTE and ACK reach the code that
 * ignores answers to nothing.
 *
 *   byte 0   bit 0: which site we are (0: the lower address)
 *   then ops, each an opcode byte (low 3 bits; bit 3 a modifier):
 *     0 raw     u16 length (LE), bytes: any datagram
 *     1 signed  u8 type, u8 nonce (every byte; 0xff: the nonce of our last
 *               SYNC), u64 version, i32 status, u8 digest (0 zeros, 1 ours,
 *               2 SHA-256 of the body), u8 key (0 the peer's, 1 another, 2
 *               ours, 3 the peer's with the signature spoiled), u16 body
 *               length, body (all LE): a message as the peer would send it;
 *               with bit 3 from another address (a NAT's new mapping)
 *     2 replay  u8 slot: a datagram sent before, again
 *     3 alter   u8 slot, u16 offset, u8 xor: the same, one byte changed
 *     4 sync    u8 (unused): the service compares sets now (sends SYNC)
 *     5 time    u8 seconds: that much later (a yes vote's deadline, the next
 *               comparison), then the service's periodic work
 *
 * Checked after every datagram (abort() on violation):
 *   - one not signed by the pinned peer key (the harness verifies it with the
 *     peer's public key itself), or malformed, is counted as exactly one drop
 *     and changes nothing: no answer, the same agreed set, vote and commit;
 *     a valid one is not counted as a drop;
 *   - at most one answer, signed with our key, of the request's kind
 *     (PREPARE -> VOTE, COMMIT -> ACK, SYNC -> SYNC_REPLY) and echoing its
 *     nonce; nothing to anything else;
 *   - the agreed set changes only by a COMMIT of the change we voted yes for
 *     (not aborted since), to exactly that change one version up, or by a
 *     SYNC_REPLY answering our SYNC with a version not behind ours; a
 *     datagram that changed the set, replayed, changes nothing;
 *   - segments.state, when written, is one segstore_load() accepts, equal to
 *     the set in memory;
 *   - no answer and no log line carries our private key.
 */
#include <arpa/inet.h>
#include <endian.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <library.h>
#include <sodium.h>
#include <daemon.h>

#include "identity.h"
#include "isthmus_version.h"
#include "segsync_internal.h"
#include "version.h"

#define SLOTS 8
#define DGRAM_MAX (MSG_MAX + 64)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Fixed keys (test only), so a run is the same every time. */
static const char *const PEM[3] = {
	/* ours */
	"-----BEGIN PRIVATE KEY-----\n"
	"MC4CAQAwBQYDK2VwBCIEIFUnB1IstpeE/KUj7Nd+BE6MJCzJrthBOQw6hz6JhsnY\n"
	"-----END PRIVATE KEY-----\n",
	/* the peer's */
	"-----BEGIN PRIVATE KEY-----\n"
	"MC4CAQAwBQYDK2VwBCIEIFv8+k1usGJH/hsdz+duAm97jJTF83p+mk/R3QsQfFMs\n"
	"-----END PRIVATE KEY-----\n",
	/* another appliance's */
	"-----BEGIN PRIVATE KEY-----\n"
	"MC4CAQAwBQYDK2VwBCIEIJ1Jfh2QrDIouMdc2fkvqwnjZ6LGe15KgckA5av5N4wv\n"
	"-----END PRIVATE KEY-----\n",
};

static const char CONFIG[] =
	"[appliance]\nname = site-a\nmbufs = 4096\n"
	"[uplink]\nport = 0\naddress = 198.18.0.1\npeer = 198.18.0.2\n"
	"local_vtep = 198.19.0.1\npeer_vtep = 198.19.0.2\n"
	"[local web]\nport = 1\n[local app]\nport = 2\n[local db]\nport = 3\n"
	"[segment workload-web]\nlocal = web\nvni = 5101\n"
	"[segment workload-app]\nlocal = app\nvni = 5102\ngateway = 192.0.2.1\n"
	"router_mac = 02:00:5e:00:01:01\n"
	"[ike]\npeer_id = site-b.isthmus\n";

struct slot {
	uint8_t b[DGRAM_MAX];
	size_t len;
	int from;
	bool valid, changed;
};

static struct {
	struct segsync *ss;
	private_key_t *key[3];
	public_key_t *pub[3];
	uint8_t own_seed[32];
	char own_hex[65];
	int rx[2];
	struct sockaddr_in rx_addr[2];
	char dir[64], cfg_path[128], peer_path[128];
	/* per input */
	struct slot slot[SLOTS];
	unsigned nslot;
	uint8_t sync_nonce[NONCE_LEN];   /* our last SYNC's */
	bool voted;                      /* a yes vote stands for vote_nonce */
	uint8_t vote_nonce[NONCE_LEN];
	char vote_body[2 * SEGSTORE_SPEC_LEN + 200];
	size_t vote_len;
	unsigned drop_lines;
	const uint8_t *cur;              /* the datagram being handled */
	size_t cur_len;
} H;

#define MARK "\x7f~\x7f~uninit~\x7f~"

/* Fill the stack below us with MARK, so that a log line printing a buffer
 * nothing wrote shows it (ASan does not see such reads; MSan is not built). */
static void __attribute__((noinline)) mark_stack(void)
{
	volatile char junk[32768];

	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = MARK[i % (sizeof(MARK) - 1)];
}

static void check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_segsync: invariant violated: %s\n", what);
		abort();
	}
}

/* isthmusd's log (charon's bus, as isthmusd logs): no key material in it,
 * the drops' lines bounded. */
static void log_line(logger_t *this, debug_t group, level_t level, int thread, ike_sa_t *ike_sa,
		     const char *line)
{
	(void)this;
	(void)group;
	(void)thread;
	(void)ike_sa;
	if (level > 1)
		return;
	check(!memmem(line, strlen(line), H.own_seed, sizeof(H.own_seed)) &&
	      !strcasestr(line, H.own_hex), "our private key in a log line");
	/* the stack was filled with MARK before the datagram: a line carrying it
	 * printed memory nothing wrote (unless the datagram brought it) */
	if (strstr(line, MARK) && !(H.cur && memmem(H.cur, H.cur_len, MARK, strlen(MARK)))) {
		fprintf(stderr, "fuzz_segsync: log: %s\n", line);
		check(false, "uninitialised memory in a log line");
	}
	if (strstr(line, "dropped"))
		check(++H.drop_lines <= 20, "more than 10 log lines per drop reason");
	if (getenv("FUZZ_SEGSYNC_LOG"))
		fprintf(stderr, "log: %s\n", line);
}

static level_t log_level(logger_t *this, debug_t group)
{
	(void)this;
	(void)group;
	return LEVEL_CTRL;
}

static logger_t logger = { .log = log_line, .get_level = log_level };

static void cleanup(void)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/%s", H.dir, SEGSTORE_FILE);
	unlink(p);
	snprintf(p, sizeof(p), "%s/%s.tmp", H.dir, SEGSTORE_FILE);
	unlink(p);
	unlink(H.peer_path);
	unlink(H.cfg_path);
	rmdir(H.dir);
}

static int udp(struct sockaddr_in *a)
{
	socklen_t l = sizeof(*a);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	*a = (struct sockaddr_in){ .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	check(fd >= 0 && bind(fd, (struct sockaddr *)a, sizeof(*a)) == 0 &&
	      getsockname(fd, (struct sockaddr *)a, &l) == 0, "a UDP socket on 127.0.0.1");
	return fd;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct segsync *ss;
	chunk_t der = chunk_empty;
	char err[512], dp_sock[160];
	FILE *f;

	(void)argc;
	(void)argv;
	check(sodium_init() >= 0, "sodium_init");
	/* a segment set is DP_MAX_SEGMENTS entries (8 MB) allocated at once, and
	 * mostly untouched: from fresh pages, not memset on the heap each time */
	mallopt(M_MMAP_THRESHOLD, 1 << 20);
	/* and not filled by glibc either (meson sets MALLOC_PERTURB_, which makes
	 * calloc() memset even fresh pages: 8 MB a call) */
	mallopt(M_PERTURB, 0);
	check(library_init(NULL, "isthmus-fuzz"), "library_init");
	check(lib->plugins->load(lib->plugins, "random nonce openssl pem pkcs1 pkcs8 pubkey "
				 "curve25519 sha2"), "libstrongswan plugins");
	/* segsync logs through charon's bus (DBG1 in daemon.h), as in isthmusd */
	check(libcharon_init(), "libcharon_init");
	charon->bus->add_logger(charon->bus, &logger);
	for (int k = 0; k < 3; k++) {
		H.key[k] = lib->creds->create(lib->creds, CRED_PRIVATE_KEY, KEY_ED25519, BUILD_BLOB_PEM,
					      chunk_from_str((char *)PEM[k]), BUILD_END);
		check(H.key[k] != NULL, "a fixed Ed25519 key");
		H.pub[k] = H.key[k]->get_public_key(H.key[k]);
	}
	/* our key's 32 secret bytes, the end of its PKCS#8 DER */
	check(H.key[0]->get_encoding(H.key[0], PRIVKEY_ASN1_DER, &der) && der.len >= 32, "our key");
	memcpy(H.own_seed, der.ptr + der.len - 32, 32);
	sodium_bin2hex(H.own_hex, sizeof(H.own_hex), H.own_seed, 32);
	chunk_clear(&der);

	snprintf(H.dir, sizeof(H.dir), "%s/fuzz-segsync-%d",
		 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp", (int)getpid());
	check(mkdir(H.dir, 0700) == 0, "a state directory");
	atexit(cleanup);
	snprintf(H.cfg_path, sizeof(H.cfg_path), "%s/site.ini", H.dir);
	f = fopen(H.cfg_path, "w");
	check(f != NULL, "the configuration file");
	fputs(CONFIG, f);
	fclose(f);
	snprintf(H.peer_path, sizeof(H.peer_path), "%s/%s", H.dir, PEER_PUB_FILE);
	check(identity_save_pubkey(H.pub[1], H.peer_path), "peer.pub");

	/* what segsync_create() makes, without the thread */
	H.ss = ss = calloc(1, sizeof(*ss));
	check(ss != NULL, "calloc");
	pthread_mutex_init(&ss->lock, NULL);
	pthread_cond_init(&ss->cond, NULL);
	ike_settings_defaults(&ss->s);
	snprintf(ss->s.name, sizeof(ss->s.name), "site-a");
	snprintf(ss->s.peer_id, sizeof(ss->s.peer_id), "site-b.isthmus");
	snprintf(ss->s.state_dir, sizeof(ss->s.state_dir), "%s", H.dir);
	ss->own = H.key[0]->get_ref(H.key[0]);
	snprintf(ss->cfg_path, sizeof(ss->cfg_path), "%s", H.cfg_path);
	snprintf(ss->store_path, sizeof(ss->store_path), "%s/%s", H.dir, SEGSTORE_FILE);
	ss->specs = calloc(DP_MAX_SEGMENTS, sizeof(*ss->specs));
	check(ss->specs != NULL && segstore_init(&ss->st) == 0, "memory");
	if (config_load(H.cfg_path, &ss->cfg, err, sizeof(err)) < 0 ||
	    config_segment_texts(&ss->cfg, ss->specs, err, sizeof(err)) < 0) {
		fprintf(stderr, "fuzz_segsync: %s\n", err);
		check(false, "the site's configuration");
	}
	snprintf(dp_sock, sizeof(dp_sock), "%s/no-dataplane.sock", H.dir);
	ss->dp = dp_link_create(dp_sock, ss_dp_new, ss);
	check(ss->dp != NULL, "dp_link");
	{
		struct sockaddr_in a;

		ss->fd = udp(&a);
	}
	H.rx[0] = udp(&H.rx_addr[0]);
	H.rx[1] = udp(&H.rx_addr[1]);
	return 0;
}

/* ---- the wire, as the harness reads and writes it ------------------------- */

struct wire {
	uint8_t type;
	const uint8_t *nonce;
	uint64_t version;
	int32_t status;
	const uint8_t *digest;
	const uint8_t *body;
	uint32_t body_len;
};

static uint32_t be32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return be32toh(v);
}

/* Well-formed and signed by @p pub. */
static bool wire_read(const uint8_t *b, size_t n, public_key_t *pub, struct wire *w)
{
	uint64_t v;

	if (n < HDR_LEN + SIG_LEN || memcmp(b, "ISS1", 4) || be32(b + 36) != n - HDR_LEN - SIG_LEN)
		return false;
	if (!pub->verify(pub, SIGN_ED25519, NULL, chunk_create((u_char *)b, n - SIG_LEN),
			 chunk_create((u_char *)b + n - SIG_LEN, SIG_LEN)))
		return false;
	memcpy(&v, b + 24, 8);
	*w = (struct wire){ b[4], b + 8, be64toh(v), (int32_t)be32(b + 32), b + 40, b + HDR_LEN,
			    be32(b + 36) };
	return true;
}

static size_t wire_make(uint8_t *b, uint8_t type, const uint8_t *nonce, uint64_t version,
			int32_t status, const uint8_t *digest, const uint8_t *body, size_t len,
			int key)
{
	uint64_t v = htobe64(version);
	uint32_t s = htobe32((uint32_t)status), l = htobe32((uint32_t)len);
	private_key_t *k = H.key[key == 3 ? 1 : key == 1 ? 2 : key == 2 ? 0 : 1];
	chunk_t sig = chunk_empty;

	memset(b, 0, HDR_LEN);
	memcpy(b, "ISS1", 4);
	b[4] = type;
	memcpy(b + 8, nonce, NONCE_LEN);
	memcpy(b + 24, &v, 8);
	memcpy(b + 32, &s, 4);
	memcpy(b + 36, &l, 4);
	memcpy(b + 40, digest, 32);
	memcpy(b + HDR_LEN, body, len);
	check(k->sign(k, SIGN_ED25519, NULL, chunk_create(b, HDR_LEN + len), &sig) &&
	      sig.len == SIG_LEN, "signing");
	memcpy(b + HDR_LEN + len, sig.ptr, SIG_LEN);
	chunk_free(&sig);
	if (key == 3)
		b[HDR_LEN + len + 5] ^= 0x20;
	return HDR_LEN + len + SIG_LEN;
}

/* ---- the service ------------------------------------------------------------ */

struct snap {
	uint64_t version;
	uint8_t digest[32];
	bool prep;
	uint8_t prep_nonce[NONCE_LEN], last_commit[NONCE_LEN];
	uint64_t drops;
	struct segstore st;
};

/* @p copy: keep the set itself too (8 MB: only for a COMMIT, whose result is checked) */
static void snap(struct snap *s, bool copy)
{
	struct segsync *ss = H.ss;

	s->version = ss->st.version;
	check(segstore_digest(&ss->st, s->digest) == 0, "segstore_digest");
	s->prep = ss->prep.active;
	memcpy(s->prep_nonce, ss->prep.nonce, NONCE_LEN);
	memcpy(s->last_commit, ss->last_commit, NONCE_LEN);
	s->drops = ss->drop_malformed + ss->drop_signature;
	s->st.e = NULL;
	if (copy)
		check(segstore_copy(&s->st, &ss->st) == 0, "segstore_copy");
}

/* What the service sent since: at most one datagram, into @p out. */
static int sent(uint8_t *out, size_t *len)
{
	int count = 0;

	for (int k = 0; k < 2; k++) {
		uint8_t b[DGRAM_MAX];
		ssize_t n;

		while ((n = recv(H.rx[k], b, sizeof(b), MSG_DONTWAIT)) >= 0) {
			check(!memmem(b, (size_t)n, H.own_seed, 32), "our private key sent");
			if (count++ == 0) {
				memcpy(out, b, (size_t)n);
				*len = (size_t)n;
			}
		}
	}
	return count;
}

/* The state file, when there is one, is what segstore_load() accepts: the set in memory. */
static void check_file(void)
{
	struct segstore back;
	uint8_t a[32], b[32];
	char err[512];
	struct stat sb;

	if (stat(H.ss->store_path, &sb) < 0)
		return;
	check(segstore_init(&back) == 0, "segstore_init");
	if (segstore_load(&back, H.ss->store_path, err, sizeof(err)) < 0) {
		fprintf(stderr, "fuzz_segsync: %s\n", err);
		check(false, "segments.state refused by segstore_load");
	}
	check(segstore_digest(&back, a) == 0 && segstore_digest(&H.ss->st, b) == 0 &&
	      !memcmp(a, b, 32) && back.version == H.ss->st.version,
	      "segments.state differs from the agreed set");
	segstore_free(&back);
}

/* The set after a COMMIT of the change we voted for: that change, one version up. */
static void check_commit(const struct snap *before)
{
	struct mutation m;
	struct segstore want;
	uint8_t a[32], b[32];
	char err[300];

	check(H.voted, "a COMMIT applied without our yes vote");
	check(ss_mutation_parse(H.vote_body, H.vote_len, &m, err, sizeof(err)) == 0,
	      "the change voted for does not parse");
	check(segstore_copy(&want, &before->st) == 0 && ss_apply_mutation(&want, &m) == 0,
	      "the change voted for does not apply");
	check(segstore_digest(&want, a) == 0 && segstore_digest(&H.ss->st, b) == 0 &&
	      !memcmp(a, b, 32) && want.version == H.ss->st.version,
	      "the set after COMMIT is not the change voted for");
	segstore_free(&want);
}

static void deliver(const uint8_t *b, size_t n, int from, struct slot *sl)
{
	struct segsync *ss = H.ss;
	struct snap before;
	struct wire q, a;
	uint8_t ans[DGRAM_MAX], dig[32];
	size_t alen = 0;
	bool valid = wire_read(b, n, H.pub[1], &q), changed;
	int answers;

	snap(&before, valid && q.type == SS_COMMIT);
	H.cur = b;
	H.cur_len = n;
	mark_stack();
	ss_datagram(ss, b, n, &H.rx_addr[from]);
	H.cur = NULL;
	answers = sent(ans, &alen);
	check(answers <= 1, "more than one answer to a datagram");
	check(segstore_digest(&ss->st, dig) == 0, "segstore_digest");
	changed = ss->st.version != before.version || memcmp(dig, before.digest, 32);

	if (!valid) {
		check(ss->drop_malformed + ss->drop_signature == before.drops + 1,
		      "an unauthenticated datagram not counted as one drop");
		check(answers == 0, "an answer to an unauthenticated datagram");
		check(!changed && ss->prep.active == before.prep &&
		      !memcmp(ss->prep.nonce, before.prep_nonce, NONCE_LEN) &&
		      !memcmp(ss->last_commit, before.last_commit, NONCE_LEN),
		      "an unauthenticated datagram changed the state");
		segstore_free(&before.st);
		return;
	}
	check(ss->drop_malformed + ss->drop_signature == before.drops,
	      "an authenticated datagram counted as a drop");
	if (answers) {
		uint8_t want = q.type == SS_PREPARE ? SS_VOTE : q.type == SS_COMMIT ? SS_ACK
				: q.type == SS_SYNC ? SS_SYNC_REPLY : 0;

		check(want != 0, "an answer to a datagram that asks nothing");
		check(wire_read(ans, alen, H.pub[0], &a), "an answer not signed with our key");
		check(a.type == want, "an answer of the wrong kind");
		check(!memcmp(a.nonce, q.nonce, NONCE_LEN), "an answer not echoing the nonce");
		if (a.type == SS_VOTE && a.status == 0 &&
		    (!H.voted || memcmp(H.vote_nonce, q.nonce, NONCE_LEN))) {
			/* our yes vote: the change it is for may be committed (a
			 * PREPARE again with its nonce gets the same vote again) */
			H.voted = true;
			memcpy(H.vote_nonce, q.nonce, NONCE_LEN);
			H.vote_len = q.body_len < sizeof(H.vote_body) ? q.body_len : 0;
			memcpy(H.vote_body, q.body, H.vote_len);
		}
	} else {
		check(q.type != SS_PREPARE && q.type != SS_COMMIT && q.type != SS_SYNC,
		      "a request left unanswered");
	}
	if (q.type == SS_ABORT && H.voted && !memcmp(q.nonce, H.vote_nonce, NONCE_LEN))
		H.voted = false;
	if (changed) {
		if (q.type == SS_COMMIT) {
			check(!memcmp(q.nonce, H.vote_nonce, NONCE_LEN), "a COMMIT of another change");
			check(ss->st.version == before.version + 1 && q.version == ss->st.version,
			      "a COMMIT not one version up");
			check_commit(&before);
		} else if (q.type == SS_SYNC_REPLY) {
			check(!memcmp(q.nonce, H.sync_nonce, NONCE_LEN) &&
			      !sodium_is_zero(H.sync_nonce, NONCE_LEN),
			      "a set taken from a SYNC_REPLY to no SYNC of ours");
			check(ss->st.version == q.version && q.version >= before.version,
			      "a set taken from a peer that is behind");
		} else {
			check(false, "the agreed set changed without an agreement");
		}
		check_file();
		H.voted = false; /* consumed, or the set moved under it */
	}
	if (sl && sl->changed)
		check(!changed, "a replayed datagram changed the agreed set again");
	if (sl)
		sl->changed |= changed;
	segstore_free(&before.st);
}

static void keep(const uint8_t *b, size_t n, int from)
{
	struct slot *sl = &H.slot[H.nslot++ % SLOTS];

	memcpy(sl->b, b, n);
	sl->len = n;
	sl->from = from;
	sl->valid = true;
	sl->changed = false;
	deliver(sl->b, sl->len, from, sl);
}

/* The service's periodic work; what it sends then is at most one SYNC. */
static void tick(void)
{
	struct snap before;
	uint8_t out[DGRAM_MAX], dig[32];
	size_t len = 0;
	struct wire w;

	char vbody[128];
	int vlen = version_body(ISTHMUS_VERSION, vbody, sizeof(vbody));

	snap(&before, false);
	ss_tick(H.ss);
	if (sent(out, &len)) {
		/* a SYNC's body is our software version (docs/control-protocol.md) */
		check(wire_read(out, len, H.pub[0], &w) && w.type == SS_SYNC && vlen >= 0 &&
		      w.body_len == (uint32_t)vlen && memcmp(w.body, vbody, (size_t)vlen) == 0 &&
		      w.version == H.ss->st.version, "the service sent something else than a SYNC");
		check(!memcmp(w.digest, before.digest, 32), "a SYNC with another digest");
		memcpy(H.sync_nonce, w.nonce, NONCE_LEN);
	}
	check(segstore_digest(&H.ss->st, dig) == 0 && !memcmp(dig, before.digest, 32) &&
	      H.ss->st.version == before.version, "the periodic work changed the agreed set");
	if (!H.ss->prep.active)
		H.voted = false; /* the vote lapsed */
	segstore_free(&before.st);
}

static void reset(uint8_t cfg)
{
	struct segsync *ss = H.ss;
	uint8_t junk[DGRAM_MAX];
	size_t n;

	ss->st.n = 0; /* empty, its entries kept allocated */
	ss->st.version = 0;
	unlink(ss->store_path);
	memset(&ss->lead, 0, sizeof(ss->lead));
	memset(&ss->prep, 0, sizeof(ss->prep));
	memset(ss->last_commit, 0, NONCE_LEN);
	memset(ss->sync_nonce, 0, NONCE_LEN);
	ss->drop_malformed = ss->drop_signature = 0;
	ss->me = cfg & 1;
	ss->s.local_ip = htonl(ss->me ? 0xc6120002 : 0xc6120001);
	ss->s.peer_ip = htonl(ss->me ? 0xc6120001 : 0xc6120002);
	ss->next_sync = time_monotonic(NULL) + 3600;
	ss->peer_addr = ss->reply_to = H.rx_addr[0];
	while (sent(junk, &n))
		;
	memset(H.slot, 0, sizeof(H.slot));
	H.nslot = 0;
	memset(H.sync_nonce, 0, NONCE_LEN);
	H.voted = false;
	H.drop_lines = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t b[DGRAM_MAX];
	size_t i = 1;

	if (size < 1)
		return 0;
	if (!H.ss)
		LLVMFuzzerInitialize(NULL, NULL);
	reset(data[0]);
	while (i < size) {
		uint8_t opb = data[i++], op = opb & 7;

		if (op == 0) {
			size_t len;

			if (i + 2 > size)
				break;
			len = (size_t)(data[i] | data[i + 1] << 8);
			i += 2;
			if (len > size - i)
				len = size - i;
			memcpy(b, data + i, len);
			i += len;
			deliver(b, len, 0, NULL);
		} else if (op == 1) {
			uint8_t nonce[NONCE_LEN], digest[32] = { 0 };
			uint64_t version;
			int32_t status;
			uint16_t blen;
			size_t n;

			if (i + 18 > size)
				break;
			if (data[i + 1] == 0xff)
				memcpy(nonce, H.sync_nonce, NONCE_LEN);
			else
				memset(nonce, data[i + 1], NONCE_LEN);
			memcpy(&version, data + i + 2, 8);
			memcpy(&status, data + i + 10, 4);
			version = le64toh(version);
			status = (int32_t)le32toh((uint32_t)status);
			blen = (uint16_t)(data[i + 16] | data[i + 17] << 8);
			if (blen > size - i - 18)
				blen = (uint16_t)(size - i - 18);
			if (blen > SEGSTORE_TEXT_MAX)
				blen = SEGSTORE_TEXT_MAX;
			if (data[i + 14] % 3 == 1)
				check(segstore_digest(&H.ss->st, digest) == 0, "segstore_digest");
			else if (data[i + 14] % 3 == 2)
				crypto_hash_sha256(digest, data + i + 18, blen);
			n = wire_make(b, data[i], nonce, version, status, digest, data + i + 18, blen,
				      data[i + 15] & 3);
			i += 18 + blen;
			keep(b, n, (opb & 8) ? 1 : 0);
		} else if (op == 2 || op == 3) {
			struct slot *sl;

			if (i + (op == 2 ? 1 : 4) > size)
				break;
			sl = &H.slot[data[i] % SLOTS];
			if (op == 2) {
				i += 1;
				if (sl->valid)
					deliver(sl->b, sl->len, sl->from, sl);
			} else {
				if (sl->valid) {
					memcpy(b, sl->b, sl->len);
					b[(size_t)(data[i + 1] | data[i + 2] << 8) % sl->len] ^= data[i + 3];
					deliver(b, sl->len, sl->from, NULL);
				}
				i += 4;
			}
		} else if (op == 4) {
			i++;
			H.ss->next_sync = 0;
			tick();
		} else if (op == 5) {
			if (i + 1 > size)
				break;
			H.ss->prep.deadline -= data[i];
			H.ss->next_sync -= data[i];
			i++;
			tick();
		}
	}
	return 0;
}
